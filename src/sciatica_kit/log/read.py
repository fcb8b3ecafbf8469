"""Read the progress logs clinicians actually keep (CSV, ``.xlsx`` or a DataFrame; long or wide) into a tidy log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from sciatica_kit.catalog import Catalog, load_catalog
from sciatica_kit.log.fast import _read_wide_csv_fast
from sciatica_kit.log.rules import CSV_SUFFIXES, EXCEL_SUFFIXES, _sniff_sep, _without_surrogates
from sciatica_kit.log.schema import LogError, LogProblem
from sciatica_kit.log.validate import _parse


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


def _read_excel(data: bytes, source: str) -> pd.DataFrame:
    try:
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise LogError([LogProblem(None, None, f"the workbook cannot be opened ({_short(exc)})", "Open it in Excel and save it again as .xlsx")], source) from None
    try:
        if not wb.worksheets:  # a damaged workbook can open with no sheet at all
            raise LogError([LogProblem(None, None, "the workbook has no sheet", "Open it in Excel and save it again as .xlsx")], source)
        # read-only: the rows are parsed only now, and a damaged sheet fails here, not on opening
        rows = [[_excel_value(c) for c in r] for r in wb.worksheets[0].iter_rows()]
    except LogError:
        raise
    except Exception as exc:
        raise LogError([LogProblem(None, None, f"the workbook's first sheet cannot be read ({_short(exc)})",
                                   "Open it in Excel and save it again as .xlsx")], source) from None
    finally:
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
