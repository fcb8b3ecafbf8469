"""Load and validate the clinical catalogue (exercises, conditions, red flags,
findings, phases, outcome measures, log-header aliases).

The catalogue is data: readable TOML/CSV files under ``data/catalog/`` in the
repository, shipped inside the wheel as ``sciatica_kit/catalog_data``.  A clinic
can add its own exercises, conditions and outcome measures from a separate TOML
file without touching the package (a new measure then appears in the visit form,
the charts, the summaries and the FHIR export): ``load_catalog(extra="clinic.toml")`` or the environment
variable ``SCIATICA_KIT_EXTRA_CATALOG``.

Every problem in a malformed catalogue is collected and raised together in a
:class:`CatalogError` naming the file, the entry and the field.
"""

from __future__ import annotations

import csv
import difflib
import functools
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "CATEGORIES",
    "DOSE_FIELDS",
    "DOSE_LABELS",
    "WHOLE_DOSE_FIELDS",
    "NOT_SPECIFIED",
    "URGENCIES",
    "Catalog",
    "CatalogError",
    "catalog_dir",
    "load_catalog",
    "unknown_id_error",
]

NOT_SPECIFIED = "not specified"
CATEGORIES = (
    "nerve glide slider",
    "nerve glide tensioner",
    "stretch",
    "strengthening",
    "mobility",
    "aerobic",
)
URGENCIES = ("emergency", "same_day", "urgent", "routine")  # the packaged tiers; a catalogue's own order is Catalog.urgencies
DIRECTIONS = ("extension", "flexion")
AUDIENCES = ("patient", "clinician")
NERVES = ("sciatic", "femoral")
KIT_SOURCE = "kit"
_CITE_PART = re.compile(r"^([a-z][a-z0-9_]*)(?:\s*\((.*)\))?$", re.S)
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")

EXTRA_ENV = "SCIATICA_KIT_EXTRA_CATALOG"


class CatalogError(ValueError):
    """The catalogue files break one or more rules; ``problems`` lists them all."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        head = f"The exercise catalogue has {len(problems)} problem(s):"
        super().__init__("\n".join([head, *(f"  - {p}" for p in problems)]))


def unknown_id_error(kind: str, value: object, valid: Iterable[str]) -> ValueError:
    """A ValueError for an unknown id that lists the valid ids and the closest match.

    Parameters
    ----------
    kind : str
        What the id names (``exercise``, ``condition``, ``red_flag`` ...).
    value : object
        The id given.
    valid : iterable of str
        The ids that exist.

    Returns
    -------
    ValueError
        To raise: names the valid ids and the closest match.

    Examples
    --------
    >>> str(unknown_id_error("condition", "sciatic", ["sciatica", "herniated_disc"]))
    "Unknown condition 'sciatic'. Did you mean 'sciatica'? Valid conditions: herniated_disc, sciatica"
    """
    valid = sorted(valid)
    close = difflib.get_close_matches(str(value), valid, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return ValueError(f"Unknown {kind} '{value}'.{hint} Valid {kind}s: {', '.join(valid)}")


def catalog_dir() -> Path:
    """Folder holding the packaged catalogue (wheel) or the repository's ``data/catalog``.

    Returns
    -------
    pathlib.Path
        The packaged catalogue folder (inside the installed package or the repository's ``data/catalog``).
    """
    packaged = resources.files("sciatica_kit").joinpath("catalog_data")
    if packaged.is_dir():
        return Path(str(packaged))
    repo = Path(__file__).resolve().parents[2] / "data" / "catalog"
    if repo.is_dir():
        return repo
    raise FileNotFoundError(
        "The catalogue files were not found: reinstall sciatica-kit (pip install -e .)."
    )


def _dose_field_table() -> tuple[dict, ...]:
    """The dose fields as data (``dose_fields.toml``): id, label and whether the field is whole numbers."""
    path = catalog_dir() / "dose_fields.toml"
    with path.open("rb") as fh:
        return tuple(dict(f) for f in tomllib.load(fh)["dose_field"])


def _phase_ids() -> tuple[str, ...]:
    """The phases of an episode, in order, as the packaged ``phases.toml`` lists them."""
    with (catalog_dir() / "phases.toml").open("rb") as fh:
        return tuple(str(p["id"]) for p in tomllib.load(fh)["phase"])


PHASE_IDS = _phase_ids()  # ("acute", "subacute", "chronic"): the builder's choices and their order
DOSE_FIELD_TABLE = _dose_field_table()
DOSE_FIELDS = tuple(f["id"] for f in DOSE_FIELD_TABLE)
DOSE_LABELS = {f["id"]: f["label"] for f in DOSE_FIELD_TABLE}
# the programme table holds these as whole numbers: a range such as [2.5, 3.5] would be
# rounded out of its own bounds, so the catalogue must give whole numbers
WHOLE_DOSE_FIELDS = tuple(f["id"] for f in DOSE_FIELD_TABLE if f["whole"])


# --------------------------------------------------------------------------- dataclass


@dataclass(frozen=True, eq=False)
class Catalog:
    """The validated catalogue.

    DataFrames for people and notebooks (``exercises``, ``conditions``,
    ``red_flags``, ``findings``, ``measures``, ``phases``, ``aliases``) and the
    same entries as plain dicts (``records``) for fast rule evaluation.
    """

    exercises: pd.DataFrame
    conditions: pd.DataFrame
    red_flags: pd.DataFrame
    findings: pd.DataFrame
    measures: pd.DataFrame
    phases: pd.DataFrame
    aliases: pd.DataFrame
    category_order: tuple[str, ...]
    advice: tuple[dict, ...]
    records: Mapping[str, Mapping[str, dict]] = field(repr=False)
    files: tuple[str, ...] = ()
    bibliography: pd.DataFrame | None = None
    populations: pd.DataFrame | None = None
    urgencies: tuple[str, ...] = URGENCIES
    clinic: str | None = None

    def cite(self, reference: str) -> str:
        """A readable reference for a catalogue citation such as ``"seed_003 (citing the NHS)"``.

        Several sources are joined with ``;``.  ``kit`` is the kit's own rule; the
        sources after it are the ones that support it.

        Parameters
        ----------
        reference : str
            A bibliography key.

        Returns
        -------
        str
            The readable reference (authors, year, title), never a file name.

        Examples
        --------
        >>> load_catalog().cite("kit; comer_2009")
        'Sciatica Kit rule, supported by Comer et al. 2009 (UK practice in spinal stenosis)'
        """
        return cite(reference, self.records["bibliography"])

    def urgency_rank(self, urgency: str) -> int:
        """Position of an urgency tier, 0 = most urgent.

        Parameters
        ----------
        urgency : str
            An urgency tier id.

        Returns
        -------
        int
            0 for the most urgent tier, higher for less urgent.
        """
        return self.urgencies.index(urgency)

    def __repr__(self) -> str:
        return (
            f"<Catalog: {len(self.exercises)} exercises, {len(self.conditions)} conditions, "
            f"{len(self.red_flags)} red flags, {len(self.findings)} findings, "
            f"{len(self.measures)} measures>"
        )

    def check_ids(self, kind: str, ids: Iterable[str]) -> list[str]:
        """Return ``ids`` as a list, raising :func:`unknown_id_error` for any unknown one.

        Parameters
        ----------
        kind : str
            What the ids name (``exercise``, ``condition``, ``measure`` ...).
        ids : iterable of str
            The ids to check.

        Returns
        -------
        list of str
            The ids, in order, when all exist (else ValueError naming the closest match).
        """
        table = {
            "condition": "conditions",
            "red flag": "red_flags",
            "finding": "findings",
            "exercise": "exercises",
            "measure": "measures",
            "phase": "phases",
            "population": "populations",
            "source": "bibliography",
        }[kind]
        valid = self.records[table]
        out = []
        for i in ids:
            if i not in valid:
                raise unknown_id_error(kind, i, valid)
            out.append(i)
        return out


# --------------------------------------------------------------------------- loading


def load_catalog(extra: str | os.PathLike | None = None, *, path: str | os.PathLike | None = None) -> Catalog:
    """Load and validate the catalogue.

    Parameters
    ----------
    extra
        A clinic's own TOML file with more ``[[exercise]]`` (and ``[[condition]]``)
        entries.  Defaults to ``$SCIATICA_KIT_EXTRA_CATALOG`` when set.
    path
        Folder with the catalogue files (default: the packaged catalogue).

    Returns
    -------
    Catalog
        The validated catalogue, cached until one of its files changes.

    Raises
    ------
    CatalogError
        Listing every problem with file, entry and field.

    Examples
    --------
    >>> cat = load_catalog()
    >>> "walking" in cat.exercises.index
    True
    """
    extra = extra if extra is not None else os.environ.get(EXTRA_ENV) or None
    folder = Path(path) if path is not None else catalog_dir()
    return _load_cached(str(folder.resolve()), str(Path(extra).resolve()) if extra else None, _mtime(folder, extra))


def _mtime(folder: Path, extra) -> float:
    stamps = [p.stat().st_mtime for p in folder.glob("*") if p.is_file()]
    if extra and Path(extra).exists():
        stamps.append(Path(extra).stat().st_mtime)
    return max(stamps, default=0.0)


@functools.lru_cache(maxsize=8)
def _load_cached(folder: str, extra: str | None, _stamp: float) -> Catalog:
    return _load(Path(folder), Path(extra) if extra else None)


def _read_toml(path: Path, problems: list[str]) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        problems.append(f"{path.name}: file is missing")
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path.name}: not valid TOML ({exc}); check quotes, commas and brackets")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: cannot be read ({exc})")
    return {}


def split_citation(reference: str) -> list[tuple[str, str]]:
    """``"kit; seed_003 (citing the NHS)"`` -> ``[("kit", ""), ("seed_003", "citing the NHS")]``.

    Raises ValueError when a part is not ``id`` or ``id (note)``.
    """
    if not isinstance(reference, str) or not reference.strip():
        raise ValueError("an empty citation; cite a source id from bibliography.toml")
    parts, depth, cur = [], 0, ""
    for ch in reference:
        depth += ch == "("
        depth -= ch == ")"
        if ch == ";" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for part in parts:
        m = _CITE_PART.match(part.strip())
        if not m:
            raise ValueError(f"'{part.strip()}' is not a citation; write a source id from bibliography.toml, e.g. \"seed_003 (citing the NHS)\"")
        out.append((m.group(1), (m.group(2) or "").strip()))
    return out


def cite(reference: str, bibliography: Mapping[str, dict]) -> str:
    """Readable text for a citation (see :meth:`Catalog.cite`); unknown ids raise ValueError."""
    parts = split_citation(reference)
    words = []
    for ident, note in parts:
        if ident not in bibliography:
            raise ValueError(f"unknown source '{ident}'; add it to bibliography.toml or cite one of its ids")
        if note:
            note = _ID_IN_NOTE.sub(lambda m: bibliography[m.group(0)]["short"] if m.group(0) in bibliography else m.group(0), note)
        words.append(bibliography[ident]["short"] + (f" ({note})" if note else ""))
    if parts[0][0] == KIT_SOURCE and len(parts) > 1:
        return f"{words[0]}, supported by " + "; ".join(words[1:])
    return "; ".join(words)


_ID_IN_NOTE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
_BIB_FIELDS = {"id": str, "author": str, "title": str, "year": str, "kind": str, "short": str}
SOURCE_KINDS = ("article", "guideline", "paper", "manual", "kit", "clinic")


def _load(folder: Path, extra: Path | None) -> Catalog:
    problems: list[str] = []
    files = ["exercises.toml", "conditions.toml", "findings.toml", "red_flags.toml", "phases.toml", "measures.toml",
             "bibliography.toml", "populations.toml"]
    raw = {name: _read_toml(folder / name, problems) for name in files}
    extra_raw: dict = {}
    if extra is not None:
        extra_raw = _read_toml(extra, problems)
        unknown = set(extra_raw) - {"exercise", "condition", "measure", "source", "dose_default", "clinic"}
        for key in sorted(unknown):
            problems.append(
                f"{extra.name}: section '{key}' is not allowed in a clinic file; use [clinic], [[exercise]], "
                "[[condition]], [[measure]], [[source]] or [[dose_default]]"
            )
    if problems:
        raise CatalogError(problems)

    from sciatica_kit.catalog_models import validate_documents

    docs = {name: raw[name] for name in files}
    if (folder / "poses.toml").is_file():
        docs["poses.toml"] = _read_toml(folder / "poses.toml", problems)
    if extra is not None:
        docs[extra.name] = extra_raw
    failed = validate_documents(docs, problems)

    bib_entries = _entries(raw["bibliography.toml"], "source", "bibliography.toml", problems)
    exercises = _entries(raw["exercises.toml"], "exercise", "exercises.toml", problems)
    conditions = _entries(raw["conditions.toml"], "condition", "conditions.toml", problems)
    clinic = None
    dose_defaults: list[dict] = []
    if extra is not None:
        for key, target in (("exercise", exercises), ("condition", conditions), ("source", bib_entries)):
            for rec in _entries(extra_raw, key, extra.name, problems, required=False):
                target.append(rec)
        dose_defaults = _entries(extra_raw, "dose_default", extra.name, problems, required=False)
        clinic_table = extra_raw.get("clinic", {})
        clinic = clinic_table.get("name") if isinstance(clinic_table, dict) else None
        if dose_defaults and not (isinstance(clinic, str) and clinic.strip()):
            problems.append(f"{extra.name}: [clinic] name is missing; clinic default doses are labelled with the clinic's name")
    findings = _entries(raw["findings.toml"], "finding", "findings.toml", problems)
    red_flags = _entries(raw["red_flags.toml"], "red_flag", "red_flags.toml", problems)
    urgency_entries = _entries(raw["red_flags.toml"], "urgency", "red_flags.toml", problems)
    combos = _entries(raw["red_flags.toml"], "combination", "red_flags.toml", problems, required=False)
    phases = _entries(raw["phases.toml"], "phase", "phases.toml", problems)
    measures = _entries(raw["measures.toml"], "measure", "measures.toml", problems)
    if extra is not None:  # a clinic's own measures follow the packaged ones, checked by the same rules
        measures += _entries(extra_raw, "measure", extra.name, problems, required=False)
    populations = _entries(raw["populations.toml"], "population", "populations.toml", problems)
    category_order = tuple(raw["phases.toml"].get("categories", {}).get("order", CATEGORIES))
    advice = tuple(raw["phases.toml"].get("advice", {}).get("items", ()))

    def text_id(e) -> str | None:  # an id that is not text (a list, a number) was reported by the models
        return e.get("id") if isinstance(e.get("id"), str) else None

    def keep(entries):
        return [e for e in entries if (e["_file"], text_id(e), e["_n"]) not in failed]

    bib = _check_bibliography(keep(bib_entries), problems)
    ex = _check_exercises(keep(exercises), problems, skipped={text_id(e) for e in exercises} - {None})
    ex_ids = set(ex) | {e.get("id") for e in exercises if isinstance(e.get("id"), str)}
    cond = _check_rule_tables(keep(conditions), "condition", ex_ids, problems)
    fin = _check_rule_tables(keep(findings), "finding", ex_ids, problems)
    _check_finding_categories(fin, problems)
    for c in cond.values():
        for e in c["excludes"]:
            lifts = e.get("unless_findings", [])
            if not isinstance(lifts, list) or not all(isinstance(f, str) for f in lifts):
                problems.append(
                    f"{c['_file']}: condition '{c['id']}', field 'excludes.unless_findings': "
                    f"should be a list of finding ids, e.g. [\"extension_preference\"]"
                )
                continue
            for f in lifts:
                if f not in fin:
                    problems.append(
                        f"{c['_file']}: condition '{c['id']}', field 'excludes.unless_findings': "
                        f"unknown finding '{f}'; valid findings: {', '.join(sorted(fin))}"
                    )
    urgencies = _check_urgencies(keep(urgency_entries), problems)
    rf = _check_red_flags(keep(red_flags), urgencies, problems)
    combinations = _check_combinations(keep(combos), rf, urgencies, problems)
    ph = _check_phases(keep(phases), ex_ids, problems)
    ms = _check_measures(keep(measures), problems)
    pops = _check_populations(keep(populations), problems)
    defaults = _check_dose_defaults(dose_defaults, ex, clinic, problems)
    for i, cat in enumerate(category_order):
        if cat not in CATEGORIES:
            problems.append(
                f"phases.toml: [categories], field 'order' item {i + 1}: unknown category '{cat}'; "
                f"valid: {', '.join(CATEGORIES)}"
            )
    for i, item in enumerate(advice):
        if not item.get("text") or not item.get("source"):
            problems.append(f"phases.toml: [advice] item {i + 1}: needs both 'text' and 'source'")
    aliases = _load_aliases(folder / "aliases.csv", set(ms), problems)
    if problems:
        raise CatalogError(problems)

    records = {
        "exercises": ex,
        "conditions": cond,
        "findings": fin,
        "red_flags": rf,
        "phases": ph,
        "measures": ms,
        "populations": pops,
        "combinations": combinations,
        "bibliography": bib,
        "dose_defaults": defaults,
        "urgency_tiers": urgencies,
    }
    advice = tuple(dict(a) for a in advice)
    _resolve_citations(records, advice, problems, clinic_files=(extra.name,) if extra is not None else ())
    if problems:
        raise CatalogError(problems)
    return Catalog(
        exercises=_exercise_frame(ex),
        conditions=_frame(cond),
        red_flags=_frame(rf),
        findings=_frame(fin),
        measures=_frame(ms),
        phases=_frame(ph),
        aliases=aliases,
        category_order=category_order,
        advice=advice,
        records=records,
        files=tuple(str(folder / f) for f in files) + ((str(extra),) if extra else ()),
        bibliography=_frame(bib),
        populations=_frame(pops),
        urgencies=tuple(urgencies),  # ids, most urgent first
        clinic=clinic,
    )


def _resolve_citations(records: dict, advice: tuple[dict, ...], problems: list[str], clinic_files: Iterable[str] = ()) -> None:
    """Replace every cited id by its readable reference (ids kept in ``source_ids`` / ``source_id``).

    A clinic's own file may also name a source in free words (not an id); it is then
    shown labelled "(the clinic's own source)".  An id-like word that is not in the
    bibliography is always an error.
    """
    bib = records["bibliography"]
    clinic_files = set(clinic_files)

    def readable(ref, where, file=None):
        try:
            return cite(ref, bib)
        except ValueError as exc:
            if file in clinic_files and isinstance(ref, str) and ref.strip() and not _CITE_PART.match(ref.split(";")[0].strip()):
                return f"{ref.strip()} (the clinic's own source)"  # free text in a clinic's own file, labelled
            problems.append(f"{where}: {exc}")
            return str(ref)

    kinds = {"exercises": "exercise", "conditions": "condition", "findings": "finding", "red_flags": "red flag",
             "phases": "phase", "measures": "measure", "populations": "population", "combinations": "combination"}
    for table, kind in kinds.items():
        for ident, rec in records[table].items():
            file = rec.get("_file") or rec.get("file") or f"{table}.toml"
            where = f"{file}: {kind} '{ident}'"
            if "sources" in rec:
                rec["source_ids"] = list(rec["sources"])
                rec["sources"] = [readable(s, f"{where}, field 'sources'", file) for s in rec["sources"]]
            for key in ("dose_source", "phase_source", "dose_guidance_source"):
                val = rec.get(key)
                if isinstance(val, str) and val and not val.startswith("No source"):
                    rec[key + "_id"] = val
                    rec[key] = readable(val, f"{where}, field '{key}'", file)
            for key, items in rec.items():
                if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
                    for item in items:
                        if isinstance(item.get("source"), str):
                            item["source_id"] = item["source"]
                            item["source"] = readable(item["source"], f"{where}, field '{key}'", file)
    for rec in records["dose_defaults"].values():
        rec["source"] = f"Clinic default: {rec['clinic']}"
    for i, item in enumerate(advice):
        if isinstance(item.get("source"), str):
            item["source_id"] = item["source"]
            item["source"] = readable(item["source"], f"phases.toml: [advice] item {i + 1}")


def _check_bibliography(entries: list[dict], problems: list[str]) -> dict[str, dict]:
    seen: dict[str, str] = {}
    out = {}
    for rec in entries:
        if not _check_id(rec, "source", seen, problems):
            continue
        if not _require(rec, "source", _BIB_FIELDS, problems):
            continue
        if rec["kind"] not in SOURCE_KINDS:
            problems.append(f"{_where(rec, 'source')}, field 'kind': '{rec['kind']}' should be one of {', '.join(SOURCE_KINDS)}")
        out[rec["id"]] = {k: v for k, v in rec.items() if not k.startswith("_")} | {"_file": rec["_file"]}
    if KIT_SOURCE not in out:
        problems.append("bibliography.toml: the source 'kit' (the kit's own rules) is missing")
    return out


def _check_urgencies(entries: list[dict], problems: list[str]) -> dict[str, dict]:
    tiers = sorted((e for e in entries if isinstance(e.get("rank"), int)), key=lambda e: e["rank"])
    for e in entries:
        for name in ("id", "name", "headline"):
            if not isinstance(e.get(name), str) or not e[name].strip():
                problems.append(f"{_where(e, 'urgency')}, field '{name}': missing; add it")
        if not isinstance(e.get("rank"), int):
            problems.append(f"{_where(e, 'urgency')}, field 'rank': a whole number, 1 = most urgent")
        if "same day or within days" in str(e.get("headline", "")).lower():
            problems.append(f"{_where(e, 'urgency')}, field 'headline': say one tier, not 'same day or within days'")
    ranks = [e["rank"] for e in tiers]
    if len(set(ranks)) != len(ranks):
        problems.append("red_flags.toml: two urgency tiers share a rank; give each its own")
    return {e["id"]: {k: v for k, v in e.items() if not k.startswith("_")} for e in tiers}


def _check_combinations(entries: list[dict], flags: dict, urgencies: list[str], problems: list[str]) -> dict[str, dict]:
    out = {}
    seen: dict[str, str] = {**{k: "red_flags.toml" for k in flags}}
    for rec in entries:
        if not _check_id(rec, "combination", seen, problems):
            continue
        if rec.get("urgency") not in urgencies:
            problems.append(f"{_where(rec, 'combination')}, field 'urgency': '{rec.get('urgency')}' should be one of {', '.join(urgencies)}")
        for key in ("all_of", "any_of"):
            for f in rec.get(key, []):
                if f not in flags:
                    problems.append(f"{_where(rec, 'combination')}, field '{key}': unknown red flag '{f}'")
        if not rec.get("all_of"):
            problems.append(f"{_where(rec, 'combination')}, field 'all_of': list at least one red flag")
        _check_sources(rec, "combination", problems)
        clean = {k: v for k, v in rec.items() if not k.startswith("_")}
        clean.setdefault("any_of", [])
        clean.setdefault("precedence", 0)
        clean.setdefault("blocks", True)
        clean["_file"] = rec["_file"]
        out[rec["id"]] = clean
    return out


def _check_populations(entries: list[dict], problems: list[str]) -> dict[str, dict]:
    seen: dict[str, str] = {}
    out = {}
    for rec in entries:
        if not _check_id(rec, "population", seen, problems):
            continue
        _check_sources(rec, "population", problems)
        clean = {k: v for k, v in rec.items() if not k.startswith("_")}
        for key in ("excludes_where", "cautions_where", "notes", "excludes"):
            clean.setdefault(key, [])
        clean.setdefault("not_covered", "")
        clean.setdefault("needs_weeks_since_surgery", False)
        clean["_file"] = rec["_file"]
        out[rec["id"]] = clean
    return out


def _check_dose_defaults(entries: list[dict], exercises: dict, clinic: str | None, problems: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for rec in entries:
        ex_id = rec.get("exercise")
        where = f"{rec['_file']}: dose_default for '{ex_id}'"
        if ex_id not in exercises:
            close = difflib.get_close_matches(str(ex_id), sorted(exercises), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"{where}, field 'exercise': unknown exercise '{ex_id}'{hint}")
            continue
        doses = {}
        for name in DOSE_FIELDS:
            if name not in rec:
                continue
            try:
                rng = parse_dose(rec[name])
            except ValueError as exc:
                problems.append(f"{where}, field '{name}': {exc}")
                continue
            if rng is None:
                continue
            if exercises[ex_id]["doses"].get(name) is not None:
                problems.append(
                    f"{where}, field '{name}': the source already gives this dose; change it for one patient "
                    "with a dose edit instead"
                )
                continue
            doses[name] = rng
        for key in rec:
            if not key.startswith("_") and key not in (*DOSE_FIELDS, "exercise"):
                problems.append(f"{where}, field '{key}': unknown field; use the dose fields {', '.join(DOSE_FIELDS)}")
        out[ex_id] = {"exercise": ex_id, "doses": doses, "clinic": clinic or "", "_file": rec["_file"]}
    return out


def _entries(doc: dict, key: str, fname: str, problems: list[str], required: bool = True) -> list[dict]:
    items = doc.get(key)
    if items is None:
        if required:
            problems.append(f"{fname}: no [[{key}]] entries found")
        return []
    if not isinstance(items, list):
        problems.append(f"{fname}: '{key}' must be a list of [[{key}]] tables")
        return []
    out = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.append(f"{fname}: {key} number {n} is not a table")
            continue
        rec = dict(item)
        rec["_file"] = fname
        rec["_n"] = n
        out.append(rec)
    return out


def _where(rec: dict, kind: str) -> str:
    ident = rec.get("id")
    label = f"{kind} '{ident}'" if ident else f"{kind} number {rec.get('_n')}"
    return f"{rec.get('_file')}: {label}"


def _require(rec: dict, kind: str, fields: Mapping[str, type | tuple], problems: list[str]) -> bool:
    ok = True
    for name, typ in fields.items():
        if name not in rec:
            problems.append(f"{_where(rec, kind)}, field '{name}': missing; add it")
            ok = False
        elif not isinstance(rec[name], typ):
            want = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            problems.append(
                f"{_where(rec, kind)}, field '{name}': should be {want}, not {type(rec[name]).__name__}"
            )
            ok = False
    return ok


def _check_unknown_fields(rec: dict, kind: str, allowed: set[str], problems: list[str]) -> None:
    for key in rec:
        if key.startswith("_") or key in allowed:
            continue
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        problems.append(f"{_where(rec, kind)}, field '{key}': unknown field{hint}")


def _check_id(rec: dict, kind: str, seen: dict, problems: list[str]) -> bool:
    ident = rec.get("id")
    if not isinstance(ident, str) or not _ID_RE.match(ident):
        problems.append(
            f"{_where(rec, kind)}, field 'id': '{ident}' is not a valid id; use lower-case words joined by _"
        )
        return False
    if ident in seen:
        problems.append(
            f"{_where(rec, kind)}, field 'id': '{ident}' is already used in {seen[ident]}; choose a new id"
        )
        return False
    seen[ident] = rec["_file"]
    return True


def _check_sources(rec: dict, kind: str, problems: list[str], name: str = "sources") -> None:
    src = rec.get(name)
    if not src or not all(isinstance(s, str) and s.strip() for s in src):
        problems.append(f"{_where(rec, kind)}, field '{name}': missing source; name the seed file or guideline")


def parse_dose(value: Any) -> tuple[float, float] | None:
    """Turn a catalogue dose value into ``(low, high)``, or None for "not specified".

    A ceiling ``{ up_to = N }`` gives ``(nan, N)``; a floor ``{ at_least = N }`` gives
    ``(N, inf)``; a range ``[low, high]`` gives itself.

    Raises ValueError with the fix when the value is malformed.
    """
    if isinstance(value, str):
        if value.strip().lower() == NOT_SPECIFIED:
            return None
        raise ValueError(f"'{value}' is not a dose; write [low, high], {{ up_to = N }} or \"{NOT_SPECIFIED}\"")
    if isinstance(value, dict):
        if set(value) == {"at_least"} and _is_number(value["at_least"]):
            low = float(value["at_least"])
            if not (low > 0 and math.isfinite(low)):
                raise ValueError(f"at_least must be a positive number, not {value['at_least']}")
            return (low, math.inf)
        if set(value) != {"up_to"} or not _is_number(value["up_to"]):
            raise ValueError("a ceiling must be written { up_to = N } and a floor { at_least = N }, with a number")
        high = float(value["up_to"])
        if not (high > 0 and math.isfinite(high)):
            raise ValueError(f"up_to must be a positive number, not {value['up_to']}")
        return (math.nan, high)
    if isinstance(value, list):
        if len(value) != 2 or not all(_is_number(v) for v in value):
            raise ValueError(f"{value} is not a range; write [low, high] with two numbers")
        low, high = float(value[0]), float(value[1])
        if not (math.isfinite(low) and math.isfinite(high)) or low < 0:
            raise ValueError(f"{value}: doses must be finite and not negative")
        if low > high:
            raise ValueError(f"range is upside down ({value[0]} > {value[1]}); write [low, high]")
        if high == 0:
            raise ValueError(f"{value}: a dose of zero is not a dose; use \"{NOT_SPECIFIED}\"")
        return (low, high)
    raise ValueError(f"{value!r} is not a dose; write [low, high], {{ up_to = N }} or \"{NOT_SPECIFIED}\"")


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_EXERCISE_FIELDS = {
    "id": str,
    "name": str,
    "category": str,
    "targets": list,
    "position": str,
    "equipment": list,
    "steps": list,
    "dose_source": str,
    "each_side": bool,
    "phases": list,
    "progress_to": list,
    "regress_to": list,
    "cautions": list,
    "stop_if": list,
    "sources": list,
}
_EXERCISE_OPTIONAL = {"dose_note", "direction", "phase_note", "pose", "directional", "nerve_tensioner", "loaded_flexion", "phase_source", "picture"}


def _check_exercises(exercises: list[dict], problems: list[str], skipped: Iterable = ()) -> dict[str, dict]:
    seen: dict[str, str] = {}
    out: dict[str, dict] = {}
    allowed = set(_EXERCISE_FIELDS) | set(DOSE_FIELDS) | _EXERCISE_OPTIONAL
    for rec in exercises:
        kind = "exercise"
        if not _check_id(rec, kind, seen, problems):
            continue
        _check_unknown_fields(rec, kind, allowed, problems)
        if not _require(rec, kind, _EXERCISE_FIELDS, problems):
            continue
        if rec["category"] not in CATEGORIES:
            problems.append(
                f"{_where(rec, kind)}, field 'category': unknown category '{rec['category']}'; "
                f"valid: {', '.join(CATEGORIES)}"
            )
        if rec.get("direction") not in (None, *DIRECTIONS):
            problems.append(
                f"{_where(rec, kind)}, field 'direction': '{rec['direction']}' should be one of {', '.join(DIRECTIONS)}"
            )
        for name in ("steps", "targets", "equipment", "cautions", "stop_if", "phases", "progress_to", "regress_to"):
            if not all(isinstance(x, str) and x.strip() for x in rec[name]):
                problems.append(f"{_where(rec, kind)}, field '{name}': every item must be non-empty text")
        if not rec["steps"]:
            problems.append(f"{_where(rec, kind)}, field 'steps': write at least one step for the patient")
        if not rec["stop_if"]:
            problems.append(f"{_where(rec, kind)}, field 'stop_if': give at least one 'stop if' rule")
        if not rec["phases"]:
            problems.append(f"{_where(rec, kind)}, field 'phases': list at least one of {', '.join(PHASE_IDS)}")
        for p in rec["phases"]:
            if p not in PHASE_IDS:
                problems.append(f"{_where(rec, kind)}, field 'phases': unknown phase '{p}'; valid: {', '.join(PHASE_IDS)}")
        _check_sources(rec, kind, problems)
        if not rec["dose_source"].strip():
            problems.append(f"{_where(rec, kind)}, field 'dose_source': missing source of the dose")
        doses = {}
        for name in DOSE_FIELDS:
            if name not in rec:
                problems.append(
                    f"{_where(rec, kind)}, field '{name}': missing; give a range or \"{NOT_SPECIFIED}\""
                )
                continue
            try:
                doses[name] = parse_dose(rec[name])
            except ValueError as exc:
                problems.append(f"{_where(rec, kind)}, field '{name}': {exc}")
                continue
            rng = doses[name]
            if rng is not None and name in WHOLE_DOSE_FIELDS and not all(not math.isfinite(v) or v.is_integer() for v in rng):
                problems.append(f"{_where(rec, kind)}, field '{name}': counted in whole numbers; write [low, high] with whole numbers")
        clean = {k: v for k, v in rec.items() if not k.startswith("_")}
        clean["doses"] = doses
        clean["file"] = rec["_file"]
        clean.setdefault("dose_note", "")
        clean.setdefault("direction", None)
        clean.setdefault("phase_note", "")
        clean.setdefault("phase_source", KIT_SOURCE)
        clean.setdefault("directional", False)
        clean.setdefault("nerve_tensioner", None)
        clean.setdefault("loaded_flexion", False)
        if clean["nerve_tensioner"] not in (None, *NERVES):
            problems.append(f"{_where(rec, kind)}, field 'nerve_tensioner': '{clean['nerve_tensioner']}' should be one of {', '.join(NERVES)}")
        if clean["directional"] and clean["direction"] is None:
            problems.append(f"{_where(rec, kind)}, field 'directional': a directional exercise needs its 'direction'")
        out[rec["id"]] = clean
    for ident, rec in out.items():
        for name in ("progress_to", "regress_to"):
            for ref in rec[name]:
                if not isinstance(ref, str):
                    continue  # already reported: every item must be non-empty text
                if ref not in out and ref not in skipped:
                    close = difflib.get_close_matches(ref, sorted(out), n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    problems.append(
                        f"{rec['file']}: exercise '{ident}', field '{name}': unknown exercise '{ref}'{hint}"
                    )
                elif ref == ident:
                    problems.append(f"{rec['file']}: exercise '{ident}', field '{name}': refers to itself")
    return out


def _check_refs(rec: dict, kind: str, fname: str, items: Any, ex_ids: set[str], need: tuple[str, ...], problems: list[str]) -> list[dict]:
    if not isinstance(items, list):
        problems.append(f"{_where(rec, kind)}, field '{fname}': should be a list of tables")
        return []
    out = []
    for j, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.append(f"{_where(rec, kind)}, field '{fname}' item {j}: should be a table {{ ... }}")
            continue
        for key in need:
            if not isinstance(item.get(key), str) or not item.get(key).strip():
                problems.append(f"{_where(rec, kind)}, field '{fname}' item {j}: missing '{key}'")
        ref = item.get("exercise")
        if "exercise" in need and isinstance(ref, str) and ref not in ex_ids:
            close = difflib.get_close_matches(ref, sorted(ex_ids), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"{_where(rec, kind)}, field '{fname}' item {j}: unknown exercise '{ref}'{hint}")
        out.append(dict(item))
    return out


def _check_rule_tables(entries: list[dict], kind: str, ex_ids: set[str], problems: list[str]) -> dict[str, dict]:
    seen: dict[str, str] = {}
    out = {}
    base = {"id": str, "name": str, "description": str, "sources": list}
    if kind == "condition":
        lists = {
            "indicates": ("exercise", "why", "source"),
            "excludes": ("exercise", "why", "source"),
            "cautions": ("exercise", "text", "source", "audience"),
            "direction_cautions": ("direction", "text", "source", "audience"),
        }
        allowed = set(base) | set(lists) | {"snomed"}
    else:
        lists = {
            "adds": ("exercise", "why", "source"),
            "excludes": ("exercise", "why", "source"),
            "excludes_categories": ("category", "why", "source"),
            "excludes_tensioners": ("nerve", "why", "source"),
            "cautions": ("exercise", "text", "source", "audience"),
        }
        allowed = set(base) | set(lists) | {"directional_preference"}
    for rec in entries:
        if not _check_id(rec, kind, seen, problems):
            continue
        _check_unknown_fields(rec, kind, allowed | {"unless_findings"}, problems)
        if not _require(rec, kind, base, problems):
            continue
        _check_sources(rec, kind, problems)
        clean = {k: v for k, v in rec.items() if not k.startswith("_")}
        clean["_file"] = rec["_file"]
        for name, need in lists.items():
            clean[name] = _check_refs(rec, kind, name, rec.get(name, []), ex_ids, need, problems)
        for name in ("cautions", "direction_cautions"):
            for item in clean.get(name, []):
                if item.get("audience") not in AUDIENCES:
                    problems.append(
                        f"{_where(rec, kind)}, field '{name}' ({item.get('exercise') or item.get('direction')}): "
                        f"'audience' should be one of {', '.join(AUDIENCES)}"
                    )
        for item in clean.get("excludes_tensioners", []):
            if item.get("nerve") not in NERVES:
                problems.append(f"{_where(rec, kind)}, field 'excludes_tensioners': unknown nerve '{item.get('nerve')}'; valid: {', '.join(NERVES)}")
        if clean.get("directional_preference") not in (None, *DIRECTIONS):
            problems.append(f"{_where(rec, kind)}, field 'directional_preference': should be one of {', '.join(DIRECTIONS)}")
        clean.setdefault("directional_preference", None)
        for item in clean.get("excludes", []):
            lifted = item.get("caution_if_lifted")
            if item.get("unless_findings") and not (isinstance(lifted, str) and lifted.strip()):
                problems.append(
                    f"{_where(rec, kind)}, field 'excludes' ({item.get('exercise')}): an exclusion that a finding "
                    "can lift needs 'caution_if_lifted'"
                )
        if kind == "condition" and not clean["indicates"]:
            problems.append(f"{_where(rec, kind)}, field 'indicates': list at least one exercise")
        out[rec["id"]] = clean
    return out


def _check_finding_categories(findings: dict, problems: list[str]) -> None:
    for f in findings.values():
        for item in f["excludes_categories"]:
            if item.get("category") not in CATEGORIES:
                problems.append(
                    f"{f['_file']}: finding '{f['id']}', field 'excludes_categories': unknown category "
                    f"'{item.get('category')}'; valid: {', '.join(CATEGORIES)}"
                )


def _check_red_flags(entries: list[dict], urgencies: list[str], problems: list[str]) -> dict[str, dict]:
    seen: dict[str, str] = {}
    out = {}
    need = {"id": str, "name": str, "signs": list, "urgency": str, "precedence": int, "blocks": bool,
            "refer_to": str, "action": str, "sources": list}
    for rec in entries:
        if not _check_id(rec, "red flag", seen, problems):
            continue
        _check_unknown_fields(rec, "red flag", set(need), problems)
        if not _require(rec, "red flag", need, problems):
            continue
        if rec["urgency"] not in urgencies:
            problems.append(
                f"{_where(rec, 'red flag')}, field 'urgency': '{rec['urgency']}' should be one of {', '.join(urgencies)}"
            )
        if not rec["signs"]:
            problems.append(f"{_where(rec, 'red flag')}, field 'signs': list the signs a clinician ticks")
        _check_sources(rec, "red flag", problems)
        out[rec["id"]] = {k: v for k, v in rec.items() if not k.startswith("_")}
    return out


def _check_phases(entries: list[dict], ex_ids: set[str], problems: list[str]) -> dict[str, dict]:
    seen: dict[str, str] = {}
    out = {}
    need = {"id": str, "name": str, "description": str, "dose_guidance": str, "swap_tensioners_for_sliders": bool, "sources": list}
    for rec in entries:
        if not _check_id(rec, "phase", seen, problems):
            continue
        if not _require(rec, "phase", need, problems):
            continue
        if rec["id"] not in PHASE_IDS:
            problems.append(f"{_where(rec, 'phase')}, field 'id': phases are {', '.join(PHASE_IDS)}")
        clean = {k: v for k, v in rec.items() if not k.startswith("_")}
        clean["_file"] = rec["_file"]
        clean["adds"] = _check_refs(rec, "phase", "adds", rec.get("adds", []), ex_ids, ("exercise", "why", "source"), problems)
        out[rec["id"]] = clean
    for p in PHASE_IDS:
        if p not in out:
            problems.append(f"phases.toml: phase '{p}' is missing")
    return out


def _check_measures(entries: list[dict], problems: list[str]) -> dict[str, dict]:
    seen: dict[str, str] = {}
    out = {}
    need = {"id": str, "name": str, "unit": str, "min": (int, float), "max": (int, float), "better": str, "sided": bool, "sources": list}
    optional_numbers = ("mcid_points", "mcid_percent", "mdc", "sem")
    for rec in entries:
        if not _check_id(rec, "measure", seen, problems):
            continue
        if not _require(rec, "measure", need, problems):
            continue
        if rec["min"] >= rec["max"]:
            problems.append(f"{_where(rec, 'measure')}, fields 'min'/'max': min must be below max")
        if rec["better"] not in ("lower", "higher"):
            problems.append(f"{_where(rec, 'measure')}, field 'better': should be 'lower' or 'higher'")
        clean = {k: v for k, v in rec.items() if not k.startswith("_")}
        for name in optional_numbers:
            v = rec.get(name, NOT_SPECIFIED)
            if v == NOT_SPECIFIED:
                clean[name] = math.nan
            elif _is_number(v) and v > 0:
                clean[name] = float(v)
            else:
                problems.append(f"{_where(rec, 'measure')}, field '{name}': a positive number or \"{NOT_SPECIFIED}\"")
        for z in rec.get("zones", []):
            if not (isinstance(z, dict) and _is_number(z.get("low")) and _is_number(z.get("high")) and z["low"] < z["high"]):
                problems.append(f"{_where(rec, 'measure')}, field 'zones': each zone needs label, low < high")
        clean.setdefault("zones", [])
        clean.setdefault("units_accepted", [])
        clean.setdefault("integer", False)
        clean.setdefault("loinc", "")
        clean.setdefault("ucum", "")
        clean.setdefault("visit_form", True)
        clean.setdefault("overview", False)
        clean["file"] = rec["_file"]  # a clinic's own measure may cite its own sources in free words
        _check_sources(rec, "measure", problems)
        out[rec["id"]] = clean
    return out


def _load_aliases(path: Path, measure_ids: set[str], problems: list[str]) -> pd.DataFrame:
    rows = []
    targets = measure_ids | {"patient_id", "date", "note"}
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            for n, row in enumerate(csv.DictReader(fh), start=2):
                header = (row.get("header") or "").strip().lower()
                maps_to = (row.get("maps_to") or "").strip()
                side = (row.get("side") or "").strip()
                if not header or maps_to not in targets:
                    problems.append(
                        f"aliases.csv row {n}: '{row.get('maps_to')}' is not a measure or column; "
                        f"use one of {', '.join(sorted(targets))}"
                    )
                    continue
                if side not in ("", "left", "right"):
                    problems.append(f"aliases.csv row {n}, column 'side': use left, right or leave empty")
                rows.append((header, maps_to, side))
    except FileNotFoundError:
        problems.append("aliases.csv: file is missing")
    return pd.DataFrame(rows, columns=["header", "maps_to", "side"]).set_index("header")


# --------------------------------------------------------------------------- frames


def _frame(records: Mapping[str, dict]) -> pd.DataFrame:
    rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in records.values()]
    return pd.DataFrame(rows).set_index("id")


def _exercise_frame(records: Mapping[str, dict]) -> pd.DataFrame:
    rows = []
    for r in records.values():
        row = {k: v for k, v in r.items() if k not in ("doses", "file", "pose")}
        for name in DOSE_FIELDS:
            rng = r["doses"].get(name)
            row[f"{name}_low"] = rng[0] if rng else math.nan
            row[f"{name}_high"] = rng[1] if rng and math.isfinite(rng[1]) else math.nan
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("id")
    for name in DOSE_FIELDS:
        for end in ("low", "high"):
            frame[f"{name}_{end}"] = frame[f"{name}_{end}"].astype("Float64")
    return frame
