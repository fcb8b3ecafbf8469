"""Outcome-measure registry and questionnaire scoring (clinical-facts section 5)."""

from __future__ import annotations

import math

import pytest

import sciatica_kit as sk
from sciatica_kit.measures import (
    MAX_ODI_MISSING,
    START_BACK_ITEM9,
    NotScored,
    StartBackResult,
    measure_info,
    odi_band,
)

CONTRACT_IDS = {
    "pain",
    "back_pain",
    "leg_pain",
    "odi",
    "rmdq",
    "sbi",
    "start_back",
    "slr",
    "fingertip_floor",
    "schober",
    "lumbar_flexion",
    "adherence",
}
NA = math.nan

# id: (min, max, better, sided, mcid_points, mcid_percent, mdc)
REGISTRY = {
    "pain": (0, 10, "lower", False, 2, 30, 2),
    "back_pain": (0, 10, "lower", False, 2, 30, 2),
    "leg_pain": (0, 10, "lower", False, 2, 30, 2),
    "odi": (0, 100, "lower", False, 10, 30, 10),  # MDC: Davidson & Keating 2002
    "rmdq": (0, 24, "lower", False, 5, 30, 5),  # MDC 4-5: Stratford 1996 (the kit uses 5)
    "sbi": (0, 24, "lower", False, NA, NA, 5),
    "start_back": (0, 9, "lower", False, NA, NA, NA),
    "slr": (0, 90, "higher", True, NA, NA, 12),  # MDC 8-12 degrees: the upper figure, no midpoint
    "fingertip_floor": (0, 100, "lower", False, NA, NA, 9.8),
    "schober": (15, 30, "higher", False, NA, NA, 1.8),
    "lumbar_flexion": (0, 120, "higher", False, NA, NA, NA),
    "adherence": (0, 100, "higher", False, NA, NA, NA),
}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# --------------------------------------------------------------------------- registry


def test_registry_holds_exactly_the_contract_ids(catalog):
    assert set(catalog.measures.index) == CONTRACT_IDS
    assert set(catalog.records["measures"]) == CONTRACT_IDS


@pytest.mark.parametrize("measure_id", sorted(REGISTRY))
def test_registry_entry_matches_clinical_facts(measure_id):
    lo, hi, better, sided, mcid_pts, mcid_pct, mdc = REGISTRY[measure_id]
    info = measure_info(measure_id)
    assert (info["min"], info["max"]) == (lo, hi)
    assert info["better"] == better
    assert info["sided"] is sided
    assert _same(info["mcid_points"], mcid_pts), info["mcid_points"]
    assert _same(info["mcid_percent"], mcid_pct), info["mcid_percent"]
    assert _same(info["mdc"], mdc), info["mdc"]
    assert info["sources"], "every measure names its source"


def test_only_slr_is_measured_per_side(catalog):
    sided = catalog.measures.index[catalog.measures["sided"].astype(bool)].tolist()
    assert sided == ["slr"]


def test_slr_positive_zone_is_30_to_70_degrees():
    (zone,) = measure_info("slr")["zones"]
    assert (zone["low"], zone["high"]) == (30, 70)
    assert "positive" in zone["label"]


def test_schober_normal_zone_starts_above_20_cm():
    (zone,) = measure_info("schober")["zones"]
    assert (zone["label"], zone["low"]) == ("normal", 20)


def test_questionnaire_scores_are_whole_numbers_but_pain_is_not():
    assert measure_info("rmdq")["integer"] is True
    assert measure_info("sbi")["integer"] is True
    assert measure_info("start_back")["integer"] is True
    assert measure_info("pain")["integer"] is False


def test_unknown_measure_lists_valid_ids_and_closest_match():
    with pytest.raises(ValueError) as err:
        measure_info("pian")
    text = str(err.value)
    assert "Did you mean 'pain'?" in text
    for mid in CONTRACT_IDS:
        assert mid in text


# --------------------------------------------------------------------------- ODI


def test_odi_all_sections_answered():
    # 1+2+3+2+1+0+2+3+1+2 = 17 of 50
    assert sk.score_odi([1, 2, 3, 2, 1, 0, 2, 3, 1, 2]) == pytest.approx(34.0)
    assert sk.score_odi([0] * 10) == 0.0
    assert sk.score_odi([5] * 10) == 100.0


def test_odi_one_missing_section_changes_the_denominator():
    # 14 of 45, not 14 of 50
    score = sk.score_odi([1, 2, 3, 2, 1, 0, 2, None, 1, 2])
    assert score == pytest.approx(14 / 45 * 100)
    assert score != pytest.approx(28.0)


def test_odi_two_missing_sections_are_not_scored_unless_the_clinic_allows_it(tmp_path, monkeypatch):
    """Fairbank & Pynsent 2000: one blank section adjusts the denominator; more are not scored."""
    assert MAX_ODI_MISSING == 1
    two_blank = [None, 2, 3, 2, 1, 0, 2, None, 1, 2]
    with pytest.raises(NotScored, match=r"Oswestry not scored: 2 sections are blank and at most 1 may be \(Fairbank & Pynsent 2000"):
        sk.score_odi(two_blank)
    assert sk.score_odi(two_blank, max_missing=2) == pytest.approx(13 / 40 * 100)
    settings = tmp_path / "settings.toml"
    settings.write_text("[measures]\nodi_max_missing = 2\n", encoding="utf-8")
    monkeypatch.setenv("SCIATICA_KIT_SETTINGS", str(settings))
    assert sk.score_odi(two_blank) == pytest.approx(13 / 40 * 100)
    assert sk.score_odi([math.nan, 5, 5, 5, 5, 5, 5, None, 5, 5]) == 100.0
    settings.write_text("[measures]\nodi_max_missing = 5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="must be 1 or 2"):
        sk.score_odi(two_blank)


def test_odi_three_missing_sections_are_refused_with_a_clear_message():
    with pytest.raises(NotScored, match=r"3 sections are blank"):
        sk.score_odi([None, None, None, 2, 1, 0, 2, 3, 1, 2], max_missing=2)


@pytest.mark.parametrize(
    ("answers", "match"),
    [
        ([6, 0, 0, 0, 0, 0, 0, 0, 0, 0], r"item 1: 6 is out of range"),
        ([0, 0, 0, -1, 0, 0, 0, 0, 0, 0], r"item 4: -1 is out of range"),
        ([0, 0, 2.5, 0, 0, 0, 0, 0, 0, 0], r"item 3: 2\.5 is out of range"),
        ([True, 0, 0, 0, 0, 0, 0, 0, 0, 0], r"item 1: True is not a score"),
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, False], r"item 10: False is not a score"),
        (["a", 0, 0, 0, 0, 0, 0, 0, 0, 0], r"item 1: 'a' is not a score"),
        ([0] * 9, r"exactly 10 answers; got 9"),
        ([0] * 11, r"exactly 10 answers; got 11"),
        ("0123456789", r"needs a list of 10 answers, not str"),
        (None, r"needs a list of 10 answers, not NoneType"),
        (5, r"needs a list of 10 answers, not int"),
    ],
)
def test_odi_rejects_bad_answers(answers, match):
    with pytest.raises(ValueError, match=match):
        sk.score_odi(answers)


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "minimal"),
        (20, "minimal"),
        (20.5, "moderate"),
        (40, "moderate"),
        (41, "severe"),
        (60, "severe"),
        (61, "very severe"),
        (80, "very severe"),
        (81, "bed-bound"),
        (100, "bed-bound"),
    ],
)
def test_odi_band_follows_fairbank(score, band):
    assert odi_band(score) == band


@pytest.mark.parametrize("score", [-1, 100.5])
def test_odi_band_refuses_impossible_scores(score):
    with pytest.raises(ValueError, match="0-100"):
        odi_band(score)


# --------------------------------------------------------------------------- RMDQ


def test_rmdq_counts_yes_in_every_spelling():
    answers = [True, "yes", "Yes", 1, "Y", " agree "] + [False, "no", 0, None] + [False] * 14
    assert len(answers) == 24
    assert sk.score_rmdq(answers) == 6


def test_rmdq_extremes():
    assert sk.score_rmdq([True] * 24) == 24
    assert sk.score_rmdq([False] * 24) == 0


def test_rmdq_blank_form_is_not_scored():
    with pytest.raises(NotScored, match="Roland-Morris not scored: the form is blank"):
        sk.score_rmdq([None] * 24)


def test_rmdq_tick_only_paper_form_counts_blanks_as_not_ticked():
    """Roland & Morris 1983: the score is the number of ticked statements."""
    assert sk.score_rmdq([True] * 3 + [None] * 21) == 3


def test_rmdq_mostly_unanswered_yes_no_form_is_not_scored_with_the_rule():
    answers = [True, False, False] + [None] * 21  # a yes/no form with 21 of 24 statements unanswered
    with pytest.raises(NotScored, match=r"21 of 24 statements have no answer \(more than half; a kit rule"):
        sk.score_rmdq(answers)
    assert sk.score_rmdq([True] * 6 + [False] * 6 + [None] * 12) == 6  # half answered: scored


@pytest.mark.parametrize(
    ("answers", "match"),
    [
        (["maybe"] + [False] * 23, r"item 1: 'maybe' is not yes/no"),
        ([False] * 23 + [2], r"item 24: 2 is not yes/no"),
        ([True] * 23, r"exactly 24 answers; got 23"),
        ("yes" * 8, r"not str"),
    ],
)
def test_rmdq_rejects_bad_answers(answers, match):
    with pytest.raises(ValueError, match=match):
        sk.score_rmdq(answers)


# --------------------------------------------------------------------------- STarT Back


def test_start_back_item9_labels_are_the_keele_wording():
    assert START_BACK_ITEM9 == ("Not at all", "Slightly", "Moderately", "Very much", "Extremely")


@pytest.mark.parametrize(
    ("label", "scores"),
    [
        ("Not at all", 0),
        ("Slightly", 0),
        ("Moderately", 0),
        ("Very much", 1),
        ("Extremely", 1),
        ("  very much ", 1),
        (0, 0),
        (1, 0),
        (2, 0),
        (3, 1),
        (4, 1),
    ],
)
def test_start_back_only_very_much_and_extremely_score_on_item9(label, scores):
    r = sk.score_start_back([0] * 8 + [label])
    assert (r.total, r.psychosocial) == (scores, scores)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        # total <= 3: low, whatever the psychosocial items say
        ([0, 0, 0, 0, 1, 1, 0, 0, "Extremely"], (3, 3, "low")),
        ([1, 1, 1, 0, 0, 0, 0, 0, "Not at all"], (3, 0, "low")),
        # total 4, psychosocial 0..3: medium
        ([1, 1, 1, 1, 0, 0, 0, 0, "Moderately"], (4, 0, "medium")),
        ([1, 1, 0, 1, 1, 1, 0, 0, "Very much"], (6, 3, "medium")),
        # psychosocial (items 5-9) >= 4: high
        ([0, 0, 0, 0, 1, 1, 1, 0, "Very much"], (4, 4, "high")),
        ([1, 1, 1, 1, 1, 1, 1, 1, "Extremely"], (9, 5, "high")),
        # psychosocial 4 from items 5-8 alone, item 9 not bothersome
        ([0, 0, 0, 0, 1, 1, 1, 1, 2], (4, 4, "high")),
        (["agree", "disagree", True, False, "yes", "no", 1, 0, 3], (5, 3, "medium")),
    ],
)
def test_start_back_risk_groups_follow_hill_2008(answers, expected):
    r = sk.score_start_back(answers)
    assert isinstance(r, StartBackResult)
    assert (r.total, r.psychosocial, r.risk) == expected


@pytest.mark.parametrize(
    ("answers", "match"),
    [
        ([0] * 8 + ["Somewhat"], r"'Somewhat' is not an answer; use one of Not at all, Slightly"),
        ([0] * 8 + [5], r"5 is out of range"),
        ([0] * 8 + [None], r"item 9 is blank"),
        ([None] + [0] * 7 + ["Slightly"], r"item 1 is blank"),
        ([0] * 8, r"exactly 9 answers; got 8"),
        (["perhaps"] + [0] * 7 + ["Slightly"], r"item 1: 'perhaps' is not yes/no"),
    ],
)
def test_start_back_rejects_bad_answers(answers, match):
    with pytest.raises(ValueError, match=match):
        sk.score_start_back(answers)


# --------------------------------------------------------------------------- SBI


def test_sbi_sums_four_items():
    assert sk.score_sbi([4, 3, 2, 5]) == 14
    assert sk.score_sbi([6, 6, 6, 6]) == 24
    assert sk.score_sbi([0, 0, 0, 0]) == 0


@pytest.mark.parametrize(
    ("answers", "match"),
    [
        ([7, 0, 0, 0], r"item 1: 7 is out of range"),
        ([0, 0, 1.5, 0], r"item 3: 1\.5 is out of range"),
        ([0, 0, 0, True], r"item 4: True is not a score"),
        ([1, 2, 3], r"exactly 4 answers; got 3"),
        ([None, 1, 1, 1], r"all four items answered"),
    ],
)
def test_sbi_rejects_bad_answers(answers, match):
    with pytest.raises(ValueError, match=match):
        sk.score_sbi(answers)
