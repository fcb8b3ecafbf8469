"""Several processes write to one store at once: nothing is lost, nobody sees "database is locked".

On SQLite the Store waits for a busy file (``PRAGMA busy_timeout``) and takes the write lock
at the start of each transaction (``BEGIN IMMEDIATE``), so concurrent writers queue instead of
failing.  On PostgreSQL every writer locks its patients' rows first (in patient order), so
writers of the same patient are serialised and every overwritten value reaches history.
Tests taking ``location`` run on both backends.  Workers are separate processes (see
helpers_reliability).
"""

from __future__ import annotations

import queue
import sqlite3

import pytest

from helpers_reliability import (
    SOAK,
    bulk_worker,
    count,
    entry_worker,
    open_worker,
    register_worker,
    report,
    same_key_worker,
    worker_context,
)
from sciatica_kit.store import BUSY_TIMEOUT_MS, Store


def _drain(q) -> list[str]:
    out = []
    while True:
        try:
            out.append(q.get(timeout=0.2))
        except queue.Empty:
            return out


def test_the_store_waits_instead_of_failing_when_busy(tmp_path):
    """The settings the concurrency guarantee rests on."""
    store = Store(tmp_path / "kit.sqlite")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS >= 5000
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    # a write transaction takes the write lock at BEGIN: a second writer cannot sneak in
    other = sqlite3.connect(tmp_path / "kit.sqlite", timeout=0)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.close()
    store.close()


def test_concurrent_writers_and_a_big_import_lose_nothing(location):
    _writers_and_bulk(location, writers=3, entries=40, bulk_patients=60)


@pytest.mark.soak
def test_soak_many_writers_and_a_200k_row_import(location):
    if SOAK:
        _writers_and_bulk(location, writers=6, entries=150, bulk_patients=200)
    else:
        _writers_and_bulk(location, writers=4, entries=5, bulk_patients=5)


def _writers_and_bulk(location, *, writers: int, entries: int, bulk_patients: int) -> None:
    ctx = worker_context()
    path = str(location)
    Store(path).close()
    start, errors = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=entry_worker, args=(str(path), w, entries, start, errors), daemon=True) for w in range(writers)]
    procs.append(ctx.Process(target=bulk_worker, args=(str(path), bulk_patients, "BULK-", start, errors), daemon=True))
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(180)
    problems = _drain(errors)
    assert not problems, "writers failed:\n" + "\n".join(problems[:5])
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]

    store = Store(path)
    log = store.read()
    assert store.integrity_check() == "ok"
    store.close()
    written = log[log["patient_id"].str.startswith("W")]
    expected = {f"W{w}-{k:04d}" for w in range(writers) for k in range(entries)}
    assert set(written["patient_id"]) == expected, "entries are missing"
    assert len(written) == len(expected), "an entry was stored twice"
    for pid, note in zip(written["patient_id"], written["note"], strict=True):
        w, k = pid[1:].split("-")
        assert note == f"writer {w} entry {int(k)}", "an entry was mixed up with another writer's"
    bulk_rows = bulk_patients * 365 * 3
    assert (log["patient_id"].str.startswith("BULK-")).sum() == bulk_rows, "the big import is incomplete"
    count("concurrent entries written", len(written) + bulk_rows)
    report("concurrent writers", backend="sqlite" if path.endswith(".sqlite") else "postgresql", writers=writers,
           entries_each=entries, single_entries_written=len(written), bulk_rows_written=bulk_rows,
           lost=len(expected) - len(written), lock_errors=len(problems))


def test_writers_of_the_same_value_at_once_lose_nothing_and_say_what_they_did(location):
    """Several clinicians save the same patient/date/measure/side at the same moment, many times over.

    Exactly one save adds the value, every other one corrects it; the value that stays plus
    every overwritten value in history are all the values written: nothing is lost.
    """
    ctx = worker_context()
    writers, rounds = 4, 25
    Store(str(location)).close()
    start, results, errors = ctx.Event(), ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=same_key_worker, args=(str(location), w, rounds, start, results, errors), daemon=True)
             for w in range(writers)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(180)
    problems = _drain(errors)
    assert not problems, "writers failed:\n" + "\n".join(problems[:5])
    done = _drain(results)
    assert len(done) == writers * rounds
    with Store(str(location)) as store:
        current = store.read("SAME", provenance=True)
        hist = store.history("SAME")
        assert store.check() == []
    written = sorted(v for _, _, v, *_ in done)
    kept = sorted([*current["value"].tolist(), *hist["old_value"].tolist()])
    assert kept == written, "a value written at the same moment as another was lost"
    assert sum(d[3] for d in done) == 1 and sum(d[4] for d in done) == writers * rounds - 1
    assert sum(d[5] for d in done) == 0
    # each correction's history row names the value it replaced and the one it wrote, in order
    assert hist["new_value"].tolist()[:-1] == hist["old_value"].tolist()[1:]
    assert hist["new_value"].iloc[-1] == current["value"].iloc[0]
    count("concurrent entries written", len(done))
    report("same value at once", writers=writers, saves=len(done), lost=len(written) - len(kept), history_rows=len(hist))


def test_many_clients_creating_the_store_and_registering_a_patient_at_once(location):
    """A new clinic server database opened by five clinicians at the same moment; the same new patient
    registered by five at once: no error, one schema, one patient."""
    ctx = worker_context()
    start, errors = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=open_worker, args=(str(location), start, errors), daemon=True) for _ in range(5)]
    procs += [ctx.Process(target=register_worker, args=(str(location), "NEW-1", start, errors), daemon=True) for _ in range(5)]
    for p in procs[:5]:
        p.start()
    start.set()
    for p in procs[:5]:
        p.join(90)
    start.clear()
    for p in procs[5:]:
        p.start()
    start.set()
    for p in procs[5:]:
        p.join(90)
    problems = _drain(errors)
    assert not problems, "\n".join(problems[:3])
    with Store(str(location)) as store:
        assert len(store.read()) == 5 and store.check() == []
        assert (store.patients()["patient_id"] == "NEW-1").sum() == 1


def test_many_processes_creating_the_same_new_store_at_once(tmp_path):
    """Colleagues opening a brand-new store at the same moment: one creates it, the others use it."""
    ctx = worker_context()
    rounds = 2
    for r in range(rounds):
        path = tmp_path / f"round{r}" / "kit.sqlite"
        start, errors = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=open_worker, args=(str(path), start, errors), daemon=True) for _ in range(5)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(60)
        problems = _drain(errors)
        assert not problems, "\n".join(problems[:3])
        store = Store(path)
        assert len(store.read()) == 5 and store.integrity_check() == "ok"
        store.close()



def test_opening_a_store_never_waits_for_a_colleagues_write_lock(tmp_path, monkeypatch):
    """An app page opens while someone else is importing: only creating or upgrading the
    schema takes the write lock, not opening a store that is already up to date."""
    import sciatica_kit.store as store_module
    from sciatica_kit.demo import seed_demo_store

    path = tmp_path / "kit.sqlite"
    seed_demo_store(Store(path), n_patients=2).close()
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 300)  # an open that waited would fail fast
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with Store(path) as store:
            assert list(store.patients()["patient_id"]) == ["DEMO-001", "DEMO-002"]
            with pytest.raises(store_module.StoreError):  # a save still waits for the lock, then says so
                store.add_patient("P-0003")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with Store(path) as store:  # and nothing was half-written
        assert list(store.patients()["patient_id"]) == ["DEMO-001", "DEMO-002"]


def test_reading_never_waits_for_a_colleagues_write_lock(tmp_path, monkeypatch):
    """A chart must open while someone else is importing: reads take no write lock."""
    import sciatica_kit.store as store_module
    from sciatica_kit.demo import seed_demo_store

    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 300)  # a read that waited would fail fast
    path = tmp_path / "kit.sqlite"
    store = seed_demo_store(Store(path), n_patients=2)
    expected = len(store.read())
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        assert len(store.read()) == expected
        assert list(store.patients()["patient_id"]) == ["DEMO-001", "DEMO-002"]
        assert len(store.programmes()) >= 2
    finally:
        writer.execute("ROLLBACK")
        writer.close()
