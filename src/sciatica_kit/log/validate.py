"""Turn a table of text cells (from a file or a DataFrame) into a tidy log, collecting every problem with its row and column.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Any

import numpy as np
import pandas as pd

from sciatica_kit.catalog import Catalog, load_catalog
from sciatica_kit.log.fast import _validate_typed
from sciatica_kit.log.headers import _SIDE_WORDS, _map_header, _measure_id, _norm_header
from sciatica_kit.log.rules import (
    _CONTROL,
    _parse_dates,
    _parse_values,
    _unneutralise,
    _without_surrogates,
)
from sciatica_kit.log.schema import LOG_COLUMNS, LogError, LogProblem, conform_log


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
    cat = catalog or load_catalog()
    fast = _validate_typed(log, today=today, cat=cat)
    if fast is not None:
        return fast
    frame = pd.DataFrame({c: log[c] if c in log.columns else "" for c in LOG_COLUMNS})
    frame["date"] = frame["date"].map(_date_text)
    frame["value"] = frame["value"].map(_value_text)
    frame = frame.astype(object).fillna("").astype(str)  # object first: an all-empty note column read by pandas is float
    if "side" not in log.columns:
        frame["side"] = ""
    return _parse(frame, first_row=2, source="The table", dayfirst=None, decimal=".", today=today, cat=cat)


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
