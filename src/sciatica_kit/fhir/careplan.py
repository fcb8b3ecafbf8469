"""A programme as a FHIR CarePlan bundle, and such a CarePlan back to a programme.

The bundle holds the Patient (clinic identifier only), a Condition per
condition (SNOMED CT where ``codes.toml`` has one, with the official term,
next to the kit's code), a Condition per ticked red flag (``provisional``), an
Observation per examination finding, a ServiceRequest for the referral, and
the CarePlan: one activity per exercise (exact dose in the extension
:data:`DOSE_EXTENSION`, timing in ``scheduledTiming.repeat``: times per day as
``frequency``/``period 1 d``, days a week in ``dayOfWeek`` when named days are
given, else as the Timing's text and the dose extension, never multiplied into
a weekly count), one ``doNotPerform`` activity per exercise kept out (with why),
the reasons and cautions, and the programme record (``Programme.to_dict()``)
as the extension :data:`PROGRAMME_EXTENSION`, so that :func:`read_careplan`
gives back the programme as issued.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from sciatica_kit._docs import shared_docs
from sciatica_kit.catalog import DOSE_FIELDS, Catalog, load_catalog
from sciatica_kit.fhir import _base as b

if TYPE_CHECKING:
    from sciatica_kit.programme import Programme

__all__ = ["DOSE_EXTENSION", "PROGRAMME_EXTENSION", "careplan_bundle", "read_careplan"]

DOSE_EXTENSION = b.DOSE_EXTENSION
PROGRAMME_EXTENSION = f"{b._BASE}/StructureDefinition/programme-record"
PHASE_EXTENSION = f"{b._BASE}/StructureDefinition/programme-phase"
_PRIORITY = {"emergency": "stat", "same_day": "asap", "urgent": "urgent", "routine": "routine", "soon": "routine"}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIMES = {1: "once", 2: "twice"}


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# --------------------------------------------------------------------------- export


def _condition(kind: str, cond_id: str, record: Mapping, subject: str, codes: Mapping) -> dict:
    name = record.get("name") or cond_id
    std = codes.get(kind, {}).get(cond_id, {})
    codings = [b.coding(b.SNOMED, std["snomed"], std["display"])] if std.get("snomed") else []
    system = b.CONDITION_SYSTEM if kind == "condition" else b.RED_FLAG_SYSTEM
    codings.append(b.coding(system, cond_id, name))
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [b.coding(b.CONDITION_CLINICAL, "active")]},
        "code": {"coding": codings, "text": name},
        "subject": {"reference": subject},
    }
    if kind == "red_flag":
        res["verificationStatus"] = {
            "coding": [b.coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "provisional")]
        }
        res["note"] = [{"text": "Red flag ticked at screening (suspected, not confirmed)."}]
    return res


def _finding(finding_id: str, record: Mapping, subject: str) -> dict:
    name = record.get("name") or finding_id
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [b.coding(b.OBS_CATEGORY, "exam")]}],
        "code": {"coding": [b.coding(b.FINDING_SYSTEM, finding_id, name)], "text": name},
        "subject": {"reference": subject},
        "valueBoolean": True,
    }


_PER_DAY = re.compile(
    r"(?i)\b(?P<how>up to |at least )?(?P<low>once|twice|\d+)(?:\u2013(?P<high>\d+))?(?: times)? a day"
)


def _per_day_range(words: str, figure: float) -> tuple[int, int | None]:
    """(frequency, frequencyMax) for times a day, as the dose words say it ("up to 5", "2-3", "at least twice")."""
    m = _PER_DAY.search(words or "")
    if not m:
        return int(figure), None
    low = {"once": 1, "twice": 2}.get(m["low"].lower()) or int(m["low"])
    if (m["how"] or "").lower().startswith("up to"):
        return 1, low
    if (m["how"] or "").lower().startswith("at least"):
        return low, None
    high = int(m["high"]) if m["high"] else None
    return low, (high if high and high != low else None)


def timing(row: Mapping[str, Any]) -> dict | None:
    """scheduledTiming for a programme row, or None when no timing is known.

    Times a day -> ``frequency`` (and ``frequencyMax`` for "2-3" or "up to 5", as
    the dose words say) per 1 day; days a week without times a day -> ``frequency``
    per 1 week, every day -> once per day; both -> per day, with the days a week in
    ``dayOfWeek`` when the row names the days, else in the text.  Never a weekly
    product.  The text is the dose in words as issued.
    """
    per_day, per_week = b.number(row.get("times_per_day")), b.number(row.get("days_per_week"))
    minutes = b.number(row.get("minutes"))
    named = [d for d in (row.get("days_of_week") or []) if d in _DAYS] if isinstance(row.get("days_of_week"), (list, tuple)) else []
    said = b.text(row.get("dose")).strip()
    repeat: dict[str, Any] = {}
    words = []
    if per_day is not None:
        low, high = _per_day_range(said, per_day)
        repeat.update(frequency=low, period=1, periodUnit="d")
        if high is not None:
            repeat["frequencyMax"] = high
        words.append(f"{_TIMES.get(int(per_day), _fmt(per_day) + ' times')} a day")
        if per_week is not None and per_week != 7:
            words.append(f"on {_fmt(per_week)} days a week")
            if named:
                repeat["dayOfWeek"] = named
    elif per_week is not None:
        if per_week == 7:
            repeat.update(frequency=1, period=1, periodUnit="d")
        else:
            repeat.update(frequency=int(per_week), period=1, periodUnit="wk")
        words.append("every day" if per_week == 7 else f"on {_fmt(per_week)} days a week")
        if named:
            repeat["dayOfWeek"] = named
    if minutes is not None:
        repeat.update(duration=minutes, durationUnit="min")
    if not repeat:
        return None
    out: dict[str, Any] = {"repeat": repeat}
    if said or words:
        out["code"] = {"text": said or " ".join(words)}
    return out


def _dose_extension(row: Mapping[str, Any]) -> dict:
    parts: list[dict] = []
    for key in ("sets", "reps", "times_per_day", "days_per_week"):
        if (v := b.number(row.get(key))) is not None:
            parts.append({"url": key, "valueInteger": int(v)})
    for key, unit in (("hold_s", "s"), ("minutes", "min"), ("distance_km", "km")):
        if (v := b.number(row.get(key))) is not None:
            parts.append({"url": key, "valueQuantity": {"value": v, "unit": unit, "system": b.UCUM, "code": unit}})
    parts.append({"url": "each_side", "valueBoolean": bool(row.get("each_side"))})
    if words := b.text(row.get("dose")).strip():
        parts.append({"url": "words", "valueString": words})  # the dose as issued, ranges included
    return {"url": DOSE_EXTENSION, "extension": parts}


def _description(row: Mapping[str, Any], steps: list[str]) -> str:
    parts = [f"{row['dose']}."]
    if steps:
        parts.append("Steps: " + " ".join(f"{i}) {s}" for i, s in enumerate(steps, 1)))
    if cautions := b.lines(row.get("cautions")):
        parts.append("Cautions: " + " ".join(cautions))
    if stop := b.lines(row.get("stop_if")):
        parts.append("Stop and contact your clinician if: " + " ".join(stop))
    return "\n".join(parts)


def _activity(row: Mapping[str, Any], exercise: Mapping[str, Any]) -> dict:
    detail: dict[str, Any] = {
        "extension": [_dose_extension(row)],
        "kind": "ServiceRequest",
        "code": {"coding": [b.coding(b.EXERCISE_SYSTEM, row["exercise_id"], row["name"])], "text": row["name"]},
        "status": "not-started",
        "description": _description(row, list(exercise.get("steps", []))),
    }
    if reasons := b.lines(row.get("reason")):
        detail["reasonCode"] = [{"text": r} for r in reasons]
    if t := timing(row):
        detail["scheduledTiming"] = t
    out: dict[str, Any] = {"detail": detail}
    if cautions := b.lines(row.get("cautions")):
        out["progress"] = [{"text": f"Caution: {c}"} for c in cautions]
    return out


def _kept_out(row: Mapping[str, Any], exercise: Mapping[str, Any]) -> dict:
    name = b.text(row.get("name")) or exercise.get("name") or row["exercise_id"]
    return {
        "detail": {
            "kind": "ServiceRequest",
            "code": {"coding": [b.coding(b.EXERCISE_SYSTEM, row["exercise_id"], name)], "text": name},
            "status": "cancelled",
            "doNotPerform": True,
            "reasonCode": [{"text": r} for r in b.lines(row.get("reason"))] or [{"text": "Kept out of the programme"}],
        }
    }


def _referral(ref: Any, subject: str, flag_urls: list[str]) -> dict:
    urgency = str(getattr(ref, "urgency", "") or "")
    res: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "plan",
        "priority": _PRIORITY.get(urgency, "routine"),
        "code": {"text": f"Referral: {getattr(ref, 'refer_to', '') or 'see note'}"},
        "subject": {"reference": subject},
        "note": [{"text": b.text(getattr(ref, "text", ""))}],
        "extension": [{"url": f"{b._BASE}/StructureDefinition/referral-urgency", "valueCode": urgency or "routine"}],
    }
    if flag_urls:
        res["reasonReference"] = [{"reference": u} for u in flag_urls]
    return res


def _screen_text(screen: Any) -> str:
    """The red-flag screen in words, whatever shape the programme keeps it in (None: no screen)."""
    if screen is None:
        return ""
    for attr in ("summary", "text"):
        value = getattr(screen, attr, None)
        if callable(value):
            try:
                value = value()
            except TypeError:
                value = None
        if isinstance(value, str) and value.strip():
            return value.strip()
    if isinstance(screen, Mapping):
        return "; ".join(f"{k}: {v}" for k, v in screen.items() if k != "notes" and v not in (None, "", [], ()))
    return ""  # an unknown shape is not guessed at (its repr could carry free-text notes)


def _record(prog: Programme, patient_id: str | None) -> dict:
    record = dict(prog.to_dict())
    record["patient"] = patient_id if patient_id and b.identity_problem(patient_id) != "name" else None
    return json.loads(json.dumps(record, default=str))


def careplan_bundle(prog: Programme, *, patient_id: str | None = None, clinic: str | None = None) -> dict:
    """Export a programme as a FHIR R4 Bundle: Patient, Conditions, findings, referral and a CarePlan.

    Parameters
    ----------
    prog
        A programme from :func:`sciatica_kit.build_programme`.
    patient_id
        The clinic's patient identifier; default ``prog.patient``.  No other
        demographics are exported; an id that looks like a name is left out.
    clinic
        Shown as the CarePlan's author; default ``prog.clinic``.

    Returns
    -------
    dict
        A JSON-able ``collection`` Bundle, validated with the R4B models.  A
        blocked programme has no exercise activities, status ``on-hold`` and
        the referral.

    Examples
    --------
    >>> import sciatica_kit as sk
    >>> b = careplan_bundle(sk.build_programme(["sciatica"]), patient_id="P-001")
    >>> [e["resource"]["resourceType"] for e in b["entry"]]
    ['Patient', 'Condition', 'CarePlan']
    """
    from sciatica_kit.wording import load_wording

    cat: Catalog = prog.inputs.get("catalog") or load_catalog()
    codes = b.load_codes()
    pid = patient_id if patient_id is not None else prog.patient
    patient_url = b.uuid_url()
    entries = [(patient_url, b.patient_resource(pid))]
    addresses, flag_urls, support = [], [], []
    for cond_id in prog.conditions:
        url = b.uuid_url()
        entries.append((url, _condition("condition", cond_id, cat.records["conditions"].get(cond_id, {}), patient_url, codes)))
        addresses.append(url)
    for flag in prog.red_flags:
        url = b.uuid_url()
        entries.append((url, _condition("red_flag", flag, cat.records["red_flags"].get(flag, {}), patient_url, codes)))
        flag_urls.append(url)
    for finding in prog.findings:
        url = b.uuid_url()
        entries.append((url, _finding(finding, cat.records["findings"].get(finding, {}), patient_url)))
        support.append(url)
    names = [cat.records["conditions"].get(c, {}).get("name", c) for c in prog.conditions]
    careplan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "extension": [
            {"url": PHASE_EXTENSION, "valueCode": prog.phase},
            {"url": PROGRAMME_EXTENSION, "valueString": json.dumps(_record(prog, b.text(pid) or None))},
        ],
        "status": "on-hold" if prog.blocked else "active",
        "intent": "plan",
        "title": "Home exercise programme",
        "description": f"Home exercise programme, {prog.phase} phase"
        + (f", for {'; '.join(names)}" if names else "")
        + (". On hold: a red flag needs a referral first (see note)" if prog.blocked else ""),
        "subject": {"reference": patient_url},
        "created": prog.created.isoformat(),
    }
    if addresses or flag_urls:
        careplan["addresses"] = [{"reference": u} for u in addresses + flag_urls]
    if support:
        careplan["supportingInfo"] = [{"reference": u} for u in support]
    if author := clinic if clinic is not None else prog.clinic:
        careplan["author"] = {"display": str(author)}
    notes = []
    activities = []
    if prog.referral is not None:
        ref_url = b.uuid_url()
        entries.append((ref_url, _referral(prog.referral, patient_url, flag_urls)))
        activities.append({"reference": {"reference": ref_url}})
        notes.append({"text": prog.referral.text})
    if screen_text := _screen_text(getattr(prog, "screen", None)):
        prefix = "" if screen_text.lower().startswith("red-flag screen") else "Red-flag screen: "
        notes.append({"text": prefix + screen_text})
    if not prog.blocked:
        exercises = cat.records["exercises"]
        activities += [_activity(r, exercises.get(r["exercise_id"], {})) for r in prog.table.to_dict("records")]
        notes.append({"text": load_wording(cat).safety_note})
    activities += [_kept_out(r, cat.records["exercises"].get(r["exercise_id"], {})) for r in prog.excluded.to_dict("records")]
    if activities:
        careplan["activity"] = activities
    careplan["note"] = notes
    entries.append((b.uuid_url(), careplan))
    return b.validated(entries)


# --------------------------------------------------------------------------- import


def _dose_from(detail: Mapping) -> dict[str, float | None]:
    dose: dict[str, float | None] = {}
    for ext in detail.get("extension") or []:
        if ext.get("url") != DOSE_EXTENSION:
            continue
        for part in ext.get("extension") or []:
            key = part.get("url")
            if key in DOSE_FIELDS:
                value = part.get("valueInteger", (part.get("valueQuantity") or {}).get("value"))
                dose[key] = b.number(value)
    if not dose:  # another system's plan: read the timing
        rep = ((detail.get("scheduledTiming") or {}).get("repeat") or {})
        if rep.get("frequency") and rep.get("period") == 1 and rep.get("periodUnit") == "d":
            dose["times_per_day"] = float(rep["frequency"])
            if rep.get("dayOfWeek"):
                dose["days_per_week"] = float(len(rep["dayOfWeek"]))
        elif rep.get("frequency") and rep.get("period") == 1 and rep.get("periodUnit") == "wk":
            dose["days_per_week"] = float(rep["frequency"])
        if rep.get("duration") and rep.get("durationUnit") == "min":
            dose["minutes"] = float(rep["duration"])
    return dose


def _local(cc: Mapping | None, system: str) -> str | None:
    for c in (cc or {}).get("coding") or []:
        if c.get("system") == system:
            return c.get("code")
    return None


@shared_docs
def read_careplan(source: Any, *, catalog: Catalog | None = None) -> Programme:
    """Read a CarePlan bundle back into a :class:`~sciatica_kit.programme.Programme`.

    A plan written by :func:`careplan_bundle` comes back as issued (from its
    programme record).  Without the record (another system's plan) the
    programme is rebuilt from the Conditions, red flags, findings, phase and
    the activities' exercise codes and doses: exercises the plan lists are
    included, others left out, differing doses kept as clinician dose edits.

    Parameters
    ----------
    source : dict, str or path-like
        A CarePlan bundle, its JSON text, or a file.
    {catalog}

    Returns
    -------
    Programme
        The programme the care plan describes.

    Raises
    ------
    ValueError
        When there is no CarePlan, or it names an exercise or condition the
        catalogue does not know (the message lists the valid ids).

    Examples
    --------
    >>> import sciatica_kit as sk
    >>> prog = sk.build_programme(["sciatica"], patient="P-001")
    >>> list(read_careplan(careplan_bundle(prog)).table["exercise_id"]) == list(prog.table["exercise_id"])
    True
    """
    from sciatica_kit.programme import Programme

    cat = catalog or load_catalog()
    entries = b.entries_of(b.load_json(source))
    plans = [e for e in entries if e.kind == "CarePlan"]
    if not plans:
        raise ValueError("No CarePlan in this FHIR file. Export the programme as a FHIR CarePlan and import that file.")
    plan = plans[0].resource
    for ext in plan.get("extension") or []:
        if ext.get("url") == PROGRAMME_EXTENSION and ext.get("valueString"):
            try:
                record = json.loads(ext["valueString"])
            except json.JSONDecodeError:
                break
            prog = Programme.from_dict(record, catalog=catalog)
            if set(_plan_ids(plan)) == set(prog.table["exercise_id"]):
                return _as_issued(prog, plan, entries)
            # an inputs-only record rebuilt under a changed catalogue: rebuild from the plan's own activities
            keep = ("conditions", "phase", "red_flags", "findings", "patient", "clinic", "created", "max_exercises")
            return _rebuild(plan, entries, cat, catalog, {k: record[k] for k in keep if k in record})
    return _rebuild(plan, entries, cat, catalog, {})


def _plan_ids(plan: Mapping) -> list[str | None]:
    acts = [a for a in plan.get("activity") or [] if a.get("detail") and not a["detail"].get("doNotPerform")]
    return [_local(a["detail"].get("code"), b.EXERCISE_SYSTEM) for a in acts]


def _rebuild(plan: Mapping, entries: list, cat: Catalog, catalog: Catalog | None, known: Mapping) -> Programme:
    """A programme from a plan's resources: its inputs, then its exercises and doses as clinician overrides."""
    from sciatica_kit.programme import Programme, build_programme

    conditions, red_flags, findings = [], [], []
    for e in entries:
        if e.kind == "Condition":
            cc = e.resource.get("code")
            if c := _local(cc, b.CONDITION_SYSTEM):
                conditions.append(c)
            elif f := _local(cc, b.RED_FLAG_SYSTEM):
                red_flags.append(f)
            else:
                snomed = _local(cc, b.SNOMED)
                by_code = {v.get("snomed"): k for k, v in b.load_codes().get("condition", {}).items()}
                if snomed in by_code:
                    conditions.append(by_code[snomed])
        elif (
            e.kind == "Observation"
            and (f := _local(e.resource.get("code"), b.FINDING_SYSTEM))
            and e.resource.get("valueBoolean", True)
        ):
            findings.append(f)
    conditions = list(known.get("conditions", conditions))
    red_flags = list(known.get("red_flags", red_flags))
    findings = list(known.get("findings", findings))
    phase = known.get("phase") or next(
        (x.get("valueCode") for x in plan.get("extension") or [] if x.get("url") == PHASE_EXTENSION), "subacute")
    wanted: dict[str, dict] = {}
    for act in plan.get("activity") or []:
        detail = act.get("detail") or {}
        ex_id = _local(detail.get("code"), b.EXERCISE_SYSTEM)
        if ex_id and not detail.get("doNotPerform"):
            wanted[ex_id] = _dose_from(detail)
    cat.check_ids("exercise", wanted)
    created = plan.get("created")
    author = (plan.get("author") or {}).get("display")
    subject = b.resolve((plan.get("subject") or {}).get("reference"), entries)
    patient = b.patient_identifier(subject.resource) if subject is not None else None
    base = build_programme(list(dict.fromkeys(conditions)), phase=phase, red_flags=red_flags, findings=findings, catalog=cat)
    have = list(base.table["exercise_id"])
    include = {k: "In the imported care plan" for k in wanted if k not in have}
    exclude = {k: "Not in the imported care plan" for k in have if k not in wanted}
    rows = {r["exercise_id"]: r for r in base.table.to_dict("records")}
    edits = {}
    for ex_id, dose in wanted.items():
        current = rows.get(ex_id)
        changed = {k: v for k, v in dose.items() if current is None or not _same(current.get(k), v)}
        if changed:
            edits[ex_id] = changed
    record = {
        "conditions": list(dict.fromkeys(conditions)), "phase": phase, "red_flags": red_flags, "findings": findings,
        "include": include, "exclude": exclude, "dose_edits": edits,
        "patient": known.get("patient", patient), "clinic": known.get("clinic", author),
        "created": known.get("created") or (str(created)[:10] if created else None),
        # room for every exercise the plan lists (a size cap must not drop what was issued)
        "max_exercises": max(len(wanted), int(known.get("max_exercises") or 0)) or None,
    }
    prog = Programme.from_dict({k: v for k, v in record.items() if v is not None}, catalog=catalog)
    return _as_issued(prog, plan, entries)


def _as_issued(prog: Programme, plan: Mapping, entries: list) -> Programme:
    """The programme with the plan's own order, doses, reasons, cautions and referral text.

    A rebuild follows today's catalogue; what was issued is what the plan says.  When
    the exercises themselves differ the rebuild is returned as it is.
    """
    from dataclasses import replace

    from sciatica_kit.programme import dose_in_words

    acts = [a for a in plan.get("activity") or [] if a.get("detail") and not a["detail"].get("doNotPerform")]
    ids = [_local(a["detail"].get("code"), b.EXERCISE_SYSTEM) for a in acts]
    if sorted(map(str, ids)) != sorted(map(str, prog.table["exercise_id"])):
        return prog
    table = prog.table.set_index("exercise_id", drop=False).loc[ids].reset_index(drop=True)
    for i, act in enumerate(acts):
        detail = act["detail"]
        dose = _dose_from(detail)
        for key in DOSE_FIELDS:
            value = dose.get(key)
            table.loc[i, key] = pd.NA if value is None else value
        for ext in detail.get("extension") or []:
            for part in ext.get("extension") or [] if ext.get("url") == DOSE_EXTENSION else []:
                if part.get("url") == "each_side":
                    table.loc[i, "each_side"] = bool(part.get("valueBoolean"))
        said = [p.get("valueString") for x in detail.get("extension") or [] if x.get("url") == DOSE_EXTENSION
                for p in x.get("extension") or [] if p.get("url") == "words"]
        table.loc[i, "dose"] = said[0] if said and said[0] else dose_in_words(table.loc[i].to_dict())
        if detail.get("reasonCode"):
            table.loc[i, "reason"] = "\n".join(r.get("text", "") for r in detail["reasonCode"])
        if act.get("progress"):  # a plan without cautions keeps the catalogue's (a caution is never dropped)
            table.loc[i, "cautions"] = "\n".join(
                str(c.get("text", "")).removeprefix("Caution: ") for c in act["progress"])
    changes: dict[str, Any] = {"table": table.astype(prog.table.dtypes.to_dict())}
    for e in entries:
        if e.kind == "ServiceRequest" and prog.referral is not None and e.resource.get("note"):
            text = b.text(e.resource["note"][0].get("text"))
            if text and text != prog.referral.text:
                with contextlib.suppress(TypeError):  # a referral that is not a dataclass: keep the rebuilt one
                    changes["referral"] = replace(prog.referral, text=text)
    return replace(prog, **changes)


def _same(a: Any, b_: Any) -> bool:
    fa, fb = b.number(a), b.number(b_)
    return fa == fb


