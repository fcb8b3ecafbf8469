"""The tidy log: its columns and dtypes, the errors that report a bad log, and the conform and check steps every producer and consumer share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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


MAX_PROBLEMS_SHOWN = 50


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
    if (
        tuple(log.columns) == LOG_COLUMNS
        and all(log[c].dtype == pd.api.types.pandas_dtype(t) for c, t in LOG_DTYPES.items())
        and log.index.equals(pd.RangeIndex(len(log)))
        and not _has_negative_zero(log["value"].to_numpy())
    ):
        return log  # already conformed (a fast path builds it so): no copy
    out = log.loc[:, list(LOG_COLUMNS)].astype(LOG_DTYPES)
    # a zero is a zero: "-0" in a file or a sum of negatives is stored and shown as 0, however it
    # was read (-0.0 + 0.0 is 0.0; every other value is unchanged)
    out["value"] = out["value"].to_numpy() + 0.0
    return out.reset_index(drop=True)


def _has_negative_zero(values: np.ndarray) -> bool:
    return values.dtype.kind == "f" and bool(np.signbit(values[values == 0]).any())


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
