"""The catalogue loads, carries the contract ids, and rejects malformed files with file/entry/field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import sciatica_kit as sk
from sciatica_kit.catalog import CATEGORIES, DOSE_FIELDS, catalog_dir, unknown_id_error

SEED_EXERCISES = {
    "seated_sciatic_nerve_glide",
    "side_lying_femoral_nerve_glide",
    "supine_sciatic_nerve_glide",
    "prone_press_up_on_forearms",
    "floor_bridge",
    "knee_to_chest_stretch",
    "sciatic_mobilising_stretch",
    "supine_hamstring_stretch_strap",
    "supine_glute_stretch",
    "walking",
}
CONDITIONS = {
    "sciatica", "herniated_disc", "spinal_stenosis", "degenerative_disc", "spondylolisthesis",
    "piriformis_syndrome", "axial_back_pain", "referred_back_pain", "femoral_nerve_pain",
}
RED_FLAGS = {"cauda_equina", "progressive_neuro_deficit", "cancer_suspected", "infection_suspected", "fracture_suspected", "inflammatory_suspected"}
FINDINGS = {"severe_nerve_damage", "extension_preference", "flexion_preference"}


def test_contract_ids_are_all_there(catalog):
    assert set(catalog.exercises.index) >= SEED_EXERCISES
    assert set(catalog.conditions.index) == CONDITIONS
    assert set(catalog.red_flags.index) == RED_FLAGS
    assert set(catalog.findings.index) == FINDINGS
    assert isinstance(catalog.exercises, pd.DataFrame)


def test_catalogue_covers_what_the_seeds_call_for(catalog):
    ex = catalog.exercises
    assert (ex["category"] == "strengthening").sum() >= 3  # core work: bracing, bird dog, dead bug...
    assert {"abdominal_bracing", "bird_dog", "dead_bug"} <= set(ex.index)
    assert (ex["category"] == "nerve glide slider").sum() >= 2
    assert {"stationary_cycling", "water_exercise"} <= set(ex.index)
    assert "mckenzie_repeated_extension" in ex.index
    assert (ex["direction"] == "flexion").sum() >= 2  # flexion-bias work for stenosis
    assert set(ex["category"]) <= set(CATEGORIES)


def test_seed_doses_carried_over_exactly(catalog):
    ex = catalog.exercises
    assert ex.loc["seated_sciatic_nerve_glide", ["reps_low", "reps_high", "times_per_day_high"]].tolist() == [15, 15, 5]
    assert ex.loc["supine_sciatic_nerve_glide", ["reps_low", "times_per_day_low", "times_per_day_high"]].tolist() == [20, 2, 3]
    assert ex.loc["prone_press_up_on_forearms", ["hold_s_low", "hold_s_high", "reps_low", "reps_high"]].tolist() == [5, 10, 8, 10]
    assert ex.loc["knee_to_chest_stretch", ["hold_s_low", "hold_s_high", "reps_low"]].tolist() == [20, 30, 3]
    assert ex.loc["supine_hamstring_stretch_strap", ["hold_s_low", "hold_s_high", "reps_low"]].tolist() == [15, 20, 2]
    assert ex.loc["supine_glute_stretch", ["hold_s_low", "reps_low", "times_per_day_low"]].tolist() == [15, 2, 2]
    assert ex.loc["walking", "distance_km_high"] == pytest.approx(4.8)
    # no source gives a dose for the femoral glide or the floor bridge's repetitions: never invented
    assert ex.loc["side_lying_femoral_nerve_glide", [f"{d}_high" for d in DOSE_FIELDS]].isna().all()
    assert pd.isna(ex.loc["floor_bridge", "reps_high"])
    assert ex.loc["floor_bridge", "hold_s_high"] == 5


def test_every_entry_names_its_sources(catalog):
    for table in (catalog.exercises, catalog.conditions, catalog.red_flags, catalog.findings, catalog.measures):
        assert table["sources"].map(len).gt(0).all()
    assert catalog.exercises["dose_source"].str.len().gt(0).all()
    for ident, rec in catalog.records["conditions"].items():
        for item in rec["indicates"] + rec["excludes"]:
            assert item["source"], ident


def test_red_flags_say_whom_and_how_urgently(catalog):
    rf = catalog.red_flags
    assert set(rf["urgency"]) <= {"emergency", "urgent", "soon"}
    assert rf.loc["cauda_equina", "urgency"] == "emergency"
    assert rf.loc["inflammatory_suspected", "refer_to"] == "rheumatology"
    assert rf["signs"].map(len).min() >= 2


def test_unknown_id_error_lists_valid_ids_and_closest_match():
    err = unknown_id_error("condition", "sciatca", sorted(CONDITIONS))
    assert "Did you mean 'sciatica'" in str(err)
    assert "herniated_disc" in str(err)
    assert isinstance(err, ValueError)


# --------------------------------------------------------------------------- malformed catalogues


@pytest.fixture
def catalog_copy(tmp_path) -> Path:
    dest = tmp_path / "catalog"
    shutil.copytree(catalog_dir(), dest)
    return dest


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("exercises.toml", "reps = [8, 10]", "reps = [10, 8]", ["exercises.toml", "prone_press_up_on_forearms", "'reps'", "upside down"]),
        ("exercises.toml", 'regress_to = ["seated_sciatic_nerve_slider"]', 'regress_to = ["seated_sciatic_nerve_sliderr"]',
         ["seated_sciatic_nerve_glide", "'regress_to'", "unknown exercise 'seated_sciatic_nerve_sliderr'", "did you mean"]),
        ("exercises.toml", 'sources = ["000_bb08a86669e13679.txt"]\n', "sources = []\n", ["'sources'", "missing source"]),
        ("exercises.toml", 'category = "aerobic"', 'category = "cardio"', ["'category'", "unknown category 'cardio'"]),
        ("exercises.toml", 'hold_s = [5, 5]', 'hold_s = "five"', ["floor_bridge", "'hold_s'", "not a dose"]),
        ("exercises.toml", 'reps = [15, 15]', 'rep = [15, 15]', ["seated_sciatic_nerve_glide", "'rep'", "unknown field", "'reps'"]),
        ("exercises.toml", 'id = "bird_dog"', 'id = "dead_bug"', ["'dead_bug' is already used"]),
        ("exercises.toml", 'stop_if = ["Pain shoots down the leg."]', "stop_if = []", ["supine_glute_stretch", "'stop_if'"]),
        ("conditions.toml", '{ exercise = "floor_bridge", why = "Recommended by NASM', '{ exercise = "floor_bridgee", why = "Recommended by NASM',
         ["conditions.toml", "piriformis_syndrome", "'indicates'", "unknown exercise 'floor_bridgee'"]),
        ("conditions.toml", 'unless_findings = ["extension_preference"], caution_if_lifted', 'unless_findings = ["extension_pref"], caution_if_lifted',
         ["spinal_stenosis", "unknown finding 'extension_pref'"]),
        ("red_flags.toml", 'urgency = "soon"', 'urgency = "whenever"', ["red_flags.toml", "inflammatory_suspected", "'urgency'"]),
        ("findings.toml", '{ category = "nerve glide slider"', '{ category = "nerve glides"', ["severe_nerve_damage", "unknown category 'nerve glides'"]),
        ("measures.toml", "min = 0\nmax = 10\n", "min = 10\nmax = 0\n", ["measures.toml", "'pain'", "min must be below max"]),
        ("phases.toml", 'dose = "high"', 'dose = "max"', ["phases.toml", "chronic", "'dose'"]),
        ("aliases.csv", "slr l,slr,left", "slr l,straight_leg,left", ["aliases.csv row", "straight_leg"]),
        ("exercises.toml", '[[exercise]]\nid = "walking"', '[[exercise]\nid = "walking"', ["exercises.toml", "not valid TOML"]),
    ],
)
def test_malformed_catalogue_is_rejected_naming_file_entry_field(catalog_copy, file, old, new, expected):
    _edit(catalog_copy / file, old, new)
    with pytest.raises(sk.CatalogError) as err:
        sk.load_catalog(path=catalog_copy)
    message = str(err.value)
    for piece in expected:
        assert piece.lower() in message.lower(), message


def test_every_problem_is_reported_not_just_the_first(catalog_copy):
    _edit(catalog_copy / "exercises.toml", "reps = [8, 10]", "reps = [10, 8]")
    _edit(catalog_copy / "red_flags.toml", 'urgency = "soon"', 'urgency = "later"')
    with pytest.raises(sk.CatalogError) as err:
        sk.load_catalog(path=catalog_copy)
    assert len(err.value.problems) == 2


def test_missing_catalogue_file_is_named(catalog_copy):
    (catalog_copy / "findings.toml").unlink()
    with pytest.raises(sk.CatalogError, match="findings.toml: file is missing"):
        sk.load_catalog(path=catalog_copy)


# --------------------------------------------------------------------------- clinic extensions

CLINIC_FILE = """
[[exercise]]
id = "clam_shell"
name = "Clam shell"
category = "strengthening"
targets = ["gluteal muscles"]
position = "lying on the side"
equipment = ["mat"]
steps = ["Lie on your side with knees bent.", "Lift the top knee, keeping the feet together."]
sets = [2, 3]
reps = [10, 12]
hold_s = "not specified"
times_per_day = "not specified"
days_per_week = "not specified"
minutes = "not specified"
distance_km = "not specified"
dose_source = "Clinic protocol 2026"
each_side = true
phases = ["subacute", "chronic"]
progress_to = []
regress_to = ["floor_bridge"]
cautions = []
stop_if = ["Pain in the hip or back."]
sources = ["Clinic protocol 2026"]
"""


def test_clinic_exercises_load_from_a_user_file_without_touching_the_package(tmp_path):
    extra = tmp_path / "clinic.toml"
    extra.write_text(CLINIC_FILE, encoding="utf-8")
    cat = sk.load_catalog(extra=extra)
    assert "clam_shell" in cat.exercises.index
    assert cat.exercises.loc["clam_shell", "reps_high"] == 12
    prog = sk.build_programme(["piriformis_syndrome"], include={"clam_shell": "weak hip abductors"}, catalog=cat)
    row = prog.table.set_index("exercise_id").loc["clam_shell"]
    assert "Added by the clinician: weak hip abductors" in row["reason"]
    assert "clam_shell" not in sk.load_catalog().exercises.index  # the packaged catalogue is untouched


def test_clinic_file_from_environment_variable(tmp_path, monkeypatch):
    extra = tmp_path / "clinic.toml"
    extra.write_text(CLINIC_FILE, encoding="utf-8")
    monkeypatch.setenv("SCIATICA_KIT_EXTRA_CATALOG", str(extra))
    assert "clam_shell" in sk.load_catalog().exercises.index


def test_clinic_file_is_validated_like_the_package(tmp_path):
    extra = tmp_path / "clinic.toml"
    extra.write_text(CLINIC_FILE.replace('regress_to = ["floor_bridge"]', 'regress_to = ["floor_bridges"]').replace("reps = [10, 12]", "reps = [12, 10]"), encoding="utf-8")
    with pytest.raises(sk.CatalogError) as err:
        sk.load_catalog(extra=extra)
    msg = str(err.value)
    assert "clinic.toml: exercise 'clam_shell', field 'reps'" in msg
    assert "unknown exercise 'floor_bridges'" in msg


def test_clinic_file_cannot_reuse_a_packaged_id(tmp_path):
    extra = tmp_path / "clinic.toml"
    extra.write_text(CLINIC_FILE.replace('id = "clam_shell"', 'id = "walking"'), encoding="utf-8")
    with pytest.raises(sk.CatalogError, match="'walking' is already used in exercises.toml"):
        sk.load_catalog(extra=extra)
