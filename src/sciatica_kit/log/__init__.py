"""The tidy progress log: one row per patient x date x measure x side.

::

    patient_id  date        measure  side   value  note
    DEMO-001    2026-01-05  pain            7.0
    DEMO-001    2026-01-05  slr      left   40.0   tight hamstrings

This package owns it.  :mod:`.schema` defines its columns and dtypes (:data:`LOG_DTYPES`):
every producer - file import (:func:`read_log`), validation (:func:`validate_log`), the store,
FHIR import, the demo - ends with :func:`conform_log`, and every consumer - summaries, charts,
the store, FHIR export - starts with :func:`check_log`.

- :mod:`.read`: files (CSV, ``.xlsx``) and DataFrames, long or wide, into a tidy log;
- :mod:`.headers`: the headers clinicians write, mapped to measures and sides;
- :mod:`.rules`: the rules for one cell (dates, numbers and units, damaged text);
- :mod:`.validate`: a table of cells into a tidy log, every problem with row and column;
- :mod:`.fast`: the same result column-wise for clean input (compared with the full path in tests);
- :mod:`.write`: back to CSV or ``.xlsx``, long or wide.

Every problem in a file is collected - not just the first - and raised in a :class:`LogError`
naming the file row, the column and what would fix it.  Patient notes are never repeated in a message.
"""

from sciatica_kit.log.read import read_log
from sciatica_kit.log.schema import (
    LOG_COLUMNS,
    LOG_DTYPES,
    LogError,
    LogProblem,
    check_log,
    conform_log,
    empty_log,
)
from sciatica_kit.log.validate import validate_log
from sciatica_kit.log.write import to_wide, write_log

__all__ = [
    "LOG_COLUMNS",
    "LOG_DTYPES",
    "LogError",
    "LogProblem",
    "check_log",
    "conform_log",
    "empty_log",
    "read_log",
    "to_wide",
    "validate_log",
    "write_log",
]
