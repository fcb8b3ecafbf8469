"""The patient store: location, privacy, all-or-nothing imports, history, undo, safety."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import sciatica_kit as sk
from sciatica_kit.log import LOG_COLUMNS, LogError, read_log
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
def store(tmp_path) -> sk.Store:
    s = sk.Store(tmp_path / "kit.sqlite", user="physio1")
    yield s
    s.close()


def _snapshot(s: sk.Store) -> tuple:
    return s.read(), s.history(), s.imports(), s.patients()


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


def test_store_files_are_owner_only(store):
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


# --------------------------------------------------------------------------- adding


def test_add_then_read_gives_the_same_log(store):
    result = store.add(FIRST, source="visits.csv")
    assert isinstance(result, ImportResult)
    assert (result.added, result.corrected, result.unchanged) == (4, 0, 0)
    assert str(result) == "4 new, 0 corrected (old values kept in history), 0 already there"
    log = store.read()
    assert_same_log(log, FIRST)
    assert log["date"].dtype == "datetime64[ns]"
    imports = store.imports()
    assert imports[["user", "source", "rows"]].to_dict("records") == [
        {"user": "physio1", "source": "visits.csv", "rows": 4}
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
    bad = pd.concat(
        [
            FIRST.assign(value=FIRST["value"] - 1),
            tidy([["P003", "2026-01-07", "pain", "", 11.0, ""]]),
        ]
    )
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
    assert result.import_id is None
    _assert_snapshot_equal(_snapshot(store), before)


def test_a_correction_keeps_the_old_value_in_history(store):
    store.add(FIRST)
    fixed = tidy(
        [
            ["P001", "2026-01-19", "pain", "", 4.0, "typo fixed"],
            ["P001", "2026-01-26", "pain", "", 3.0, ""],
        ]
    )
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    result = store.add(fixed, user="physio2")
    assert (result.added, result.corrected, result.unchanged) == (1, 1, 0)
    current = store.read("P001", measures=["pain"])
    assert current["value"].tolist() == [7.0, 4.0, 3.0]
    assert current["note"].tolist() == ["first visit", "typo fixed", ""]
    hist = store.history()
    assert len(hist) == 1
    old = hist.iloc[0]
    assert (old["patient_id"], old["date"], old["measure"], old["value"], old["note"]) == (
        "P001",
        "2026-01-19",
        "pain",
        5.0,
        "",
    )
    assert (old["action"], old["user"], old["replaced_by"]) == (
        "corrected",
        "physio2",
        result.import_id,
    )
    at = dt.datetime.fromisoformat(old["at"])
    assert started <= at <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    assert store.history("P002").empty


def test_undo_last_restores_corrections_and_removes_additions(store):
    first = store.add(FIRST)
    second = store.add(
        tidy(
            [
                ["P001", "2026-01-19", "pain", "", 4.0, ""],
                ["P003", "2026-02-01", "pain", "", 6.0, ""],
            ]
        ),
        user="physio2",
    )
    assert store.undo_last(user="physio3") == second.import_id
    assert_same_log(store.read(), FIRST)
    hist = store.history()
    assert hist["action"].tolist() == ["corrected", "undone", "undone"]
    undone = hist[hist["action"] == "undone"].sort_values("patient_id")
    assert undone[["patient_id", "value", "user"]].to_dict("records") == [
        {"patient_id": "P001", "value": 4.0, "user": "physio3"},
        {"patient_id": "P003", "value": 6.0, "user": "physio3"},
    ]
    imports = store.imports().set_index("import_id")
    assert pd.isna(imports.loc[first.import_id, "undone_at"])
    assert not pd.isna(imports.loc[second.import_id, "undone_at"])
    # and the first import can be undone in turn, leaving nothing current
    assert store.undo_last() == first.import_id
    assert store.read().empty
    assert store.undo_last() is None


def test_undo_after_an_identical_re_add_undoes_the_import_that_wrote_the_rows(store):
    first = store.add(FIRST)
    again = store.add(FIRST)
    assert again.import_id is None
    assert store.imports()["import_id"].tolist() == [first.import_id]
    assert store.undo_last() == first.import_id
    assert store.read().empty
    imports = store.imports()
    assert imports["undone_at"].notna().all()  # no import claims rows that are gone


def test_undo_last_for_one_patient(store):
    store.add(FIRST)
    other = store.add(tidy([["P002", "2026-02-01", "odi", "", 20.0, ""]]))
    store.add(tidy([["P001", "2026-02-01", "pain", "", 3.0, ""]]))
    assert store.undo_last("P002") == other.import_id
    assert store.read("P002")["value"].tolist() == [14 / 45 * 100]
    assert store.read("P001", measures=["pain"])["value"].tolist() == [7.0, 5.0, 3.0]


def test_add_patient_checks_the_id(store):
    store.add_patient("P050")
    store.add_patient("P050")
    assert store.patients()["patient_id"].tolist() == ["P050"]
    with pytest.raises(ValueError, match="1 to 64 characters"):
        store.add_patient("  ")
    with pytest.raises(ValueError, match="1 to 64 characters"):
        store.add_patient("X" * 65)


# --------------------------------------------------------------------------- programmes


def test_programme_round_trip_and_patients_overview(store):
    store.add(FIRST)
    first = sk.build_programme(
        ["herniated_disc", "piriformis_syndrome"], phase="subacute", patient="Synthetic Person"
    )
    first = first.with_details(created=dt.date(2026, 1, 5))
    later = sk.build_programme(
        ["spinal_stenosis"], phase="chronic", exclude={"walking": "uses a wheelchair"}
    )
    later = later.with_details(created=dt.date(2026, 2, 2))
    id1 = store.save_programme("P001", first)
    id2 = store.save_programme("P001", later, user="physio2")
    assert id2 > id1

    progs = store.programmes("P001")
    assert progs["id"].tolist() == [id1, id2]
    assert progs["created"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-02-02")]
    assert progs["conditions"].tolist() == [
        ["herniated_disc", "piriformis_syndrome"],
        ["spinal_stenosis"],
    ]
    assert progs["exercise_ids"].iloc[0] == first.table["exercise_id"].tolist()
    assert progs["record"].iloc[0]["patient"] is None  # no names in the store

    latest = store.latest_programme("P001")
    assert latest.to_dict() == later.to_dict()
    assert "walking" in set(latest.excluded["exercise_id"])
    pd.testing.assert_frame_equal(latest.table, later.table)
    assert store.latest_programme("P002") is None

    overview = store.patients().set_index("patient_id")
    assert overview.loc["P001", "conditions"] == ["spinal_stenosis"]
    assert overview.loc["P001", "phase"] == "chronic"
    assert overview.loc["P001", "entries"] == 3
    assert overview.loc["P001", "first_visit"] == pd.Timestamp("2026-01-05")
    assert overview.loc["P001", "last_visit"] == pd.Timestamp("2026-01-19")
    assert overview.loc["P002", "conditions"] == []
    assert overview.loc["P002", "phase"] == ""


def test_saving_a_programme_needs_a_patient(store):
    with pytest.raises(ValueError, match="Choose a patient"):
        store.save_programme("  ", sk.build_programme(["sciatica"]))


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize(
    "name", ["export.csv", "export.xlsx", "export_wide.csv", "export_wide.xlsx"]
)
def test_export_and_re_import_gives_identical_rows(store, tmp_path, name):
    store.add(FIRST)
    path = store.export(tmp_path / name, wide="wide" in name)
    assert path.stat().st_mode & 0o777 == 0o600
    back = read_log(path)
    if "wide" in name:  # notes belong to the visit in the wide form
        expected = store.read().assign(
            note=lambda d: d.groupby(["patient_id", "date"])["note"].transform(
                lambda s: " | ".join(dict.fromkeys(x for x in s if x))
            )
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


def test_backup_and_restore_round_trip(store, tmp_path):
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


def test_integrity_check(store):
    assert store.integrity_check() == "ok"
    store.add(FIRST)
    assert store.integrity_check() == "ok"
