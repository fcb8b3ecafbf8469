"""Hand-written tidy logs for tests, and an exact comparison that ignores row order and string dtype."""

from __future__ import annotations

import pandas as pd

from sciatica_kit.logbook import LOG_COLUMNS

KEY = ["patient_id", "date", "measure", "side"]
TEXT_COLUMNS = ["patient_id", "measure", "side", "note"]


def tidy(rows: list) -> pd.DataFrame:
    """A tidy log from rows of (patient_id, date, measure, side, value[, note])."""
    rows = [list(r) + [""] * (len(LOG_COLUMNS) - len(r)) for r in rows]
    frame = pd.DataFrame(rows, columns=list(LOG_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d").astype("datetime64[ns]")
    frame["value"] = frame["value"].astype("float64")
    return frame


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.loc[:, list(LOG_COLUMNS)].sort_values(KEY, kind="stable").reset_index(drop=True)
    for c in TEXT_COLUMNS:
        out[c] = out[c].astype(object)
    return out


def assert_same_log(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(canonical(actual), canonical(expected), check_exact=True)
