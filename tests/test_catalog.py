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
NEW_RED_FLAGS = {"aaa_suspected", "major_trauma", "cancer_history", "thoracic_pain"}
FINDINGS = {"severe_nerve_damage", "extension_preference", "flexion_preference"}


def test_contract_ids_are_all_there(catalog):
    assert set(catalog.exercises.index) >= SEED_EXERCISES
    assert set(catalog.conditions.index) == CONDITIONS
    assert set(catalog.red_flags.index) == RED_FLAGS | NEW_RED_FLAGS
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
    assert pd.isna(ex.loc["seated_sciatic_nerve_glide", "times_per_day_low"])  # "up to 5", not "1 to 5"
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
    assert catalog.urgencies == ("emergency", "same_day", "urgent", "routine")
    assert set(rf["urgency"]) <= set(catalog.urgencies)
    expected = {
        "cauda_equina": "emergency", "aaa_suspected": "emergency", "major_trauma": "emergency",
        "progressive_neuro_deficit": "same_day", "infection_suspected": "same_day",
        "cancer_suspected": "urgent", "cancer_history": "urgent", "fracture_suspected": "urgent",
        "inflammatory_suspected": "routine",
    }
    for flag, urgency in expected.items():
        assert rf.loc[flag, "urgency"] == urgency, flag
    assert rf.loc["inflammatory_suspected", "refer_to"] == "rheumatology"
    assert not rf.loc["inflammatory_suspected", "blocks"]
    assert rf.drop(index="inflammatory_suspected")["blocks"].all()
    assert "immediately" in rf.loc["cauda_equina", "refer_to"]
    assert rf.drop(index=["cancer_history"])["signs"].map(len).min() >= 2
    for tier in catalog.records["urgency_tiers"].values():
        assert "same day or within days" not in tier["headline"].lower()
    assert catalog.records["urgency_tiers"]["urgent"]["headline"].startswith("URGENT - refer within about two weeks")


def test_missing_signs_are_there(catalog):
    signs = {k: " ".join(v).lower() for k, v in catalog.red_flags["signs"].items()}
    assert "perianal" in signs["cauda_equina"] and "bladder is filling" in signs["cauda_equina"]
    assert "age over 70" in signs["fracture_suspected"] and "deformity" in signs["fracture_suspected"]
    assert "major trauma" not in signs["fracture_suspected"]  # major trauma is its own emergency
    for sign in ("spinal procedure", "urinary infection", "diabetes"):
        assert sign in signs["infection_suspected"]
    for sign in ("over 60", "pulsating mass", "collapse"):
        assert sign in signs["aaa_suspected"]
    mscc = catalog.records["combinations"]["mscc_suspected"]
    assert mscc["urgency"] == "emergency" and "24 hours" in mscc["action"]
    assert mscc["sources"] == ["NICE NG234 (metastatic spinal cord compression)"]


def test_bibliography_gives_every_source_an_id_author_title_year_and_kind(catalog):
    bib = catalog.bibliography
    assert {"author", "title", "year", "kind", "short"} <= set(bib.columns)
    assert set(bib["kind"]) <= {"article", "guideline", "paper", "manual", "kit", "clinic"}
    assert {"seed_000", "nice_ng59", "nice_ng234", "nice_ng65", "long_2004", "fairbank_pynsent_2000", "kit"} <= set(bib.index)
    assert catalog.cite("seed_003 (citing the NHS)") == "Health website article on exercises for a pinched nerve in the leg (citing the NHS)"
    assert catalog.cite("kit; comer_2009").startswith("Sciatica Kit rule, supported by Comer et al. 2009")


def test_no_file_name_or_bare_id_reaches_a_reference(catalog):
    import re

    bad = re.compile(r"\.txt|\b(seed_\d{3}|nice_ng\d+|[a-z]+_(19|20)\d\d)\b")
    texts = []
    for table in ("exercises", "conditions", "findings", "red_flags", "phases", "measures", "populations", "combinations"):
        for rec in catalog.records[table].values():
            texts += list(rec.get("sources", []))
            texts += [rec.get(k, "") for k in ("dose_source", "phase_source", "dose_guidance_source")]
            for value in rec.values():
                if isinstance(value, list):
                    texts += [i.get("source", "") for i in value if isinstance(i, dict)]
    texts += [a["source"] for a in catalog.advice]
    leaks = [t for t in texts if isinstance(t, str) and bad.search(t)]
    assert not leaks, leaks[:5]


def test_misattributions_are_fixed(catalog):
    cond = catalog.records["conditions"]
    by_ex = {i["exercise"]: i for i in cond["spinal_stenosis"]["indicates"]}
    assert by_ex["stationary_cycling"]["source"].startswith("Sciatica Kit rule")
    (walking,) = [c for c in cond["spinal_stenosis"]["cautions"] if c["exercise"] == "walking"]
    assert walking["source"].startswith("Sciatica Kit rule")
    for c in ("degenerative_disc", "referred_back_pain"):
        (bridge,) = [i for i in cond[c]["indicates"] if i["exercise"] == "floor_bridge"]
        assert bridge["source"].startswith("Sciatica Kit rule"), c
    tilt = catalog.records["exercises"]["pelvic_tilt"]["sources"]
    assert not any("gentle positioning and movement first" in s for s in tilt)
    # phases: acute exclusions cite a source only where it speaks of phases (seed 004), else the kit
    for ex_id, rec in catalog.records["exercises"].items():
        if "acute" not in rec["phases"] and rec["phase_source_id"] if "phase_source_id" in rec else False:
            assert rec["phase_source_id"] in ("seed_004", "kit"), ex_id
    assert catalog.records["exercises"]["dead_bug"]["phase_source"] == "Sciatica Kit rule"
    assert catalog.records["measures"]["sbi"]["sources"] == ["Grøvle et al. 2008, Spine 33:2347 (Sciatica Bothersomeness Index)"]


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
        ("exercises.toml", 'sources = ["seed_000"]\n', "sources = []\n", ["'sources'", "missing source"]),
        ("exercises.toml", 'sources = ["seed_000"]\n', 'sources = ["seed_0000"]\n', ["'sources'", "unknown source 'seed_0000'"]),
        ("exercises.toml", 'each_side = false\nnerve_tensioner = "femoral"', 'each_side = "no"\nnerve_tensioner = "femoral"',
         ["exercises.toml", "side_lying_femoral_nerve_glide", "'each_side'"]),
        ("populations.toml", 'field = "loaded_flexion"', 'field = "loaded"', ["populations.toml", "osteoporosis", "'excludes_where'"]),
        ("bibliography.toml", 'kind = "guideline"', 'kind = "blog"', ["bibliography.toml", "'kind'"]),
        ("red_flags.toml", 'all_of = ["cancer_history"]', 'all_of = ["cancer_hist"]', ["mscc_suspected", "unknown red flag 'cancer_hist'"]),
        ("findings.toml", 'first pull.", audience = "patient"', 'first pull.", audience = "everyone"', ["findings.toml", "severe_nerve_damage", "'cautions'"]),
        ("poses.toml", "pillow = true", 'pillow = "yes"', ["poses.toml", "'pillow'", "valid boolean"]),
        ("phases.toml", '{ text = "Heat before', '{ txt = "Heat before', ["phases.toml", "[advice]", "item 2"]),
        ("exercises.toml", 'category = "aerobic"', 'category = "cardio"', ["'category'", "unknown category 'cardio'"]),
        ("exercises.toml", 'hold_s = [5, 5]', 'hold_s = "five"', ["floor_bridge", "'hold_s'", "not a dose"]),
        ("exercises.toml", 'reps = [15, 15]', 'rep = [15, 15]', ["seated_sciatic_nerve_glide", "'rep'", "unknown field", "'reps'"]),
        ("exercises.toml", 'id = "bird_dog"', 'id = "dead_bug"', ["'dead_bug' is already used"]),
        ("exercises.toml", 'stop_if = ["Pain shoots down the leg."]', "stop_if = []", ["supine_glute_stretch", "'stop_if'"]),
        ("conditions.toml", '{ exercise = "floor_bridge", why = "Recommended by NASM', '{ exercise = "floor_bridgee", why = "Recommended by NASM',
         ["conditions.toml", "piriformis_syndrome", "'indicates'", "unknown exercise 'floor_bridgee'"]),
        ("conditions.toml", 'unless_findings = ["extension_preference"], caution_if_lifted', 'unless_findings = ["extension_pref"], caution_if_lifted',
         ["spinal_stenosis", "unknown finding 'extension_pref'"]),
        ("red_flags.toml", 'urgency = "routine"\nprecedence = 1\nblocks = false', 'urgency = "whenever"\nprecedence = 1\nblocks = false', ["red_flags.toml", "inflammatory_suspected", "'urgency'"]),
        ("findings.toml", '{ category = "nerve glide slider"', '{ category = "nerve glides"', ["severe_nerve_damage", "unknown category 'nerve glides'"]),
        ("measures.toml", "min = 0\nmax = 10\n", "min = 10\nmax = 0\n", ["measures.toml", "'pain'", "min must be below max"]),
        ("phases.toml", 'dose_guidance = "Long-standing', 'dose = "high"\ndose_guidance = "Long-standing', ["phases.toml", "chronic", "'dose'", "unknown field"]),
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
    _edit(catalog_copy / "red_flags.toml", 'urgency = "routine"\nprecedence', 'urgency = "later"\nprecedence')
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
dose_source = "clinic_protocol_2026"
each_side = true
phases = ["subacute", "chronic"]
progress_to = []
regress_to = ["floor_bridge"]
cautions = []
stop_if = ["Pain in the hip or back."]
sources = ["clinic_protocol_2026"]

[[source]]
id = "clinic_protocol_2026"
author = "Riverside Physiotherapy"
title = "Hip strengthening protocol"
year = "2026"
kind = "clinic"
short = "Riverside Physiotherapy hip protocol (2026)"
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


def test_every_text_field_says_who_reads_it():
    from sciatica_kit.catalog_models import MODELS, ExerciseModel, FindingModel, text_fields

    ex = text_fields(ExerciseModel)
    assert {k for k, v in ex.items() if v == "patient"} == {"name", "targets", "position", "equipment", "steps", "cautions", "stop_if"}
    assert {k for k, v in ex.items() if v == "clinician"} == {"dose_source", "dose_note", "phase_note"}
    assert text_fields(FindingModel)["description"] == "clinician"
    prose = {"name", "description", "why", "text", "action", "refer_to", "headline", "title", "short", "not_covered", "dose_guidance"}
    for key, (_kind, model) in MODELS.items():
        marked = text_fields(model)
        for name in prose & set(model.model_fields):
            assert name in marked, f"{key}.{name} does not say whether the patient or the clinician reads it"


# --------------------------------------------------------------------------- a clinic's own measure

CLINIC_MEASURE = """
[[measure]]
id = "walking_tolerance_min"
short = "Walking tolerance"
name = "Walking tolerance"
unit = "min"
ucum = "min"
min = 0
max = 120
better = "higher"
sided = false
integer = true
overview = true
sources = ["Riverside Physiotherapy walking test, 2026"]
"""


def test_a_clinic_measure_reaches_form_chart_summary_and_fhir_without_python_change(tmp_path, monkeypatch):
    import datetime as dt

    from sciatica_kit.fhir import observations_bundle, read_observations
    from sciatica_kit.progress import summary_table
    from sciatica_kit.widgets import ClinicOverview, ProgressLogger

    extra = tmp_path / "clinic.toml"
    extra.write_text(CLINIC_MEASURE, encoding="utf-8")
    monkeypatch.setenv("SCIATICA_KIT_EXTRA_CATALOG", str(extra))
    cat = sk.load_catalog()
    assert list(cat.records["measures"])[-1] == "walking_tolerance_min"  # after the packaged ones
    store = sk.Store(tmp_path / "kit.sqlite")
    store.add_patient("P-0042")

    # the visit form: a box with the catalogue's label and range, checked like every other
    app = ProgressLogger(store=store, patient_id="P-0042")
    box = app.measure_inputs[("walking_tolerance_min", "")]
    assert box.description == "Walking tolerance (min)"
    box.value = "150"
    assert not app.save_visit() and "outside the valid range 0 to 120" in app.message.text
    box.value = "12.5"
    assert not app.save_visit() and "whole number" in app.message.text
    app.date.value = dt.date.today() - dt.timedelta(days=28)
    box.value = "10"
    assert app.save_visit(), app.message.text
    app.date.value = dt.date.today()
    box.value = "35"
    assert app.save_visit(), app.message.text
    log = store.read("P-0042")
    assert sorted(log.loc[log["measure"] == "walking_tolerance_min", "value"]) == [10.0, 35.0]
    assert "Walking tolerance" in app.summary.value and b"Walking tolerance" in bytes(app.chart.value)  # the chart (SVG, real text) has its panel

    # the chart: its own panel with the catalogue's name, unit, range and direction
    fig = sk.plot_progress(log, "P-0042")
    (ax,) = [a for a in fig.axes if a.get_visible()]
    assert ax.get_title(loc="left") == "Walking tolerance (min)"
    assert ax.get_ylim()[0] < 0 < 120 < ax.get_ylim()[1] and "higher is better" in ax.get_ylabel()
    assert sk.plot_measure(log, "P-0042", "walking_tolerance_min").get_title(loc="left") == "Walking tolerance (min)"

    # the summary: change 25 minutes; no MCID published, so never called a responder
    s = sk.summarise(log).set_index("measure").loc["walking_tolerance_min"]
    assert (s["baseline"], s["latest"], s["change"]) == (10.0, 35.0, 25.0)
    assert "Walking tolerance" in summary_table(sk.summarise(log)).to_string()

    # the clinic overview: a key measure (overview = true), a column and a sort choice
    overview = ClinicOverview(store=store)
    assert "walking_tolerance_min_change" in overview.data.columns
    assert "walking_tolerance_min_change" in [v for _, v in overview.sort.options]

    # the FHIR export: a local code and the clinic's unit, and back again
    bundle = observations_bundle(log)
    obs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
           and e["resource"]["code"]["text"] == "Walking tolerance"]
    assert len(obs) == 2
    assert obs[0]["code"]["coding"] == [{"system": "https://sciatica-kit.invalid/CodeSystem/measure",
                                         "code": "walking_tolerance_min", "display": "Walking tolerance"}]
    assert obs[0]["valueQuantity"]["code"] == "min" and obs[0]["valueQuantity"]["unit"] == "min"
    back = read_observations(bundle)
    assert sorted(back.loc[back["measure"] == "walking_tolerance_min", "value"]) == [10.0, 35.0]
    store.close()


def test_a_clinic_measure_is_checked_like_the_packaged_ones(tmp_path):
    extra = tmp_path / "clinic.toml"
    extra.write_text(CLINIC_MEASURE.replace("max = 120", "max = -1").replace('better = "higher"', 'better = "more"')
                     + CLINIC_MEASURE.replace('"walking_tolerance_min"', '"pain"'), encoding="utf-8")
    with pytest.raises(sk.CatalogError) as err:
        sk.load_catalog(extra=extra)
    msg = str(err.value)
    assert "clinic.toml: measure 'walking_tolerance_min', field 'better'" in msg
    assert "clinic.toml: measure 'pain', field 'id': 'pain' is already used in measures.toml" in msg


def test_phase_ids_come_from_the_phases_file_in_its_order():
    import tomllib

    from sciatica_kit.catalog import PHASE_IDS, catalog_dir

    with (catalog_dir() / "phases.toml").open("rb") as fh:
        listed = tuple(p["id"] for p in tomllib.load(fh)["phase"])
    assert listed == PHASE_IDS  # the builder's choices, the programme's check and the catalogue's rules
