"""Frozen copy of the first release's store module (commit 168a620), used only to build a store with that
release's schema for the migration test.  Do not edit: it is what clinics have on disk today."""
# ruff: noqa
from __future__ import annotations
"""The patient store: SQLite by default, any SQLAlchemy URL for a shared server.

Guarantees
----------
* ``add`` is all-or-nothing: the log is validated first and written in one
  transaction, so a rejected or interrupted import leaves the store as it was.
* Nothing is silently overwritten: a corrected value moves the old one into
  ``history`` (who, when, by which import); ``read`` returns current values.
* The SQLite file is created owner-readable only (0600), uses WAL journaling
  and waits (``busy_timeout``) rather than failing when a colleague is saving.
* A damaged file or a file that is not a Sciatica Kit store is reported and
  never overwritten.  ``backup`` / ``Store.restore`` copy a store safely.

Location: ``Store()`` opens ``$SCIATICA_KIT_STORE`` or
``~/.local/share/sciatica-kit/store.sqlite`` (``$XDG_DATA_HOME`` respected),
always outside the repository.
"""


import datetime as dt
import getpass
import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event

from sciatica_kit.catalog import Catalog
from sciatica_kit.files import OWNER_ONLY
from sciatica_kit.logbook import LOG_COLUMNS, empty_log, validate_log

if TYPE_CHECKING:
    from sciatica_kit.programme import Programme

__all__ = ["STORE_ENV", "ImportResult", "Store", "StoreError", "default_store_path"]

STORE_ENV = "SCIATICA_KIT_STORE"
SCHEMA_VERSION = "1"
BUSY_TIMEOUT_MS = 30_000

metadata = sa.MetaData()
meta = sa.Table("meta", metadata, sa.Column("key", sa.String, primary_key=True), sa.Column("value", sa.String, nullable=False))
patients = sa.Table(
    "patients",
    metadata,
    sa.Column("patient_id", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.String, nullable=False),
)
imports = sa.Table(
    "imports",
    metadata,
    sa.Column("import_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String, nullable=False),
    sa.Column("user", sa.String, nullable=False),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("undone_at", sa.String),
)


def _entry_columns(*, keyed: bool) -> list[sa.Column]:
    """An entry's columns; the current-values table keys on patient/date/measure/side, history does not."""
    return [
        sa.Column("patient_id", sa.String(64), primary_key=keyed, nullable=False),
        sa.Column("date", sa.String(10), primary_key=keyed, nullable=False),
        sa.Column("measure", sa.String(32), primary_key=keyed, nullable=False),
        sa.Column("side", sa.String(8), primary_key=keyed, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("import_id", sa.Integer, nullable=False),
    ]


entries = sa.Table("entries", metadata, *_entry_columns(keyed=True))
history = sa.Table(
    "history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_entry_columns(keyed=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("replaced_by", sa.Integer),
    sa.Column("at", sa.String, nullable=False),
    sa.Column("user", sa.String, nullable=False),
)
sa.Index("history_patient", history.c.patient_id)
programmes = sa.Table(
    "programmes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("patient_id", sa.String(64), nullable=False),
    sa.Column("created", sa.String(10), nullable=False),
    sa.Column("saved_at", sa.String, nullable=False),
    sa.Column("user", sa.String, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
)
sa.Index("programmes_patient", programmes.c.patient_id)


class StoreError(RuntimeError):
    """The store cannot be used as it is; the message says why and what to do."""


@dataclass(frozen=True)
class ImportResult:
    """What one ``Store.add`` did."""

    import_id: int | None
    added: int
    corrected: int
    unchanged: int

    def __str__(self) -> str:
        return f"{self.added} new, {self.corrected} corrected (old values kept in history), {self.unchanged} already there"


def default_store_path() -> Path:
    """``$SCIATICA_KIT_STORE`` or the user's data folder (never inside the repository)."""
    env = os.environ.get(STORE_ENV)
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "sciatica-kit" / "store.sqlite"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _user(user: str | None) -> str:
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def _read_only_uri(path: Path) -> str:
    """An SQLite URI that opens ``path`` read-only, percent-quoted: a folder named "Clinic #2"
    must not silently open an empty database called "Clinic " instead."""
    return Path(os.path.abspath(path)).as_uri() + "?mode=ro"


def _create_store_file(path: Path) -> bool:
    """Create a new owner-only store file, schema included, in one step.

    The schema is written to a private temporary file that is then linked into place, so
    neither a crash nor a colleague opening the store at the same moment ever sees a
    half-made (0-byte) store.  Returns False when another process created it first.
    """
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, OWNER_ONLY)
        engine = sa.create_engine(sa.engine.URL.create("sqlite", database=str(tmp)))
        try:
            with engine.begin() as conn:
                metadata.create_all(conn)
                conn.execute(meta.insert(), [{"key": "schema", "value": SCHEMA_VERSION}, {"key": "created_at", "value": _now()}])
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
        raise StoreError(f"The store {path} failed its integrity check ({result}). It was left untouched. Restore it from a backup.")
    if tables and "meta" not in tables:
        raise StoreError(
            f"The database {path} belongs to another program (tables: {', '.join(sorted(tables)[:5])}). It was left untouched. "
            "Choose another store location."
        )


class Store:
    """A patient store.

    Parameters
    ----------
    location
        None for the default SQLite file, a file path, or a SQLAlchemy URL
        (``"sqlite:///clinic.db"``, ``"postgresql+psycopg://..."``).
    user
        Name recorded with every change (default: the login name).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "kit.sqlite")
    >>> log = pd.DataFrame({"patient_id": ["P1"], "date": ["2026-01-05"], "measure": ["pain"], "side": [""], "value": [6.0], "note": [""]})
    >>> print(store.add(log))
    1 new, 0 corrected (old values kept in history), 0 already there
    >>> store.read()["value"].tolist()
    [6.0]
    """

    def __init__(self, location: str | os.PathLike | None = None, *, user: str | None = None, catalog: Catalog | None = None):
        self.user = _user(user)
        self.catalog = catalog
        if location is None:
            location = default_store_path()
        text = str(location)
        if "://" in text:
            self.url = sa.engine.make_url(text)
            self.path = Path(self.url.database) if self.url.get_backend_name() == "sqlite" and self.url.database not in (None, "", ":memory:") else None
        else:
            self.path = Path(location).expanduser()
            self.url = sa.engine.URL.create("sqlite", database=str(self.path))
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        created = False
        if self.path is not None:
            if self.path.exists():
                if self.path.is_dir():
                    raise StoreError(f"The store location {self.path} is a folder; give a file name such as {self.path / 'store.sqlite'}")
                _check_sqlite_file(self.path)
            else:
                created = _create_store_file(self.path)
        self.engine = self._make_engine()
        try:
            self._init_schema(created)
        except Exception:
            self.engine.dispose()
            if created and self.path is not None and self.path.stat().st_size == 0:
                self.path.unlink()
            raise

    def __repr__(self) -> str:
        where = self.path if self.path is not None else self.url.render_as_string(hide_password=True)
        return f"<Store {where}>"

    # ------------------------------------------------------------------ engine
    def _make_engine(self) -> sa.Engine:
        if not self.is_sqlite:
            return sa.create_engine(self.url, pool_pre_ping=True, hide_parameters=True)
        # hide_parameters: a database error must never print the rows (patients' notes) it was writing
        engine = sa.create_engine(self.url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                                  hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_con, _record):
            dbapi_con.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_con.cursor()
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if self.path is not None:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL" if self.path is not None else "PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
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

    def _init_schema(self, created: bool) -> None:
        with self.engine.begin() as conn:
            metadata.create_all(conn)
            version = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema")).scalar()
            if version is None:
                conn.execute(meta.insert(), [{"key": "schema", "value": SCHEMA_VERSION}, {"key": "created_at", "value": _now()}])
            elif version != SCHEMA_VERSION:
                raise StoreError(f"This store was written by a different version of Sciatica Kit (schema {version}); upgrade the kit.")
        if self.path is not None:
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(self.path) + suffix)
                if p.exists():
                    os.chmod(p, OWNER_ONLY)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def add(self, log: pd.DataFrame, *, source: str = "import", user: str | None = None) -> ImportResult:
        """Add a tidy log, all or nothing.

        Rows identical to what is stored are skipped; a different value for an
        existing patient/date/measure/side replaces it and keeps the old one in history.

        Raises
        ------
        LogError
            The log breaks a rule; nothing was written.
        """
        clean = validate_log(log, catalog=self.catalog)
        if clean.empty:
            return ImportResult(None, 0, 0, 0)
        n_rows = len(clean)
        who = _user(user) if user else self.user
        now = _now()
        mark = "?" if self.is_sqlite else "%s"
        with self.engine.begin() as conn:
            import_id = conn.execute(imports.insert().values(at=now, user=who, source=str(source)[:200], rows=n_rows)).inserted_primary_key[0]
            # Rows go straight into entries (no staging copy): the stored values for this import's
            # keys are looked up by primary key first, so unchanged rows are skipped and corrected
            # ones keep their old value in history, all inside the same write transaction.
            rows = _rows(clean, import_id)
            stored = _stored(conn, rows, mark)
            old_rows = []
            unchanged = 0
            if stored:
                fresh = []
                for r in rows:
                    old = stored.get(r[:4])
                    if old is None:
                        fresh.append(r)
                    elif old[0] == r[4] and old[1] == r[5]:
                        unchanged += 1
                    else:
                        fresh.append(r)
                        old_rows.append((*r[:4], *old, "corrected", import_id, now, who))
                rows = fresh
            corrected = len(old_rows)
            if old_rows:
                conn.exec_driver_sql(
                    "INSERT INTO history (patient_id, date, measure, side, value, note, import_id, action, replaced_by, at, user) "
                    f"VALUES ({', '.join([mark] * 11)})",
                    old_rows,
                )
            if rows:
                conn.exec_driver_sql(
                    f"INSERT INTO entries (patient_id, date, measure, side, value, note, import_id) VALUES ({', '.join([mark] * 7)}) "
                    "ON CONFLICT (patient_id, date, measure, side) DO UPDATE SET value = excluded.value, note = excluded.note, "
                    "import_id = excluded.import_id WHERE entries.value != excluded.value OR entries.note != excluded.note",
                    rows,
                )
            conn.exec_driver_sql(
                f"INSERT INTO patients (patient_id, created_at) VALUES ({mark}, {mark}) ON CONFLICT (patient_id) DO NOTHING",
                [(str(pid), now) for pid in clean["patient_id"].unique()],
            )
            if unchanged == n_rows:
                # nothing written: record no import, so imports() never lists one whose rows undo_last
                # would then remove by undoing the earlier import that really wrote them
                conn.execute(imports.delete().where(imports.c.import_id == import_id))
                import_id = None
        added = n_rows - unchanged - corrected
        return ImportResult(None if import_id is None else int(import_id), int(added), int(corrected), int(unchanged))

    def add_patient(self, patient_id: str) -> None:
        """Register a patient with no entries yet (ids only: no names or other identifiers)."""
        pid = str(patient_id).strip()
        if not pid or len(pid) > 64:
            raise ValueError("A patient id must be 1 to 64 characters; use the clinic's short identifier.")
        with self.engine.begin() as conn:
            exists = conn.execute(sa.select(patients.c.patient_id).where(patients.c.patient_id == pid)).first()
            if not exists:
                conn.execute(patients.insert().values(patient_id=pid, created_at=_now()))

    def undo_last(self, patient_id: str | None = None, *, user: str | None = None) -> int | None:
        """Undo the most recent import (optionally: the most recent one touching ``patient_id``).

        Added entries move to history as 'undone'; values it corrected are restored.
        Returns the undone import id, or None when there was nothing to undo.
        """
        who = _user(user) if user else self.user
        now = _now()
        with self.engine.begin() as conn:
            q = sa.select(sa.func.max(entries.c.import_id))
            if patient_id is not None:
                q = q.where(entries.c.patient_id == patient_id)
            import_id = conn.execute(q).scalar()
            if import_id is None:
                return None
            current = conn.execute(sa.select(entries).where(entries.c.import_id == import_id)).mappings().all()
            for row in current:
                conn.execute(history.insert().values(**{k: row[k] for k in ("patient_id", "date", "measure", "side", "value", "note", "import_id")},
                                                     action="undone", replaced_by=None, at=now, user=who))
            conn.execute(entries.delete().where(entries.c.import_id == import_id))
            previous = conn.execute(
                sa.select(history).where(history.c.replaced_by == import_id, history.c.action == "corrected")
            ).mappings().all()
            for row in previous:
                conn.execute(entries.insert().values(**{k: row[k] for k in ("patient_id", "date", "measure", "side", "value", "note", "import_id")}))
            conn.execute(imports.update().where(imports.c.import_id == import_id).values(undone_at=now))
        return int(import_id)

    def save_programme(self, patient_id: str, programme: Programme, *, user: str | None = None) -> int:
        """Save a programme with the patient, so charts can mark when it started or changed."""
        record = programme.to_dict()
        record["patient"] = None  # the store keys by patient_id; no names in the record
        pid = str(patient_id).strip()
        if not pid:
            raise ValueError("Choose a patient before saving the programme.")
        with self.engine.begin() as conn:
            exists = conn.execute(sa.select(patients.c.patient_id).where(patients.c.patient_id == pid)).first()
            if not exists:
                conn.execute(patients.insert().values(patient_id=pid, created_at=_now()))
            return int(conn.execute(programmes.insert().values(
                patient_id=pid, created=record["created"], saved_at=_now(), user=_user(user) if user else self.user,
                data=json.dumps(record, sort_keys=True),
            )).inserted_primary_key[0])

    # ------------------------------------------------------------------ reading
    def read(self, patient_id: str | Iterable[str] | None = None, *, measures: Iterable[str] | None = None) -> pd.DataFrame:
        """Current entries as a tidy log (optionally for some patients / measures)."""
        q = sa.select(*(entries.c[c] for c in LOG_COLUMNS))
        if patient_id is not None:
            ids = [patient_id] if isinstance(patient_id, str) else list(patient_id)
            q = q.where(entries.c.patient_id.in_(ids))
        if measures is not None:
            q = q.where(entries.c.measure.in_(list(measures)))
        q = q.order_by(entries.c.patient_id, entries.c.date, entries.c.measure, entries.c.side)
        with self._reading() as conn:
            rows = conn.execute(q).all()
        if not rows:
            return empty_log()
        frame = pd.DataFrame(rows, columns=list(LOG_COLUMNS))
        frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d").astype("datetime64[ns]")
        frame["value"] = frame["value"].astype("float64")
        for c in ("patient_id", "measure", "side", "note"):
            frame[c] = frame[c].astype(object)
        return frame

    def history(self, patient_id: str | None = None) -> pd.DataFrame:
        """Old values kept when entries were corrected or undone."""
        q = sa.select(history).order_by(history.c.id)
        if patient_id is not None:
            q = q.where(history.c.patient_id == patient_id)
        return self._frame(q, history)

    def imports(self) -> pd.DataFrame:
        """Every import: when, who, from where, how many rows, and when it was undone."""
        return self._frame(sa.select(imports).order_by(imports.c.import_id), imports)

    def _frame(self, query, table: sa.Table) -> pd.DataFrame:
        with self._reading() as conn:
            return pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in table.c])

    def patients(self) -> pd.DataFrame:
        """One row per patient: entries, first and last visit, conditions and phase of the latest programme."""
        with self._reading() as conn:
            ids = [r[0] for r in conn.execute(sa.select(patients.c.patient_id).order_by(patients.c.patient_id))]
            stats = conn.execute(
                sa.select(entries.c.patient_id, sa.func.count(), sa.func.min(entries.c.date), sa.func.max(entries.c.date)).group_by(entries.c.patient_id)
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

    def programmes(self, patient_id: str | None = None) -> pd.DataFrame:
        """Saved programmes (oldest first): patient_id, created, saved_at, conditions, phase, exercise_ids, record."""
        q = sa.select(programmes).order_by(programmes.c.id)
        if patient_id is not None:
            q = q.where(programmes.c.patient_id == patient_id)
        with self._reading() as conn:
            rows = conn.execute(q).mappings().all()
        out = []
        for r in rows:
            rec = json.loads(r["data"])
            out.append({
                "id": r["id"], "patient_id": r["patient_id"], "created": pd.Timestamp(r["created"]), "saved_at": r["saved_at"],
                "conditions": rec.get("conditions", []), "phase": rec.get("phase", ""), "exercise_ids": rec.get("exercise_ids", []),
                "record": rec,
            })
        return pd.DataFrame(out, columns=["id", "patient_id", "created", "saved_at", "conditions", "phase", "exercise_ids", "record"])

    def latest_programme(self, patient_id: str) -> Programme | None:
        """The most recently saved programme for a patient, rebuilt from its inputs."""
        from sciatica_kit.programme import Programme

        progs = self.programmes(patient_id)
        if progs.empty:
            return None
        return Programme.from_dict(progs.iloc[-1]["record"], catalog=self.catalog)

    # ------------------------------------------------------------------ export / safety
    def export(self, path, *, patient_id: str | None = None, wide: bool = False) -> Path:
        """Write current entries to CSV or .xlsx; re-importing the file gives the same entries."""
        from sciatica_kit.logbook import write_log

        return write_log(self.read(patient_id), path, wide=wide)

    def integrity_check(self) -> str:
        """'ok' or SQLite's description of the damage."""
        if not self.is_sqlite:
            return "ok"
        with self._reading() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())

    def backup(self, target: str | os.PathLike) -> Path:
        """Copy the store, consistently, to ``target`` (an SQLite file, owner-only)."""
        if not self.is_sqlite or self.path is None:
            raise StoreError("Backups here are for SQLite stores; back up a server database with its own tools.")
        target = Path(target)
        if target.resolve() == self.path.resolve():
            raise StoreError("The backup must go to a different file than the store itself.")
        from sciatica_kit.files import private_path

        with private_path(target) as tmp:
            src = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        return target

    @classmethod
    def restore(cls, backup: str | os.PathLike, target: str | os.PathLike | None = None) -> Store:
        """Replace the store at ``target`` (default location) with a verified backup.

        The current file, if any, is kept beside it as ``<name>.before-restore-<time>``.
        """
        backup = Path(backup)
        target = Path(target) if target is not None else default_store_path()
        if not backup.exists():
            raise StoreError(f"The backup {backup} does not exist.")
        if backup.is_dir():
            raise StoreError(f"The backup {backup} is a folder; give the backup file itself.")
        if target.exists() and os.path.samefile(backup, target):
            raise StoreError(f"{backup} is the store itself; choose a backup file to restore from.")
        _check_sqlite_file(backup)
        from sciatica_kit.files import private_path

        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            kept = target.with_name(f"{target.name}.before-restore-{stamp}")
            os.replace(target, kept)
            for suffix in ("-wal", "-shm"):  # after a crash the -wal holds the last commits: keep it with the copy
                side = Path(str(target) + suffix)
                if side.exists():
                    os.replace(side, Path(str(kept) + suffix))
        with private_path(target) as tmp:
            src = sqlite3.connect(_read_only_uri(backup), uri=True)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        return cls(target)


def _rows(log: pd.DataFrame, *extra) -> list[tuple]:
    """The log as (patient_id, date text, measure, side, value, note, *extra) tuples for the database."""
    codes, days = pd.factorize(pd.to_datetime(log["date"]))  # format each distinct day once
    dates = np.asarray(pd.DatetimeIndex(days).strftime("%Y-%m-%d"), dtype=object)[codes]
    return list(
        zip(
            log["patient_id"].astype(str).tolist(),
            dates.tolist(),
            log["measure"].astype(str).tolist(),
            log["side"].astype(str).tolist(),
            log["value"].astype(float).tolist(),
            log["note"].astype(str).tolist(),
            *([x] * len(log) for x in extra),
            strict=True,
        )
    )


def _stored(conn, rows: list[tuple], mark: str) -> dict[tuple, tuple]:
    """(value, note, import_id) already stored for the (patient_id, date, measure, side) keys of ``rows``.

    One primary-key range query per patient (first to last date of the import), so the cost
    follows the size of the import, not of the store.
    """
    if conn.exec_driver_sql("SELECT 1 FROM entries LIMIT 1").first() is None:
        return {}
    spans = pd.DataFrame({"patient_id": [r[0] for r in rows], "date": [r[1] for r in rows]}).groupby("patient_id", sort=False)["date"].agg(["min", "max"])
    sql = (f"SELECT patient_id, date, measure, side, value, note, import_id FROM entries "
           f"WHERE patient_id = {mark} AND date >= {mark} AND date <= {mark}")
    stored = {}
    for pid, first, last in spans.itertuples():
        for r in conn.exec_driver_sql(sql, (pid, first, last)):
            stored[tuple(r[:4])] = tuple(r[4:])
    return stored


