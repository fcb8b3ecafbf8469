"""The rules for one cell of a log: file kinds and separators, dates, numbers with units, damaged text, the formula guard.

Each rule is written once here and used by the full path (:mod:`.validate`) and the fast paths (:mod:`.fast`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd

from sciatica_kit.catalog import Catalog

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}


EXCEL_SUFFIXES = {".xlsx", ".xlsm"}


MAX_VALUE_CHARS = 100  # longer value cells are not a number; skip the unit regexes


_DMY = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\s*$")


# control codes (not tab / line ends) cannot be saved in a workbook: such text is reported, never stored
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


# lone surrogates (badly decoded text) cannot be saved as UTF-8, nor held by an Arrow string column:
# they are turned into a control code (NUL) before any text work, so the check above reports them
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


_YEARS = (1678, 2261)  # the years a pandas date can hold; no visit lies outside them


_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*$")


def _sniff_sep(text: str) -> str:
    header = next((line for line in text.split("\n") if line.strip()), "")
    counts = {s: header.count(s) for s in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


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


def _unneutralise(s: pd.Series) -> pd.Series:
    """Undo the export's formula guard (a ' before = + - @, also full-width) so exports re-import exactly.

    Line ends inside the text become ``\\n`` (a lone ``\\r`` would split a CSV row when exported).
    """
    s = s.str.replace("\r\n?", "\n", regex=True)
    return s.str.replace(r"^'(?='*[=+\-@\t\r\n\uff1d\uff0b\uff0d\uff20])", "", regex=True)


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
