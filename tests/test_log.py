"""Reading the progress logs clinicians keep: the corpus in tests/data/logs, errors, round trips."""

from __future__ import annotations

import datetime as dt
import importlib.util
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sciatica_kit as sk
from sciatica_kit.log import (
    LOG_COLUMNS,
    LogError,
    LogProblem,
    read_log,
    validate_log,
    write_log,
)
from tidy_logs import KEY, assert_same_log, canonical, tidy

LOGS = Path(__file__).resolve().parent / "data" / "logs"
MANIFEST = tomllib.loads((LOGS / "manifest.toml").read_text(encoding="utf-8"))
TODAY = dt.date.fromisoformat(MANIFEST["today"])
FILES = MANIFEST["file"]
ACCEPTED = [f for f in FILES if "rows" in f]
REJECTED = [f for f in FILES if "reject" in f]
def where(problems: list[LogProblem]) -> set[tuple]:
    return {(p.row, p.column) for p in problems}


def expected_where(entry: dict) -> set[tuple]:
    return {(r.get("row"), r.get("column")) for r in entry["reject"]}


def read(entry: dict) -> pd.DataFrame:
    return read_log(LOGS / entry["name"], today=TODAY, **entry.get("read", {}))


# --------------------------------------------------------------------------- the corpus


def test_corpus_is_large_and_every_file_is_in_the_manifest():
    on_disk = {p.name for p in LOGS.iterdir()} - {"manifest.toml", "make_corpus.py", "__pycache__"}
    listed = [f["name"] for f in FILES]
    assert len(listed) == len(set(listed))
    assert on_disk == set(listed)
    assert len(listed) >= 25
    assert len(ACCEPTED) >= 15 and len(REJECTED) >= 20
    for f in FILES:
        assert ("rows" in f) != ("reject" in f), f["name"]


def test_corpus_is_reproducible_from_its_script(tmp_path):
    spec = importlib.util.spec_from_file_location("make_corpus", LOGS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(tmp_path)
    assert (tmp_path / "manifest.toml").read_text(encoding="utf-8") == (
        LOGS / "manifest.toml"
    ).read_text(encoding="utf-8")
    for f in FILES:
        if f["name"].endswith(".xlsx"):
            continue  # zip containers carry timestamps; their content is checked by reading them
        assert (tmp_path / f["name"]).read_bytes() == (LOGS / f["name"]).read_bytes(), f["name"]


@pytest.mark.parametrize("entry", FILES, ids=[f["name"] for f in FILES])
def test_corpus_file(entry):
    if "rows" in entry:
        assert_same_log(read(entry), tidy(entry["rows"]))
        return
    with pytest.raises(LogError) as err:
        read(entry)
    assert where(err.value.problems) == expected_where(entry)
    message = str(err.value)
    assert entry["word"] in message
    assert "Nothing was saved" in message
    if "secret" in entry:
        assert entry["secret"] not in message
        assert (
            not err.value.table.astype(str)
            .apply(lambda s: s.str.contains(entry["secret"], regex=False))
            .any()
            .any()
        )


@pytest.fixture
def clinic_store(tmp_path):
    store = sk.Store(tmp_path / "clinic.sqlite", user="physio1")
    store.add(
        tidy(
            [
                ["P001", "2026-01-05", "pain", "", 7.0, "first"],
                ["P001", "2026-01-05", "slr", "left", 40.0, ""],
                ["P300", "2026-01-05", "pain", "", 6.0, ""],
            ]
        )
    )
    store.add(tidy([["P001", "2026-01-05", "pain", "", 6.0, "corrected"]]))
    return store


def _snapshot(store) -> tuple:
    return store.read(), store.history(), store.imports()


def _raw_long_frame(path: Path) -> pd.DataFrame | None:
    """The file read naively as text, as someone might hand it to Store.add directly."""
    if path.suffix != ".csv":
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if not text.startswith("patient_id,date,measure"):
        return None
    return pd.read_csv(LOGS / path.name, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("entry", REJECTED, ids=[f["name"] for f in REJECTED])
def test_rejected_file_leaves_the_store_unchanged(entry, clinic_store):
    before = _snapshot(clinic_store)
    path = LOGS / entry["name"]
    with pytest.raises(LogError):
        clinic_store.add(read_log(path, today=TODAY, **entry.get("read", {})), source=entry["name"])
    raw = _raw_long_frame(path)
    if raw is not None and entry["name"] != "future_date.csv":
        with pytest.raises(LogError):
            clinic_store.add(raw, source=entry["name"])
    after = _snapshot(clinic_store)
    for b, a in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert clinic_store.read()["value"].tolist() == [6.0, 40.0, 6.0]


# --------------------------------------------------------------------------- errors


def test_log_error_is_a_value_error_with_a_table():
    with pytest.raises(ValueError) as err:
        read(next(f for f in FILES if f["name"] == "many_problems.csv"))
    assert isinstance(err.value, LogError)
    table = err.value.table
    assert list(table.columns) == ["row", "column", "problem", "fix"]
    assert table["row"].tolist() == list(range(2, 12))
    assert str(table["row"].dtype) == "Int64"


def test_every_problem_is_listed_not_just_the_first():
    entry = next(f for f in FILES if f["name"] == "many_problems.csv")
    with pytest.raises(LogError) as err:
        read(entry)
    assert len(err.value.problems) == 10
    message = str(err.value)
    for row in range(2, 12):
        assert f"Row {row}, column" in message
    assert "11 is outside the range of Pain (NPRS) (0 to 10)" in message
    assert "'2026-02-30' is not a real calendar date" in message
    assert "Did you mean 'pain'?" in message
    assert "the date 2031-01-01 is in the future" in message
    assert "'45 cm' is not a number" in message


def test_very_many_problems_are_all_kept_and_the_message_is_capped():
    raw = pd.DataFrame(
        {
            "patient_id": [f"P{i:03d}" for i in range(60)],
            "date": ["2026-01-05"] * 60,
            "pain": ["11"] * 60,
        }
    )
    with pytest.raises(LogError) as err:
        read_log(raw, today=TODAY)
    assert len(err.value.problems) == 60
    assert "... and 10 more (see LogError.table)" in str(err.value)
    assert len(err.value.table) == 60


def test_notes_never_appear_in_error_messages():
    secret = "Mr Synthetic's private remark 90210"
    raw = pd.DataFrame(
        {
            "patient_id": ["DEMO-900", "DEMO-900", ""],
            "date": ["2026-01-05", "2026-13-01", "2026-01-07"],
            "pain": ["11", "5", "4"],
            "note": [secret, secret, secret],
        }
    )
    with pytest.raises(LogError) as err:
        read_log(raw, today=TODAY)
    assert where(err.value.problems) == {(2, "pain"), (3, "date"), (4, "patient_id")}
    assert "90210" not in str(err.value)
    assert "private remark" not in err.value.table.to_string()


def test_unknown_measure_suggests_the_closest_and_lists_the_valid_ones():
    raw = pd.DataFrame(
        {"patient_id": ["P1"], "date": ["2026-01-05"], "measure": ["schobr"], "value": ["20"]}
    )
    with pytest.raises(LogError) as err:
        read_log(raw, today=TODAY)
    (problem,) = err.value.problems
    assert (problem.row, problem.column) == (2, "measure")
    assert "'schobr' is not a known measure" in problem.problem
    assert "Did you mean 'schober'?" in problem.fix
    assert "adherence, back_pain, fingertip_floor" in problem.fix


def test_future_dates_are_judged_against_the_real_today_by_default():
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    raw = pd.DataFrame(
        {
            "patient_id": ["P1", "P1"],
            "date": [dt.date.today().isoformat(), tomorrow.isoformat()],
            "pain": ["5", "4"],
        }
    )
    with pytest.raises(LogError) as err:
        read_log(raw)
    assert where(err.value.problems) == {(3, "date")}
    assert f"the date {tomorrow.isoformat()} is in the future" in str(err.value)


def test_a_date_unambiguous_without_dayfirst_is_read():
    raw = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3"],
            "date": ["13/04/2026", "04/13/2026", "04/04/2026"],
            "pain": ["5", "4", "3"],
        }
    )
    log = read_log(raw, today=TODAY)
    assert log["date"].tolist() == [pd.Timestamp("2026-04-13")] * 2 + [pd.Timestamp("2026-04-04")]


def test_missing_file_and_folder_are_reported(tmp_path):
    with pytest.raises(LogError, match="does not exist"):
        read_log(tmp_path / "nowhere.csv")
    with pytest.raises(LogError, match="is a folder"):
        read_log(tmp_path)


def test_missing_required_columns_are_reported():
    raw = pd.DataFrame({"Patient": ["P1"], "pain": ["5"]})
    with pytest.raises(LogError) as err:
        read_log(raw, today=TODAY)
    assert "there is no 'date' column" in str(err.value)
    assert where(err.value.problems) == {(1, None)}


# --------------------------------------------------------------------------- accepted shapes


def test_read_log_accepts_a_dataframe_of_text_cells():
    raw = pd.DataFrame(
        {
            "Patient ID": ["P1", "P1"],
            "Date": ["2026-01-05", "2026-01-19"],
            "Pain (0-10)": ["7/10", "4"],
            "SLR L": ["40°", ""],
            "Notes": ["", "better"],
        }
    )
    assert_same_log(
        read_log(raw, today=TODAY),
        tidy(
            [
                ["P1", "2026-01-05", "pain", "", 7.0, ""],
                ["P1", "2026-01-05", "slr", "left", 40.0, ""],
                ["P1", "2026-01-19", "pain", "", 4.0, "better"],
            ]
        ),
    )


def test_read_log_returns_the_tidy_dtypes_sorted():
    log = read(next(f for f in FILES if f["name"] == "wide_human_headers.csv"))
    assert list(log.columns) == list(LOG_COLUMNS)
    assert log["date"].dtype == np.dtype("datetime64[ns]")
    assert log["value"].dtype == np.dtype("float64")
    assert log.index.equals(pd.RangeIndex(len(log)))
    assert log[KEY].equals(log[KEY].sort_values(KEY).reset_index(drop=True))


def test_explicit_separator_and_decimal(tmp_path):
    path = tmp_path / "visits.txt"
    path.write_text("patient_id|date|pain\nP1|2026-01-05|6,5\n", encoding="utf-8")
    log = read_log(path, sep="|", decimal=",", today=TODAY)
    assert log["value"].tolist() == [6.5]


def test_validate_log_accepts_a_tidy_log_built_in_code():
    log = tidy(
        [
            ["P1", "2026-01-05", "odi", "", 14 / 45 * 100, ""],
            ["P1", "2026-01-05", "slr", "right", 42.25, "x"],
        ]
    )
    out = validate_log(log, today=TODAY)
    assert_same_log(out, log)
    bad = log.assign(value=[101.0, 42.25])
    with pytest.raises(LogError, match="outside the range"):
        validate_log(bad, today=TODAY)


def test_a_log_read_by_pandas_itself_with_empty_notes_is_accepted(tmp_path):
    # pd.read_csv gives an all-empty note column as float NaN and values as int64
    path = tmp_path / "plain.csv"
    path.write_text(LONG_TEXT, encoding="utf-8")
    raw = pd.read_csv(path)
    assert raw["note"].dtype == "float64"
    expected = tidy(
        [["P1", "2026-01-05", "pain", "", 6.0, ""], ["P1", "2026-01-05", "slr", "left", 40.0, ""]]
    )
    assert_same_log(validate_log(raw, today=TODAY), expected)
    store = sk.Store(tmp_path / "kit.sqlite")
    assert store.add(raw).added == 2
    assert_same_log(store.read(), expected)
    store.close()


TYPED_CASES = {
    "clean": [
        ["P1", "2026-01-05", "pain", "", 6.0, "ok"],
        ["P1", "2026-01-05", "slr", "left", 40.0, None],
    ],
    "identical duplicate": [
        ["P1", "2026-01-05", "pain", "", 6.0, ""],
        ["P1", "2026-01-05", "pain", "", 6.0, ""],
    ],
    "conflicting duplicate": [
        ["P1", "2026-01-05", "pain", "", 6.0, ""],
        ["P1", "2026-01-05", "pain", "", 5.0, ""],
    ],
    "out of range": [
        ["P1", "2026-01-05", "pain", "", 11.0, ""],
        ["P1", "2026-01-05", "slr", "right", -1.0, ""],
    ],
    "not whole": [["P1", "2026-01-05", "rmdq", "", 4.5, ""]],
    "missing value": [["P1", "2026-01-05", "pain", "", float("nan"), ""]],
    "human names": [
        ["P1 ", "2026-01-05", "Pain (0-10)", "", 6.0, " x "],
        ["P1", "2026-01-05", "SLR", "L", 40.0, ""],
    ],
    "side problems": [
        ["P1", "2026-01-05", "pain", "left", 6.0, ""],
        ["P1", "2026-01-05", "slr", "", 40.0, ""],
    ],
    "unknown measure": [["P1", "2026-01-05", "pian", "", 6.0, ""]],
    "future": [["P1", "2031-01-05", "pain", "", 6.0, ""]],
    "many decimals": [
        ["P1", "2026-01-05", "odi", "", 14 / 45 * 100, ""],
        ["P2", "2026-01-05", "pain", "", 0.1, ""],
    ],
}


@pytest.mark.parametrize("rows", list(TYPED_CASES.values()), ids=list(TYPED_CASES))
def test_validate_log_gives_the_same_answer_for_typed_and_text_logs(rows):
    typed = tidy(rows)
    text = typed.assign(date=typed["date"].dt.strftime("%Y-%m-%d"), value=typed["value"].map(repr))

    def outcome(frame):
        try:
            return canonical(validate_log(frame, today=TODAY))
        except LogError as err:
            return sorted(where(err.problems), key=str)

    typed_result, text_result = outcome(typed), outcome(text)
    if isinstance(text_result, list):
        assert typed_result == text_result
    else:
        pd.testing.assert_frame_equal(typed_result, text_result, check_exact=True)


LONG_TEXT = (
    "patient_id,date,measure,side,value,note\nP1,2026-01-05,pain,,6,\nP1,2026-01-05,slr,left,40,\n"
)


# --------------------------------------------------------------------------- round trips

ROUND_TRIP = tidy(
    [
        ["P001", "2026-01-05", "pain", "", 6.5, "=SUM(A1:A9)"],
        ["P001", "2026-01-05", "odi", "", 14 / 45 * 100, "=SUM(A1:A9)"],
        ["P001", "2026-01-05", "slr", "left", 42.25, "=SUM(A1:A9)"],
        ["P001", "2026-01-05", "slr", "right", 71.5, "=SUM(A1:A9)"],
        ["P001", "2026-01-19", "pain", "", 0.1, "-2 since last week"],
        ["P001", "2026-01-19", "fingertip_floor", "", 12.3, "-2 since last week"],
        ["-P002", "2026-02-02", "adherence", "", 87.5, "+ walked, @home, 'quoted'"],
        ["-P002", "2026-02-09", "schober", "", 19.75, ""],
        ["DEMO-003", "2026-03-02", "rmdq", "", 11.0, 'said "better, thanks"'],
        ["DEMO-003", "2026-03-09", "rmdq", "", 9.0, "\uff1dfull-width equals"],
        ["DEMO-003", "2026-03-16", "rmdq", "", 8.0, "'=already guarded by hand"],
    ]
)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("wide", [False, True], ids=["long", "wide"])
def test_write_then_read_round_trips_exactly(tmp_path, suffix, wide):
    path = write_log(ROUND_TRIP, tmp_path / f"log{suffix}", wide=wide)
    assert path.exists()
    assert path.stat().st_mode & 0o777 == 0o600
    back = read_log(path, today=TODAY)
    assert_same_log(back, ROUND_TRIP)


def test_written_csv_guards_formulas(tmp_path):
    path = write_log(ROUND_TRIP, tmp_path / "log.csv")
    text = path.read_text(encoding="utf-8")
    assert ",'=SUM(A1:A9)" in text
    assert ",=SUM" not in text
    assert ",'-2 since last week" in text


def test_round_trip_through_the_wide_form_keeps_every_visit(tmp_path):
    from sciatica_kit.log import to_wide

    wide = to_wide(ROUND_TRIP)
    assert len(wide) == 7  # patient x date visits
    assert {"slr_left", "slr_right", "pain", "odi", "note"} <= set(wide.columns)


# ----------------------------------------------------------------------------- the environment and the log's dtypes


def test_the_kit_runs_with_arrow_strings():
    """pyarrow is a dependency: pandas stores text as Arrow strings, the environment every test runs in.

    If pyarrow went missing or pandas changed its string model, this fails first (and the
    README's "pandas and pyarrow" section needs a second look).
    """
    assert importlib.util.find_spec("pyarrow") is not None
    assert pd.Series(["P1"]).dtype == pd.StringDtype("pyarrow", na_value=np.nan)


def test_every_producer_gives_the_logs_dtypes(tmp_path):
    """A file, a table, a typed log and a re-read export all come back with exactly LOG_DTYPES (no casting)."""
    from sciatica_kit.log import LOG_DTYPES, empty_log

    raw = pd.DataFrame({"patient_id": ["P1", "P1"], "date": ["2026-01-05", "2026-01-12"], "pain": ["6", "4"],
                        "slr_left": ["40", "45"], "note": ["", "better"]})
    path = tmp_path / "wide.csv"
    raw.to_csv(path, index=False)
    long_path = tmp_path / "long.csv"
    from_frame = read_log(raw, today=TODAY)
    write_log(from_frame, long_path)
    typed = from_frame.assign(patient_id=from_frame["patient_id"].astype(object))
    produced = {
        "read_log(file)": read_log(path, today=TODAY),
        "read_log(frame)": from_frame,
        "read_log(long file)": read_log(long_path, today=TODAY),
        "validate_log(typed)": validate_log(typed, today=TODAY),
        "validate_log(text)": validate_log(from_frame.astype(str), today=TODAY),
        "empty_log()": empty_log(),
    }
    expected = pd.Series(LOG_DTYPES).map(pd.api.types.pandas_dtype)
    for name, log in produced.items():
        assert list(log.columns) == list(LOG_COLUMNS), name
        pd.testing.assert_series_equal(log.dtypes, expected, check_names=False, obj=name)
    pd.testing.assert_frame_equal(produced["read_log(file)"], produced["read_log(long file)"])


def test_consumers_refuse_text_dates_with_the_fix():
    from sciatica_kit.log import check_log

    log = read_log(pd.DataFrame({"patient_id": ["P1"], "date": ["2026-01-05"], "pain": ["6"]}), today=TODAY)
    with pytest.raises(LogError, match="dates are text") as info:
        check_log(log.assign(date=log["date"].dt.strftime("%Y-%m-%d")))
    assert "sk.read_log" in str(info.value)
    with pytest.raises(LogError, match="column is missing"):
        check_log(log.drop(columns=["side"]))
    with pytest.raises(LogError, match="not list"):
        check_log([1, 2])
