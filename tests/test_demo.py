"""Seeded synthetic demo patients: reproducible, valid, clinically shaped."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import sciatica_kit as sk
from sciatica_kit.demo import (
    DEMO_SEED,
    demo_daily_log,
    demo_log,
    demo_patients,
    main,
    seed_demo_store,
)
from sciatica_kit.log import LOG_COLUMNS

KEY = ["patient_id", "date", "measure", "side"]


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return demo_log(24)


def test_same_seed_gives_the_same_log(log):
    pd.testing.assert_frame_equal(demo_log(24), log, check_exact=True)
    pd.testing.assert_frame_equal(demo_patients(24), demo_patients(24))


def test_a_different_seed_gives_different_patients(log):
    other = demo_log(24, seed=DEMO_SEED + 1)
    assert not other.equals(log)
    assert not np.array_equal(
        other.loc[other["measure"] == "pain", "value"].to_numpy()[:20],
        log.loc[log["measure"] == "pain", "value"].to_numpy()[:20],
    )


def test_log_shape_and_ids(log):
    assert list(log.columns) == list(LOG_COLUMNS)
    assert sorted(log["patient_id"].unique()) == [f"DEMO-{i:03d}" for i in range(1, 25)]
    assert not log.duplicated(KEY).any()
    assert log["date"].dtype == "datetime64[ns]"
    assert set(log["side"]) == {"", "left", "right"}
    assert set(log.loc[log["side"] != "", "measure"]) == {"slr"}


def test_values_lie_within_each_measure_range(log, catalog):
    reg = catalog.records["measures"]
    assert set(log["measure"]) <= set(reg)
    for measure, values in log.groupby("measure")["value"]:
        assert values.min() >= reg[measure]["min"], measure
        assert values.max() <= reg[measure]["max"], measure
        if reg[measure]["integer"]:
            assert (values % 1 == 0).all(), measure


def test_the_log_passes_validation_unchanged(log):
    clean = sk.validate_log(log)
    pd.testing.assert_frame_equal(clean, log, check_exact=True)  # same dtypes too: both are conformed logs
    assert clean["value"].tolist() == log["value"].tolist()


def test_every_date_is_in_the_past(log):
    assert log["date"].max() <= pd.Timestamp(dt.date.today())
    assert log["date"].min() >= pd.Timestamp("2026-01-05")
    daily = demo_daily_log(2, days=30)
    assert daily["date"].max() < pd.Timestamp("2026-01-05")


def test_there_are_improvers_and_non_responders(log):
    summary = sk.summarise(log).merge(demo_patients(24)[["patient_id", "profile"]], on="patient_id")
    pain = summary[summary["measure"] == "pain"].set_index("patient_id")
    assert (
        pain.loc["DEMO-001", "profile"] == "improver"
        and bool(pain.loc["DEMO-001", "responder"]) is True
    )
    assert (
        pain.loc["DEMO-004", "profile"] == "non_responder"
        and bool(pain.loc["DEMO-004", "responder"]) is False
    )
    improvers = pain[pain["profile"] == "improver"]
    non_responders = pain[pain["profile"] == "non_responder"]
    assert len(improvers) >= 4 and len(non_responders) >= 2
    assert improvers["responder"].astype(bool).all()
    assert not non_responders["responder"].astype(bool).any()


def test_daily_log_size_is_patients_by_days_by_measures():
    daily = demo_daily_log(5, days=40, measures=("pain", "adherence"))
    assert len(daily) == 5 * 40 * 2
    assert daily.groupby(["patient_id", "measure"]).size().eq(40).all()
    assert daily.loc[daily["measure"] == "pain", "value"].between(0, 10).all()
    assert daily.loc[daily["measure"] == "adherence", "value"].between(0, 100).all()
    assert demo_daily_log(5, days=40).equals(demo_daily_log(5, days=40))


def test_seed_demo_store_is_idempotent(tmp_path):
    store = sk.Store(tmp_path / "kit.sqlite")
    assert seed_demo_store(store, n_patients=6) is store
    first = (store.read(), store.history(), store.imports(), store.programmes())
    seed_demo_store(store, n_patients=6)
    again = (store.read(), store.history(), store.imports(), store.programmes())
    for a, b in zip(first, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(
        store.read().reset_index(drop=True), demo_log(6).reset_index(drop=True)
    )
    patients = store.patients()
    assert patients["patient_id"].tolist() == [f"DEMO-{i:03d}" for i in range(1, 7)]
    assert patients.set_index("patient_id").loc["DEMO-001", "conditions"] == [
        "sciatica",
        "herniated_disc",
    ]
    # non-responders and flare-ups get a changed programme six weeks in
    counts = store.programmes().groupby("patient_id").size()
    assert counts["DEMO-004"] == 2 and counts["DEMO-005"] == 2 and counts["DEMO-001"] == 1
    store.close()


def test_seed_demo_store_fills_the_demo_store_never_the_clinic_store():
    from sciatica_kit.demo import demo_store_path

    store = seed_demo_store(n_patients=3)
    assert store.path == demo_store_path()
    assert len(store.patients()) == 3
    store.close()
    with sk.Store() as clinic:  # the clinic store ($SCIATICA_KIT_STORE) stays empty
        assert clinic.patients().empty


def test_command_line_seeds_the_demo_store_or_a_store_named_by_the_caller(tmp_path, capsys):
    from sciatica_kit.demo import demo_store_path

    assert main(["--seed-store", "--patients", "2"]) == 0
    with sk.Store(demo_store_path()) as demo, sk.Store() as clinic:
        assert list(demo.patients()["patient_id"]) == ["DEMO-001", "DEMO-002"]
        assert clinic.patients().empty
    named = tmp_path / "asked-for.sqlite"
    assert main(["--seed-store", "--store", str(named), "--patients", "2"]) == 0
    with sk.Store(named) as store:
        assert len(store.patients()) == 2


def test_command_line_writes_a_wide_csv_that_reads_back(tmp_path, capsys):
    out = tmp_path / "demo.csv"
    assert main(["--write", str(out), "--patients", "3"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    back = sk.read_log(out)
    expected = demo_log(3)
    cols = ["patient_id", "date", "measure", "side", "value"]
    pd.testing.assert_frame_equal(
        back[cols].reset_index(drop=True), expected[cols].reset_index(drop=True), check_dtype=False
    )
