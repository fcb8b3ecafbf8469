"""Generated bad input: the kit answers with a valid result or its own clear error, nothing else.

Which error each entry point may raise (anything else fails the test):

==========================  ==============================================
``sk.read_log``             a tidy log, or ``sk.LogError``
``Store.add``               an ImportResult, or ``sk.LogError`` (store unchanged)
``sk.load_catalog(extra=)`` a Catalog, or ``sk.CatalogError``
``sk.build_programme``      a Programme, or ``ValueError``
``sk.score_*``              a score, or ``ValueError``
==========================  ==============================================

Examples: few by default, many under ``SOAK=1`` (see helpers_reliability.fuzz).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
import signal
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import sciatica_kit as sk
from helpers_reliability import count, fuzz
from sciatica_kit.catalog import DOSE_FIELDS
from sciatica_kit.log import LOG_COLUMNS, validate_log
from sciatica_kit.store import Store

TODAY = dt.date(2026, 11, 21)
CAT = sk.load_catalog()
MEASURES = CAT.records["measures"]
KEY = ["patient_id", "date", "measure", "side"]
FORMULA = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"

# ----------------------------------------------------------------------------- strategies

text_any = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
long_text = st.text(alphabet=st.sampled_from("ab _-()/.,;:0123456789éß中\u200b\t"), min_size=300, max_size=3000)
date_like = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).flatmap(
    lambda d: st.sampled_from(
        [d.isoformat(), d.strftime("%d/%m/%Y"), d.strftime("%m/%d/%Y"), d.strftime("%d.%m.%y"), d.strftime("%Y-%m-%d 10:30"),
         d.strftime("%d %b %Y"), d.strftime("%Y/%m/%d"), f"{d.day}-{d.month}-{d.year}", d.strftime("%Y%m%d")]
    )
)
printable = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=30)
formula_text = st.builds(lambda a, b: a + b, st.sampled_from(["=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "'=", "''+", "'", " ="]), printable)
recent_date = st.dates(min_value=dt.date(2024, 1, 1), max_value=TODAY)
tricky = st.sampled_from(
    ["7/10", "45°", "12 cm", "1,5", "3.", ".5", "1e3", "-0", "0x10", "NaN", "inf", "-inf", "None", "null", "N/A", " ", "\u00a0",
     "31/01/2026", "01/31/2026", "2026-02-30", "2026-13-01", "0000-01-01", "9999-12-31", "31/12/9999", "1/1/1", "29/02/2025",
     "=1+1", "-2 better", "@SUM(A1)", "+1", "\t=1", "\r\n", "'=x", "\uff1d1", "\x00", "a\x00b", "\ud800", "x\udcff",
     "left", "L", "R", "both", "slr", "SLR L", "pain", "Pain (0-10)", "odi", "rmdq", "\ufeffpatient_id", "日本語", "😀" * 10,
     "1" + " " * 200 + "x", "_" * 300 + "l", "(" * 300]
)
huge = st.one_of(st.integers(min_value=-(10**30), max_value=10**30), st.sampled_from([10**400, -(10**400), 2**63, 2**64, 1e308, -1e308, 5e-324]))
cell = st.one_of(
    st.none(),
    st.just(""),
    st.floats(allow_nan=True, allow_infinity=True),
    huge,
    st.integers(min_value=0, max_value=120),
    text_any,
    tricky,
    date_like,
    long_text,
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1700, 1, 1), max_value=dt.datetime(2300, 1, 1)),
)
good_headers = ["patient_id", "date", "note", "pain", "Pain (0-10)", "leg_pain", "odi", "rmdq", "slr_left", "SLR R", "SLR (L)",
                "Fingertip to floor (cm)", "adherence", "start_back", "measure", "value", "side", "Patient ID", "Date"]
header = st.one_of(st.sampled_from(good_headers), text_any, tricky, st.integers(-5, 5), long_text)


def text_frame(data, **kw) -> pd.DataFrame:
    """A DataFrame as pandas builds it, or with object columns where text holds a lone surrogate.

    Arrow-backed text (pandas with pyarrow) cannot hold a lone surrogate; only an object
    column can, so that is the only way such text reaches the kit.
    """
    try:
        return pd.DataFrame(data, **kw)
    except UnicodeEncodeError:
        return pd.DataFrame(data, dtype=object, **kw)


@st.composite
def raw_frames(draw, wide: bool | None = None):
    """A table as a clinician's file might give it: random headers and cells, any shape."""
    if wide is None:
        wide = draw(st.booleans())
    if wide:
        base = ["patient_id", "date"] if draw(st.integers(0, 9)) else []
        cols = base + draw(st.lists(header, min_size=0, max_size=6))
    else:
        cols = ["patient_id", "date", "measure", "side", "value", "note"]
        if draw(st.integers(0, 4)) == 0:
            cols = draw(st.permutations(cols))
        if draw(st.integers(0, 6)) == 0:
            cols = [*cols, draw(header)]
    n = draw(st.integers(0, 6))
    rows = [[draw(cell) for _ in cols] for _ in range(n)]
    frame = text_frame(rows, columns=pd.Index(cols, dtype=object)) if rows else pd.DataFrame(columns=pd.Index(cols, dtype=object))
    return frame


@st.composite
def plausible_long_logs(draw, spoil: bool = True):
    """Long-form logs that are often valid, with hostile text in ids and notes and (if ``spoil``) some bad cells."""
    n = draw(st.integers(1, 8))
    rows = []
    for _ in range(n):
        mid = draw(st.sampled_from(sorted(MEASURES)))
        m = MEASURES[mid]
        side = draw(st.sampled_from(["left", "right"])) if m["sided"] else ""
        if m.get("integer"):
            value = float(draw(st.integers(int(m["min"]), int(m["max"]))))
        else:
            value = draw(st.floats(m["min"], m["max"], allow_nan=False)).__round__(2)
        rows.append({
            "patient_id": draw(st.one_of(st.sampled_from(["P1", "P2", "-P3", "=P4", "+P5", "@P6", "\uff1dP7"]),
                                         st.text(min_size=1, max_size=70) if spoil else printable.filter(str.strip))),
            "date": draw(recent_date).isoformat(),
            "measure": mid,
            "side": side,
            "value": value,
            "note": draw(st.one_of(st.just(""), st.text(max_size=40), tricky) if spoil else st.one_of(st.just(""), printable, formula_text)),
        })
    frame = text_frame(rows)
    if spoil and draw(st.integers(0, 3)) == 0:  # spoil one cell
        r = draw(st.integers(0, n - 1))
        c = draw(st.sampled_from(list(LOG_COLUMNS)))
        frame[c] = frame[c].astype(object)
        frame.at[r, c] = draw(cell)
    return frame


# ----------------------------------------------------------------------------- checks


def assert_valid_log(log: pd.DataFrame) -> None:
    """What a tidy log must be: every rule the import promises."""
    assert list(log.columns) == list(LOG_COLUMNS)
    assert str(log["date"].dtype) == "datetime64[ns]" and log["value"].dtype == "float64"
    assert not log.duplicated(KEY).any()
    for r in log.itertuples(index=False):
        assert isinstance(r.patient_id, str) and r.patient_id.strip() == r.patient_id and 1 <= len(r.patient_id) <= 64
        assert isinstance(r.note, str)
        m = MEASURES[r.measure]
        assert r.side in (("left", "right") if m["sided"] else ("",))
        assert math.isfinite(r.value) and m["min"] <= r.value <= m["max"], r
        if m.get("integer"):
            assert float(r.value).is_integer()
        assert pd.Timestamp("1900-01-01") <= r.date <= pd.Timestamp(TODAY)
        for text in (r.patient_id, r.note):
            text.encode("utf-8")  # a valid log can always be saved and exported


def read_or_log_error(src, **kw):
    try:
        log = sk.read_log(src, catalog=CAT, today=TODAY, **kw)
    except sk.LogError as exc:
        assert exc.problems, "a LogError must list its problems"
        assert str(exc).count("\n") <= 60, "a LogError message must stay readable"
        return None
    assert_valid_log(log)
    return log


# ----------------------------------------------------------------------------- read_log


@fuzz(60, 3000)
@given(raw_frames())
@example(pd.DataFrame([["P1", "2026-01-05", "5", "6"]], columns=["patient_id", "date", "pain", "pain"]))
@example(pd.DataFrame({"patient_id": ["P"], "date": ["0000-01-05"], "pain": ["3"]}))
@example(pd.DataFrame({"patient_id": ["P"], "date": ["31/12/9999"], "pain": ["3"]}))
@example(text_frame({"patient_id": ["P"], "date": ["2026-01-05"], "pain": ["1"], "note": ["\ud800"]}))
def test_read_log_frames_give_a_log_or_a_log_error(frame):
    count("hostile inputs tried")
    read_or_log_error(frame)


@fuzz(40, 2000)
@given(st.binary(max_size=3000), st.sampled_from([b"", b"PK\x03\x04", b"\xef\xbb\xbf", b"patient_id,date,pain\n", b"patient_id;date;pain\r\n",
                                                  b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]),
       st.sampled_from([".csv", ".xlsx", ".txt", ".tsv", ".xls", ".xlsm", ".CSV", ""]))
def test_read_log_random_bytes_give_a_log_or_a_log_error(tmp_path_factory, data, prefix, suffix):
    count("hostile inputs tried")
    path = tmp_path_factory.mktemp("bytes") / f"log{suffix}"
    path.write_bytes(prefix + data)
    read_or_log_error(path)


def _xlsx_bytes(rows) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD_XLSX = _xlsx_bytes([["patient_id", "date", "Pain (0-10)", "SLR L", "note"], ["P1", dt.datetime(2026, 1, 5), 7, "40°", "ok"],
                         ["P1", "12/01/2026", "6/10", 45, ""]])


@fuzz(30, 1500)
@given(st.lists(st.tuples(st.integers(0, len(GOOD_XLSX) - 1), st.integers(0, 255)), min_size=1, max_size=8), st.booleans(),
       st.integers(0, len(GOOD_XLSX)))
def test_damaged_workbooks_give_a_log_or_a_log_error(tmp_path_factory, flips, truncate, cut):
    count("hostile inputs tried")
    data = bytearray(GOOD_XLSX)
    for pos, byte in flips:
        data[pos] = byte
    if truncate:
        data = data[:cut]
    path = tmp_path_factory.mktemp("xlsx") / "log.xlsx"
    path.write_bytes(bytes(data))
    read_or_log_error(path, dayfirst=True)


@fuzz(30, 1500)
@given(st.lists(st.lists(cell, min_size=1, max_size=5), min_size=1, max_size=5), st.sampled_from([",", ";", "\t"]))
def test_random_csv_text_gives_a_log_or_a_log_error(tmp_path_factory, rows, sep):
    count("hostile inputs tried")
    lines = ["patient_id" + sep + "date" + sep + "pain"] + [sep.join("" if c is None else str(c) for c in r) for r in rows]
    path = tmp_path_factory.mktemp("csv") / "log.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8", errors="surrogatepass")
    read_or_log_error(path)


# --- the specific breakages found while fuzzing, kept as plain regression tests --------------


def _problems(frame) -> str:
    with pytest.raises(sk.LogError) as info:
        sk.read_log(frame, catalog=CAT, today=TODAY)
    return str(info.value)


def _workbook_with(member: str, edit) -> bytes:
    """GOOD_XLSX with one member of its zip rewritten by ``edit`` (bytes -> bytes)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(GOOD_XLSX)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, edit(data) if info.filename == member else data)
    return out.getvalue()


@pytest.mark.parametrize(("member", "edit", "words"), [
    # found by the fuzz test: one damaged byte left the workbook's list of sheets empty (IndexError)
    ("xl/workbook.xml", lambda b: re.sub(rb"<sheet [^>]*/>", b"", b), "the workbook has no sheet"),
    # read-only openpyxl parses a sheet's rows only when they are read: a damaged sheet fails then
    ("xl/worksheets/sheet1.xml", lambda b: b.replace(b"<sheetData>", b"<sheetData><row r=\"x\"><c r=\"A\" t=\"n\"><v>q</v></c></row>"),
     "the workbook's first sheet cannot be read"),
])
def test_a_workbook_damaged_inside_is_a_log_error_in_words(tmp_path, member, edit, words):
    data = _workbook_with(member, edit)
    assert data != GOOD_XLSX
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(data)
    with pytest.raises(sk.LogError) as info:
        sk.read_log(path, catalog=CAT, today=TODAY)
    assert words in str(info.value) and "Open it in Excel and save it again" in str(info.value)


def test_two_columns_with_the_same_header_are_a_log_error(tmp_path):
    frame = pd.DataFrame([["P1", "2026-01-05", "5", "6"]], columns=["patient_id", "date", "pain", "pain"])
    assert "pain" in _problems(frame)
    path = tmp_path / "dup.xlsx"
    path.write_bytes(_xlsx_bytes([["patient_id", "date", "pain", "pain"], ["P1", "2026-01-05", 3, 4]]))
    with pytest.raises(sk.LogError):
        sk.read_log(path, catalog=CAT, today=TODAY)


@pytest.mark.parametrize("date", ["0000-01-05", "31/12/9999", "9999-12-31", "1/1/1000", "1000-06-01", "01.01.0100"])
def test_implausible_years_are_a_log_error(date):
    text = _problems(pd.DataFrame({"patient_id": ["P"], "date": [date], "pain": ["3"]}))
    assert "row 2" in text.lower()


@pytest.mark.parametrize("where", ["header", "value", "note", "patient_id", "date"])
def test_very_long_cells_are_handled_quickly(where):
    """A 100 000-character cell (pasted junk) must not stall the import (no quadratic regex)."""
    junk = {"header": "_" * 100_000 + "l", "value": "1" + " " * 100_000 + "x", "note": "(" * 100_000,
            "patient_id": "-" * 100_000 + "left", "date": "1" * 100_000}[where]
    frame = pd.DataFrame({"patient_id": ["P"], "date": ["2026-01-05"], "pain": ["3"], "note": ["n"]})
    if where == "header":
        frame[junk] = ["1"]
    elif where == "value":
        frame["pain"] = [junk]
    else:
        frame[where] = [junk]
    # a hang guard, not a timing (timings live in `make bench`): a quadratic regex on 100 000
    # characters runs for hours, the kit's checks for milliseconds
    def stalled(signum, frame):
        raise AssertionError(f"reading a table with a very long {where} stalled for 60 s")

    previous = signal.signal(signal.SIGALRM, stalled)
    signal.alarm(60)
    try:
        read_or_log_error(frame)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("bad", ["\ud800", "x\udcff y"])
def test_text_that_cannot_be_saved_is_a_log_error_not_a_crash(tmp_path, bad):
    """Lone surrogates (e.g. from a badly decoded file name or JSON) cannot be written as UTF-8."""
    frame = text_frame({"patient_id": ["P"], "date": ["2026-01-05"], "measure": ["pain"], "side": [""], "value": [3.0], "note": [bad]})
    store = Store(tmp_path / "kit.sqlite")
    with pytest.raises(sk.LogError):
        store.add(frame)
    assert store.read().empty and store.imports().empty
    with pytest.raises(sk.LogError):
        sk.read_log(text_frame({**frame.to_dict("list"), "note": [""], "patient_id": [bad]}), catalog=CAT, today=TODAY)


# ----------------------------------------------------------------------------- the store


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("fuzzstore") / "kit.sqlite", catalog=CAT)
    yield store
    store.close()


def _snapshot(store):
    return store.read().sort_values(KEY, kind="stable").reset_index(drop=True)


@fuzz(40, 2000)
@given(st.one_of(plausible_long_logs(), raw_frames(wide=False)))
@example(text_frame({"patient_id": ["P"], "date": ["2026-01-05"], "measure": ["pain"], "side": [""], "value": [3.0], "note": ["\ud800"]}))
def test_store_is_never_half_written(fuzz_store, frame):
    """Every add either lands whole (exactly the validated log, merged) or leaves the store as it was."""
    count("hostile inputs tried")
    before = _snapshot(fuzz_store)
    imports_before = len(fuzz_store.imports())
    try:
        result = fuzz_store.add(frame, source="fuzz")
    except sk.LogError:
        after = _snapshot(fuzz_store)
        pd.testing.assert_frame_equal(after, before)
        assert len(fuzz_store.imports()) == imports_before
        count("store: rejected logs, store unchanged")
        return
    clean = validate_log(frame, catalog=CAT)
    assert_valid_log(clean)
    expected = (
        pd.concat([before, clean], ignore_index=True)
        .drop_duplicates(KEY, keep="last")
        .sort_values(KEY, kind="stable")
        .reset_index(drop=True)
    )
    after = _snapshot(fuzz_store)
    pd.testing.assert_frame_equal(after, expected, check_dtype=False)
    assert result.added + result.corrected + result.unchanged == len(clean)
    assert fuzz_store.integrity_check() == "ok"
    count("store: logs stored whole")


@fuzz(20, 1500)
@given(plausible_long_logs(spoil=False), st.sampled_from([".csv", ".xlsx"]), st.booleans())
def test_exported_logs_read_back_exactly(tmp_path_factory, frame, suffix, wide):
    """write_log -> read_log gives the same log: formula guards and odd text survive the round trip."""
    try:
        log = sk.read_log(frame, catalog=CAT, today=TODAY)
    except sk.LogError:
        assume(False)
    count("hostile inputs tried")
    path = tmp_path_factory.mktemp("rt") / f"log{suffix}"
    sk.write_log(log, path, wide=wide)
    back = sk.read_log(path, catalog=CAT, today=TODAY)
    if wide:  # notes of one visit are joined in a wide file
        pd.testing.assert_frame_equal(back.drop(columns="note"), log.drop(columns="note"))
    else:
        pd.testing.assert_frame_equal(back, log)


# ----------------------------------------------------------------------------- the catalogue

VALID_EXERCISE = {
    "id": "clinic_step_up", "name": "Step up", "category": "strengthening", "targets": ["legs"], "position": "standing",
    "equipment": ["step"], "steps": ["Step up.", "Step down."], "dose_source": "clinic protocol", "each_side": True,
    "phases": ["subacute", "chronic"], "progress_to": [], "regress_to": [], "cautions": [], "stop_if": ["Pain spreads."],
    "sources": ["clinic"], "sets": [2, 3], "reps": [8, 12], "hold_s": "not specified", "times_per_day": {"up_to": 2},
    "days_per_week": "not specified", "minutes": "not specified", "distance_km": "not specified",
}
VALID_CONDITION = {
    "id": "clinic_condition", "name": "Clinic condition", "description": "d", "sources": ["clinic"],
    "indicates": [{"exercise": "clinic_step_up", "why": "w", "source": "s"}, {"exercise": "walking", "why": "w", "source": "s"}],
    "excludes": [{"exercise": "floor_bridge", "why": "w", "source": "s", "unless_findings": ["extension_preference"],
                  "caution_if_lifted": "careful"}],
    "cautions": [{"exercise": "walking", "text": "t", "source": "s"}],
}

toml_scalar = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.sampled_from(["not specified", "NOT SPECIFIED", "walking", "nerve glide tensioner", "acute", "extension", "extension_preference", ""]),
)
toml_value = st.recursive(
    toml_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["up_to", "exercise", "why", "source", "text", "unless_findings", "caution_if_lifted", "x"]), inner, max_size=4)),
    max_leaves=8,
)


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def _table(section: str, rec: dict) -> str:
    return f"[[{section}]]\n" + "".join(f"{_toml_key(k)} = {_toml(v)}\n" for k, v in rec.items())


@st.composite
def clinic_files(draw):
    """A clinic file: valid entries with a few fields replaced, dropped or added, sometimes junk."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.text(max_size=200))
    parts = []
    for section, template in (("exercise", VALID_EXERCISE), ("condition", VALID_CONDITION)):
        for _ in range(draw(st.integers(0, 2))):
            rec = dict(template)
            for _ in range(draw(st.integers(0, 3))):
                key = draw(st.sampled_from([*template, "pose", "direction", "dose_note", "unknown_field", "snomed"]))
                if draw(st.integers(0, 4)) == 0:
                    rec.pop(key, None)
                else:
                    rec[key] = draw(toml_value)
            if section == "exercise" and draw(st.booleans()):
                rec[draw(st.sampled_from(DOSE_FIELDS))] = draw(st.lists(st.one_of(st.integers(0, 30), st.floats(0, 30, allow_nan=False)), min_size=2, max_size=2))
            parts.append(_table(section, rec))
    if draw(st.integers(0, 5)) == 0:
        parts.append(f"{draw(st.sampled_from(['phase', 'red_flag', 'x']))} = {_toml(draw(toml_value))}\n")
    return "\n".join(parts)


@fuzz(60, 3000)
@given(clinic_files())
@example(_table("exercise", {**VALID_EXERCISE, "progress_to": [5]}))
@example(_table("exercise", {**VALID_EXERCISE, "progress_to": [[1]]}))
@example(_table("exercise", {**VALID_EXERCISE, "regress_to": [{"a": 1}]}))
@example(_table("condition", {**VALID_CONDITION, "excludes": [{**VALID_CONDITION["excludes"][0], "unless_findings": 5}]}))
@example(_table("condition", {**VALID_CONDITION, "excludes": [{**VALID_CONDITION["excludes"][0], "unless_findings": [[1]]}]}))
@example(_table("exercise", {**VALID_EXERCISE, "reps": [2.5, 3.5]}) + _table("condition", VALID_CONDITION))
@example(_table("condition", {**VALID_CONDITION, "id": []}))
@example(_table("exercise", {**VALID_EXERCISE, "id": []}))
def test_clinic_catalogue_files_give_a_catalogue_or_a_catalog_error(text):
    count("hostile inputs tried")
    with tempfile.TemporaryDirectory() as d:  # a new file each time: no cache can answer for it
        path = Path(d) / "clinic.toml"
        path.write_text(text, encoding="utf-8")
        try:
            cat = sk.load_catalog(extra=path)
        except sk.CatalogError as exc:
            assert exc.problems
            return
    # a catalogue that loads must also build safe programmes for its clinic conditions
    extra_conditions = [c for c in cat.conditions.index if c not in CAT.conditions.index]
    for phase in ("acute", "subacute", "chronic"):
        prog = sk.build_programme(extra_conditions or ["sciatica"], phase=phase, catalog=cat)
        for r in prog.table.to_dict("records"):
            assert r["reason"] and r["dose_source"]
            for name in DOSE_FIELDS:
                value, low, high = r[name], cat.exercises.at[r["exercise_id"], f"{name}_low"], cat.exercises.at[r["exercise_id"], f"{name}_high"]
                if pd.isna(high):
                    assert pd.isna(value)
                else:
                    assert 0 < float(value) <= float(high), (r["exercise_id"], name, value, low, high)
                    assert pd.isna(low) or float(value) >= float(low), (r["exercise_id"], name, value, low, high)
        prog.to_html(pictures=False)


# ----------------------------------------------------------------------------- build_programme

ids_or_junk = st.one_of(
    st.lists(st.one_of(st.sampled_from(sorted(CAT.conditions.index)), text_any), max_size=4),
    st.lists(st.sampled_from(sorted(CAT.conditions.index)), max_size=4),
    st.none(), text_any, st.integers(), st.floats(), st.lists(st.lists(st.integers(), max_size=2), min_size=1, max_size=2),
    st.dictionaries(text_any, st.integers(), max_size=2), st.sets(st.sampled_from(sorted(CAT.conditions.index))),
)
exercise_ids = st.sampled_from(sorted(CAT.exercises.index))
overrides = st.one_of(
    st.lists(st.one_of(exercise_ids, text_any), max_size=3), st.dictionaries(exercise_ids, st.one_of(text_any, st.none(), st.integers()), max_size=3),
    st.none(), st.integers(), exercise_ids, st.lists(st.lists(st.integers(), max_size=1), min_size=1, max_size=1),
)
dose_value = st.one_of(st.none(), st.integers(-3, 40), huge, st.floats(allow_nan=True, allow_infinity=True), text_any, st.booleans(),
                       st.lists(st.integers(), max_size=2), st.just(2.5))
dose_edit = st.one_of(
    st.dictionaries(st.one_of(exercise_ids, text_any), st.dictionaries(st.one_of(st.sampled_from(DOSE_FIELDS), text_any), dose_value, max_size=3), max_size=3),
    st.none(), st.integers(), st.lists(st.integers(), max_size=2), st.dictionaries(exercise_ids, st.integers(), max_size=1),
)


@fuzz(80, 4000)
@given(
    conditions=ids_or_junk,
    phase=st.one_of(st.sampled_from(["acute", "subacute", "chronic"]), text_any, st.none(), st.integers(), st.lists(st.integers(), max_size=1)),
    red_flags=st.one_of(st.lists(st.sampled_from(sorted(CAT.red_flags.index)), max_size=2), ids_or_junk),
    findings=st.one_of(st.lists(st.sampled_from(sorted(CAT.findings.index)), max_size=3), ids_or_junk),
    exclude=overrides, include=overrides, dose_edits=dose_edit,
    patient=st.one_of(st.none(), text_any, st.integers(), st.just("<script>alert(1)</script>")),
)
@example(conditions=5, phase="acute", red_flags=(), findings=(), exclude=(), include=(), dose_edits=None, patient=None)
@example(conditions=[["a"]], phase="acute", red_flags=(), findings=(), exclude=(), include=(), dose_edits=None, patient=None)
@example(conditions=["sciatica"], phase="acute", red_flags=(), findings=(), exclude=(), include=5, dose_edits=None, patient=None)
@example(conditions=["sciatica"], phase="chronic", red_flags=(), findings=(), exclude=(), include=(),
         dose_edits={"walking": {"days_per_week": 1e308}}, patient=None)
@example(conditions=["sciatica"], phase="chronic", red_flags=(), findings=(), exclude=(), include=(),
         dose_edits={"walking": {"days_per_week": 10**400}}, patient=None)
@example(conditions=["sciatica"], phase="chronic", red_flags=(), findings=(), exclude=(), include=(), dose_edits=[1], patient=None)
@example(conditions=["sciatica"], phase="chronic", red_flags=(), findings=(), exclude=(), include=(), dose_edits={"walking": 5}, patient=None)
def test_build_programme_gives_a_programme_or_a_value_error(conditions, phase, red_flags, findings, exclude, include, dose_edits, patient):
    count("hostile inputs tried")
    try:
        prog = sk.build_programme(conditions, phase=phase, red_flags=red_flags, findings=findings, exclude=exclude,
                                  include=include, dose_edits=dose_edits, patient=patient, catalog=CAT)
    except ValueError as exc:
        assert str(exc).strip(), "the error must say what is wrong"
        return
    if prog.blocked:
        assert prog.table.empty and prog.referral.text
    for r in prog.table.to_dict("records"):
        assert r["reason"] and r["dose_source"]
        for name in DOSE_FIELDS:
            assert pd.isna(r[name]) or (math.isfinite(float(r[name])) and float(r[name]) > 0), (name, r[name])
    html = prog.to_html(pictures=False)
    assert "<script>" not in html


# ----------------------------------------------------------------------------- scorers

answer = st.one_of(
    st.none(), st.integers(-3, 8), huge, st.floats(allow_nan=True, allow_infinity=True), st.booleans(), text_any,
    st.sampled_from(["yes", "no", "Y", "agree", "disagree", "Very much", "extremely", "3", "3.0", "1e400", "nan", "", "x"]),
    st.just(pd.NA), st.just(np.float64("nan")), st.just(np.int64(2)), st.lists(st.integers(), max_size=2), st.just(b"3"),
    st.dictionaries(st.integers(), st.integers(), max_size=1), st.just(complex(1, 1)),
)
answer_lists = st.one_of(
    st.integers(0, 30).flatmap(lambda n: st.lists(answer, min_size=n, max_size=n)),
    st.sampled_from([4, 9, 10, 24]).flatmap(lambda n: st.lists(answer, min_size=n, max_size=n)),
    st.none(), text_any, st.integers(), st.floats(), st.binary(max_size=12),
    st.sampled_from([4, 9, 10, 24]).map(lambda n: np.arange(n)), st.sampled_from([4, 9, 10, 24]).map(lambda n: tuple(range(n))),
)


@fuzz(150, 6000)
@given(answer_lists)
@example([10**400] * 10)
@example([10**400] * 4)
@example([1] * 8 + [10**400])
@example([10**400] * 24)
def test_scorers_give_a_score_or_a_value_error(answers):
    count("hostile inputs tried", 4)
    for scorer in (sk.score_odi, sk.score_rmdq, sk.score_sbi, sk.score_start_back):
        try:
            result = scorer(answers)
        except ValueError as exc:
            assert str(exc).strip()
            continue
        if scorer is sk.score_odi:
            assert isinstance(result, float) and 0 <= result <= 100
        elif scorer is sk.score_start_back:
            assert 0 <= result.total <= 9 and 0 <= result.psychosocial <= 5 and result.psychosocial <= result.total
            assert result.risk in ("low", "medium", "high")
        else:
            assert isinstance(result, int) and 0 <= result <= 24


# ----------------------------------------------------------------------------- soak only


@pytest.mark.soak
@fuzz(25, 20000)
@given(st.data())
def test_soak_everything_at_once(fuzz_store, tmp_path_factory, data):
    """A long random walk over every entry point (make soak: SOAK=1 -m soak runs 20 000 steps)."""
    choice = data.draw(st.integers(0, 7), label="entry point")
    if choice == 0:
        test_read_log_frames_give_a_log_or_a_log_error.hypothesis.inner_test(data.draw(raw_frames()))
    elif choice == 1:
        frame = data.draw(st.one_of(plausible_long_logs(), raw_frames(wide=False)))
        test_store_is_never_half_written.hypothesis.inner_test(fuzz_store, frame)
    elif choice == 2:
        test_clinic_catalogue_files_give_a_catalogue_or_a_catalog_error.hypothesis.inner_test(data.draw(clinic_files()))
    elif choice == 3:
        test_scorers_give_a_score_or_a_value_error.hypothesis.inner_test(data.draw(answer_lists))
    elif choice == 4:
        test_build_programme_gives_a_programme_or_a_value_error.hypothesis.inner_test(
            conditions=data.draw(ids_or_junk), phase=data.draw(st.sampled_from(["acute", "subacute", "chronic", "x"])),
            red_flags=data.draw(st.lists(st.sampled_from(sorted(CAT.red_flags.index)), max_size=1)),
            findings=data.draw(st.lists(st.sampled_from(sorted(CAT.findings.index)), max_size=3)),
            exclude=data.draw(overrides), include=data.draw(overrides), dose_edits=data.draw(dose_edit),
            patient=data.draw(st.one_of(st.none(), text_any)))
    elif choice == 5:
        test_read_log_random_bytes_give_a_log_or_a_log_error.hypothesis.inner_test(
            tmp_path_factory, data.draw(st.binary(max_size=3000)), data.draw(st.sampled_from([b"", b"PK\x03\x04", b"patient_id,date,pain\n"])),
            data.draw(st.sampled_from([".csv", ".xlsx", ".txt"])))
    elif choice == 6:
        test_damaged_workbooks_give_a_log_or_a_log_error.hypothesis.inner_test(
            tmp_path_factory, data.draw(st.lists(st.tuples(st.integers(0, len(GOOD_XLSX) - 1), st.integers(0, 255)), min_size=1, max_size=8)),
            data.draw(st.booleans()), data.draw(st.integers(0, len(GOOD_XLSX))))
    else:
        frame = data.draw(plausible_long_logs(spoil=False))
        try:
            sk.read_log(frame, catalog=CAT, today=TODAY)
        except sk.LogError:
            return
        test_exported_logs_read_back_exactly.hypothesis.inner_test(
            tmp_path_factory, frame, data.draw(st.sampled_from([".csv", ".xlsx"])), data.draw(st.booleans()))


def test_whole_number_dose_fields_agree_between_catalogue_and_programme():
    """The catalogue's whole-number check covers exactly the dose columns the programme stores as whole numbers."""
    from sciatica_kit.catalog import WHOLE_DOSE_FIELDS

    table = sk.build_programme(["sciatica"]).table
    assert tuple(WHOLE_DOSE_FIELDS) == tuple(f for f in DOSE_FIELDS if str(table[f].dtype) == "Int64")
