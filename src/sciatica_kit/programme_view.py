"""What the writers read from a programme: the shape of :class:`~sciatica_kit.programme.Programme` they rely on.

The spreadsheet and handout writers (:mod:`sciatica_kit.export`, :mod:`sciatica_kit.handout`)
take any object of this shape.  ``Programme``'s own ``to_csv``, ``to_excel``, ``to_html`` and
``to_pdf`` hand themselves to those writers, so the writers name this protocol rather than the
class: the dependency runs one way, from the programme to its writers.
``tests/test_imports.py`` checks that a built programme has this shape.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from sciatica_kit.catalog import Catalog
    from sciatica_kit.screening import Referral

__all__ = ["ProgrammeView"]


@runtime_checkable
class ProgrammeView(Protocol):
    """A built programme as the writers see it (see :class:`sciatica_kit.programme.Programme`)."""

    table: pd.DataFrame
    excluded: pd.DataFrame
    referral: Referral | None
    advice: tuple[dict, ...]
    overrides: tuple[dict, ...]

    @property
    def patient(self) -> str | None: ...  # noqa: D102

    @property
    def clinic(self) -> str | None: ...  # noqa: D102

    @property
    def created(self) -> dt.date: ...  # noqa: D102

    @property
    def catalog(self) -> Catalog | None: ...  # noqa: D102

    @property
    def conditions(self) -> tuple[str, ...]: ...  # noqa: D102

    @property
    def phase(self) -> str: ...  # noqa: D102

    @property
    def findings(self) -> tuple[str, ...]: ...  # noqa: D102

    @property
    def red_flags(self) -> tuple[str, ...]: ...  # noqa: D102

    @property
    def blocked(self) -> bool: ...  # noqa: D102

    @property
    def screen_status(self) -> str: ...  # noqa: D102

    @property
    def red_flag_names(self) -> list[str]: ...  # noqa: D102

    def exercise_name(self, exercise_id: str) -> str:
        """An exercise's name in clinic words.

        Parameters
        ----------
        exercise_id : str
            The exercise's catalogue id.

        Returns
        -------
        str
            Its name.
        """
