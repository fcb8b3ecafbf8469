"""Hand-written tidy logs for tests, and an exact comparison that ignores row order only (dtypes must match)."""

from __future__ import annotations

import pandas as pd

from sciatica_kit.log import LOG_COLUMNS, conform_log

KEY = ["patient_id", "date", "measure", "side"]


def tidy(rows: list) -> pd.DataFrame:
    """A tidy log from rows of (patient_id, date, measure, side, value[, note])."""
    rows = [list(r) + [""] * (len(LOG_COLUMNS) - len(r)) for r in rows]
    frame = pd.DataFrame(rows, columns=list(LOG_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    return conform_log(frame)


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[:, list(LOG_COLUMNS)].sort_values(KEY, kind="stable").reset_index(drop=True)


def assert_same_log(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(canonical(actual), canonical(expected), check_exact=True)
