"""Programme rules: red flags block, exclusions win, phases shape doses, overrides are recorded."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import sciatica_kit as sk
from sciatica_kit.catalog import DOSE_FIELDS
from sciatica_kit.programme import TABLE_COLUMNS, dose_in_words

ALL_CONDITIONS = (
    "sciatica", "herniated_disc", "spinal_stenosis", "degenerative_disc", "spondylolisthesis",
    "piriformis_syndrome", "axial_back_pain", "referred_back_pain", "femoral_nerve_pain",
)
PHASES = ("acute", "subacute", "chronic")
FINDINGS = ("severe_nerve_damage", "extension_preference", "flexion_preference")


def ids(prog) -> list[str]:
    return list(prog.table["exercise_id"])


def row(prog, exercise_id) -> pd.Series:
    return prog.table.set_index("exercise_id").loc[exercise_id]


def test_table_has_the_contract_columns_and_numeric_doses():
    prog = sk.build_programme(["herniated_disc", "piriformis_syndrome"])
    for col in ("exercise_id", "name", "category", "sets", "reps", "hold_s", "times_per_day", "reason", "cautions"):
        assert col in prog.table.columns
    assert list(prog.table.columns) == list(TABLE_COLUMNS)
    for col in ("sets", "reps", "hold_s", "times_per_day", "days_per_week"):
        assert pd.api.types.is_numeric_dtype(prog.table[col]), col
    # sortable and editable like any number column
    assert prog.table["hold_s"].max() >= 5
    assert not prog.blocked and prog.referral is None


def test_red_flag_blocks_with_referral():
    prog = sk.build_programme(["sciatica"], red_flags=["cauda_equina"])
    assert prog.blocked
    assert prog.table.empty
    assert prog.referral.urgency == "emergency"
    assert "emergency department" in prog.referral.text
    assert list(prog.table.columns) == list(TABLE_COLUMNS)


def test_most_urgent_red_flag_leads_and_all_are_listed():
    prog = sk.build_programme(["sciatica"], red_flags=["inflammatory_suspected", "infection_suspected"])
    assert prog.referral.urgency == "same_day"
    assert prog.referral.red_flags == ("infection_suspected", "inflammatory_suspected")
    assert "rheumatology" in prog.referral.text
    assert prog.blocked  # infection blocks; inflammatory alone would not


def test_conditions_merge_without_duplicates_and_reason_names_each_condition():
    prog = sk.build_programme(["herniated_disc", "piriformis_syndrome"])
    assert len(ids(prog)) == len(set(ids(prog)))
    walking = row(prog, "walking")
    assert walking["indicated_by"] == "herniated_disc, piriformis_syndrome"
    assert "Herniated (slipped) disc" in walking["reason"] and "Piriformis syndrome" in walking["reason"]
    assert "floor_bridge" in ids(prog)  # NASM, seed 003
    assert "Recommended by NASM" in row(prog, "floor_bridge")["reason"]


def test_every_row_says_where_its_dose_comes_from():
    prog = sk.build_programme(["sciatica"], phase="chronic")
    assert row(prog, "seated_sciatic_nerve_glide")["dose_source"].startswith("Physical therapy clinic article on nerve glides")
    assert not prog.table["dose_source"].str.contains(r"\.txt|seed_\d", regex=True).any()  # never a file name or an id
    assert prog.table["dose_source"].str.len().gt(0).all()


def test_severe_nerve_damage_removes_nerve_glides():
    prog = sk.build_programme(["sciatica", "femoral_nerve_pain"], findings=["severe_nerve_damage"])
    assert not prog.table["category"].str.startswith("nerve glide").any()
    excluded = prog.excluded.set_index("exercise_id")["reason"]
    assert "nerve gliding can make symptoms worse" in excluded["seated_sciatic_nerve_glide"]
    assert "side_lying_femoral_nerve_glide" in excluded.index


def test_stenosis_keeps_extension_out_unless_extension_preference():
    prog = sk.build_programme(["spinal_stenosis", "herniated_disc"])
    assert "prone_press_up_on_forearms" not in ids(prog)  # herniated disc indicates it, stenosis wins
    reason = prog.excluded.set_index("exercise_id").loc["prone_press_up_on_forearms", "reason"]
    assert "Extension narrows the spinal canal" in reason
    lifted = sk.build_programme(["spinal_stenosis", "herniated_disc"], findings=["extension_preference"])
    assert {"prone_press_up_on_forearms", "mckenzie_repeated_extension"} <= set(ids(lifted))
    assert "Included because of an extension preference" in row(lifted, "prone_press_up_on_forearms")["cautions"]


def test_femoral_nerve_pain_alone_gets_femoral_not_sciatic_glides():
    prog = sk.build_programme(["femoral_nerve_pain"])
    glides = set(prog.table.loc[prog.table["category"].str.startswith("nerve glide"), "exercise_id"])
    assert glides == {"side_lying_femoral_nerve_glide"}
    both = sk.build_programme(["femoral_nerve_pain", "sciatica"])
    assert {"seated_sciatic_nerve_glide", "side_lying_femoral_nerve_glide"} <= set(ids(both))


@pytest.mark.parametrize(("finding", "added", "kept_out"), [
    ("extension_preference", "mckenzie_repeated_extension", "mckenzie_repeated_flexion"),
    ("flexion_preference", "mckenzie_repeated_flexion", "mckenzie_repeated_extension"),
])
def test_directional_preference_adds_the_matching_repeated_movement(finding, added, kept_out):
    prog = sk.build_programme(["herniated_disc"], findings=[finding])
    assert added in ids(prog)
    assert kept_out not in ids(prog)
    assert "Long et al. 2004" in row(prog, added)["reason"]


def test_flexion_preference_also_keeps_the_press_up_out():
    prog = sk.build_programme(["herniated_disc"], findings=["flexion_preference"])
    assert "prone_press_up_on_forearms" not in ids(prog)


def test_acute_phase_uses_sliders_low_doses_and_drops_what_waits():
    acute = sk.build_programme(["sciatica"], phase="acute")
    assert "seated_sciatic_nerve_slider" in ids(acute)
    assert "seated_sciatic_nerve_glide" not in ids(acute)
    excluded = acute.excluded.set_index("exercise_id")["reason"]
    assert "replaced by the gentler slider" in excluded["seated_sciatic_nerve_glide"]
    assert "acute phase has settled" in excluded["supine_hamstring_stretch_strap"]  # seed 004
    assert "Physiotherapy clinic page" in excluded["supine_hamstring_stretch_strap"]
    assert row(acute, "knee_to_chest_stretch")["hold_s"] == 20  # the lowest source figure of 20-30 s
    chronic = sk.build_programme(["sciatica"], phase="chronic")
    # chronic never means the ceiling of every range: the same lowest figure, the range in words
    assert row(chronic, "knee_to_chest_stretch")["hold_s"] == 20
    assert row(chronic, "knee_to_chest_stretch")["dose"] == "Hold 20\u201330 seconds, repeat 3 times each side"
    assert row(chronic, "seated_sciatic_nerve_glide")["dose"] == "Repeat 15 times, up to 5 times a day"
    assert any("Dose guidance (Chronic" in n and "within the source range" in n for n in chronic.clinician_notes)
    assert "bird_dog" in ids(chronic)  # chronic: trunk strengthening (JOSPT 2021)
    assert "Chronic low back pain" in row(chronic, "bird_dog")["reason"]


def test_order_is_stable_and_gentle_first_aerobic_last():
    prog = sk.build_programme(["sciatica", "herniated_disc", "piriformis_syndrome"], phase="chronic")
    cats = list(prog.table["category"])
    order = sk.load_catalog().category_order
    assert cats == sorted(cats, key=order.index)
    assert cats[-1] == "aerobic"
    again = sk.build_programme(["piriformis_syndrome", "herniated_disc", "sciatica"], phase="chronic")
    assert ids(again) == ids(prog)
    pd.testing.assert_frame_equal(
        sk.build_programme(["sciatica"]).table, sk.build_programme(["sciatica"]).table
    )


def test_clinician_overrides_are_recorded():
    prog = sk.build_programme(["sciatica"], exclude={"walking": "uses a wheelchair"}, include={"floor_bridge": "weak glutes"})
    assert "walking" not in ids(prog)
    assert prog.excluded.set_index("exercise_id").loc["walking", "reason"] == "Removed by the clinician: uses a wheelchair"
    assert row(prog, "floor_bridge")["reason"] == "Added by the clinician: weak glutes"


def test_forcing_an_excluded_exercise_records_what_it_overrides():
    prog = sk.build_programme(["sciatica"], findings=["severe_nerve_damage"], include={"seated_sciatic_nerve_glide": "mild damage only"})
    r = row(prog, "seated_sciatic_nerve_glide")
    assert "Forced in by the clinician: mild damage only" in r["reason"]
    assert "nerve gliding can make symptoms worse" in r["reason"]
    assert "Clinician override" in r["cautions"]
    assert prog.overrides[0]["action"] == "forced"
    assert "seated_sciatic_nerve_glide" not in set(prog.excluded["exercise_id"])


def test_dose_edits_are_recorded_and_flagged_when_outside_the_source_range():
    prog = sk.build_programme(["sciatica"]).set_dose("seated_sciatic_nerve_glide", reps=20)
    r = row(prog, "seated_sciatic_nerve_glide")
    assert r["reps"] == 20
    assert "Dose edited by the clinician: reps 15 -> 20" in r["reason"]
    assert r["dose"] == "Repeat 20 times, up to 5 times a day"
    assert [o for o in prog.overrides if o["action"] == "dose" and o["exercise_id"] == "seated_sciatic_nerve_glide"]
    assert "outside the source range" in r["cautions"]
    inside = sk.build_programme(["sciatica"]).set_dose("knee_to_chest_stretch", hold_s=25)
    picked = row(inside, "knee_to_chest_stretch")
    assert "outside" not in picked["cautions"]
    assert picked["dose"] == "Hold 25 seconds, repeat 3 times each side"  # the clinician's pick, recorded
    assert "Dose edited by the clinician: hold_s 20\u201330 -> 25" in picked["reason"]
    with pytest.raises(ValueError, match="whole number"):
        sk.build_programme(["sciatica"]).set_dose("walking", days_per_week=2.5)
    with pytest.raises(ValueError, match="Unknown dose field"):
        sk.build_programme(["sciatica"]).set_dose("walking", laps=3)


def test_add_and_remove_return_new_programmes():
    base = sk.build_programme(["piriformis_syndrome"])
    more = base.add("bird_dog", "core endurance")
    assert "bird_dog" in ids(more) and "bird_dog" not in ids(base)
    less = more.remove("bird_dog", "too hard")
    assert "bird_dog" not in ids(less)
    assert {o["action"] for o in less.overrides} == {"removed"}


def test_programme_round_trips_through_its_record():
    prog = sk.build_programme(["sciatica"], phase="acute", findings=["flexion_preference"], include=["floor_bridge"]).set_dose("walking", days_per_week=5)
    again = sk.Programme.from_dict(prog.to_dict())
    pd.testing.assert_frame_equal(again.table, prog.table)
    pd.testing.assert_frame_equal(again.rebuild().table, prog.table)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"conditions": ["sciatic"]}, "Did you mean 'sciatica'"),
    ({"conditions": ["sciatica"], "phase": "subacut"}, "Did you mean 'subacute'"),
    ({"conditions": ["sciatica"], "red_flags": ["cauda"]}, "Did you mean 'cauda_equina'"),
    ({"conditions": ["sciatica"], "findings": ["nerve_damage"]}, "Did you mean 'severe_nerve_damage'"),
    ({"conditions": ["sciatica"], "include": ["bridge"]}, "Valid exercises:"),
    ({"conditions": ["sciatica"], "exclude": ["walk"]}, "Did you mean 'walking'"),
])
def test_unknown_ids_raise_listing_valid_ids(kwargs, message):
    conditions = kwargs.pop("conditions")
    with pytest.raises(ValueError, match=message):
        sk.build_programme(conditions, **kwargs)


def test_dose_in_words():
    assert dose_in_words({"hold_s": 15, "reps": 2, "each_side": True, "times_per_day": 2}) == "Hold 15 seconds, repeat 2 times each side, twice a day"
    assert dose_in_words({"hold_s": (15, 20)}) == "Hold 15\u201320 seconds"
    assert dose_in_words({"times_per_day": (float("nan"), 5)}) == "Up to 5 times a day"
    assert dose_in_words({"times_per_day": (2, float("inf"))}) == "At least twice a day"
    assert dose_in_words({"distance_km": (float("nan"), 4.8)}) == "Build up to 4.8 km (3 miles)"
    assert dose_in_words({"reps": 20, "times_per_day": 3}) == "Repeat 20 times, 3 times a day"
    assert dose_in_words({"sets": pd.NA, "reps": pd.NA}) == "No dose set yet: set it with the patient"


def test_no_dose_is_invented():
    prog = sk.build_programme(["herniated_disc"])
    bracing = row(prog, "abdominal_bracing")
    assert all(pd.isna(bracing[d]) for d in DOSE_FIELDS)
    assert bracing["dose"] == "No dose set yet: set it with the patient"


# The exhaustive sweep over every condition combination x phase x finding set (no excluded
# exercise appears, every row has a reason and a dose source, doses inside the catalogued
# ranges) lives in tests/test_clinical_safety.py, which derives what must be kept out from
# the catalogue records rather than trusting the builder's own `excluded` table.


# --------------------------------------------------------------------------- second edition rules


def excluded_reason(prog, exercise_id) -> str:
    return prog.excluded.set_index("exercise_id").loc[exercise_id, "reason"]


def test_directional_exercises_wait_for_an_assessed_preference():
    prog = sk.build_programme(["herniated_disc"])
    assert "prone_press_up_on_forearms" not in ids(prog)
    assert "Assess directional preference first" in excluded_reason(prog, "prone_press_up_on_forearms")
    assert "Sciatica Kit rule, supported by Long et al. 2004" in excluded_reason(prog, "prone_press_up_on_forearms")
    assessed = sk.build_programme(["herniated_disc"], findings=["extension_preference"])
    assert {"prone_press_up_on_forearms", "mckenzie_repeated_extension"} <= set(ids(assessed))
    opposite = sk.build_programme(["herniated_disc"], findings=["flexion_preference"])
    reason = excluded_reason(opposite, "prone_press_up_on_forearms")
    assert "Assess directional preference first" not in reason  # it was assessed: flexion
    assert "Opposite to the assessed flexion preference" in reason
    forced = sk.build_programme(["herniated_disc"], include={"prone_press_up_on_forearms": "assessed today"})
    assert "Assess directional preference first" in row(forced, "prone_press_up_on_forearms")["reason"]


def test_both_directional_preferences_are_refused():
    with pytest.raises(ValueError, match="Both an extension and a flexion directional preference"):
        sk.build_programme(["herniated_disc"], findings=["extension_preference", "flexion_preference"])


def test_one_tensioner_per_nerve_keeps_the_best_indicated_one():
    prog = sk.build_programme(["sciatica"], phase="chronic")
    cat = sk.load_catalog()
    tensioners = [e for e in ids(prog) if cat.records["exercises"][e]["nerve_tensioner"] == "sciatic"]
    assert tensioners == ["seated_sciatic_nerve_glide"]
    assert "One sciatic-nerve tensioner at a time" in excluded_reason(prog, "supine_sciatic_nerve_glide")
    assert "One sciatic-nerve tensioner at a time" in excluded_reason(prog, "sciatic_mobilising_stretch")
    both_nerves = sk.build_programme(["sciatica", "femoral_nerve_pain"])
    assert {"seated_sciatic_nerve_glide", "side_lying_femoral_nerve_glide"} <= set(ids(both_nerves))


def test_severe_nerve_damage_drops_every_sciatic_tensioner_including_the_mobilising_stretch():
    prog = sk.build_programme(["sciatica"], findings=["severe_nerve_damage"])
    for ex_id in ("seated_sciatic_nerve_glide", "supine_sciatic_nerve_glide", "sciatic_mobilising_stretch"):
        assert ex_id not in ids(prog)
        assert "Severe nerve damage" in excluded_reason(prog, ex_id)
    finding = sk.load_catalog().records["findings"]["severe_nerve_damage"]
    assert "marked but" in finding["name"] and "STABLE" in finding["description"]
    assert "progressive neurological deficit" in finding["description"]


def test_spondylolisthesis_gets_an_extension_caution_whenever_extension_enters():
    prog = sk.build_programme(["spondylolisthesis", "herniated_disc"], findings=["extension_preference"])
    for ex_id in ("prone_press_up_on_forearms", "mckenzie_repeated_extension"):
        r = row(prog, ex_id)
        assert "Spondylolisthesis: repeated end-range extension is treated as a caution" in r["cautions"]
        assert "do not push to the end of the movement" in r["patient_cautions"]
        assert "Spondylolisthesis:" not in r["patient_cautions"]
    forced = sk.build_programme(["spondylolisthesis"], include=["prone_press_up_on_forearms"])
    assert "Spondylolisthesis" in row(forced, "prone_press_up_on_forearms")["cautions"]
    flexion = sk.build_programme(["spondylolisthesis"])
    assert not flexion.table["cautions"].str.contains("Spondylolisthesis").any()


def test_populations_change_the_programme_with_a_source_and_say_what_is_not_covered():
    pregnant = sk.build_programme(["herniated_disc"], findings=["extension_preference"], population=["pregnancy"])
    assert "prone_press_up_on_forearms" not in ids(pregnant)
    assert "Pregnancy: exercises lying on the front" in excluded_reason(pregnant, "prone_press_up_on_forearms")
    assert "Sciatica Kit rule" in excluded_reason(pregnant, "prone_press_up_on_forearms")
    assert any(n.startswith("Not covered by the kit (Pregnancy)") for n in pregnant.clinician_notes)
    assert "feel faint" in row(pregnant, "abdominal_bracing")["patient_cautions"]

    osteo = sk.build_programme(["spinal_stenosis"], population=["osteoporosis"])
    assert "seated_forward_bend" not in ids(osteo)
    assert "no loaded end-range flexion" in excluded_reason(osteo, "seated_forward_bend")
    assert "seated_forward_bend" in ids(sk.build_programme(["spinal_stenosis"]))

    with pytest.raises(ValueError, match="weeks since surgery"):
        sk.build_programme(["sciatica"], population=["after_spinal_surgery"])
    surgery = sk.build_programme(["sciatica"], population=["after_spinal_surgery"], weeks_since_surgery=6)
    assert surgery.weeks_since_surgery == 6
    notes = "\n".join(surgery.clinician_notes)
    assert "6 weeks since surgery" in notes and "surgeon's post-operative protocol first" in notes
    with pytest.raises(ValueError, match="Unknown population 'pregnant'"):
        sk.build_programme(["sciatica"], population=["pregnant"])


def test_programme_size_ceiling_keeps_the_most_indicated_and_lists_the_rest(tmp_path, monkeypatch):
    conditions = ["sciatica", "herniated_disc", "degenerative_disc", "piriformis_syndrome", "axial_back_pain"]
    prog = sk.build_programme(conditions, phase="chronic")
    assert len(prog.table) == 8 and prog.max_exercises == 8
    assert prog.kept_out_for_size
    by = dict(zip(prog.table["exercise_id"], prog.table["indicated_by"].str.count(",") + 1, strict=True))
    kept_min = min(by.values())
    for ex_id in prog.kept_out_for_size:
        assert "Kept out for size" in excluded_reason(prog, ex_id)
    back = prog.add(prog.kept_out_for_size[0])  # one click from coming back
    assert prog.kept_out_for_size[0] in ids(back) and len(back.table) == 8
    assert kept_min >= 1
    settings = tmp_path / "settings.toml"
    settings.write_text("[programme]\nmax_exercises = 5\n", encoding="utf-8")
    monkeypatch.setenv("SCIATICA_KIT_SETTINGS", str(settings))
    assert len(sk.build_programme(conditions, phase="chronic").table) == 5
    assert len(sk.build_programme(conditions, phase="chronic", max_exercises=3).table) == 3
    settings.write_text("[programme]\nmax_exercises = 0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="max_exercises"):
        sk.build_programme(conditions)


def test_start_back_risk_is_stored_and_high_risk_adds_nice_advice():
    high = sk.build_programme(["sciatica"], start_back_risk="high")
    assert high.start_back_risk == "high"
    assert any("psychologically informed approach" in n and "NICE NG59" in n for n in high.clinician_notes)
    low = sk.build_programme(["sciatica"], start_back_risk="low")
    assert not any("psychologically" in n for n in low.clinician_notes)
    assert sk.Programme.from_dict(high.to_dict()).start_back_risk == "high"
    with pytest.raises(ValueError, match="STarT Back risk"):
        sk.build_programme(["sciatica"], start_back_risk="very high")


def test_inflammatory_back_pain_refers_alongside_the_programme():
    prog = sk.build_programme(["axial_back_pain"], red_flags=["inflammatory_suspected"])
    assert not prog.blocked and len(prog.table) > 0
    assert prog.referral.refer_to == "rheumatology" and prog.referral.urgency == "routine"
    assert prog.referral.blocking is False
    assert any("Referral alongside the programme" in n for n in prog.clinician_notes)


def test_the_screen_is_recorded_and_carried_by_the_programme():
    from sciatica_kit.screening import record_screen

    scr = record_screen(["inflammatory_suspected"], absent=["cauda_equina", "major_trauma"], screened_by="A. Khan",
                        screened_at="2026-03-02T10:15")
    prog = sk.build_programme(["axial_back_pain"], screen=scr)
    assert prog.red_flags == ("inflammatory_suspected",)
    assert prog.screen.status["cauda_equina"] == "absent"
    assert prog.screen.status["cancer_suspected"] == "not asked"
    assert prog.screen.screened_by == "A. Khan"
    assert "A. Khan" in prog.screen_status and "not asked" in prog.screen_status
    again = sk.Programme.from_dict(prog.to_dict())
    assert again.screen.status == prog.screen.status and again.screen.screened_at == prog.screen.screened_at
    unscreened = sk.build_programme(["axial_back_pain"])
    assert unscreened.screen is None
    assert unscreened.screen_status == "Red-flag screen not recorded"
    assert "Red-flag screen not recorded." in unscreened.clinician_notes
    with pytest.raises(ValueError, match="recorded as absent"):
        sk.build_programme(["axial_back_pain"], screen=scr, red_flags=["cauda_equina"])
    with pytest.raises(ValueError, match="screened_by"):
        record_screen([], screened_by="")


def test_saved_programme_reads_back_as_issued_even_after_the_catalogue_changes(tmp_path):
    import shutil

    from sciatica_kit.catalog import catalog_dir
    from sciatica_kit.programme import diff_programmes

    prog = sk.build_programme(["piriformis_syndrome"], phase="chronic", patient="Demo")
    record = json.loads(json.dumps(prog.to_dict()))  # what the store keeps
    assert record["snapshot_version"] >= 2
    assert record["table"][0]["dose"] and record["table"][0]["sources"]
    folder = tmp_path / "catalog"
    shutil.copytree(catalog_dir(), folder)
    text = (folder / "exercises.toml").read_text(encoding="utf-8")
    text = text.replace("hold_s = [15, 15]", "hold_s = [20, 20]")  # the glute stretch's hold changes
    (folder / "exercises.toml").write_text(text, encoding="utf-8")
    text = (folder / "conditions.toml").read_text(encoding="utf-8")
    text = text.replace('  { exercise = "knee_to_chest_stretch", why = "Gentle buttock stretch.", source = "seed_003" },\n', "")
    (folder / "conditions.toml").write_text(text, encoding="utf-8")
    changed = sk.load_catalog(path=folder)
    issued = sk.Programme.from_dict(record, catalog=changed)
    pd.testing.assert_frame_equal(issued.table, prog.table)
    assert issued.created == prog.created
    rebuilt = issued.rebuild(catalog=changed)
    diff = diff_programmes(issued, rebuilt)
    assert "Buttock (figure-4) stretch: Hold 15 seconds" in diff and "\u2192 Hold 20 seconds" in diff
    assert "Removed: Knee to chest stretch." in diff
    assert diff_programmes(prog, prog) == "No changes."


# --------------------------------------------------------------------------- one home for the inputs


def test_the_programme_holds_each_input_once():
    import dataclasses

    fields = {f.name for f in dataclasses.fields(sk.Programme)}
    inputs = {f.name for f in dataclasses.fields(sk.programme.ProgrammeRequest)}
    assert "request" in fields and "inputs" not in fields
    assert not fields & (inputs - {"max_exercises"})  # the applied ceiling is an outcome; the request keeps what was asked
    prog = sk.build_programme(["sciatica"], patient="P-0001", clinic="Riverside")
    assert prog.patient == prog.request.patient == prog.inputs["patient"] == "P-0001"


def test_a_changed_detail_cannot_be_forgotten_by_a_rebuild():
    import dataclasses

    prog = sk.build_programme(["sciatica"], patient="P-0001")
    with pytest.raises(TypeError):
        dataclasses.replace(prog, patient="P-0002")  # not a field: the detail lives only in the request
    moved = prog.with_details(patient="P-0002", clinic="Riverside")
    for again in (moved, moved.rebuild(), moved.add("bird_dog", "core"), moved.set_dose("walking", days_per_week=5),
                  sk.Programme.from_dict(moved.to_dict()), sk.Programme.from_dict(moved.to_dict()).rebuild()):
        assert (again.patient, again.clinic) == ("P-0002", "Riverside")
        assert again.to_dict()["patient"] == "P-0002" and again.inputs["patient"] == "P-0002"
    with pytest.raises(ValueError, match="with_details changes only"):
        prog.with_details(phase="acute")  # an input that shapes the table needs a rebuild, not a detail change


def test_a_saved_programme_has_the_dtypes_of_a_fresh_one():
    for prog in (
        sk.build_programme(["sciatica"]),
        sk.build_programme(["sciatica"], red_flags=["cauda_equina"]),  # blocked: empty tables
        sk.build_programme(["piriformis_syndrome"], exclude={"walking": "wheelchair user"}),
        sk.build_programme(["spinal_stenosis"]),
    ):
        again = sk.Programme.from_dict(json.loads(json.dumps(prog.to_dict())))
        pd.testing.assert_frame_equal(again.table, prog.table)
        pd.testing.assert_frame_equal(again.excluded, prog.excluded)
        assert all(pd.api.types.is_string_dtype(t) for t in prog.excluded.dtypes), prog.excluded.dtypes
        assert again.to_dict() == prog.to_dict()


def test_a_dose_edit_keeps_the_clinicians_reason():
    prog = sk.build_programme(["sciatica"]).set_dose("walking", reason="builds up slowly", days_per_week=5)
    prog = prog.set_dose("walking", reason="knee pain on longer walks", minutes=20)
    r = row(prog, "walking")
    assert "(reason: builds up slowly; knee pain on longer walks)" in r["reason"]
    dose = [o for o in prog.overrides if o["action"] == "dose"]
    assert dose == [{"exercise_id": "walking", "action": "dose", "reason": "builds up slowly; knee pain on longer walks",
                     "changes": "days_per_week 7 -> 5, minutes none -> 20", "overrides": []}]
    record = json.loads(json.dumps(prog.to_dict()))
    assert record["dose_reasons"] == {"walking": "builds up slowly; knee pain on longer walks"}
    for again in (sk.Programme.from_dict(record), sk.Programme.from_dict(record).rebuild()):
        assert row(again, "walking")["reason"] == r["reason"]
    assert "Dose edited by the clinician: days_per_week 7 -> 5" in row(sk.build_programme(["sciatica"]).set_dose(
        "walking", days_per_week=5), "walking")["reason"]  # no reason given: the change alone


def test_an_old_snapshot_without_dose_reasons_reads_back_unchanged():
    prog = sk.build_programme(["sciatica"]).set_dose("walking", days_per_week=5)
    old = prog.to_dict()
    old["snapshot_version"] = 2
    old.pop("dose_reasons")
    old["overrides"] = [{"exercise_id": "walking", "action": "dose", "reason": "days_per_week 7 -> 5", "overrides": []}]
    again = sk.Programme.from_dict(old)
    pd.testing.assert_frame_equal(again.table, prog.table)
    assert again.request.dose_reasons == {} and again.rebuild().table.equals(prog.table)
    from sciatica_kit.export import override_lines

    assert ("Dose changed: Walking", "days_per_week 7 -> 5") in override_lines(again)


def test_no_dose_text_is_in_clinic_words_everywhere():
    prog = sk.build_programme(["herniated_disc", "sciatica"])
    texts = [*prog.table["dose"], prog._repr_html_(), prog.to_frame().to_csv()]
    assert not any("not specified" in t.lower() for t in texts)
    assert "No dose set yet: set it with the patient" in list(prog.table["dose"])


def test_the_dose_fields_and_which_are_whole_numbers_come_from_the_catalogue_data():
    import tomllib

    from sciatica_kit.catalog import WHOLE_DOSE_FIELDS, catalog_dir
    from sciatica_kit.catalog_models import DoseDefaultModel, ExerciseModel

    with (catalog_dir() / "dose_fields.toml").open("rb") as fh:
        data = tomllib.load(fh)["dose_field"]
    assert tuple(f["id"] for f in data) == DOSE_FIELDS
    assert tuple(f["id"] for f in data if f["whole"]) == WHOLE_DOSE_FIELDS
    # the catalogue's models know exactly these fields (a field added in data alone fails here)
    assert set(DOSE_FIELDS) <= set(ExerciseModel.model_fields)
    assert set(DoseDefaultModel.model_fields) - {"exercise"} == set(DOSE_FIELDS)
    table = sk.build_programme(["sciatica"]).table
    assert [f for f in DOSE_FIELDS if str(table[f].dtype) == "Int64"] == list(WHOLE_DOSE_FIELDS)
    assert [f for f in DOSE_FIELDS if str(table[f].dtype) == "Float64"] == [f["id"] for f in data if not f["whole"]]
