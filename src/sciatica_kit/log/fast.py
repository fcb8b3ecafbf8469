"""The fast paths: a clean wide CSV (:func:`~sciatica_kit.log.read_log`) or an already typed tidy log
(:func:`~sciatica_kit.log.validate_log`, so every ``Store.add``) checked column-wise on each column's
distinct values, without the per-cell text round trip.

Whenever anything is unusual - any problem at all, a unit in a cell, a duplicate visit, an odd
header - they return None and the full path runs, so results and problem messages are exactly those
of the full path.  The rules themselves live in :mod:`.rules`; ``tests/test_fast_paths.py`` compares
the two paths on generated logs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from sciatica_kit.log.headers import _SIDE_WORDS, _map_header, _measure_id
from sciatica_kit.log.rules import (
    CSV_SUFFIXES,
    _dates_ok,
    _parse_dates,
    _sniff_sep,
    _texts_ok,
    _unneutralise,
    _values_ok,
)
from sciatica_kit.log.schema import LOG_DTYPES, conform_log

_THREADED_READ_BYTES = 4 * 1024 * 1024  # CSV files above this (and without quotes) are read in two threads


def _encode(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (int32: half the memory of intp for a big log) and distinct values (object array) of a
    column; NA becomes ''."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    codes = codes.astype(np.int32, copy=False)  # fewer distinct texts than rows, and rows fit an int32 index
    uniques = np.asarray(uniques, dtype=object)
    if (codes < 0).any():
        codes = np.where(codes < 0, np.int32(len(uniques)), codes)
        uniques = np.append(uniques, "").astype(object)
    return codes, uniques


def _encode_parts(columns: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_encode` over the pieces of one column (a text may appear among the distinct values twice)."""
    if len(columns) == 1:
        return _encode(columns[0])
    codes, uniques, offset = [], [], 0
    for column in columns:
        c, u = _encode(column)
        codes.append(c + offset)
        uniques.append(u)
        offset += len(u)
    return np.concatenate(codes), np.concatenate(uniques)


def _read_arrow(data: bytes, sep: str, columns: list, numbers: set) -> pd.DataFrame | None:
    """The CSV read by Arrow's multithreaded reader: numbers as floats, text dictionary-coded; None if it balks.

    Used only for files without quotes or leading spaces, where Arrow and pandas split cells alike;
    any cell Arrow will not read as asked (a unit, a stray space, bad UTF-8, a ragged row) gives None
    and pandas reads the file instead.
    """
    import pyarrow.csv as pa_csv

    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if len(sep) != 1 or len(set(columns)) != len(columns) or not data[start : data.find(b"\n", start)].strip():
        return None  # the header must be the first line (blank lines above it: pandas decides)
    types = {c: (pa.float64() if c in numbers else pa.dictionary(pa.int32(), pa.string())) for c in columns}
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(column_names=[str(c) for c in columns], skip_rows=1),
            parse_options=pa_csv.ParseOptions(delimiter=sep, quote_char=False, ignore_empty_lines=True),
            convert_options=pa_csv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=False,
                                                  quoted_strings_can_be_null=False),
        )
    except (pa.ArrowException, UnicodeDecodeError, ValueError, TypeError):
        return None
    return table.to_pandas()


def _read_parts(data: bytes, **options) -> list[pd.DataFrame]:
    """The CSV read by pandas; a big file without quoted cells as two halves, in two threads.

    Without quotes every line break ends a row, so each half (the second with the header line
    put in front) reads exactly as that part of the whole file would.  pandas does the same
    for big files it reads from a path.
    """
    halves = None
    if len(data) >= _THREADED_READ_BYTES and b'"' not in data:
        start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        head = data.find(b"\n", start) + 1
        mid = data.find(b"\n", (head + len(data)) // 2) + 1
        if 0 < head < mid < len(data) and data[start:head].strip():
            halves = (data[:mid], data[:head] + data[mid:])
    if halves is None:
        return [pd.read_csv(io.BytesIO(data), **options)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:  # the parser lets go of the GIL while it splits cells
        return list(pool.map(lambda part: pd.read_csv(io.BytesIO(part), **options), halves))


def _stripped(uniques: np.ndarray) -> np.ndarray | None:
    """Distinct cell texts stripped as the full path strips them; None if any is not text."""
    if not all(isinstance(u, str) for u in uniques):
        return None
    return np.array([u.strip() for u in uniques], dtype=object)


def _used(codes: np.ndarray, uniques: np.ndarray) -> np.ndarray:
    return uniques[np.bincount(codes, minlength=len(uniques)) > 0]


def _text_column(uniques: np.ndarray, codes: np.ndarray, order: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
    """The text column ``uniques[codes[order]]`` as the log's text dtype, gathered by Arrow (no Python string per row)."""
    if len(uniques) == 1:  # one text throughout (no notes, no sides): nothing to look up
        taken = pa.repeat(pa.scalar(uniques[0], type=pa.large_string()), len(codes))
    else:
        taken = pa.array(uniques, type=pa.large_string()).take(pa.array(codes if order is None else codes[order]))
    return pd.arrays.ArrowExtensionArray(taken).astype(LOG_DTYPES["patient_id"])


def _tidy_frame(columns: dict, dates: np.ndarray, values: np.ndarray, order: np.ndarray | None = None) -> pd.DataFrame:
    """The tidy log as the full path builds it; ``columns`` gives each text column as (distinct texts, codes).

    ``order`` (row positions) reorders the text columns' codes, one column at a time, so a big log
    never holds a reordered copy of every column at once; ``dates`` and ``values`` come in order.
    """
    texts = {c: _text_column(*columns[c], order) for c in ("patient_id", "measure", "side", "note")}
    log = pd.DataFrame(
        {"patient_id": texts["patient_id"], "date": dates, "measure": texts["measure"], "side": texts["side"], "value": values,
         "note": texts["note"]},
        copy=False,
    )
    return conform_log(log)


def _finish_fast(pid_codes, pid_text, dates, m_codes, m_ids, s_codes, sides, values, note_codes, note_text, *, today, cat):
    """The checks and tidy-up of :func:`_validate_cells` for data with no problem, or None."""
    if len(values) == 0:
        return None
    if not (_texts_ok(_used(pid_codes, pid_text), _used(note_codes, note_text)) and _dates_ok(dates, today)
            and _values_ok(values, m_codes, m_ids, cat.records["measures"])):
        return None
    pid_final = _unneutralise(pd.Series(pid_text, dtype=object)).to_numpy(dtype=object)
    note_final = _unneutralise(pd.Series(note_text, dtype=object)).to_numpy(dtype=object)
    # one integer per (patient, date, measure, side), ordered as the sorted key; built in place,
    # so a big log holds one key array and no temporaries besides it
    ranks = [pd.factorize(u, sort=True)[0] for u in (pid_final, m_ids, sides)]
    sizes = [int(r.max()) + 1 for r in ranks]
    day = dates.astype("datetime64[D]").astype(np.int64, copy=False)
    day -= day.min()
    n_days = int(day.max()) + 1
    if float(sizes[0]) * n_days * sizes[1] * sizes[2] >= 2.0**62:
        return None
    key = ranks[0].astype(np.int64, copy=False)[pid_codes]
    key *= n_days
    key += day
    del day
    for rank, codes, size in ((ranks[1], m_codes, sizes[1]), (ranks[2], s_codes, sizes[2])):
        key *= size
        key += rank[codes]
    if (key[1:] > key[:-1]).all():
        order = None  # already in order (a store's export, a sorted file): nothing to move
        values = values + 0.0  # a new array (never the caller's), with any -0 made 0 as conform_log does
    else:
        order = np.argsort(key, kind="stable")
        key = key[order]
        if (key[1:] == key[:-1]).any():
            return None  # the same patient, date, measure and side twice: the full path decides
        dates, values = dates[order], values[order]
        values += 0.0
    del key
    columns = {"patient_id": (pid_final, pid_codes), "measure": (m_ids, m_codes), "side": (sides, s_codes),
               "note": (note_final, note_codes)}
    return _tidy_frame(columns, dates, values, order)


def _first_line(text: str) -> str:
    """The first non-blank line (what :func:`_sniff_sep` reads), without splitting the whole text."""
    pos = 0
    while True:
        end = text.find("\n", pos)
        line = text[pos:] if end < 0 else text[pos:end]
        if line.strip() or end < 0:
            return line
        pos = end + 1


def _nan_cell(data: bytes, sep: str) -> bool:
    """True when a cell of ``data`` reads "nan" (any case, signed, between spaces): the fast path steps aside."""
    if b"nan" not in data.lower():  # the usual case, at a fraction of the cells' search
        return False
    cell_start = rb"(?:^|" + re.escape(sep.encode("utf-8")) + rb")"
    cell_end = rb"(?=" + re.escape(sep.encode("utf-8")) + rb"|\r|\n|\Z)"
    return re.search(cell_start + rb"[ \t]*[+-]?nan[ \t]*" + cell_end, data, re.IGNORECASE | re.MULTILINE) is not None


def _read_wide_csv_fast(path, *, sep, decimal, dayfirst, today, cat) -> pd.DataFrame | None:
    """read_log's fast path: a wide CSV (one column per measure) of plain numbers and no problem."""
    try:
        path = Path(path)
        if path.suffix.lower() not in CSV_SUFFIXES or not path.is_file():
            return None
        data = path.read_bytes()
    except (OSError, TypeError, ValueError):
        return None
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or b"\x00" in data[:4096] or b"\r" in data:
        return None
    # only the start is decoded here (for the separator); the CSV reader decodes the rest and
    # stops at any byte that is not UTF-8, and the full path then tries the other encodings
    start = data[:65536]
    if not start.strip(b"\xef\xbb\xbf \t\n\x0b\x0c") or b"\n" not in start:
        return None
    try:
        text = start[: start.rindex(b"\n")].decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if not _first_line(text).strip():
        return None
    sep = sep or _sniff_sep(_first_line(text))
    if (decimal or ("," if sep == ";" else ".")) != ".":
        return None
    # skipinitialspace (as the full path reads) only matters where a cell starts with a space or
    # tab; the reader is much quicker without it, so it is left out when no cell does
    spaced = len(sep) != 1 or not sep.isascii()
    if not spaced and (b" " in data or b"\t" in data):
        body = np.frombuffer(data, dtype=np.uint8)[3 if data.startswith(b"\xef\xbb\xbf") else 0 :]
        before = body[np.flatnonzero((body[1:] == 32) | (body[1:] == 9))]  # the byte before each space or tab
        spaced = bool(np.isin(body[:1], (32, 9)).any() or ((before == ord(sep)) | (before == 10)).any())
    if _nan_cell(data, sep):
        return None  # the number readers take "nan" for an empty cell; the full path says it is not a number
    opts = dict(sep=sep, keep_default_na=False, skip_blank_lines=False, skipinitialspace=spaced, engine="c", encoding="utf-8-sig")
    try:
        header = pd.read_csv(io.BytesIO(data), nrows=0, dtype=str, **opts)
    except (ValueError, csv.Error):
        return None
    measures = cat.records["measures"]
    columns = [str(c) for c in header.columns]
    mapping = {c: _map_header(c, cat) for c in columns}
    targets = list(mapping.values())
    if (
        None in targets
        or len(set(targets)) != len(targets)
        or not isinstance(header.index, pd.RangeIndex)
        or {t for t, _ in targets} & {"measure", "value", "side"}
        or not {"patient_id", "date"} <= {t for t, _ in targets}
    ):
        return None
    col_of = {t: c for c, (t, _) in mapping.items() if t in ("patient_id", "date", "note")}
    measure_cols = [(c, t, s) for c, (t, s) in mapping.items() if t in measures]
    if not measure_cols or any(measures[t]["sided"] and not s for _, t, s in measure_cols):
        return None
    names = {c for c, _, _ in measure_cols}
    arrow = None if spaced or b'"' in data else _read_arrow(data, sep, list(header.columns), names)
    try:
        parts = [arrow] if arrow is not None else _read_parts(
            data,
            dtype={c: ("float64" if c in names else "category") for c in header.columns},  # category: text cells come dictionary-coded
            na_values={c: [""] for c in header.columns if c in names},
            **opts,
        )
    except (ValueError, OverflowError, csv.Error):
        return None  # a cell that is not a plain number (a unit, a decimal comma, a typo)
    if any([str(c) for c in raw.columns] != columns or not isinstance(raw.index, pd.RangeIndex) for raw in parts):
        return None
    n_rows = sum(len(raw) for raw in parts)
    if n_rows == 0:
        return None
    encoded = {}
    for t in ("patient_id", "date", "note"):
        if t in col_of:
            codes, uniques = _encode_parts([raw[col_of[t]] for raw in parts])
            text_u = _stripped(uniques)
            if text_u is None:
                return None
        else:
            codes, text_u = np.zeros(n_rows, dtype=np.intp), np.array([""], dtype=object)
        encoded[t] = (codes, text_u)
    vals = [np.concatenate([raw[c].to_numpy(dtype=np.float64) for raw in parts]) for c, _, _ in measure_cols]
    present = [~np.isnan(v) for v in vals]
    any_value = np.logical_or.reduce(present)
    blank = ~any_value
    for codes, text_u in encoded.values():
        blank &= (text_u == "")[codes]
    if (~any_value & ~blank).any():
        return None  # a visit without any measurement: reported by the full path
    if blank.all():
        return None
    if blank.any():  # lines with nothing in them are dropped, as the full path drops them
        keep = ~blank
        encoded = {t: (codes[keep], text_u) for t, (codes, text_u) in encoded.items()}
        vals, present = [v[keep] for v in vals], [p[keep] for p in present]
    (pid_c, pid_u), (date_c, date_u), (note_c, note_u) = (encoded[t] for t in ("patient_id", "date", "note"))
    # every check on distinct texts and dates, and on each measure column before it is unstacked
    dates_u, reason_u = _parse_dates(pd.Series(date_u, dtype=object), dayfirst)
    in_use = np.bincount(date_c, minlength=len(date_u)) > 0
    day_u = dates_u.to_numpy(dtype="datetime64[ns]")
    if (reason_u.to_numpy(dtype=object)[in_use] != "").any() or not _dates_ok(day_u[in_use], today):
        return None
    if not _texts_ok(_used(pid_c, pid_u), _used(note_c, note_u)):
        return None
    cols = sorted(range(len(measure_cols)), key=lambda j: measure_cols[j][1:])  # (measure, side) order
    m_ids = np.array([measure_cols[j][1] for j in cols], dtype=object)
    sides = np.array([measure_cols[j][2] for j in cols], dtype=object)
    if not all(_values_ok(vals[j][present[j]], 0, m_ids[i : i + 1], measures) for i, j in enumerate(cols)):
        return None
    pid_final = _unneutralise(pd.Series(pid_u, dtype=object)).to_numpy(dtype=object)
    note_final = _unneutralise(pd.Series(note_u, dtype=object)).to_numpy(dtype=object)
    # visits in patient then date order; each visit's entries then come in (measure, side) order,
    # which is the tidy log's order (a file sorted by patient and date needs no reordering)
    day = np.where(in_use, day_u, day_u[in_use][0]).astype("datetime64[D]").astype(np.int64)
    day = day - day.min()
    visit = pd.factorize(pid_final, sort=True)[0][pid_c] * (int(day.max()) + 1) + day[date_c]
    if (visit[1:] > visit[:-1]).all():
        order = slice(None)
    else:
        order = np.argsort(visit, kind="stable")
        if (np.diff(visit[order]) == 0).any():
            return None  # two lines for the same patient and date: the full path decides
    grid = np.column_stack([present[j] for j in cols])[order]
    values = np.column_stack([vals[j] for j in cols])[order]
    if grid.all():  # every visit has every measure (a daily logger's file): repeat, no search
        each = lambda per_row: np.repeat(per_row[order], len(cols))  # noqa: E731
        per_column = lambda per_col: np.tile(per_col, len(grid))  # noqa: E731
        values = values.ravel()
    else:
        row, part = np.nonzero(grid)
        each = lambda per_row: per_row[order][row]  # noqa: E731
        per_column = lambda per_col: per_col[part]  # noqa: E731
        values = values[grid]

    per_measure = per_column(np.arange(len(cols)))
    columns = {
        "patient_id": (pid_final, each(pid_c)),
        "measure": (m_ids, per_measure),
        "side": (sides, per_measure),
        "note": (note_final, each(note_c)),
    }
    return _tidy_frame(columns, each(day_u[date_c]), values)


def _validate_typed(log: pd.DataFrame, *, today, cat) -> pd.DataFrame | None:
    """validate_log's fast path: a tidy log with datetime dates, numeric values and text columns."""
    date, value = log["date"], log["value"]
    if (
        log.columns.has_duplicates
        or len(log) == 0
        or not (isinstance(date.dtype, np.dtype) and date.dtype.kind == "M")
        or not (isinstance(value.dtype, np.dtype) and value.dtype.kind in "fiu")
    ):
        return None
    days = date.to_numpy(dtype="datetime64[D]")  # the full path keeps the calendar day only
    if np.isnat(days).any() or days.min() < np.datetime64("1900-01-01") or days.max() > np.datetime64(today or dt.date.today()):
        return None
    encoded = {}
    for c in ("patient_id", "measure", "side", "note"):
        if c in log.columns:
            codes, uniques = _encode(log[c])
            text_u = _stripped(uniques)
            if text_u is None:
                return None
        else:
            codes, text_u = np.zeros(len(log), dtype=np.intp), np.array([""], dtype=object)
        encoded[c] = (codes, text_u)
    measures = cat.records["measures"]
    resolved = [_measure_id(u, cat) for u in encoded["measure"][1]]
    side_words = [_SIDE_WORDS.get(s.lower()) for s in encoded["side"][1]]
    if None in resolved or None in side_words:
        return None
    # the side of each (measure text, side text) pair: given, else implied by the measure text
    m_codes, s_codes = encoded["measure"][0], encoded["side"][0]
    n_pairs = len(resolved) * len(side_words)  # distinct texts: a handful, so a lookup table beats a sort
    pair = m_codes.astype(np.int32 if n_pairs < 2**31 else np.int64)
    pair *= len(side_words)
    pair += s_codes
    pairs = np.flatnonzero(np.bincount(pair, minlength=n_pairs))  # the pairs in use, in order
    lookup = np.zeros(n_pairs, dtype=np.int32)
    lookup[pairs] = np.arange(len(pairs), dtype=np.int32)
    pair_codes = lookup[pair]
    del pair
    final_sides = []
    for p in pairs:
        (mid, implied), given = resolved[p // len(side_words)], side_words[p % len(side_words)]
        side = given or implied
        if measures[mid]["sided"] != bool(side):
            return None
        final_sides.append(side)
    dates = days.astype("datetime64[ns]")
    del days
    return _finish_fast(
        encoded["patient_id"][0], encoded["patient_id"][1],
        dates,
        m_codes, np.array([m for m, _ in resolved], dtype=object),
        pair_codes, np.array(final_sides, dtype=object),
        value.to_numpy(dtype=np.float64),  # _finish_fast copies it: the result never shares the caller's array
        encoded["note"][0], encoded["note"][1],
        today=today, cat=cat,
    )
