"""ODI, RMDQ, STarT Back and SBI as FHIR Questionnaire / QuestionnaireResponse, both ways.

The Questionnaires are the kit's own (items in the kit's words, from
``codes.toml``; canonical URLs under ``https://sciatica-kit.invalid/Questionnaire/``).
A response carries the answers and the score the kit's scorer gives
(:func:`sciatica_kit.score_odi` and friends).  A response that the scorer
cannot score (for example more than two ODI sections blank, or a STarT Back
item blank) is exported ``in-progress`` without a score, and refused on
import with the scorer's reason; one it can score (one ODI section blank,
RMDQ statements left unticked) is scored by the same rule both ways.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from sciatica_kit.fhir import _base as b
from sciatica_kit.measures import score_odi, score_rmdq, score_sbi, score_start_back

__all__ = ["QUESTIONNAIRE_BASE", "questionnaire", "questionnaire_bundle"]

QUESTIONNAIRE_BASE = f"{b._BASE}/Questionnaire"
ANSWER_SYSTEM = f"{b._BASE}/CodeSystem/answer"
_MIN = "http://hl7.org/fhir/StructureDefinition/minValue"
_MAX = "http://hl7.org/fhir/StructureDefinition/maxValue"
MEASURES = ("odi", "rmdq", "start_back", "sbi")
_LOINC_YES_NO = {"LA33-6": True, "LA32-8": False}  # LOINC answers Yes / No


def _spec(measure: str) -> dict:
    specs = b.load_codes().get("questionnaire", {})
    if measure not in specs:
        from sciatica_kit.catalog import unknown_id_error

        raise unknown_id_error("questionnaire", measure, specs)
    return specs[measure]


def _option_code(label: str) -> str:
    return label.lower().replace(" ", "-")


def questionnaire(measure: str) -> dict:
    """The kit's Questionnaire resource for ``odi``, ``rmdq``, ``start_back`` or ``sbi``.

    Parameters
    ----------
    measure : str
        ``odi``, ``rmdq``, ``start_back`` or ``sbi``.

    Returns
    -------
    dict
        The kit's Questionnaire resource (item labels in the kit's own words).

    Examples
    --------
    >>> q = questionnaire("sbi")
    >>> q["url"], len(q["item"])
    ('https://sciatica-kit.invalid/Questionnaire/sbi', 5)
    """
    spec = _spec(measure)
    items = []
    for it in spec["items"]:
        item: dict[str, Any] = {"linkId": it["linkId"], "text": it["text"], "type": it["type"]}
        if "min" in it:
            item["extension"] = [{"url": _MIN, "valueInteger": it["min"]}, {"url": _MAX, "valueInteger": it["max"]}]
        if it["type"] == "choice":
            item["answerOption"] = [{"valueCoding": b.coding(ANSWER_SYSTEM, _option_code(o), o)} for o in it["options"]]
        items.append(item)
    for key in ("score", "subscore", "risk"):
        if key in spec:
            items.append({**spec[key], "readOnly": True})
    out: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "url": f"{QUESTIONNAIRE_BASE}/{measure}",
        "name": measure.replace("_", "").upper(),
        "title": spec["title"],
        "status": "active",
        "subjectType": ["Patient"],
        "item": items,
    }
    info = b.load_codes()["measure"].get(measure, {})
    if info.get("loinc"):
        out["code"] = [b.coding(b.LOINC, info["loinc"], info.get("loinc_display"))]
    return out


def _score(measure: str, answers: Sequence[Any]) -> tuple[dict[str, Any] | None, str | None]:
    """({linkId: score}, None) or (None, why it cannot be scored), by the kit's scorers."""
    spec = _spec(measure)
    try:
        if measure == "odi":
            return {spec["score"]["linkId"]: round(score_odi(answers), 2)}, None
        if measure == "rmdq":
            return {spec["score"]["linkId"]: score_rmdq(answers)}, None
        if measure == "sbi":
            return {spec["score"]["linkId"]: score_sbi(answers)}, None
        r = score_start_back(answers)
        return {spec["score"]["linkId"]: r.total, spec["subscore"]["linkId"]: r.psychosocial, spec["risk"]["linkId"]: r.risk}, None
    except ValueError as exc:
        return None, str(exc)


def _answer(item: Mapping, value: Any) -> list[dict]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    kind = item["type"]
    if kind == "boolean":
        from sciatica_kit.measures import _yes_no

        ticked = _yes_no(value, item["linkId"], 0)
        return [] if ticked is None else [{"valueBoolean": ticked}]
    if kind == "choice":
        options = item["options"]
        label = options[int(value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        match = [o for o in options if o.lower() == label.strip().lower()]
        if not match:
            raise ValueError(f"{item['linkId']}: {value!r} is not an answer; use one of {', '.join(options)}")
        return [{"valueCoding": b.coding(ANSWER_SYSTEM, _option_code(match[0]), match[0])}]
    return [{"valueInteger": int(value)}]


def questionnaire_bundle(
    measure: str,
    answers: Sequence[Any],
    *,
    patient_id: str | None = None,
    authored: Any = None,
) -> dict:
    """Export one questionnaire's answers as a Bundle: Patient, the kit's Questionnaire, the response.

    Parameters
    ----------
    measure
        ``odi``, ``rmdq``, ``start_back`` or ``sbi``.
    answers
        The answers in form order, as the scorers take them (None for a blank).
    patient_id
        The clinic's patient identifier.
    authored
        When the form was filled in (date or date-time; default now).

    Returns
    -------
    dict
        A FHIR Bundle.

    Examples
    --------
    >>> bundle = questionnaire_bundle("sbi", [4, 3, 2, 5], patient_id="P-001", authored="2025-03-01")
    >>> qr = bundle["entry"][2]["resource"]
    >>> qr["status"], qr["item"][-1]["answer"][0]["valueInteger"]
    ('completed', 14)
    """
    spec = _spec(measure)
    answers = list(answers)
    if len(answers) != len(spec["items"]):
        raise ValueError(f"The {measure} form has {len(spec['items'])} items; got {len(answers)} answers.")
    scores, _why = _score(measure, answers)
    items = []
    for item, value in zip(spec["items"], answers, strict=True):
        out = {"linkId": item["linkId"], "text": item["text"]}
        if ans := _answer(item, value):
            out["answer"] = ans
        items.append(out)
    for key in ("score", "subscore", "risk"):
        if key in spec and scores is not None:
            item, value = spec[key], scores[spec[key]["linkId"]]
            kind = {"decimal": "valueDecimal", "integer": "valueInteger", "string": "valueString"}[item["type"]]
            items.append({"linkId": item["linkId"], "text": item["text"], "answer": [{kind: value}]})
    when = pd.Timestamp(authored) if authored is not None else pd.Timestamp(dt.datetime.now().replace(microsecond=0))
    patient_url = b.uuid_url()
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{QUESTIONNAIRE_BASE}/{measure}",
        "status": "completed" if scores is not None else "in-progress",
        "subject": {"reference": patient_url},
        "authored": b.fhir_datetime(when) if (when.hour, when.minute, when.second) != (0, 0, 0)
        else when.date().isoformat(),
        "item": items,
    }
    return b.validated([(patient_url, b.patient_resource(patient_id)), (b.uuid_url(), questionnaire(measure)),
                        (b.uuid_url(), response)])


# --------------------------------------------------------------------------- import


def _read_answer(item: Mapping, got: Mapping | None) -> Any:
    if not got or not got.get("answer"):
        return None
    ans = got["answer"][0]
    if item["type"] == "boolean":
        if "valueBoolean" in ans:
            return bool(ans["valueBoolean"])
        code = str((ans.get("valueCoding") or {}).get("code") or ans.get("valueString") or "")
        return _LOINC_YES_NO.get(code, code.lower()) or None
    if item["type"] == "choice":
        c = ans.get("valueCoding") or {}
        for o in item["options"]:
            if c.get("code") == _option_code(o) or str(c.get("display", "")).lower() == o.lower():
                return o
        return ans.get("valueString") or c.get("display") or c.get("code")
    for k in ("valueInteger", "valueDecimal"):
        if k in ans:
            return ans[k]
    c = ans.get("valueCoding") or {}
    return c.get("code")


def _measure_of(res: Mapping) -> str | None:
    canonical = str(res.get("questionnaire") or "").split("|")[0]
    for m in MEASURES:
        if canonical == f"{QUESTIONNAIRE_BASE}/{m}":
            return m
    return None


def _flatten(items: list) -> dict[str, Mapping]:
    out = {}
    for it in items or []:
        if isinstance(it, Mapping):
            out[str(it.get("linkId"))] = it
            out.update(_flatten(it.get("item") or []))
    return out


def response_rows(entry, entries, *, patient_id, problems, skipped, notes=None, unresolved=None) -> list[dict]:
    """Tidy-log rows for one QuestionnaireResponse (used by :func:`import_observations`)."""

    res = entry.resource
    if res.get("status") == "entered-in-error":
        skipped.append((entry.name, "status entered-in-error"))
        return []
    measure = _measure_of(res)
    if measure is None:
        skipped.append((entry.name, f"a questionnaire the kit does not score ({res.get('questionnaire') or 'no questionnaire'})"))
        return []
    if invalid := b.resource_problem(res):
        problems.add(entry, None, f"not valid FHIR R4 ({invalid.lstrip(', ')})", "Fix the fields so they follow FHIR R4")
        return []
    spec = _spec(measure)
    given = _flatten(res.get("item") or [])
    try:
        answers = [_read_answer(it, given.get(it["linkId"])) for it in spec["items"]]
    except (TypeError, ValueError, IndexError) as exc:
        problems.add(entry, "item", f"an answer cannot be read ({exc})", "Answer with the kit's Questionnaire items")
        return []
    scores, why = _score(measure, answers)
    if scores is None:
        problems.add(entry, "item", f"cannot be scored: {why.rstrip('.')}", "Complete the form, then send it again")
        return []
    when = b.parse_fhir_datetime(res.get("authored"))
    if when is None:
        problems.add(entry, "authored", "no date", "Give authored, the day the form was filled in")
        return []
    pid, ref = b.patient_of(entry, entries, patient_id, problems)
    if pid is None:
        return []
    if ref is not None and unresolved is not None:
        unresolved[ref] = entry.name
    score = float(scores[spec["score"]["linkId"]])
    sent = b.number(_read_answer({"type": "decimal"}, given.get(spec["score"]["linkId"])))
    if sent is not None and notes is not None and abs(sent - score) > 0.01:
        notes.append(f"{entry.name}: the response says {sent:g} but its answers score {score:g}; the kit's score is kept.")
    return [{"patient_id": pid, "date": when, "measure": measure, "side": "", "value": score, "note": ""}]
