"""Command line for the patient store: back up, restore, check, seed the demo.

    python -m sciatica_kit backup DEST [--store PATH] [--force]
    python -m sciatica_kit restore SRC [--store PATH]
    python -m sciatica_kit check [--store PATH]
    python -m sciatica_kit seed-demo [--store PATH] [--patients N]
    python -m sciatica_kit pictures --sheet OUT.pdf [--catalog CLINIC.toml]

``--store`` defaults to ``$SCIATICA_KIT_STORE`` or the user's data folder.  Every
command prints a plain sentence and exits 0 when it worked, 1 when it did not;
expected problems (a damaged store, a missing file, no permission, a full disk)
are explained, never shown as a traceback.
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


def _store_path(arg: str | None) -> Path:
    from sciatica_kit.store import default_store_path

    return Path(arg).expanduser() if arg else default_store_path()


def _open_existing(path: Path):
    from sciatica_kit.store import Store

    if not path.exists():
        raise _Failed(f"There is no store at {path}. Give its location with --store PATH (or set SCIATICA_KIT_STORE).")
    if path.is_dir():
        raise _Failed(f"{path} is a folder, not a store file.")
    return Store(path)


def _summary(store) -> str:
    import sqlalchemy as sa

    from sciatica_kit.store import entries, imports, patients

    with store.engine.connect() as conn:
        n_pat = conn.execute(sa.select(sa.func.count()).select_from(patients)).scalar()
        n_ent = conn.execute(sa.select(sa.func.count()).select_from(entries)).scalar()
        n_imp = conn.execute(sa.select(sa.func.count()).select_from(imports)).scalar()
    return f"{n_pat} patient(s), {n_ent} entries, {n_imp} import(s)"


def _verify_copy(path: Path) -> str:
    from sciatica_kit.store import _read_only_uri

    con = sqlite3.connect(_read_only_uri(path), uri=True)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def _backup(args) -> int:
    store_path = _store_path(args.store)
    dest = Path(args.dest).expanduser()
    if dest.is_dir():
        dest = dest / f"{store_path.stem}-backup-{dt.datetime.now():%Y%m%d-%H%M%S}.sqlite"
    if dest.exists() and not args.force:
        raise _Failed(f"{dest} already exists. Choose a new file name, a folder, or add --force to replace it.")
    store = _open_existing(store_path)
    try:
        if dest.exists() and dest.resolve() == store_path.resolve():
            raise _Failed("The backup must go to a different file than the store itself.")
        summary = _summary(store)
        store.backup(dest)
    finally:
        store.close()
    result = _verify_copy(dest)
    if result != "ok":
        raise _Failed(f"The backup at {dest} failed its check ({result}); try again, or back up to another drive.")
    print(f"Backed up {store_path} ({summary}) to {dest}. The backup is owner-only; keep it somewhere safe.")
    return 0


def _restore(args) -> int:
    from sciatica_kit.store import Store

    src = Path(args.src).expanduser()
    target = _store_path(args.store)
    if not src.exists():
        raise _Failed(f"The backup {src} does not exist.")
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
    path = _store_path(args.store)
    store = _open_existing(path)
    try:
        result = store.integrity_check()
        summary = _summary(store) if result == "ok" else ""
    finally:
        store.close()
    if result != "ok":
        raise _Failed(f"The store {path} failed its integrity check: {result}. Restore it from a backup.")
    print(f"The store {path} is healthy: integrity ok, {summary}.")
    return 0


def _seed_demo(args) -> int:
    from sciatica_kit.demo import demo_store_path, seed_demo_store
    from sciatica_kit.store import Store

    path = _store_path(args.store) if args.store else demo_store_path()  # demo patients go where named, else the demo store
    store = seed_demo_store(Store(path), n_patients=args.patients)
    try:
        summary = _summary(store)
    finally:
        store.close()
    print(f"Demo store ready at {path}: {summary} (synthetic patients only).")
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
    parser = _Parser(prog="python -m sciatica_kit", description="Back up, restore and check the Sciatica Kit patient store.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    store_help = "the store file (default: $SCIATICA_KIT_STORE or the user's data folder)"

    p = sub.add_parser("backup", help="copy the store, consistently, to DEST (a file or a folder)")
    p.add_argument("dest", metavar="DEST")
    p.add_argument("--store", metavar="PATH", help=store_help)
    p.add_argument("--force", action="store_true", help="replace DEST if it exists")
    p.set_defaults(run=_backup)

    p = sub.add_parser("restore", help="replace the store with a checked backup (the old store is kept beside it)")
    p.add_argument("src", metavar="SRC")
    p.add_argument("--store", metavar="PATH", help=store_help)
    p.set_defaults(run=_restore)

    p = sub.add_parser("check", help="check the store's integrity")
    p.add_argument("--store", metavar="PATH", help=store_help)
    p.set_defaults(run=_check)

    p = sub.add_parser("seed-demo", help="fill the demo store (or the store named by --store) with the synthetic demo patients")
    p.add_argument("--store", metavar="PATH", help=store_help)
    p.add_argument("--patients", type=int, default=24, help="number of demo patients (default 24)")
    p.set_defaults(run=_seed_demo)

    p = sub.add_parser("pictures", help="draw every exercise picture on a contact sheet (PDF) for review")
    p.add_argument("--sheet", metavar="OUT.pdf", required=True, help="the PDF to write")
    p.add_argument("--catalog", metavar="CLINIC.toml", help="a clinic catalogue file whose exercises join the sheet")
    p.set_defaults(run=_pictures)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import sqlalchemy.exc

    from sciatica_kit.log import LogError
    from sciatica_kit.store import StoreError

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
    except (sqlite3.Error, sqlalchemy.exc.SQLAlchemyError) as exc:
        reason = getattr(exc, "orig", None) or exc
        print(f"error: the store could not be used ({(str(reason).splitlines() or ['unknown reason'])[0]}).", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
