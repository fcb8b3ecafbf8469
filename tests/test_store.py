"""The patient store: location, privacy, all-or-nothing imports, history, undo, safety.

Tests that take the ``store`` fixture run twice: on an SQLite file and on a private
PostgreSQL server (conftest ``location``); the file-specific ones use ``file_store``.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import sciatica_kit as sk
from sciatica_kit.log import LOG_COLUMNS, LogError, read_log
from sciatica_kit.patient_id import MAX_LENGTH, PatientIdError, check_patient_id
from sciatica_kit.store import STORE_ENV, ImportResult, StoreError, default_store_path
from tidy_logs import assert_same_log, tidy

FIRST = tidy(
    [
        ["P001", "2026-01-05", "pain", "", 7.0, "first visit"],
        ["P001", "2026-01-05", "slr", "left", 40.0, ""],
        ["P001", "2026-01-19", "pain", "", 5.0, ""],
        ["P002", "2026-01-06", "odi", "", 14 / 45 * 100, "=SUM(A1)"],
    ]
)


@pytest.fixture
def store(location) -> sk.Store:
    """A new store on each backend (SQLite file, PostgreSQL database): see conftest ``location``."""
    s = sk.Store(location, user="physio1")
    yield s
    s.close()


@pytest.fixture
def file_store(tmp_path) -> sk.Store:
    s = sk.Store(tmp_path / "kit.sqlite", user="physio1")
    yield s
    s.close()


def _snapshot(s: sk.Store) -> tuple:
    return s.read(provenance=True), s.history(), s.batches(), s.patients(), s.programmes()


def _assert_snapshot_equal(a: tuple, b: tuple) -> None:
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y, check_exact=True)


# --------------------------------------------------------------------------- location


def test_default_location_comes_from_the_environment(tmp_path, repo):
    expected = tmp_path / "store" / "kit.sqlite"
    assert os.environ[STORE_ENV] == str(expected)
    assert default_store_path() == expected
    s = sk.Store()
    try:
        assert s.path == expected
        assert expected.is_file()
        assert not expected.resolve().is_relative_to(repo)
    finally:
        s.close()


def test_default_location_without_the_variable_is_the_users_data_folder(
    tmp_path, monkeypatch, repo
):
    monkeypatch.delenv(STORE_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_path() == tmp_path / "xdg" / "sciatica-kit" / "store.sqlite"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = default_store_path()
    assert path == tmp_path / "home" / ".local" / "share" / "sciatica-kit" / "store.sqlite"
    assert not path.is_relative_to(repo)


def test_store_files_are_owner_only(file_store):
    store = file_store
    store.add(FIRST)
    assert store.path.stat().st_mode & 0o777 == 0o600
    for suffix in ("-wal", "-shm"):
        side = Path(str(store.path) + suffix)
        if side.exists():
            assert side.stat().st_mode & 0o777 == 0o600


def test_store_from_a_sqlalchemy_url_and_from_a_text_path(tmp_path):
    target = tmp_path / "by_url.db"
    with sk.Store(f"sqlite:///{target}") as by_url:
        assert by_url.path == target
        assert by_url.add(FIRST).added == 4
    with sk.Store(str(target)) as by_path:
        assert_same_log(by_path.read(), FIRST)
    assert target.stat().st_mode & 0o777 == 0o600


def test_a_folder_is_not_a_store(tmp_path):
    with pytest.raises(StoreError, match="is a folder"):
        sk.Store(tmp_path)


# --------------------------------------------------------------------------- adding (both backends)


def test_add_then_read_gives_the_same_log(store):
    result = store.add(FIRST, source="visits.csv")
    assert isinstance(result, ImportResult)
    assert (result.added, result.corrected, result.unchanged) == (4, 0, 0)
    assert result.import_id == result.batch_id is not None
    assert str(result) == "4 new, 0 corrected (old values kept in history), 0 already there"
    log = store.read()
    assert_same_log(log, FIRST)
    assert log["date"].dtype == "datetime64[ns]"
    batches = store.batches()
    assert list(batches.columns[:6]) == ["batch_id", "entered_by", "entered_at", "source", "patients", "rows"]
    assert batches[["batch_id", "entered_by", "source", "patients", "rows"]].to_dict("records") == [
        {"batch_id": result.batch_id, "entered_by": "physio1", "source": "visits.csv", "patients": "P001, P002", "rows": 4}
    ]


def test_read_filters_by_patient_and_measure(store):
    store.add(FIRST)
    assert store.read("P002")["measure"].tolist() == ["odi"]
    assert store.read(["P001"], measures=["pain"])["value"].tolist() == [7.0, 5.0]
    assert store.read("P999").empty
    assert list(store.read("P999").columns) == list(LOG_COLUMNS)


def test_add_is_all_or_nothing(store):
    store.add(FIRST)
    before = _snapshot(store)
    bad = pd.concat([FIRST.assign(value=FIRST["value"] - 1), tidy([["P003", "2026-01-07", "pain", "", 11.0, ""]])])
    with pytest.raises(LogError) as err:
        store.add(bad)
    assert [(p.row, p.column) for p in err.value.problems] == [(6, "value")]
    _assert_snapshot_equal(_snapshot(store), before)


def test_adding_something_that_is_not_a_table_is_refused(store):
    with pytest.raises(LogError, match="expected a table"):
        store.add([("P1", "2026-01-05", "pain", "", 5.0, "")])
    assert store.read().empty


def test_identical_re_add_changes_nothing(store):
    store.add(FIRST)
    before = _snapshot(store)
    result = store.add(FIRST.sample(frac=1.0, random_state=3))
    assert (result.added, result.corrected, result.unchanged) == (0, 0, 4)
    assert result.batch_id is None
    _assert_snapshot_equal(_snapshot(store), before)


def test_a_correction_keeps_the_old_value_and_says_who_changed_it(store):
    """On PostgreSQL this is the statement that used to fail on the reserved word ``user``."""
    first = store.add(FIRST)
    fixed = tidy([["P001", "2026-01-19", "pain", "", 4.0, "typo fixed"], ["P001", "2026-01-26", "pain", "", 3.0, ""]])
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    result = store.add(fixed, user="physio2", source="visit form")
    assert (result.added, result.corrected, result.unchanged) == (1, 1, 0)
    current = store.read("P001", measures=["pain"])
    assert current["value"].tolist() == [7.0, 4.0, 3.0]
    assert current["note"].tolist() == ["first visit", "typo fixed", ""]
    hist = store.history()
    assert len(hist) == 1
    old = hist.iloc[0]
    assert (old["patient_id"], old["date"], old["measure"], old["old_value"], old["new_value"], old["old_note"],
            old["new_note"]) == ("P001", "2026-01-19", "pain", 5.0, 4.0, "", "typo fixed")
    assert (old["action"], old["changed_by"], old["batch_id"], old["old_batch_id"], old["old_entered_by"]) == (
        "corrected", "physio2", result.batch_id, first.batch_id, "physio1")
    at = dt.datetime.fromisoformat(old["changed_at"])
    assert started <= at <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    assert store.history("P002").empty


def test_read_with_provenance_says_who_entered_each_value(store):
    first = store.add(FIRST, source="visits.csv")
    second = store.add(tidy([["P001", "2026-01-19", "pain", "", 4.0, ""]]), user="physio2")
    log = store.read(provenance=True).set_index(["patient_id", "date", "measure", "side"])
    assert list(log.columns) == ["value", "note", "entered_by", "entered_at", "batch_id"]
    assert log.loc[("P001", pd.Timestamp("2026-01-19"), "pain", ""), "entered_by"] == "physio2"
    assert log.loc[("P001", pd.Timestamp("2026-01-19"), "pain", ""), "batch_id"] == second.batch_id
    assert log.loc[("P002", pd.Timestamp("2026-01-06"), "odi", ""), "entered_by"] == "physio1"
    assert log.loc[("P002", pd.Timestamp("2026-01-06"), "odi", ""), "batch_id"] == first.batch_id
    assert_same_log(store.read(provenance=True), store.read())


# --------------------------------------------------------------------------- undo (both backends)

CLINIC = tidy([[f"C{i:03d}", "2026-02-02", "pain", "", float(i % 11), ""] for i in range(24)]
              + [[f"C{i:03d}", "2026-02-09", "pain", "", float((i + 1) % 11), ""] for i in range(24)])


def test_undo_for_one_patient_never_removes_a_colleagues_import(store):
    """The reported bug: undo for one patient removed a colleague's whole 24-patient import."""
    bulk = store.add(CLINIC, source="clinic.csv", user="colleague")
    mine = store.add(tidy([["C003", "2026-02-16", "pain", "", 2.0, "phone call"]]), source="visit form", user="physio1")
    preview = store.undo_preview(patient_id="C003", user="physio1")
    assert preview[["patient_id", "value", "entered_by", "batch_id"]].to_dict("records") == [
        {"patient_id": "C003", "value": 2.0, "entered_by": "physio1", "batch_id": mine.batch_id}]
    assert store.undo(patient_id="C003", user="physio1") == 1
    assert_same_log(store.read(), CLINIC)
    # nothing of mine left for C003: undo does not reach for the colleague's rows
    assert store.undo(patient_id="C003", user="physio1") == 0
    assert store.undo_preview(patient_id="C003", user="physio1").empty
    assert_same_log(store.read(), CLINIC)
    # the colleague's own undo for one patient removes only that patient's rows of the import
    assert store.undo(patient_id="C005", user="colleague") == 2
    assert set(store.read()["patient_id"]) == {f"C{i:03d}" for i in range(24)} - {"C005"}
    # the whole import goes only when its batch is named
    assert len(store.undo_preview(bulk.batch_id, user="colleague")) == 46
    assert store.undo(bulk.batch_id, user="colleague") == 46
    assert store.read().empty
    batches = store.batches().set_index("batch_id")
    assert batches.loc[bulk.batch_id, "undone_at"] is not None
    undos = batches[batches["kind"] == "undo"]
    assert undos["entered_by"].tolist() == ["physio1", "colleague", "colleague"]
    assert undos["undoes"].tolist() == [mine.batch_id, bulk.batch_id, bulk.batch_id]
    assert undos["rows"].tolist() == [1, 2, 46]


def test_nobody_undoes_another_clinicians_batch(store):
    bulk = store.add(CLINIC, user="colleague")
    before = _snapshot(store)
    with pytest.raises(StoreError, match="entered by colleague"):
        store.undo(bulk.batch_id, user="physio1")
    with pytest.raises(StoreError, match="no entry batch"):
        store.undo(bulk.batch_id + 100, user="colleague")
    assert store.undo(user="physio1") == 0 and store.undo_last("C001", user="physio1") is None
    _assert_snapshot_equal(_snapshot(store), before)


def test_undo_restores_the_values_the_batch_overwrote(store):
    first = store.add(FIRST, user="physio1")
    second = store.add(tidy([["P001", "2026-01-19", "pain", "", 4.0, "fixed"], ["P003", "2026-02-01", "pain", "", 6.0, ""]]),
                       user="physio2")
    assert store.undo_last(user="physio2") == second.batch_id
    assert_same_log(store.read(), FIRST)
    log = store.read(provenance=True)
    assert set(log["batch_id"]) == {first.batch_id}  # the put-back value is again physio1's
    hist = store.history()
    assert hist["action"].tolist() == ["corrected", "undone", "undone"]
    undone = hist[hist["action"] == "undone"].sort_values("patient_id")
    assert undone[["patient_id", "old_value", "changed_by"]].to_dict("records") == [
        {"patient_id": "P001", "old_value": 4.0, "changed_by": "physio2"},
        {"patient_id": "P003", "old_value": 6.0, "changed_by": "physio2"},
    ]
    assert undone["new_value"].iloc[0] == 5.0 and pd.isna(undone["new_value"].iloc[1])  # nothing to put back for P003
    assert store.undo_last(user="physio1") == first.batch_id
    assert store.read().empty
    assert store.undo_last(user="physio1") is None
    assert store.check() == []


def test_undo_keeps_a_later_colleagues_value(store):
    """Batch B overwrote A's value and C overwrote B's: undoing B leaves C's value where it is."""
    store.add(tidy([["P1", "2026-01-05", "pain", "", 7.0, ""]]), user="a")
    b = store.add(tidy([["P1", "2026-01-05", "pain", "", 6.0, ""], ["P1", "2026-01-06", "pain", "", 5.0, ""]]), user="b")
    c = store.add(tidy([["P1", "2026-01-05", "pain", "", 4.0, ""]]), user="c")
    assert store.undo(b.batch_id, user="b") == 1  # only B's row that is still current
    log = store.read(provenance=True)
    assert log[["value", "entered_by", "batch_id"]].to_dict("records") == [{"value": 4.0, "entered_by": "c", "batch_id": c.batch_id}]
    assert store.check() == []


def test_undo_after_an_identical_re_add_undoes_the_batch_that_wrote_the_rows(store):
    first = store.add(FIRST)
    again = store.add(FIRST)
    assert again.batch_id is None
    assert store.batches()["batch_id"].tolist() == [first.batch_id]
    assert store.undo_last() == first.batch_id
    assert store.read().empty
    entry_batches = store.batches().query("kind == 'entry'")
    assert entry_batches["undone_at"].notna().all()  # no batch claims rows that are gone


def test_undo_last_for_one_patient(store):
    store.add(FIRST)
    other = store.add(tidy([["P002", "2026-02-01", "odi", "", 20.0, ""]]))
    store.add(tidy([["P001", "2026-02-01", "pain", "", 3.0, ""]]))
    assert store.undo_last("P002") == other.batch_id
    assert store.read("P002")["value"].tolist() == [14 / 45 * 100]
    assert store.read("P001", measures=["pain"])["value"].tolist() == [7.0, 5.0, 3.0]
    assert store.batches("P002")["batch_id"].tolist()[:2] == [1, other.batch_id]


def test_add_patient_checks_the_id_and_is_idempotent(store):
    store.add_patient("P050")
    store.add_patient(" P050 ")
    assert store.patients()["patient_id"].tolist() == ["P050"]
    with pytest.raises(PatientIdError, match="Enter the patient id"):
        store.add_patient("  ")


def test_the_store_uses_the_kits_one_patient_id_rule(store):
    """Store.add_patient and save_programme follow sciatica_kit.patient_id, not a rule of their own
    (the store used to take 64 characters where the kit's rule allows 32)."""
    longest = "P" * MAX_LENGTH
    store.add_patient(longest)
    programme = sk.build_programme(["sciatica"])
    for bad in ("P" * (MAX_LENGTH + 1), "X" * 64, "P 42", "P/42"):
        assert not check_patient_id(bad).ok
        with pytest.raises(PatientIdError, match=check_patient_id(bad).error[:20]):
            store.add_patient(bad)
        with pytest.raises(PatientIdError):
            store.save_programme(bad, programme)
    assert store.patients()["patient_id"].tolist() == [longest]
    assert store.programmes().empty


def test_the_revision_changes_with_every_write_and_only_then(store, location):
    """Store.revision() is what the clinic overview re-reads on: every kind of write moves it,
    reading does not, and a colleague's write through another connection moves it too."""
    seen = [store.revision()]

    def moved():
        now = store.revision()
        assert now != seen[-1], "a write left the revision as it was"
        seen.append(now)

    store.add_patient("P009")
    moved()
    first = store.add(FIRST)
    moved()
    store.read(), store.patients(), store.history()
    assert store.revision() == seen[-1]
    store.add(tidy([["P001", "2026-01-05", "pain", "", 6.0, "corrected"]]))  # a correction
    moved()
    store.save_programme("P001", sk.build_programme(["sciatica"]))
    moved()
    store.undo(first.batch_id)
    moved()
    with sk.Store(location, user="physio2") as colleague:
        colleague.add(tidy([["P002", "2026-02-01", "pain", "", 3.0, ""]]))
    moved()
    assert len(set(seen)) == len(seen)


# --------------------------------------------------------------------------- programmes


def test_programme_versions_round_trip_and_patients_overview(store):
    store.add(FIRST)
    first = sk.build_programme(["herniated_disc", "piriformis_syndrome"], phase="subacute", patient="Synthetic Person")
    first = first.with_details(created=dt.date(2026, 1, 5))
    later = sk.build_programme(["spinal_stenosis"], phase="chronic", exclude={"walking": "uses a wheelchair"})
    later = later.with_details(created=dt.date(2026, 2, 2))
    assert store.save_programme("P001", first) == 1
    assert store.save_programme("P001", later, user="physio2") == 2
    versions = store.programme_versions("P001")
    assert versions[["version", "saved_by"]].to_dict("records") == [{"version": 1, "saved_by": "physio1"},
                                                                   {"version": 2, "saved_by": "physio2"}]
    assert store.programme_versions("P002").empty

    progs = store.programmes("P001")
    assert progs["version"].tolist() == [1, 2]
    assert progs["created"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-02-02")]
    assert progs["conditions"].tolist() == [["herniated_disc", "piriformis_syndrome"], ["spinal_stenosis"]]
    assert progs["record"].iloc[0]["patient"] is None  # no names in the store

    expected_first = first.to_dict() | {"patient": None}
    assert store.read_programme("P001", version=1).to_dict() == sk.Programme.from_dict(expected_first).to_dict()
    latest = store.latest_programme("P001")
    assert latest.to_dict() == later.to_dict()
    assert store.read_programme("P001").to_dict() == later.to_dict()
    pd.testing.assert_frame_equal(latest.table, later.table)
    assert store.latest_programme("P002") is None
    with pytest.raises(StoreError, match="no programme version 3"):
        store.read_programme("P001", version=3)

    overview = store.patients().set_index("patient_id")
    assert overview.loc["P001", "conditions"] == ["spinal_stenosis"]
    assert overview.loc["P001", "phase"] == "chronic"
    assert overview.loc["P001", "entries"] == 3
    assert overview.loc["P001", "first_visit"] == pd.Timestamp("2026-01-05")
    assert overview.loc["P001", "last_visit"] == pd.Timestamp("2026-01-19")
    assert overview.loc["P002", "conditions"] == []


def test_saving_a_programme_needs_a_patient(store):
    with pytest.raises(ValueError, match="Choose a patient"):
        store.save_programme("  ", sk.build_programme(["sciatica"]))


# --------------------------------------------------------------------------- export, backup, checks


@pytest.mark.parametrize("name", ["export.csv", "export.xlsx", "export_wide.csv", "export_wide.xlsx"])
def test_export_and_re_import_gives_identical_rows(store, tmp_path, name):
    store.add(FIRST)
    path = store.export(tmp_path / name, wide="wide" in name)
    assert path.stat().st_mode & 0o777 == 0o600
    back = read_log(path)
    if "wide" in name:  # notes belong to the visit in the wide form
        expected = store.read().assign(
            note=lambda d: d.groupby(["patient_id", "date"])["note"].transform(lambda s: " | ".join(dict.fromkeys(x for x in s if x)))
        )
    else:
        expected = store.read()
    assert_same_log(back, expected)
    before = _snapshot(store)
    if "wide" not in name:
        result = store.add(back)
        assert (result.added, result.corrected, result.unchanged) == (0, 0, 4)
        _assert_snapshot_equal(_snapshot(store), before)
    with sk.Store(tmp_path / "other.sqlite") as fresh:
        fresh.add(back)
        assert_same_log(fresh.read(), expected)


def test_portable_backup_restores_into_a_file_and_into_a_server(store, tmp_path, pg_server):
    store.add(FIRST)
    store.add(tidy([["P001", "2026-01-19", "pain", "", 4.0, ""]]), user="physio2")
    store.save_programme("P001", sk.build_programme(["sciatica"]).with_details(created=dt.date(2026, 1, 5)))
    store.undo(patient_id="P001", user="physio2")
    saved = _snapshot(store)
    backup = store.backup(tmp_path / "backups" / "kit-backup.sqlite")
    assert backup.stat().st_mode & 0o777 == 0o600
    for target in (tmp_path / "restored.sqlite", pg_server()):
        restored = sk.Store.restore(backup, target)
        try:
            _assert_snapshot_equal(_snapshot(restored), saved)
            assert restored.check() == []
            assert restored.add(tidy([["P009", "2026-03-01", "pain", "", 2.0, ""]])).batch_id > saved[2]["batch_id"].max()
        finally:
            restored.close()


def test_check_finds_orphans_and_inconsistent_history(store):
    import sqlalchemy as sa

    from sciatica_kit.store import entries, history

    store.add(FIRST)
    assert store.check() == [] and store.integrity_check() == "ok"
    with store.engine.begin() as conn:
        conn.execute(entries.insert().values(patient_id="GHOST", date="2026-01-01", measure="pain", side="", value=1.0,
                                             note="", batch_id=999))
        conn.execute(history.insert().values(patient_id="P001", date="2026-01-05", measure="pain", side="", old_value=1.0,
                                             old_note="", old_batch_id=1, action="undone", batch_id=1,
                                             changed_by="x", changed_at="2026-01-01"))
        assert conn.execute(sa.select(sa.func.count()).select_from(entries)).scalar() == 5
    problems = store.check()
    assert any("unknown patient" in p for p in problems)
    assert any("unknown batch" in p for p in problems)
    assert any("not recorded by an undo" in p for p in problems)
    assert store.integrity_check() != "ok"
    counts = store.counts()
    assert counts["entries"] == 5 and counts["patients"] == 2


# --------------------------------------------------------------------------- damaged or foreign files


def _foreign_db(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
    con.execute("INSERT INTO invoices VALUES (1, 99.5)")
    con.commit()
    con.close()


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("garbage", "not an SQLite database"),
        ("empty", "empty \\(0 bytes\\)"),
        ("foreign", "belongs to another program"),
        ("truncated", "damaged"),
    ],
)
def test_a_bad_store_file_is_reported_and_left_untouched(tmp_path, kind, match):
    path = tmp_path / "bad.sqlite"
    if kind == "garbage":
        path.write_bytes(bytes(range(256)) * 40)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "foreign":
        _foreign_db(path)
    else:
        with sk.Store(tmp_path / "good.sqlite") as good:
            good.add(FIRST)
            good.backup(tmp_path / "copy.sqlite")
        path.write_bytes((tmp_path / "copy.sqlite").read_bytes()[:5000])
    before = path.read_bytes()
    listing = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StoreError, match=match):
        sk.Store(path)
    assert path.read_bytes() == before
    # SQLite may open empty -wal/-shm companions while checking a WAL-mode file; nothing else appears
    after = sorted(p.name for p in tmp_path.iterdir())
    extra = set(after) - set(listing)
    assert extra <= {"bad.sqlite-wal", "bad.sqlite-shm"}
    assert all((tmp_path / name).stat().st_size == 0 for name in extra if name.endswith("-wal"))


# --------------------------------------------------------------------------- backup


def test_backup_and_restore_round_trip(file_store, tmp_path):
    store = file_store
    store.add(FIRST)
    store.add(tidy([["P001", "2026-01-19", "pain", "", 4.0, ""]]))
    store.save_programme(
        "P001", sk.build_programme(["sciatica"]).with_details(created=dt.date(2026, 1, 5))
    )
    saved = _snapshot(store)
    backup = store.backup(tmp_path / "backups" / "kit-backup.sqlite")
    assert backup.stat().st_mode & 0o777 == 0o600
    with pytest.raises(StoreError, match="different file"):
        store.backup(store.path)

    store.add(tidy([["P009", "2026-03-01", "pain", "", 2.0, ""]]))
    restored = sk.Store.restore(backup, store.path)
    try:
        _assert_snapshot_equal(_snapshot(restored), saved)
        assert restored.integrity_check() == "ok"
        kept = [
            p
            for p in tmp_path.iterdir()
            if p.name.startswith("kit.sqlite.before-restore-")
            and not p.name.endswith(("-wal", "-shm"))
        ]
        assert len(kept) == 1
        assert restored.path.stat().st_mode & 0o777 == 0o600
        with sk.Store(kept[0]) as before_restore:  # the replaced store is kept, with its last entry
            assert "P009" in set(before_restore.read()["patient_id"])
    finally:
        restored.close()


def test_restore_refuses_a_bad_backup(tmp_path):
    bad = tmp_path / "bad-backup.sqlite"
    _foreign_db(bad)
    with pytest.raises(StoreError, match="another program"):
        sk.Store.restore(bad, tmp_path / "target.sqlite")
    assert not (tmp_path / "target.sqlite").exists()
    with pytest.raises(StoreError, match="does not exist"):
        sk.Store.restore(tmp_path / "missing.sqlite", tmp_path / "target.sqlite")


def test_integrity_check(file_store):
    store = file_store
    assert store.integrity_check() == "ok"
    store.add(FIRST)
    assert store.integrity_check() == "ok"


# --------------------------------------------------------------------------- the clinic server (PostgreSQL only)


def _admin(url: str):
    """A superuser psycopg connection to the database of ``url`` (autocommit)."""
    import psycopg
    import sqlalchemy as sa

    u = sa.engine.make_url(url)
    return psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database, autocommit=True)


def _with_login(url: str, user: str, password: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).set(username=user, password=password).render_as_string(hide_password=False)


def test_the_kit_keeps_to_its_own_schema_and_leaves_other_tables_alone(pg_server):
    url = pg_server()
    with _admin(url) as con:
        con.execute("CREATE TABLE public.invoices (id int primary key, amount numeric)")
        con.execute("INSERT INTO public.invoices VALUES (1, 99.5)")
    with sk.Store(url, user="physio1") as s:
        s.add(FIRST)
    with _admin(url) as con:
        public = {r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        kit = {r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'sciatica_kit'")}
        assert public == {"invoices"}
        assert con.execute("SELECT amount FROM public.invoices").fetchone()[0] == 99.5
    assert {"entries", "history", "batches", "patients", "programmes", "meta", "alembic_version"} <= kit


def test_a_schema_holding_another_programs_tables_is_refused(pg_server):
    url = pg_server()
    with _admin(url) as con:
        con.execute("CREATE SCHEMA sciatica_kit")
        con.execute("CREATE TABLE sciatica_kit.orders (id int)")
    with pytest.raises(StoreError, match="another program"):
        sk.Store(url)
    with _admin(url) as con:
        tables = {r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'sciatica_kit'")}
    assert tables == {"orders"}


def test_a_login_without_rights_is_refused_before_anything_is_created_and_the_readme_grants_suffice(pg_server):
    url = pg_server()
    with _admin(url) as con:
        con.execute("CREATE ROLE clinicians NOLOGIN")
        con.execute("CREATE ROLE a_khan LOGIN PASSWORD 'pw-a-khan' IN ROLE clinicians")
    clinician = _with_login(url, "a_khan", "pw-a-khan")
    with pytest.raises(StoreError, match="may not create the kit's schema") as info:
        sk.Store(clinician)
    assert "pw-a-khan" not in str(info.value)
    with _admin(url) as con:
        assert con.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'sciatica_kit'").fetchone()[0] == 0
    sk.Store(url, user="it").close()  # IT creates the store once, as the database owner ...
    with pytest.raises(StoreError, match="may not use the kit's schema"):
        sk.Store(clinician)
    with _admin(url) as con:  # ... and grants exactly what the README says
        con.execute("GRANT USAGE ON SCHEMA sciatica_kit TO clinicians")
        con.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA sciatica_kit TO clinicians")
        con.execute("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA sciatica_kit TO clinicians")
    with sk.Store(clinician) as s:
        assert s.user  # the login name of the OS/hub, not the database role
        first = s.add(FIRST, user="a.khan")
        s.add(tidy([["P001", "2026-01-19", "pain", "", 4.0, ""]]), user="a.khan")
        s.save_programme("P001", sk.build_programme(["sciatica"]), user="a.khan")
        s.add_patient("P077")
        assert s.undo(patient_id="P001", user="a.khan") == 1
        assert s.undo(first.batch_id, user="a.khan") == 4
        assert s.check() == []


def test_a_wrong_password_or_a_stopped_server_is_said_plainly_and_never_shows_the_password(pg_server, monkeypatch):
    import socket

    import sciatica_kit.store as store_module

    url = pg_server()
    wrong = _with_login(url, "admin", "Sup3r-Secret-Pw")
    with pytest.raises(StoreError, match="refused the login") as info:
        sk.Store(wrong)
    assert "Sup3r-Secret-Pw" not in str(info.value) and "SELECT" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    down = f"postgresql+psycopg://admin:Sup3r-Secret-Pw@127.0.0.1:{free}/kit"
    with pytest.raises(StoreError, match="cannot be reached; check the address and that it is running") as info:
        sk.Store(down)
    assert "Sup3r-Secret-Pw" not in str(info.value)
    # a server that accepts the connection but never answers
    monkeypatch.setattr(store_module, "CONNECT_TIMEOUT_S", 2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = f"postgresql+psycopg://admin:Sup3r-Secret-Pw@127.0.0.1:{silent.getsockname()[1]}/kit"
        with pytest.raises(StoreError, match="did not answer within 2 s; check the address and that it is running") as info:
            sk.Store(mute)
    assert "Sup3r-Secret-Pw" not in str(info.value)


def test_repr_and_location_hide_the_password(pg_server):
    url = pg_server()
    import sqlalchemy as sa

    password = sa.engine.make_url(url).password
    with sk.Store(url, user="physio1") as s:
        assert password not in repr(s) and password not in s.location and "***" in repr(s)
        assert password not in str(s.url) and password not in s.where


@pytest.mark.parametrize("which", ["lock", "statement"])
def test_a_save_that_waits_too_long_stops_with_a_plain_message_and_changes_nothing(pg_server, monkeypatch, which):
    import sciatica_kit.store as store_module

    url = pg_server()
    with sk.Store(url, user="physio1") as s:
        s.add(FIRST)
    if which == "lock":
        monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 1)
    else:
        monkeypatch.setattr(store_module, "STATEMENT_TIMEOUT_S", 1)
    expected = "for more than 1 s" if which == "lock" else "did not finish within 1 s"
    s = sk.Store(url, user="physio2")
    try:
        with _admin(url) as con, con.transaction():  # a colleague's long save holds patient P001
            con.execute("SELECT * FROM sciatica_kit.patients WHERE patient_id = 'P001' FOR UPDATE")
            with pytest.raises(StoreError, match=expected) as info:
                s.add(tidy([["P001", "2026-01-19", "pain", "", 1.0, "secret note"]]))
            assert "secret note" not in str(info.value) and "P001" not in str(info.value)
        assert_same_log(s.read(), FIRST)
        assert s.add(tidy([["P001", "2026-01-19", "pain", "", 1.0, ""]])).corrected == 1  # works once the lock is gone
    finally:
        s.close()


# --------------------------------------------------------------------------- where the store is, who is writing


def test_a_url_in_the_environment_stays_a_url(pg_server, monkeypatch, tmp_path):
    url = pg_server()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(STORE_ENV, url)
    from sciatica_kit.store import default_location

    assert default_location() == url
    with pytest.raises(StoreError, match="clinic server, not a file"):
        default_store_path()
    with sk.Store() as s:
        assert s.path is None and not s.is_sqlite
        s.add(FIRST)
    assert list(tmp_path.iterdir()) == [], "a URL must never become a local file or folder"


def test_location_and_user_come_from_the_settings_file(tmp_path, monkeypatch):
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[store]\nlocation = "{tmp_path / "from-settings.sqlite"}"\nuser = "a.khan"\n')
    monkeypatch.setenv("SCIATICA_KIT_SETTINGS", str(settings))
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    monkeypatch.delenv(STORE_ENV)
    with sk.Store() as s:
        assert s.path == tmp_path / "from-settings.sqlite" and s.user == "a.khan"
    settings.write_text("[store]\n")
    import getpass

    with sk.Store(tmp_path / "x.sqlite") as s:
        assert s.user == getpass.getuser()


def test_the_hub_login_is_recorded_even_when_the_settings_file_names_someone(tmp_path, monkeypatch):
    """Explicit user > hub login ($JUPYTERHUB_USER) > settings file's [store] user > OS login."""
    settings = tmp_path / "settings.toml"
    settings.write_text('[store]\nuser = "shared.laptop"\n')  # e.g. a settings file every server shares
    monkeypatch.setenv("SCIATICA_KIT_SETTINGS", str(settings))
    monkeypatch.setenv("JUPYTERHUB_USER", "b.lee")
    with sk.Store(tmp_path / "x.sqlite") as s:
        assert s.user == "b.lee"
        s.add(FIRST)
        assert set(s.read(provenance=True)["entered_by"]) == {"b.lee"}
    with sk.Store(tmp_path / "x.sqlite", user="explicit") as s:
        assert s.user == "explicit"
    monkeypatch.setenv("JUPYTERHUB_USER", "")  # set but empty: not a login
    with sk.Store(tmp_path / "x.sqlite") as s:
        assert s.user == "shared.laptop"


def test_an_unsupported_or_malformed_address_is_refused(tmp_path):
    with pytest.raises(StoreError, match="not 'mysql'"):
        sk.Store("mysql://kit:pw@server/kit")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- migrations


def test_a_store_from_the_first_release_is_backed_up_and_upgraded_in_place(location, backend, tmp_path, monkeypatch):
    """A store written by the first release (its own code, frozen in tests/store_release1.py) opens in
    this release, is backed up, then upgraded with Alembic: every value, correction, import and
    programme is still there, under the new names."""
    import sqlalchemy as sa

    import store_release1 as release1

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    old = release1.Store(location, user="physio1")
    first = old.add(FIRST, source="visits.csv")
    if backend == "sqlite":  # the first release could not correct a value on PostgreSQL (the 'user' bug)
        second = old.add(tidy([["P001", "2026-01-19", "pain", "", 4.0, "fixed"]]), user="physio2", source="visit form")
    else:
        second = old.add(tidy([["P003", "2026-01-20", "pain", "", 4.0, ""]]), user="physio2", source="visit form")
    undone = old.add(tidy([["P002", "2026-02-01", "odi", "", 20.0, ""]]), user="physio3")
    assert old.undo_last("P002", user="physio3") == undone.import_id
    old.save_programme("P001", sk.build_programme(["sciatica"]).with_details(created=dt.date(2026, 1, 5)))
    old.save_programme("P001", sk.build_programme(["spinal_stenosis"]).with_details(created=dt.date(2026, 2, 5)), user="physio2")
    from sciatica_kit.log import conform_log

    expected = conform_log(old.read())  # the first release returned object-dtype text
    old_history = old.history()
    old.close()

    new = sk.Store(location, user="physio1")
    try:
        assert_same_log(new.read(), expected)
        with new.engine.connect() as conn:
            from sciatica_kit.migrations import HEAD, current_revision

            assert current_revision(conn) == HEAD
        assert new.check() == []
        batches = new.batches().set_index("batch_id")
        assert batches.loc[first.import_id, ["entered_by", "source", "patients", "rows"]].tolist() == ["physio1", "visits.csv", "P001, P002", 4]
        assert batches.loc[second.import_id, "entered_by"] == "physio2"
        assert batches.loc[undone.import_id, "undone_at"] is not None
        prov = new.read(provenance=True)
        assert set(prov["entered_by"]) == {"physio1", "physio2"}
        hist = new.history()
        assert len(hist) == len(old_history)
        assert hist["old_value"].tolist() == old_history["value"].tolist()
        assert hist["changed_by"].tolist() == old_history["user"].tolist()
        if backend == "sqlite":
            corrected = hist[hist["action"] == "corrected"].iloc[0]
            assert (corrected["old_value"], corrected["new_value"], corrected["changed_by"]) == (5.0, 4.0, "physio2")
        assert new.programme_versions("P001")["version"].tolist() == [1, 2]
        assert list(new.read_programme("P001", version=1).conditions) == ["sciatica"]
        # and the upgraded store works as a new one: new batches, undo of an old batch, a third version
        later = new.add(tidy([["P009", "2026-03-01", "pain", "", 2.0, ""]]))
        assert later.batch_id > max(first.import_id, second.import_id, undone.import_id)
        assert new.undo(first.import_id, patient_id="P002") == 1
        assert new.save_programme("P001", sk.build_programme(["sciatica"])) == 3
        assert new.check() == []
    finally:
        new.close()
    # the backup taken before the upgrade holds the first release's store as it was
    if backend == "sqlite":
        kept = list(location.parent.glob("kit.sqlite.before-upgrade-*"))
    else:
        kept = list((tmp_path / "data" / "sciatica-kit" / "backups").glob("*-before-upgrade-*.sqlite"))
        with _admin(location) as con:  # the first release's tables in public are left as they were
            assert con.execute("SELECT count(*) FROM public.entries").fetchone()[0] == len(expected)
    assert len(kept) == 1 and kept[0].stat().st_mode & 0o777 == 0o600
    engine = sa.create_engine(sa.engine.URL.create("sqlite", database=str(kept[0])))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'schema'").scalar() == "1"
        assert conn.exec_driver_sql("SELECT count(*) FROM entries").scalar() == len(expected)
    engine.dispose()


def _history_indexes(store: sk.Store) -> set[str]:
    import sqlalchemy as sa

    from sciatica_kit.store import PG_SCHEMA

    with store.engine.connect() as conn:
        return {i["name"] for i in sa.inspect(conn).get_indexes("history", schema=None if store.is_sqlite else PG_SCHEMA)}


def test_a_store_of_schema_2_is_backed_up_and_upgraded_to_the_partial_history_index(location, backend, tmp_path, monkeypatch):
    """Schema 3 only swaps history's batch index for a partial one (corrected values only), so an
    undo's rows cost no index upkeep.  A schema-2 store (the previous release's indexes and
    revision) opens, is backed up, upgraded in place, and its corrections are still undone right."""

    from sciatica_kit.migrations import HEAD, current_revision, stamp

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    s = sk.Store(location, user="physio1")
    first = s.add(FIRST)
    fix = s.add(tidy([["P001", "2026-01-19", "pain", "", 4.0, "fixed"], ["P003", "2026-02-01", "pain", "", 6.0, ""]]),
                user="physio2")
    assert _history_indexes(s) >= {"history_corrected"}
    with s.engine.begin() as conn:  # back to schema 2, as the previous release left it
        conn.exec_driver_sql("DROP INDEX history_corrected")
        if backend == "sqlite":
            conn.exec_driver_sql("CREATE INDEX history_batch ON history (batch_id, patient_id, date, measure, side)")
        else:
            conn.exec_driver_sql("CREATE INDEX history_batch_pg ON history (batch_id)")
        conn.exec_driver_sql("UPDATE meta SET value = '2' WHERE key = 'schema'")
        stamp(conn, "0002")
    before = _snapshot(s)
    s.close()

    new = sk.Store(location, user="physio1")
    try:
        with new.engine.connect() as conn:
            assert current_revision(conn) == HEAD
            assert conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'schema'").scalar() == "3"
        indexes = _history_indexes(new)
        assert "history_corrected" in indexes and not indexes & {"history_batch", "history_batch_pg"}
        _assert_snapshot_equal(_snapshot(new), before)
        assert new.check() == []
        assert new.undo(fix.batch_id, user="physio2") == 2  # finds what it overwrote through the new index
        assert_same_log(new.read(), FIRST)
        assert new.history()["action"].tolist() == ["corrected", "undone", "undone"]
        assert new.undo(first.batch_id) == 4 and new.read().empty
        assert new.check() == []
    finally:
        new.close()
    if backend == "sqlite":
        kept = list(location.parent.glob("kit.sqlite.before-upgrade-*"))
    else:
        kept = list((tmp_path / "data" / "sciatica-kit" / "backups").glob("*-before-upgrade-*.sqlite"))
    assert len(kept) == 1 and kept[0].stat().st_mode & 0o777 == 0o600
    backup = sk.Store(kept[0], create=False)
    try:
        _assert_snapshot_equal(_snapshot(backup)[:3], before[:3])
    finally:
        backup.close()
