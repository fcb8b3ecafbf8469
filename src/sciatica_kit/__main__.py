"""Command line for the patient store: check, back up, restore, seed the demo, write reports.

    python -m sciatica_kit check [--store LOCATION]
    python -m sciatica_kit backup DEST [--store LOCATION] [--force]
    python -m sciatica_kit restore SRC [--store LOCATION] [--yes]
    python -m sciatica_kit seed-demo [--store LOCATION] [--patients N]
    python -m sciatica_kit report --patient ID|all [--out FOLDER] [--store LOCATION]
    python -m sciatica_kit pictures --sheet OUT.pdf [--catalog CLINIC.toml]

LOCATION is a store file or a clinic server address
(``postgresql+psycopg://user:password@host/database``); it defaults to
``$SCIATICA_KIT_STORE``, the settings file, or the user's data folder.  A server
address is never turned into a local path, and its password is never printed.
A backup is always a portable kit backup file (SQLite), from a file or a server;
``restore`` puts one back into either (on a server, after saying what it will
replace and only with ``--yes``).  Every command prints a plain sentence and exits
0 when it worked, 1 when it did not; expected problems are explained, never shown
as a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage mistakes: a sentence and exit code 1, like every other failure
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: {message}\n")


class _Failed(Exception):
    """An expected failure: the message is for the user."""


def _location(arg: str | None) -> str | Path:
    """The store to use: a URL stays text, a path becomes a Path."""
    from sciatica_kit.store import _is_url, default_location

    if not arg:
        return default_location()
    return arg if _is_url(arg) else Path(arg).expanduser()


def _show(location: str | Path) -> str:
    """A location for messages: the path, or the server address with the password hidden."""
    if isinstance(location, Path):
        return str(location)
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(location).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "the given address"


def _open_existing(location: str | Path):
    from sciatica_kit.store import Store

    if isinstance(location, Path):
        if not location.exists():
            raise _Failed(f"There is no store at {location}. Give its location with --store (or set SCIATICA_KIT_STORE).")
        if location.is_dir():
            raise _Failed(f"{location} is a folder, not a store file.")
    return Store(location, create=False)


def _summary(store) -> str:
    c = store.counts()
    return f"{c['patients']} patient(s), {c['entries']} entries, {c['batches']} batch(es), {c['history']} history row(s)"


def _verify_copy(path: Path) -> str:
    from sciatica_kit.store import _read_only_uri

    con = sqlite3.connect(_read_only_uri(path), uri=True)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def _backup(args) -> int:
    location = _location(args.store)
    dest = Path(args.dest).expanduser()
    if dest.is_dir():
        import sqlalchemy as sa

        stem = location.stem if isinstance(location, Path) else (sa.engine.make_url(location).database or "server")
        dest = dest / f"{stem}-backup-{dt.datetime.now():%Y%m%d-%H%M%S}.sqlite"
    if dest.exists() and not args.force:
        raise _Failed(f"{dest} already exists. Choose a new file name, a folder, or add --force to replace it.")
    store = _open_existing(location)
    try:
        if isinstance(location, Path) and dest.exists() and dest.resolve() == location.resolve():
            raise _Failed("The backup must go to a different file than the store itself.")
        summary = _summary(store)
        store.backup(dest)
    finally:
        store.close()
    result = _verify_copy(dest)
    if result != "ok":
        raise _Failed(f"The backup at {dest} failed its check ({result}); try again, or back up to another drive.")
    print(f"Backed up {_show(location)} ({summary}) to {dest}. The backup is owner-only; keep it somewhere safe.")
    return 0


def _backup_summary(src: Path) -> str:
    """What a backup file holds, read from a private copy (an older backup is upgraded there, never in place)."""
    import tempfile

    from sciatica_kit.store import Store, _read_only_uri, _sqlite_copy

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "backup.sqlite"
        _sqlite_copy(_read_only_uri(src), copy, uri=True)
        with Store(copy, create=False) as incoming:
            return _summary(incoming)


def _restore(args) -> int:
    from sciatica_kit.store import Store, _check_sqlite_file

    src = Path(args.src).expanduser()
    target = _location(args.store)
    if not src.exists():
        raise _Failed(f"The backup {src} does not exist.")
    if isinstance(target, str):  # a server: say what will be replaced, go ahead only with --yes
        _check_sqlite_file(src)
        theirs = _backup_summary(src)
        try:
            current = Store(target, create=False)
        except Exception:
            mine = "no kit store yet"
        else:
            with current:
                mine = _summary(current)
        print(f"Restoring {src} ({theirs}) will replace everything in the store on {_show(target)} ({mine}).")
        if not args.yes:
            raise _Failed("Nothing was changed. Run the command again with --yes to replace it.")
        store = Store.restore(src, target)
        try:
            summary, problems = _summary(store), store.check()
        finally:
            store.close()
        if problems:
            raise _Failed(f"Restored {_show(target)} from {src}, but the result failed its check ({problems[0]}).")
        print(f"Restored {_show(target)} from {src} ({summary}). The server's previous content was backed up beside {src.name}.")
        return 0
    before = set(target.parent.glob(f"{target.name}.before-restore-*")) if target.parent.exists() else set()
    store = Store.restore(src, target)
    try:
        summary = _summary(store)
        check = store.integrity_check()
    finally:
        store.close()
    kept = sorted(set(target.parent.glob(f"{target.name}.before-restore-*")) - before)
    kept_main = [k for k in kept if not k.name.endswith(("-wal", "-shm"))]
    note = f" The store it replaced was kept as {kept_main[-1]}." if kept_main else ""
    if check != "ok":
        raise _Failed(f"Restored {target} from {src}, but the result failed its check ({check}).{note}")
    print(f"Restored {target} from {src} ({summary}).{note}")
    return 0


def _check(args) -> int:
    from sciatica_kit.migrations import HEAD

    location = _location(args.store)
    store = _open_existing(location)
    try:
        problems = store.check()
        summary = _summary(store) if not problems else ""
    finally:
        store.close()
    if problems:
        raise _Failed(f"The store {_show(location)} failed its check: {'; '.join(problems)}. Restore it from a backup.")
    print(f"The store {_show(location)} is healthy: schema {HEAD}, no orphan rows, history consistent, {summary}.")
    return 0


def _seed_demo(args) -> int:
    from sciatica_kit.demo import demo_store_path, seed_demo_store
    from sciatica_kit.store import Store

    location = _location(args.store) if args.store else demo_store_path()  # demo patients go where named, else the demo store
    store = seed_demo_store(Store(location), n_patients=args.patients)
    try:
        summary = _summary(store)
    finally:
        store.close()
    print(f"Demo store ready at {_show(location)}: {summary} (synthetic patients only).")
    return 0


def _report(args) -> int:
    from sciatica_kit.report import run_reports

    location = _location(args.store)
    try:
        paths = run_reports(args.patient, args.out, store_location=str(location))
    except (ValueError, FileNotFoundError) as exc:
        raise _Failed(f"No report written: {exc}") from None
    for i, p in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] {p}")
    return 0


def _pictures(args) -> int:
    from sciatica_kit.catalog import CatalogError, load_catalog
    from sciatica_kit.handout import HandoutError, contact_sheet

    try:
        cat = load_catalog(extra=args.catalog) if args.catalog else load_catalog()
        out = contact_sheet(Path(args.sheet).expanduser(), catalog=cat)
    except (CatalogError, HandoutError) as exc:
        raise _Failed(str(exc)) from None
    print(f"Contact sheet of {len(cat.records['exercises'])} exercise pictures written to {out}.")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m sciatica_kit", description="Check, back up, restore and report on the Sciatica Kit patient store.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    store_help = ("the store: a file or a server address postgresql+psycopg://user:password@host/db "
                  "(default: $SCIATICA_KIT_STORE, the settings file, or the user's data folder)")

    p = sub.add_parser("backup", help="copy the store (file or server), consistently, to a portable backup file DEST (a file or a folder)")
    p.add_argument("dest", metavar="DEST")
    p.add_argument("--store", metavar="LOCATION", help=store_help)
    p.add_argument("--force", action="store_true", help="replace DEST if it exists")
    p.set_defaults(run=_backup)

    p = sub.add_parser("restore", help="replace the store with a checked backup (a file store is kept beside it)")
    p.add_argument("src", metavar="SRC")
    p.add_argument("--store", metavar="LOCATION", help=store_help)
    p.add_argument("--yes", action="store_true", help="on a server: really replace what is there")
    p.set_defaults(run=_restore)

    p = sub.add_parser("check", help="check the store: integrity, schema version, orphan rows, history")
    p.add_argument("--store", metavar="LOCATION", help=store_help)
    p.set_defaults(run=_check)

    p = sub.add_parser("seed-demo", help="fill the demo store (or the store named by --store) with the synthetic demo patients")
    p.add_argument("--store", metavar="LOCATION", help=store_help)
    p.add_argument("--patients", type=int, default=24, help="number of demo patients (default 24)")
    p.set_defaults(run=_seed_demo)

    p = sub.add_parser("report", help="per-patient HTML progress reports")
    p.add_argument("--patient", required=True, help="patient id, or 'all'")
    p.add_argument("--out", default="reports-out", help="output folder (default reports-out)")
    p.add_argument("--store", metavar="LOCATION", help=store_help)
    p.set_defaults(run=_report)

    p = sub.add_parser("pictures", help="draw every exercise picture on a contact sheet (PDF) for review")
    p.add_argument("--sheet", metavar="OUT.pdf", required=True, help="the PDF to write")
    p.add_argument("--catalog", metavar="CLINIC.toml", help="a clinic catalogue file whose exercises join the sheet")
    p.set_defaults(run=_pictures)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command of ``python -m sciatica_kit`` (``check``, ``backup``, ``restore``, ``report`` ...).

    Parameters
    ----------
    argv : sequence of str, optional
        The command line after the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 when the command did what it said, else non-zero with the reason printed.
    """
    from sciatica_kit.log import LogError
    from sciatica_kit.store import StoreError, _clinic_error, _is_db_error

    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 1
    try:
        return args.run(args)
    except (_Failed, StoreError, LogError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except PermissionError as exc:
        print(f"error: no permission to use {exc.filename or 'the file'}: check the file's owner and rights.", file=sys.stderr)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}.", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        if not _is_db_error(exc):
            raise
        print(f"error: {_clinic_error(exc, _show(_location(getattr(args, 'store', None))))}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
