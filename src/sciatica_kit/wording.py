"""The sentences the kit prints on every programme: disclaimer, safety note, stop rules.

They live in the catalogue's ``wording.toml`` (data, ready for translation), not in the
code.  Handouts, exports, reports and the FHIR care plan read them from here, so those
modules need not import each other for two sentences of wording.

A catalogue folder without its own ``wording.toml`` uses the packaged one.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from sciatica_kit._docs import shared_docs
from sciatica_kit.catalog import CatalogError, catalog_dir

if TYPE_CHECKING:
    from sciatica_kit.catalog import Catalog

__all__ = ["Wording", "load_wording"]

WORDING_FILE = "wording.toml"


@dataclass(frozen=True)
class Wording:
    """The kit's fixed sentences, as read from ``wording.toml``.

    Attributes
    ----------
    disclaimer : str
        Printed for the patient at the end of every handout and report.
    safety_note : str
        The whole safety note in one paragraph (exports, FHIR care plan notes).
    emergency_signs : tuple of str
        Signs that need urgent care now (the handout's "Stop and get help" box).
    stop_rules : tuple of str
        Signs that mean "stop the exercises and call us".
    no_dose : str
        The dose in words of an exercise with no dose yet.
    fill_in_dose : str
        What a handout prints instead of a missing dose, for the clinician to write on.
    """

    disclaimer: str
    safety_note: str
    emergency_signs: tuple[str, ...]
    stop_rules: tuple[str, ...]
    no_dose: str
    fill_in_dose: str


def _folder(catalog: Catalog | None) -> Path:
    if catalog is not None and getattr(catalog, "files", None):
        folder = Path(catalog.files[0]).parent
        if (folder / WORDING_FILE).is_file():
            return folder
    return catalog_dir()


@shared_docs
def load_wording(catalog: Catalog | None = None) -> Wording:
    """The wording of the catalogue in use (default: the packaged catalogue).

    Parameters
    ----------
    {catalog}

    Returns
    -------
    Wording

    Raises
    ------
    CatalogError
        When ``wording.toml`` lacks a sentence or holds something that is not text.

    Examples
    --------
    >>> load_wording().emergency_signs[-1]
    'Weakness in both legs.'
    """
    path = _folder(catalog) / WORDING_FILE
    return _read(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read(path: str, _stamp: int) -> Wording:
    name = Path(path).name
    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh).get("wording", {})
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise CatalogError([f"{name}: cannot be read ({err})"]) from None
    problems: list[str] = []
    values: dict[str, object] = {}
    for f in fields(Wording):
        value = table.get(f.name)
        if f.type.startswith("tuple"):
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
                problems.append(f"{name}: [wording] '{f.name}' must be a list of sentences")
                continue
            values[f.name] = tuple(value)
        else:
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{name}: [wording] '{f.name}' is missing; write the sentence as text")
                continue
            values[f.name] = value
    unknown = sorted(set(table) - {f.name for f in fields(Wording)})
    problems += [f"{name}: [wording] '{k}' is not a known sentence; valid: {', '.join(f.name for f in fields(Wording))}"
                 for k in unknown]
    if problems:
        raise CatalogError(problems)
    return Wording(**values)  # type: ignore[arg-type]
