"""FHIR R4 exchange: CarePlan export, Observation round trip, errors, private files."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
from fhir.resources.R4B.bundle import Bundle

import sciatica_kit as sk
from sciatica_kit.fhir import (
    EXERCISE_SYSTEM,
    LOINC,
    MEASURE_SYSTEM,
    careplan_bundle,
    observations_bundle,
    read_observations,
    write_bundle,
)

KEYS = ["patient_id", "date", "measure", "side", "value"]


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _careplan(bundle: dict) -> dict:
    (plan,) = _resources(bundle, "CarePlan")
    return plan


@pytest.fixture
def log() -> pd.DataFrame:
    rows = [
        ("P-001", "2025-03-01", "pain", "", 7.0, ""),
        ("P-001", "2025-03-01", "back_pain", "", 6.5, "worse after sitting"),
        ("P-001", "2025-03-01", "leg_pain", "", 8.0, "<script>alert('x')</script> Schmerz ↓ 痛み"),
        ("P-001", "2025-03-01", "odi", "", 42.0, ""),
        ("P-001", "2025-03-01", "slr", "left", 35.0, ""),
        ("P-001", "2025-03-01", "slr", "right", 70.0, ""),
        ("P-001", "2025-03-01", "fingertip_floor", "", 22.5, ""),
        ("P-001", "2025-03-15", "pain", "", 0.30000000000000004, "line one\nline two"),
        ("P-002", "2025-03-02", "adherence", "", 80.0, ""),
    ]
    frame = pd.DataFrame(rows, columns=["patient_id", "date", "measure", "side", "value", "note"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


# --------------------------------------------------------------------------- CarePlan


def test_careplan_bundle_validates_and_mirrors_the_table():
    prog = sk.build_programme(["sciatica", "piriformis_syndrome"], patient="P-001")
    bundle = prog.to_fhir(clinic="Back Clinic")

    Bundle.model_validate(json.loads(json.dumps(bundle)))  # JSON-able and valid R4B
    assert bundle["type"] == "collection"
    (patient,) = _resources(bundle, "Patient")
    assert patient["identifier"][0]["value"] == "P-001"
    assert set(patient) == {"resourceType", "identifier"}  # no demographics

    plan = _careplan(bundle)
    assert (plan["status"], plan["intent"]) == ("active", "plan")
    activities = plan["activity"]
    assert len(activities) == len(prog.table)
    codes = [a["detail"]["code"]["coding"][0] for a in activities]
    assert {c["system"] for c in codes} == {EXERCISE_SYSTEM}
    assert [c["code"] for c in codes] == list(prog.table["exercise_id"])
    assert len(plan["addresses"]) == 2


def test_careplan_timing_comes_only_from_known_doses():
    prog = sk.build_programme(["sciatica", "piriformis_syndrome"])
    plan = _careplan(careplan_bundle(prog))
    rows = prog.table.to_dict("records")
    per_day_seen = unscheduled_seen = 0
    for row, act in zip(rows, plan["activity"], strict=True):
        detail = act["detail"]
        assert detail["description"].startswith(row["dose"])
        known = [row[k] for k in ("times_per_day", "days_per_week", "minutes")]
        if all(pd.isna(v) for v in known):
            assert "scheduledTiming" not in detail, row["exercise_id"]
            unscheduled_seen += 1
        elif not pd.isna(row["times_per_day"]) and (
            pd.isna(row["days_per_week"]) or row["days_per_week"] == 7
        ):
            repeat = detail["scheduledTiming"]["repeat"]
            assert repeat["frequency"] == row["times_per_day"]
            assert (repeat["period"], repeat["periodUnit"]) == (1, "d")
            per_day_seen += 1
    assert per_day_seen >= 2 and unscheduled_seen >= 2  # the programme covers both cases


def test_careplan_dose_extension_carries_exact_numbers():
    prog = sk.build_programme(["sciatica"]).set_dose("walking", minutes=30, days_per_week=5)
    plan = _careplan(careplan_bundle(prog))
    walking = next(
        a["detail"]
        for a in plan["activity"]
        if a["detail"]["code"]["coding"][0]["code"] == "walking"
    )
    parts = {e["url"]: e for e in walking["extension"][0]["extension"]}
    assert parts["minutes"]["valueQuantity"]["value"] == 30
    assert walking["scheduledTiming"]["repeat"]["periodUnit"] == "wk"
    assert walking["scheduledTiming"]["repeat"]["duration"] == 30


def test_sciatica_condition_has_snomed_and_local_codes():
    bundle = careplan_bundle(sk.build_programme(["sciatica", "piriformis_syndrome"]))
    by_local = {}
    for cond in _resources(bundle, "Condition"):
        codings = {c["system"]: c["code"] for c in cond["code"]["coding"]}
        by_local[codings["https://sciatica-kit.invalid/CodeSystem/condition"]] = codings
    assert by_local["sciatica"]["http://snomed.info/sct"] == "23056005"
    assert "http://snomed.info/sct" not in by_local["piriformis_syndrome"]


def test_blocked_programme_exports_no_activities_and_the_referral():
    prog = sk.build_programme(["sciatica"], red_flags=["cauda_equina"], patient="P-9")
    assert prog.blocked
    bundle = careplan_bundle(prog)
    Bundle.model_validate(bundle)
    plan = _careplan(bundle)
    assert plan["status"] == "on-hold"
    assert not plan.get("activity")
    assert prog.referral.text in [n["text"] for n in plan["note"]]


def test_careplan_copies_patient_id_as_data():
    odd = 'P-1 <img src=x onerror=alert(1)> "quoted" ü'
    bundle = careplan_bundle(sk.build_programme(["sciatica"]), patient_id=odd)
    (patient,) = _resources(bundle, "Patient")
    assert patient["identifier"][0]["value"] == odd


# --------------------------------------------------------------------------- Observations


def test_observations_round_trip_is_exact(log):
    bundle = observations_bundle(log)
    Bundle.model_validate(bundle)
    assert len(_resources(bundle, "Observation")) == len(log)
    assert len(_resources(bundle, "Patient")) == 2

    back = read_observations(json.dumps(bundle))
    expected = log.sort_values(KEYS).reset_index(drop=True)
    got = back.sort_values(KEYS).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_read_observations_from_a_path(log, tmp_path):
    path = write_bundle(observations_bundle(log), tmp_path / "obs.json")
    assert len(read_observations(path)) == len(log)
    assert len(read_observations(str(path))) == len(log)


def test_observation_codes_categories_units_and_sides(log):
    observations = _resources(observations_bundle(log), "Observation")
    by_row = {}
    for key, obs in zip(log["measure"] + "/" + log["side"], observations, strict=True):
        by_row.setdefault(key, obs)  # first row of each measure/side

    def loinc(obs):
        return [c["code"] for c in obs["code"]["coding"] if c["system"] == LOINC]

    def local(obs):
        return [c["code"] for c in obs["code"]["coding"] if c["system"] == MEASURE_SYSTEM]

    for key in ("pain/", "back_pain/", "leg_pain/"):
        assert loinc(by_row[key]) == ["72514-3"]
        assert by_row[key]["category"][0]["coding"][0]["code"] == "survey"
    assert local(by_row["back_pain/"]) == ["back_pain"]
    assert loinc(by_row["odi/"]) == ["97908-8"]
    assert loinc(by_row["fingertip_floor/"]) == []
    assert by_row["fingertip_floor/"]["category"][0]["coding"][0]["code"] == "exam"
    assert by_row["adherence/"]["category"][0]["coding"][0]["code"] == "therapy"
    assert by_row["slr/left"]["bodySite"]["coding"][0]["code"] == "7771000"
    assert by_row["slr/right"]["bodySite"]["coding"][0]["code"] == "24028007"
    assert "bodySite" not in by_row["odi/"]
    assert by_row["slr/left"]["valueQuantity"]["code"] == "deg"
    assert by_row["fingertip_floor/"]["valueQuantity"]["code"] == "cm"
    assert by_row["odi/"]["valueQuantity"]["code"] == "%"
    assert by_row["pain/"]["valueQuantity"]["code"] == "{score}"
    assert by_row["pain/"]["effectiveDateTime"] == "2025-03-01"
    assert by_row["leg_pain/"]["note"][0]["text"].startswith("<script>")
    assert "note" not in by_row["odi/"]


def test_patient_id_override(log):
    back = read_observations(observations_bundle(log, patient_id="PSEUDO-7"))
    assert set(back["patient_id"]) == {"PSEUDO-7"}


def test_loinc_only_observation_reads_as_pain(log):
    bundle = observations_bundle(log.head(1))
    coding = _resources(bundle, "Observation")[0]["code"]["coding"]
    coding[:] = [c for c in coding if c["system"] == LOINC]
    assert read_observations(bundle)["measure"].tolist() == ["pain"]


# --------------------------------------------------------------------------- errors


def _broken(log, change) -> dict:
    bundle = copy.deepcopy(observations_bundle(log))
    change(bundle["entry"][3]["resource"])
    return bundle


def test_missing_value_names_entry_and_field(log):
    bundle = _broken(log, lambda obs: obs.pop("valueQuantity"))
    with pytest.raises(ValueError, match=r"entry 3 .*valueQuantity.*Give valueQuantity.value"):
        read_observations(bundle)


def test_unknown_measure_code_names_entry_and_suggests(log):
    def rename(obs):
        for c in obs["code"]["coding"]:
            if c["system"] == MEASURE_SYSTEM:
                c["code"] = "leg_pian"

    with pytest.raises(ValueError, match=r"entry 3 .*code\.coding.*Did you mean 'leg_pain'"):
        read_observations(_broken(log, rename))


def test_invalid_fhir_names_entry_and_field(log):
    bundle = _broken(log, lambda obs: obs.update(effectiveDateTime="2025-13-45"))
    with pytest.raises(ValueError, match=r"entry 3, field effectiveDateTime"):
        read_observations(bundle)


def test_not_a_bundle_is_refused(log):
    obs = _resources(observations_bundle(log), "Observation")[0]
    with pytest.raises(ValueError, match=r"Not a FHIR Bundle \(resourceType is 'Observation'\)"):
        read_observations(obs)
    with pytest.raises(ValueError, match="not valid JSON"):
        read_observations("{not json")


def test_export_rejects_unknown_measure_in_log(log):
    bad = log.copy()
    bad.loc[2, "measure"] = "legpain"
    with pytest.raises(ValueError, match=r"Log row 2: Unknown measure 'legpain'"):
        observations_bundle(bad)


# --------------------------------------------------------------------------- files


def test_write_bundle_is_owner_only(tmp_path, log):
    bundle = observations_bundle(log)
    path = write_bundle(bundle, tmp_path / "sub" / "obs.json")
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text(encoding="utf-8")) == bundle
    assert "<script>" in path.read_text(encoding="utf-8")  # data, kept as typed


def test_write_bundle_refuses_invalid(tmp_path):
    with pytest.raises(ValueError, match="Not a FHIR Bundle"):
        write_bundle({"resourceType": "Patient"}, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()
