"""Build a safe, explained home-exercise programme from conditions and findings.

Rules (all driven by the catalogue data):

1. Any red flag blocks the programme: empty table and a referral.
2. Exercises indicated by the chosen conditions, findings and phase are merged
   without duplicates; each row's ``reason`` names every condition or finding
   that put it there.
3. Exclusions (condition, finding, phase) win over indications; every excluded
   exercise is listed in ``excluded`` with its reason.  An exclusion that a
   finding lifts (stenosis + extension preference) becomes a caution.
4. In the acute phase tensioner nerve glides are swapped for their slider and
   exercises that wait until pain settles are dropped.
5. Doses come from the catalogued range at the phase's point (low / middle /
   high) and are numbers, NA where no source gives one.
6. Clinician overrides (include, exclude, dose edits) are recorded in the row's
   reason; forcing an excluded exercise records what it overrides.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from sciatica_kit.catalog import DOSE_FIELDS, PHASE_IDS, Catalog, load_catalog
from sciatica_kit.screening import Referral, screen

__all__ = [
    "DISCLAIMER",
    "SAFETY_NOTE",
    "TABLE_COLUMNS",
    "Programme",
    "build_programme",
    "dose_in_words",
]

DISCLAIMER = (
    "Sciatica Kit supports your clinician's judgement; it does not replace it. "
    "This programme was chosen for you by your clinician. Do not change it or start "
    "new exercises without talking to them."
)
SAFETY_NOTE = (
    "Stop and contact your clinician if the pain spreads further down your leg, if numbness or "
    "weakness gets worse, or if an exercise hurts rather than gently stretches. Seek urgent help "
    "(emergency department) at once if you notice numbness between your legs or around your "
    "bottom, new problems passing urine or controlling your bladder or bowel, or weakness in "
    "both legs."
)

MAX_DOSE = 10_000  # no dose field reaches this; larger numbers are typing slips (and overflow a table column)
INT_DOSES = ("sets", "reps", "hold_s", "times_per_day", "days_per_week", "minutes")
TABLE_COLUMNS = (
    "exercise_id",
    "name",
    "category",
    *DOSE_FIELDS,
    "each_side",
    "dose",
    "reason",
    "indicated_by",
    "cautions",
    "patient_cautions",
    "stop_if",
    "dose_source",
    "sources",
)


# --------------------------------------------------------------------------- dose helpers


def _pick(rng: tuple[float, float] | None, point: str, integer: bool) -> float | None:
    if rng is None:
        return None
    low, high = rng
    if math.isnan(low):
        return high
    if point == "low":
        value = low
    elif point == "high":
        value = high
    else:
        value = (low + high) / 2
        value = math.floor(value) if integer else round(value, 1)
    return value


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


_TIMES = {1: "once", 2: "twice"}


def dose_in_words(row: Mapping[str, Any]) -> str:
    """Say a programme row's dose in plain words for the patient.

    Examples
    --------
    >>> dose_in_words({"hold_s": 15, "reps": 2, "each_side": True, "times_per_day": 2})
    'Hold 15 seconds, repeat 2 times each side, twice a day'
    >>> dose_in_words({})
    'Dose not specified: your clinician will set it with you'
    """

    def val(name):
        v = row.get(name)
        if v is None or v is pd.NA:
            return None
        try:
            return None if math.isnan(float(v)) else float(v)
        except (TypeError, ValueError):
            return None

    parts = []
    if (h := val("hold_s")) is not None:
        parts.append(f"Hold {_fmt(h)} second{'s' if h != 1 else ''}")
    if (d := val("distance_km")) is not None:
        parts.append(f"Build up to {_fmt(d)} km")
    if (m := val("minutes")) is not None:
        parts.append(f"{_fmt(m)} minutes")
    reps = val("reps")
    side = " each side" if row.get("each_side") is True else ""
    if reps is not None:
        verb = "repeat" if parts else "Repeat"
        parts.append(f"{verb} {_fmt(reps)} time{'s' if reps != 1 else ''}{side}")
    elif side and parts:
        parts[-1] += side
    if (s := val("sets")) is not None:
        parts.append(f"{_fmt(s)} set{'s' if s != 1 else ''}")
    if (t := val("times_per_day")) is not None:
        parts.append(f"{_TIMES.get(int(t), _fmt(t) + ' times') if t.is_integer() else _fmt(t) + ' times'} a day")
    if (w := val("days_per_week")) is not None:
        parts.append("every day" if w == 7 else f"{_fmt(w)} days a week")
    if not parts:
        return "Dose not specified: your clinician will set it with you"
    return ", ".join(parts)


# --------------------------------------------------------------------------- Programme


@dataclass(frozen=True, eq=False)
class Programme:
    """A home-exercise programme: the table, what was kept out and why, any referral.

    Build one with :func:`build_programme`.  Editing methods (:meth:`add`,
    :meth:`remove`, :meth:`set_dose`) return a new programme with the change
    recorded in the rows' reasons.
    """

    table: pd.DataFrame
    excluded: pd.DataFrame
    referral: Referral | None
    conditions: tuple[str, ...]
    phase: str
    red_flags: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()
    patient: str | None = None
    clinic: str | None = None
    created: dt.date = field(default_factory=dt.date.today)
    advice: tuple[dict, ...] = ()
    overrides: tuple[dict, ...] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def blocked(self) -> bool:
        """True when a red flag stops the programme (the table is then empty)."""
        return self.referral is not None

    @property
    def cautions(self) -> list[str]:
        """Every caution in the programme, once each, in table order."""
        seen: dict[str, None] = {}
        for items in self.table["cautions"]:
            for c in items.split("\n") if items else []:
                seen.setdefault(c, None)
        return list(seen)

    # ---- editing ----------------------------------------------------------------
    def _rebuild(self, **changes) -> Programme:
        args = dict(self.inputs)
        args.update(changes)
        return build_programme(**args)

    def add(self, exercise_id: str, reason: str = "") -> Programme:
        """Return the programme with ``exercise_id`` added by the clinician (forced if excluded)."""
        include = dict(self.inputs.get("include", {}))
        include[exercise_id] = reason
        exclude = {k: v for k, v in self.inputs.get("exclude", {}).items() if k != exercise_id}
        return self._rebuild(include=include, exclude=exclude)

    def remove(self, exercise_id: str, reason: str = "") -> Programme:
        """Return the programme with ``exercise_id`` removed by the clinician."""
        exclude = dict(self.inputs.get("exclude", {}))
        exclude[exercise_id] = reason
        include = {k: v for k, v in self.inputs.get("include", {}).items() if k != exercise_id}
        return self._rebuild(include=include, exclude=exclude)

    def set_dose(self, exercise_id: str, **dose: float | None) -> Programme:
        """Return the programme with a clinician-edited dose for one exercise.

        Examples
        --------
        >>> p = build_programme(["sciatica"]).set_dose("walking", days_per_week=5)
        >>> int(p.table.set_index("exercise_id").loc["walking", "days_per_week"])
        5
        """
        for key in dose:
            if key not in DOSE_FIELDS:
                raise ValueError(f"Unknown dose field '{key}'. Valid dose fields: {', '.join(DOSE_FIELDS)}")
        edits = {k: dict(v) for k, v in self.inputs.get("dose_edits", {}).items()}
        edits.setdefault(exercise_id, {}).update(dose)
        return self._rebuild(dose_edits=edits)

    def with_details(self, **kw) -> Programme:
        """Return a copy with patient / clinic / created changed."""
        inputs = dict(self.inputs)
        inputs.update({k: v for k, v in kw.items() if k in ("patient", "clinic")})
        return replace(self, inputs=inputs, **kw)

    # ---- export -----------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The table with list-like text joined for spreadsheets."""
        from sciatica_kit.export import programme_frame

        return programme_frame(self)

    def to_csv(self, path) -> Any:
        from sciatica_kit.export import write_csv

        return write_csv(self, path)

    def to_excel(self, path) -> Any:
        from sciatica_kit.export import write_excel

        return write_excel(self, path)

    def to_html(self, path=None, **kw) -> Any:
        from sciatica_kit.export import write_html

        return write_html(self, path, **kw)

    def to_pdf(self, path, **kw) -> Any:
        from sciatica_kit.export import write_pdf

        return write_pdf(self, path, **kw)

    def to_fhir(self, **kw) -> dict:
        from sciatica_kit.fhir import careplan_bundle

        return careplan_bundle(self, **kw)

    def to_dict(self) -> dict:
        """A JSON-able record of the inputs, used to save a programme with a patient."""
        inputs = dict(self.inputs)
        inputs.pop("catalog", None)
        return {
            "conditions": list(self.conditions),
            "phase": self.phase,
            "red_flags": list(self.red_flags),
            "findings": list(self.findings),
            "exclude": dict(inputs.get("exclude", {})),
            "include": dict(inputs.get("include", {})),
            "dose_edits": {k: dict(v) for k, v in inputs.get("dose_edits", {}).items()},
            "patient": self.patient,
            "clinic": self.clinic,
            "created": self.created.isoformat(),
            "exercise_ids": list(self.table["exercise_id"]),
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any], *, catalog: Catalog | None = None) -> Programme:
        """Rebuild a saved programme (see :meth:`to_dict`)."""
        prog = build_programme(
            record.get("conditions", ()),
            phase=record.get("phase", "subacute"),
            red_flags=record.get("red_flags", ()),
            findings=record.get("findings", ()),
            exclude=record.get("exclude", {}),
            include=record.get("include", {}),
            dose_edits=record.get("dose_edits", {}),
            patient=record.get("patient"),
            clinic=record.get("clinic"),
            catalog=catalog,
        )
        if record.get("created"):
            prog = replace(prog, created=dt.date.fromisoformat(record["created"]))
        return prog

    # ---- display ----------------------------------------------------------------
    def __repr__(self) -> str:
        if self.blocked:
            return f"<Programme BLOCKED: {self.referral.urgency} referral to {self.referral.refer_to}>"
        return (
            f"<Programme: {len(self.table)} exercises for {', '.join(self.conditions) or 'no condition'}"
            f" ({self.phase}); {len(self.excluded)} kept out>"
        )

    def _repr_html_(self) -> str:
        from sciatica_kit.export import programme_html_fragment

        return programme_html_fragment(self)


# --------------------------------------------------------------------------- builder


def _as_overrides(value: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {value: ""}
    if isinstance(value, Mapping):
        return {str(k): ("" if v is None else str(v)) for k, v in value.items()}
    try:
        return {str(v): "" for v in value}
    except TypeError:  # not a list of ids (e.g. a number)
        raise ValueError(f"Give exercise ids as a list or a mapping of id to reason, not {value!r:.80}") from None


def _as_ids(value: Iterable[str] | str | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return list(dict.fromkeys(value))
    except TypeError:  # a number, or lists inside the list
        raise ValueError(f"Give ids as a list of text ids such as ['sciatica'], not {value!r:.80}") from None


def build_programme(
    conditions: Iterable[str] | str,
    *,
    phase: str = "subacute",
    red_flags: Iterable[str] = (),
    findings: Iterable[str] = (),
    exclude: Iterable[str] | Mapping[str, str] = (),
    include: Iterable[str] | Mapping[str, str] = (),
    dose_edits: Mapping[str, Mapping[str, float | None]] | None = None,
    patient: str | None = None,
    clinic: str | None = None,
    catalog: Catalog | None = None,
) -> Programme:
    """Build a home-exercise programme.

    Parameters
    ----------
    conditions
        Condition ids, e.g. ``["herniated_disc", "piriformis_syndrome"]``.
    phase
        ``"acute"``, ``"subacute"`` (default) or ``"chronic"``.
    red_flags
        Red-flag ids ticked at screening; any one blocks the programme.
    findings
        Finding ids, e.g. ``"severe_nerve_damage"``, ``"extension_preference"``.
    exclude, include
        Clinician overrides: exercise ids, or a mapping of id to the clinician's reason.
        ``include`` forces an exercise in even when a rule keeps it out; the override
        and what it overrides are recorded in the row's reason and in ``overrides``.
    dose_edits
        ``{exercise_id: {"reps": 12, ...}}`` clinician-edited doses.
    patient, clinic
        Printed on exports.
    catalog
        The catalogue to use (default: :func:`load_catalog`).

    Returns
    -------
    Programme

    Raises
    ------
    ValueError
        For unknown ids, listing the valid ids and the closest match.

    Examples
    --------
    >>> prog = build_programme(["piriformis_syndrome"])
    >>> "floor_bridge" in set(prog.table["exercise_id"])
    True
    >>> build_programme(["sciatica"], red_flags=["cauda_equina"]).blocked
    True
    """
    cat = catalog or load_catalog()
    cond_ids = cat.check_ids("condition", _as_ids(conditions))
    if phase not in PHASE_IDS:
        from sciatica_kit.catalog import unknown_id_error

        raise unknown_id_error("phase", phase, PHASE_IDS)
    flag_ids = cat.check_ids("red flag", _as_ids(red_flags))
    finding_ids = cat.check_ids("finding", _as_ids(findings))
    exclude_map = _as_overrides(exclude)
    include_map = _as_overrides(include)
    cat.check_ids("exercise", exclude_map)
    cat.check_ids("exercise", include_map)
    both = set(exclude_map) & set(include_map)
    if both:
        raise ValueError(f"Exercise(s) both included and excluded by the clinician: {', '.join(sorted(both))}")
    try:
        edits = {k: dict(v) for k, v in (dose_edits or {}).items()}
    except (AttributeError, TypeError, ValueError):
        raise ValueError("dose_edits must map exercise ids to doses, e.g. {'walking': {'minutes': 20}}") from None
    cat.check_ids("exercise", edits)
    for ex_id, d in edits.items():
        for key, value in d.items():
            if key not in DOSE_FIELDS:
                raise ValueError(f"Unknown dose field '{key}' for {ex_id}. Valid dose fields: {', '.join(DOSE_FIELDS)}")
            if value is not None and not _valid_number(value):
                raise ValueError(f"Dose {key} for {ex_id} must be a positive number up to {MAX_DOSE} or empty, not {value!r:.80}")
            if value is not None and key in INT_DOSES and not float(value).is_integer():
                raise ValueError(f"Dose {key} for {ex_id} must be a whole number, not {value!r}")

    inputs = {
        "conditions": tuple(cond_ids),
        "phase": phase,
        "red_flags": tuple(flag_ids),
        "findings": tuple(finding_ids),
        "exclude": exclude_map,
        "include": include_map,
        "dose_edits": edits,
        "patient": patient,
        "clinic": clinic,
        "catalog": catalog,
    }
    common = dict(
        conditions=tuple(cond_ids),
        phase=phase,
        red_flags=tuple(flag_ids),
        findings=tuple(finding_ids),
        patient=patient,
        clinic=clinic,
        advice=cat.advice,
        inputs=inputs,
    )
    if flag_ids:
        return Programme(
            table=_empty_table(),
            excluded=pd.DataFrame({"exercise_id": pd.Series([], dtype=object), "reason": pd.Series([], dtype=object)}),
            referral=screen(flag_ids, catalog=cat),
            **common,
        )

    rows, excluded, overrides = _select(cat, cond_ids, phase, finding_ids, exclude_map, include_map)
    table = _table(cat, rows, phase, edits)
    excl = pd.DataFrame(
        [{"exercise_id": k, "name": cat.records["exercises"][k]["name"], "reason": "; ".join(v)} for k, v in excluded.items()],
        columns=["exercise_id", "name", "reason"],
    )
    return Programme(table=table, excluded=excl, referral=None, overrides=tuple(overrides), **common)


def _valid_number(v: object) -> bool:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    return math.isfinite(f) and 0 < f <= MAX_DOSE and not isinstance(v, bool)


def _select(cat: Catalog, cond_ids, phase, finding_ids, exclude_map, include_map):
    ex = cat.records["exercises"]
    conds = cat.records["conditions"]
    finds = cat.records["findings"]
    ph = cat.records["phases"][phase]

    # id -> {"reasons": [...], "by": [...], "cautions": [...]}
    rows: dict[str, dict] = {}

    def indicate(ex_id: str, who: str, why: str, source: str) -> None:
        row = rows.setdefault(ex_id, {"reasons": [], "by": [], "cautions": []})
        row["reasons"].append(f"{why} [{source}]")
        if who not in row["by"]:
            row["by"].append(who)

    for c in cond_ids:
        for item in conds[c]["indicates"]:
            indicate(item["exercise"], c, f"{conds[c]['name']}: {item['why']}", item["source"])
    for f in finding_ids:
        for item in finds[f]["adds"]:
            indicate(item["exercise"], f, f"{finds[f]['name']}: {item['why']}", item["source"])
    for item in ph.get("adds", []):
        indicate(item["exercise"], f"phase:{phase}", f"{ph['name']}: {item['why']}", item["source"])

    excluded: dict[str, list[str]] = {}

    def exclude(ex_id: str, reason: str) -> None:
        lst = excluded.setdefault(ex_id, [])
        if reason not in lst:
            lst.append(reason)

    # Phase: swap tensioners for sliders, drop what waits for pain to settle.
    for ex_id in list(rows):
        rec = ex[ex_id]
        if phase in rec["phases"]:
            continue
        slider = None
        if ph["swap_tensioners_for_sliders"] and rec["category"] == "nerve glide tensioner":
            slider = next((r for r in rec["regress_to"] if ex[r]["category"] == "nerve glide slider"), None)
        moved = rows.pop(ex_id)
        if slider:
            exclude(ex_id, f"{ph['name']}: replaced by the gentler slider '{ex[slider]['name']}'")
            target = rows.setdefault(slider, {"reasons": [], "by": [], "cautions": []})
            target["reasons"].extend(
                f"{r} (as a slider instead of '{rec['name']}' in the acute phase)" for r in moved["reasons"]
            )
            target["by"].extend(b for b in moved["by"] if b not in target["by"])
        else:
            note = rec.get("phase_note") or f"Not used in the {phase} phase."
            exclude(ex_id, f"{ph['name']}: {note} [{', '.join(rec['sources'][:1])}]")

    # Condition and finding exclusions (they win over indications).
    for c in cond_ids:
        for item in conds[c]["excludes"]:
            lifted_by = [f for f in item.get("unless_findings", []) if f in finding_ids]
            if lifted_by:
                if item["exercise"] in rows:
                    rows[item["exercise"]]["cautions"].append(item["caution_if_lifted"])
                continue
            exclude(item["exercise"], f"{conds[c]['name']}: {item['why']} [{item['source']}]")
    for f in finding_ids:
        for item in finds[f]["excludes"]:
            exclude(item["exercise"], f"{finds[f]['name']}: {item['why']} [{item['source']}]")
        for item in finds[f]["excludes_categories"]:
            for ex_id in list(dict.fromkeys([*rows, *include_map, *excluded])):
                if ex[ex_id]["category"] == item["category"]:
                    exclude(ex_id, f"{finds[f]['name']}: {item['why']} [{item['source']}]")

    for ex_id, reason in exclude_map.items():
        exclude(ex_id, "Removed by the clinician" + (f": {reason}" if reason else ""))

    overrides: list[dict] = []
    for ex_id in excluded:
        rows.pop(ex_id, None)
    for ex_id, reason in include_map.items():
        row = rows.setdefault(ex_id, {"reasons": [], "by": [], "cautions": []})
        why = f": {reason}" if reason else ""
        if ex_id in excluded:
            overridden = excluded.pop(ex_id)
            row["reasons"].append(f"Forced in by the clinician{why} (overrides: {'; '.join(overridden)})")
            row.setdefault("clinician_cautions", []).append(
                "Clinician override: this exercise is normally kept out - " + "; ".join(overridden)
            )
            overrides.append({"exercise_id": ex_id, "action": "forced", "reason": reason, "overrides": overridden})
        else:
            row["reasons"].append(f"Added by the clinician{why}")
            overrides.append({"exercise_id": ex_id, "action": "added", "reason": reason, "overrides": []})
        if "clinician" not in row["by"]:
            row["by"].append("clinician")
    for ex_id, reason in exclude_map.items():
        overrides.append({"exercise_id": ex_id, "action": "removed", "reason": reason, "overrides": []})

    # Condition- and finding-specific cautions for exercises that made it in.
    for c in cond_ids:
        for item in conds[c]["cautions"]:
            if item["exercise"] in rows:
                rows[item["exercise"]]["cautions"].append(item["text"])
    for f in finding_ids:
        for item in finds[f]["cautions"]:
            if item["exercise"] in rows:
                rows[item["exercise"]]["cautions"].append(item["text"])
    return rows, excluded, overrides


def _empty_table() -> pd.DataFrame:
    columns: dict[str, Any] = {}
    for name in TABLE_COLUMNS:
        if name in DOSE_FIELDS:
            columns[name] = pd.array([], dtype="Int64" if name in INT_DOSES else "Float64")
        elif name == "each_side":
            columns[name] = np.array([], dtype=bool)
        else:
            columns[name] = pd.array([], dtype="str")
    return pd.DataFrame(columns)


def _table(cat: Catalog, rows: dict[str, dict], phase: str, edits: dict) -> pd.DataFrame:
    ex = cat.records["exercises"]
    point = cat.records["phases"][phase]["dose"]
    order = {c: i for i, c in enumerate(cat.category_order)}
    position = {k: i for i, k in enumerate(ex)}
    ids = sorted(rows, key=lambda k: (order.get(ex[k]["category"], len(order)), position[k]))
    records = []
    for ex_id in ids:
        rec, row = ex[ex_id], rows[ex_id]
        out: dict[str, Any] = {"exercise_id": ex_id, "name": rec["name"], "category": rec["category"]}
        for name in DOSE_FIELDS:
            out[name] = _pick(rec["doses"].get(name), point, name in INT_DOSES)
        reasons = list(row["reasons"])
        patient_cautions = list(dict.fromkeys([*rec["cautions"], *row["cautions"]]))
        cautions = [*patient_cautions, *row.get("clinician_cautions", [])]
        if ex_id in edits:
            changes = []
            for name, value in edits[ex_id].items():
                new = None if value is None else float(value)
                changes.append(f"{name} {_show(out[name])} -> {_show(new)}")
                rng = rec["doses"].get(name)
                if new is not None and (rng is None or new > rng[1] or (not math.isnan(rng[0]) and new < rng[0])):
                    span = "no catalogued dose" if rng is None else f"catalogued {_show_range(rng)}"
                    cautions.append(f"Dose edited by the clinician: {name} {_show(new)} is outside the source range ({span}).")
                out[name] = new
            reasons.append("Dose edited by the clinician: " + ", ".join(changes))
        out["each_side"] = bool(rec["each_side"])
        out["dose"] = dose_in_words(out)
        out["reason"] = "\n".join(reasons)
        out["indicated_by"] = ", ".join(row["by"])
        out["cautions"] = "\n".join(cautions)  # everything, for the clinician
        out["patient_cautions"] = "\n".join(patient_cautions)  # what the handout tells the patient
        out["stop_if"] = "\n".join(rec["stop_if"])
        out["dose_source"] = rec["dose_source"] + (f" ({rec['dose_note']})" if rec.get("dose_note") else "")
        out["sources"] = "; ".join(rec["sources"])
        records.append(out)
    if not records:
        return _empty_table()
    columns: dict[str, Any] = {}
    for name in TABLE_COLUMNS:
        values = [r[name] for r in records]
        if name in DOSE_FIELDS:
            dtype = "Int64" if name in INT_DOSES else "Float64"
            values = [pd.NA if v is None else (round(v) if name in INT_DOSES else v) for v in values]
            columns[name] = pd.array(values, dtype=dtype)
        elif name == "each_side":
            columns[name] = np.array(values, dtype=bool)
        else:
            columns[name] = pd.array(values, dtype="str")
    frame = pd.DataFrame(columns)
    return frame


def _show(v) -> str:
    return "not specified" if v is None or (isinstance(v, float) and math.isnan(v)) else _fmt(float(v))


def _show_range(rng: tuple[float, float]) -> str:
    low, high = rng
    return f"up to {_fmt(high)}" if math.isnan(low) else (_fmt(low) if low == high else f"{_fmt(low)}-{_fmt(high)}")
