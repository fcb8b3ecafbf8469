"""Outcome-measure registry and questionnaire scoring.

The registry itself is data (``data/catalog/measures.toml``): range, better
direction, MCID, smallest detectable change, zones and sources.  This module
scores the questionnaires the way their published manuals do:

* Oswestry Disability Index (Fairbank & Pynsent 2000, Spine 25:2940): 10 sections
  scored 0-5; the total is ``sum / (5 x answered) x 100``, so one blank section
  changes the denominator.  With more blank sections the form is "not scored"
  (:class:`NotScored`, with the reason).  A clinic may allow two blank sections
  in its settings file (``[measures] odi_max_missing = 2``).
* Roland-Morris (RMDQ, Roland & Morris 1983): 24 statements; the score is the
  number ticked "yes".  On a tick-only paper form a blank statement is "not
  ticked".  On a yes/no form, a statement with neither answer is missing; with
  more than half (12) missing the form is not scored (a kit rule: the kit's
  sources publish no missing-item rule for the RMDQ).
* STarT Back (Hill 2008, Keele): items 1-8 agree = 1; item 9 (bothersomeness)
  scores 1 for "Very much" or "Extremely".  Total <= 3 is low risk; otherwise
  the psychosocial subscale (items 5-9) <= 3 is medium, >= 4 is high risk.
* Sciatica Bothersomeness Index (Grøvle et al., Spine 2008;33:2347): 4 items
  0-6, total 0-24; measurement error about 5 points.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sciatica_kit._docs import shared_docs
from sciatica_kit.catalog import Catalog, load_catalog

__all__ = [
    "MAX_ODI_MISSING",
    "MAX_RMDQ_MISSING",
    "NotScored",
    "START_BACK_ITEM9",
    "StartBackResult",
    "measure_info",
    "odi_band",
    "questionnaire_form",
    "score_odi",
    "score_rmdq",
    "score_sbi",
    "score_start_back",
]

MAX_ODI_MISSING = 1  # Fairbank & Pynsent 2000; a clinic may allow 2 ([measures] odi_max_missing)
MAX_RMDQ_MISSING = 12  # kit rule for yes/no forms: more than half missing is not scored


class NotScored(ValueError):
    """A questionnaire that cannot be scored; the message says why and what to do."""


def odi_max_missing() -> int:
    """Blank ODI sections allowed: 1 (Fairbank & Pynsent 2000), or the clinic's 2 from the settings file."""
    from sciatica_kit.settings import load_settings

    value = load_settings().get("measures", {}).get("odi_max_missing", MAX_ODI_MISSING)
    if value not in (1, 2) or isinstance(value, bool):
        raise ValueError(f"The settings file's [measures] odi_max_missing must be 1 or 2, not {value!r}.")
    return int(value)
START_BACK_ITEM9 = ("Not at all", "Slightly", "Moderately", "Very much", "Extremely")
START_BACK_ITEMS = (
    "My back pain has spread down my leg(s) at some time in the last 2 weeks",
    "I have had pain in the shoulder or neck at some time in the last 2 weeks",
    "I have only walked short distances because of my back pain",
    "In the last 2 weeks, I have dressed more slowly than usual because of back pain",
    "It's not really safe for a person with a condition like mine to be physically active",
    "Worrying thoughts have been going through my mind a lot of the time",
    "I feel that my back pain is terrible and it's never going to get any better",
    "In general I have not enjoyed all the things I used to enjoy",
    "Overall, how bothersome has your back pain been in the last 2 weeks?",
)
ODI_SECTIONS = (
    "Pain intensity",
    "Personal care",
    "Lifting",
    "Walking",
    "Sitting",
    "Standing",
    "Sleeping",
    "Sex life",
    "Social life",
    "Travelling",
)
SBI_ITEMS = ("Leg pain", "Numbness or tingling in leg, foot or toes", "Weakness in leg or foot", "Back or leg pain while sitting")
_YES = {"yes", "y", "true", "1", "agree", "ticked", "x"}
_NO = {"no", "n", "false", "0", "disagree", ""}


@functools.lru_cache(maxsize=4)
def _questionnaire_specs(path: str, _stamp: float) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh).get("questionnaire", {})


def questionnaire_form(measure: str) -> dict:
    """How the visit form shows a questionnaire, from ``codes.toml`` (data, not code).

    Parameters
    ----------
    measure
        A questionnaire's measure id: ``odi``, ``rmdq``, ``start_back`` or ``sbi``.

    Returns
    -------
    dict
        ``labels``: the kit's short words for each item (its own paraphrase, never the
        licensed wording); ``levels``: short words for each answer level (may be empty);
        ``options``: the answer options of a choice item, by item position; ``note``: what
        the labels stand on, when the kit's sources give no topic per item (may be empty).

    Examples
    --------
    >>> questionnaire_form("odi")["labels"][0]
    'Pain intensity'
    """
    from sciatica_kit.catalog import catalog_dir, unknown_id_error

    file = catalog_dir() / "codes.toml"
    specs = _questionnaire_specs(str(file), file.stat().st_mtime)
    if measure not in specs:
        raise unknown_id_error("questionnaire", measure, specs)
    spec = specs[measure]
    items = spec["items"]
    return {
        "labels": [it.get("label") or it["text"] for it in items],
        "levels": list(spec.get("levels", [])),
        "options": {i: list(it["options"]) for i, it in enumerate(items) if "options" in it},
        "note": spec.get("labels_note", ""),
    }


@shared_docs
def measure_info(measure_id: str, *, catalog: Catalog | None = None) -> dict:
    """The registry entry for one measure (raises a ValueError listing valid ids).

    Parameters
    ----------
    measure_id : str
        A measure id (``pain``, ``odi`` ...).
    {catalog}

    Returns
    -------
    dict
        The measure's fields from ``measures.toml`` (name, unit, range, direction, MCID, MDC, sources).

    Examples
    --------
    >>> measure_info("pain")["mcid_points"]
    2.0
    """
    cat = catalog or load_catalog()
    cat.check_ids("measure", [measure_id])
    return dict(cat.records["measures"][measure_id])


def _items(answers: Any, n: int, what: str) -> list:
    if isinstance(answers, (str, bytes)) or answers is None:
        raise ValueError(f"{what} needs a list of {n} answers, not {type(answers).__name__}")
    try:
        items = list(answers)
    except TypeError:
        raise ValueError(f"{what} needs a list of {n} answers, not {type(answers).__name__}") from None
    if len(items) != n:
        raise ValueError(f"{what} needs exactly {n} answers; got {len(items)}")
    return items


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return isinstance(v, float) and math.isnan(v)
    except TypeError:
        return False


def _int_item(v: Any, lo: int, hi: int, what: str, i: int) -> int:
    if isinstance(v, bool):
        raise ValueError(f"{what} item {i}: {v!r} is not a score; enter a whole number {lo}-{hi}")
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer too big for a float
        raise ValueError(f"{what} item {i}: {v!r} is not a score; enter a whole number {lo}-{hi}") from None
    if not math.isfinite(f) or not f.is_integer() or not lo <= f <= hi:
        raise ValueError(f"{what} item {i}: {v!r} is out of range; enter a whole number {lo}-{hi}")
    return int(f)


def score_odi(answers: Iterable[int | None], *, max_missing: int | None = None) -> float:
    """Oswestry Disability Index, 0-100 (higher = more disability).

    Parameters
    ----------
    answers
        Ten section scores, each 0-5, or None for a section left blank.
    max_missing
        Blank sections allowed (default :func:`odi_max_missing`: 1, as Fairbank &
        Pynsent 2000, or 2 where the clinic's settings allow it).

    Returns
    -------
    float
        The index: points scored over points possible, times 100.

    Raises
    ------
    NotScored
        More sections blank than allowed: the form is not scored, with the reason.
    ValueError
        Wrong number of sections or a score outside 0-5.

    Examples
    --------
    >>> score_odi([1, 2, 3, 2, 1, 0, 2, 3, 1, 2])
    34.0
    >>> round(score_odi([1, 2, 3, 2, 1, 0, 2, None, 1, 2]), 1)  # 14 / 45
    31.1
    """
    items = _items(answers, 10, "The Oswestry questionnaire")
    scores = [None if _is_missing(v) else _int_item(v, 0, 5, "Oswestry section", i) for i, v in enumerate(items, 1)]
    answered = [s for s in scores if s is not None]
    missing = 10 - len(answered)
    allowed = odi_max_missing() if max_missing is None else max_missing
    if missing > allowed:
        raise NotScored(
            f"Oswestry not scored: {missing} sections are blank and at most {allowed} may be "
            f"(Fairbank & Pynsent 2000 allow one; a clinic may allow two in its settings). "
            "Ask the patient to complete the missing sections."
        )
    return sum(answered) / (5 * len(answered)) * 100


@shared_docs
def odi_band(score: float, *, catalog: Catalog | None = None) -> str:
    """The Fairbank band for an ODI score ("minimal" ... "bed-bound").

    Parameters
    ----------
    score : float
        An ODI score, 0-100.
    {catalog}

    Returns
    -------
    str
        The band's name.

    Examples
    --------
    >>> odi_band(34.0)
    'moderate'
    """
    zones = measure_info("odi", catalog=catalog)["zones"]
    if not 0 <= score <= 100:
        raise ValueError(f"An ODI score must be 0-100, not {score}")
    for z in zones:
        if score <= z["high"]:
            return z["label"]
    return zones[-1]["label"]


def _yes_no(v: Any, what: str, i: int) -> bool | None:
    if _is_missing(v):
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    text = str(v).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(f"{what} item {i}: {v!r} is not yes/no; use yes, no, True, False, 1 or 0")


def score_rmdq(answers: Iterable[Any]) -> int:
    """Roland-Morris Disability Questionnaire, 0-24: the number of statements ticked.

    On a tick-only form (no statement answered "no") a statement left blank counts
    as not ticked, as on the paper form (Roland & Morris 1983).  On a yes/no form a
    statement with neither answer is missing; with more than ``MAX_RMDQ_MISSING``
    (12, half the form) missing the form is not scored (a kit rule: the kit's
    sources publish no missing-item rule).  A form with every statement blank is
    never scored.

    Parameters
    ----------
    answers : iterable
        24 answers: True/"yes"/1 for a statement ticked, False/"no"/0 for not, None for blank.

    Returns
    -------
    int
        Statements ticked.

    Raises
    ------
    NotScored
        A blank form, or a yes/no form with more than half the statements missing.

    Examples
    --------
    >>> score_rmdq([True] * 5 + [False] * 19)
    5
    """
    items = _items(answers, 24, "The Roland-Morris questionnaire")
    ticks = [_yes_no(v, "Roland-Morris", i) for i, v in enumerate(items, 1)]
    if all(t is None for t in ticks):
        raise NotScored("Roland-Morris not scored: the form is blank; tick the statements that apply today.")
    missing = sum(1 for t in ticks if t is None)
    yes_no_form = any(t is False for t in ticks)
    if yes_no_form and missing > MAX_RMDQ_MISSING:
        raise NotScored(
            f"Roland-Morris not scored: {missing} of 24 statements have no answer (more than half; a kit rule, "
            "the kit's sources publish no missing-item rule). Ask the patient to answer every statement."
        )
    return sum(1 for t in ticks if t)


@dataclass(frozen=True)
class StartBackResult:
    """STarT Back score: ``total`` 0-9, ``psychosocial`` 0-5, ``risk`` low/medium/high."""

    total: int
    psychosocial: int
    risk: str


def _item9(v: Any) -> int:
    if isinstance(v, str):
        labels = {lab.lower(): i for i, lab in enumerate(START_BACK_ITEM9)}
        key = v.strip().lower()
        if key not in labels:
            raise ValueError(f"STarT Back item 9: {v!r} is not an answer; use one of {', '.join(START_BACK_ITEM9)}")
        idx = labels[key]
    else:
        idx = _int_item(v, 0, 4, "STarT Back item 9 (0 = Not at all ... 4 = Extremely)", 9)
    return 1 if idx >= 3 else 0


def score_start_back(answers: Iterable[Any]) -> StartBackResult:
    """Keele STarT Back Screening Tool.

    Parameters
    ----------
    answers
        Nine answers: items 1-8 agree/disagree (True/False, "agree"/"disagree", 1/0);
        item 9 one of ``START_BACK_ITEM9`` (or its index 0-4).

    Returns
    -------
    StartBackResult
        Total score, psychosocial subscore and the risk group (low, medium, high).

    Examples
    --------
    >>> r = score_start_back([1, 1, 0, 1, 1, 1, 0, 0, "Very much"])
    >>> (r.total, r.psychosocial, r.risk)
    (6, 3, 'medium')
    """
    items = _items(answers, 9, "The STarT Back questionnaire")
    scores = []
    for i, v in enumerate(items[:8], 1):
        t = _yes_no(v, "STarT Back", i)
        if t is None:
            raise ValueError(f"STarT Back item {i} is blank; every item must be answered.")
        scores.append(int(t))
    if _is_missing(items[8]):
        raise ValueError("STarT Back item 9 is blank; every item must be answered.")
    scores.append(_item9(items[8]))
    total = sum(scores)
    psychosocial = sum(scores[4:9])
    if total <= 3:
        risk = "low"
    elif psychosocial <= 3:
        risk = "medium"
    else:
        risk = "high"
    return StartBackResult(total=total, psychosocial=psychosocial, risk=risk)


def score_sbi(answers: Iterable[Any]) -> int:
    """Sciatica Bothersomeness Index, 0-24: four items scored 0-6.

    Parameters
    ----------
    answers : iterable of int
        Four item scores, each 0-6.

    Returns
    -------
    int
        The total.

    Examples
    --------
    >>> score_sbi([4, 3, 2, 5])
    14
    """
    items = _items(answers, 4, "The Sciatica Bothersomeness Index")
    if any(_is_missing(v) for v in items):
        raise ValueError("The Sciatica Bothersomeness Index needs all four items answered.")
    return sum(_int_item(v, 0, 6, "Sciatica Bothersomeness Index", i) for i, v in enumerate(items, 1))
