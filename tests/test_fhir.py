"""FHIR R4 exchange: Observations from other systems, CarePlans and questionnaires both ways,
codes from the catalogue, patient identity, and the official R4 JSON schema for every export."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
import subprocess
import tomllib
import warnings
from pathlib import Path

import pandas as pd
import pytest
from fhir.resources.R4B.bundle import Bundle

import sciatica_kit as sk
from sciatica_kit import fhir
from sciatica_kit.fhir import (
    EXERCISE_SYSTEM,
    LOINC,
    MEASURE_SYSTEM,
    PATIENT_ID_SYSTEM,
    PROGRAMME_EXTENSION,
    SNOMED,
    IdentityWarning,
    careplan_bundle,
    import_observations,
    observations_bundle,
    questionnaire,
    questionnaire_bundle,
    read_careplan,
    read_observations,
    write_bundle,
)
from sciatica_kit.log import LogError, conform_log, validate_log
from tidy_logs import assert_same_log

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "data" / "fhir"
MANIFEST = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))
TODAY = dt.date.fromisoformat(MANIFEST["today"])
FILES = MANIFEST["file"]
NODE_MODULES = REPO / ".state" / "npm" / "node_modules"
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


@pytest.fixture(autouse=True)
def _no_clinic_settings(monkeypatch, tmp_path):
    """No clinic settings file unless a test writes one."""
    monkeypatch.setenv("SCIATICA_KIT_SETTINGS", str(tmp_path / "no-settings.toml"))


def _expected(rows: list) -> pd.DataFrame:
    frame = pd.DataFrame([list(r) for r in rows], columns=["patient_id", "date", "measure", "side", "value", "note"])
    frame["date"] = pd.to_datetime(frame["date"], format="ISO8601")
    return conform_log(frame)


# --------------------------------------------------------------------------- the corpus


def test_corpus_is_large_and_every_file_is_in_the_manifest():
    on_disk = {p.name for p in CORPUS.iterdir() if p.is_file()} - {"manifest.toml"}
    listed = [f["name"] for f in FILES]
    assert len(listed) == len(set(listed)) and on_disk == set(listed)
    assert len(listed) >= 20
    kinds = {f["name"].split("_")[0] for f in FILES}
    assert {"obs", "qr", "careplan", "reject"} <= kinds
    for f in FILES:
        assert sum(k in f for k in ("rows", "reject", "programme")) == 1, f["name"]


@pytest.mark.parametrize("entry", [f for f in FILES if "programme" not in f], ids=lambda f: f["name"])
def test_corpus_file_imports_exactly_or_is_refused_by_resource(entry):
    path = CORPUS / entry["name"]
    if "rows" in entry:
        got = import_observations(path, today=TODAY, **entry.get("read", {}))
        if entry["rows"]:
            assert_same_log(got.log, _expected(entry["rows"]))
        else:
            assert got.log.empty
        assert sorted(got.skipped["resource"]) == sorted(entry.get("skipped", []))
        for name in entry.get("skipped", []):
            assert name in got.report
        return
    with pytest.raises(LogError) as err:
        import_observations(path, today=TODAY, **entry.get("read", {}))
    problems = [p.problem for p in err.value.problems]
    assert len(problems) == len(entry["reject"]), problems
    for want, got in zip(sorted(entry["reject"]), sorted(problems), strict=True):
        assert got.startswith(want + ":"), (want, got)
    assert "Nothing was saved" in str(err.value)
    assert "Traceback" not in str(err.value)


def _issued(bundle: dict) -> tuple[list[dict], list[str]]:
    """What a CarePlan file itself says was issued: per exercise the dose numbers, reasons, cautions; the kept-out ids."""
    from sciatica_kit.catalog import DOSE_FIELDS

    doing, kept_out = [], []
    for act in _careplan(bundle).get("activity", []):
        detail = act.get("detail")
        if detail is None:
            continue
        ex_id = detail["code"]["coding"][0]["code"]
        if detail.get("doNotPerform"):
            kept_out.append(ex_id)
            continue
        parts = {e["url"]: e for e in detail["extension"][0]["extension"]}
        dose = {k: parts[k].get("valueInteger", parts[k].get("valueQuantity", {}).get("value")) if k in parts else None
                for k in DOSE_FIELDS}
        doing.append({"exercise_id": ex_id, **dose, "each_side": parts["each_side"]["valueBoolean"],
                      "reason": [r["text"] for r in detail.get("reasonCode", [])],
                      "cautions": [c["text"].removeprefix("Caution: ") for c in act.get("progress", [])]})
    return doing, kept_out


@pytest.mark.parametrize("entry", [f for f in FILES if "programme" in f], ids=lambda f: f["name"])
def test_corpus_careplan_reads_back_to_the_programme_as_issued(entry):
    from sciatica_kit.catalog import DOSE_FIELDS

    bundle = json.loads((CORPUS / entry["name"]).read_text(encoding="utf-8"))
    got = read_careplan(bundle)
    spec = entry["programme"]
    assert got.conditions == tuple(spec["conditions"]) and got.findings == tuple(spec.get("findings", ()))
    assert got.red_flags == tuple(spec.get("red_flags", ())) and got.blocked == bool(spec.get("red_flags"))
    assert (got.patient, got.created) == (spec["patient"], dt.date.fromisoformat(spec["created"]))
    assert (got.referral is None) == (not _resources(bundle, "ServiceRequest"))
    doing, kept_out = _issued(bundle)
    rows = got.table.to_dict("records")
    assert [r["exercise_id"] for r in rows] == [d["exercise_id"] for d in doing]
    for row, issued in zip(rows, doing, strict=True):
        for k in DOSE_FIELDS:  # every dose number, timing included, as issued
            assert (None if pd.isna(row[k]) else float(row[k])) == (None if issued[k] is None else float(issued[k])), (row["exercise_id"], k)
        assert bool(row["each_side"]) == issued["each_side"]
        if not entry.get("rebuilt"):  # the kit's own plan: reasons and cautions as issued too
            assert [r for r in row["reason"].split("\n") if r.strip()] == issued["reason"]
            assert [c for c in row["cautions"].split("\n") if c.strip()] == issued["cautions"]
    if not entry.get("rebuilt"):
        assert list(got.excluded["exercise_id"]) == kept_out
        assert got.clinic == spec.get("clinic")
        for req in _resources(bundle, "ServiceRequest"):
            assert got.referral.text == req["note"][0]["text"]


def test_import_report_lists_skipped_resources_in_words():
    got = import_observations(CORPUS / "obs_unrelated_observations.json", today=TODAY)
    assert "Body weight" in got.report and "Imported 1 measurement(s)" in got.report
    assert len(got.log) == 1


def test_wrong_unit_refuses_the_whole_bundle_and_names_the_unit():
    with pytest.raises(LogError) as err:
        import_observations(CORPUS / "reject_wrong_unit.json", today=TODAY)
    assert "unit 'kg' cannot be read as deg" in str(err.value)
    assert "deg, rad" in str(err.value)


def test_value_decimal_is_read_and_reported():
    got = import_observations(CORPUS / "obs_value_decimal.json", today=TODAY)
    assert any("valueDecimal" in n for n in got.notes)


def test_names_in_patient_resources_never_become_the_id():
    got = import_observations(CORPUS / "obs_searchset_integer.json", today=TODAY)
    assert set(got.log["patient_id"]) == {"MRN-1001"}  # the medical-record number, not "Demo Example"


def test_two_unincluded_patients_with_one_patient_id_are_refused():
    data = json.loads((CORPUS / "obs_patient_not_included_named.json").read_text())
    other = copy.deepcopy(data["entry"][0])
    other["resource"].update(id="pain-z", subject={"reference": "Patient/998"}, effectiveDateTime="2026-03-03")
    data["entry"].append(other)
    with pytest.raises(LogError, match="2 different patients"):
        import_observations(data, patient_id="P-200", today=TODAY)


# --------------------------------------------------------------------------- Observations out and back


def test_observations_round_trip_is_exact(log):
    bundle = observations_bundle(log)
    Bundle.model_validate(bundle)
    assert len(_resources(bundle, "Observation")) == len(log)
    assert len(_resources(bundle, "Patient")) == 2
    back = read_observations(json.dumps(bundle))
    assert_same_log(back, validate_log(log))


def test_time_of_day_is_kept_both_ways(log):
    timed = log.copy()
    timed.loc[0, "date"] = pd.Timestamp("2025-03-01 09:30:00")
    bundle = observations_bundle(timed)
    first = _resources(bundle, "Observation")[0]
    assert first["effectiveDateTime"].startswith("2025-03-01T09:30:00")
    assert first["effectiveDateTime"][19:] != ""  # a time carries its UTC offset, as FHIR requires
    assert _resources(bundle, "Observation")[1]["effectiveDateTime"] == "2025-03-01"
    back = read_observations(bundle)
    pain = back[(back["measure"] == "pain") & (back["date"].dt.date == dt.date(2025, 3, 1))]
    assert pain["date"].tolist() == [pd.Timestamp("2025-03-01 09:30:00")]


def test_read_observations_from_a_path(log, tmp_path):
    path = write_bundle(observations_bundle(log), tmp_path / "obs.json")
    assert len(read_observations(path)) == len(log)
    assert len(read_observations(str(path))) == len(log)


def test_observation_codes_categories_units_and_sides(log):
    observations = _resources(observations_bundle(log), "Observation")
    by_row = {}
    for key, obs in zip(log["measure"] + "/" + log["side"], observations, strict=True):
        by_row.setdefault(key, obs)

    def codes(obs, system):
        return [c["code"] for c in obs["code"]["coding"] if c["system"] == system]

    for key in ("pain/", "back_pain/", "leg_pain/"):
        assert codes(by_row[key], LOINC) == ["72514-3"]
        assert by_row[key]["code"]["coding"][0]["display"] == "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
        assert by_row[key]["category"][0]["coding"][0]["code"] == "survey"
    assert codes(by_row["back_pain/"], MEASURE_SYSTEM) == ["back_pain"]
    assert codes(by_row["odi/"], LOINC) == ["97908-8"]
    assert codes(by_row["fingertip_floor/"], LOINC) == []
    assert by_row["fingertip_floor/"]["category"][0]["coding"][0]["code"] == "exam"
    assert by_row["adherence/"]["category"][0]["coding"][0]["code"] == "therapy"
    left, right = by_row["slr/left"]["bodySite"]["coding"][0], by_row["slr/right"]["bodySite"]["coding"][0]
    assert (left["code"], left["display"]) == ("32153003", "Structure of left lower limb")
    assert (right["code"], right["display"]) == ("62175007", "Structure of right lower limb")
    assert "bodySite" not in by_row["odi/"]
    assert by_row["slr/left"]["valueQuantity"]["code"] == "deg"
    assert by_row["fingertip_floor/"]["valueQuantity"]["code"] == "cm"
    assert by_row["odi/"]["valueQuantity"]["code"] == "%"
    assert by_row["pain/"]["valueQuantity"]["code"] == "{score}"
    assert by_row["leg_pain/"]["note"][0]["text"].startswith("<script>")


def test_patient_id_override(log):
    back = read_observations(observations_bundle(log, patient_id="PSEUDO-7"))
    assert set(back["patient_id"]) == {"PSEUDO-7"}


def test_loinc_only_observation_reads_as_pain(log):
    bundle = observations_bundle(log.head(1))
    coding = _resources(bundle, "Observation")[0]["code"]["coding"]
    coding[:] = [c for c in coding if c["system"] == LOINC]
    assert read_observations(bundle)["measure"].tolist() == ["pain"]


def test_unknown_kit_measure_code_names_resource_and_suggests(log):
    bundle = observations_bundle(log.head(3))
    for c in _resources(bundle, "Observation")[2]["code"]["coding"]:
        if c["system"] == MEASURE_SYSTEM:
            c["code"] = "leg_pian"
    with pytest.raises(LogError, match=r"Observation \(entry 3\), code: .*Did you mean 'leg_pain'"):
        read_observations(bundle)


def test_invalid_fhir_is_a_problem_of_that_resource(log):
    bundle = observations_bundle(log.head(3))
    _resources(bundle, "Observation")[2]["effectiveDateTime"] = "2025-13-45"
    with pytest.raises(LogError, match=r"Observation \(entry 3\)"):
        read_observations(bundle)


def test_not_fhir_is_refused():
    with pytest.raises(ValueError, match="not valid JSON"):
        read_observations("{not json")
    with pytest.raises(ValueError, match="cannot be read"):
        read_observations({"resourceType": "Bundle", "type": "history", "entry": []})


def test_export_rejects_unknown_measure_in_log(log):
    bad = log.copy()
    bad.loc[2, "measure"] = "legpain"
    with pytest.raises(ValueError, match=r"Log row 2: Unknown measure 'legpain'"):
        observations_bundle(bad)


# --------------------------------------------------------------------------- CarePlan


def test_careplan_bundle_validates_and_mirrors_the_table():
    prog = sk.build_programme(["sciatica", "piriformis_syndrome"], patient="P-001")
    bundle = careplan_bundle(prog, clinic="Back Clinic")
    Bundle.model_validate(json.loads(json.dumps(bundle)))
    (patient,) = _resources(bundle, "Patient")
    assert patient["identifier"][0] == {"system": PATIENT_ID_SYSTEM, "value": "P-001"}
    assert set(patient) == {"resourceType", "identifier"}  # no demographics
    plan = _careplan(bundle)
    assert (plan["status"], plan["intent"]) == ("active", "plan")
    doing = [a for a in plan["activity"] if not a["detail"].get("doNotPerform")]
    assert [a["detail"]["code"]["coding"][0]["code"] for a in doing] == list(prog.table["exercise_id"])
    assert {a["detail"]["code"]["coding"][0]["system"] for a in doing} == {EXERCISE_SYSTEM}
    kept_out = [a["detail"] for a in plan["activity"] if a["detail"].get("doNotPerform")]
    assert [d["code"]["coding"][0]["code"] for d in kept_out] == list(prog.excluded["exercise_id"])
    assert all(d["reasonCode"][0]["text"] for d in kept_out)
    assert len(plan["addresses"]) == 2


def test_dose_timing_is_per_day_with_days_a_week_never_a_weekly_product():
    prog = sk.build_programme(["sciatica"]).set_dose("seated_sciatic_nerve_glide", times_per_day=2, days_per_week=5)
    plan = _careplan(careplan_bundle(prog))
    glide = next(a["detail"] for a in plan["activity"] if a["detail"]["code"]["coding"][0]["code"] == "seated_sciatic_nerve_glide")
    timing = glide["scheduledTiming"]
    assert timing["repeat"] == {"frequency": 2, "period": 1, "periodUnit": "d"}
    assert "twice a day" in timing["code"]["text"] and "5 days a week" in timing["code"]["text"]
    parts = {e["url"]: e for e in glide["extension"][0]["extension"]}
    assert (parts["times_per_day"]["valueInteger"], parts["days_per_week"]["valueInteger"]) == (2, 5)
    assert "10" not in json.dumps(timing)


def test_timing_days_a_week_alone_and_named_days():
    from sciatica_kit.fhir.careplan import timing

    assert timing({"days_per_week": 3})["repeat"] == {"frequency": 3, "period": 1, "periodUnit": "wk"}
    assert timing({"days_per_week": 7})["repeat"] == {"frequency": 1, "period": 1, "periodUnit": "d"}
    said = {"up to 5 times a day": (1, 5), "Repeat 15 times, 2\u20133 times a day": (2, 3), "At least twice a day": (2, None),
            "twice a day": (2, None), "Repeat 20 times, 3 times a day": (3, None)}
    for words, (low, high) in said.items():
        repeat = timing({"times_per_day": 5, "dose": words})["repeat"]
        assert (repeat["frequency"], repeat.get("frequencyMax")) == (low, high), words
        assert timing({"times_per_day": 5, "dose": words})["code"]["text"] == words
    named = timing({"times_per_day": 1, "days_per_week": 3, "days_of_week": ["mon", "wed", "fri"]})
    assert named["repeat"] == {"frequency": 1, "period": 1, "periodUnit": "d", "dayOfWeek": ["mon", "wed", "fri"]}
    assert timing({"minutes": 20})["repeat"] == {"duration": 20.0, "durationUnit": "min"}
    assert timing({}) is None


def test_careplan_timing_comes_only_from_known_doses():
    prog = sk.build_programme(["sciatica", "piriformis_syndrome"])
    plan = _careplan(careplan_bundle(prog))
    unscheduled = 0
    for row, act in zip(prog.table.to_dict("records"), plan["activity"], strict=False):
        detail = act["detail"]
        assert detail["description"].startswith(row["dose"])
        if all(pd.isna(row[k]) for k in ("times_per_day", "days_per_week", "minutes")):
            assert "scheduledTiming" not in detail
            unscheduled += 1
        elif not pd.isna(row["times_per_day"]):
            repeat = detail["scheduledTiming"]["repeat"]
            assert row["times_per_day"] in (repeat["frequency"], repeat.get("frequencyMax"))
            assert detail["scheduledTiming"]["code"]["text"] == row["dose"]
    assert unscheduled >= 2


def test_careplan_round_trip_keeps_reasons_cautions_doses_and_kept_out():
    prog = (
        sk.build_programme(["spinal_stenosis", "herniated_disc"], findings=["extension_preference"], patient="P-9")
        .set_dose("walking", minutes=25, days_per_week=4)
        .remove("abdominal_bracing", "Not today")
    )
    back = read_careplan(json.loads(json.dumps(careplan_bundle(prog))))
    pd.testing.assert_frame_equal(back.table, prog.table)
    assert back.excluded.to_dict("records") == prog.excluded.to_dict("records")
    assert back.findings == prog.findings and back.patient == "P-9"


def test_blocked_programme_exports_the_referral_and_red_flags():
    prog = sk.build_programme(["sciatica"], red_flags=["cauda_equina"], patient="P-9")
    bundle = careplan_bundle(prog)
    plan = _careplan(bundle)
    assert plan["status"] == "on-hold"
    assert not [a for a in plan["activity"] if "detail" in a]
    assert prog.referral.text in [n["text"] for n in plan["note"]]
    (request,) = _resources(bundle, "ServiceRequest")
    assert request["priority"] == "stat"
    flags = [c for c in _resources(bundle, "Condition") if c.get("verificationStatus")]
    (flag,) = flags
    assert {"system": SNOMED, "code": "192970008", "display": "Cauda equina syndrome"} in flag["code"]["coding"]
    assert read_careplan(bundle).blocked


def test_unblocked_programme_with_a_referral_exports_it():
    prog = sk.build_programme(["axial_back_pain"], red_flags=["inflammatory_suspected"])
    bundle = careplan_bundle(prog)
    if prog.blocked:  # on main a red flag blocks; issue 10 lets this one refer alongside exercise
        assert _careplan(bundle)["status"] == "on-hold"
    assert len(_resources(bundle, "ServiceRequest")) == 1


def test_findings_leave_the_kit_as_observations():
    bundle = careplan_bundle(sk.build_programme(["sciatica"], findings=["severe_nerve_damage"]))
    (finding,) = _resources(bundle, "Observation")
    assert finding["code"]["coding"][0]["code"] == "severe_nerve_damage" and finding["valueBoolean"] is True
    assert _careplan(bundle)["supportingInfo"]


def test_another_systems_careplan_with_unknown_exercise_names_the_valid_ids():
    bundle = json.loads((CORPUS / "careplan_without_record.json").read_text())
    plan = _careplan(bundle)
    plan["activity"][1]["detail"]["code"]["coding"][0]["code"] = "seated_sciatic_nerve_glyde"
    with pytest.raises(ValueError, match="seated_sciatic_nerve_glide"):
        read_careplan(bundle)
    with pytest.raises(ValueError, match="No CarePlan"):
        read_careplan(CORPUS / "obs_fingertip_mm.json")


# --------------------------------------------------------------------------- codes in the catalogue


def test_codes_file_names_only_catalogue_ids_and_sources():
    codes = fhir.load_codes()
    cat = sk.load_catalog()
    assert set(codes["condition"]) <= set(cat.conditions.index)
    assert set(codes["red_flag"]) <= set(cat.red_flags.index)
    assert set(codes["measure"]) == set(cat.measures.index)
    for kind in ("condition", "red_flag", "side"):
        for rec in codes[kind].values():
            assert rec["snomed"].isdigit() and rec["display"] and rec["source"]
    for mid, rec in codes["measure"].items():
        assert rec["ucum"] in rec["units"], mid
        if rec.get("loinc"):
            assert rec["loinc_display"] and rec["source"], mid


def test_conditions_carry_snomed_with_official_terms():
    bundle = careplan_bundle(sk.build_programme(["sciatica", "spinal_stenosis", "axial_back_pain", "piriformis_syndrome"]))
    by_local = {}
    for cond in _resources(bundle, "Condition"):
        codings = {c["system"]: c for c in cond["code"]["coding"]}
        by_local[codings["https://sciatica-kit.invalid/CodeSystem/condition"]["code"]] = codings
    assert by_local["sciatica"][SNOMED]["display"] == "Sciatica"
    assert (by_local["spinal_stenosis"][SNOMED]["code"], by_local["spinal_stenosis"][SNOMED]["display"]) == (
        "18347007", "Spinal stenosis of lumbar region")
    assert by_local["axial_back_pain"][SNOMED]["code"] == "279039007"
    assert SNOMED not in by_local["piriformis_syndrome"]  # no sourced code: the kit's code only


# --------------------------------------------------------------------------- questionnaires


@pytest.mark.parametrize(
    ("measure", "answers", "score"),
    [
        ("odi", [1, 2, 3, 2, 1, 0, 2, 3, 1, 2], 34.0),
        ("odi", [1, 2, 3, 2, 1, 0, 2, None, 1, 2], round(14 / 45 * 100, 2)),
        ("rmdq", [True] * 5 + [False] * 19, 5.0),
        ("rmdq", [True] * 5 + [None] * 19, 5.0),
        ("start_back", [1, 1, 0, 1, 1, 1, 0, 0, "Very much"], 6.0),
        ("sbi", [4, 3, 2, 5], 14.0),
    ],
)
def test_questionnaire_round_trip_scores_like_the_scorers(measure, answers, score):
    bundle = questionnaire_bundle(measure, answers, patient_id="P-1", authored="2025-03-01")
    (qr,) = _resources(bundle, "QuestionnaireResponse")
    assert qr["status"] == "completed"
    assert qr["questionnaire"] == questionnaire(measure)["url"]
    back = read_observations(bundle)
    assert back[["patient_id", "measure", "value"]].values.tolist() == [["P-1", measure, score]]


@pytest.mark.parametrize(
    ("measure", "answers", "why"),
    [
        ("odi", [1, None, None, 2, 1, None, 2, 3, 1, 2], "3 sections"),
        ("start_back", [1, 1, None, 1, 1, 1, 0, 0, "Very much"], "item 3 is blank"),
        ("sbi", [4, None, 2, 5], "all four items"),
        ("rmdq", [None] * 24, "blank"),
    ],
)
def test_incomplete_questionnaire_is_in_progress_and_refused_on_import(measure, answers, why):
    bundle = questionnaire_bundle(measure, answers, patient_id="P-1", authored="2025-03-01")
    (qr,) = _resources(bundle, "QuestionnaireResponse")
    assert qr["status"] == "in-progress"
    assert not [i for i in qr["item"] if i["linkId"].endswith("score")]
    with pytest.raises(LogError, match=why):
        read_observations(bundle)


def test_questionnaire_items_are_the_kits_words_not_the_licensed_form():
    from sciatica_kit.measures import START_BACK_ITEMS

    texts = [i["text"] for i in questionnaire("start_back")["item"]]
    for licensed in START_BACK_ITEMS:
        assert licensed not in texts
    assert questionnaire("odi")["code"][0]["code"] == "97908-8"


# --------------------------------------------------------------------------- identity


def test_identifier_system_comes_from_the_clinic_settings(monkeypatch, tmp_path, log):
    settings = tmp_path / "settings.toml"
    settings.write_text('[clinic]\nidentifier_system = "https://riverside-physio.example/patient-id"\n')
    monkeypatch.setenv("SCIATICA_KIT_SETTINGS", str(settings))
    (patient, *_) = _resources(careplan_bundle(sk.build_programme(["sciatica"]), patient_id="P-001"), "Patient")
    assert patient["identifier"] == [{"system": "https://riverside-physio.example/patient-id", "value": "P-001"}]
    bundle = observations_bundle(log)
    assert {p["identifier"][0]["system"] for p in _resources(bundle, "Patient")} == {"https://riverside-physio.example/patient-id"}
    assert set(read_observations(bundle)["patient_id"]) == {"P-001", "P-002"}


@pytest.mark.parametrize("name", ["Jane Smith", "Smith, Jane", "O'Neil", "José Álvarez-Núñez"])
def test_a_name_as_patient_id_is_never_exported(name):
    with pytest.warns(IdentityWarning, match="looks like a person's name"):
        bundle = careplan_bundle(sk.build_programme(["sciatica"]), patient_id=name)
    (patient,) = _resources(bundle, "Patient")
    assert "identifier" not in patient
    assert name not in json.dumps(bundle, ensure_ascii=False)


@pytest.mark.parametrize("number", ["943 476 5919", "9434765919", "123-45-6789", "1234567890123"])
def test_a_national_number_as_patient_id_is_warned_about(number):
    with pytest.warns(IdentityWarning, match="national or insurance number"):
        careplan_bundle(sk.build_programme(["sciatica"]), patient_id=number)


@pytest.mark.parametrize("ok", ["P-001", "DEMO-001", "MRN-1001", "12345", 'P-1 <img src=x onerror=alert(1)> "quoted" ü'])
def test_clinic_numbers_pass_without_warning(ok):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (patient,) = _resources(careplan_bundle(sk.build_programme(["sciatica"]), patient_id=ok), "Patient")
    assert patient["identifier"][0]["value"] == ok


# --------------------------------------------------------------------------- the official R4 JSON schema


def _schema_errors(paths: list[Path]) -> dict[str, list[str]]:
    node = shutil.which("node")
    validator = NODE_MODULES / "@asymmetrik" / "fhir-json-schema-validator"
    if node is None or not validator.is_dir():
        pytest.fail(
            "The FHIR R4 JSON schema validator is not installed: run `make install-test` "
            "(it needs node and npm: apt-get install nodejs npm)."
        )
    done = subprocess.run(
        [node, str(CORPUS / "schema" / "validate.js"), *map(str, paths)],
        capture_output=True, text=True, check=True, timeout=300,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    return json.loads(done.stdout)


def _every_export() -> dict[str, dict]:
    log = pd.DataFrame(
        [("P-001", pd.Timestamp("2025-03-01 09:30"), "slr", "left", 40.0, "note"),
         ("P-001", pd.Timestamp("2025-03-01"), "odi", "", 30.0, ""),
         ("P-002", pd.Timestamp("2025-03-02"), "adherence", "", 80.0, "")],
        columns=["patient_id", "date", "measure", "side", "value", "note"],
    )
    out = {
        "observations": observations_bundle(log),
        "careplan": careplan_bundle(sk.build_programme(["sciatica", "spinal_stenosis"], findings=["extension_preference"],
                                                       patient="P-1", clinic="Clinic").set_dose("walking", days_per_week=5)),
        "careplan_blocked": careplan_bundle(sk.build_programme(["sciatica"], red_flags=["cauda_equina", "cancer_suspected"])),
        "careplan_referral": careplan_bundle(sk.build_programme(["axial_back_pain"], red_flags=["inflammatory_suspected"])),
    }
    for measure, answers in {
        "odi": [1, 2, 3, 2, 1, 0, 2, None, 1, 2], "rmdq": [True] * 24, "sbi": [1, 2, 3, None],
        "start_back": [1, 0, 1, 0, 1, 0, 1, 0, "Extremely"],
    }.items():
        out[f"qr_{measure}"] = questionnaire_bundle(measure, answers, patient_id="P-1", authored="2025-03-01T10:00:00")
    return out


def test_every_resource_the_kit_writes_passes_the_official_r4_schema(tmp_path):
    exports = _every_export()
    paths = []
    for name, bundle in exports.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(bundle), encoding="utf-8")
        paths.append(path)
        for i, entry in enumerate(bundle["entry"]):  # each resource alone as well
            one = tmp_path / f"{name}-{i}-{entry['resource']['resourceType']}.json"
            one.write_text(json.dumps(entry["resource"]), encoding="utf-8")
            paths.append(one)
    kinds = {e["resource"]["resourceType"] for b in exports.values() for e in b["entry"]}
    assert {"Patient", "Condition", "Observation", "ServiceRequest", "CarePlan", "Questionnaire", "QuestionnaireResponse"} <= kinds
    errors = _schema_errors(paths)
    assert {k: v for k, v in errors.items() if v} == {}
    assert len(errors) == len(paths)


def test_the_schema_check_does_fail_on_a_broken_resource(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueDecimal": 3}))
    assert _schema_errors([bad])[str(bad)]


def test_the_corpus_is_valid_r4_except_the_files_that_test_leniency():
    lenient = {"obs_value_decimal.json"}  # valueDecimal is not an R4 Observation field
    paths = sorted(p for p in CORPUS.iterdir() if p.suffix == ".json")
    errors = _schema_errors(paths)
    assert {Path(k).name for k, v in errors.items() if v} == lenient


# --------------------------------------------------------------------------- files


def test_write_bundle_is_owner_only(tmp_path, log):
    bundle = observations_bundle(log)
    path = write_bundle(bundle, tmp_path / "sub" / "obs.json")
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text(encoding="utf-8")) == bundle
    assert "<script>" in path.read_text(encoding="utf-8")


def test_write_bundle_refuses_invalid(tmp_path):
    with pytest.raises(ValueError, match="Not a FHIR Bundle"):
        write_bundle({"resourceType": "Patient"}, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_round_trip_keeps_program_record_out_of_the_patient_name():
    with pytest.warns(IdentityWarning):
        bundle = careplan_bundle(sk.build_programme(["sciatica"], patient="Jane Smith"))
    record = json.loads(next(e["valueString"] for e in _careplan(bundle)["extension"] if e["url"] == PROGRAMME_EXTENSION))
    assert record["patient"] is None


def test_questionnaire_answers_in_loinc_yes_no_and_a_wrong_sent_score_is_noted():
    bundle = questionnaire_bundle("rmdq", [True] * 3 + [False] * 21, patient_id="P-1", authored="2025-03-01")
    (qr,) = _resources(bundle, "QuestionnaireResponse")
    for item in qr["item"][:24]:
        ticked = item["answer"][0].pop("valueBoolean")
        item["answer"][0]["valueCoding"] = {"system": LOINC, "code": "LA33-6" if ticked else "LA32-8"}
    qr["item"][-1]["answer"] = [{"valueInteger": 9}]
    got = import_observations(bundle)
    assert got.log["value"].tolist() == [3.0]
    assert any("says 9 but its answers score 3" in n for n in got.notes)


def test_the_red_flag_screen_travels_in_the_plan_notes_when_the_programme_has_one():
    from sciatica_kit.fhir.careplan import _screen_text

    prog = sk.build_programme(["sciatica"])
    assert _screen_text(None) == ""
    assert _screen_text({"done": True, "ticked": []}) == "done: True"
    with_screen = type("S", (), {"text": "No red flags on screening (2026-03-02)."})()
    assert _screen_text(with_screen) == "No red flags on screening (2026-03-02)."
    with_summary = type("S", (), {"summary": lambda self: "Red-flag screen by AK: none present.", "notes": "private"})()
    assert _screen_text(with_summary) == "Red-flag screen by AK: none present."
    assert _screen_text(object()) == "" and "private" not in _screen_text({"notes": "private", "done": True})
    notes = [n["text"] for n in _careplan(careplan_bundle(prog))["note"]]
    if getattr(prog, "screen", None) is not None:
        assert any(n.startswith("Red-flag screen") for n in notes)


def test_import_prefers_the_clinic_number_to_a_national_number_and_notes_one_used():
    nhs = {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}
    data = json.loads((CORPUS / "obs_searchset_integer.json").read_text())
    patient = next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["identifier"] = [nhs, {"system": "urn:oid:2.16.840.1.113883.19.5", "value": "MRN-1001"}]
    got = import_observations(data, today=TODAY)
    assert set(got.log["patient_id"]) == {"MRN-1001"} and not got.notes
    patient["identifier"] = [nhs]
    got = import_observations(data, today=TODAY)
    assert set(got.log["patient_id"]) == {"9434765919"}
    assert any("looks like a national number" in n for n in got.notes)


@pytest.mark.parametrize(
    "change",
    [
        {"valueInteger": 10**30}, {"valueQuantity": {"value": "NaN"}}, {"valueBoolean": True},
        {"valueQuantity": {"unit": "mm"}}, {"code": "pain"}, {"code": {"coding": ["x"]}}, {"subject": "Patient/pt-1"},
        {"bodySite": [1, 2]}, {"effectiveDateTime": 20260302}, {"note": [{"text": "\ud800"}]}, {"status": None},
        {"extension": [{"url": "laterality", "valueCodeableConcept": "left"}]}, {"dataAbsentReason": "x"},
        {"valueQuantity": {"value": 3, "comparator": "<", "unit": "{score}"}},
    ],
    ids=repr,
)
def test_hostile_observations_are_refused_or_skipped_never_crash(change):
    data = json.loads((CORPUS / "obs_unrelated_observations.json").read_text())
    obs = data["entry"][3]["resource"]
    if any(k.startswith("value") for k in change):
        obs.pop("valueInteger")
    obs.update(change)
    try:
        got = import_observations(data, today=TODAY)
    except LogError as err:
        assert all(p.problem.startswith("Observation 'pain-3' (entry 3)") for p in err.problems)
    else:
        assert got.log.empty and "pain-3" in got.report


@pytest.mark.parametrize("junk", [5, None, b"\xff\xfe", "null", {"resourceType": 3}, {"no": "type"}])
def test_what_is_not_fhir_json_gets_a_plain_message(junk):
    with pytest.raises(ValueError) as err:
        import_observations(junk)
    assert "Traceback" not in str(err.value) and "FHIR" in str(err.value)


@pytest.mark.parametrize(("words", "measure"), [("Leg pain", "leg_pain"), ("back pain (0-10)", "back_pain"), ("Pain score", "pain"), ("VAS", "pain")])
def test_a_shared_loinc_code_is_told_apart_by_its_words_through_the_header_aliases(words, measure):
    obs = {"resourceType": "Observation", "status": "final", "subject": {"identifier": {"value": "P-1"}},
           "code": {"coding": [{"system": LOINC, "code": "72514-3"}], "text": words},
           "effectiveDateTime": "2026-03-02", "valueInteger": 5}
    assert import_observations(obs, today=TODAY).log["measure"].tolist() == [measure]


def test_careplan_doses_and_referral_come_from_the_plan_when_a_rebuild_differs():
    """A plan issued under an older catalogue comes back as issued, not as today's rebuild."""
    bundle = json.loads((CORPUS / "careplan_kit_export.json").read_text())
    walking = next(a for a in _careplan(bundle)["activity"] if a.get("detail", {}).get("code", {}).get("coding", [{}])[0].get("code") == "walking")
    for part in walking["detail"]["extension"][0]["extension"]:
        if part["url"] == "minutes":
            part["valueQuantity"]["value"] = 35
    walking["detail"]["reasonCode"] = [{"text": "Issued reason"}]
    row = read_careplan(bundle).table.set_index("exercise_id").loc["walking"]
    assert row["minutes"] == 35 and "35 minutes" in row["dose"] and row["reason"] == "Issued reason"
    blocked = json.loads((CORPUS / "careplan_blocked.json").read_text())
    _resources(blocked, "ServiceRequest")[0]["note"][0]["text"] = "Refer now (as issued)."
    assert read_careplan(blocked).referral.text == "Refer now (as issued)."
