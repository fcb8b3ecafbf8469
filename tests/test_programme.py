"""Programme rules: red flags block, exclusions win, phases shape doses, overrides are recorded."""

from __future__ import annotations

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
    assert prog.referral.urgency == "urgent"
    assert prog.referral.red_flags == ("infection_suspected", "inflammatory_suspected")
    assert "rheumatology" in prog.referral.text


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
    assert row(prog, "seated_sciatic_nerve_glide")["dose_source"].startswith("000_bb08a86669e13679.txt")
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
    assert "Long 2004" in row(prog, added)["reason"]


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
    assert row(acute, "knee_to_chest_stretch")["hold_s"] == 20  # low end of 20-30 s
    chronic = sk.build_programme(["sciatica"], phase="chronic")
    assert row(chronic, "knee_to_chest_stretch")["hold_s"] == 30
    assert row(chronic, "seated_sciatic_nerve_glide")["times_per_day"] == 5
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
    assert "outside the source range" in r["cautions"]
    inside = sk.build_programme(["sciatica"]).set_dose("supine_sciatic_nerve_glide", times_per_day=3)
    assert "outside" not in row(inside, "supine_sciatic_nerve_glide")["cautions"]
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
    assert dose_in_words({"reps": 20, "times_per_day": 3}) == "Repeat 20 times, 3 times a day"
    assert dose_in_words({"sets": pd.NA, "reps": pd.NA}).startswith("Dose not specified")


def test_no_dose_is_invented():
    prog = sk.build_programme(["herniated_disc"])
    bracing = row(prog, "abdominal_bracing")
    assert all(pd.isna(bracing[d]) for d in DOSE_FIELDS)
    assert bracing["dose"].startswith("Dose not specified")


# The exhaustive sweep over every condition combination x phase x finding set (no excluded
# exercise appears, every row has a reason and a dose source, doses inside the catalogued
# ranges) lives in tests/test_clinical_safety.py, which derives what must be kept out from
# the catalogue records rather than trusting the builder's own `excluded` table.
