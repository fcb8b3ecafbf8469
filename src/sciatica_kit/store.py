"""The patient store: an SQLite file by default, or a shared PostgreSQL server for a clinic.

Guarantees
----------
* ``add`` is all-or-nothing: the log is validated first and written in one
  transaction, so a rejected or interrupted import leaves the store as it was.
* Every write is a *batch* (who, when, from which source).  Each value records the
  batch that wrote it, so the store can say who entered what; a corrected value
  moves the old one into ``history`` (old value, new value, who changed it, when).
* Undo removes one batch - by default the caller's own last batch for one patient,
  and then only that patient's rows - in a few set-based statements; values the
  batch had overwritten are put back.  Another clinician's entries are never touched.
* On a server, writers of the same patient are serialised (row locks on the
  patient), so two clinicians saving at once never lose a value; creating the
  schema is guarded by an advisory lock; registering a patient is idempotent.
  The kit keeps its tables in its own schema, ``sciatica_kit``.
* Every database problem reaches the user as a :class:`StoreError` in plain words:
  no SQL, no rows, never a password.  A server that does not answer times out.
* The SQLite file is owner-only (0600), uses WAL journaling and waits
  (``busy_timeout``) rather than failing when a colleague is saving.  A damaged file
  or one that is not a kit store is reported and never overwritten.
* The schema is versioned with Alembic; a store from an older release is upgraded
  in place after a backup is taken.

Location: ``Store()`` opens ``$SCIATICA_KIT_STORE``, else the settings file's
``[store] location``, else ``~/.local/share/sciatica-kit/store.sqlite``
(``$XDG_DATA_HOME`` respected), always outside the repository.  A location is a
file path or a URL (``postgresql+psycopg://user:password@host/db``); a URL never
becomes a local path.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event

from sciatica_kit._docs import shared_docs
from sciatica_kit.catalog import Catalog
from sciatica_kit.files import OWNER_ONLY
from sciatica_kit.log import LOG_COLUMNS, conform_log, empty_log, validate_log
from sciatica_kit.migrations.schema import tables_v3

if TYPE_CHECKING:
    from sciatica_kit.programme import Programme

__all__ = ["PG_SCHEMA", "STORE_ENV", "ImportResult", "Store", "StoreError", "default_location", "default_store_path"]

STORE_ENV = "SCIATICA_KIT_STORE"
SCHEMA_VERSION = "3"
PG_SCHEMA = "sciatica_kit"  # the kit's own schema on a PostgreSQL server
BUSY_TIMEOUT_MS = 30_000  # SQLite: wait this long for a colleague's save
CONNECT_TIMEOUT_S = 10  # server: give up connecting after this long
LOCK_TIMEOUT_S = 30  # server: wait this long for a colleague's save of the same patient
STATEMENT_TIMEOUT_S = 300  # server: no single statement may run longer
_SCHEMA_LOCK = 0x5C1A71CA  # advisory-lock key: one client at a time creates or upgrades the schema
_CHUNK = 50_000

metadata = sa.MetaData()
_T = tables_v3(metadata)
meta, patients, batches, batch_patients = _T["meta"], _T["patients"], _T["batches"], _T["batch_patients"]
entries, history, programmes = _T["entries"], _T["history"], _T["programmes"]
KEY = ("patient_id", "date", "measure", "side")
# written inline (not as a parameter) so both planners match history's partial index on it
_CORRECTED = sa.literal_column("'corrected'")

# the rows of one import, staged in a temporary table when they must be merged with stored ones
_staging_md = sa.MetaData()
incoming = sa.Table(
    "sk_incoming", _staging_md,
    *(sa.Column(c.name, c.type, primary_key=True) for c in entries.c if c.name in KEY),
    sa.Column("value", sa.Float, nullable=False), sa.Column("note", sa.Text, nullable=False),
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP",
)


class StoreError(RuntimeError):
    """The store cannot be used as it is; the message says why and what to do."""


@dataclass(frozen=True)
class ImportResult:
    """What one ``Store.add`` did; ``batch_id`` is None when nothing was written."""

    batch_id: int | None
    added: int
    corrected: int
    unchanged: int

    @property
    def import_id(self) -> int | None:
        """The earlier name of :attr:`batch_id`."""
        return self.batch_id

    def __str__(self) -> str:
        return f"{self.added} new, {self.corrected} corrected (old values kept in history), {self.unchanged} already there"


# --------------------------------------------------------------------------- locations and users

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def _is_url(text: str) -> bool:
    return bool(_URL.match(text))


def _store_settings() -> dict:
    from sciatica_kit.settings import load_settings

    return dict(load_settings().get("store", {}))


def default_location() -> str | Path:
    """Where ``Store()`` looks: ``$SCIATICA_KIT_STORE``, the settings file, or the user's data folder.

    Returns
    -------
    str or Path
        A URL (text, password included: keep it out of messages) or a file path.
    """
    env = os.environ.get(STORE_ENV)
    if env:
        return env if _is_url(env) else Path(env).expanduser()
    configured = _store_settings().get("location")
    if configured:
        text = str(configured)
        return text if _is_url(text) else Path(text).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "sciatica-kit" / "store.sqlite"


def default_store_path() -> Path:
    """The default store as a file path (see :func:`default_location`).

    Returns
    -------
    pathlib.Path
        The file.

    Raises
    ------
    StoreError
        When the default store is a server, not a file.
    """
    where = default_location()
    if isinstance(where, str):
        raise StoreError("The default store is a clinic server, not a file; use its address (see default_location).")
    return where


def _data_folder() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "sciatica-kit"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _default_user() -> str:
    """Who a ``Store()`` records when no ``user`` is given: the hub login, the settings file, the OS login.

    The hub login (``$JUPYTERHUB_USER``, set by JupyterHub in each clinician's server) comes
    first: on a clinic hub it is the person who logged in, whatever a settings file shared by
    the server says.
    """
    hub = os.environ.get("JUPYTERHUB_USER", "").strip()
    if hub:
        return hub
    configured = _store_settings().get("user")
    if configured:
        return str(configured)
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def _read_only_uri(path: Path) -> str:
    """An SQLite URI that opens ``path`` read-only, percent-quoted: a folder named "Clinic #2"
    must not silently open an empty database called "Clinic " instead."""
    return Path(os.path.abspath(path)).as_uri() + "?mode=ro"


def describe(url: sa.engine.URL) -> str:
    """A server address for messages: host, port and database, never the password."""
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    return f"the clinic server {host}{port} (database {url.database or '?'})"  # no user name, never the password


# --------------------------------------------------------------------------- errors in clinic words


def _is_db_error(exc: BaseException) -> bool:
    return isinstance(exc, sa.exc.SQLAlchemyError | sqlite3.Error) or type(exc).__module__.startswith("psycopg")


def _clinic_error(exc: BaseException, where: str) -> StoreError:
    """A database error as a sentence for a clinician: no SQL, no rows, no password."""
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None) or ""
    text = str(orig).lower()  # only to recognise the problem; never shown
    if state == "57014":
        return StoreError(f"{_cap(where)} did not finish within {STATEMENT_TIMEOUT_S} s, so nothing was changed. "
                          "Try again later, or ask IT whether the server is overloaded.")
    if state == "55P03":
        return StoreError(f"A colleague was saving the same patient for more than {LOCK_TIMEOUT_S} s on {where}; "
                          "nothing was changed. Try again in a moment.")
    if state in ("40P01", "40001"):
        return StoreError("Two saves got in each other's way; nothing was changed. Try again.")
    if state == "42501":
        return StoreError(f"Your login may not use the kit's tables on {where}; nothing was changed. Ask IT to grant "
                          "them (README, 'Shared clinic server').")
    if state.startswith("28") or "password authentication failed" in text or "no password supplied" in text:
        return StoreError(f"{_cap(where)} refused the login: check the user name and password in the store address.")
    if state == "3D000" or ("database" in text and "does not exist" in text):
        return StoreError(f"{_cap(where)} has no such database: check the store address, or ask IT to create it.")
    if "timeout expired" in text or "timed out" in text:
        return StoreError(f"{_cap(where)} did not answer within {CONNECT_TIMEOUT_S} s; check the address and that it is running.")
    if any(w in text for w in ("connection refused", "could not connect", "connection failed", "could not translate",
                               "name or service not known", "server closed the connection", "connection is closed",
                               "no route to host", "terminating connection")):
        return StoreError(f"{_cap(where)} cannot be reached; check the address and that it is running.")
    if "database is locked" in text or "database table is locked" in text:
        return StoreError(f"{_cap(where)} stayed busy for more than {BUSY_TIMEOUT_MS // 1000} s (a colleague's save); "
                          "nothing was changed. Try again in a moment.")
    if "full" in text and ("disk" in text or "database" in text):
        return StoreError(f"The disk holding {where} is full; nothing was saved. Free some space and try again.")
    if "readonly" in text or "read-only" in text:
        return StoreError(f"{_cap(where)} cannot be written (read-only); check the file's rights.")
    if "unique" in text or "duplicate key" in text or state == "23505":
        return StoreError("The same patient, date, measure and side appears twice in what was saved; nothing was saved.")
    return StoreError(f"{_cap(where)} could not be used ({type(orig).__name__}); nothing was changed. "
                      "Try again, or ask IT to check it.")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _guarded(fn):
    """Turn any database error raised by a Store method into a StoreError in plain words."""

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:
            if _is_db_error(exc):
                raise _clinic_error(exc, self.where) from None
            raise

    return wrapper


# --------------------------------------------------------------------------- files


def _create_schema(conn: sa.Connection) -> None:
    """The newest schema in an empty database, stamped at the newest Alembic revision."""
    from sciatica_kit.migrations import stamp

    metadata.create_all(conn)
    conn.execute(meta.insert(), [{"key": "schema", "value": SCHEMA_VERSION}, {"key": "created_at", "value": _now()}])
    stamp(conn, "head")


def _create_store_file(path: Path) -> bool:
    """Create a new owner-only store file, schema included, in one step.

    The schema is written to a private temporary file that is then linked into place, so
    neither a crash nor a colleague opening the store at the same moment ever sees a
    half-made (0-byte) store.  Returns False when another process created it first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, OWNER_ONLY)
        engine = sa.create_engine(sa.engine.URL.create("sqlite", database=str(tmp)))
        try:
            with engine.begin() as conn:
                _create_schema(conn)
        finally:
            engine.dispose()
        con = sqlite3.connect(tmp)
        try:
            con.execute("PRAGMA journal_mode=WAL")  # switched now: later a switch needs every other writer out
        finally:
            con.close()
        try:
            os.link(tmp, path)  # fails if the store appeared meanwhile: never overwrite it
        except FileExistsError:
            return False
        except OSError:  # no hard links on this drive (some USB sticks, network shares)
            if path.exists():
                return False
            os.replace(tmp, path)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not a healthy Sciatica Kit SQLite store (never touch it)."""
    size = path.stat().st_size
    if size == 0:
        raise StoreError(
            f"The store file {path} is empty (0 bytes): it may have been truncated. It was left as it is. "
            "Restore it from a backup (Store.restore) or move it away to start a new store."
        )
    with path.open("rb") as fh:
        head = fh.read(16)
    if head != b"SQLite format 3\x00":
        raise StoreError(
            f"The file {path} is not a Sciatica Kit store (not an SQLite database). It was left untouched. "
            "Choose another store location or restore from a backup."
        )
    try:
        con = sqlite3.connect(_read_only_uri(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            result = con.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"The store {path} is damaged ({exc}). It was left untouched. Restore it from a backup (Store.restore)."
        ) from None
    if result != "ok":
        raise StoreError(f"The store {path} failed its integrity check. It was left untouched. Restore it from a backup.")
    if tables and "meta" not in tables:
        raise StoreError(
            f"The database {path} belongs to another program (tables: {', '.join(sorted(tables)[:5])}). It was left untouched. "
            "Choose another store location."
        )


def _sqlite_copy(source: Path | str, target: Path, *, uri: bool = False) -> None:
    """A consistent copy of an SQLite store (its committed state, WAL included), owner-only."""
    from sciatica_kit.files import private_path

    with private_path(target) as tmp:
        src = sqlite3.connect(source, uri=uri, timeout=BUSY_TIMEOUT_MS / 1000)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()


def _copy_tables(src: sa.Connection, dst: sa.Connection, tables: Iterable[sa.Table], *, replace: bool = False) -> None:
    """Copy every row of ``tables`` from one store to another (same schema), in chunks."""
    tables = list(tables)
    if replace:
        for table in reversed(tables):
            dst.execute(table.delete())
    for table in tables:
        result = src.execute(sa.select(table).execution_options(yield_per=_CHUNK))  # on the statement: the connection stays as it was
        for chunk in result.partitions(_CHUNK):
            dst.execute(table.insert(), [dict(r._mapping) for r in chunk])
    if dst.dialect.name == "postgresql":  # ids were copied as they were: move each sequence past them
        for table in tables:
            for column in table.primary_key.columns:
                if column.autoincrement is True or (column.autoincrement == "auto" and isinstance(column.type, sa.Integer)
                                                    and len(table.primary_key.columns) == 1):
                    seq = sa.func.pg_get_serial_sequence(table.name, column.name)
                    top = sa.select(sa.func.coalesce(sa.func.max(column), 0) + 1).scalar_subquery()
                    dst.execute(sa.select(sa.func.setval(seq, top, False)))


# --------------------------------------------------------------------------- the store


class Store:
    """A patient store.

    Parameters
    ----------
    location
        None for the default (``$SCIATICA_KIT_STORE``, the settings file, or the user's
        data folder), a file path, or a SQLAlchemy URL (``"sqlite:///clinic.db"``,
        ``"postgresql+psycopg://kit:secret@clinic-server/kit"``).
    user
        Name recorded with every change.  Precedence: this argument, else the hub login
        (``$JUPYTERHUB_USER``, set by JupyterHub in each clinician's server), else the
        settings file's ``[store] user``, else the operating system's login name.
    catalog
        The catalogue the logs are validated against (default: the kit's).
    create
        Create the store when there is none (default).  False: refuse instead (``check``, ``backup``).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "kit.sqlite", user="a.khan")
    >>> log = pd.DataFrame({"patient_id": ["P1"], "date": ["2026-01-05"], "measure": ["pain"], "side": [""], "value": [6.0], "note": [""]})
    >>> print(store.add(log))
    1 new, 0 corrected (old values kept in history), 0 already there
    >>> store.read(provenance=True)[["value", "entered_by"]].values.tolist()
    [[6.0, 'a.khan']]
    >>> store.undo(patient_id="P1")
    1
    """

    def __init__(self, location: str | os.PathLike | None = None, *, user: str | None = None, catalog: Catalog | None = None,
                 create: bool = True):
        self.create = create
        self.user = str(user) if user else _default_user()
        self.catalog = catalog
        if location is None:
            location = default_location()
        text = os.fspath(location) if isinstance(location, os.PathLike) else str(location)
        if isinstance(location, str) and _is_url(text):
            try:
                self.url = sa.engine.make_url(text)
            except sa.exc.ArgumentError:
                raise StoreError("The store address is not a valid URL; write it like "
                                 "postgresql+psycopg://user:password@host/database or give a file path.") from None
            backend = self.url.get_backend_name()
            if backend == "postgresql" and self.url.drivername == "postgresql":
                self.url = self.url.set(drivername="postgresql+psycopg")
            if backend not in ("sqlite", "postgresql"):
                raise StoreError(f"The kit keeps its store in an SQLite file or on a PostgreSQL server, not '{backend}'.")
            db = self.url.database
            self.path = Path(db).expanduser() if backend == "sqlite" and db not in (None, "", ":memory:") else None
            if self.path is not None:
                self.url = self.url.set(database=str(self.path))
        else:
            self.path = Path(text).expanduser()
            self.url = sa.engine.URL.create("sqlite", database=str(self.path))
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        # how messages name the store: "the store /path/kit.sqlite" or "the clinic server host:5432 (database kit)"
        self.where = f"the store {self.path}" if self.path is not None else (describe(self.url) if not self.is_sqlite else "the store in memory")
        created = False
        if self.path is not None:
            if self.path.exists():
                if self.path.is_dir():
                    raise StoreError(f"The store location {self.path} is a folder; give a file name such as {self.path / 'store.sqlite'}")
                _check_sqlite_file(self.path)
            elif not create:
                raise StoreError(f"There is no store at {self.path}. Give its location (or set {STORE_ENV}).")
            else:
                created = _create_store_file(self.path)
        self.engine = self._make_engine()
        try:
            self._open_schema()
        except StoreError:
            self.engine.dispose()
            raise
        except Exception as exc:
            self.engine.dispose()
            if _is_db_error(exc):
                raise _clinic_error(exc, self.where) from None
            raise
        finally:
            if created and self.path is not None and self.path.exists() and self.path.stat().st_size == 0:
                self.path.unlink()

    def __repr__(self) -> str:
        where = self.path if self.path is not None else self.url.render_as_string(hide_password=True)
        return f"<Store {where} user={self.user!r}>"

    @property
    def location(self) -> str:
        """The store's file path or server address (the password hidden)."""
        return str(self.path) if self.path is not None else self.url.render_as_string(hide_password=True)

    # ------------------------------------------------------------------ engine
    def _make_engine(self) -> sa.Engine:
        # hide_parameters: a database error must never print the rows (patients' notes) it was writing
        if not self.is_sqlite:
            options = (f"-c search_path={PG_SCHEMA} -c lock_timeout={LOCK_TIMEOUT_S * 1000} "
                       f"-c statement_timeout={STATEMENT_TIMEOUT_S * 1000} "
                       f"-c idle_in_transaction_session_timeout={max(STATEMENT_TIMEOUT_S, 60) * 2000}")
            return sa.create_engine(self.url, pool_pre_ping=True, hide_parameters=True, pool_size=2, max_overflow=4,
                                    pool_timeout=CONNECT_TIMEOUT_S,
                                    connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "options": options, "prepare_threshold": None,
                                                  "application_name": "sciatica-kit"})
        engine = sa.create_engine(self.url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                                  hide_parameters=True)
        busy = BUSY_TIMEOUT_MS

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_con, _record):
            dbapi_con.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_con.cursor()
            cur.execute(f"PRAGMA busy_timeout={int(busy)}")
            if self.path is not None:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL" if self.path is not None else "PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            # writers take the write lock at the start (no deadlocked upgrade; busy_timeout waits);
            # readers begin deferred, so in WAL mode a chart never waits behind a colleague's import
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("sk_read_only") else "BEGIN IMMEDIATE")

        return engine

    def _reading(self) -> sa.Connection:
        """A connection for reads only: no write lock is taken."""
        return self.engine.connect().execution_options(sk_read_only=True)

    def _tables(self, conn: sa.Connection) -> set[str]:
        return set(sa.inspect(conn).get_table_names(schema=None if self.is_sqlite else PG_SCHEMA))

    def _open_schema(self) -> None:
        """Create the schema in an empty database, or check and upgrade an existing one."""
        from sciatica_kit.migrations import HEAD, current_revision, run_upgrade, stamp

        if self.is_sqlite and self._schema_is_current():
            self._owner_only_files()
            return
        if self.path is not None:
            self._backup_before_upgrade_sqlite()
        with self.engine.begin() as conn:
            if not self.is_sqlite:
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
                self._ensure_pg_schema(conn)
            tables = self._tables(conn)
            if not tables:
                if not self.create:
                    raise StoreError(f"There is no Sciatica Kit store on {self.where} yet; nothing was created.")
                _create_schema(conn)
                return
            if "meta" not in tables:
                raise StoreError(f"The kit's tables on {self.where} are mixed with another program's "
                                 f"({', '.join(sorted(tables)[:5])}); nothing was changed. Choose another database.")
            version = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema")).scalar()
            revision = current_revision(conn)
            if revision == HEAD:
                return
            if revision is None and version == "1":
                if not self.is_sqlite:
                    self._backup_before_upgrade_pg(conn)
                stamp(conn, "0001")
                run_upgrade(conn, "head")
            elif revision in ("0001", "0002"):
                if not self.is_sqlite and revision == "0002":
                    self._backup_before_upgrade_pg(conn, release1=False)
                run_upgrade(conn, "head")
            else:
                raise StoreError(f"{_cap(self.where)} was written by a newer version of Sciatica Kit "
                                 f"(schema {version}); upgrade the kit (pip install -U sciatica-kit).")
        self._owner_only_files()

    def _schema_is_current(self) -> bool:
        """SQLite: the store is already at the newest schema, seen without taking the write lock.

        Opening a store then never waits behind a colleague's import (SQLite has one write
        lock for the whole file); creating or upgrading still takes it, below.
        """
        from sciatica_kit.migrations import HEAD, current_revision

        with self._reading() as conn:
            if "meta" not in self._tables(conn):
                return False
            return current_revision(conn) == HEAD

    def _owner_only_files(self) -> None:
        if self.path is not None:
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(self.path) + suffix)
                if p.exists():
                    os.chmod(p, OWNER_ONLY)

    def _ensure_pg_schema(self, conn: sa.Connection) -> None:
        """The kit's own schema: created when missing, refused when the login may not use it."""
        names = sa.inspect(conn).get_schema_names()
        if PG_SCHEMA not in names:
            if not self.create:
                raise StoreError(f"There is no Sciatica Kit store on {self.where} yet; nothing was created.")
            may_create = conn.execute(sa.select(sa.func.has_database_privilege(sa.func.current_database(), "CREATE"))).scalar()
            if not may_create:
                raise StoreError(f"Your login may not create the kit's schema '{PG_SCHEMA}' on {self.where}; nothing "
                                 "was created. Ask IT to create it for you (README, 'Shared clinic server').")
            conn.execute(sa.schema.CreateSchema(PG_SCHEMA))  # under the advisory lock: nobody else is creating it
            self._adopt_release1_tables(conn)
            return
        usable = conn.execute(sa.select(sa.func.has_schema_privilege(PG_SCHEMA, "USAGE"))).scalar()
        if not usable:
            raise StoreError(f"Your login may not use the kit's schema '{PG_SCHEMA}' on {self.where}; nothing was "
                             "changed. Ask IT to grant it (README, 'Shared clinic server').")
        tables = self._tables(conn)
        if tables:
            missing = [t for t in sorted(tables & set(metadata.tables)) if not conn.execute(sa.select(
                sa.func.has_table_privilege(f"{PG_SCHEMA}.{t}", "SELECT, INSERT, UPDATE, DELETE"))).scalar()]
            if missing:
                raise StoreError(f"Your login may not read and write the kit's tables on {self.where} "
                                 f"({', '.join(missing)}); nothing was changed. Ask IT to grant them "
                                 "(README, 'Shared clinic server').")

    def _adopt_release1_tables(self, conn: sa.Connection) -> None:
        """The first release kept its tables in ``public``: copy them into the kit's schema (to be
        upgraded there), leaving ``public`` as it was."""
        from sciatica_kit.migrations.schema import tables_v1

        names = ("meta", "patients", "imports", "entries", "history", "programmes")
        if not set(names) <= set(sa.inspect(conn).get_table_names(schema="public")):
            return
        public = tables_v1(sa.MetaData(schema="public"))
        if conn.execute(sa.select(public["meta"].c.value).where(public["meta"].c.key == "schema")).scalar() != "1":
            return
        kit_md = sa.MetaData(schema=PG_SCHEMA)
        kit = tables_v1(kit_md)
        kit_md.create_all(conn)
        for name in names:
            cols = [c.name for c in public[name].c]
            conn.execute(kit[name].insert().from_select(cols, sa.select(*public[name].c)))
        for name, column in (("imports", "import_id"), ("history", "id"), ("programmes", "id")):
            seq = sa.func.pg_get_serial_sequence(f"{PG_SCHEMA}.{name}", column)
            top = sa.select(sa.func.coalesce(sa.func.max(kit[name].c[column]), 0) + 1).scalar_subquery()
            conn.execute(sa.select(sa.func.setval(seq, top, False)))

    def _backup_before_upgrade_sqlite(self) -> None:
        """A first-release store file is copied beside itself before it is upgraded."""
        from sciatica_kit.migrations import HEAD

        con = sqlite3.connect(_read_only_uri(self.path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            revision = (con.execute("SELECT version_num FROM alembic_version").fetchone() or [None])[0] \
                if "alembic_version" in tables else None
        finally:
            con.close()
        if "meta" in tables and revision != HEAD:
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            _sqlite_copy(_read_only_uri(self.path), self.path.with_name(f"{self.path.name}.before-upgrade-{stamp}"), uri=True)

    def _backup_before_upgrade_pg(self, conn: sa.Connection, *, release1: bool = True) -> Path:
        """A server store is copied into a kit backup file before it is upgraded: a first-release
        store with its own tables; a schema-2 store as a kit backup (schema 3 has the same tables)."""
        from sciatica_kit.migrations.schema import tables_v1

        folder = _data_folder() / "backups"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{self.url.database}-before-upgrade-{dt.datetime.now():%Y%m%d-%H%M%S}.sqlite"
        from sciatica_kit.files import private_path

        with private_path(target) as tmp:
            if not release1:
                tmp.unlink(missing_ok=True)
                _create_store_file(tmp)
            engine = sa.create_engine(sa.engine.URL.create("sqlite", database=str(tmp)))
            try:
                with engine.begin() as dst:
                    if release1:
                        old = tables_v1(sa.MetaData())
                        old["meta"].metadata.create_all(dst)
                        _copy_tables(conn, dst, [old[n] for n in ("meta", "patients", "imports", "entries", "history", "programmes")])
                    else:
                        _copy_tables(conn, dst, metadata.sorted_tables, replace=True)
            finally:
                engine.dispose()
        self.upgrade_backup = target
        return target

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ helpers
    def _who(self, user: str | None) -> str:
        return str(user) if user else self.user

    def _insert(self, table: sa.Table):
        """INSERT that can say ON CONFLICT DO NOTHING (both dialects have it; the construct differs)."""
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        return insert(table)

    def _lock_patients(self, conn: sa.Connection, pids: list[str], who: str, now: str) -> None:
        """Register the patients (idempotent) and lock their rows until the transaction ends.

        Every writer of a patient takes this lock first, in patient order, so two clinicians
        saving the same patient on a server are serialised (SQLite serialises all writers anyway).
        """
        pids = sorted(set(pids))
        stmt = self._insert(patients).on_conflict_do_nothing(index_elements=["patient_id"])
        for i in range(0, len(pids), 10_000):
            part = pids[i:i + 10_000]
            conn.execute(stmt, [{"patient_id": p, "created_at": now, "created_by": who} for p in part])
            if not self.is_sqlite:
                conn.execute(sa.select(patients.c.patient_id).where(patients.c.patient_id.in_(part))
                             .order_by(patients.c.patient_id).with_for_update()).all()

    def _bulk_insert(self, conn: sa.Connection, table: sa.Table, columns: list[str], rows: Iterable[tuple]) -> None:
        """Many rows, fast: COPY on PostgreSQL, executemany of the Core INSERT on SQLite."""
        raw = conn.connection.driver_connection
        if self.is_sqlite:
            stmt = table.insert().compile(dialect=conn.dialect, column_keys=columns)
            order = [columns.index(k) for k in stmt.positiontup]
            cur = raw.cursor()
            try:
                if order == list(range(len(columns))):
                    cur.executemany(str(stmt), rows)
                else:
                    cur.executemany(str(stmt), (tuple(r[i] for i in order) for r in rows))
            finally:
                cur.close()
            return
        from psycopg import sql

        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
        with raw.cursor() as cur, cur.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)

    # ------------------------------------------------------------------ writing
    @_guarded
    def add(self, log: pd.DataFrame, *, source: str = "import", user: str | None = None) -> ImportResult:
        """Add a tidy log, all or nothing, as one batch.

        Rows identical to what is stored are skipped; a different value for an existing
        patient/date/measure/side replaces it and keeps the old one in history.

        Parameters
        ----------
        log
            A tidy log (patient_id, date, measure, side, value, note).
        source
            Where the rows came from ("visit form", a file name), shown in :meth:`batches`.
        user
            Who entered them (default: the store's user).

        Returns
        -------
        ImportResult
            Counts and the batch id (None when nothing was written).

        Raises
        ------
        LogError
            The log breaks a rule; nothing was written.
        StoreError
            The store could not be written; nothing was written.
        """
        clean = validate_log(log, catalog=self.catalog)
        if clean.empty:
            return ImportResult(None, 0, 0, 0)
        n_rows = len(clean)
        who, now = self._who(user), _now()
        pids = sorted(set(clean["patient_id"].astype(str).unique().tolist()))
        with self.engine.begin() as conn:
            batch_id = int(conn.execute(batches.insert().values(
                entered_by=who, entered_at=now, source=str(source)[:200], rows=0, kind="entry")).inserted_primary_key[0])
            self._lock_patients(conn, pids, who, now)
            known = conn.execute(sa.select(entries.c.patient_id).where(entries.c.patient_id.in_(pids)).limit(1)).first()
            if known is None:  # only new patients: no stored value can clash, write straight in
                self._bulk_insert(conn, entries, [c.name for c in entries.c], _rows(clean, batch_id))
                added, corrected, unchanged = n_rows, 0, 0
            else:
                added, corrected, unchanged = self._merge(conn, clean, batch_id, who, now)
            if added + corrected == 0:
                # nothing written: record no batch, so undo never picks one that changed nothing
                conn.execute(batches.delete().where(batches.c.batch_id == batch_id))
                return ImportResult(None, 0, 0, unchanged)
            conn.execute(batches.update().where(batches.c.batch_id == batch_id).values(rows=added + corrected))
            if known is None:
                conn.execute(batch_patients.insert(), [{"batch_id": batch_id, "patient_id": p} for p in pids])
            else:
                conn.execute(batch_patients.insert().from_select(
                    ["batch_id", "patient_id"],
                    sa.select(sa.literal(batch_id, sa.Integer), entries.c.patient_id)
                    .where(entries.c.batch_id == batch_id).distinct()))
        return ImportResult(batch_id, int(added), int(corrected), int(unchanged))

    def _merge(self, conn: sa.Connection, clean: pd.DataFrame, batch_id: int, who: str, now: str) -> tuple[int, int, int]:
        """Merge staged rows with stored ones in set-based statements: (added, corrected, unchanged)."""
        incoming.create(conn)
        self._bulk_insert(conn, incoming, [c.name for c in incoming.c], _rows(clean))
        e, s = entries, incoming
        same_key = sa.and_(*(e.c[k] == s.c[k] for k in KEY))
        differs = sa.or_(e.c.value != s.c.value, e.c.note != s.c.note)
        # Every statement is driven by the (small) staged rows and reaches the stored ones through
        # their primary key, so a visit's save does not grow with the size of the store.  Counted,
        # not taken from rowcount (which some drivers leave at -1 for INSERT ... SELECT).
        same = sa.exists().where(same_key, e.c.value == s.c.value, e.c.note == s.c.note)
        changed = sa.exists().where(same_key, differs)
        unchanged = int(conn.execute(sa.select(sa.func.count()).select_from(s).where(same)).scalar())
        corrected = int(conn.execute(sa.select(sa.func.count()).select_from(s).where(changed)).scalar())
        added = len(clean) - unchanged - corrected
        if corrected:
            stored = {c: sa.select(e.c[c]).where(same_key).scalar_subquery() for c in ("value", "note", "batch_id")}
            conn.execute(history.insert().from_select(
                [*KEY, "old_value", "old_note", "old_batch_id", "new_value", "new_note", "action", "batch_id",
                 "changed_by", "changed_at"],
                sa.select(*(s.c[k] for k in KEY), stored["value"], stored["note"], stored["batch_id"], s.c.value, s.c.note,
                          sa.literal("corrected"), sa.literal(batch_id, sa.Integer), sa.literal(who), sa.literal(now))
                .where(changed),
            ))
            incoming_value = {c: sa.select(s.c[c]).where(same_key).scalar_subquery() for c in ("value", "note")}
            conn.execute(e.update().where(
                e.c.patient_id.in_(sa.select(s.c.patient_id)),  # only the patients of this import (primary-key prefix)
                sa.exists().where(same_key, differs),
            ).values(value=incoming_value["value"], note=incoming_value["note"], batch_id=batch_id))
        if added:
            conn.execute(e.insert().from_select(
                [*KEY, "value", "note", "batch_id"],
                sa.select(*(s.c[k] for k in KEY), s.c.value, s.c.note, sa.literal(batch_id, sa.Integer))
                .where(~sa.exists().where(same_key)),
            ))
        if self.is_sqlite:
            incoming.drop(conn)  # PostgreSQL drops it at commit
        return int(added), int(corrected), int(unchanged)

    @_guarded
    @shared_docs
    def add_patient(self, patient_id: str, *, user: str | None = None) -> None:
        """Register a patient with no entries yet (ids only: no names or other identifiers).

        Registering the same patient twice, even at the same moment from two computers, is harmless.

        Parameters
        ----------
        patient_id : str
            The patient.
        {user}

        Raises
        ------
        PatientIdError
            The id breaks the kit's id rule (:func:`sciatica_kit.patient_id.check_patient_id`:
            1 to 32 letters, digits, '-', '_' or '.'); the message says why.  A ``ValueError``.
        """
        from sciatica_kit.patient_id import valid_patient_id

        pid = valid_patient_id(patient_id)
        with self.engine.begin() as conn:
            conn.execute(self._insert(patients).on_conflict_do_nothing(index_elements=["patient_id"]),
                         [{"patient_id": pid, "created_at": _now(), "created_by": self._who(user)}])

    # ------------------------------------------------------------------ undo
    def _undo_target(self, conn: sa.Connection, batch_id: int | None, patient_id: str | None, who: str) -> int | None:
        """The batch an undo removes: the named one (checked), or the caller's last live batch (for the patient)."""
        if batch_id is not None:
            row = conn.execute(sa.select(batches.c.entered_by, batches.c.kind).where(batches.c.batch_id == int(batch_id))).first()
            if row is None or row.kind != "entry":
                raise StoreError(f"There is no entry batch {batch_id} in the store; see Store.batches() for the list.")
            if row.entered_by != who:
                raise StoreError(f"Batch {batch_id} was entered by {row.entered_by}; only they can undo it. Nothing was changed.")
            return int(batch_id)
        live = sa.select(entries.c.batch_id).where(entries.c.batch_id == batches.c.batch_id)
        q = sa.select(sa.func.max(batches.c.batch_id)).where(batches.c.entered_by == who, batches.c.kind == "entry")
        if patient_id is not None:
            q = q.where(batches.c.batch_id.in_(sa.select(batch_patients.c.batch_id).where(batch_patients.c.patient_id == patient_id)))
            live = live.where(entries.c.patient_id == patient_id)
        found = conn.execute(q.where(live.exists())).scalar()
        return None if found is None else int(found)

    @staticmethod
    def _undo_scope(batch_id: int, patient_id: str | None):
        scope = entries.c.batch_id == batch_id
        return scope if patient_id is None else sa.and_(scope, entries.c.patient_id == patient_id)

    @_guarded
    @shared_docs
    def undo_preview(self, batch_id: int | None = None, *, patient_id: str | None = None, user: str | None = None) -> pd.DataFrame:
        """The rows :meth:`undo` would remove, with who entered them and when.

        Same arguments as :meth:`undo`; nothing is changed.  Columns: patient_id, date, measure,
        side, value, note, entered_by, entered_at, batch_id (empty when there is nothing to undo).

        Parameters
        ----------
        batch_id : int, optional
            The batch (default: the caller's own last batch).
        patient_id : str, optional
            Only this patient's rows.
        {user}

        Returns
        -------
        pandas.DataFrame
            The rows, with who entered them and when.
        """
        who = self._who(user)
        with self._reading() as conn:
            target = self._undo_target(conn, batch_id, patient_id, who)
            if target is None:
                return _provenance_frame([])
            q = (sa.select(*(entries.c[c] for c in LOG_COLUMNS), batches.c.entered_by, batches.c.entered_at, entries.c.batch_id)
                 .select_from(entries.join(batches, batches.c.batch_id == entries.c.batch_id))
                 .where(self._undo_scope(target, patient_id))
                 .order_by(*(entries.c[k] for k in KEY)))
            rows = conn.execute(q).all()
        return _provenance_frame(rows)

    @_guarded
    def undo(self, batch_id: int | None = None, *, patient_id: str | None = None, user: str | None = None) -> int:
        """Undo one batch; returns the number of rows removed.

        Parameters
        ----------
        batch_id
            The batch to undo (see :meth:`batches`).  Default: the caller's own last batch
            that still has current rows (for ``patient_id`` when given).
        patient_id
            Only this patient's rows are removed.  Without a named batch, an import that
            spans many patients is therefore undone only for this patient; the whole import
            is undone only when its batch is named and no patient is given.
        user
            Who undoes (default: the store's user).  Only the clinician who entered a batch
            may undo it.

        Returns
        -------
        int
            The number of rows removed.

        Notes
        -----
        Removed rows go to history as "undone" (old value, and the value put back, if any).
        Where the batch had overwritten a value, that value is put back - unless a later
        batch has overwritten the key since, in which case the later value stays.
        Shown beforehand by :meth:`undo_preview`.

        Raises
        ------
        StoreError
            The named batch does not exist or was entered by someone else.
        """
        return self._undo(batch_id, patient_id, self._who(user))[1]

    def _undo(self, batch_id: int | None, patient_id: str | None, who: str) -> tuple[int | None, int]:
        now = _now()
        with self.engine.begin() as conn:
            target = self._undo_target(conn, batch_id, patient_id, who)
            if target is None:
                return None, 0
            if patient_id is not None:
                pids = [patient_id]
            else:
                pids = list(conn.execute(sa.select(batch_patients.c.patient_id).where(batch_patients.c.batch_id == target)).scalars())
            self._lock_patients(conn, pids, who, now)
            source = f"undo of batch {target}" + (f" for {patient_id}" if patient_id is not None else "")
            undo_id = int(conn.execute(batches.insert().values(
                entered_by=who, entered_at=now, source=source[:200], rows=0, kind="undo", undoes=target)).inserted_primary_key[0])
            scope = self._undo_scope(target, patient_id)
            e = entries
            prev = history.alias("prev")  # the values this batch had overwritten (history's partial index)
            of_patient = [prev.c.patient_id == patient_id] if patient_id is not None else []
            overwrote = conn.execute(sa.select(prev.c.id).where(
                prev.c.batch_id == target, prev.c.action == _CORRECTED, *of_patient).limit(1)).first() is not None
            columns = [*KEY, "old_value", "old_note", "old_batch_id", "new_value", "new_note", "action", "batch_id",
                       "changed_by", "changed_at"]
            stamp = (sa.literal("undone"), sa.literal(undo_id, sa.Integer), sa.literal(who), sa.literal(now))
            removed = self._move_to_history(conn, scope, prev if overwrote else None, target, columns, stamp)
            if removed and overwrote:
                # put back what the batch overwrote where its value was just removed (a key still held
                # by a later batch keeps that later value)
                conn.execute(e.insert().from_select(
                    [*KEY, "value", "note", "batch_id"],
                    sa.select(*(prev.c[k] for k in KEY), prev.c.old_value, prev.c.old_note, prev.c.old_batch_id)
                    .where(prev.c.batch_id == target, prev.c.action == _CORRECTED, *of_patient,
                           ~sa.exists().where(*(e.c[k] == prev.c[k] for k in KEY))),
                ))
            conn.execute(batches.update().where(batches.c.batch_id == undo_id).values(rows=removed))
            conn.execute(batch_patients.insert().from_select(
                ["batch_id", "patient_id"],
                sa.select(sa.literal(undo_id, sa.Integer), batch_patients.c.patient_id).where(
                    batch_patients.c.batch_id == target,
                    *([batch_patients.c.patient_id == patient_id] if patient_id is not None else []))))
            done = batches.update().where(batches.c.batch_id == target, batches.c.undone_at.is_(None))
            if patient_id is not None:  # the whole batch is gone only when no other patient's rows of it remain
                done = done.where(~sa.exists().where(entries.c.batch_id == target))
            conn.execute(done.values(undone_at=now))
        return target, int(removed)

    def _move_to_history(self, conn: sa.Connection, scope, prev: sa.Alias | None, target: int, columns: list[str],
                         stamp: tuple) -> int:
        """Move the rows in ``scope`` from entries into history ("undone"); returns how many.

        Set-based, the same on both backends: INSERT INTO history SELECT ... then DELETE, in the
        caller's transaction.  ``prev`` (history rows of the values the batch had overwritten)
        gives each removed value the one that comes back; None: nothing does.

        On PostgreSQL one ``WITH gone AS (DELETE ... RETURNING ...) INSERT ...`` statement was
        measured too: it spends more server time (about 3.7 s against 3.0 s of CPU for 1M rows,
        PostgreSQL 15) keeping the deleted rows for the INSERT than the second scan costs here.
        """
        e = entries
        if prev is not None:  # each removed value with the one that comes back
            same = sa.and_(*(prev.c[k] == e.c[k] for k in KEY), prev.c.batch_id == target, prev.c.action == _CORRECTED)
            moved = sa.select(*(e.c[k] for k in KEY), e.c.value, e.c.note, e.c.batch_id, prev.c.old_value,
                              prev.c.old_note, *stamp).select_from(e.outerjoin(prev, same))
        else:  # nothing to put back: no join needed
            moved = sa.select(*(e.c[k] for k in KEY), e.c.value, e.c.note, e.c.batch_id, sa.null(), sa.null(), *stamp)
        conn.execute(history.insert().from_select(columns, moved.where(scope)))
        removed = conn.execute(e.delete().where(scope)).rowcount
        if removed is None or removed < 0:  # a driver that does not say: count what history received
            removed = conn.execute(sa.select(sa.func.count()).select_from(history).where(history.c.batch_id == stamp[1])).scalar()
        return int(removed)

    @_guarded
    @shared_docs
    def undo_last(self, patient_id: str | None = None, *, user: str | None = None) -> int | None:
        """Undo the caller's last batch (for ``patient_id``: only that patient's rows of it).

        A thin alias of :meth:`undo`; returns the undone batch id, or None when there was nothing to undo.

        Parameters
        ----------
        patient_id : str, optional
            Only this patient's rows of the batch.
        {user}

        Returns
        -------
        int or None
            Rows removed, or None when the caller has nothing to undo.
        """
        return self._undo(None, patient_id, self._who(user))[0]

    # ------------------------------------------------------------------ programmes
    @_guarded
    @shared_docs
    def save_programme(self, patient_id: str, programme: Programme, *, user: str | None = None) -> int:
        """Save a programme with the patient as its next version (1, 2, ...); returns the version.

        The record is ``programme.to_dict()`` as given (the patient's name left out), with who
        saved it and when.

        Parameters
        ----------
        patient_id : str
            The patient.
        programme : Programme
            The programme to save (its snapshot: inputs, table and remarks).
        {user}

        Returns
        -------
        int
            The version saved.
        """
        record = programme.to_dict()
        record["patient"] = None  # the store keys by patient_id; no names in the record
        from sciatica_kit.patient_id import valid_patient_id

        pid = str(patient_id).strip()
        if not pid:
            raise ValueError("Choose a patient before saving the programme.")
        pid = valid_patient_id(pid)  # the kit's one id rule (PatientIdError, a ValueError, says why)
        who, now = self._who(user), _now()
        created = str(record.get("created") or now[:10])[:10]
        with self.engine.begin() as conn:
            self._lock_patients(conn, [pid], who, now)
            version = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(programmes.c.version), 0))
                                       .where(programmes.c.patient_id == pid)).scalar()) + 1
            conn.execute(programmes.insert().values(patient_id=pid, version=version, created=created, saved_at=now,
                                                    saved_by=who, data=json.dumps(record, sort_keys=True)))
        return version

    @_guarded
    def programme_versions(self, patient_id: str) -> pd.DataFrame:
        """Every saved version of a patient's programme: version, saved_by, saved_at, created.

        Parameters
        ----------
        patient_id : str
            The patient.

        Returns
        -------
        pandas.DataFrame
            One row per saved version, oldest first.
        """
        q = (sa.select(programmes.c.version, programmes.c.saved_by, programmes.c.saved_at, programmes.c.created)
             .where(programmes.c.patient_id == str(patient_id)).order_by(programmes.c.version))
        with self._reading() as conn:
            rows = conn.execute(q).all()
        frame = pd.DataFrame(rows, columns=["version", "saved_by", "saved_at", "created"])
        frame["version"] = frame["version"].astype("int64")
        return frame

    @_guarded
    def read_programme(self, patient_id: str, version: int | None = None) -> Programme | None:
        """A saved programme rebuilt with ``Programme.from_dict`` (default: the latest version).

        Returns None when the patient has no saved programme.

        Parameters
        ----------
        patient_id : str
            The patient.
        version : int, optional
            The version (default: the latest).

        Returns
        -------
        Programme or None
            None when the patient has no saved programme.

        Raises
        ------
        StoreError
            When the patient has programmes but not that version.
        """
        from sciatica_kit.programme import Programme

        q = sa.select(programmes.c.data).where(programmes.c.patient_id == str(patient_id))
        q = q.order_by(programmes.c.version.desc()).limit(1) if version is None else q.where(programmes.c.version == int(version))
        with self._reading() as conn:
            data = conn.execute(q).scalar()
        if data is None:
            if version is None:
                return None
            raise StoreError(f"{patient_id} has no programme version {version}; see Store.programme_versions.")
        return Programme.from_dict(json.loads(data), catalog=self.catalog)

    def latest_programme(self, patient_id: str) -> Programme | None:
        """The most recently saved programme for a patient, rebuilt from its record.

        Parameters
        ----------
        patient_id : str
            The patient.

        Returns
        -------
        Programme or None
            None when no programme was saved for the patient.
        """
        return self.read_programme(patient_id)

    @_guarded
    def programmes(self, patient_id: str | None = None) -> pd.DataFrame:
        """Saved programmes (oldest first): id, patient_id, version, created, saved_at, saved_by,

        Parameters
        ----------
        patient_id : str, optional
            Only this patient (default: every patient).

        Returns
        -------
        pandas.DataFrame
            One row per saved programme.
        conditions, phase, exercise_ids, record."""
        q = sa.select(programmes).order_by(programmes.c.patient_id, programmes.c.version)
        if patient_id is not None:
            q = q.where(programmes.c.patient_id == patient_id)
        with self._reading() as conn:
            rows = conn.execute(q).mappings().all()
        out = []
        for r in rows:
            rec = json.loads(r["data"])
            out.append({
                "id": r["id"], "patient_id": r["patient_id"], "version": r["version"], "created": pd.Timestamp(r["created"]),
                "saved_at": r["saved_at"], "saved_by": r["saved_by"], "conditions": rec.get("conditions", []),
                "phase": rec.get("phase", ""), "exercise_ids": rec.get("exercise_ids", []), "record": rec,
            })
        columns = ["id", "patient_id", "version", "created", "saved_at", "saved_by", "conditions", "phase", "exercise_ids", "record"]
        frame = pd.DataFrame(out, columns=columns)
        return frame.sort_values(["saved_at", "id"], kind="stable").reset_index(drop=True) if len(frame) else frame

    # ------------------------------------------------------------------ reading
    @_guarded
    def read(self, patient_id: str | Iterable[str] | None = None, *, measures: Iterable[str] | None = None,
             provenance: bool = False) -> pd.DataFrame:
        """Current entries as a tidy log (optionally for some patients / measures).

        Parameters
        ----------
        patient_id
            One id or several; default every patient.
        measures
            Only these measures.
        provenance
            Also return entered_by, entered_at and batch_id for each value.

        Returns
        -------
        pandas.DataFrame
            A tidy log with the kit's columns and dtypes (and who entered each value when ``provenance``).
        """
        cols = [entries.c[c] for c in LOG_COLUMNS]
        q = sa.select(*cols)
        if provenance:
            q = sa.select(*cols, batches.c.entered_by, batches.c.entered_at, entries.c.batch_id).select_from(
                entries.join(batches, batches.c.batch_id == entries.c.batch_id))
        if patient_id is not None:
            ids = [patient_id] if isinstance(patient_id, str) else list(patient_id)
            q = q.where(entries.c.patient_id.in_(ids))
        if measures is not None:
            q = q.where(entries.c.measure.in_(list(measures)))
        q = q.order_by(*(entries.c[k] for k in KEY))
        names = list(LOG_COLUMNS) + (["entered_by", "entered_at", "batch_id"] if provenance else [])
        if not self.is_sqlite:
            frame = self._read_by_copy(q, names)
        else:
            with self._reading() as conn:
                data = _fetch_columns(conn, q)
            frame = pd.DataFrame({n: np.asarray(v, dtype=object) if n != "value" else np.asarray(v, dtype="float64")
                                  for n, v in zip(names, data, strict=True)}) if data else pd.DataFrame(columns=names)
        if frame.empty:
            return _provenance_frame([]) if provenance else empty_log()
        frame["date"] = _dates(frame["date"])
        log = conform_log(frame)
        if provenance:
            log["entered_by"] = frame["entered_by"].astype("str")
            log["entered_at"] = frame["entered_at"].astype("str")
            log["batch_id"] = frame["batch_id"].astype("int64")
        return log

    def _read_by_copy(self, query, names: list[str]) -> pd.DataFrame:
        """PostgreSQL: the Core query streamed out with COPY ... TO STDOUT (CSV) and parsed by pandas,
        the quickest way from the server into a DataFrame.  The query's values are rendered by the
        dialect (literal binds); the statement is composed with psycopg.sql."""
        import io

        from psycopg import sql

        text = str(query.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
        buf = io.BytesIO()
        with self._reading() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(sql.SQL(text))) as copy:
                for block in copy:
                    buf.write(block)
        if not buf.tell():
            return pd.DataFrame(columns=names)
        buf.seek(0)
        types = {n: "str" for n in names} | {"value": "float64"} | ({"batch_id": "int64"} if "batch_id" in names else {})
        return pd.read_csv(buf, names=names, dtype=types, keep_default_na=False, na_filter=False, engine="c")

    @_guarded
    def history(self, patient_id: str | None = None) -> pd.DataFrame:
        """Who changed what and when: every corrected or undone value, oldest first.

        Columns: patient_id, date, measure, side, old_value, new_value, old_note, new_note,
        action ("corrected" or "undone"), changed_by, changed_at, batch_id (the change's batch),
        old_batch_id and old_entered_by (who had entered the old value).  ``new_value`` is
        empty for an undone value with nothing to put back.

        Parameters
        ----------
        patient_id : str, optional
            Only this patient (default: every patient).

        Returns
        -------
        pandas.DataFrame
            One row per change, with the columns above.
        """
        old = batches.alias("old")
        q = (sa.select(*(history.c[k] for k in KEY), history.c.old_value, history.c.new_value, history.c.old_note,
                       history.c.new_note, history.c.action, history.c.changed_by, history.c.changed_at,
                       history.c.batch_id, history.c.old_batch_id, old.c.entered_by.label("old_entered_by"))
             .select_from(history.outerjoin(old, old.c.batch_id == history.c.old_batch_id)).order_by(history.c.id))
        if patient_id is not None:
            q = q.where(history.c.patient_id == patient_id)
        with self._reading() as conn:
            result = conn.execute(q)
            return pd.DataFrame(result.all(), columns=list(result.keys()))

    @_guarded
    def batches(self, patient_id: str | None = None) -> pd.DataFrame:
        """Every batch (write or undo), oldest first: batch_id, entered_by, entered_at, source,

        Parameters
        ----------
        patient_id : str, optional
            Only this patient (default: every patient).

        Returns
        -------
        pandas.DataFrame
            One row per batch.
        patients (comma-joined ids), rows, kind ("entry" or "undo"), undoes, undone_at."""
        q = sa.select(batches.c.batch_id, batches.c.entered_by, batches.c.entered_at, batches.c.source,
                      batches.c.rows, batches.c.kind, batches.c.undoes, batches.c.undone_at).order_by(batches.c.batch_id)
        bp = sa.select(batch_patients.c.batch_id, batch_patients.c.patient_id)
        if patient_id is not None:
            q = q.where(batches.c.batch_id.in_(sa.select(batch_patients.c.batch_id).where(batch_patients.c.patient_id == patient_id)))
            bp = bp.where(batch_patients.c.batch_id.in_(q.with_only_columns(batches.c.batch_id).scalar_subquery()))
        with self._reading() as conn:
            rows = conn.execute(q).all()
            links = conn.execute(bp.order_by(batch_patients.c.batch_id, batch_patients.c.patient_id)).all()
        who = {}
        for b, p in links:
            who.setdefault(b, []).append(p)
        frame = pd.DataFrame(rows, columns=["batch_id", "entered_by", "entered_at", "source", "rows", "kind", "undoes", "undone_at"])
        frame.insert(4, "patients", [", ".join(who.get(b, [])) for b in frame["batch_id"]])
        return frame

    def imports(self) -> pd.DataFrame:
        """The earlier name of :meth:`batches` (every batch).

        Returns
        -------
        pandas.DataFrame
            See :meth:`batches`.
        """
        return self.batches()

    @_guarded
    def patients(self) -> pd.DataFrame:
        """One row per patient: entries, first and last visit, conditions and phase of the latest programme.

        Returns
        -------
        pandas.DataFrame
            One row per patient.
        """
        with self._reading() as conn:
            ids = [r[0] for r in conn.execute(sa.select(patients.c.patient_id).order_by(patients.c.patient_id))]
            stats = conn.execute(
                sa.select(entries.c.patient_id, sa.func.count(), sa.func.min(entries.c.date), sa.func.max(entries.c.date))
                .group_by(entries.c.patient_id)
            ).all()
        stat = {r[0]: r[1:] for r in stats}
        progs = self.programmes()
        latest = progs.groupby("patient_id").tail(1).set_index("patient_id") if len(progs) else pd.DataFrame()
        rows = []
        for pid in ids:
            n, first, last = stat.get(pid, (0, None, None))
            conds = latest.loc[pid, "conditions"] if pid in latest.index else []
            phase = latest.loc[pid, "phase"] if pid in latest.index else ""
            rows.append({"patient_id": pid, "entries": n, "first_visit": first, "last_visit": last, "conditions": list(conds), "phase": phase})
        frame = pd.DataFrame(rows, columns=["patient_id", "entries", "first_visit", "last_visit", "conditions", "phase"])
        for c in ("first_visit", "last_visit"):
            frame[c] = pd.to_datetime(frame[c], format="%Y-%m-%d")
        return frame

    # ------------------------------------------------------------------ export / safety
    def export(self, path, *, patient_id: str | None = None, wide: bool = False) -> Path:
        """Write current entries to CSV or .xlsx; re-importing the file gives the same entries.

        Parameters
        ----------
        path : str or path-like
            A ``.csv`` or ``.xlsx`` file to write.
        patient_id : str, optional
            Only this patient (default: every patient).
        wide : bool, optional
            One column per measure and side (a visit per row) instead of the tidy log.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        from sciatica_kit.log import write_log

        return write_log(self.read(patient_id), path, wide=wide)

    @_guarded
    def revision(self) -> tuple[int, int, int]:
        """A stamp that changes whenever entries, programmes or patients change, for caches of what was read.

        Every write of entries (an import, a visit, a correction, an undo) is a new batch, every
        programme saved a new row, and patients are only ever added; one small query answers.

        Returns
        -------
        tuple of int
            The newest batch id, the newest programme id and the number of patients.
        """
        newest = sa.select(
            sa.select(sa.func.coalesce(sa.func.max(batches.c.batch_id), 0)).scalar_subquery(),
            sa.select(sa.func.coalesce(sa.func.max(programmes.c.id), 0)).scalar_subquery(),
            sa.select(sa.func.count()).select_from(patients).scalar_subquery(),
        )
        with self._reading() as conn:
            return tuple(int(v) for v in conn.execute(newest).one())

    @_guarded
    def counts(self) -> dict[str, int]:
        """Rows per table: patients, entries, batches, history, programmes.

        Returns
        -------
        dict of str to int
            Rows in each table.
        """
        with self._reading() as conn:
            return {name: int(conn.execute(sa.select(sa.func.count()).select_from(_T[name])).scalar())
                    for name in ("patients", "entries", "batches", "history", "programmes")}

    @_guarded
    def check(self) -> list[str]:
        """Real checks of the store; returns the problems found (empty: healthy).

        SQLite's own integrity check (files), the schema version, rows that point at a patient
        or batch the store does not know (orphans), and history that disagrees with the batches.

        Returns
        -------
        list of str
            One line per problem, in the clinic's words.
        """
        from sciatica_kit.migrations import HEAD, current_revision

        problems = []
        with self._reading() as conn:
            if self.is_sqlite:
                result = str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())
                if result != "ok":
                    return [f"SQLite integrity check: {result}"]
            revision = current_revision(conn)
            if revision != HEAD:
                problems.append(f"schema revision {revision}, expected {HEAD}")

            def orphans(table: sa.Table, column: str, parent: sa.Table, key: str, what: str) -> None:
                n = conn.execute(sa.select(sa.func.count()).select_from(table).where(
                    table.c[column].is_not(None), ~table.c[column].in_(sa.select(parent.c[key])))).scalar()
                if n:
                    problems.append(f"{n} {what}")

            orphans(entries, "patient_id", patients, "patient_id", "entries for an unknown patient")
            orphans(entries, "batch_id", batches, "batch_id", "entries from an unknown batch")
            orphans(programmes, "patient_id", patients, "patient_id", "programmes for an unknown patient")
            orphans(batch_patients, "batch_id", batches, "batch_id", "batch links to an unknown batch")
            orphans(history, "batch_id", batches, "batch_id", "history rows from an unknown batch")
            unlinked = conn.execute(sa.select(sa.func.count()).select_from(entries).where(~sa.exists().where(
                batch_patients.c.batch_id == entries.c.batch_id, batch_patients.c.patient_id == entries.c.patient_id))).scalar()
            if unlinked:
                problems.append(f"{unlinked} entries whose batch does not list their patient")
            bad_undo = conn.execute(sa.select(sa.func.count()).select_from(history).where(
                history.c.action == "undone", ~sa.exists().where(batches.c.batch_id == history.c.batch_id,
                                                                 batches.c.kind == "undo"))).scalar()
            if bad_undo:
                problems.append(f"{bad_undo} undone values not recorded by an undo")
        return problems

    def integrity_check(self) -> str:
        """'ok', or the problems :meth:`check` found, in one line.

        Returns
        -------
        str
            ``'ok'`` or the problems.
        """
        problems = self.check()
        return "ok" if not problems else "; ".join(problems)

    @_guarded
    def backup(self, target: str | os.PathLike) -> Path:
        """Copy the store, consistently, to ``target``: a portable kit backup file (SQLite, owner-only).

        Works for file and server stores alike; :meth:`restore` puts it back into either.

        Parameters
        ----------
        target : str or path-like
            The backup file to write.

        Returns
        -------
        pathlib.Path
            The backup written.
        """
        target = Path(target).expanduser()
        if self.path is not None and target.exists() and target.resolve() == self.path.resolve():
            raise StoreError("The backup must go to a different file than the store itself.")
        if self.path is not None:
            _sqlite_copy(self.path, target)
            return target
        from sciatica_kit.files import private_path

        with private_path(target) as tmp:
            tmp.unlink(missing_ok=True)
            _create_store_file(tmp)
            engine = sa.create_engine(sa.engine.URL.create("sqlite", database=str(tmp)))
            try:
                # one consistent snapshot of the server while it is copied
                snapshot = {} if self.is_sqlite else {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
                with self.engine.connect().execution_options(**snapshot) as src, src.begin(), engine.begin() as dst:
                    _copy_tables(src, dst, metadata.sorted_tables, replace=True)
            finally:
                engine.dispose()
        return target

    @classmethod
    def restore(cls, backup: str | os.PathLike, target: str | os.PathLike | None = None, *, user: str | None = None) -> Store:
        """Replace the store at ``target`` (default location: a file or a server) with a verified backup.

        A file store is kept beside it as ``<name>.before-restore-<time>``; a server store is
        first backed up to ``<backup>.server-before-restore-<time>.sqlite`` beside the backup.
        """
        backup = Path(backup).expanduser()
        target = target if target is not None else default_location()
        if not backup.exists():
            raise StoreError(f"The backup {backup} does not exist.")
        if backup.is_dir():
            raise StoreError(f"The backup {backup} is a folder; give the backup file itself.")
        if isinstance(target, str) and _is_url(target) and not target.startswith("sqlite"):
            return cls._restore_to_server(backup, target, user=user)
        if isinstance(target, str) and _is_url(target):
            target = sa.engine.make_url(target).database
        target = Path(target).expanduser()
        if target.exists() and os.path.samefile(backup, target):
            raise StoreError(f"{backup} is the store itself; choose a backup file to restore from.")
        _check_sqlite_file(backup)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            kept = target.with_name(f"{target.name}.before-restore-{stamp}")
            os.replace(target, kept)
            for suffix in ("-wal", "-shm"):  # after a crash the -wal holds the last commits: keep it with the copy
                side = Path(str(target) + suffix)
                if side.exists():
                    os.replace(side, Path(str(kept) + suffix))
        _sqlite_copy(_read_only_uri(backup), target, uri=True)
        return cls(target, user=user)

    @classmethod
    def _restore_to_server(cls, backup: Path, url: str, *, user: str | None) -> Store:
        _check_sqlite_file(backup)
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "restore.sqlite"
            _sqlite_copy(_read_only_uri(backup), copy, uri=True)
            source = cls(copy, user=user)  # upgrades an older backup (the copy, never the file given)
            try:
                problems = source.check()
                if problems:
                    raise StoreError(f"The backup {backup} failed its check ({problems[0]}); nothing was restored.")
                server = cls(url, user=user)
                stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
                server.backup(backup.with_name(f"{backup.stem}.server-before-restore-{stamp}.sqlite"))
                try:
                    with source.engine.connect() as src, server.engine.begin() as dst:
                        _copy_tables(src, dst, metadata.sorted_tables, replace=True)
                except Exception as exc:
                    server.close()
                    if _is_db_error(exc):
                        raise _clinic_error(exc, server.where) from None
                    raise
                return server
            finally:
                source.close()


# --------------------------------------------------------------------------- frames


def _columns(log: pd.DataFrame) -> list[list]:
    """The log as columns (patient_id, date text, measure, side, value, note) for the database."""
    codes, days = pd.factorize(pd.to_datetime(log["date"]))  # format each distinct day once
    dates = np.asarray(pd.DatetimeIndex(days).strftime("%Y-%m-%d"), dtype=object)[codes]
    return [
        log["patient_id"].astype(str).tolist(),
        dates.tolist(),
        log["measure"].astype(str).tolist(),
        log["side"].astype(str).tolist(),
        log["value"].astype(float).tolist(),
        log["note"].astype(str).tolist(),
    ]


def _rows(log: pd.DataFrame, *extra) -> Iterator[tuple]:
    """The log as database rows (plus constant ``extra`` columns), converted a chunk at a time so a
    big import never holds a second full copy of itself as Python objects."""
    for start in range(0, len(log), _CHUNK):
        part = log.iloc[start:start + _CHUNK]
        yield from zip(*_columns(part), *([x] * len(part) for x in extra), strict=True)


def _dates(texts: pd.Series) -> pd.Series:
    """'YYYY-MM-DD' texts as datetime64[ns], each distinct day parsed once."""
    codes, uniques = pd.factorize(texts)
    days = pd.to_datetime(pd.Index(uniques, dtype=object), format="%Y-%m-%d").astype("datetime64[ns]")
    return pd.Series(days.take(codes), index=texts.index)


def _fetch_columns(conn: sa.Connection, query) -> list[tuple]:
    """Run a Core query and return its result as columns (plain tuples: no per-row objects)."""
    result = conn.execute(query)
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    return list(zip(*rows, strict=True)) if rows else []


def _provenance_frame(rows: list) -> pd.DataFrame:
    """A tidy log with entered_by, entered_at and batch_id, from (log columns..., who, when, batch) rows."""
    frame = pd.DataFrame(list(rows), columns=[*LOG_COLUMNS, "entered_by", "entered_at", "batch_id"])
    if frame.empty:
        log = empty_log()
    else:
        frame["date"] = _dates(frame["date"])
        log = conform_log(frame)
    log["entered_by"] = frame["entered_by"].astype("str").to_numpy() if len(frame) else pd.Series([], dtype="str")
    log["entered_at"] = frame["entered_at"].astype("str").to_numpy() if len(frame) else pd.Series([], dtype="str")
    log["batch_id"] = frame["batch_id"].astype("int64").to_numpy() if len(frame) else pd.Series([], dtype="int64")
    return log
