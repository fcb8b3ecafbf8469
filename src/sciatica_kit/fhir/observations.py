"""Observations: a progress log out as FHIR, and Observations from other systems back in.

Reading rules (stated, tested by ``tests/data/fhir``):

* **Which measure**: the kit's own measure code; else a LOINC code from
  ``codes.toml``.  72514-3 is shared by three pain measures: the code's words
  (``code.text``, displays) pick back or leg pain through the catalogue's
  header aliases (the table log-file headers go through), else it is ``pain``.
  An Observation whose own code is not tracked gives one row per tracked
  ``component`` (a pain panel).  Anything else (a body weight, a blood
  pressure) is skipped and listed in the report, never an error.
* **Value**: ``valueQuantity`` converted to the kit's unit with the factors in
  ``codes.toml`` (rad -> deg, mm -> cm, a 100 mm VAS -> 0-10, raw ODI points
  out of 50 -> %); a quantity without a unit is taken in the kit's unit; a
  unit not listed for the measure is a problem naming the resource.
  ``valueInteger``, ``valueDecimal`` (not an R4 Observation field, read
  leniently and reported) and ``valueCodeableConcept`` from a measure's answer
  list are read as numbers.  Converted values are rounded to 2 decimals.
* **When**: ``effectiveDateTime`` or ``effectiveInstant``; an ``effectivePeriod``
  is dated by its start (its end when it has no start).  The time of day is
  kept as the wall-clock time written, the UTC offset dropped; a partial date
  (year or month only) is a problem.
* **Who**: the subject's reference resolved inside the input (fullUrl,
  ``Patient/id`` or an absolute URL), or the reference's own identifier; the
  Patient's identifier is chosen clinic system first, then the kit's, then a
  medical-record number, then the first.  A patient that is not included is a
  problem unless ``patient_id=`` names it.
* **Side**: ``bodySite`` with a SNOMED left/right lower-limb structure or the
  left/right laterality qualifier (also as a laterality extension).
* **Status**: final, amended, corrected and preliminary are read;
  entered-in-error, cancelled and registered (no result yet) are skipped and
  listed; any other status is a problem.
* Every row then goes through :func:`sciatica_kit.log.validate_log`, the
  rules of a file import (ranges, sides, dates, duplicates); its problems are
  reported against the resource.  Nothing is imported when anything is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sciatica_kit._docs import shared_docs
from sciatica_kit.catalog import Catalog, load_catalog, unknown_id_error
from sciatica_kit.fhir import _base as b
from sciatica_kit.fhir.questionnaires import response_rows
from sciatica_kit.log import (
    LOG_COLUMNS,
    LogError,
    LogProblem,
    check_log,
    conform_log,
    empty_log,
    validate_log,
)

__all__ = ["FhirImport", "import_observations", "observations_bundle", "read_observations", "read_questionnaire_responses"]

_READ_STATUSES = ("final", "amended", "corrected", "preliminary")
_SKIP_STATUSES = ("entered-in-error", "cancelled", "registered")  # registered: no result yet
_UNIT_WORDS = {"°": "deg", "degree": "deg", "degrees": "deg", "radian": "rad", "radians": "rad", "percent": "%",
               "score": "{score}", "points": "{score}", "{points}": "{score}", "{#}": "{score}", "": ""}


# --------------------------------------------------------------------------- export


def _check_log(log: pd.DataFrame, cat: Catalog) -> None:
    missing = [c for c in LOG_COLUMNS if c not in log.columns]
    if missing:
        raise ValueError(
            f"The log lacks column(s) {', '.join(missing)}. A progress log needs the columns {', '.join(LOG_COLUMNS)}."
        )
    measures = cat.records["measures"]
    for i, row in enumerate(log.to_dict("records")):
        if row["measure"] not in measures:
            raise ValueError(f"Log row {i}: {unknown_id_error('measure', row['measure'], measures)}")
        if pd.isna(row["date"]):
            raise ValueError(f"Log row {i}: the date is missing; give the day it was measured.")
        if b.number(row["value"]) is None:
            raise ValueError(f"Log row {i}: the value is missing; give the measured number.")
        if (row["side"] or "") not in ("", "left", "right"):
            raise ValueError(f"Log row {i}: side {row['side']!r} must be 'left', 'right' or ''.")


def _codes_with_catalogue(codes: Mapping, cat: Catalog) -> dict:
    """``codes.toml`` plus a code record for each catalogue measure it does not list (a clinic's own).

    Such a measure goes out under the kit's local code system (its LOINC too when the catalogue
    gives one), with the catalogue's ``ucum`` unit (``{score}`` when none), and comes back in the
    same unit.
    """
    extra = {}
    for mid, rec in cat.records["measures"].items():
        if mid in codes["measure"]:
            continue
        ucum = rec.get("ucum") or "{score}"
        units = {ucum: 1, "": 1}
        if rec.get("unit"):
            units[rec["unit"]] = 1
        extra[mid] = {"ucum": ucum, "units": units, **({"loinc": rec["loinc"]} if rec.get("loinc") else {})}
    if not extra:
        return codes  # type: ignore[return-value]
    return {**codes, "measure": {**codes["measure"], **extra}}


def observation(row: Mapping[str, Any], measure: Mapping[str, Any], subject: str, codes: Mapping) -> dict:
    """One log row as an Observation (codes, category, UCUM unit, body site, note)."""
    mid, name = measure["id"], measure["name"]
    info = codes["measure"].get(mid, {})
    codings = [b.coding(b.LOINC, info["loinc"], info.get("loinc_display"))] if info.get("loinc") else []
    codings.append(b.coding(b.MEASURE_SYSTEM, mid, name))
    ucum = info.get("ucum") or "{score}"
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": codings, "text": name},
        "subject": {"reference": subject},
        "effectiveDateTime": b.fhir_datetime(row["date"]),
        "valueQuantity": {"value": float(row["value"]), "unit": measure.get("unit") or ucum, "system": b.UCUM, "code": ucum},
    }
    if info.get("category"):
        obs["category"] = [{"coding": [b.coding(b.OBS_CATEGORY, info["category"])]}]
    if side := row["side"] or "":
        site = codes["side"][side]
        obs["bodySite"] = {"coding": [b.coding(b.SNOMED, site["snomed"], site["display"])], "text": side}
    if note := b.text(row.get("note")):
        obs["note"] = [{"text": note}]
    return obs


@shared_docs
def observations_bundle(
    log: pd.DataFrame, *, patient_id: str | None = None, catalog: Catalog | None = None
) -> dict:
    """Export a tidy progress log as a FHIR R4 Bundle of Observations (one per row).

    Parameters
    ----------
    log
        Columns ``patient_id, date, measure, side, value, note``.  A date with a
        time of day is sent with that time and the computer's UTC offset.
    patient_id
        Use this identifier for every row instead of the log's ``patient_id``.
    {catalog}

    Returns
    -------
    dict
        A JSON-able ``collection`` Bundle: one Patient per patient id (identifier
        with the clinic's system, see :func:`patient_resource`), then the
        Observations, validated with the R4B models.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"patient_id": ["P-001"], "date": pd.to_datetime(["2025-03-01"]),
    ...                     "measure": ["odi"], "side": [""], "value": [32.0], "note": [""]})
    >>> obs = observations_bundle(log)["entry"][1]["resource"]
    >>> obs["code"]["coding"][0]["code"], obs["valueQuantity"]["value"]
    ('97908-8', 32.0)
    """
    cat = catalog or load_catalog()
    codes = _codes_with_catalogue(b.load_codes(), cat)
    log = check_log(log, "The log")
    _check_log(log, cat)
    rows = log.to_dict("records")
    ids = [str(patient_id) if patient_id is not None else b.text(r["patient_id"]) for r in rows]
    patients = {pid: b.uuid_url() for pid in dict.fromkeys(ids)}
    system = b.identifier_system()
    entries = [(url, b.patient_resource(pid, system=system)) for pid, url in patients.items()]
    measures = cat.records["measures"]
    for row, pid in zip(rows, ids, strict=True):
        entries.append((b.uuid_url(), observation(row, measures[row["measure"]], patients[pid], codes)))
    return b.validated(entries)


# --------------------------------------------------------------------------- import report


@dataclass
class FhirImport:
    """What an import read: the validated ``log``, what was ``skipped`` and why, and ``notes``."""

    log: pd.DataFrame
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["resource", "reason"]))
    notes: list[str] = field(default_factory=list)

    @property
    def report(self) -> str:
        """The import in plain words for the clinician."""
        out = [f"Imported {len(self.log)} measurement(s)."]
        if len(self.skipped):
            out.append(f"Skipped {len(self.skipped)} resource(s) the kit does not track:")
            out += [f"  - {r.resource}: {r.reason}" for r in self.skipped.itertuples()]
        out += [f"Note: {n}" for n in self.notes]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.report


# --------------------------------------------------------------------------- import


def _measure_of(res: Mapping, cat: Catalog, codes: Mapping) -> tuple[str | None, dict | None, str | None]:
    """(measure id, import-only code record, problem) for an Observation's code."""
    code = res.get("code") if isinstance(res.get("code"), Mapping) else {}
    codings = [c for c in code.get("coding") or [] if isinstance(c, Mapping)] if isinstance(code.get("coding"), list) else []
    measures = cat.records["measures"]
    local = [c.get("code") for c in codings if c.get("system") == b.MEASURE_SYSTEM]
    if local:
        if local[0] not in measures:
            return None, None, str(unknown_id_error("measure", local[0], measures))
        return local[0], None, None
    loinc = [c.get("code") for c in codings if c.get("system") == b.LOINC]
    sharing = [mid for mid, info in codes["measure"].items() if mid in measures and info.get("loinc") in loinc]
    if sharing:
        return _by_words(code, codings, sharing, cat) or sharing[0], None, None
    for mid, info in codes["measure"].items():
        for alt in info.get("loinc_import", []):
            if alt["code"] in loinc and mid in measures:
                return mid, alt, None
    return None, None, None


def _by_words(code: Mapping, codings: list, sharing: list[str], cat: Catalog) -> str | None:
    """Among measures sharing a LOINC code (pain, back pain, leg pain), the one the code's words name.

    The words (``code.text``, then the displays) are looked up in the catalogue's
    header aliases, the table a log file's headers go through.
    """
    if len(sharing) < 2:
        return None
    table = {str(h).lower(): m for h, m in cat.aliases["maps_to"].items()}
    words = [code.get("text"), *(c.get("display") for c in codings)]
    for w in words:
        mid = table.get(str(w or "").strip().lower())
        if mid in sharing:
            return mid
    return None


def _components(entry: b.Entry, cat: Catalog, codes: Mapping, problems: b.Problems) -> list[tuple]:
    """The measures an Observation carries as components (a panel of back and leg pain, SLR per side)."""
    res, out = entry.resource, []
    shared = {k: v for k, v in res.items() if not k.startswith("value") and k not in ("component", "code", "dataAbsentReason", "referenceRange")}
    for j, comp in enumerate(res.get("component") or [] if isinstance(res.get("component"), list) else []):
        if not isinstance(comp, Mapping):
            continue
        mid, alt, problem = _measure_of(comp, cat, codes)
        label = f"{entry.name}, component {j}"
        part = b.Entry(entry.index, {**shared, **comp}, entry.full_url, entry.method, entry.keys, label=label)
        if problem:
            problems.add(part, "code", problem, "Use a measure id of the kit")
        elif mid is not None:
            out.append((part, mid, alt))
    return out


def _code_words(res: Mapping) -> str:
    cc = res.get("code") if isinstance(res.get("code"), Mapping) else {}
    if not isinstance(cc.get("coding"), list):
        return str(cc.get("text") or "no code")
    parts = [f"{c.get('code')} {c.get('display') or ''}".strip() for c in cc.get("coding") or [] if isinstance(c, Mapping)]
    return cc.get("text") or "; ".join(parts) or "no code"


def _unit_key(q: Mapping) -> tuple[str, str]:
    """(normalised unit, as written) of a Quantity: the UCUM code when given, else the unit text."""
    written = str(q.get("code") if q.get("system") in (b.UCUM, None) and q.get("code") else q.get("unit") or "").strip()
    key = _UNIT_WORDS.get(written.lower(), written)
    return key, written or "(none)"


def _out_of_50(res: Mapping, q: Mapping | None, raw_max: float) -> bool:
    for rng in res.get("referenceRange") or []:
        if b.number((rng.get("high") or {}).get("value")) == raw_max:
            return True
    if q:
        for part in (q.get("code"), q.get("unit")):
            if part and re.search(rf"(/|out of|of)\s*{int(raw_max)}\b", str(part)):
                return True
    return False


def _value(entry: b.Entry, mid: str, alt: dict | None, codes: Mapping, problems: b.Problems, notes: list[str]) -> float | None:
    res = entry.resource
    info = codes["measure"].get(mid, {})
    units = dict(alt.get("units") if alt else info.get("units") or {})
    kit_unit = info.get("ucum") or ""
    raw_max = info.get("raw_points_max")
    if "valueQuantity" in res:
        q = res["valueQuantity"] or {}
        value = b.number(q.get("value"))
        if value is None:
            problems.add(entry, "valueQuantity", "has no number", "Give valueQuantity.value, the measured number")
            return None
        if q.get("comparator"):
            problems.add(entry, "valueQuantity.comparator", f"the value is given as {q['comparator']} {value:g}, not a measurement",
                         "Send the measured number itself")
            return None
        key, written = _unit_key(q)
        if raw_max and _out_of_50(res, q, raw_max):
            return round(value * 100 / raw_max, 2)
        if key == "" and not alt:
            return value
        if key not in units:
            problems.add(
                entry, "valueQuantity.unit",
                f"unit {written!r} cannot be read as {kit_unit} for {mid}",
                f"Send it in one of: {', '.join(u for u in units if u)}",
            )
            return None
        factor = float(units[key])
        return value if factor == 1 else round(value * factor, 2)
    for fld in ("valueInteger", "valueDecimal"):
        if fld in res:
            value = b.number(res[fld])
            if value is None or isinstance(res[fld], bool):
                problems.add(entry, fld, f"{res[fld]!r} is not a number", "Send the measured number")
                return None
            if fld == "valueDecimal":
                notes.append(f"{entry.name}: valueDecimal is not an R4 Observation field; read as a number.")
            if raw_max and _out_of_50(res, None, raw_max):
                return round(value * 100 / raw_max, 2)
            return value
    if "valueCodeableConcept" in res:
        answers = codes.get("answers", {}).get(info.get("answers") or "", {}).get("codes", [])
        by_code = {a["code"]: float(a["value"]) for a in answers}
        for c in (res["valueCodeableConcept"] or {}).get("coding") or []:
            if c.get("code") in by_code:
                return by_code[c["code"]]
        problems.add(
            entry, "valueCodeableConcept", f"no answer code the kit knows for {mid}",
            "Send the number (valueQuantity or valueInteger)" + (f" or one of {', '.join(by_code)}" if by_code else ""),
        )
        return None
    kinds = [k for k in res if k.startswith("value")]
    if kinds:
        problems.add(entry, kinds[0], f"{kinds[0]} cannot hold a {mid} value", "Send valueQuantity or valueInteger")
    else:
        problems.add(entry, "value[x]", "no value", "Give valueQuantity with the measured number")
    return None


def _when(entry: b.Entry, problems: b.Problems) -> pd.Timestamp | None:
    res = entry.resource
    for fld in ("effectiveDateTime", "effectiveInstant"):
        if fld in res:
            ts = b.parse_fhir_datetime(res[fld])
            if ts is None:
                problems.add(entry, fld, f"{res[fld]!r} does not name a day", "Give the full date it was measured (YYYY-MM-DD)")
            return ts
    if "effectivePeriod" in res:
        period = res["effectivePeriod"] or {}
        start = period.get("start") or period.get("end")
        ts = b.parse_fhir_datetime(start)
        if ts is None:
            problems.add(entry, "effectivePeriod", "has no start or end that names a day", "Give effectivePeriod.start")
        return ts
    problems.add(entry, "effective[x]", "no date", "Give effectiveDateTime, the day it was measured")
    return None


def _side(res: Mapping, sides: Mapping[str, str]) -> str:
    found: list[str] = []

    def scan(cc: Any) -> None:
        if isinstance(cc, Mapping):
            for c in cc.get("coding") or []:
                if isinstance(c, Mapping) and c.get("code") in sides and c.get("system") in (b.SNOMED, None):
                    found.append(sides[c["code"]])
            if not cc.get("coding") and str(cc.get("text") or "").strip().lower() in ("left", "right"):
                found.append(str(cc["text"]).strip().lower())

    site = res.get("bodySite")
    scan(site)
    for ext in [*(res.get("extension") or []), *((site or {}).get("extension") or [])]:
        if isinstance(ext, Mapping) and "laterality" in str(ext.get("url", "")).lower():
            scan(ext.get("valueCodeableConcept"))
    return found[0] if found else ""


@shared_docs
def import_observations(
    source: Any,
    *,
    patient_id: str | None = None,
    catalog: Catalog | None = None,
    today=None,
) -> FhirImport:
    """Import Observations (and QuestionnaireResponses) from another system into a tidy log.

    Parameters
    ----------
    source
        A Bundle (collection, searchset, transaction or batch), a single
        resource, NDJSON lines, as a dict, JSON text or a file path.
    patient_id
        The clinic's id for a patient the resources refer to but do not include.
    {catalog}
    today
        Dates after this are refused (default: today), as in a file import.

    Returns
    -------
    FhirImport
        ``log`` (the columns of a file import, validated by
        :func:`~sciatica_kit.log.validate_log`; dates keep their time of
        day), ``skipped`` resources with the reason, and ``notes``.

    Raises
    ------
    LogError
        Listing every problem, each naming the resource; nothing is imported.
    ValueError
        When the input is not FHIR JSON at all.

    Examples
    --------
    >>> obs = {"resourceType": "Observation", "status": "final",
    ...        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
    ...        "subject": {"identifier": {"value": "P-001"}},
    ...        "effectiveDateTime": "2025-03-01", "valueInteger": 6}
    >>> import_observations(obs).log[["patient_id", "measure", "value"]].to_dict("records")
    [{'patient_id': 'P-001', 'measure': 'pain', 'value': 6.0}]
    """
    cat = catalog or load_catalog()
    codes = _codes_with_catalogue(b.load_codes(), cat)
    sides = b.side_codes(codes)
    entries = b.entries_of(b.load_json(source))
    problems, notes, skipped, rows, names = b.Problems(), [], [], [], []
    unresolved: dict[str, str] = {}
    for entry in entries:
        res, kind = entry.resource, entry.kind
        if entry.method == "DELETE":
            skipped.append((entry.name, "a delete request, not a measurement"))
            continue
        if kind == "Patient":
            continue
        if kind == "QuestionnaireResponse":
            before = len(problems.items)
            got = response_rows(entry, entries, patient_id=patient_id, problems=problems, skipped=skipped, notes=notes,
                               unresolved=unresolved)
            if len(problems.items) == before:
                for row in got:
                    rows.append(row)
                    names.append(entry.name)
            continue
        if kind != "Observation":
            skipped.append((entry.name, f"not a measurement ({kind})"))
            continue
        status = res.get("status")
        if status in _SKIP_STATUSES:
            skipped.append((entry.name, f"status {status}"))
            continue
        mid, alt, problem = _measure_of(res, cat, codes)
        if problem:
            problems.add(entry, "code", problem, "Use a measure id of the kit")
            continue
        parts = [(entry, mid, alt)] if mid is not None else _components(entry, cat, codes, problems)
        if not parts:
            skipped.append((entry.name, f"not a measure the kit tracks ({_code_words(res)})"))
            continue
        if status not in _READ_STATUSES:
            problems.add(entry, "status", f"{status!r} is not a result", "Send final, amended, corrected or preliminary results")
            continue
        lenient = {k: v for k, v in res.items() if k != "valueDecimal"}
        if invalid := b.resource_problem(lenient):
            problems.add(entry, None, f"not valid FHIR R4 ({invalid.lstrip(', ')})", "Fix the fields so they follow FHIR R4")
            continue
        for part, mid, alt in parts:
            if not any(k.startswith("value") for k in part.resource) and part.resource.get("dataAbsentReason"):
                skipped.append((part.name, f"no value ({_code_words({'code': part.resource['dataAbsentReason']})})"))
                continue
            before = len(problems.items)
            value = _value(part, mid, alt, codes, problems, notes)
            when = _when(part, problems)
            pid, ref = b.patient_of(part, entries, patient_id, problems)
            if len(problems.items) > before:
                continue
            if ref is not None:
                unresolved[ref] = part.name
            side = _side(part.resource, sides) if cat.records["measures"][mid]["sided"] else ""
            notes_text = (n.get("text") for n in res.get("note") or [] if isinstance(n, Mapping) and n.get("text"))
            rows.append({"patient_id": pid, "date": when, "measure": mid, "side": side, "value": value,
                         "note": "\n".join(b.text(t) for t in notes_text)})
            names.append(part.name)
    for pid in dict.fromkeys(str(r["patient_id"]) for r in rows):
        if problem := b.identity_problem(pid):
            notes.append(f"The patient id {pid!r} looks like a {problem}; the clinic's own patient number is safer.")
    if len(unresolved) > 1:
        first = next(e for e in entries if e.name == next(iter(unresolved.values())))
        problems.add(first, "subject", f"the resources refer to {len(unresolved)} different patients not in the bundle "
                     f"({', '.join(unresolved)}) but one patient_id was given", "Import each patient's resources separately")
    if problems.items:
        raise LogError(problems.items, "The FHIR import")
    skipped_frame = pd.DataFrame(skipped, columns=["resource", "reason"])
    if not rows:
        return FhirImport(empty_log(), skipped_frame, notes)
    return FhirImport(_validated_log(rows, names, cat, today), skipped_frame, notes)


_FIELD = {"value": "value[x]", "date": "effective[x]", "side": "bodySite", "measure": "code", "patient_id": "subject", "note": "note"}


def _in_resources(problem: str, names: list[str]) -> str:
    """A file-import message with its file rows replaced by the resources they came from."""
    problem = re.sub(r" \(rows [\d, ]+\)", "", problem)

    def name(m: re.Match) -> str:
        i = int(m[1]) - 2
        return names[i] if 0 <= i < len(names) else m[0]

    return re.sub(r"\brow (\d+)", name, problem)


def _validated_log(rows: list[dict], names: list[str], cat: Catalog, today) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(LOG_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"])
    days = frame["date"].dt.normalize()
    try:
        log = validate_log(frame.assign(date=days), catalog=cat, today=today)
    except LogError as err:
        mapped = []
        for p in err.problems:
            if p.row is not None and 0 <= p.row - 2 < len(names):
                fld = _FIELD.get(p.column or "", p.column)
                mapped.append(LogProblem(None, None, f"{names[p.row - 2]}, {fld}: {_in_resources(p.problem, names)}", p.fix))
            else:
                mapped.append(p)
        raise LogError(mapped, "The FHIR import") from None
    times = {}
    for r, day in zip(rows, days, strict=True):
        key = (str(r["patient_id"]), day, r["measure"], r["side"] or "")
        times.setdefault(key, pd.Timestamp(r["date"]) - day)
    offsets = [times.get((str(p), d, m, s or ""), pd.Timedelta(0)) for p, d, m, s in
               zip(log["patient_id"], log["date"], log["measure"], log["side"], strict=True)]
    log["date"] = log["date"] + pd.to_timedelta(pd.Series(offsets, index=log.index, dtype="timedelta64[ns]"))
    return conform_log(log)


@shared_docs
def read_observations(
    bundle: dict | str | Path, *, catalog: Catalog | None = None, patient_id: str | None = None, today=None
) -> pd.DataFrame:
    """Read FHIR Observations into a tidy progress log (the ``log`` of :func:`import_observations`).

    Parameters
    ----------
    bundle : dict, str or path-like
        A Bundle, its JSON text, or a file.
    {catalog}
    patient_id : str, optional
        The patient when the resources do not name one.
    today : date, optional
        Dates after it are refused (default: today).

    Returns
    -------
    pandas.DataFrame
        A tidy log.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"patient_id": ["P-001"], "date": pd.to_datetime(["2025-03-01"]),
    ...                     "measure": ["leg_pain"], "side": [""], "value": [6.0], "note": [""]})
    >>> read_observations(observations_bundle(log))["measure"].tolist()
    ['leg_pain']
    """
    return import_observations(bundle, catalog=catalog, patient_id=patient_id, today=today).log


def read_questionnaire_responses(source: Any, **kw) -> pd.DataFrame:
    """Scores from QuestionnaireResponses as a tidy log (see :func:`import_observations`).

    Parameters
    ----------
    source : dict, str or path-like
        A Bundle or QuestionnaireResponse, its JSON text, or a file.
    **kw
        Passed to :func:`import_observations`.

    Returns
    -------
    pandas.DataFrame
        A tidy log of the scores.

    Examples
    --------
    >>> from sciatica_kit.fhir.questionnaires import questionnaire_bundle
    >>> b_ = questionnaire_bundle("odi", [1, 2, 3, 2, 1, 0, 2, None, 1, 2], patient_id="P-001", authored="2025-03-01")
    >>> float(read_questionnaire_responses(b_)["value"].iloc[0])
    31.11
    """
    return import_observations(source, **kw).log
