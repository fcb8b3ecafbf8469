"""Schema migrations for the patient store (Alembic).

A store records its Alembic revision in ``alembic_version`` (inside the kit's own
schema on PostgreSQL).  A store written by the first release has no such table and
``meta.schema = "1"``: it is stamped at revision ``0001`` and upgraded in place,
after the store has taken a backup.  New stores are created at the newest schema
and stamped ``head``.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

__all__ = ["HEAD", "current_revision", "run_upgrade", "stamp"]

HEAD = "0002"
HERE = Path(__file__).resolve().parent


def _config(conn: sa.Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = conn
    return cfg


def current_revision(conn: sa.Connection) -> str | None:
    """The store's Alembic revision, or None when it has none (first release or empty).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        An open connection to the store.

    Returns
    -------
    str or None
        The revision id.
    """
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def stamp(conn: sa.Connection, revision: str = "head") -> None:
    """Record ``revision`` without running anything (new stores, first-release stores).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        An open connection.
    revision : str, optional
        The revision to record (default the newest).
    """
    from alembic import command

    command.stamp(_config(conn), revision)


def run_upgrade(conn: sa.Connection, revision: str = "head") -> None:
    """Upgrade the store on ``conn`` (inside the caller's transaction) to ``revision``.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        An open connection, inside the caller's transaction.
    revision : str, optional
        Target revision (default the newest).
    """
    from alembic import command

    command.upgrade(_config(conn), revision)
