"""Read the progress logs clinicians actually keep into one tidy, validated log.

The tidy log has one row per patient x date x measure x side::

    patient_id  date        measure  side   value  note
    DEMO-001    2026-01-05  pain            7.0
    DEMO-001    2026-01-05  slr      left   40.0   tight hamstrings

:func:`read_log` accepts CSV or ``.xlsx`` files (or a DataFrame) in *long* form
(``patient_id, date, measure, side, value, note``) or *wide* form (one row per
visit, one column per measure, sides as suffixes ``slr_left`` / ``SLR L``).
Human headers map through ``data/catalog/aliases.csv``.

Every problem in the file is collected - not just the first - and raised in a
:class:`LogError` naming the file row, the column and what would fix it.
Patient notes are never repeated in a message.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sciatica_kit.catalog import Catalog, load_catalog

__all__ = ["LOG_COLUMNS", "LOG_DTYPES", "LogError", "LogProblem", "check_log", "conform_log", "empty_log", "read_log", "to_wide",
           "validate_log", "write_log"]

#: The tidy log: one row per patient x date x measure x side, and the dtype of each column.
#: Text is pandas' ``str`` (Arrow-backed: pyarrow is a dependency of the kit); dates are
#: calendar days as ``datetime64[ns]``; values are floats.
LOG_DTYPES = {
    "patient_id": "str",
    "date": "datetime64[ns]",
    "measure": "str",
    "side": "str",
    "value": "float64",
    "note": "str",
}
LOG_COLUMNS = tuple(LOG_DTYPES)
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
MAX_PROBLEMS_SHOWN = 50
MAX_HEADER_CHARS = 200  # longer headers are not a measure name; skip the regexes
MAX_VALUE_CHARS = 100  # longer value cells are not a number; skip the unit regexes
_SIDE_WORDS = {"l": "left", "left": "left", "lt": "left", "r": "right", "right": "right", "rt": "right", "": ""}
_SIDE_SUFFIX = re.compile(r"^(?P<base>.+?)[\s_\-]*(?:\(|\b|_)(?P<side>left|right|l|r|lt|rt)\)?$")
_PAREN = re.compile(r"\s*\([^)]*\)\s*")
_DMY = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\s*$")
# control codes (not tab / line ends) cannot be saved in a workbook: such text is reported, never stored
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# lone surrogates (badly decoded text) cannot be saved as UTF-8, nor held by an Arrow string column:
# they are turned into a control code (NUL) before any text work, so the check above reports them
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_THREADED_READ_BYTES = 4 * 1024 * 1024  # CSV files above this (and without quotes) are read in two threads
_YEARS = (1678, 2261)  # the years a pandas date can hold; no visit lies outside them
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*$")


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class LogProblem:
    """One problem in a log file: where it is and what would fix it."""

    row: int | None
    column: str | None
    problem: str
    fix: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        head = (", ".join(where).capitalize() + ": ") if where else ""
        return f"{head}{self.problem}. {self.fix}"


class LogError(ValueError):
    """A log file was rejected; ``problems`` lists every problem found.

    ``table`` gives them as a DataFrame (row, column, problem, fix) for display.
    """

    def __init__(self, problems: Iterable[LogProblem], source: str = "the log"):
        self.problems = sorted(problems, key=lambda p: (p.row if p.row is not None else -1, p.column or ""))
        self.source = source
        shown = self.problems[:MAX_PROBLEMS_SHOWN]
        more = len(self.problems) - len(shown)
        lines = [f"{source} was not imported: {len(self.problems)} problem(s) found. Nothing was saved."]
        lines += [f"  - {p}" for p in shown]
        if more > 0:
            lines.append(f"  ... and {more} more (see LogError.table)")
        super().__init__("\n".join(lines))

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(p.row, p.column, p.problem, p.fix) for p in self.problems],
            columns=["row", "column", "problem", "fix"],
        ).astype({"row": "Int64"})


def empty_log() -> pd.DataFrame:
    """A tidy log with no rows and the right dtypes."""
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in LOG_DTYPES.items()})


def conform_log(log: pd.DataFrame) -> pd.DataFrame:
    """The log's columns, in order, with the log's dtypes: every producer of a tidy log ends here.

    Parameters
    ----------
    log
        A tidy log whose values are already checked (by :func:`validate_log` or a reader).

    Returns
    -------
    DataFrame
        Columns :data:`LOG_COLUMNS` with :data:`LOG_DTYPES` and a fresh ``RangeIndex``.
    """
    out = log.loc[:, list(LOG_COLUMNS)].astype(LOG_DTYPES)
    return out.reset_index(drop=True)


def check_log(log: Any, what: str = "The log") -> pd.DataFrame:
    """Check that ``log`` is a tidy log before using it; every consumer starts here.

    Parameters
    ----------
    log
        The table to check.
    what
        How messages name it.

    Returns
    -------
    DataFrame
        ``log`` itself (with a ``note`` column added when it had none).

    Raises
    ------
    LogError
        Naming what is wrong and how to get a tidy log (:func:`read_log`, :func:`validate_log`).
    """
    fix = "Read the file with sk.read_log, or check a table built in code with sk.validate_log"
    if not isinstance(log, pd.DataFrame):
        raise LogError([LogProblem(None, None, f"expected a tidy log (a DataFrame), not {type(log).__name__}", fix)], what)
    problems = [LogProblem(None, c, "the column is missing", fix) for c in LOG_COLUMNS if c not in log.columns and c != "note"]
    if len(log) and "date" in log.columns and not pd.api.types.is_datetime64_any_dtype(log["date"]):
        problems.append(LogProblem(None, "date", "the dates are text, not dates", fix))
    if len(log) and "value" in log.columns and not pd.api.types.is_numeric_dtype(log["value"]):
        problems.append(LogProblem(None, "value", "the values are text, not numbers", fix))
    if problems:
        raise LogError(problems, what)
    return log if "note" in log.columns else log.assign(note="")


# --------------------------------------------------------------------------- reading files


def read_log(
    path_or_frame: str | os.PathLike | pd.DataFrame,
    *,
    dayfirst: bool | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    today: dt.date | None = None,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Read a progress log (CSV, ``.xlsx`` or a DataFrame; long or wide) into a tidy log.

    Parameters
    ----------
    path_or_frame
        A file path or a DataFrame as read from a file (all cells as text is fine).
    dayfirst
        How to read dates like ``03/04/2026``: True for day first (UK), False for
        month first (US).  When None, dates that could be either are reported,
        never guessed; ISO dates (2026-04-03) are always fine.
    sep, decimal
        CSV separator and decimal mark.  Detected when None; a ``;`` separator
        implies a decimal comma unless ``decimal`` says otherwise.
    today
        Dates after this are rejected (default: today).

    Returns
    -------
    DataFrame
        Columns ``patient_id, date, measure, side, value, note``, sorted.

    Raises
    ------
    LogError
        Listing every problem with file row and column.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"patient_id": ["P1"], "date": ["2026-01-05"], "Pain (0-10)": ["7/10"], "SLR L": ["40°"]})
    >>> read_log(raw)[["measure", "side", "value"]].to_dict("records")
    [{'measure': 'pain', 'side': '', 'value': 7.0}, {'measure': 'slr', 'side': 'left', 'value': 40.0}]
    """
    cat = catalog or load_catalog()
    if isinstance(path_or_frame, pd.DataFrame):
        raw, first_row, source = _without_surrogates(path_or_frame), 2, "The table"
        if decimal is None:
            decimal = "."
    else:
        fast = _read_wide_csv_fast(path_or_frame, sep=sep, decimal=decimal, dayfirst=dayfirst, today=today, cat=cat)
        if fast is not None:
            return fast
        raw, first_row, source, sep, decimal = _read_file(path_or_frame, sep=sep, decimal=decimal)
    return _parse(raw, first_row=first_row, source=source, dayfirst=dayfirst, decimal=decimal or ".", today=today, cat=cat)


def _read_file(path, *, sep, decimal):
    path = Path(path)
    source = f"'{path.name}'"
    if not path.exists():
        raise LogError([LogProblem(None, None, f"the file {path} does not exist", "Check the file name and folder")], source)
    if path.is_dir():
        raise LogError([LogProblem(None, None, "this is a folder, not a file", "Choose a .csv or .xlsx file")], source)
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if not data.strip(b"\xef\xbb\xbf \r\n\t"):
        raise LogError([LogProblem(None, None, "the file is empty", "Choose a file with a header row and at least one visit")], source)
    if suffix in EXCEL_SUFFIXES or data[:4] == b"PK\x03\x04":
        if data[:4] != b"PK\x03\x04":
            raise LogError([LogProblem(None, None, "the file is named .xlsx but is not an Excel workbook", "Save it again from Excel as .xlsx, or as CSV")], source)
        raw = _read_excel(data, source)
        return raw, 2, source, sep, decimal or "."
    if suffix == ".xls" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise LogError([LogProblem(None, None, "old Excel .xls files are not supported", "Save it from Excel as .xlsx or CSV")], source)
    if suffix not in CSV_SUFFIXES:
        raise LogError(
            [LogProblem(None, None, f"'{path.suffix or 'no extension'}' is not a log file type", "Use a .csv or .xlsx file")], source
        )
    if b"\x00" in data[:4096]:
        raise LogError([LogProblem(None, None, "the file is not text (it contains binary data)", "Export the log as CSV or .xlsx")], source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise LogError([LogProblem(None, None, "the file's text encoding is not recognised", "Save it as CSV UTF-8")], source) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if sep is None:
        sep = _sniff_sep(text)
    if decimal is None:
        decimal = "," if sep == ";" else "."
    try:
        raw = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            skipinitialspace=True,
            engine="c",
        )
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise LogError(
            [
                LogProblem(
                    int(line.group(1)) if line else None,
                    None,
                    f"the row has a different number of columns than the header ({_short(exc)})",
                    f"Check separators and quotes on that row; the file's separator was read as '{sep}'",
                )
            ],
            source,
        ) from None
    except pd.errors.EmptyDataError:
        raise LogError([LogProblem(None, None, "the file is empty", "Add a header row and at least one visit")], source) from None
    if not isinstance(raw.index, pd.RangeIndex):
        # every data line has more cells than the header, so pandas took the first column(s) as
        # the index and shifted every value one column left; trailing separators do this
        extra = raw.index.nlevels
        spill = raw.iloc[:, -extra:].fillna("").astype(str)
        if not (spill.apply(lambda s: s.str.strip()) == "").all().all():
            raise LogError([LogProblem(1, None, "every row has more cells than the header has names",
                                       f"Give every column a name in the header row; the separator was read as '{sep}'")], source)
        shifted = raw.reset_index().iloc[:, : raw.shape[1]]
        shifted.columns = raw.columns
        raw = shifted
    return raw, 2, source, sep, decimal


def _short(exc: Exception) -> str:
    return str(exc).strip().split("\n")[0][:160]


def _sniff_sep(text: str) -> str:
    header = next((line for line in text.split("\n") if line.strip()), "")
    counts = {s: header.count(s) for s in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _read_excel(data: bytes, source: str) -> pd.DataFrame:
    try:
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise LogError([LogProblem(None, None, f"the workbook cannot be opened ({_short(exc)})", "Open it in Excel and save it again as .xlsx")], source) from None
    ws = wb.worksheets[0]
    rows = [[_excel_value(c) for c in r] for r in ws.iter_rows()]
    wb.close()
    while rows and all(_blank(v) for v in rows[0]):
        rows.pop(0)  # leading empty rows are not the header
        # (row numbers below assume the header is the first row, as clinicians keep them)
    if not rows:
        raise LogError([LogProblem(None, None, "the first sheet is empty", "Put the log on the first sheet with a header row")], source)
    header = ["" if v is None else str(v) for v in rows[0]]
    body = [["" if v is None else (v.date().isoformat() if isinstance(v, dt.datetime) else v.isoformat() if isinstance(v, dt.date) else str(v)) for v in r] for r in rows[1:]]
    width = len(header)
    body = [(r + [""] * width)[:width] for r in body]
    return pd.DataFrame(body, columns=header, dtype=object)


def _excel_value(cell) -> Any:
    """A cell's value; a percent-formatted number as the percentage typed (Excel keeps 30% as 0.3)."""
    v = cell.value
    if isinstance(v, (int, float)) and not isinstance(v, bool) and "%" in (getattr(cell, "number_format", None) or ""):
        return f"{v * 100:.12g}%"  # the '%' unit is then checked against the measure like any typed unit
    return v


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _damaged(v: Any) -> Any:
    """A text with each lone surrogate replaced by NUL (reported as a damaged character); others as given."""
    return _LONE_SURROGATE.sub("\x00", v) if isinstance(v, str) and _LONE_SURROGATE.search(v) else v


def _without_surrogates(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with no lone surrogate in its labels or object cells (Arrow strings cannot hold one).

    Only object columns can hold them; Arrow-backed text columns are valid UTF-8 by construction.
    The frame is copied only when something had to change.
    """
    columns = [_damaged(c) for c in frame.columns]
    fixed = {}
    for i, dtype in enumerate(frame.dtypes):
        if pd.api.types.is_object_dtype(dtype):
            col = frame.iloc[:, i]
            if any(isinstance(v, str) and _LONE_SURROGATE.search(v) for v in col.to_numpy()):
                fixed[i] = np.array([_damaged(v) for v in col.to_numpy()], dtype=object)
    if not fixed and columns == list(frame.columns):
        return frame
    out = frame.copy()
    for i, values in fixed.items():
        out.isetitem(i, pd.Series(values, index=frame.index, dtype=object))
    out.columns = pd.Index(columns, dtype=object)
    return out


# --------------------------------------------------------------------------- header mapping


def _norm_header(h: Any) -> str:
    return re.sub(r"\s+", " ", str(h).replace("\ufeff", "").strip().lower())


def _lookup(c: str, cat: Catalog) -> tuple[str, str] | None:
    if c in ("measure", "value", "side", "patient_id", "date", "note") or c in cat.records["measures"]:
        return c, ""
    if c in cat.aliases.index:
        row = cat.aliases.loc[c]
        return row["maps_to"], row["side"]
    return None


def _map_header(header: Any, cat: Catalog) -> tuple[str, str] | None:
    """Map a file header to (target, side).

    The target is a measure id or one of patient_id / date / note / measure / value / side.
    Tries the alias table, then a side suffix (``SLR L``, ``slr_right``, ``SLR (L)``),
    then the header without a trailing unit in brackets.
    """
    measures = cat.records["measures"]
    h = _norm_header(header)
    if len(h) > MAX_HEADER_CHARS:
        return None  # pasted junk, not a header: never fed to the regexes (they would take minutes)
    unitless = _PAREN.sub(" ", h).strip()
    for c in dict.fromkeys([h, h.replace("-", " "), h.replace(" ", "_"), unitless, unitless.replace(" ", "_")]):
        found = _lookup(c, cat)
        if found:
            return found
        m = _SIDE_SUFFIX.match(c)
        if m:
            base = _lookup(m.group("base").strip(" _-"), cat) or _lookup(m.group("base").strip(" _-").replace(" ", "_"), cat)
            if base and base[0] in measures and measures[base[0]]["sided"]:
                return base[0], _SIDE_WORDS[m.group("side")]
    return None


def _measure_id(text: str, cat: Catalog) -> tuple[str, str] | None:
    mapped = _map_header(text, cat)
    if mapped and mapped[0] in cat.records["measures"]:
        return mapped
    return None


# --------------------------------------------------------------------------- parsing


def _parse(raw: pd.DataFrame, *, first_row: int, source: str, dayfirst, decimal: str, today, cat: Catalog) -> pd.DataFrame:
    problems: list[LogProblem] = []
    if raw.shape[1] == 0:
        raise LogError([LogProblem(None, None, "the file has no columns", "Add a header row: patient_id, date, then measures")], source)
    raw = raw.copy()
    raw.columns = [str(c) for c in raw.columns]
    twice = [c for c in dict.fromkeys(raw.columns) if list(raw.columns).count(c) > 1]
    if twice:
        raise LogError([LogProblem(1, c, "two or more columns have this same header", "Keep one of them, or rename the others") for c in twice], source)
    raw.index = pd.RangeIndex(first_row, first_row + len(raw))
    # drop rows where every cell is blank (blank lines, Excel padding)
    text = raw.astype(str).apply(lambda s: s.str.strip())
    text = text.mask(raw.isna(), "")
    nonblank = (text != "").any(axis=1)
    text = text[nonblank]
    if text.empty:
        raise LogError([LogProblem(None, None, "the file has a header but no entries", "Add at least one visit below the header")], source)

    mapping: dict[str, tuple[str, str]] = {}
    for col in text.columns:
        if _norm_header(col).startswith("unnamed:") and (text[col] == "").all():
            continue  # trailing separators make empty unnamed columns
        target = _map_header(col, cat)
        if target is None:
            valid = sorted(set(cat.records["measures"]) | {"patient_id", "date", "note", "measure", "side", "value"})
            close = difflib.get_close_matches(_norm_header(col), valid + list(cat.aliases.index), n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            problems.append(
                LogProblem(1, col, "this column is not a known measure",
                           f"Rename it to a measure id ({', '.join(sorted(cat.records['measures']))}) or add it to aliases.csv.{hint}")
            )
            continue
        mapping[col] = target
    targets = [t for t, _ in mapping.values()]
    for needed in ("patient_id", "date"):
        if needed not in targets:
            problems.append(LogProblem(1, None, f"there is no '{needed}' column", f"Add a '{needed}' column to the header row"))
    dupes = {t for t in mapping.values() if list(mapping.values()).count(t) > 1}
    for col, t in mapping.items():
        if t in dupes:
            problems.append(LogProblem(1, col, f"two columns both mean '{t[0]}{' ' + t[1] if t[1] else ''}'", "Keep one of them"))
    if problems:
        raise LogError(problems, source)

    long_form = "measure" in targets and "value" in targets
    col_of = {t: c for c, (t, s) in mapping.items() if t in ("patient_id", "date", "note", "measure", "value", "side")}
    if long_form:
        extra = [c for c, (t, _) in mapping.items() if t not in col_of]
        for c in extra:
            problems.append(LogProblem(1, c, "a long-form log (measure/value columns) cannot also have measure columns", "Use either long form or one column per measure"))
        frame = pd.DataFrame(
            {
                "row": text.index.to_numpy(),
                "patient_id": text[col_of["patient_id"]].to_numpy(),
                "date_text": text[col_of["date"]].to_numpy(),
                "measure_text": text[col_of["measure"]].to_numpy(),
                "side_text": text[col_of["side"]].to_numpy() if "side" in col_of else "",
                "value_text": text[col_of["value"]].to_numpy(),
                "note": text[col_of["note"]].to_numpy() if "note" in col_of else "",
                "value_col": col_of["value"],
            }
        )
        frame = _resolve_long_measures(frame, col_of, cat, problems)
    else:
        if "side" in col_of or "value" in col_of:
            c = col_of.get("side") or col_of.get("value")
            problems.append(LogProblem(1, c, "'side'/'value' columns need a 'measure' column (long form)", "Add a 'measure' column, or use one column per measure"))
        measure_cols = [(c, t, s) for c, (t, s) in mapping.items() if t in cat.records["measures"]]
        if not measure_cols:
            problems.append(LogProblem(1, None, "no measure columns were found", "Add columns such as pain, odi, slr_left"))
        parts = []
        for c, t, s in measure_cols:
            vals = text[c]
            keep = vals != ""
            if not keep.any():
                continue
            sub = text.loc[keep]
            parts.append(
                pd.DataFrame(
                    {
                        "row": sub.index.to_numpy(),
                        "patient_id": sub[col_of["patient_id"]].to_numpy() if "patient_id" in col_of else "",
                        "date_text": sub[col_of["date"]].to_numpy() if "date" in col_of else "",
                        "measure": t,
                        "side": s,
                        "value_text": vals[keep].to_numpy(),
                        "note": sub[col_of["note"]].to_numpy() if "note" in col_of else "",
                        "value_col": c,
                    }
                )
            )
        visits_without_values = text.index.difference(pd.Index(np.concatenate([p["row"].to_numpy() for p in parts]) if parts else []))
        for r in visits_without_values:
            problems.append(LogProblem(int(r), None, "this row has no measurement", "Fill in at least one measure, or delete the row"))
        frame = pd.concat(parts, ignore_index=True) if parts else None
        if frame is not None:
            frame["sided"] = frame["measure"].map({m: v["sided"] for m, v in cat.records["measures"].items()})
            for c, t, s in measure_cols:
                if cat.records["measures"][t]["sided"] and not s:
                    problems.append(LogProblem(1, c, f"'{t}' is measured per side but the column has no side", f"Name the columns {t}_left and {t}_right"))
    if frame is None:
        raise LogError(problems, source)

    log = _validate_cells(frame, col_of, cat, dayfirst=dayfirst, decimal=decimal, today=today, problems=problems)
    if problems:
        raise LogError(problems, source)
    return log


def _resolve_long_measures(frame: pd.DataFrame, col_of: dict, cat: Catalog, problems: list[LogProblem]) -> pd.DataFrame:
    measures = cat.records["measures"]
    uniq = frame["measure_text"].unique()
    resolved = {u: _measure_id(u, cat) for u in uniq}
    bad = frame["measure_text"].map(lambda u: resolved[u] is None)
    for r, u in frame.loc[bad, ["row", "measure_text"]].itertuples(index=False):
        if u == "":
            problems.append(LogProblem(int(r), col_of["measure"], "the measure is empty", "Write the measure, e.g. pain or odi"))
        else:
            close = difflib.get_close_matches(u.lower(), sorted(measures), n=1, cutoff=0.5)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            problems.append(
                LogProblem(int(r), col_of["measure"], f"'{u}' is not a known measure", f"Use one of {', '.join(sorted(measures))}.{hint}")
            )
    frame = frame.loc[~bad].copy()
    frame["measure"] = frame["measure_text"].map(lambda u: resolved[u][0])
    implied_side = frame["measure_text"].map(lambda u: resolved[u][1])
    side_norm = frame["side_text"].str.strip().str.lower()
    known_side = side_norm.isin(list(_SIDE_WORDS))
    for r, s in frame.loc[~known_side, ["row", "side_text"]].itertuples(index=False):
        problems.append(LogProblem(int(r), col_of.get("side", "side"), f"'{s}' is not a side", "Write left, right (or L, R), or leave it empty"))
    side = side_norm.map(lambda s: _SIDE_WORDS.get(s, ""))
    side = side.where(side != "", implied_side)
    frame["side"] = side
    frame["sided"] = frame["measure"].map({m: v["sided"] for m, v in measures.items()}).astype(bool)
    no_side = frame["sided"] & (frame["side"] == "") & known_side
    for r, m in frame.loc[no_side, ["row", "measure"]].itertuples(index=False):
        problems.append(LogProblem(int(r), col_of.get("side", "side"), f"'{m}' is measured per side but no side is given", "Write left or right"))
    side_on_unsided = ~frame["sided"] & (frame["side"] != "")
    for r, m in frame.loc[side_on_unsided, ["row", "measure"]].itertuples(index=False):
        problems.append(LogProblem(int(r), col_of.get("side", "side"), f"'{m}' has no sides, but a side is given", "Leave the side empty for this measure"))
    return frame.drop(columns=["measure_text", "side_text"])


def _parse_dates(text: pd.Series, dayfirst: bool | None) -> tuple[pd.Series, pd.Series]:
    """Vectorised date parsing. Returns (dates, reason) where reason is '' for good cells."""
    s = text.str.strip()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    reason = pd.Series("", index=s.index, dtype=object)
    iso = s.str.extract(_ISO)
    is_iso = iso[0].notna()
    if is_iso.any():
        y, m, d = (iso.loc[is_iso, i].astype(int) for i in range(3))
        odd = ~y.between(*_YEARS)
        reason.loc[odd.index[odd.to_numpy()]] = "implausible year"
        if (~odd).any():
            out.loc[odd.index[~odd.to_numpy()]] = pd.to_datetime(pd.DataFrame({"year": y[~odd], "month": m[~odd], "day": d[~odd]}), errors="coerce")
        reason.loc[is_iso & out.isna() & (reason == "")] = "not a real calendar date"
    dmy = s.loc[~is_iso].str.extract(_DMY)
    is_dmy = dmy[0].notna()
    if is_dmy.any():
        idx = dmy.index[is_dmy]
        a = dmy.loc[idx, 0].astype(int)
        b = dmy.loc[idx, 1].astype(int)
        y = dmy.loc[idx, 2].astype(int)
        y = y.where(y >= 100, y + 2000)
        if dayfirst is None:
            ambiguous = (a <= 12) & (b <= 12) & (a != b)
            day = a.where(a > 12, b)
            month = b.where(a > 12, a)
            reason.loc[idx[ambiguous.to_numpy()]] = "ambiguous"
            ok = ~ambiguous
        else:
            day, month = (a, b) if dayfirst else (b, a)
            ok = pd.Series(True, index=idx)
        odd = ~y.between(*_YEARS)
        reason.loc[idx[(ok & odd).to_numpy()]] = "implausible year"
        ok = ok & ~odd
        good_idx = idx[ok.to_numpy()]
        if len(good_idx):
            out.loc[good_idx] = pd.to_datetime(
                pd.DataFrame({"year": y.loc[good_idx], "month": month.loc[good_idx], "day": day.loc[good_idx]}), errors="coerce"
            )
            bad = out.loc[good_idx].isna()
            reason.loc[bad.index[bad]] = "not a real calendar date"
    rest = ~is_iso & ~s.index.isin(dmy.index[is_dmy])
    reason.loc[rest & (s == "")] = "empty"
    reason.loc[rest & (s != "")] = "unreadable"
    return out, reason


def _parse_values(frame: pd.DataFrame, decimal: str, cat: Catalog) -> pd.Series:
    measures = cat.records["measures"]
    s = frame["value_text"].astype(str).str.strip()
    s = s.where(s.str.len() <= MAX_VALUE_CHARS, "not a number")  # never run the unit regexes on pasted junk
    # strip a unit that matches the measure (7/10, 45°, 12 cm, 30 %)
    for mid in frame["measure"].unique():
        units = measures[mid].get("units_accepted") or []
        if not units:
            continue
        pattern = r"\s*(?:" + "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True)) + r")\s*$"
        mask = frame["measure"] == mid
        s.loc[mask] = s.loc[mask].str.replace(pattern, "", regex=True, case=False)
    if decimal == ",":
        # no measure reaches 1000, so a '.' is never a thousands mark: 7.5 stays 7.5 (never 75),
        # and '1.000,5' becomes '1.000.5', which is reported as not a number
        s = s.str.replace(",", ".", regex=False)
    return pd.to_numeric(s, errors="coerce")


def _cells(mask: pd.Series, *columns: pd.Series):
    """Rows of ``columns`` where ``mask`` is true, as tuples (for writing problems)."""
    return zip(*(c[mask].tolist() for c in columns), strict=True)


def _validate_cells(frame, col_of, cat, *, dayfirst, decimal, today, problems) -> pd.DataFrame:
    measures = cat.records["measures"]
    today = today or dt.date.today()
    pid = frame["patient_id"].astype(str).str.strip()
    for r in frame.loc[pid == "", "row"].unique():
        problems.append(LogProblem(int(r), col_of.get("patient_id"), "the patient id is missing", "Fill in the patient id"))
    long_ids = pid.str.len() > 64
    for r in frame.loc[long_ids, "row"].unique():
        problems.append(LogProblem(int(r), col_of.get("patient_id"), "the patient id is longer than 64 characters", "Use the clinic's short patient identifier"))
    for name, texts in (("patient_id", pid), ("note", frame["note"].astype(str))):
        for r in frame.loc[texts.str.contains(_CONTROL).to_numpy(dtype=bool), "row"].unique():
            problems.append(LogProblem(int(r), col_of.get(name, name), "the text has an invisible control code or a damaged character",
                                       "Retype the text in this cell"))
    dates, reason = _parse_dates(frame["date_text"].astype(str), dayfirst)
    date_col = col_of.get("date")
    first = ~frame.duplicated(["row"])
    for r, why, txt in _cells((reason != "") & first, frame["row"], reason, frame["date_text"]):
        if why == "ambiguous":
            problems.append(LogProblem(int(r), date_col, f"the date '{txt}' could be day/month or month/day",
                                       "Write it as YYYY-MM-DD, or import with dayfirst=True (31/01/2026) or dayfirst=False (01/31/2026)"))
        elif why == "empty":
            problems.append(LogProblem(int(r), date_col, "the date is missing", "Fill in the visit date as YYYY-MM-DD"))
        elif why == "not a real calendar date":
            problems.append(LogProblem(int(r), date_col, f"'{txt}' is not a real calendar date", "Check the day and month"))
        elif why == "implausible year":
            problems.append(LogProblem(int(r), date_col, f"the year in '{txt}' cannot be a visit date", "Check the year of the visit"))
        else:
            problems.append(LogProblem(int(r), date_col, f"'{txt}' is not a date the kit can read", "Write it as YYYY-MM-DD"))
    future = dates > pd.Timestamp(today)
    for r, d in _cells(future & first, frame["row"], dates):
        problems.append(LogProblem(int(r), date_col, f"the date {d.date()} is in the future", "Check the year and month of the visit"))
    ancient = dates < pd.Timestamp("1900-01-01")
    for r in frame.loc[ancient & first, "row"]:
        problems.append(LogProblem(int(r), date_col, "the date is before 1900", "Check the year of the visit"))

    values = _parse_values(frame, decimal, cat)
    bad_val = values.isna() | ~np.isfinite(values.fillna(0.0))
    for r, c, txt in _cells(bad_val, frame["row"], frame["value_col"], frame["value_text"]):
        shown = txt if len(txt) <= 40 else txt[:37] + "..."
        if txt.strip() == "":
            problems.append(LogProblem(int(r), c, "the value is empty", "Fill in the measurement or delete the row"))
        else:
            problems.append(LogProblem(int(r), c, f"'{shown}' is not a number", "Write a plain number; units must match the measure (e.g. 7/10, 45°, 12 cm)"
                                       + (" and use a decimal point or pass decimal=','" if "," in txt and decimal == "." else "")))
    lo = frame["measure"].map({m: float(v["min"]) for m, v in measures.items()}).astype(float)
    hi = frame["measure"].map({m: float(v["max"]) for m, v in measures.items()}).astype(float)
    out_of_range = ~bad_val & ((values < lo) | (values > hi))
    for r, c, m, v in _cells(out_of_range, frame["row"], frame["value_col"], frame["measure"], values):
        info = measures[m]
        unit = "" if re.fullmatch(r"\d+-\d+", info["unit"]) else f" {info['unit']}"
        problems.append(LogProblem(int(r), c, f"{v:g} is outside the range of {info['name']} ({info['min']:g} to {info['max']:g}{unit})",
                                   f"Enter a value from {info['min']:g} to {info['max']:g}"))
    integer = frame["measure"].map({m: bool(v.get("integer", False)) for m, v in measures.items()}).astype(bool)
    not_whole = ~bad_val & ~out_of_range & integer & (values % 1 != 0)
    for r, c, m, v in _cells(not_whole, frame["row"], frame["value_col"], frame["measure"], values):
        problems.append(LogProblem(int(r), c, f"{v:g} is not a whole number, but {measures[m]['name']} scores are", "Enter the whole-number score"))

    note = _unneutralise(frame["note"].astype(str).str.strip())
    pid = _unneutralise(pid)
    log = pd.DataFrame(
        {
            "patient_id": pid.to_numpy(dtype=object),
            "date": dates.to_numpy(),
            "measure": frame["measure"].to_numpy(dtype=object),
            "side": frame["side"].to_numpy(dtype=object),
            "value": values.to_numpy(dtype=float),
            "note": note.to_numpy(dtype=object),
            "row": frame["row"].to_numpy(),
            "value_col": frame["value_col"].to_numpy(),
        }
    )
    key = ["patient_id", "date", "measure", "side"]
    dup = log.duplicated(key, keep=False) & log["date"].notna() & log["value"].notna()
    if dup.any():
        groups = log.loc[dup].groupby(key, sort=False)
        for _, g in groups:
            if g["value"].nunique() > 1:
                rows = ", ".join(str(int(x)) for x in g["row"])
                for r, c in g[["row", "value_col"]].itertuples(index=False):  # every row of the clash is named
                    others = ", ".join(str(int(x)) for x in g["row"] if x != r)
                    problems.append(
                        LogProblem(int(r), c, f"a different value for the same patient, date, measure and side is on row {others} (rows {rows})",
                                   "Keep one value; correct the other row or its date")
                    )
        log = log.drop_duplicates(key, keep="first")
    log = log.drop(columns=["row", "value_col"]).sort_values(key, kind="stable")
    return conform_log(log)


def _unneutralise(s: pd.Series) -> pd.Series:
    """Undo the export's formula guard (a ' before = + - @, also full-width) so exports re-import exactly.

    Line ends inside the text become ``\\n`` (a lone ``\\r`` would split a CSV row when exported).
    """
    s = s.str.replace("\r\n?", "\n", regex=True)
    return s.str.replace(r"^'(?='*[=+\-@\t\r\n\uff1d\uff0b\uff0d\uff20])", "", regex=True)


# --------------------------------------------------------------------------- fast paths
#
# A clean wide CSV (read_log) or an already typed tidy log (validate_log, so every
# Store.add) is checked column-wise on each column's distinct values, without the
# per-cell text round trip.  Whenever anything is unusual - any problem at all, a
# unit in a cell, a duplicate visit, an odd header - they return None and the full
# path above runs, so results and problem messages are exactly those of the full path.


def _encode(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct values (object array) of a column; NA becomes ''."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(dtype=np.intp), values.cat.categories
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(uniques), codes)
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


def _texts_ok(pid_text: np.ndarray, note_text: np.ndarray) -> bool:
    """The patient ids and notes in use break no rule (checked once per distinct text)."""
    if any(p == "" or len(p) > 64 for p in pid_text):
        return False
    # a damaged character that cannot be saved: the full path reports it
    return not any(_CONTROL.search(t) for t in (*pid_text, *note_text))


def _dates_ok(dates: np.ndarray, today) -> bool:
    today = today or dt.date.today()
    return not (np.isnat(dates).any() or (dates > np.datetime64(pd.Timestamp(today))).any() or (dates < np.datetime64("1900-01-01")).any())


def _values_ok(values: np.ndarray, m_codes: np.ndarray | int, m_ids, measures) -> bool:
    """Every value is a finite number within its measure's range, whole where the measure is."""
    if not np.isfinite(values).all():
        return False
    lo = np.array([float(measures[m]["min"]) for m in m_ids], dtype=float)[m_codes]
    hi = np.array([float(measures[m]["max"]) for m in m_ids], dtype=float)[m_codes]
    if ((values < lo) | (values > hi)).any():
        return False
    integer = np.array([bool(measures[m].get("integer", False)) for m in m_ids], dtype=bool)[m_codes]
    return not (integer & (np.trunc(values) != values)).any()  # values are finite here: the same as % 1 != 0


def _used(codes: np.ndarray, uniques: np.ndarray) -> np.ndarray:
    return uniques[np.bincount(codes, minlength=len(uniques)) > 0]


def _text_column(uniques: np.ndarray, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The text column ``uniques[codes]`` as the log's text dtype, gathered by Arrow (no Python string per row)."""
    taken = pa.array(uniques, type=pa.large_string()).take(pa.array(codes, type=pa.int64()))
    return pd.arrays.ArrowExtensionArray(taken).astype(LOG_DTYPES["patient_id"])


def _tidy_frame(columns: dict, dates: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """The tidy log as the full path builds it; ``columns`` gives each text column as (distinct texts, codes)."""
    texts = {c: _text_column(*columns[c]) for c in ("patient_id", "measure", "side", "note")}
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
    # one integer per (patient, date, measure, side), ordered as the sorted key
    ranks = [pd.factorize(u, sort=True)[0] for u in (pid_final, m_ids, sides)]
    sizes = [int(r.max()) + 1 for r in ranks]
    day = dates.astype("datetime64[D]").astype(np.int64)
    day = day - day.min()
    n_days = int(day.max()) + 1
    if float(sizes[0]) * n_days * sizes[1] * sizes[2] >= 2.0**62:
        return None
    key = ((ranks[0][pid_codes] * n_days + day) * sizes[1] + ranks[1][m_codes]) * sizes[2] + ranks[2][s_codes]
    if (key[1:] > key[:-1]).all():
        order = slice(None)  # already in order (a store's export, a sorted file): nothing to move
    else:
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        if (ordered[1:] == ordered[:-1]).any():
            return None  # the same patient, date, measure and side twice: the full path decides
    columns = {"patient_id": (pid_final, pid_codes[order]), "measure": (m_ids, m_codes[order]), "side": (sides, s_codes[order]),
               "note": (note_final, note_codes[order])}
    return _tidy_frame(columns, dates[order], values[order])


def _first_line(text: str) -> str:
    """The first non-blank line (what :func:`_sniff_sep` reads), without splitting the whole text."""
    pos = 0
    while True:
        end = text.find("\n", pos)
        line = text[pos:] if end < 0 else text[pos:end]
        if line.strip() or end < 0:
            return line
        pos = end + 1


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
    try:
        parts = _read_parts(
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
    pair = m_codes * len(side_words) + s_codes
    pairs, pair_codes = np.unique(pair, return_inverse=True)
    final_sides = []
    for p in pairs:
        (mid, implied), given = resolved[p // len(side_words)], side_words[p % len(side_words)]
        side = given or implied
        if measures[mid]["sided"] != bool(side):
            return None
        final_sides.append(side)
    return _finish_fast(
        encoded["patient_id"][0], encoded["patient_id"][1],
        days.astype("datetime64[ns]"),
        m_codes, np.array([m for m, _ in resolved], dtype=object),
        pair_codes.reshape(-1), np.array(final_sides, dtype=object),
        value.to_numpy(dtype=np.float64, copy=True),  # the result never shares the caller's array
        encoded["note"][0], encoded["note"][1],
        today=today, cat=cat,
    )


def validate_log(log: pd.DataFrame, *, catalog: Catalog | None = None, today: dt.date | None = None) -> pd.DataFrame:
    """Check a tidy log (e.g. one built in code) with the same rules as :func:`read_log`.

    Returns the cleaned log; raises :class:`LogError`.
    """
    if not isinstance(log, pd.DataFrame):
        raise LogError([LogProblem(None, None, f"expected a table (DataFrame), not {type(log).__name__}", "Pass the log as a pandas DataFrame")], "The log")
    missing = [c for c in ("patient_id", "date", "measure", "value") if c not in log.columns]
    if missing:
        raise LogError([LogProblem(None, c, "column is missing", f"Add the '{c}' column") for c in missing], "The log")
    twice = list(dict.fromkeys(str(c) for c in log.columns[log.columns.duplicated()]))
    if twice:
        raise LogError([LogProblem(None, c, "two or more columns have this same name", "Keep one of them") for c in twice], "The log")
    log = _without_surrogates(log)
    fast = _validate_typed(log, today=today, cat=catalog or load_catalog())
    if fast is not None:
        return fast
    frame = pd.DataFrame({c: log[c] if c in log.columns else "" for c in LOG_COLUMNS})
    frame["date"] = frame["date"].map(_date_text)
    frame["value"] = frame["value"].map(_value_text)
    frame = frame.astype(object).fillna("").astype(str)  # object first: an all-empty note column read by pandas is float
    if "side" not in log.columns:
        frame["side"] = ""
    return read_log(frame, catalog=catalog, today=today, dayfirst=None)


def _date_text(v: Any) -> str:
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        return v.date().isoformat() if not pd.isna(v) else ""
    if isinstance(v, dt.date):
        return v.isoformat()
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def _value_text(v: Any) -> str:
    if v is None or v is pd.NA:
        return ""
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


# --------------------------------------------------------------------------- writing


def to_wide(log: pd.DataFrame) -> pd.DataFrame:
    """One row per patient visit, one column per measure (sided: ``slr_left``), plus ``note``."""
    if log.empty:
        return pd.DataFrame(columns=["patient_id", "date", "note"])
    col = log["measure"].where(log["side"] == "", log["measure"] + "_" + log["side"])
    wide = log.assign(column=col).pivot_table(index=["patient_id", "date"], columns="column", values="value", aggfunc="first")
    notes = log[log["note"] != ""].groupby(["patient_id", "date"])["note"].agg(lambda s: " | ".join(dict.fromkeys(s)))
    wide = wide.join(notes.rename("note")).reset_index()
    wide.columns.name = None
    wide["note"] = wide["note"].fillna("")
    return wide


def write_log(log: pd.DataFrame, path, *, wide: bool = False) -> Path:
    """Write a tidy log to CSV or ``.xlsx`` (owner-only, atomic, formula-safe); re-reading gives the same log."""
    from sciatica_kit.export import safe_frame
    from sciatica_kit.files import private_path

    path = Path(path)
    out = to_wide(log) if wide else log.loc[:, list(LOG_COLUMNS)]
    out = out.assign(date=pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d"))
    out = safe_frame(out)
    with private_path(path) as tmp:
        if path.suffix.lower() in EXCEL_SUFFIXES:
            out.to_excel(tmp, index=False, engine="openpyxl")
        else:
            text = [c for c in out.columns if out[c].dtype == object or pd.api.types.is_string_dtype(out[c])]
            out[text] = out[text].apply(lambda col: col.str.replace("\r\n?", "\n", regex=True))  # an unquoted \r splits a row
            # no float_format: pandas writes the shortest text that reads back to the same float,
            # so an ODI of 14/45*100 re-imports unchanged (not as a "correction" in the store)
            out.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    return path
