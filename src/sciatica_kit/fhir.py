"""FHIR R4 exchange: a programme as a CarePlan, a progress log as Observations.

The resources are built and checked with the ``fhir.resources`` models for
**FHIR R4B (4.3.0)**, imported from ``fhir.resources.R4B``.  Since
``fhir.resources`` 7 the top-level package holds R5 models, which most clinic
systems (FHIR R4, 4.0.1) cannot read; the library ships no plain R4 package, and
for the resources used here (Bundle, Patient, Condition, CarePlan, Observation)
R4B is wire-compatible with R4.  Every bundle is validated by constructing the
models, so data that breaks the FHIR structure raises instead of being sent.

Conventions
-----------
* Bundles are ``type: collection``; entries are linked by ``urn:uuid`` full URLs.
* The Patient carries only the clinic's (synthetic) patient identifier, no
  demographics.
* Kit ids travel as codes of local code systems under
  ``https://sciatica-kit.invalid/CodeSystem/`` (condition, exercise, measure),
  next to SNOMED CT / LOINC codes where the catalogue gives one, so that, for
  example, back pain and leg pain (both LOINC 72514-3) stay distinguishable.
* An activity's exact dose (sets, reps, hold, minutes, distance, each side) is
  in the extension :data:`DOSE_EXTENSION`; times a day and days a week are also
  in ``scheduledTiming``, and the dose in words in ``description``.
* Everything a user typed (patient id, notes, clinic) is copied as data; it is
  never interpreted.  Receivers must escape Annotation text (markdown) as usual.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pydantic
from fhir.resources.R4B.bundle import Bundle

from sciatica_kit.catalog import Catalog, load_catalog, unknown_id_error
from sciatica_kit.files import private_path

if TYPE_CHECKING:
    from sciatica_kit.programme import Programme

__all__ = [
    "DOSE_EXTENSION",
    "LOG_COLUMNS",
    "careplan_bundle",
    "observations_bundle",
    "read_observations",
    "write_bundle",
]

_BASE = "https://sciatica-kit.invalid"
CONDITION_SYSTEM = f"{_BASE}/CodeSystem/condition"
EXERCISE_SYSTEM = f"{_BASE}/CodeSystem/exercise"
MEASURE_SYSTEM = f"{_BASE}/CodeSystem/measure"
PATIENT_ID_SYSTEM = f"{_BASE}/NamingSystem/patient-id"
DOSE_EXTENSION = f"{_BASE}/StructureDefinition/exercise-dose"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"

LOG_COLUMNS = {
    "patient_id": "str",
    "date": "datetime64[us]",
    "measure": "str",
    "side": "str",
    "value": "float64",
    "note": "str",
}
_SIDES = {"left": ("7771000", "Left"), "right": ("24028007", "Right")}
_SIDE_BY_CODE = {code: side for side, (code, _) in _SIDES.items()}
_CATEGORY = {
    **dict.fromkeys(
        ("odi", "rmdq", "sbi", "start_back", "pain", "back_pain", "leg_pain"), "survey"
    ),
    **dict.fromkeys(("slr", "fingertip_floor", "schober", "lumbar_flexion"), "exam"),
    "adherence": "therapy",
}
_UCUM = {"°": "deg", "deg": "deg", "cm": "cm", "%": "%"}
_READ_STATUSES = ("final", "amended", "corrected", "preliminary")


# --------------------------------------------------------------------------- helpers


def _uuid_url() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _coding(system: str, code: str, display: str | None = None) -> dict:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _number(value: Any) -> float | None:
    """A dose cell as a number, or None when not specified (NA / NaN / None)."""
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _patient(patient_id: str | None) -> dict:
    resource: dict[str, Any] = {"resourceType": "Patient"}
    if patient_id:
        resource["identifier"] = [{"system": PATIENT_ID_SYSTEM, "value": str(patient_id)}]
    return resource


def _validated(entries: list[tuple[str, dict]]) -> dict:
    """Wrap (fullUrl, resource) pairs in a collection Bundle, validate it, return JSON-able."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": url, "resource": res} for url, res in entries],
    }
    return json.loads(_validate_bundle(bundle).model_dump_json())


def _validate_bundle(bundle: Any) -> Bundle:
    """Validate with the R4B models; a ValueError names the entry and field of each problem."""
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        kind = bundle.get("resourceType") if isinstance(bundle, Mapping) else type(bundle).__name__
        raise ValueError(
            f"Not a FHIR Bundle (resourceType is {kind!r}). "
            "Pass the whole Bundle JSON, as written by observations_bundle or write_bundle."
        )
    try:
        return Bundle.model_validate(bundle)
    except pydantic.ValidationError as exc:
        raise ValueError(_describe(exc)) from None


def _describe(exc: pydantic.ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False)[:5]:
        loc = list(err["loc"])
        where = "Bundle"
        if len(loc) >= 2 and loc[0] == "entry" and isinstance(loc[1], int):
            where, loc = f"entry {loc[1]}", loc[2:]
            if loc[:1] == ["resource"]:
                loc = loc[1:]
        field = ".".join(str(p) for p in loc) or "(whole resource)"
        problems.append(f"{where}, field {field}: {err['msg']}")
    more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return (
        "The bundle is not valid FHIR R4: "
        + "; ".join(problems)
        + more
        + ". Fix these fields so they follow the FHIR R4 specification."
    )


# --------------------------------------------------------------------------- CarePlan


def _condition(cond_id: str, record: Mapping[str, Any], subject: str) -> dict:
    name = record.get("name") or cond_id
    codings = [_coding(SNOMED, record["snomed"], name)] if record.get("snomed") else []
    codings.append(_coding(CONDITION_SYSTEM, cond_id, name))
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [_coding(CONDITION_CLINICAL, "active")]},
        "code": {"coding": codings, "text": name},
        "subject": {"reference": subject},
    }


def _timing(row: Mapping[str, Any]) -> dict | None:
    """scheduledTiming from times a day / days a week / minutes; None if none is known."""
    per_day, per_week = _number(row.get("times_per_day")), _number(row.get("days_per_week"))
    minutes = _number(row.get("minutes"))
    repeat: dict[str, Any] = {}
    if per_day is not None and per_week in (None, 7.0):
        repeat.update(frequency=int(per_day), period=1, periodUnit="d")
    elif per_week is not None:
        # n times a day on w days a week: said as sessions per week
        repeat.update(frequency=int(per_week * (per_day or 1)), period=1, periodUnit="wk")
    if minutes is not None:
        repeat.update(duration=minutes, durationUnit="min")
    return {"repeat": repeat} if repeat else None


def _dose_extension(row: Mapping[str, Any]) -> dict:
    parts: list[dict] = []
    for key in ("sets", "reps"):
        if (v := _number(row.get(key))) is not None:
            parts.append({"url": key, "valueInteger": int(v)})
    for key, unit in (("hold_s", "s"), ("minutes", "min"), ("distance_km", "km")):
        if (v := _number(row.get(key))) is not None:
            parts.append(
                {
                    "url": key,
                    "valueQuantity": {"value": v, "unit": unit, "system": UCUM, "code": unit},
                }
            )
    parts.append({"url": "each_side", "valueBoolean": bool(row.get("each_side"))})
    return {"url": DOSE_EXTENSION, "extension": parts}


def _lines(text: Any) -> list[str]:
    return [line for line in str(text or "").split("\n") if line.strip()]


def _description(row: Mapping[str, Any], steps: list[str]) -> str:
    parts = [f"{row['dose']}."]
    if steps:
        parts.append("Steps: " + " ".join(f"{i}) {s}" for i, s in enumerate(steps, 1)))
    if cautions := _lines(row.get("cautions")):
        parts.append("Cautions: " + " ".join(cautions))
    if stop := _lines(row.get("stop_if")):
        parts.append("Stop and contact your clinician if: " + " ".join(stop))
    return "\n".join(parts)


def _activity(row: Mapping[str, Any], exercise: Mapping[str, Any]) -> dict:
    detail: dict[str, Any] = {
        "extension": [_dose_extension(row)],
        "kind": "ServiceRequest",
        "code": {
            "coding": [_coding(EXERCISE_SYSTEM, row["exercise_id"], row["name"])],
            "text": row["name"],
        },
        "status": "not-started",
        "description": _description(row, list(exercise.get("steps", []))),
    }
    if reasons := _lines(row.get("reason")):
        detail["reasonCode"] = [{"text": r} for r in reasons]
    if timing := _timing(row):
        detail["scheduledTiming"] = timing
    return {"detail": detail}


def careplan_bundle(
    prog: Programme, *, patient_id: str | None = None, clinic: str | None = None
) -> dict:
    """Export a programme as a FHIR R4 Bundle: Patient, Conditions and a CarePlan.

    Parameters
    ----------
    prog
        A programme from :func:`sciatica_kit.build_programme`.
    patient_id
        The clinic's (synthetic) patient identifier; default ``prog.patient``.
        No other demographics are exported.
    clinic
        Shown as the CarePlan's author; default ``prog.clinic``.

    Returns
    -------
    dict
        A JSON-able ``collection`` Bundle, validated with the R4B models.  The
        CarePlan has one activity per table row; a blocked programme has no
        activities, status ``on-hold`` and the referral in its note.

    Examples
    --------
    >>> import sciatica_kit as sk
    >>> b = careplan_bundle(sk.build_programme(["sciatica"]), patient_id="P-001")
    >>> [e["resource"]["resourceType"] for e in b["entry"]]
    ['Patient', 'Condition', 'CarePlan']
    """
    from sciatica_kit.programme import SAFETY_NOTE

    cat = prog.inputs.get("catalog") or load_catalog()
    patient_url = _uuid_url()
    entries = [(patient_url, _patient(patient_id if patient_id is not None else prog.patient))]
    subject = {"reference": patient_url}
    for cond_id in prog.conditions:
        record = cat.records["conditions"].get(cond_id, {})
        entries.append((_uuid_url(), _condition(cond_id, record, patient_url)))
    names = [cat.records["conditions"].get(c, {}).get("name", c) for c in prog.conditions]
    careplan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "on-hold" if prog.blocked else "active",
        "intent": "plan",
        "title": "Home exercise programme",
        "description": f"Home exercise programme, {prog.phase} phase"
        + (f", for {'; '.join(names)}" if names else "")
        + (". On hold: a red flag needs a referral first (see note)" if prog.blocked else ""),
        "subject": subject,
        "created": prog.created.isoformat(),
        "addresses": [{"reference": url} for url, _ in entries[1:]],
    }
    if author := clinic if clinic is not None else prog.clinic:
        careplan["author"] = {"display": str(author)}
    if prog.blocked:
        careplan["note"] = [{"text": prog.referral.text}]
    else:
        exercises = cat.records["exercises"]
        rows = prog.table.to_dict("records")
        careplan["activity"] = [_activity(r, exercises.get(r["exercise_id"], {})) for r in rows]
        careplan["note"] = [{"text": SAFETY_NOTE}]
    if not careplan["addresses"]:
        del careplan["addresses"]
    entries.append((_uuid_url(), careplan))
    return _validated(entries)


# --------------------------------------------------------------------------- Observations


def _check_log(log: pd.DataFrame, cat: Catalog) -> None:
    missing = [c for c in LOG_COLUMNS if c not in log.columns]
    if missing:
        raise ValueError(
            f"The log lacks column(s) {', '.join(missing)}. "
            f"A progress log needs the columns {', '.join(LOG_COLUMNS)}."
        )
    measures = cat.records["measures"]
    for i, row in enumerate(log.to_dict("records")):
        if row["measure"] not in measures:
            raise ValueError(
                f"Log row {i}: {unknown_id_error('measure', row['measure'], measures)}"
            )
        if pd.isna(row["date"]):
            raise ValueError(f"Log row {i}: the date is missing; give the day it was measured.")
        if _number(row["value"]) is None:
            raise ValueError(f"Log row {i}: the value is missing; give the measured number.")
        if (row["side"] or "") not in ("", *_SIDES):
            raise ValueError(f"Log row {i}: side {row['side']!r} must be 'left', 'right' or ''.")


def _observation(row: Mapping[str, Any], measure: Mapping[str, Any], subject: str) -> dict:
    mid, name = measure["id"], measure["name"]
    codings = [_coding(LOINC, measure["loinc"])] if measure.get("loinc") else []
    codings.append(_coding(MEASURE_SYSTEM, mid, name))
    unit = measure.get("unit") or ""
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": codings, "text": name},
        "subject": {"reference": subject},
        "effectiveDateTime": pd.Timestamp(row["date"]).date().isoformat(),
        "valueQuantity": {
            "value": float(row["value"]),
            "unit": unit or "score",
            "system": UCUM,
            "code": _UCUM.get(unit, "{score}"),
        },
    }
    if mid in _CATEGORY:
        obs["category"] = [{"coding": [_coding(OBS_CATEGORY, _CATEGORY[mid])]}]
    if side := row["side"] or "":
        code, display = _SIDES[side]
        obs["bodySite"] = {"coding": [_coding(SNOMED, code, display)], "text": side}
    if note := _text(row.get("note")):
        obs["note"] = [{"text": note}]
    return obs


def _text(value: Any) -> str:
    return (
        ""
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
        else str(value)
    )


def observations_bundle(
    log: pd.DataFrame, *, patient_id: str | None = None, catalog: Catalog | None = None
) -> dict:
    """Export a tidy progress log as a FHIR R4 Bundle of Observations (one per row).

    Parameters
    ----------
    log
        Columns ``patient_id, date, measure, side, value, note`` (see :data:`LOG_COLUMNS`).
    patient_id
        Use this identifier for every row instead of the log's ``patient_id``
        (for example a pseudonym).
    catalog
        The catalogue with the measures (default: :func:`load_catalog`).

    Returns
    -------
    dict
        A JSON-able ``collection`` Bundle: one Patient per patient id, then the
        Observations, validated with the R4B models.

    Raises
    ------
    ValueError
        For a missing column, an unknown measure, a missing date or value, or a
        bad side, naming the log row.

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
    _check_log(log, cat)
    rows = log.to_dict("records")
    ids = [str(patient_id) if patient_id is not None else _text(r["patient_id"]) for r in rows]
    patients = {pid: _uuid_url() for pid in dict.fromkeys(ids)}
    entries = [(url, _patient(pid)) for pid, url in patients.items()]
    measures = cat.records["measures"]
    for row, pid in zip(rows, ids, strict=True):
        entries.append((_uuid_url(), _observation(row, measures[row["measure"]], patients[pid])))
    return _validated(entries)


# --------------------------------------------------------------------------- import


def _load(bundle: dict | str | Path) -> Any:
    if isinstance(bundle, Mapping):
        return bundle
    if isinstance(bundle, str) and bundle.lstrip().startswith("{"):
        text = bundle
    else:
        text = Path(bundle).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"The bundle is not valid JSON ({exc}). Export it again as FHIR JSON."
        ) from None


def _patient_ids(entries: list[dict]) -> dict[str, str]:
    """Map each Patient's fullUrl and ``Patient/<id>`` to its patient identifier."""
    out = {}
    for entry in entries:
        res = entry.get("resource") or {}
        if res.get("resourceType") != "Patient":
            continue
        idents = res.get("identifier") or []
        ours = [i for i in idents if i.get("system") == PATIENT_ID_SYSTEM] or idents
        pid = str(ours[0].get("value", "")) if ours else ""
        for key in (entry.get("fullUrl"), f"Patient/{res['id']}" if res.get("id") else None):
            if key:
                out[key] = pid
    return out


def _measure_id(res: dict, where: str, cat: Catalog) -> str:
    codings = (res.get("code") or {}).get("coding") or []
    measures = cat.records["measures"]
    local = [c.get("code") for c in codings if c.get("system") == MEASURE_SYSTEM]
    if local:
        if local[0] not in measures:
            raise ValueError(
                f"{where}, field code.coding: {unknown_id_error('measure', local[0], measures)}"
            )
        return local[0]
    loinc = {c.get("code") for c in codings if c.get("system") == LOINC}
    for mid, m in measures.items():  # a LOINC-only pain score reads as the first match, 'pain'
        if m.get("loinc") and m["loinc"] in loinc:
            return mid
    raise ValueError(
        f"{where}, field code.coding: no known measure code. Add a coding with system "
        f"'{MEASURE_SYSTEM}' and a measure id ({', '.join(sorted(measures))})."
    )


def _log_row(res: dict, where: str, patients: dict[str, str], cat: Catalog) -> dict | None:
    if res.get("status") == "entered-in-error":
        return None
    if res.get("status") not in _READ_STATUSES:
        raise ValueError(
            f"{where}, field status: {res.get('status')!r} is not a result; use 'final'."
        )
    measure = _measure_id(res, where, cat)
    value = (res.get("valueQuantity") or {}).get("value")
    if value is None:
        raise ValueError(
            f"{where}, field valueQuantity: missing. Give valueQuantity.value (the measured number)."
        )
    if len(str(res.get("effectiveDateTime") or "")) < 10:
        raise ValueError(
            f"{where}, field effectiveDateTime: missing or not a full date. Give the day it was measured (YYYY-MM-DD)."
        )
    ref = (res.get("subject") or {}).get("reference")
    if ref not in patients:
        raise ValueError(
            f"{where}, field subject.reference: {ref!r} is not a Patient in this bundle. "
            "Point it at the fullUrl of a Patient entry that has an identifier."
        )
    side_codes = [c.get("code") for c in (res.get("bodySite") or {}).get("coding") or []]
    sides = [_SIDE_BY_CODE[c] for c in side_codes if c in _SIDE_BY_CODE]
    if side_codes and not sides:
        raise ValueError(
            f"{where}, field bodySite: unknown side {side_codes}. Use SNOMED 7771000 (left) or 24028007 (right)."
        )
    return {
        "patient_id": patients[ref],
        "date": str(res["effectiveDateTime"])[:10],
        "measure": measure,
        "side": sides[0] if sides else "",
        "value": float(value),
        "note": "\n".join(n["text"] for n in res.get("note") or [] if n.get("text")),
    }


def read_observations(bundle: dict | str | Path, *, catalog: Catalog | None = None) -> pd.DataFrame:
    """Read a FHIR Bundle of Observations back into a tidy progress log.

    Parameters
    ----------
    bundle
        The Bundle as a dict, as JSON text, or the path of a JSON file.
    catalog
        The catalogue with the measures (default: :func:`load_catalog`).

    Returns
    -------
    pandas.DataFrame
        Columns and dtypes of :data:`LOG_COLUMNS`, one row per Observation in
        bundle order.  Other resources (Patient, CarePlan, ...) are skipped, and
        so are Observations marked ``entered-in-error``.

    Raises
    ------
    ValueError
        When the input is not a valid FHIR Bundle, or an Observation lacks a
        known measure code, a value, a date or a patient; the message names the
        entry index and the field, and says what would fix it.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"patient_id": ["P-001"], "date": pd.to_datetime(["2025-03-01"]),
    ...                     "measure": ["leg_pain"], "side": [""], "value": [6.0], "note": [""]})
    >>> read_observations(observations_bundle(log))["measure"].tolist()
    ['leg_pain']
    """
    cat = catalog or load_catalog()
    data = _load(bundle)
    _validate_bundle(data)
    entries = list(data.get("entry") or [])
    patients = _patient_ids(entries)
    rows = []
    for i, entry in enumerate(entries):
        res = entry.get("resource") or {}
        if res.get("resourceType") == "Observation":
            row = _log_row(res, f"entry {i} (Observation)", patients, cat)
            if row is not None:
                rows.append(row)
    frame = pd.DataFrame(rows, columns=list(LOG_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    return frame.astype(LOG_COLUMNS)


def write_bundle(bundle: dict, path: str | Path) -> Path:
    """Write a Bundle as JSON, owner-readable only and atomically.

    The bundle is validated first, so a broken bundle is never written.

    Examples
    --------
    >>> import tempfile, pathlib, sciatica_kit as sk
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "plan.json"
    >>> oct(write_bundle(careplan_bundle(sk.build_programme(["sciatica"])), out).stat().st_mode & 0o777)
    '0o600'
    """
    _validate_bundle(bundle)
    path = Path(path)
    with private_path(path) as tmp:
        tmp.write_text(json.dumps(bundle, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
