"""Summaries against clinically meaningful thresholds, on hand-built logs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sciatica_kit as sk
from sciatica_kit.progress import SUMMARY_COLUMNS
from tidy_logs import tidy as log_of


def one(summary: pd.DataFrame, patient: str, measure: str, side: str = "") -> pd.Series:
    hit = summary[
        (summary["patient_id"] == patient)
        & (summary["measure"] == measure)
        & (summary["side"] == side)
    ]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_columns_and_one_row_per_patient_measure_side():
    log = log_of(
        [
            ("P1", "2026-01-05", "pain", "", 6),
            ("P1", "2026-01-12", "pain", "", 5),
            ("P1", "2026-01-05", "slr", "left", 40),
            ("P1", "2026-01-05", "slr", "right", 70),
            ("P2", "2026-01-05", "pain", "", 3),
        ]
    )
    s = sk.summarise(log)
    assert tuple(s.columns) == SUMMARY_COLUMNS
    assert list(zip(s["patient_id"], s["measure"], s["side"], strict=True)) == [
        ("P1", "pain", ""),
        ("P1", "slr", "left"),
        ("P1", "slr", "right"),
        ("P2", "pain", ""),
    ]
    assert s["n"].tolist() == [2, 1, 1, 1]


def test_baseline_is_the_first_date_even_when_rows_are_unsorted():
    log = log_of(
        [
            ("P1", "2026-01-19", "pain", "", 2.0),
            ("P1", "2026-02-02", "pain", "", 1.0),
            ("P1", "2026-01-05", "pain", "", 8.0),
            ("P1", "2026-01-12", "pain", "", 6.0),
        ]
    )
    r = one(sk.summarise(log), "P1", "pain")
    assert (r["baseline"], r["latest"], r["change"]) == (8.0, 1.0, -7.0)
    assert r["first_date"] == pd.Timestamp("2026-01-05")
    assert r["last_date"] == pd.Timestamp("2026-02-02")
    assert r["weeks"] == 4.0
    assert r["percent_change"] == pytest.approx(-87.5)
    assert r["improvement"] == 7.0  # lower pain is better: a fall is an improvement


def test_improvement_sign_follows_the_better_direction():
    log = log_of(
        [
            ("P1", "2026-01-05", "slr", "left", 40),
            ("P1", "2026-02-05", "slr", "left", 55),  # higher better, rose
            ("P1", "2026-01-05", "odi", "", 30),
            ("P1", "2026-02-05", "odi", "", 42),  # lower better, rose
            ("P1", "2026-01-05", "schober", "", 21),
            ("P1", "2026-02-05", "schober", "", 19.5),  # higher better, fell
        ]
    )
    s = sk.summarise(log)
    slr, odi, schober = one(s, "P1", "slr", "left"), one(s, "P1", "odi"), one(s, "P1", "schober")
    assert (slr["change"], slr["improvement"]) == (15.0, 15.0)
    assert (odi["change"], odi["improvement"]) == (12.0, -12.0)
    assert (schober["change"], schober["improvement"]) == (-1.5, -1.5)
    assert bool(odi["worse"]) is True  # 12 points worse is beyond the 10-point MCID
    assert bool(odi["responder"]) is False
    assert bool(slr["responder"]) is True  # 15 degrees > MDC 10


@pytest.mark.parametrize(
    ("baseline", "latest", "beats", "responder"),
    [
        (3.0, 2.0, True, False),  # 1 point, 33 % >= 30 %: beats the MCID by percent, but inside the MDC (2)
        (8.0, 6.0, True, True),  # 2 points (25 %): beats the MCID by points and reaches the MDC (>=)
        (8.0, 6.5, False, False),  # 1.5 points, 18.75 %: neither
        (10.0, 7.0, True, True),  # exactly 30 % and 3 points
        (2.0, 4.0, False, False),  # worse
    ],
)
def test_pain_responder_needs_the_mcid_and_the_mdc(baseline, latest, beats, responder):
    """A responder reaches the MCID (points or percent) AND the smallest detectable change."""
    log = log_of(
        [("P1", "2026-01-05", "pain", "", baseline), ("P1", "2026-02-05", "pain", "", latest)]
    )
    r = one(sk.summarise(log), "P1", "pain")
    assert r["mcid"] == "2 points or 30%"
    assert r["basis"] == "MCID and MDC"
    assert bool(r["beats_mcid"]) is beats
    assert bool(r["responder"]) is responder


@pytest.mark.parametrize(
    ("baseline", "latest", "worse"),
    [
        (4.0, 6.0, True),  # 2 points worse (50 %): MCID and MDC reached the other way
        (2.0, 3.0, False),  # 50 % worse but 1 point: inside measurement error
        (5.0, 6.0, False),  # 1 point, 20 %
        (6.0, 4.0, False),  # better
    ],
)
def test_worse_uses_the_same_thresholds_in_the_other_direction(baseline, latest, worse):
    log = log_of([("P1", "2026-01-05", "pain", "", baseline), ("P1", "2026-02-05", "pain", "", latest)])
    assert bool(one(sk.summarise(log), "P1", "pain")["worse"]) is worse


def test_odi_needs_10_points_or_30_percent():
    log = log_of(
        [
            ("A", "2026-01-05", "odi", "", 60),
            ("A", "2026-03-05", "odi", "", 51),  # 9 points, 15 %
            ("B", "2026-01-05", "odi", "", 60),
            ("B", "2026-03-05", "odi", "", 50),  # 10 points
            ("C", "2026-01-05", "odi", "", 20),
            ("C", "2026-03-05", "odi", "", 14),  # 6 points, 30 %: the MCID by percent, inside the MDC (10)
        ]
    )
    s = sk.summarise(log)
    assert [bool(one(s, p, "odi")["responder"]) for p in "ABC"] == [False, True, False]
    assert [bool(one(s, p, "odi")["beats_mcid"]) for p in "ABC"] == [False, True, True]
    assert one(s, "A", "odi")["mcid"] == "10 points or 30%"
    assert one(s, "A", "odi")["mdc"] == 10  # Davidson & Keating 2002
    assert bool(one(s, "B", "odi")["beats_mdc"]) is True  # exactly the MDC counts (>=)


def test_rmdq_responder_needs_5_points_the_published_detectable_change():
    log = log_of(
        [
            ("A", "2026-01-05", "rmdq", "", 10),
            ("A", "2026-03-05", "rmdq", "", 6),  # 4 points, 40 %: MCID by percent, inside the MDC (5)
            ("B", "2026-01-05", "rmdq", "", 12),
            ("B", "2026-03-05", "rmdq", "", 7),  # 5 points
        ]
    )
    s = sk.summarise(log)
    assert [bool(one(s, p, "rmdq")["responder"]) for p in "AB"] == [False, True]
    assert one(s, "A", "rmdq")["mdc"] == 5  # Stratford et al. 1996 (4-5 points; the upper figure)


def test_mdc_is_reported_beside_the_mcid():
    log = log_of([("P1", "2026-01-05", "pain", "", 7), ("P1", "2026-02-05", "pain", "", 4.5)])
    r = one(sk.summarise(log), "P1", "pain")
    assert r["mdc"] == 2.0
    assert bool(r["beats_mdc"]) is True


def test_responder_falls_back_to_the_mdc_when_no_mcid_is_published():
    log = log_of(
        [
            ("A", "2026-01-05", "fingertip_floor", "", 30),
            ("A", "2026-02-05", "fingertip_floor", "", 20.2),  # exactly 9.8: reaching the MDC counts (>=)
            ("B", "2026-01-05", "fingertip_floor", "", 30),
            ("B", "2026-02-05", "fingertip_floor", "", 21),  # 9 < 9.8
            ("C", "2026-01-05", "sbi", "", 18),
            ("C", "2026-02-05", "sbi", "", 12),  # 6 > 5
        ]
    )
    s = sk.summarise(log)
    a, b, c = one(s, "A", "fingertip_floor"), one(s, "B", "fingertip_floor"), one(s, "C", "sbi")
    assert (a["basis"], a["mcid"], a["mdc"]) == ("MDC", "not published", 9.8)
    assert a["beats_mcid"] is pd.NA
    assert (bool(a["responder"]), bool(b["responder"]), bool(c["responder"])) == (True, False, True)


def test_responder_is_unknown_without_any_threshold_or_with_a_single_entry():
    log = log_of(
        [
            ("P1", "2026-01-05", "adherence", "", 40),
            ("P1", "2026-02-05", "adherence", "", 95),
            ("P1", "2026-01-05", "lumbar_flexion", "", 40),
            ("P1", "2026-02-05", "lumbar_flexion", "", 60),
            ("P2", "2026-01-05", "pain", "", 8),
        ]
    )
    s = sk.summarise(log)
    adh, flex, single = (
        one(s, "P1", "adherence"),
        one(s, "P1", "lumbar_flexion"),
        one(s, "P2", "pain"),
    )
    for r in (adh, flex):
        assert r["basis"] == "no published threshold"
        assert r["responder"] is pd.NA and r["beats_mcid"] is pd.NA and r["beats_mdc"] is pd.NA
        assert r["improvement"] > 0
    assert single["responder"] is pd.NA
    assert single["beats_mcid"] is pd.NA
    assert (single["n"], single["change"], single["weeks"]) == (1, 0.0, 0.0)
    assert math.isnan(single["trend_per_week"])
    assert str(s["responder"].dtype) == "boolean"


def test_trend_per_week_is_exact_on_a_linear_series():
    dates = pd.date_range("2026-01-05", periods=10, freq="3D")
    values = 8.0 - 0.25 * np.arange(10)  # -0.25 per 3 days
    log = log_of(
        [("P1", d.strftime("%Y-%m-%d"), "pain", "", v) for d, v in zip(dates, values, strict=True)]
    )
    r = one(sk.summarise(log), "P1", "pain")
    assert r["trend_per_week"] == pytest.approx(-0.25 / 3 * 7, abs=1e-9)
    assert r["baseline"] == 8.0 and r["latest"] == pytest.approx(5.75)


def test_sides_are_summarised_separately():
    log = log_of(
        [
            ("P1", "2026-01-05", "slr", "left", 35),
            ("P1", "2026-02-05", "slr", "left", 60),
            ("P1", "2026-01-05", "slr", "right", 80),
            ("P1", "2026-02-05", "slr", "right", 75),
        ]
    )
    s = sk.summarise(log)
    left, right = one(s, "P1", "slr", "left"), one(s, "P1", "slr", "right")
    assert (left["baseline"], left["latest"], bool(left["responder"])) == (35.0, 60.0, True)
    assert (right["baseline"], right["latest"], bool(right["responder"])) == (80.0, 75.0, False)
    assert bool(right["worse"]) is False  # 5 degrees is within the 10-degree MDC


def test_empty_log_gives_an_empty_summary_with_the_columns():
    s = sk.summarise(log_of([]))
    assert s.empty
    assert tuple(s.columns) == SUMMARY_COLUMNS


def test_missing_side_is_treated_as_no_side():
    log = log_of([("P1", "2026-01-05", "pain", None, 6), ("P1", "2026-01-12", "pain", "", 4)])
    s = sk.summarise(log)
    assert len(s) == 1
    assert (s.iloc[0]["side"], s.iloc[0]["n"]) == ("", 2)
