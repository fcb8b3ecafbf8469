"""Patient privacy: owner-only files, nothing patient-related in git, notes never echoed.

* the store, its side files, backups and every export are created mode 0600, whatever the umask;
* committed notebooks carry no outputs, execution counts or saved widget state;
* every file under data/ is catalogue data or synthetic demo data the seeded generator
  reproduces byte for byte; no database file is in the repository;
* error messages, warnings, logging and printed output never repeat a patient's note,
  not even when the database itself fails.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import traceback
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import event

import sciatica_kit as sk
from sciatica_kit import demo
from sciatica_kit.store import Store, StoreError

REPO = Path(__file__).resolve().parents[1]
SECRET = "ZZ-SECRET-NOTE-4711 wife left, sleeping in car"


@pytest.fixture
def open_umask():
    old = os.umask(0o000)  # the most permissive umask: only the kit's own care keeps files private
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(Path(path).stat().st_mode)


def test_store_backup_and_restore_files_are_owner_only(tmp_path, open_umask):
    path = tmp_path / "store" / "kit.sqlite"
    store = Store(path)
    store.add(demo.demo_log(3))
    for p in tmp_path.glob("store/kit.sqlite*"):
        assert _mode(p) == 0o600, p.name
    backup = store.backup(tmp_path / "backups" / "b.sqlite")
    assert _mode(backup) == 0o600
    store.close()
    restored = Store.restore(backup, path)
    restored.close()
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert _mode(p) == 0o600, f"{p.relative_to(tmp_path)} is {oct(_mode(p))}"


def test_every_export_is_owner_only(tmp_path, open_umask):
    from sciatica_kit.fhir import careplan_bundle, observations_bundle, write_bundle

    prog = sk.build_programme(["sciatica", "herniated_disc"], patient="Ann Example")
    log = demo.demo_log(2)
    store = Store(tmp_path / "kit.sqlite")
    store.add(log)
    outputs = [
        prog.to_csv(tmp_path / "out" / "p.csv"),
        prog.to_excel(tmp_path / "out" / "p.xlsx"),
        prog.to_html(tmp_path / "out" / "p.html", pictures=False),
        prog.to_pdf(tmp_path / "out" / "p.pdf", pictures=False),
        write_bundle(careplan_bundle(prog, patient_id="DEMO-001"), tmp_path / "out" / "plan.json"),
        write_bundle(observations_bundle(log), tmp_path / "out" / "obs.json"),
        sk.write_log(log, tmp_path / "out" / "log.csv"),
        sk.write_log(log, tmp_path / "out" / "log.xlsx", wide=True),
        store.export(tmp_path / "out" / "store.csv"),
        store.export(tmp_path / "out" / "store.xlsx", wide=True),
    ]
    store.close()
    for out in outputs:
        assert _mode(out) == 0o600, f"{Path(out).name} is {oct(_mode(out))}"
    # replacing an existing, readable file makes it private too
    shared = tmp_path / "out" / "again.csv"
    shared.write_text("old")
    os.chmod(shared, 0o644)
    prog.to_csv(shared)
    assert _mode(shared) == 0o600
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


# ----------------------------------------------------------------------------- the repository


def _git(*args) -> list[str]:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [line for line in out.splitlines() if line]


def _committed(pattern: str = "") -> list[Path]:
    files = _git("ls-files", *([pattern] if pattern else []))
    if not files and not (REPO / ".git").exists():  # an unpacked sdist: look at the files themselves
        files = [str(p.relative_to(REPO)) for p in REPO.rglob(pattern or "*") if p.is_file() and ".venv" not in p.parts]
    return [REPO / f for f in files if (REPO / f).is_file()]


def test_committed_notebooks_carry_no_outputs():
    notebooks = _committed("*.ipynb")
    assert notebooks, "no notebooks found"
    dirty = []
    for nb_path in notebooks:
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        if "widgets" in nb.get("metadata", {}):
            dirty.append(f"{nb_path.name}: saved widget state (may hold patient data)")
        for i, cell in enumerate(nb.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            if cell.get("outputs"):
                dirty.append(f"{nb_path.name} cell {i}: has outputs")
            if cell.get("execution_count") is not None:
                dirty.append(f"{nb_path.name} cell {i}: execution count {cell['execution_count']}")
    assert not dirty, "clear notebook outputs before committing:\n" + "\n".join(dirty)


def test_data_folder_holds_only_catalogue_and_reproducible_demo_data(tmp_path):
    data = REPO / "data"
    files = [p for p in data.rglob("*") if p.is_file()]
    assert files
    regenerate = {"demo_visits.csv": lambda out: demo.main(["--write", str(out)])}
    unknown = []
    for p in files:
        rel = p.relative_to(data)
        if rel.parts[0] == "catalog":
            assert p.suffix in (".toml", ".csv", ".md"), f"unexpected catalogue file {rel}"
            continue
        if rel.parts[0] == "demo" and p.name in regenerate:
            out = tmp_path / p.name
            regenerate[p.name](out)
            assert out.read_bytes() == p.read_bytes(), f"{rel} is not what the seeded demo generator writes"
            continue
        unknown.append(str(rel))
    assert not unknown, f"files under data/ that are neither catalogue nor reproducible demo data: {unknown}"
    assert (data / "demo" / "demo_visits.csv").exists(), "the demo data file is missing"


def test_no_database_is_in_the_repository():
    tracked = _committed()
    untracked = [REPO / f for f in _git("ls-files", "--others", "--exclude-standard")]
    offenders = []
    for p in tracked + untracked:
        if not p.is_file():
            continue
        if p.suffix.lower() in (".sqlite", ".sqlite3", ".db", ".db-wal", ".db-journal") or p.name.endswith(("-wal", "-shm")):
            offenders.append(str(p.relative_to(REPO)))
            continue
        with p.open("rb") as fh:
            if fh.read(16) == b"SQLite format 3\x00":
                offenders.append(str(p.relative_to(REPO)) + " (an SQLite database by content)")
    assert not offenders, f"database files in the repository: {offenders}"


# ----------------------------------------------------------------------------- notes never echoed


def _leaky_long_log() -> pd.DataFrame:
    """Every kind of problem, each on a row whose note is the secret."""
    rows = [
        ("P1", "2026-01-05", "pain", "", "eleven", SECRET),        # not a number
        ("P1", "2026-01-06", "pain", "", "", SECRET),              # empty value
        ("P1", "03/04/2026", "pain", "", "3", SECRET),             # ambiguous date
        ("P1", "2099-01-01", "pain", "", "3", SECRET),             # future
        ("P1", "yesterday", "pain", "", "3", SECRET),              # unreadable date
        ("P1", "2026-01-07", "pain", "", "12", SECRET),            # out of range
        ("P1", "2026-01-08", "rmdq", "", "3.5", SECRET),           # not whole
        ("P1", "2026-01-09", "pain", "", "4", SECRET),
        ("P1", "2026-01-09", "pain", "", "5", SECRET),             # clash with the row above
        ("", "2026-01-10", "pain", "", "4", SECRET),               # no patient id
        ("P1", "2026-01-11", "slr", "", "40", SECRET),             # sided measure without side
        ("P1", "2026-01-12", "pain", "left", "4", SECRET),         # side on an unsided measure
        ("P1", "2026-01-13", "painn", "", "4", SECRET),            # unknown measure
        ("P1", "2026-01-14", "slr", "up", "40", SECRET),           # not a side
        ("P1", "2026-01-15", "pain", "", "4", "bad \ud800 " + SECRET),  # unsavable text
    ]
    # object columns: an Arrow text column (pandas with pyarrow) cannot hold the lone surrogate
    return pd.DataFrame(rows, columns=["patient_id", "date", "measure", "side", "value", "note"], dtype=object)


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert "SECRET-NOTE" not in text and "sleeping in car" not in text, f"a patient's note was echoed:\n{text[:2000]}"


def test_log_errors_never_repeat_a_note(tmp_path, capsys, caplog):
    frame = _leaky_long_log()
    caplog.set_level(logging.DEBUG)
    with pytest.raises(sk.LogError) as info:
        sk.read_log(frame)
    exc = info.value
    assert len(exc.problems) >= 12, str(exc)
    _assert_no_secret(str(exc), repr(exc), exc.table.to_string(), "".join(traceback.format_exception(exc)))
    # the same through a file, a wide layout and the store
    frame.iloc[:-1].to_csv(tmp_path / "leaky.csv", index=False)  # (a lone surrogate cannot be written to a file)
    wide = pd.DataFrame({"patient_id": ["P1", "P1"], "date": ["2026-01-05", "03/04/2026"], "pain": ["x", "99"], "note": [SECRET, SECRET]})
    store = Store(tmp_path / "kit.sqlite")
    for src in (tmp_path / "leaky.csv", wide):
        with pytest.raises(sk.LogError) as info:
            sk.read_log(src)
        _assert_no_secret(str(info.value), info.value.table.to_string())
    with pytest.raises(sk.LogError) as info:
        store.add(frame)
    _assert_no_secret(str(info.value))
    assert store.read().empty
    store.close()
    out = capsys.readouterr()
    _assert_no_secret(out.out, out.err, caplog.text)


def test_a_database_failure_during_an_import_does_not_print_the_notes(tmp_path, capsys, caplog):
    """Disk full in the middle of an import: the error (and its traceback) must not carry the rows."""
    caplog.set_level(logging.DEBUG)
    store = Store(tmp_path / "kit.sqlite")
    store.add(demo.demo_log(2))
    before = store.read()
    pages = None
    with store.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    @event.listens_for(store.engine, "connect")
    def _tiny_disk(dbapi_con, _record):
        dbapi_con.execute(f"PRAGMA max_page_count={pages + 2}")

    store.engine.dispose()
    big = demo.demo_daily_log(30, days=200)
    big["note"] = SECRET
    with pytest.raises(Exception) as info:  # noqa: B017 - any error, as long as it is quiet about the notes
        store.add(big)
    text = "".join(traceback.format_exception(info.value))
    assert "full" in text.lower(), text[-500:]
    _assert_no_secret(text, str(info.value))
    event.remove(store.engine, "connect", _tiny_disk)
    store.engine.dispose()
    pd.testing.assert_frame_equal(store.read(), before)
    store.close()
    out = capsys.readouterr()
    _assert_no_secret(out.out, out.err, caplog.text)


def test_store_errors_name_the_file_not_its_content(tmp_path):
    path = tmp_path / "kit.sqlite"
    path.write_text(f"patient_id,date,pain,note\nP1,2026-01-05,7,{SECRET}\n")
    with pytest.raises(StoreError) as info:
        Store(path)
    _assert_no_secret(str(info.value))
    assert str(path) in str(info.value)
