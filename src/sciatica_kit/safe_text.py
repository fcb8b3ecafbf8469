"""Text that a spreadsheet can never run as a formula (the CSV / Excel guard).

Every writer of a spreadsheet-readable file (programme exports, the tidy log) passes
its text cells through here.  Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return (or their full-width forms) is prefixed with ``'`` (OWASP CSV
injection guidance); :func:`safe_csv_cell` also guards such text after a ``;`` or a
tab inside a cell, so the guard holds when a spreadsheet splits the file at ``;``.
Real numbers stay numbers.

This module imports nothing else of the kit, so any module may use it.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["FORMULA_START", "safe_cell", "safe_csv_cell", "safe_frame", "strip_control"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# a formula start right after a ";" or a tab inside a cell: a spreadsheet that splits the CSV
# at ";" (or tabs) would make it the start of a new cell
_INNER_FORMULA = re.compile("([;\t][ '\"]*)(?=[=+\\-@\uff1d\uff0b\uff0d\uff20])")


def strip_control(value: Any) -> Any:
    """Remove control codes from text (a workbook cannot store them; they are invisible anyway).

    Parameters
    ----------
    value
        Any cell value; only text is changed.

    Returns
    -------
    Any
        The text without control codes, or ``value`` unchanged when it is not text.

    Examples
    --------
    >>> strip_control("Ann\\x07 Bell")
    'Ann Bell'
    """
    return _CONTROL.sub("", value) if isinstance(value, str) else value


def safe_cell(value: Any) -> Any:
    """Neutralise a text cell that a spreadsheet would run as a formula.

    Parameters
    ----------
    value
        Any cell value.  Numbers (including negative numbers) are returned unchanged.

    Returns
    -------
    Any
        Text that starts like a formula gets a leading ``'``; control codes are removed.

    Examples
    --------
    >>> safe_cell("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> safe_cell(-3.5)
    -3.5
    >>> safe_cell("Sit tall")
    'Sit tall'
    """
    if isinstance(value, str):
        value = _CONTROL.sub("", value)
        stripped = value.lstrip(" ")
        # also a text already starting with ' before a formula character, so that re-reading
        # (which removes one guarding ') gives the text back exactly
        if value.startswith(FORMULA_START) or stripped.startswith(FORMULA_START) or value.lstrip("'").startswith(FORMULA_START):
            return "'" + value
    return value


def safe_csv_cell(value: Any) -> Any:
    """:func:`safe_cell`, and also guarded where a ``;`` or tab inside the text starts a formula.

    Parameters
    ----------
    value
        Any cell value.

    Returns
    -------
    Any
        The guarded value.

    Examples
    --------
    >>> safe_csv_cell("Sit tall; =1+1")
    "Sit tall; '=1+1"
    """
    value = safe_cell(value)
    if isinstance(value, str):
        value = _INNER_FORMULA.sub(lambda m: m.group(1) + "'", value)
    return value


def safe_frame(frame: pd.DataFrame, cell=safe_cell) -> pd.DataFrame:
    """Apply :func:`safe_cell` (or ``cell``) to every text cell and header of ``frame``.

    Parameters
    ----------
    frame
        The table about to be written.
    cell
        The guard for one cell (default :func:`safe_cell`; CSV writers use :func:`safe_csv_cell`).

    Returns
    -------
    pandas.DataFrame
        A guarded copy; ``frame`` is not changed.
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(cell)
    out.columns = [cell(str(c)) for c in out.columns]
    return out
