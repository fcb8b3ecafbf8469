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

from sciatica_kit.catalog import Catalog, load_catalog

__all__ = ["LOG_COLUMNS", "LogError", "LogProblem", "empty_log", "read_log", "to_wide", "validate_log", "write_log"]

LOG_COLUMNS = ("patient_id", "date", "measure", "side", "value", "note")
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
MAX_PROBLEMS_SHOWN = 50
_SIDE_WORDS = {"l": "left", "left": "left", "lt": "left", "r": "right", "right": "right", "rt": "right", "": ""}
_SIDE_SUFFIX = re.compile(r"^(?P<base>.+?)[\s_\-]*(?:\(|\b|_)(?P<side>left|right|l|r|lt|rt)\)?$")
_PAREN = re.compile(r"\s*\([^)]*\)\s*")
_DMY = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\s*$")
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
    return pd.DataFrame(
        {
            "patient_id": pd.Series([], dtype=object),
            "date": pd.Series([], dtype="datetime64[ns]"),
            "measure": pd.Series([], dtype=object),
            "side": pd.Series([], dtype=object),
            "value": pd.Series([], dtype="float64"),
            "note": pd.Series([], dtype=object),
        }
    )


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
        raw, first_row, source = path_or_frame, 2, "The table"
        if decimal is None:
            decimal = "."
    else:
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
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
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


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


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
        out.loc[is_iso] = pd.to_datetime(pd.DataFrame({"year": y, "month": m, "day": d}), errors="coerce")
        reason.loc[is_iso & out.isna()] = "not a real calendar date"
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
    # strip a unit that matches the measure (7/10, 45°, 12 cm, 30 %)
    for mid in frame["measure"].unique():
        units = measures[mid].get("units_accepted") or []
        if not units:
            continue
        pattern = r"\s*(?:" + "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True)) + r")\s*$"
        mask = frame["measure"] == mid
        s.loc[mask] = s.loc[mask].str.replace(pattern, "", regex=True, case=False)
    if decimal == ",":
        s = s.str.replace(".", "", regex=False).where(~s.str.contains(r",\d", regex=True), s)
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
                first_r = int(g["row"].iloc[0])
                for r, c in g[["row", "value_col"]].iloc[1:].itertuples(index=False):
                    problems.append(
                        LogProblem(int(r), c, f"a different value for the same patient, date, measure and side is on row {first_r} (rows {rows})",
                                   "Keep one value; correct the other row or its date")
                    )
        log = log.drop_duplicates(key, keep="first")
    log = log.drop(columns=["row", "value_col"]).sort_values(key, kind="stable").reset_index(drop=True)
    log["date"] = log["date"].astype("datetime64[ns]")
    return log


def _unneutralise(s: pd.Series) -> pd.Series:
    """Undo the export's formula guard (a ' before = + - @) so exports re-import exactly."""
    return s.str.replace(r"^'(?=[=+\-@\t\r])", "", regex=True)


def validate_log(log: pd.DataFrame, *, catalog: Catalog | None = None, today: dt.date | None = None) -> pd.DataFrame:
    """Check a tidy log (e.g. one built in code) with the same rules as :func:`read_log`.

    Returns the cleaned log; raises :class:`LogError`.
    """
    if not isinstance(log, pd.DataFrame):
        raise LogError([LogProblem(None, None, f"expected a table (DataFrame), not {type(log).__name__}", "Pass the log as a pandas DataFrame")], "The log")
    missing = [c for c in ("patient_id", "date", "measure", "value") if c not in log.columns]
    if missing:
        raise LogError([LogProblem(None, c, "column is missing", f"Add the '{c}' column") for c in missing], "The log")
    frame = pd.DataFrame({c: log[c] if c in log.columns else "" for c in LOG_COLUMNS})
    frame["date"] = frame["date"].map(_date_text)
    frame["value"] = frame["value"].map(_value_text)
    frame = frame.fillna("").astype(str)
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
            out.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n", float_format="%.10g")
    return path
