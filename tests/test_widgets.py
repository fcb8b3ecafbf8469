"""Drive every widget app without a browser: set values, click, check model, table and store."""

from __future__ import annotations

import datetime as dt
import html
import json

import pandas as pd
import pytest
from openpyxl import load_workbook

import sciatica_kit as sk
from sciatica_kit.widgets import (
    ClinicOverview,
    ProgrammeBuilder,
    ProgrammeModel,
    ProgressLogger,
    VisitModel,
    progress_charts,
)


@pytest.fixture
def store(tmp_path):
    return sk.seed_demo_store(sk.Store(tmp_path / "kit.sqlite"), n_patients=8)


@pytest.fixture(autouse=True)
def _exports(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIATICA_KIT_EXPORTS", str(tmp_path / "exports"))


# --------------------------------------------------------------------------- programme builder


def test_model_builds_without_widgets():
    model = ProgrammeModel(conditions=["piriformis_syndrome"], phase="chronic")
    prog = model.build()
    assert "floor_bridge" in set(prog.table["exercise_id"])
    model.conditions = []
    assert model.build() is None and "Tick at least one condition" in model.error


def test_builder_builds_the_programme_from_ticked_conditions(store):
    app = ProgrammeBuilder(store=store)
    assert "DEMO-001" in app.patient.options
    app.patient.value = "DEMO-009"
    app.condition_boxes["herniated_disc"].value = True
    app.condition_boxes["piriformis_syndrome"].value = True
    app.phase.value = "chronic"
    app.build_button.click()
    prog = app.model.programme
    assert prog is not None and prog.patient == "DEMO-009" and prog.phase == "chronic"
    assert set(prog.conditions) == {"herniated_disc", "piriformis_syndrome"}
    assert app.message.kind == "success"
    assert "Floor bridge" in app.table.value and "Why" not in app.message.text
    assert app.result_box.layout.display == "flex"


def test_red_flag_shows_referral_and_disables_building(store):
    app = ProgrammeBuilder(store=store)
    app.condition_boxes["sciatica"].value = True
    app.build_button.click()
    app.red_flag_boxes["cauda_equina"].value = True
    assert app.build_button.disabled
    assert "EMERGENCY" in app.referral.value and "emergency department" in app.referral.value
    assert app.model.programme is None and app.result_box.layout.display == "none"
    app.red_flag_boxes["cauda_equina"].value = False
    assert not app.build_button.disabled and app.referral.value == ""


def test_a_referral_reads_the_same_in_the_builder_the_note_and_the_spreadsheet(store, tmp_path):
    """One wording of a referral (screening.referral_rows), shown by the builder, the referral note and its CSV."""
    from sciatica_kit.screening import referral_rows

    flags = ["cancer_history", "cauda_equina"]
    app = ProgrammeBuilder(store=store)
    app.condition_boxes["sciatica"].value = True
    for flag in flags:
        app.red_flag_boxes[flag].value = True
    prog = sk.build_programme(["sciatica"], red_flags=flags)
    rows = referral_rows(prog.referral)
    assert [k for k, _ in rows] == ["How urgently", "Refer to", "Exercise programme", "Why"]
    note = prog.to_html()
    csv = pd.read_csv(prog.to_csv(tmp_path / "referral.csv"), keep_default_na=False)
    exported = dict(zip(csv["Item"], csv["Value"], strict=True))
    for item, value in rows:
        for line in value.split("\n"):
            assert html.escape(line) in app.referral.value, (item, line)
            assert html.escape(line) in note, (item, line)
        assert exported[item] == value
    assert "Do not start it: refer first" in app.referral.value


def test_findings_change_the_programme(store):
    app = ProgrammeBuilder(store=store)
    app.condition_boxes["sciatica"].value = True
    app.finding_boxes["severe_nerve_damage"].value = True
    app.build_button.click()
    assert not app.model.programme.table["category"].str.startswith("nerve glide").any()
    assert "nerve gliding can make symptoms worse" in app.table.value


def test_row_edits_are_recorded(store):
    app = ProgrammeBuilder(store=store)
    app.condition_boxes["sciatica"].value = True
    app.build_button.click()
    app.edit_exercise.value = "seated_sciatic_nerve_glide"
    assert app.dose_inputs["reps"].value == "15"
    app.dose_inputs["reps"].value = "10"
    app.apply_dose_button.click()  # no reason yet: refused, nothing changed
    assert app.edit_message.kind == "error" and "Give a reason" in app.edit_message.text
    assert app.model.programme.table.set_index("exercise_id").loc["seated_sciatic_nerve_glide", "reps"] == 15
    app.edit_reason.value = "irritable nerve"
    app.apply_dose_button.click()
    row = app.model.programme.table.set_index("exercise_id").loc["seated_sciatic_nerve_glide"]
    assert row["reps"] == 10 and "reps 15 -> 10 (reason: irritable nerve)" in row["reason"]
    assert "irritable nerve" in app.edit_message.text
    # the reason typed in the Reason box is stored with the dose edit, not only shown
    assert app.model.programme.to_dict()["dose_reasons"] == {"seated_sciatic_nerve_glide": "irritable nerve"}
    dose = [o for o in app.model.programme.overrides if o["action"] == "dose"]
    assert dose == [{"exercise_id": "seated_sciatic_nerve_glide", "action": "dose", "reason": "irritable nerve",
                     "changes": "reps 15 -> 10", "overrides": []}]
    app.dose_inputs["sets"].value = "lots"
    app.apply_dose_button.click()
    assert app.edit_message.kind == "error" and "'lots' is not a number" in app.edit_message.text
    assert "Seated sciatic nerve glide" in app.edit_message.text and "_" not in app.edit_message.text
    app.edit_exercise.value = "walking"
    app.remove_button.click()  # removing needs a reason too
    assert app.edit_message.kind == "error" and "walking" in set(app.model.programme.table["exercise_id"])
    app.edit_reason.value = "wheelchair user"
    app.remove_button.click()
    assert "walking" not in set(app.model.programme.table["exercise_id"])
    excluded = app.model.programme.excluded.set_index("exercise_id")
    assert "wheelchair user" in excluded.loc["walking", "reason"]
    app.add_exercise.value = "bird_dog"
    app.add_button.click()
    assert "bird_dog" in set(app.model.programme.table["exercise_id"])


def test_forcing_an_excluded_exercise_says_so(store):
    app = ProgrammeBuilder(store=store)
    app.condition_boxes["spinal_stenosis"].value = True
    app.build_button.click()
    app.add_exercise.value = "prone_press_up_on_forearms"
    app.add_button.click()  # forcing an excluded exercise without a reason is refused
    assert app.edit_message.kind == "error" and "give your reason" in app.edit_message.text
    assert "prone_press_up_on_forearms" not in set(app.model.programme.table["exercise_id"])
    assert "prone_press_up" not in app.edit_message.text  # clinic words, not ids
    app.edit_reason.value = "clear extension preference on testing"
    app.add_button.click()
    assert "normally kept out" in app.edit_message.text
    row = app.model.programme.table.set_index("exercise_id").loc["prone_press_up_on_forearms"]
    assert "Forced in by the clinician: clear extension preference on testing" in row["reason"]


def test_exports_write_files_and_offer_downloads(store, tmp_path):
    app = ProgrammeBuilder(store=store)
    app.patient.value = "DEMO-002"
    app.condition_boxes["piriformis_syndrome"].value = True
    app.build_button.click()
    csv_path = app.export("csv")
    assert csv_path.parent == tmp_path / "exports"
    again = app.export("csv")  # the same day again: a new readable name, the first file is kept
    assert again.name == csv_path.name.replace(".csv", "-2.csv") and csv_path.exists()
    links = [c.value for c in app.downloads.children[1:]]
    assert len(links) == 2 and all(x.count('class="sk-download"') == 1 for x in links)
    assert again.name in links[0] and csv_path.name in links[1]  # newest first
    assert len(pd.read_csv(csv_path, encoding="utf-8-sig")) == len(app.model.programme.table)
    assert all('download="' in x and "base64," in x for x in links)
    xlsx = app.export("excel")
    assert load_workbook(xlsx).sheetnames[0] == "Programme"
    pdf = app.export("pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    fhir = app.export("fhir")
    assert json.loads(fhir.read_text())["resourceType"] == "Bundle"
    earlier = app.downloads.children[1:]
    app.export("csv")  # a new file adds its own link; the earlier links stay the same widgets, not sent again
    assert app.downloads.children[2:] == earlier and len(earlier) == 5


def test_a_handout_with_rows_without_a_dose_asks_first_and_offers_to_set_them(store, monkeypatch):
    app = ProgrammeBuilder(store=store)
    app.patient.value = "P-0042"
    app.condition_boxes["sciatica"].value = True
    app.build_button.click()
    missing = [r["name"] for r in app.model.programme.table.to_dict("records")
               if r["dose"] == "No dose set yet: set it with the patient"]
    assert missing == ["Tummy bracing (core activation)"]
    focused = []
    monkeypatch.setattr(app.dose_inputs["sets"], "focus", lambda: focused.append("sets"))

    assert app.export("pdf") is None  # nothing printed yet: the clinician is asked first
    assert app.export_message.kind == "warning"
    assert app.export_message.text == "1 exercise has no dose yet: Tummy bracing (core activation)."
    assert app.export_confirm.asking and "fill-in lines" in app.export_confirm.question.value
    assert app.last_export is None  # no file written
    app.export_confirm.no_button.click()  # "Set the doses": the dose editor opens on the first row without one
    assert not app.export_confirm.asking
    assert app.edit_exercise.value == "abdominal_bracing" and focused == ["sets"]
    assert "Set the dose of Tummy bracing (core activation)" in app.edit_message.text
    app.dose_inputs["reps"].value = "10"
    app.edit_reason.value = "ten gentle holds to start"
    app.apply_dose_button.click()
    assert app.missing_doses() == []
    path = app.export("html")  # every row has a dose now: no question
    assert path is not None and not app.export_confirm.asking and 'class="dose fill-in"' not in path.read_text()
    assert app.model.programme.to_dict()["dose_reasons"] == {"abdominal_bracing": "ten gentle holds to start"}


def test_a_handout_can_still_be_printed_with_fill_in_lines(store):
    app = ProgrammeBuilder(store=store)
    app.patient.value = "P-0043"
    app.condition_boxes["herniated_disc"].value = True
    app.condition_boxes["sciatica"].value = True
    app.build_button.click()
    missing = [name for _, name in app.missing_doses()]
    assert len(missing) >= 2
    assert app.export("html") is None
    assert app.export_message.text == f"{len(missing)} exercises have no dose yet: {', '.join(missing)}."
    app.export_confirm.yes_button.click()  # "Print with fill-in lines"
    assert app.last_export is not None and app.export_message.kind == "success"
    text = app.last_export.read_text()
    assert text.count('class="dose fill-in"') == len(missing) and "____ times" in text
    assert "No dose set yet" not in text and "not specified" not in text.lower()
    assert app.export("csv") is not None and not app.export_confirm.asking  # spreadsheets leave the cells blank, no question


def test_export_before_building_is_an_error_message_not_a_crash(store):
    app = ProgrammeBuilder(store=store)
    assert app.export("csv") is None
    assert app.export_message.kind == "error" and "Build a programme first" in app.export_message.text


def test_export_reads_the_patient_id_at_the_moment_of_export(store):
    app = ProgrammeBuilder(store=store)
    app.condition_boxes["sciatica"].value = True
    app.build_button.click()  # built before any id was typed
    assert app.export("html") is None  # no id: asks for one
    assert "Enter the patient id" in app.export_message.text and "No name on the handout" in app.export_message.text
    app.patient.value = "P-0042"
    path = app.export("html", confirmed=True)  # confirmed: printed with fill-in lines for the row without a dose
    assert "P-0042" in path.read_text() and path.name.startswith("P-0042-")
    app.patient.value = ""
    app.no_name.value = True
    path = app.export("html", confirmed=True)
    assert path.name.startswith("programme-") and "P-0042" not in path.read_text()


def test_builder_warns_when_the_id_looks_like_a_name_and_refuses_a_bad_one(store):
    app = ProgrammeBuilder(store=store)
    app.patient.value = "Smith"
    assert app.patient_message.kind == "warning" and "looks like a name" in app.patient_message.text
    app.patient.value = "12/03/1975"
    assert app.patient_message.kind == "error"  # '/' is not allowed in an id
    app.patient.value = "12.03.1975"
    assert app.patient_message.kind == "warning" and "date of birth" in app.patient_message.text
    app.patient.value = "P 42"
    app.condition_boxes["sciatica"].value = True
    app.build_button.click()
    app.save_button.click()
    assert app.export_message.kind == "error" and "a space" in app.export_message.text
    assert store.programmes("P 42").empty


def test_save_programme_to_patient(store):
    app = ProgrammeBuilder(store=store)
    app.condition_boxes["sciatica"].value = True
    app.build_button.click()
    app.save_button.click()
    assert app.export_message.kind == "error" and "patient id" in app.export_message.text
    app.patient.value = "P-NEW"
    app.save_button.click()
    assert app.export_message.kind == "success" and app.message.text == ""  # the build message is cleared
    assert store.programmes("P-NEW")["conditions"].iloc[0] == ["sciatica"]
    assert "P-NEW" in app.patient.options


# --------------------------------------------------------------------------- progress logger


def test_visit_model_rows_only_what_was_recorded():
    m = VisitModel(patient_id="P1", date=dt.date(2026, 3, 2), values={("pain", ""): 4.0, ("slr", "left"): 55.0},
                   odi=[1] * 10, note="ok")
    rows = m.rows()
    assert set(zip(rows["measure"], rows["side"], rows["value"], strict=True)) == {("pain", "", 4.0), ("slr", "left", 55.0), ("odi", "", 20.0)}
    with pytest.raises(ValueError, match="future"):
        VisitModel(patient_id="P1", date=dt.date.today() + dt.timedelta(days=3), values={("pain", ""): 1.0}).rows()
    with pytest.raises(ValueError, match="Nothing to save"):
        VisitModel(patient_id="P1", date=dt.date(2026, 3, 2)).rows()


def test_logger_saves_a_visit_and_refreshes_the_chart(store):
    app = ProgressLogger(store=store, patient_id="DEMO-001")
    before_chart = app.chart.value
    before = len(store.read("DEMO-001"))
    assert before_chart  # the chart is drawn on open
    app.measure_inputs[("pain", "")].value = "3"
    app.measure_inputs[("slr", "left")].value = "60"
    for item in app.odi_items:
        item.value = 1
    assert "ODI: 20.0%" in app.odi_score.value
    assert app.save_visit()
    after = store.read("DEMO-001")
    today = after[after["date"] == pd.Timestamp(dt.date.today())]
    assert set(zip(today["measure"], today["value"], strict=True)) == {("pain", 3.0), ("slr", 60.0), ("odi", 20.0)}
    assert len(after) == before + 3
    assert app.chart.value != before_chart
    assert "Responder" in app.summary.value
    assert app.measure_inputs[("pain", "")].value == ""  # the form is cleared for the next visit
    assert all(item.value is None for item in app.odi_items) and not app.use_odi.value


def test_switching_patient_never_saves_one_patients_answers_for_another(store):
    app = ProgressLogger(store=store, patient_id="DEMO-001")
    assert app.save_button.description == "Save visit for DEMO-001"
    for item in app.odi_items:
        item.value = 4  # ODI 80% for DEMO-001
    app.measure_inputs[("pain", "")].value = "7"
    before = store.read()
    app.patient.value = "DEMO-002"  # unsaved entries: asks first, the form stays with DEMO-001
    assert app.patient.value == "DEMO-001" and app.form_patient == "DEMO-001"
    assert app.patient_confirm.asking and "DEMO-001" in app.patient_confirm.question.value
    assert "Oswestry" in app.patient_confirm.question.value
    app.patient_confirm.no_button.click()  # keep editing DEMO-001
    assert app.form_patient == "DEMO-001" and app.measure_inputs[("pain", "")].value == "7"
    app.patient.value = "DEMO-002"
    app.patient_confirm.yes_button.click()  # discard and open DEMO-002
    assert app.form_patient == "DEMO-002" and app.save_button.description == "Save visit for DEMO-002"
    assert app.unsaved_entries() == [] and all(item.value is None for item in app.odi_items)
    assert not app.save_visit()  # nothing carried over, nothing to save
    pd.testing.assert_frame_equal(store.read(), before)
    app.measure_inputs[("leg_pain", "")].value = "2"
    assert app.save_visit() and "Visit saved for DEMO-002" in app.message.text
    today = store.read("DEMO-002")
    today = today[today["date"] == pd.Timestamp(dt.date.today())]
    assert list(zip(today["measure"], today["value"], strict=True)) == [("leg_pain", 2.0)]
    assert "DEMO-002" in app.summary.value


def test_a_clean_form_switches_patient_at_once(store):
    app = ProgressLogger(store=store, patient_id="DEMO-001")
    app.patient.value = "DEMO-003"
    assert app.form_patient == "DEMO-003" and not app.patient_confirm.asking


@pytest.mark.parametrize(("text", "words"), [
    ("11", "Pain (0-10): 11 is outside the valid range 0 to 10"),
    ("abc", "Pain (0-10): 'abc' is not a number"),
    ("4O", "Pain (0-10): '4O' is not a number"),
    ("-1", "outside the valid range 0 to 10"),
])
def test_visit_form_never_changes_a_value_silently(store, text, words):
    app = ProgressLogger(store=store, patient_id="DEMO-001")
    before = store.read()
    app.measure_inputs[("pain", "")].value = text
    assert not app.save_visit()
    assert app.message.kind == "error" and words in app.message.text
    assert app.measure_inputs[("pain", "")].value == text  # the form keeps what was typed
    pd.testing.assert_frame_equal(store.read(), before)


def test_a_measurement_left_empty_is_not_recorded_not_zero(store):
    app = ProgressLogger(store=store, patient_id="DEMO-001")
    app.measure_inputs[("pain", "")].value = "0"
    assert app.save_visit()
    log = store.read("DEMO-001")
    today = log[log["date"] == pd.Timestamp(dt.date.today())]
    assert list(zip(today["measure"], today["value"], strict=True)) == [("pain", 0.0)]


def test_logger_rejects_an_empty_visit_in_the_widget(store):
    app = ProgressLogger(store=store, patient_id="DEMO-001")
    assert not app.save_visit()
    assert app.message.kind == "error" and "Nothing to save" in app.message.text


def test_questionnaires_score_themselves():
    app = ProgressLogger(store=sk.Store(), patient_id=None)
    for i, box in enumerate(app.start_back_items):
        box.value = i in (0, 4, 5, 6)
    app.start_back_item9.value = "Extremely"
    assert "5 / 9" in app.start_back_score.value and "high risk" in app.start_back_score.value
    for box in app.rmdq_items[:7]:
        box.value = True
    assert "RMDQ: 7 / 24" in app.rmdq_score.value


def test_questionnaire_items_carry_the_kits_short_labels_from_data_not_the_licensed_wording():
    import tomllib

    from sciatica_kit.catalog import catalog_dir
    from sciatica_kit.measures import START_BACK_ITEMS

    app = ProgressLogger(store=sk.Store(), patient_id=None)
    specs = tomllib.loads((catalog_dir() / "codes.toml").read_text(encoding="utf-8"))["questionnaire"]
    rmdq = [box.description for box in app.rmdq_items]
    assert rmdq == [it["label"] for it in specs["rmdq"]["items"]]  # each item labelled, from the data
    assert rmdq[6] == "Item 7: daily activity" and len(set(rmdq)) == 24
    assert "give no topic" in app.questionnaires.children[1].children[1].value  # the form says why the labels are generic
    odi = [d.description for d in app.odi_items]
    assert odi[0] == "1. Pain intensity" and odi[9] == "10. Travelling"
    assert [o[0] for o in app.odi_items[0].options][1:3] == ["0 - no problem", "1 - slight"]
    start_back = [c.description for c in app.start_back_items] + [app.start_back_item9.description]
    assert start_back[0] == "1. " + specs["start_back"]["items"][0]["label"]
    for licensed in START_BACK_ITEMS:  # never the instrument's own sentences
        assert not any(licensed.lower() in label.lower() for label in start_back)


def test_undo_last_entry_keeps_it_in_history(store):
    app = ProgressLogger(store=store, patient_id="DEMO-001")
    app.measure_inputs[("pain", "")].value = "9"
    assert app.save_visit()
    app.undo_button.click()  # says exactly what it will remove and asks first
    question = app.visit_confirm.question.value
    assert app.visit_confirm.asking and "DEMO-001" in question and "Pain 9" in question and store.user in question
    assert (store.read("DEMO-001")["date"] == pd.Timestamp(dt.date.today())).any()  # nothing removed yet
    app.visit_confirm.no_button.click()
    assert (store.read("DEMO-001")["date"] == pd.Timestamp(dt.date.today())).any()
    app.undo_button.click()
    app.visit_confirm.yes_button.click()
    assert app.message.kind == "success"
    assert not ((store.read("DEMO-001")["date"] == pd.Timestamp(dt.date.today())).any())
    hist = store.history("DEMO-001")
    assert ((hist["action"] == "undone") & (hist["old_value"] == 9.0)).any()


def test_import_shows_every_problem_and_saves_nothing(store):
    app = ProgressLogger(store=store, patient_id="DEMO-001")
    before = store.read()
    content = b"patient_id,date,pain,slr_left,note\nDEMO-001,2026-02-30,5,40,secret note\nDEMO-001,2026-03-01,11,-4,\n"
    assert not app.import_file("visits.csv", content)
    assert app.import_message.kind == "error" and "3 problem(s)" in app.import_message.text
    assert app.problems.value.count("<tr>") == 4  # header + 3 problems
    assert "secret note" not in app.problems.value
    pd.testing.assert_frame_equal(store.read(), before)


def test_import_good_file_adds_a_patient(store):
    app = ProgressLogger(store=store, patient_id="DEMO-001")
    content = "Patient ID;Date;Pain (0-10);SLR L\r\nNEW-1;01/03/2026;6;45°\r\nNEW-1;15/03/2026;4,5;55\r\n".encode("utf-8-sig")
    app.dayfirst.value = True
    assert app.import_file("visits.csv", content), app.problems.value
    assert "NEW-1" in app.patient.options and app.patient.value == "NEW-1"
    assert store.read("NEW-1")["value"].tolist() == [6.0, 45.0, 4.5, 55.0]


def test_add_patient(store):
    app = ProgressLogger(store=store)
    app.new_patient.value = "P-0042"
    app.add_patient_button.click()
    assert app.patient.value == "P-0042"
    app.new_patient.value = "   "
    app.add_patient_button.click()
    assert app.patient_message.kind == "error"
    app.new_patient.value = "Jones"  # looks like a name: asks first
    app.add_patient_button.click()
    assert app.patient_confirm.asking and "looks like a name" in app.patient_confirm.question.value
    assert "Jones" not in app.patient.options


def test_history_shows_who_entered_what_and_corrects_a_value(store):
    app = ProgressLogger(store=store, patient_id="DEMO-001")
    assert "demo" in app.history_table.value  # seeded by "demo"
    key = next(v for label, v in app.correct_entry.options if " Pain = " in label)
    app.correct_entry.value = key
    app.correct_value.value = "15"
    app.correct_reason.value = "typo"
    assert not app.correct_value_now() and "outside the valid range 0 to 10" in app.history_message.text
    app.correct_value.value = "5"
    assert app.correct_value_now()
    log = store.read("DEMO-001")
    stored = log[(log["date"] == pd.Timestamp(key[0])) & (log["measure"] == "pain")]["value"].tolist()
    assert stored == [5.0]
    hist = store.history("DEMO-001")
    assert (hist["action"] == "corrected").any()
    changes = app.history_table.value.split('class="sk-changes"', 1)[1]  # the app shows the change too
    assert " -&gt; 5</td><td>corrected</td><td>demo</td>" in changes


def test_the_visit_history_names_who_entered_and_who_corrected_a_value(tmp_path):
    path = tmp_path / "clinic.sqlite"
    sk.Store(path, user="a.khan").add(pd.DataFrame({
        "patient_id": ["P-0042"], "date": pd.to_datetime(["2026-03-02"]), "measure": ["pain"], "side": [""],
        "value": [7.0], "note": [""]}), source="visit form")
    app = ProgressLogger(store=sk.Store(path, user="b.lee"), patient_id="P-0042")
    assert 'class="sk-changes"' not in app.history_table.value  # nothing changed yet
    app.correct_entry.value = next(v for label, v in app.correct_entry.options if " Pain = 7" in label)
    app.correct_value.value = "6"
    app.correct_reason.value = "misread the scale"
    assert app.correct_value_now()
    changes = app.history_table.value.split('class="sk-changes"', 1)[1]
    assert "<td>7 -&gt; 6</td><td>corrected</td><td>a.khan</td><td>b.lee</td>" in changes


# --------------------------------------------------------------------------- clinic overview


def test_overview_table_and_condition_filter(store):
    app = ClinicOverview(store=store)
    assert len(app.data) == 8
    assert b"<svg" in bytes(app.chart.value)[:400]
    assert "DEMO-001" in app.table.value
    app.condition.value = "spinal_stenosis"
    assert set(app.data["patient_id"]) == {"DEMO-002"}
    assert "Lumbar spinal stenosis" in app.message.text
    assert app.progress.layout.visibility == "hidden"


def test_overview_filter_reads_the_store_again_only_after_it_has_changed(store, tmp_path, monkeypatch):
    app = ClinicOverview(store=store)
    reads = []
    real_read = store.read
    monkeypatch.setattr(store, "read", lambda *a, **k: reads.append(a) or real_read(*a, **k))
    app.condition.value = "spinal_stenosis"
    app.condition.value = ""
    assert reads == [] and len(app.data) == 8  # filtering the same store twice: nothing read again
    with sk.Store(tmp_path / "kit.sqlite", user="colleague") as colleague:  # a colleague saves a new patient
        colleague.add(pd.DataFrame({"patient_id": ["DEMO-099"] * 2, "date": pd.to_datetime(["2026-03-02", "2026-03-30"]),
                                    "measure": ["pain"] * 2, "side": [""] * 2, "value": [8.0, 3.0], "note": [""] * 2}))
    app.condition.value = "spinal_stenosis"
    assert len(reads) == 1 and set(app.data["patient_id"]) == {"DEMO-002"}
    app.condition.value = ""
    assert len(reads) == 1 and "DEMO-099" in set(app.data["patient_id"]) and len(app.data) == 9
    assert "9 patients (all conditions)." in app.message.text


def test_overview_on_an_empty_store(tmp_path):
    app = ClinicOverview(store=sk.Store(tmp_path / "empty.sqlite"))
    assert app.message.kind == "info" and app.data.empty


# --------------------------------------------------------------------------- patient report, demo store


def test_patient_report_picks_a_patient_and_prints_the_disclaimer_once(store):
    from sciatica_kit.programme import DISCLAIMER
    from sciatica_kit.widgets import PatientReport

    app = PatientReport(store=store, patient_id="DEMO-002")
    assert app.patient.value == "DEMO-002" and "Progress report: DEMO-002" in app.heading.value
    page = "".join(c.value for c in (app.summary, app.programme, app.disclaimer))
    assert page.count(html.escape(DISCLAIMER)[:40]) == 1
    assert "Not published" not in page and "crippled" not in page
    app.patient.value = "DEMO-003"
    assert "DEMO-003" in app.heading.value


def test_the_report_shows_its_text_at_once_and_the_chart_of_the_patient_named_above_it(store, monkeypatch):
    """Picking a patient shows the heading, summary and programme at once; the chart follows (or is
    there at once when drawn ahead while the clinician read), and is never another patient's."""
    import sciatica_kit.charts as charts
    import sciatica_kit.widgets.common as common
    import sciatica_kit.widgets.patient_report as report_module
    from sciatica_kit.widgets import PatientReport

    later = _Later()
    monkeypatch.setattr(report_module, "run_later", later)
    monkeypatch.setattr(common, "run_later", later)
    monkeypatch.setattr(report_module, "AHEAD_IDLE_S", 0.0)
    drawn = []
    real_plot = charts.plot_progress
    monkeypatch.setattr(charts, "plot_progress", lambda log, pid, **kw: drawn.append(pid) or real_plot(log, pid, **kw))

    app = PatientReport(store=store, patient_id="DEMO-001")
    ids = list(app.patient.options)
    assert "Progress report: DEMO-001" in app.heading.value and drawn == [] and app.chart.value == b""
    assert app.chart.layout.display == "none"  # no picture at all until this patient's chart is drawn
    assert later.run_next() and drawn == ["DEMO-001"] and b"<svg" in bytes(app.chart.value)[:400]
    first = bytes(app.chart.value)

    app.patient.value = ids[1]  # the text at once; the first patient's chart never sits under the new name
    assert f"Progress report: {ids[1]}" in app.heading.value and app.chart.value == b"" and drawn == ["DEMO-001"]
    app.patient.value = ids[2]  # chosen before the chart came: the skipped patient's chart is never drawn
    later.run_all()  # the chart of the patient shown, then the next patients' while the clinician reads
    assert drawn[:2] == ["DEMO-001", ids[2]] and ids[3] in drawn and b"<svg" in bytes(app.chart.value)[:400]
    n = len(drawn)
    app.patient.value = ids[3]  # drawn ahead: shown at once
    assert len(drawn) == n and b"<svg" in bytes(app.chart.value)[:400] and bytes(app.chart.value) != first
    _colleague_adds_pain(store, "DEMO-001", 9.0)
    app.patient.value = "DEMO-001"  # a colleague's entry since: drawn again, never the old picture
    assert app.chart.value == b""
    later.run_next()
    assert drawn[-1] == "DEMO-001" and bytes(app.chart.value) != first


def test_apps_open_the_demo_store_with_a_banner_unless_a_clinic_store_is_configured(monkeypatch, tmp_path):
    monkeypatch.delenv("SCIATICA_KIT_STORE")
    app = ProgressLogger()
    assert "Demo store: synthetic patients" in app.banner.value
    assert "DEMO-001" in app.patient.options
    monkeypatch.setenv("SCIATICA_KIT_STORE", str(tmp_path / "clinic.sqlite"))
    clinic = ProgressLogger()
    assert clinic.banner.value == "" and list(clinic.patient.options) == []
    overview = ClinicOverview()
    assert overview.data.empty and overview.banner.value == ""


def test_import_problems_name_the_apps_controls_not_parameters(store):
    app = ProgressLogger(store=store, patient_id="DEMO-001")
    assert not app.import_file("visits.csv", b"patient_id,date,pain\nDEMO-001,03/04/2026,5\n")
    assert "Dates" in app.problems.value and "dayfirst" not in app.problems.value
    assert not app.import_file("ids.csv", b"patient_id,date,pain\nJohn Smith,2026-03-04,5\n")
    assert "clinic numbers" in app.import_message.text and "John Smith" not in store.patients()["patient_id"].tolist()


def test_an_edit_after_ticking_a_red_flag_starts_from_todays_screen():
    """Build, then tick cauda equina, then edit: the edit must not resurrect an unblocked programme."""
    from sciatica_kit.widgets.programme_builder import ProgrammeModel

    model = ProgrammeModel(conditions=["sciatica"], phase="subacute")
    assert model.build() is not None and not model.programme.blocked
    model.red_flags = ["cauda_equina"]
    edited = model.edit("remove", "walking", "patient prefers cycling")
    assert edited is not None and edited.blocked and edited.table.empty
    assert edited.referral.urgency == "emergency"
    assert "blocks the programme" in model.error
    model.red_flags = []
    again = model.edit("remove", "walking", "patient prefers cycling")
    assert not again.blocked and "walking" not in set(again.table["exercise_id"])


def test_adding_back_an_exercise_kept_out_for_size_names_the_one_it_displaces(monkeypatch):
    """The size ceiling holds; what the clinician's add pushes out is said beside the button, never silent."""
    from sciatica_kit.widgets import ProgrammeBuilder

    app = ProgrammeBuilder()
    for cid in ("sciatica", "herniated_disc", "degenerative_disc", "piriformis_syndrome", "axial_back_pain"):
        app.condition_boxes[cid].value = True
    app.phase.value = "chronic"
    app.build_button.click()
    prog = app.model.programme
    assert prog.kept_out_for_size
    back = prog.kept_out_for_size[0]
    app.add_exercise.value = back
    app.add_button.click()
    new = app.model.programme
    displaced = [k for k in new.kept_out_for_size if k not in prog.kept_out_for_size]
    assert back in set(new.table["exercise_id"]) and displaced
    names = app.model.catalog.records["exercises"]
    assert all(names[k]["name"] in app.edit_message.value for k in displaced), app.edit_message.value


# --------------------------------------------------------------------------- speed without stale pictures


def test_the_chart_is_drawn_when_another_library_holds_a_running_loop(store):
    """Playwright's sync API (the browser tests) leaves an event loop marked running in the main
    thread; outside a Jupyter kernel the logger must still draw its chart at once, not wait for it."""
    import asyncio

    loop = asyncio.new_event_loop()
    asyncio._set_running_loop(loop)  # what a greenlet-driven library does (Playwright's sync API)
    try:
        app = ProgressLogger(store=store, patient_id="DEMO-001")
        assert bytes(app.chart.value).startswith(b"<?xml")
    finally:
        asyncio._set_running_loop(None)
        loop.close()


def test_switching_back_reuses_the_chart_until_the_patients_entries_change(store, monkeypatch):
    import sciatica_kit.charts as charts

    drawn = []
    real = charts.plot_progress
    monkeypatch.setattr(charts, "plot_progress", lambda log, pid, **kw: drawn.append(pid) or real(log, pid, **kw))
    app = ProgressLogger(store=store, patient_id="DEMO-001")
    first = bytes(app.chart.value)
    app.patient.value = "DEMO-002"
    assert bytes(app.chart.value) != first
    app.patient.value = "DEMO-001"
    assert bytes(app.chart.value) == first and drawn == ["DEMO-001", "DEMO-002"]  # nothing changed: not redrawn
    app.measure_inputs[("pain", "")].value = "1"
    assert app.save_visit()  # a new entry: the chart is drawn again, never the old picture
    assert drawn[-1] == "DEMO-001" and len(drawn) == 3 and bytes(app.chart.value) != first
    app.patient.value = "DEMO-002"
    app.patient.value = "DEMO-001"
    assert len(drawn) == 3


def test_wait_for_visitor_waits_only_in_a_preheated_voila_kernel(monkeypatch):
    import gc
    import os
    import threading

    import voila.utils

    import sciatica_kit.widgets.waiting as waiting
    from sciatica_kit.widgets import wait_for_visitor

    waited, warmed = [], []
    monkeypatch.setattr(voila.utils, "wait_for_request", lambda *a, **k: waited.append(True))
    monkeypatch.setattr(waiting, "_warm_up", lambda warm: warmed.append((warm, os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))))
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    wait_for_visitor()
    assert waited == [] and warmed == []  # JupyterLab, plain Voila, scripts: returns at once
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    frozen_before = gc.get_freeze_count()
    wait_for_visitor()
    # warmed before the wait, at the lowest priority (a kernel refilled while a clinician works never slows them)
    assert warmed == [(("chart",), 19)] and waited == [True]
    try:  # what was loaded is kept out of the collector's full passes from then on
        assert gc.get_freeze_count() > frozen_before
    finally:
        gc.unfreeze()


class _FakeKernelShell:
    kernel = object()  # what run_later and the warm-up look for: an IPython shell inside a Jupyter kernel


def test_in_a_kernel_the_overview_draws_only_the_last_filters_chart(store, monkeypatch):
    """The table and count come at once; the cohort chart follows a moment later, and a filter
    changed meanwhile drops the chart nobody would have seen."""
    import asyncio

    import IPython

    import sciatica_kit.charts as charts

    drawn = []
    real = charts.plot_cohort
    monkeypatch.setattr(charts, "plot_cohort", lambda log, **kw: drawn.append(log["patient_id"].nunique()) or real(log, **kw))
    monkeypatch.setattr(IPython, "get_ipython", lambda: _FakeKernelShell())

    async def clinician():
        app = ClinicOverview(store=store)
        assert drawn == [] and len(app.data) == 8  # the table is there before any chart
        app.condition.value = "spinal_stenosis"
        app.condition.value = "herniated_disc"
        assert "patients (Herniated" in app.message.text and bytes(app.chart.value) == b""
        await asyncio.sleep(0.6)
        return app

    app = asyncio.run(clinician())
    assert drawn == [len(app.data)]  # only the herniated-disc chart was drawn
    assert b"<svg" in bytes(app.chart.value)[:400] and "Drawing" not in app.message.text


class _Later:
    """run_later's stand-in: callbacks wait in a queue until the test runs them, one at a time."""

    def __init__(self):
        self.queue = []

    def __call__(self, callback, delay=0.0):
        handle = type("Handle", (), {"cancelled": False, "callback": staticmethod(callback), "delay": delay})()
        handle.cancel = lambda: setattr(handle, "cancelled", True)
        self.queue.append(handle)
        return handle

    def run_next(self) -> bool:
        while self.queue:
            handle = self.queue.pop(0)
            if not handle.cancelled:
                handle.callback()
                return True
        return False

    def run_all(self) -> None:
        """Run every step until none is left, letting the drawing thread finish between two (as the real delays do)."""
        from sciatica_kit.widgets.common import DRAWING

        while self.run_next():
            DRAWING.idle()


def test_while_idle_the_logger_draws_the_next_patients_charts_ahead_one_per_step(store, monkeypatch):
    """Switching patient shows a chart drawn while the clinician was reading, unless the rows
    changed since; each step hands one chart to the drawing thread, and a click cancels the next step."""
    import threading

    import sciatica_kit.charts as charts
    import sciatica_kit.widgets.common as common
    import sciatica_kit.widgets.progress_logger as logger_module

    later = _Later()
    monkeypatch.setattr(logger_module, "run_later", later)
    monkeypatch.setattr(common, "run_later", later)
    monkeypatch.setattr(logger_module, "AHEAD_IDLE_S", 0.0)
    drawn, work = [], []  # patients whose chart was laid out; what each step did, and in which thread
    real_plot, real_svg = charts.plot_progress, charts.figure_svg

    def plot(log, pid, **kw):
        drawn.append(pid)
        work.append(("layout", threading.current_thread().name))
        return real_plot(log, pid, **kw)

    monkeypatch.setattr(charts, "plot_progress", plot)
    monkeypatch.setattr(charts, "figure_svg", lambda fig: work.append(("svg", threading.current_thread().name)) or real_svg(fig))

    app = ProgressLogger(store=store)
    ids = list(app.patient.options)
    assert drawn == [] and later.run_next() and drawn == [ids[0]]  # the first chart follows the page
    assert not later.run_next()  # nothing is drawn ahead while the page loads
    app.patient.value = ids[1]  # the clinician's first action
    assert drawn == [ids[0], ids[1]]
    steps = []
    while True:  # the app sits idle
        work.clear()
        if not later.run_next():
            break
        common.DRAWING.idle()  # what the step handed to the drawing thread is done
        steps.append(tuple(work))
    # each step hands one chart to the drawing thread (and keeps the one drawn before): the kernel's own
    # thread, which answers clicks, never lays out or draws a chart ahead
    assert steps[-1] == () and all(len(step) == 2 for step in steps[:-1])
    assert all(what == ("layout", "svg") and all(t.startswith("sciatica-kit-drawing") for t in threads)
               for what, threads in (zip(*step, strict=True) for step in steps[:-1]))
    expected_ahead = [*ids[2:1 + progress_charts.CHARTS_AHEAD], ids[0]][:progress_charts.CHARTS_AHEAD]
    expected_ahead = [p for p in expected_ahead if p != ids[0]]  # the first patient's chart is kept already
    assert drawn == [ids[0], ids[1], *expected_ahead]
    assert all(p in app._charts for p in expected_ahead)  # every one kept, the last one too

    app.patient.value = ids[2]  # drawn ahead: shown without drawing
    assert drawn == [ids[0], ids[1], *expected_ahead]
    assert bytes(app.chart.value) == app._charts[ids[2]][1] and b"<svg" in bytes(app.chart.value)[:400]
    pending = [h for h in later.queue if not h.cancelled]
    assert len(pending) == 1  # drawing ahead starts again once the clinician stops
    app.patient.value = ids[3]  # a click meanwhile cancels that step
    assert pending[0].cancelled and drawn == [ids[0], ids[1], *expected_ahead]

    before = bytes(app._charts[ids[2]][1])
    when = pd.Timestamp(dt.date.today())
    store.add(pd.DataFrame({"patient_id": [ids[2]], "date": [when], "measure": ["pain"], "side": [""],
                            "value": [1.0], "note": [""]}), source="a colleague")
    app.patient.value = ids[2]  # a colleague's new entry since: drawn again, never the old picture
    assert drawn[-1] == ids[2] and bytes(app.chart.value) != before

    app._ahead.idle_s = 60.0  # the clinician is still busy
    app._charts.clear()
    n = len(drawn)
    app._touched()
    assert later.run_next() and len(drawn) == n  # nothing drawn before the app has sat idle
    assert [h for h in later.queue if not h.cancelled]  # it looks again later

    app._ahead.idle_s = 0.0  # the clinician reads: the next patients' charts are drawn
    later.run_all()
    assert ids[4] in app._charts
    _colleague_adds_pain(store, ids[4], 9.0)  # a colleague's save to a patient whose chart is kept
    app._touched()
    later.run_all()
    assert drawn[-1] == ids[4]  # drawn again ahead, and kept in place of the old chart ...
    n = len(drawn)
    app.patient.value = ids[4]  # ... so shown without drawing
    assert len(drawn) == n and bytes(app.chart.value) == app._charts[ids[4]][1]


def test_a_click_never_waits_for_a_chart_drawn_ahead_unless_it_needs_that_chart(store, monkeypatch):
    """While the drawing thread is busy with the next patient's chart, switching to a patient whose
    chart is kept is answered at once; switching to the patient being drawn waits for that drawing and
    shows it, without drawing it twice."""
    import threading

    import sciatica_kit.charts as charts
    import sciatica_kit.widgets.common as common
    import sciatica_kit.widgets.progress_logger as logger_module

    later = _Later()
    monkeypatch.setattr(logger_module, "run_later", later)
    monkeypatch.setattr(common, "run_later", later)
    monkeypatch.setattr(logger_module, "AHEAD_IDLE_S", 0.0)
    drawn, release, busy = [], threading.Event(), threading.Event()
    real_plot, real_svg = charts.plot_progress, charts.figure_svg

    def plot(log, pid, **kw):
        drawn.append((pid, threading.current_thread().name))
        return real_plot(log, pid, **kw)

    def svg(fig):
        if threading.current_thread() is not threading.main_thread():  # drawing ahead: held until released
            busy.set()
            assert release.wait(10)
        return real_svg(fig)

    monkeypatch.setattr(charts, "plot_progress", plot)
    monkeypatch.setattr(charts, "figure_svg", svg)
    app = ProgressLogger(store=store)
    ids = list(app.patient.options)
    later.run_next()  # the first patient's chart
    app.patient.value = ids[1]
    assert later.run_next()  # idle: the first step hands ids[2]'s chart to the drawing thread ...
    assert busy.wait(10) and not release.is_set()  # ... which is on it now
    assert drawn[-1][0] == ids[2] and drawn[-1][1].startswith("sciatica-kit-drawing")

    app.patient.value = ids[0]  # kept since the page opened: shown while the thread still draws
    assert not release.is_set() and bytes(app.chart.value) == app._charts[ids[0]][1]
    assert "Save visit for " + ids[0] == app.save_button.description

    threading.Timer(0.3, release.set).start()
    app.patient.value = ids[2]  # the chart in progress: waited for, kept, shown; not drawn again
    assert release.is_set() and [p for p, _ in drawn].count(ids[2]) == 1
    assert bytes(app.chart.value) == app._charts[ids[2]][1] and b"<svg" in bytes(app.chart.value)[:400]
    assert app._draw_ahead.drawing is None


def test_while_idle_the_overview_draws_the_other_conditions_charts_one_step_at_a_time(store, monkeypatch):
    """After the page opens, and after each filter, the overview draws the other filters' cohort
    charts while the clinician reads; a filter drawn ahead then shows its chart at once."""
    import threading

    import sciatica_kit.charts as charts
    import sciatica_kit.widgets.clinic_overview as overview_module
    import sciatica_kit.widgets.common as common
    from sciatica_kit.widgets import patient_table

    later = _Later()
    monkeypatch.setattr(overview_module, "run_later", later)
    monkeypatch.setattr(common, "run_later", later)
    monkeypatch.setattr(overview_module, "AHEAD_IDLE_S", 0.0)
    work = []
    real_plot, real_svg = charts.plot_cohort, charts.figure_svg
    def where() -> str:
        return "ahead" if threading.current_thread().name.startswith("sciatica-kit-drawing") else "shown"

    monkeypatch.setattr(charts, "plot_cohort", lambda log, **kw: work.append(("layout", where())) or real_plot(log, **kw))
    monkeypatch.setattr(charts, "figure_svg", lambda fig: work.append(("svg", where())) or real_svg(fig))
    with_patients = [c for c in sk.load_catalog().records["conditions"]
                     if not patient_table(store.read(), store.patients(), condition=c).empty]
    assert len(with_patients) >= 2

    app = ClinicOverview(store=store)
    assert work == [] and "Drawing the charts" in app.message.text  # the table first; nothing drawn yet
    steps = []
    while True:  # the page's own chart, then the app sits idle
        work.clear()
        if not later.run_next():
            break
        common.DRAWING.idle()  # what the step handed to the drawing thread is done
        steps.append(tuple(work))
    shown = (("layout", "shown"), ("svg", "shown"))
    assert shown in steps[:2]  # the chart of the filter shown, in one go, by the kernel's own thread
    ahead = [s for s in steps if s != shown]
    # every other condition with patients, one per step, in the drawing thread; the last step keeps the last one
    assert ahead == [(("layout", "ahead"), ("svg", "ahead"))] * len(with_patients) + [()]
    for cond in with_patients:
        app.condition.value = cond
        assert work == [] and b"<svg" in bytes(app.chart.value)[:400] and "Drawing" not in app.message.text

    pending = [h for h in later.queue if not h.cancelled]
    assert len(pending) == 1  # drawing ahead starts again once the clinician stops
    app.sort.value = "last_visit"  # any action cancels that step
    assert pending[0].cancelled and work == []


def _colleague_adds_pain(store, pid, value=1.0):
    with sk.Store(store.path, user="colleague") as colleague:
        colleague.add(pd.DataFrame({"patient_id": [pid], "date": [pd.Timestamp(dt.date.today())], "measure": ["pain"],
                                    "side": [""], "value": [value], "note": [""]}), source="a colleague")


def test_charts_drawn_before_the_logger_opens_are_shown_without_drawing_them_again(store, monkeypatch):
    """What a preheated kernel drew while it waited is shown at once, unless the rows changed since."""
    import threading

    import sciatica_kit.charts as charts
    from sciatica_kit.widgets.progress_logger import draw_first_charts

    ids = list(store.patients()["patient_id"])
    assert draw_first_charts(store, n=3) == ids[:3]
    assert draw_first_charts(store, n=3) == []  # kept: nothing drawn twice
    stopped = threading.Event()
    stopped.set()
    assert draw_first_charts(store, n=6, stop=stopped) == []  # a visitor came: nothing more is started
    drawn = []
    real = charts.plot_progress
    monkeypatch.setattr(charts, "plot_progress", lambda log, pid, **kw: drawn.append(pid) or real(log, pid, **kw))

    app = ProgressLogger(store=store)  # outside a kernel the first chart is drawn at once: here, taken as kept
    assert app.form_patient == ids[0] and drawn == [] and b"<svg" in bytes(app.chart.value)[:400]
    app.patient.value = ids[1]
    assert drawn == [] and f"Progress: {ids[1]}".encode() in bytes(app.chart.value)
    kept = bytes(app.chart.value)
    _colleague_adds_pain(store, ids[2])
    app.patient.value = ids[2]  # a colleague's entry since it was drawn: drawn anew
    assert drawn == [ids[2]]
    app.patient.value = ids[3]  # never drawn ahead: drawn now
    assert drawn == [ids[2], ids[3]]
    app.patient.value = ids[1]
    assert drawn == [ids[2], ids[3]] and bytes(app.chart.value) == kept


def test_a_preheated_kernel_draws_the_first_charts_while_it_waits_and_stops_for_its_visitor(store, monkeypatch):
    import os
    import threading
    import time

    import voila.utils

    import sciatica_kit.widgets.progress_logger as logger_module
    from sciatica_kit.widgets import wait_for_visitor

    monkeypatch.setenv("SCIATICA_KIT_STORE", str(store.path))  # the store the app will open
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    kept = progress_charts.kept_charts(store)

    def visitor_comes_after_two_charts():
        deadline = time.monotonic() + 120
        while len(kept) < 2:
            assert time.monotonic() < deadline, "no chart was drawn while the kernel waited"
            time.sleep(0.01)

    monkeypatch.setattr(voila.utils, "wait_for_request", visitor_comes_after_two_charts)
    niceness = []

    def draw(stop, store=None):
        niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return logger_module.draw_first_charts(store, stop=stop)

    wait_for_visitor(while_waiting=draw)
    for thread in threading.enumerate():
        if thread.name == "sciatica-kit-while-waiting":
            thread.join(60)
    # the chart in hand when the visitor came may be finished; no other is started
    ids = list(store.patients()["patient_id"])
    assert 2 <= len(kept) <= 3 < len(ids) and list(kept) == ids[:len(kept)]
    assert niceness == [19]  # the machine's other work (a page opening, the browser) comes first


def test_a_waiting_kernel_keeps_its_charts_current_until_its_visitor_comes(store, monkeypatch):
    """A colleague's save while a preheated kernel waits is drawn before the page is opened, once
    the machine is idle: while someone else works on it, the waiting kernel draws nothing."""
    import time

    import voila.utils

    import sciatica_kit.widgets.app_store as app_store
    import sciatica_kit.widgets.waiting as waiting
    from sciatica_kit.widgets import draw_first_charts, wait_for_visitor

    monkeypatch.setenv("SCIATICA_KIT_STORE", str(store.path))
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.setattr(waiting, "WATCH_S", 0.05)
    opened = []
    real_open = app_store.open_app_store
    monkeypatch.setattr(app_store, "open_app_store", lambda: opened.append(1) or real_open())
    kept = progress_charts.kept_charts(store)
    first = list(store.patients()["patient_id"])[0]
    seen = {}
    looks = []

    def machine_was_idle(previous):
        looks.append(seen.get("busy", False))
        return (not seen.get("busy", False)), previous

    monkeypatch.setattr(waiting.machine, "machine_was_idle", machine_was_idle)

    def until(condition, what):
        deadline = time.monotonic() + 120
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.01)

    def visitor_comes_after_a_colleague_saved():
        until(lambda: first in kept, "no chart was drawn while the kernel waited")
        seen["before"] = kept[first][0]
        seen["busy"] = True  # a clinician works in another app on this machine
        _colleague_adds_pain(store, first, 9.0)
        seen["now"] = progress_charts.chart_key(store.read(first), store.programmes(first))
        n = len(looks)
        until(lambda: len(looks) >= n + 5, "the waiting kernel stopped looking at the machine")
        assert kept[first][0] == seen["before"]  # nothing drawn while the machine was busy
        seen["busy"] = False
        until(lambda: kept[first][0] == seen["now"], "the colleague's save was not drawn once the machine was idle")

    monkeypatch.setattr(voila.utils, "wait_for_request", visitor_comes_after_a_colleague_saved)
    wait_for_visitor(while_waiting=draw_first_charts)
    assert seen["before"] != seen["now"]
    assert len(opened) == 1 and len(looks) > 5  # the store stays open for the whole wait: not a connection a round


def test_the_machine_counts_as_idle_when_half_its_cpu_time_went_idle(monkeypatch):
    import threading

    import sciatica_kit.widgets.waiting as waiting
    from sciatica_kit import machine

    monkeypatch.setattr(machine, "cpu_times", lambda: (1060, 2100))
    assert machine.machine_was_idle((1000, 2000)) == (True, (1060, 2100))  # 60 of 100 ticks idle
    monkeypatch.setattr(machine, "cpu_times", lambda: (1040, 2100))
    assert machine.machine_was_idle((1000, 2000))[0] is False  # one of two cores busy and more
    assert machine.machine_was_idle(None)[0] is True  # the first look: nothing to compare with
    monkeypatch.setattr(machine, "cpu_times", lambda: None)
    assert machine.machine_was_idle((1000, 2000))[0] is True  # not Linux: drawn at the lowest priority, as before
    assert waiting._Until(threading.Event(), 0.0).is_set()  # one round's time is up


def test_drawing_the_first_charts_again_reads_nothing_more_until_the_store_changes(store, monkeypatch):
    from sciatica_kit.widgets import draw_first_charts

    assert len(draw_first_charts(store, n=3)) == 3
    reads = []
    real = type(store).read
    monkeypatch.setattr(type(store), "read", lambda self, *a, **kw: reads.append(a) or real(self, *a, **kw))
    assert draw_first_charts(store, n=3) == [] and reads == []  # one small query: the store's revision
    first = list(store.patients()["patient_id"])[0]
    _colleague_adds_pain(store, first, 9.0)
    assert draw_first_charts(store, n=3) == [first]  # only the chart whose rows changed


def test_the_overview_pauses_before_its_chart_on_opening_and_between_conditions_not_on_refresh(store, monkeypatch):
    import sciatica_kit.widgets.clinic_overview as overview_module
    import sciatica_kit.widgets.common as common

    later = _Later()
    monkeypatch.setattr(overview_module, "run_later", later)
    monkeypatch.setattr(common, "run_later", later)
    app = ClinicOverview(store=store)
    charts = [h for h in later.queue if not h.cancelled and h.delay != overview_module.AHEAD_IDLE_S]
    assert [h.delay for h in charts] == [overview_module.CHART_DELAY_S]  # opening: the browser asks for the widgets first
    later.queue.clear()
    app.condition.value = "spinal_stenosis"
    assert overview_module.CHART_DELAY_S > 0
    assert overview_module.CHART_DELAY_S in [h.delay for h in later.queue if not h.cancelled]
    later.queue.clear()
    app.refresh_button.click()
    assert 0.0 in [h.delay for h in later.queue if not h.cancelled]


def test_cohort_charts_drawn_ahead_are_shown_at_once_until_the_store_changes(store, monkeypatch):
    import sciatica_kit.charts as charts
    from sciatica_kit.widgets.clinic_overview import draw_cohort_charts

    drawn_ahead = draw_cohort_charts(store)
    assert drawn_ahead[0] == "" and {"spinal_stenosis", "herniated_disc"} <= set(drawn_ahead)
    assert draw_cohort_charts(store) == []  # kept: nothing drawn twice
    drawn = []
    real = charts.plot_cohort
    monkeypatch.setattr(charts, "plot_cohort", lambda log, **kw: drawn.append(log["patient_id"].nunique()) or real(log, **kw))

    app = ClinicOverview(store=store)  # outside a kernel the chart is drawn at once: here, taken as kept
    assert drawn == [] and b"<svg" in bytes(app.chart.value)[:400] and app.message.text == "8 patients (all conditions)."
    all_chart = bytes(app.chart.value)
    app.condition.value = "spinal_stenosis"
    assert drawn == [] and b"<svg" in bytes(app.chart.value)[:400] and bytes(app.chart.value) != all_chart
    _colleague_adds_pain(store, "DEMO-099", 2.0)  # a new patient's first visit
    app.condition.value = ""  # the store changed since: drawn anew from what it holds now
    assert drawn == [9] and bytes(app.chart.value) != all_chart and app.message.text == "9 patients (all conditions)."
    app.condition.value = "spinal_stenosis"
    app.condition.value = ""  # drawn once for this store's contents: kept
    assert drawn == [9, 1]


def test_in_a_kernel_the_builder_warms_the_first_handout_in_the_background(tmp_path, monkeypatch):
    import IPython
    from pypdf import PdfReader

    import sciatica_kit.widgets.waiting as waiting

    monkeypatch.setattr(IPython, "get_ipython", lambda: _FakeKernelShell())
    monkeypatch.setattr(waiting, "_WARMED", set())
    started = []
    real = waiting.warm_up_in_background
    monkeypatch.setattr(waiting, "warm_up_in_background", lambda *a, **k: started.append(real(*a, **k)) or started[-1])
    import sciatica_kit.widgets.programme_builder as builder_module

    monkeypatch.setattr(builder_module, "warm_up_in_background", waiting.warm_up_in_background)
    ProgrammeBuilder()
    (thread,) = started
    assert thread is not None and thread.daemon
    # a handout asked for while the warm-up runs waits for it (one layout at a time) and comes out whole
    prog = sk.build_programme(["sciatica"], patient="P-0042")
    out = prog.to_pdf(tmp_path / "handout.pdf")
    thread.join(timeout=120)
    assert not thread.is_alive() and "pdf" in waiting._WARMED
    assert "P-0042" in PdfReader(out).pages[0].extract_text()
    assert waiting.warm_up_in_background(("pdf",)) is None  # once per process


def test_repeated_rows_share_one_layout_and_style_so_the_page_sends_fewer_models(store):
    """Each widget model is created in the kernel and sent to the browser before the page shows: the
    form's rows and the lists of ticks share their Layout and style instead of one each."""
    import ipywidgets as w

    def models(root) -> int:  # the widget models a page of this app holds: widgets, their layouts and styles
        seen, todo = set(), [root]
        while todo:
            x = todo.pop()
            if id(x) in seen:
                continue
            seen.add(id(x))
            for name in x.keys:
                value = getattr(x, name)
                todo.extend(v for v in (value if isinstance(value, (list, tuple)) else [value]) if isinstance(v, w.Widget))
        return len(seen)

    logger = ProgressLogger(store=store, patient_id="DEMO-001")
    sent = models(logger)
    for group in (list(logger.measure_inputs.values()), logger.odi_items, logger.rmdq_items, logger.start_back_items):
        assert len({id(x.layout) for x in group}) == 1 and len({id(x.style) for x in group}) == 1
    assert sent <= 260  # 250 with the packaged catalogue; 373 when every widget had its own layout and style
    builder = ProgrammeBuilder(store=store)
    ticks = [*builder.red_flag_boxes.values(), *builder.condition_boxes.values(), *builder.finding_boxes.values()]
    assert len({id(x.layout) for x in ticks}) == 1 and len({id(x.style) for x in ticks}) == 1
    # ticking one box still changes only that box
    builder.condition_boxes["sciatica"].value = True
    assert [b.value for b in builder.condition_boxes.values()].count(True) == 1
