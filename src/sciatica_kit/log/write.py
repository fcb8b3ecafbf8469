"""Write a tidy log back to CSV or ``.xlsx``, long or wide (one row per visit), so that reading it again gives the same log.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sciatica_kit.log.rules import EXCEL_SUFFIXES
from sciatica_kit.log.schema import LOG_COLUMNS


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
    from sciatica_kit.files import private_path
    from sciatica_kit.safe_text import safe_frame

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
