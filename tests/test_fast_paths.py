"""The fast paths give exactly what the full paths give (issue 6: make it fast, change nothing).

read_log (clean wide CSV), validate_log / Store.add (typed tidy log), summarise and the
charts' PNG each have a fast path that steps aside for anything unusual.  Every case here
runs both ways and compares results, dtypes and problem messages.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import sciatica_kit as sk
from sciatica_kit import progress
from sciatica_kit.demo import demo_daily_log, demo_log
from sciatica_kit.log import LogError, read, validate
from sciatica_kit.log import fast as fast_paths

TODAY = pd.Timestamp("2026-11-01").date()


def _outcome(fn, *args, **kwargs):
    try:
        return "ok", fn(*args, **kwargs)
    except LogError as err:
        return "error", (str(err), [(p.row, p.column, p.problem, p.fix) for p in err.problems])


def _same(fast, full):
    assert fast[0] == full[0], (fast, full)
    if fast[0] == "ok":
        assert list(fast[1].dtypes) == list(full[1].dtypes)
        pd.testing.assert_frame_equal(fast[1], full[1], check_exact=True)
        assert np.array_equal(np.signbit(fast[1]["value"]), np.signbit(full[1]["value"]))
    else:
        assert fast[1] == full[1]


def _full(monkeypatch):
    monkeypatch.setattr(read, "_read_wide_csv_fast", lambda *a, **k: None)
    monkeypatch.setattr(validate, "_validate_typed", lambda *a, **k: None)
    monkeypatch.setattr(progress, "_aggregate_fast", lambda *a, **k: None)


# --------------------------------------------------------------------------- read_log


def _wide_text(log: pd.DataFrame, tmp_path) -> str:
    path = tmp_path / "w.csv"
    sk.write_log(log, path, wide=True)
    return path.read_text(encoding="utf-8")


def _variants(tmp_path):
    base = demo_log(12)
    text = _wide_text(base, tmp_path)
    head, *body = text.splitlines()
    rng = np.random.default_rng(6)
    shuffled = [body[i] for i in rng.permutation(len(body))]
    noted = base.copy()
    noted.loc[noted.index[::7], "note"] = "=SUM(A1), said \"better\""
    daily = demo_daily_log(3, days=40)
    return {
        "demo": (text, {}),
        "shuffled rows": ("\n".join([head, *shuffled]) + "\n", {}),
        "blank lines": ("\n".join([head, body[0], "", *body[1:], "", ""]) + "\n", {}),
        "byte order mark": ("\ufeff" + text, {}),
        "tab separated": (text.replace(",", "\t"), {}),
        "semicolons": (text.replace(",", ";"), {}),
        "spaces around cells": (text.replace(",", " , "), {}),
        "notes with quotes and formulas": (_wide_text(noted, tmp_path), {}),
        "daily entries": (_wide_text(daily, tmp_path), {}),
        "daily entries with notes": (_wide_text(daily.assign(note=np.where(daily.index % 4 == 0, "slept badly", "")), tmp_path), {}),
        "no note column": (_wide_text(daily, tmp_path).replace(",note\n", "\n").replace(",\n", "\n"), {}),
        "day-first dates": ("patient_id,date,pain\nP1,03/04/2026,5\nP1,13/04/2026,4\n", {"dayfirst": True}),
        "ambiguous dates": ("patient_id,date,pain\nP1,03/04/2026,5\n", {}),
        "a unit in a cell": ("patient_id,date,pain\nP1,2026-01-05,7/10\nP1,2026-01-12,5\n", {}),
        "decimal comma": ("patient_id;date;pain\nP1;2026-01-05;7,5\n", {}),
        "a future date": ("patient_id,date,pain\nP1,2030-01-05,7\n", {}),
        "out of range": ("patient_id,date,pain,odi\nP1,2026-01-05,11,40\n", {}),
        "not whole": ("patient_id,date,rmdq\nP1,2026-01-05,4.5\n", {}),
        "same visit twice": ("patient_id,date,pain\nP1,2026-01-05,7\nP1,2026-01-05,7\nP1,2026-01-05,6\n", {}),
        "a visit without values": ("patient_id,date,pain,note\nP1,2026-01-05,,just a note\n", {}),
        "missing patient": ("patient_id,date,pain\n,2026-01-05,7\n", {}),
        "unknown column": ("patient_id,date,pain,mood\nP1,2026-01-05,7,good\n", {}),
        "negative zero": ("patient_id,date,pain\nP1,2026-01-05,-0\nP1,2026-01-06,-0.0\n", {}),
        "nan text": ("patient_id,date,pain\nP1,2026-01-05,nan\n", {}),
        "infinity": ("patient_id,date,pain\nP1,2026-01-05,inf\n", {}),
        "windows line ends": (text.replace("\n", "\r\n"), {}),
        "header only": ("patient_id,date,pain\n", {}),
        "trailing separators": ("patient_id,date,pain\nP1,2026-01-05,7,\n", {}),
        "blank lines before the header": ("\n\n" + text, {}),
        "not UTF-8": ("patient_id,date,pain,note\nP1,2026-01-05,7,caf\u00e9 au lait\n".encode("cp1252"), {}),
        "UTF-8 notes": ("patient_id,date,pain,note\nP1,2026-01-05,7,Schmerz \u2193 \u75db\u307f\n", {}),
        "blank line in the middle": ("\n".join([head, *body[: len(body) // 2], "", *body[len(body) // 2 :]]) + "\n", {}),
        "no final line break": (text.rstrip("\n"), {}),
    }


@pytest.mark.parametrize("threaded", [False, True], ids=["one read", "two halves in threads"])
def test_read_log_fast_path_matches_the_full_path(tmp_path, monkeypatch, threaded):
    if threaded:  # big files without quotes are read as two halves; make every test file "big"
        monkeypatch.setattr(fast_paths, "_THREADED_READ_BYTES", 64)
    cases = _variants(tmp_path)
    fast = {}
    for name, (text, kw) in cases.items():
        path = tmp_path / f"{len(fast)}.csv"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", newline="")
        fast[name] = (path, kw, _outcome(sk.read_log, path, today=TODAY, **kw))
    # the clean files really take the fast path
    cat = sk.load_catalog()
    for name in ("demo", "shuffled rows", "byte order mark", "tab separated", "daily entries", "daily entries with notes",
                 "notes with quotes and formulas"):
        path, kw, _ = fast[name]
        assert fast_paths._read_wide_csv_fast(path, sep=None, decimal=None, dayfirst=None, today=TODAY, cat=cat) is not None, name
    _full(monkeypatch)
    for name, (path, kw, got) in fast.items():
        print(name)
        _same(got, _outcome(sk.read_log, path, today=TODAY, **kw))


# --------------------------------------------------------------------------- validate_log / Store.add


def _typed_cases():
    base = demo_log(10)
    daily = demo_daily_log(4, days=30)
    rng = np.random.default_rng(7)
    spelled = base.copy()
    spelled["measure"] = spelled["measure"].map({"pain": " Pain ", "slr": "SLR"}).fillna(spelled["measure"])
    spelled["side"] = spelled["side"].map({"left": "L", "right": " r "}).fillna("")
    timed = base.assign(date=base["date"] + pd.to_timedelta(rng.integers(0, 86_400, len(base)), unit="s"))
    notes = base.assign(note=base["note"].where(base.index % 5 != 0, None))
    implied = base[base["measure"] == "slr"].assign(measure=lambda d: "slr_" + d["side"], side="")
    return {
        "demo": base,
        "daily": daily,
        "shuffled": base.sample(frac=1.0, random_state=3),
        "object columns": base.astype({c: object for c in ("patient_id", "measure", "side", "note")}),
        "str columns": daily.astype({c: "str" for c in ("patient_id", "measure", "side", "note")}),
        "spelled measures and sides": spelled,
        "side implied by the measure": implied,
        "time of day": timed,
        "missing notes": notes,
        "no side or note column": base[base["measure"] != "slr"].drop(columns=["side", "note"]),
        "integer values": base[base["measure"] == "rmdq"].assign(value=lambda d: d["value"].astype(int)),
        "negative zero": base.assign(value=np.where(base["value"] == 0, -0.0, base["value"])),
        "duplicate rows": pd.concat([base.head(5), base.head(5)]),
        "a conflicting duplicate": pd.concat([base.head(5), base.head(1).assign(value=9.0)]),
        "out of range": base.assign(value=base["value"] + 200),
        "a future date": base.assign(date=base["date"] + pd.Timedelta(days=2000)),
        "a missing value": base.assign(value=base["value"].where(base.index != 4)),
        "an unknown measure": base.assign(measure=base["measure"].where(base.index != 2, "mood")),
        "a missing side": base.assign(side=base["side"].where(base["measure"] != "slr", "")),
        "a patient id too long": base.assign(patient_id=base["patient_id"].where(base.index != 1, "P" * 70)),
        "formula guard": base.assign(note=base["note"].where(base.index % 3 != 0, "'=1+1")),
        "text dates": base.assign(date=base["date"].dt.strftime("%Y-%m-%d")),
    }


def test_validate_log_fast_path_matches_the_full_path(monkeypatch):
    cases = _typed_cases()
    cat = sk.load_catalog()
    got = {name: _outcome(sk.validate_log, log, today=TODAY) for name, log in cases.items()}
    for name in ("demo", "daily", "shuffled", "object columns", "spelled measures and sides", "time of day", "missing notes"):
        assert fast_paths._validate_typed(cases[name], today=TODAY, cat=cat) is not None, name
    _full(monkeypatch)
    for name, log in cases.items():
        print(name)
        _same(got[name], _outcome(sk.validate_log, log, today=TODAY))


def test_fast_results_are_independent_writable_frames(tmp_path):
    log = sk.validate_log(demo_log(3))  # already tidy and sorted: nothing to reorder
    again = sk.validate_log(log)
    path = tmp_path / "w.csv"
    sk.write_log(log, path, wide=True)
    read = sk.read_log(path)
    for out in (again, read):
        out.loc[0, "value"] = 1.0
        out.loc[0, "note"] = "changed"
        out["value"] += 1
    assert log.loc[0, "value"] != 2.0 and log.loc[0, "note"] != "changed"


def test_store_add_counts_history_and_import_as_before(tmp_path):
    store = sk.Store(tmp_path / "kit.sqlite", user="physio1")
    log = demo_log(6)
    first = store.add(log)
    assert (first.added, first.corrected, first.unchanged) == (len(log), 0, 0)
    changed = log.copy()
    changed.loc[changed.index[:3], "value"] = changed["value"].iloc[:3] + 1
    changed.loc[changed.index[3], "note"] = "corrected note"
    extra = log.head(2).assign(date=log["date"].max() + pd.Timedelta(days=1))
    second = store.add(pd.concat([changed, extra]), user="physio2")
    assert (second.added, second.corrected, second.unchanged) == (2, 4, len(log) - 4)
    hist = store.history()
    assert len(hist) == 4 and set(hist["action"]) == {"corrected"} and set(hist["batch_id"]) == {second.batch_id}
    assert hist["old_value"].tolist()[:3] == log["value"].iloc[:3].tolist()
    assert set(hist["old_batch_id"]) == {first.batch_id}
    again = store.add(pd.concat([changed, extra]))
    assert (again.import_id, again.added, again.corrected) == (None, 0, 0)
    assert store.undo_last(user="physio2") == second.batch_id
    pd.testing.assert_frame_equal(store.read(), sk.validate_log(log))
    store.close()


# --------------------------------------------------------------------------- summarise and charts


def _summary_cases():
    base = demo_log(20)
    daily = demo_daily_log(6, days=60)
    rng = np.random.default_rng(8)
    return {
        "demo": base,
        "shuffled": base.sample(frac=1.0, random_state=1),
        "object keys": base.astype({c: object for c in ("patient_id", "measure", "side")}),
        "daily": daily,
        "fractional values": daily.assign(value=daily["value"] * 1.1 + rng.normal(0, 0.01, len(daily))).sample(frac=1.0, random_state=2),
        "halves": base.assign(value=base["value"] + 0.5),
        "time of day": daily.assign(date=daily["date"] + pd.to_timedelta(rng.integers(0, 86_400, len(daily)), unit="s")),
        "same day twice": pd.concat([base, base.assign(value=base["value"] + 1)]).reset_index(drop=True),
        "negative zero": base.assign(value=-0.0 * base["value"]),
        "a missing value": base.assign(value=base["value"].where(base.index != 3)),
        "missing sides": base.assign(side=base["side"].where(base["side"] != "", None)),
        "one row": base.head(1),
        "dates in seconds": daily.assign(date=daily["date"].astype("datetime64[s]")),
        "dates in nanoseconds with times": daily.assign(date=(daily["date"] + pd.Timedelta(hours=13)).astype("datetime64[ns]")),
        "before 1970 with times": daily.assign(date=daily["date"] - pd.Timedelta(days=365 * 60) + pd.Timedelta(hours=7)),
    }


@pytest.mark.parametrize("name", list(_summary_cases()))
def test_summarise_fast_path_matches_the_full_path(name, monkeypatch):
    log = _summary_cases()[name]
    fast = progress.summarise(log)
    _full(monkeypatch)
    full = progress.summarise(log)
    pd.testing.assert_frame_equal(fast, full, check_exact=True)
    assert np.array_equal(np.signbit(fast["trend_per_week"].to_numpy(float)), np.signbit(full["trend_per_week"].to_numpy(float)))


def test_chart_png_is_the_same_as_savefig():
    log = demo_log(6)
    make = [lambda: sk.plot_progress(log, "DEMO-001"), lambda: sk.plot_progress(demo_daily_log(1, days=400), "DAILY-00001"),
            lambda: sk.plot_cohort(log)]
    for m in make:
        fig = m()
        dpi, canvas = fig.dpi, fig.canvas
        png = fig._repr_png_()
        assert (fig.dpi, fig.canvas) == (dpi, canvas)
        buf = io.BytesIO()
        m().savefig(buf, format="png", dpi=96)
        assert png == buf.getvalue()


def test_factorize_by_runs_matches_pandas():
    rng = np.random.default_rng(9)
    cases = [
        np.array(["b", "b", "a", "a", "c", np.nan, np.nan, "a", None, None], dtype=object),
        np.repeat(np.array(["x", "a", "m"], dtype=object), 5000),
        np.array([""] * 10_000, dtype=object),
        rng.choice(np.array(["p", "q", "r"], dtype=object), 10_000),
        np.repeat(rng.choice(np.array([f"P{i}" for i in range(50)], dtype=object), 400), 30),
        np.array(["solo"], dtype=object),
    ]
    for values in cases:
        codes, uniques = progress._factorize_sorted(values)
        expected_codes, expected_uniques = pd.factorize(values, sort=True)
        assert np.array_equal(codes, expected_codes)
        assert list(uniques) == list(expected_uniques)


# --------------------------------------------------------------------------- generated input (hypothesis)

from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_MEASURE_COLUMNS = ["pain", "leg_pain", "odi", "rmdq", "slr_left", "slr_right", "adherence", "Pain (0-10)", "SLR L"]
_cell_values = st.one_of(
    st.just(""), st.integers(-2, 120).map(str), st.floats(-1, 110, allow_nan=False).map(lambda v: f"{v:.2f}"),
    st.sampled_from(["7/10", "45°", "x", "1,5", "-0", "nan", " 3", "3 "]),
)
_ids = st.one_of(st.sampled_from(["P1", "P2", "DEMO-003", "=P4", "-P5", " P6", "P 7", "\u75db"]),
                 st.text(alphabet="AZaz09-_ =+'\u00e9", min_size=0, max_size=8))
_dates = st.one_of(st.dates(min_value=pd.Timestamp("2025-01-01").date(), max_value=pd.Timestamp("2027-01-01").date()).map(str),
                   st.sampled_from(["03/04/2026", "2026-02-30", "", "2026-1-5"]))
_notes = st.one_of(st.just(""), st.sampled_from(["slept badly", "=SUM(A1)", "a, b", 'said "ok"', "'+1"]))


_clean_values = st.one_of(st.just(""), st.integers(0, 10).map(str), st.sampled_from(["2.5", "0", "10"]))
_clean_ids = st.sampled_from(["P1", "P2", "DEMO-003", "=P4", "\u75db", "P 7"])
_clean_dates = st.dates(min_value=pd.Timestamp("2025-01-01").date(), max_value=pd.Timestamp("2026-10-31").date()).map(str)


@st.composite
def _wide_files(draw):
    """Wide CSV text: half the time clean (so the fast path runs), else with any awkward cell."""
    clean = draw(st.booleans())
    columns = draw(st.lists(st.sampled_from(_MEASURE_COLUMNS[:2] if clean else _MEASURE_COLUMNS), min_size=1, max_size=4, unique=True))
    with_note = draw(st.booleans())
    header = ["patient_id", "date", *columns, *(["note"] if with_note else [])]
    rows = []
    ids, dates, values = (_clean_ids, _clean_dates, _clean_values) if clean else (_ids, _dates, _cell_values)
    for i in range(draw(st.integers(0, 12))):
        cells = [draw(values) for _ in columns]
        if clean:  # one visit per patient and day, each with a measurement
            cells[0] = cells[0] or "5"
            row = [draw(ids), str(pd.Timestamp("2025-01-01").date() + pd.Timedelta(days=i * 3 + draw(st.integers(0, 2)))), *cells]
        else:
            row = [draw(ids), draw(dates), *cells]
        if with_note:
            row.append(draw(_notes))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return frame.to_csv(index=False, sep=draw(st.sampled_from([",", ";", "\t"])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=_wide_files(), dayfirst=st.sampled_from([None, True, False]))
def test_generated_files_read_the_same_on_both_paths(tmp_path_factory, text, dayfirst):
    """Property: for any generated wide file, the fast path gives the full path's log or its exact errors."""
    path = tmp_path_factory.mktemp("gen") / "log.csv"
    path.write_text(text, encoding="utf-8", newline="")
    took_fast = fast_paths._read_wide_csv_fast(path, sep=None, decimal=None, dayfirst=dayfirst, today=TODAY, cat=sk.load_catalog())
    event("fast path taken" if took_fast is not None else "fast path stepped aside")
    fast_result = _outcome(sk.read_log, path, today=TODAY, dayfirst=dayfirst)
    with pytest.MonkeyPatch.context() as mp:
        _full(mp)
        full_result = _outcome(sk.read_log, path, today=TODAY, dayfirst=dayfirst)
    _same(fast_result, full_result)


@pytest.mark.parametrize("cell", ["nan", "NaN", " nan", "-nan", "inf", "-Inf", "Infinity", "+inf"])
@pytest.mark.parametrize("sep", [",", ";"])
def test_a_cell_reading_nan_or_inf_is_refused_on_both_paths(tmp_path, cell, sep):
    """Found by hypothesis: the fast path's number reader took "nan" for an empty cell (and "inf" for a
    number), where the full path says it is not a number."""
    text = sep.join(["patient_id", "date", "pain", "leg_pain", "odi"]) + "\n" + sep.join(["P1", "2025-01-01", "", "0", cell]) + "\n"
    path = tmp_path / "log.csv"
    path.write_text(text, encoding="utf-8", newline="")
    fast_result = _outcome(sk.read_log, path, today=TODAY)
    with pytest.MonkeyPatch.context() as mp:
        _full(mp)
        full_result = _outcome(sk.read_log, path, today=TODAY)
    _same(fast_result, full_result)
    assert full_result[0] == "error" and "is not a number" in full_result[1][0]


@pytest.mark.parametrize("text", [
    "patient_id,date,pain\nP1,2026-01-05,-0\nP1,2026-01-06,-0.0\n",  # every cell filled: the fast path reads it
    "patient_id,date,pain,odi\nP1,2025-01-01,,-0\n",  # an empty cell beside it (found by hypothesis)
], ids=["column without gaps", "beside an empty cell"])
@pytest.mark.parametrize("path", ["fast", "full"])
def test_a_negative_zero_in_a_file_is_stored_as_zero(tmp_path, monkeypatch, text, path):
    file = tmp_path / "log.csv"
    file.write_text(text, encoding="utf-8")
    if path == "full":
        _full(monkeypatch)
    log = sk.read_log(file, today=TODAY)
    assert (log["value"] == 0).all() and len(log) >= 1
    assert not np.signbit(log["value"]).any(), "a zero must never be kept as -0"
    assert ",-0" not in log.to_csv(index=False)


@st.composite
def _typed_logs(draw):
    """Typed tidy logs: half the time valid (so the fast path runs), else with any awkward value."""
    n = draw(st.integers(1, 15))
    if draw(st.booleans()):
        measures = draw(st.lists(st.sampled_from(["pain", "odi", "rmdq", "slr", " Pain ", "SLR"]), min_size=n, max_size=n))
        return pd.DataFrame({
            "patient_id": draw(st.lists(_clean_ids, min_size=n, max_size=n)),
            "date": pd.Timestamp("2025-06-01") + pd.to_timedelta(np.arange(n) * 2 + draw(st.integers(0, 1)), unit="D"),
            "measure": measures,
            "side": [draw(st.sampled_from(["left", "right", "L", " r "])) if m.strip().lower() == "slr" else "" for m in measures],
            "value": draw(st.lists(st.integers(0, 10).map(float), min_size=n, max_size=n)),
            "note": draw(st.lists(_notes, min_size=n, max_size=n)),
        })
    measures = draw(st.lists(st.sampled_from(["pain", "odi", "rmdq", "slr", "adherence", " Pain ", "mood"]), min_size=n, max_size=n))
    sides = [draw(st.sampled_from(["left", "right", "L", ""])) if m == "slr" else draw(st.sampled_from(["", "", "left"])) for m in measures]
    days = draw(st.lists(st.integers(0, 700), min_size=n, max_size=n))
    values = draw(st.lists(st.one_of(st.integers(0, 110).map(float), st.floats(-5, 120), st.just(float("nan"))), min_size=n, max_size=n))
    return pd.DataFrame({
        "patient_id": draw(st.lists(_ids, min_size=n, max_size=n)),
        "date": pd.Timestamp("2025-06-01") + pd.to_timedelta(days, unit="D"),
        "measure": measures, "side": sides, "value": values,
        "note": draw(st.lists(_notes, min_size=n, max_size=n)),
    })


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=_typed_logs())
def test_generated_typed_logs_validate_the_same_on_both_paths(log):
    """Property: for any generated typed log, validate_log's fast path gives the full path's result."""
    took_fast = fast_paths._validate_typed(log, today=TODAY, cat=sk.load_catalog())
    event("fast path taken" if took_fast is not None else "fast path stepped aside")
    fast_result = _outcome(sk.validate_log, log, today=TODAY)
    with pytest.MonkeyPatch.context() as mp:
        _full(mp)
        full_result = _outcome(sk.validate_log, log, today=TODAY)
    _same(fast_result, full_result)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=_typed_logs())
def test_generated_logs_summarise_the_same_on_both_paths(log):
    """Property: summarise's fast aggregation gives the full path's numbers on any valid generated log."""
    try:
        clean = sk.validate_log(log, today=TODAY)
    except sk.LogError:
        return
    fast_summary = sk.summarise(clean)
    with pytest.MonkeyPatch.context() as mp:
        _full(mp)
        full_summary = sk.summarise(clean)
    pd.testing.assert_frame_equal(fast_summary, full_summary, check_exact=True)
