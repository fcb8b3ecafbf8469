"""Crashes: a process importing a big log is SIGKILLed at random moments; the store survives.

After every kill the store opens cleanly, passes SQLite's integrity check, keeps every
entry it had before, and holds either none or all of the interrupted import (never part).
Also: a damaged, foreign or empty store file is refused with a clear StoreError and left
byte-for-byte as it was; a missing one is created fresh and owner-only.

Kills: 15 of a ~110 000-row import by default; the slow variant (make soak: SOAK=1 -m soak) makes
100 kills of a 219 000-row import.  The one-line summary (pytest -s) gives the figures.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import sqlite3
import stat
import time
from pathlib import Path

import pandas as pd
import pytest

import sciatica_kit as sk
from helpers_reliability import (
    SOAK,
    count,
    import_worker,
    kill_hard,
    report,
    store_files,
    worker_context,
)
from sciatica_kit.demo import demo_log
from sciatica_kit.migrations import HEAD
from sciatica_kit.store import Store, StoreError

KILLS = 15


def _rows(n_patients: int) -> int:
    return n_patients * 365 * 3  # demo_daily_log: 365 days x 3 measures per patient


def _counts(location, tag: str) -> tuple[int, int, int]:
    """(entries of this import, batches recording it, all entries) as the store holds them."""
    with Store(location) as store:
        log = store.read()
        batches = store.batches()
    mine = int(log["patient_id"].str.startswith(tag).sum())
    logged = int((batches["source"] == f"crash test {tag}").sum())
    return mine, logged, len(log)


def _fresh_store(location) -> int:
    if isinstance(location, Path):
        for p in store_files(location):
            p.unlink()
    else:  # a server database: empty the kit's tables
        from sciatica_kit.store import metadata

        with Store(location) as store, store.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    store = Store(location)
    store.add(demo_log(6), source="baseline")
    n = len(store.read())
    store.close()
    return n


def _run_worker(ctx, path, tag: str, *, n_patients: int = 1, fresh: bool = False):
    ready = ctx.Event()
    proc = ctx.Process(target=import_worker, args=(str(path), n_patients, tag, ready, fresh), daemon=True)
    proc.start()
    assert ready.wait(60), "the import worker never started"
    return proc


def test_sigkill_during_a_big_import_never_leaves_half_an_import(location):
    _kill_during_import(location, kills=KILLS, n_patients=100)


@pytest.mark.soak
def test_soak_sigkill_during_a_200k_row_import(location):
    _kill_during_import(location, kills=100 if SOAK else 2, n_patients=200 if SOAK else 20)


def _kill_during_import(location, *, kills: int, n_patients: int) -> None:
    rows = _rows(n_patients)
    ctx = worker_context()
    path = location
    baseline = _fresh_store(path)

    # one uninterrupted run: how long does the import itself take here?
    proc = _run_worker(ctx, path, "CAL-", n_patients=n_patients)
    t0 = time.perf_counter()
    proc.join(120)
    full = time.perf_counter() - t0
    assert proc.exitcode == 0, "the calibration import failed"
    assert _counts(path, "CAL-")[0] == rows
    baseline = _fresh_store(path)

    rnd = random.Random(20261121)
    none = whole = 0
    for i in range(kills):
        tag = f"K{i:03d}-"
        proc = _run_worker(ctx, path, tag, n_patients=n_patients)
        time.sleep(rnd.uniform(0, full * 1.05))
        kill_hard(proc.pid)
        proc.join(30)
        assert proc.exitcode in (-signal.SIGKILL, 0), proc.exitcode

        store = Store(path)  # opens cleanly: no StoreError, no exception
        try:
            assert store.integrity_check() == "ok", f"kill {i}: integrity check failed"
        finally:
            store.close()
        mine, logged, total = _counts(path, tag)
        assert mine in (0, rows), f"kill {i} left {mine} of {rows} rows of the import: half an import"
        assert logged == (1 if mine else 0), f"kill {i}: the imports table disagrees with the entries"
        assert total == baseline + mine, f"kill {i}: entries from before the import were lost or changed"
        for p in store_files(path) if isinstance(path, Path) else []:
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, f"{p.name} is not owner-only after a crash"
        if mine:
            whole += 1
            baseline = _fresh_store(path)
        else:
            none += 1
    count("kills survived", kills)
    report("crash during import", backend="sqlite" if isinstance(path, Path) else "postgresql", rows_per_import=rows, import_seconds=round(full, 2), kills_survived=kills,
           killed_before_commit=none, completed_before_kill=whole)
    assert none + whole == kills


def test_sigkill_while_a_new_store_is_being_created(tmp_path):
    """A crash in the first milliseconds of a brand-new store must not leave a file the kit then refuses."""
    ctx = worker_context()
    rnd = random.Random(7)
    refused = []
    for i in range(KILLS):
        path = tmp_path / f"new{i}" / "kit.sqlite"
        path.parent.mkdir()
        proc = _run_worker(ctx, path, f"N{i}-", fresh=True)
        time.sleep(rnd.uniform(0, 0.04))
        kill_hard(proc.pid)
        proc.join(30)
        try:
            store = Store(path)
        except StoreError as exc:
            refused.append(f"kill {i}: {exc}")
            continue
        assert store.integrity_check() == "ok"
        assert len(store.read()) in (0, 50)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        store.close()
    count("kills survived", KILLS - len(refused))
    report("crash while creating a store", kills=KILLS, refused_afterwards=len(refused))
    assert not refused, "a crash while creating a store left a file the kit refuses:\n" + "\n".join(refused[:3])


@pytest.mark.slow
def test_restore_keeps_the_crashed_stores_unsaved_wal(tmp_path):
    """After a crash the committed data may still sit in the -wal file: restore must keep it with the old copy."""
    ctx = worker_context()
    path = tmp_path / "kit.sqlite"
    _fresh_store(path)
    backup = Store(path).backup(tmp_path / "backup.sqlite")
    # a worker commits a small import, then dies before SQLite folds the WAL back into the main file
    proc = ctx.Process(target=_commit_then_die, args=(str(path),), daemon=True)
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL
    assert Path(f"{path}-wal").exists() and Path(f"{path}-wal").stat().st_size > 0, "the test needs a non-empty WAL"
    Store.restore(backup, path)
    kept = [p for p in tmp_path.iterdir() if ".before-restore-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(kept) == 1
    con = sqlite3.connect(kept[0])
    try:
        n = con.execute("SELECT count(*) FROM entries WHERE patient_id = 'CRASHED-1'").fetchone()[0]
    finally:
        con.close()
    assert n == 1, "the entry committed just before the crash is missing from the kept copy of the old store"


def _commit_then_die(path: str) -> None:
    from sciatica_kit.store import Store

    store = Store(path)
    store.add(pd.DataFrame({"patient_id": ["CRASHED-1"], "date": ["2026-03-01"], "measure": ["pain"], "side": [""],
                            "value": [4.0], "note": [""]}))
    os.kill(os.getpid(), signal.SIGKILL)


# ----------------------------------------------------------------------------- damaged store files


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def real_store_file(tmp_path) -> Path:
    path = tmp_path / "real" / "kit.sqlite"
    store = Store(path)
    sk.seed_demo_store(store)
    store.close()
    assert not Path(f"{path}-wal").exists(), "a cleanly closed store folds its WAL back"
    return path


def _assert_refused_untouched(path: Path, *, words: tuple[str, ...]) -> None:
    before = _digest(path)
    siblings = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(StoreError) as info:
        Store(path)
    message = str(info.value)
    assert str(path) in message or path.name in message, "the message must name the file"
    assert any(w in message.lower() for w in words), message
    assert "backup" in message.lower() or "another" in message.lower(), "the message must say what to do"
    assert _digest(path) == before, "the damaged file was changed"
    # SQLite may leave empty -wal/-shm side files after reading; nothing else may appear
    extra = {p.name for p in path.parent.iterdir()} - set(siblings) - {f"{path.name}-wal", f"{path.name}-shm"}
    assert not extra, f"files were created beside the damaged store: {extra}"
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_a_store_cut_in_half_is_refused_and_left_as_it_is(real_store_file):
    data = real_store_file.read_bytes()
    real_store_file.write_bytes(data[: len(data) // 2])
    _assert_refused_untouched(real_store_file, words=("damaged", "integrity"))


def test_a_store_with_a_damaged_page_is_refused_and_left_as_it_is(real_store_file):
    data = bytearray(real_store_file.read_bytes())
    page = 4096
    for i in range(page * 2, min(len(data), page * 6)):
        data[i] = (data[i] * 7 + 13) % 256
    real_store_file.write_bytes(bytes(data))
    _assert_refused_untouched(real_store_file, words=("damaged", "integrity"))


@pytest.mark.parametrize("content", [b"patient_id,date,pain\nP1,2026-01-05,7\n", b"\x00" * 5000, os.urandom(3000)])
def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_is(tmp_path, content):
    path = tmp_path / "kit.sqlite"
    path.write_bytes(content)
    _assert_refused_untouched(path, words=("not a sciatica kit store", "not an sqlite"))


def test_an_empty_store_file_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / "kit.sqlite"
    path.write_bytes(b"")
    old = time.time() - 3600
    os.utime(path, (old, old))  # truncated an hour ago, not being created right now
    _assert_refused_untouched(path, words=("empty", "0 bytes"))


def test_another_programs_database_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / "kit.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE invoices (id INTEGER, amount REAL)")
    con.commit()
    con.close()
    _assert_refused_untouched(path, words=("another program",))


def test_a_missing_store_is_created_fresh_and_owner_only(tmp_path):
    old = os.umask(0o000)  # even with the most permissive umask
    try:
        path = tmp_path / "deep" / "folder" / "kit.sqlite"
        store = Store(path)
        store.add(demo_log(2))
        for p in store_files(path):
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
        assert store.integrity_check() == "ok"
        store.close()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_store_in_a_folder_with_odd_characters_is_checked_and_restored(tmp_path):
    """'#', '?' and '%' in a folder name must not make the check or a restore read another (empty) database."""
    folder = tmp_path / "Clinic #2 ?50%"
    store = Store(folder / "kit.sqlite")
    store.add(demo_log(2))
    expected = store.read()
    backup = store.backup(tmp_path / "Backups #1" / "kit backup.sqlite")
    store.close()
    restored = Store.restore(backup, folder / "kit.sqlite")
    pd.testing.assert_frame_equal(restored.read(), expected)
    restored.close()
    data = (folder / "kit.sqlite").read_bytes()
    (folder / "kit.sqlite").write_bytes(data[: len(data) // 2])
    _assert_refused_untouched(folder / "kit.sqlite", words=("damaged", "integrity"))


def test_restore_onto_itself_is_refused_and_loses_nothing(real_store_file):
    before = _digest(real_store_file)
    with pytest.raises(StoreError):
        Store.restore(real_store_file, real_store_file)
    assert real_store_file.exists() and _digest(real_store_file) == before


def test_restore_from_a_damaged_backup_is_refused_and_the_store_kept(real_store_file, tmp_path):
    bad = tmp_path / "bad-backup.sqlite"
    data = real_store_file.read_bytes()
    bad.write_bytes(data[: len(data) // 3])
    before = _digest(real_store_file)
    with pytest.raises(StoreError):
        Store.restore(bad, real_store_file)
    assert _digest(real_store_file) == before


def test_backup_and_restore_round_trip(real_store_file, tmp_path):
    store = Store(real_store_file)
    expected = store.read()
    backup = store.backup(tmp_path / "b" / "backup.sqlite")
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    store.add(pd.DataFrame({"patient_id": ["LATE"], "date": ["2026-03-01"], "measure": ["pain"], "side": [""], "value": [2.0], "note": [""]}))
    store.close()
    restored = Store.restore(backup, real_store_file)
    pd.testing.assert_frame_equal(restored.read(), expected)
    assert restored.integrity_check() == "ok"
    assert stat.S_IMODE(real_store_file.stat().st_mode) == 0o600
    restored.close()
    kept = [p for p in real_store_file.parent.iterdir() if ".before-restore-" in p.name]
    assert kept, "the store that was replaced must be kept"
    shutil.rmtree(tmp_path / "b")


# ----------------------------------------------------------------------------- the command line


def _cli_ok(result, *words):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    for w in words:
        assert w.lower() in result.stdout.lower(), result.stdout


def _cli_fails(result, *words):
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.stderr.strip(), "a failure must say why"
    for w in words:
        assert w.lower() in result.stderr.lower(), result.stderr


def test_cli_seed_check_backup_restore(tmp_path, capsys):
    from helpers_reliability import kit_cli
    from sciatica_kit.__main__ import main

    store = tmp_path / "clinic" / "kit.sqlite"
    _cli_ok(kit_cli("seed-demo", "--store", str(store), "--patients", "5"), "demo store ready", "5 patient")
    assert main(["check", "--store", str(store)]) == 0
    assert "healthy" in capsys.readouterr().out
    with Store(store) as s:
        expected = s.read()
    backup = tmp_path / "backups" / "monday.sqlite"
    _cli_ok(kit_cli("backup", str(backup), "--store", str(store)), "backed up", str(backup))
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    # change the store, then restore the backup: the change is gone, the old store kept beside it
    with Store(store) as s:
        s.add(pd.DataFrame({"patient_id": ["LATE"], "date": ["2026-03-01"], "measure": ["pain"], "side": [""], "value": [2.0], "note": [""]}))
    _cli_ok(kit_cli("restore", str(backup), "--store", str(store)), "restored", "kept as")
    with Store(store) as s:
        pd.testing.assert_frame_equal(s.read(), expected)
    assert list(store.parent.glob("kit.sqlite.before-restore-*"))


def test_cli_explains_damage_and_touches_nothing(tmp_path):
    from helpers_reliability import kit_cli

    store = tmp_path / "kit.sqlite"
    with Store(store) as s:
        s.add(demo_log(3))
    data = store.read_bytes()
    store.write_bytes(data[: len(data) // 2])
    before = _digest(store)
    _cli_fails(kit_cli("check", "--store", str(store)), "damaged")
    assert _digest(store) == before
    from sciatica_kit.__main__ import main

    missing = tmp_path / "nowhere" / "kit.sqlite"
    assert main(["check", "--store", str(missing)]) == 1
    assert not missing.exists() and not missing.parent.exists(), "check must not create a store"


def test_cli_refusals_in_process(tmp_path, capsys, monkeypatch):
    from sciatica_kit.__main__ import main

    store = tmp_path / "kit.sqlite"
    with Store(store) as s:
        s.add(demo_log(2))
    monkeypatch.setenv("SCIATICA_KIT_STORE", str(store))
    assert main(["check"]) == 0 and "healthy" in capsys.readouterr().out  # the default location
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(store.read_bytes()[:3000])
    digest = _digest(damaged)
    assert main(["backup", str(tmp_path / "d.sqlite"), "--store", str(damaged)]) == 1
    assert "damaged" in capsys.readouterr().err and _digest(damaged) == digest and not (tmp_path / "d.sqlite").exists()
    backup = tmp_path / "b.sqlite"
    assert main(["backup", str(backup), "--store", str(store)]) == 0
    assert main(["backup", str(backup), "--store", str(store)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["backup", str(backup), "--store", str(store), "--force"]) == 0
    assert main(["backup", str(tmp_path), "--store", str(store)]) == 0  # a folder: a dated file inside it
    assert list(tmp_path.glob("kit-backup-*.sqlite"))
    assert main(["backup", str(store), "--store", str(store), "--force"]) == 1
    assert main(["restore", str(tmp_path / "none.sqlite"), "--store", str(store)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["restore", str(store), "--store", str(store)]) == 1
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    assert main(["restore", str(empty), "--store", str(store)]) == 1
    assert main(["check", "--store", str(empty)]) == 1
    junk = tmp_path / "junk.sqlite"
    junk.write_text("hello")
    assert main(["restore", str(junk), "--store", str(store)]) == 1
    assert "not a sciatica kit store" in capsys.readouterr().err.lower()
    with Store(store) as s:
        assert s.integrity_check() == "ok" and not s.read().empty
    assert main([]) == 1
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err


def test_cli_on_a_clinic_server_takes_urls_and_never_shows_the_password(pg_server, tmp_path, repo):
    import sqlalchemy as sa

    from helpers_reliability import kit_cli

    url = pg_server()
    password = sa.engine.make_url(url).password

    def run(*args, env=None):
        result = kit_cli(*args, env=env)
        assert password not in result.stdout + result.stderr, "the password was printed"
        return result

    empty = pg_server()
    _cli_fails(run("check", "--store", empty), "no sciatica kit store")
    with Store(empty, create=True) as s:  # check did not create anything: the store is made only now
        assert s.counts()["patients"] == 0
    _cli_ok(run("seed-demo", "--store", url, "--patients", "3"), "demo store ready", "3 patient", "***")
    _cli_ok(run("check", "--store", url), "healthy", f"schema {HEAD}", "no orphan rows", "history consistent")
    _cli_ok(run("check", env={"SCIATICA_KIT_STORE": url}), "healthy")
    backup = tmp_path / "monday.sqlite"
    _cli_ok(run("backup", str(backup), "--store", url), "backed up", str(backup))
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with Store(url) as s:
        expected = s.read(provenance=True)
        s.add(pd.DataFrame({"patient_id": ["LATE"], "date": [pd.Timestamp("2026-03-01")], "measure": ["pain"], "side": [""],
                            "value": [2.0], "note": [""]}))
    _cli_fails(run("restore", str(backup), "--store", url), "--yes")
    result = run("restore", str(backup), "--store", url)
    assert "will replace everything" in result.stdout and "4 patient(s)" in result.stdout
    with Store(url) as s:
        assert "LATE" in set(s.read()["patient_id"]), "restore without --yes changed the server"
    _cli_ok(run("restore", str(backup), "--store", url, "--yes"), "restored")
    with Store(url) as s:
        pd.testing.assert_frame_equal(s.read(provenance=True), expected)
    assert list(tmp_path.glob("monday.server-before-restore-*.sqlite")), "the server's content is backed up first"
    wrong = sa.engine.make_url(url).set(password="Wr0ng-Pw-123").render_as_string(hide_password=False)
    failed = kit_cli("check", "--store", wrong)
    _cli_fails(failed, "refused the login")
    assert "Wr0ng-Pw-123" not in failed.stdout + failed.stderr
    _cli_ok(run("report", "--patient", "DEMO-001", "--out", str(tmp_path / "reports"), "--store", url), "report-DEMO-001.html")
    assert (tmp_path / "reports" / "report-DEMO-001.html").exists()
    assert not [p for p in repo.iterdir() if p.name.startswith("postgresql")], "a URL became a local folder"
