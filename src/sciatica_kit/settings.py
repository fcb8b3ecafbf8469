"""The clinic's settings: one small TOML file set once per clinic or per clinician.

Looked up at ``$SCIATICA_KIT_SETTINGS``, else ``~/.config/sciatica-kit/settings.toml``
(``$XDG_CONFIG_HOME`` respected).  Every section is optional; a missing file means
the kit's defaults.  Example::

    [clinic]
    name = "Riverside Physiotherapy"
    phone = "01234 567890"

    [store]
    location = "postgresql+psycopg://kit@clinic-server/kit"   # or a file path
    user = "a.khan"        # who is recorded; on a clinic hub the hub login wins

    [exports]
    folder = "~/Documents/sciatica-kit-exports"

    [programme]
    max_exercises = 8

Sections are read by the module that owns them (``clinic`` by the handout,
``store`` by :class:`~sciatica_kit.store.Store`, and so on); this module only finds,
reads and validates the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["SettingsError", "clinic_store_location", "load_settings", "settings_path"]


class SettingsError(ValueError):
    """The settings file cannot be read; the message names the file and the fix."""


def settings_path() -> Path:
    """Where the settings file is looked for (it need not exist).

    Returns
    -------
    pathlib.Path
        The settings file's path.
    """
    explicit = os.environ.get("SCIATICA_KIT_SETTINGS")
    if explicit:
        return Path(explicit).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "sciatica-kit" / "settings.toml"


def load_settings(path: str | os.PathLike | None = None) -> dict[str, Mapping[str, Any]]:
    """Read the settings file: a dict of sections, empty when there is no file.

    Parameters
    ----------
    path
        A settings file; default :func:`settings_path`.

    Returns
    -------
    dict
        ``{section: {key: value}}``; every value as written in the file.

    Raises
    ------
    SettingsError
        When the file exists but is not valid TOML, or a section is not a table.
    """
    file = Path(path).expanduser() if path is not None else settings_path()
    if not file.is_file():
        return {}
    try:
        with file.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SettingsError(f"The settings file {file} cannot be read ({err}). Fix or remove it.") from None
    for name, section in data.items():
        if not isinstance(section, dict):
            raise SettingsError(
                f"The settings file {file}: '{name}' must be a section such as [{name}], not a single value."
            )
    return data


def clinic_store_location() -> str | None:
    """The clinic store when one is configured (``$SCIATICA_KIT_STORE``, else ``[store] location``), else None.

    The apps and ``make report`` open the demo store when this is None.

    Returns
    -------
    str or None
        The path or URL, or None when no clinic store is configured.
    """
    env = os.environ.get("SCIATICA_KIT_STORE")
    if env:
        return env
    try:
        location = (load_settings().get("store") or {}).get("location")
    except SettingsError:
        return None  # an unreadable settings file is reported where the store is opened
    return str(location) if location else None
