"""Exports cannot be turned against the reader: no spreadsheet formula, no HTML/PDF markup from user text.

Everything a user can type goes in at once - the patient name, a clinic exercise from an
extra catalogue file (name, steps, cautions), a clinician's override reason - and starts
with a formula character (= + - @ tab CR, and their full-width forms) or carries a
``<script>``.  Spreadsheet cells must come out neutralised (text, never a formula) while
numbers stay numbers; HTML must be escaped; the PDF must show the text literally.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

import sciatica_kit as sk
from sciatica_kit.catalog import DOSE_FIELDS
from sciatica_kit.export import safe_cell
from sciatica_kit.programme import DISCLAIMER, SAFETY_NOTE

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
EVIL = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert(1)</script>"
HYPERLINK = '=HYPERLINK("http://evil")'
HOSTILE_TEXTS = [EVIL, "+SUM(A1:A9)", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "\uff1d1+1", "\uff0bA1", "\uff0dA1", "\uff20A1",
                 "  =1+1", SCRIPT]


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


@pytest.fixture(scope="module")
def evil_programme(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clinic")
    clinic = folder / "clinic.toml"
    steps = ", ".join(_toml_str(s) for s in [EVIL, SCRIPT, "+1", "-1", "@me", "\uff1dX", "Plain step."])
    cautions = ", ".join(_toml_str(s) for s in ["-careful " + SCRIPT, "\uff20home"])
    clinic.write_text(
        f"""[[exercise]]
id = "clinic_evil"
name = {_toml_str(EVIL)}
category = "stretch"
targets = [{_toml_str("-hamstrings")}]
position = {_toml_str("@floor")}
equipment = []
steps = [{steps}]
dose_source = "evil_link"
dose_note = {_toml_str(SCRIPT)}
each_side = false
phases = ["acute", "subacute", "chronic"]
progress_to = []
regress_to = []
cautions = [{cautions}]
stop_if = [{_toml_str("+pain " + SCRIPT)}]
sources = ["evil_clinic"]
sets = [2, 3]
reps = [8, 12]
hold_s = {{ up_to = 30 }}
times_per_day = "not specified"
days_per_week = [3, 5]
minutes = "not specified"
distance_km = "not specified"

[[condition]]
id = "clinic_condition"
name = {_toml_str("=Clinic " + SCRIPT)}
description = "d"
sources = ["evil_clinic"]
indicates = [{{ exercise = "clinic_evil", why = {_toml_str("-why " + SCRIPT)}, source = "evil_at" }},
             {{ exercise = "walking", why = "w", source = "evil_clinic" }}]

# catalogue entries cite sources by id; the hostile text reaches exports as the readable reference
[[source]]
id = "evil_link"
author = "a"
title = "t"
year = "2026"
kind = "clinic"
short = {_toml_str(HYPERLINK)}

[[source]]
id = "evil_clinic"
author = "a"
title = "t"
year = "2026"
kind = "clinic"
short = {_toml_str("=clinic")}

[[source]]
id = "evil_at"
author = "a"
title = "t"
year = "2026"
kind = "clinic"
short = {_toml_str("@src")}
""",
        encoding="utf-8",
    )
    cat = sk.load_catalog(extra=clinic)
    prog = sk.build_programme(
        ["sciatica", "clinic_condition"],
        phase="chronic",
        patient=f"{SCRIPT}{EVIL}",
        clinic="@Clinic =1+1",
        include={"floor_bridge": f"{EVIL} {SCRIPT}"},
        exclude={"walking": "\uff1dHYPERLINK(1) " + SCRIPT},
        dose_edits={"clinic_evil": {"reps": 10, "sets": 2}, "floor_bridge": {"reps": 12}},
        catalog=cat,
    )
    assert "clinic_evil" in set(prog.table["exercise_id"]) and "floor_bridge" in set(prog.table["exercise_id"])
    return prog


def _csv_fields(path: Path) -> list[list[str]]:
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_safe_cell_neutralises_every_formula_start_and_keeps_numbers():
    for text in HOSTILE_TEXTS[:-1]:
        out = safe_cell(text)
        assert out.startswith("'"), repr(text)
    for number in (-3.5, 0, 12, 2.0):
        assert safe_cell(number) == number
    assert safe_cell("Sit tall") == "Sit tall"


def test_programme_csv_has_no_formula_and_numbers_stay_numbers(evil_programme, tmp_path):
    path = evil_programme.to_csv(tmp_path / "p.csv")
    rows = _csv_fields(path)
    header, body = rows[0], rows[1:]
    for row in rows:
        for field in row:
            assert not field.startswith(FORMULA_START), f"CSV field starts a formula: {field[:40]!r}"
            assert not field.lstrip(" ").startswith(FORMULA_START), f"CSV field starts a formula after spaces: {field[:40]!r}"
    text = "\n".join(",".join(r) for r in rows)
    assert "'" + EVIL in text, "the hostile exercise name must still be readable, neutralised"
    for label in ("Sets", "Reps", "Days a week"):
        col = header.index(label)
        for row in body:
            if row[col] != "":
                float(row[col])  # a plain number, no quote mark
    evil = next(r for r in body if r[header.index("Exercise id")] == "clinic_evil")
    assert evil[header.index("Reps")] == "10" and evil[header.index("Sets")] == "2"


def test_programme_excel_has_no_formula_and_numeric_doses(evil_programme, tmp_path):
    path = evil_programme.to_excel(tmp_path / "p.xlsx")
    wb = load_workbook(path)
    seen_hostile = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str):
                    # shown as typed, but stored as a text cell marked "quote prefix": never run
                    assert cell.data_type == "s", f"{ws.title}!{cell.coordinate} is {cell.data_type}"
                    if cell.value.lstrip(" '").startswith(FORMULA_START):
                        assert cell.quotePrefix, f"{ws.title}!{cell.coordinate}: {cell.value[:40]!r} not marked as text"
                    seen_hostile += EVIL in cell.value
    assert seen_hostile >= 3, "the hostile texts must be in the workbook, as text"
    ws = wb["Programme"]
    header = [c.value for c in ws[1]]
    n_numeric = 0
    for label in ("Sets", "Reps", "Hold (s)", "Times a day", "Days a week", "Minutes", "Distance (km)"):
        col = header.index(label)
        for row in ws.iter_rows(min_row=2):
            cell = row[col]
            if cell.value is not None:
                assert cell.data_type == "n", f"{label} {cell.coordinate} is {cell.data_type}: {cell.value!r}"
                assert cell.value > 0
                n_numeric += 1
    assert n_numeric >= 5
    ids = [r[header.index("Exercise id")].value for r in ws.iter_rows(min_row=2)]
    evil_row = ws[ids.index("clinic_evil") + 2]
    assert evil_row[header.index("Reps")].value == 10 and evil_row[header.index("Sets")].value == 2
    details = {r[0].value: r[1].value for r in wb["Details"].iter_rows(min_row=2)}
    assert details["Patient"] == f"{SCRIPT}{EVIL}"  # did not start with a formula character: unchanged
    assert details["Clinic"] == "@Clinic =1+1"  # exactly as typed, no apostrophe
    assert any(v == SAFETY_NOTE for v in details.values()) and any(v == DISCLAIMER for v in details.values())


def test_patient_name_starting_with_a_formula_is_neutralised_everywhere(evil_programme, tmp_path):
    prog = evil_programme.with_details(patient=EVIL)
    wb = load_workbook(prog.to_excel(tmp_path / "p.xlsx"))
    details = {r[0].value: r[1].value for r in wb["Details"].iter_rows(min_row=2)}
    assert details["Patient"] == EVIL  # a text cell, shown as typed
    for row in _csv_fields(prog.to_csv(tmp_path / "p.csv")):
        assert not any(f.startswith(FORMULA_START) for f in row)


def test_control_characters_in_typed_text_do_not_break_the_workbook(evil_programme, tmp_path):
    prog = evil_programme.with_details(patient="Ann\x07 \x1bBell\x00")
    wb = load_workbook(prog.to_excel(tmp_path / "p.xlsx"))
    details = {r[0].value: r[1].value for r in wb["Details"].iter_rows(min_row=2)}
    assert details["Patient"] == "Ann Bell"


def test_html_handout_escapes_everything_typed(evil_programme, tmp_path):
    for pictures in (False, True):
        html = evil_programme.to_html(pictures=pictures)
        assert "<script>" not in html.lower() and "<script" not in html.lower()
        assert "&lt;script&gt;" in html
        assert SAFETY_NOTE.replace("'", "&#x27;") in html and DISCLAIMER.replace("'", "&#x27;") in html
    path = evil_programme.to_html(tmp_path / "p.html")
    assert "<script" not in Path(path).read_text(encoding="utf-8").lower()
    fragment = evil_programme._repr_html_()
    assert "<script" not in fragment.lower() and "&lt;script&gt;" in fragment


def test_blocked_handout_escapes_the_patient_name(evil_programme):
    blocked = sk.build_programme(["sciatica"], red_flags=["cauda_equina"], patient=SCRIPT)
    html = blocked.to_html(pictures=False)
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert SAFETY_NOTE.replace("'", "&#x27;") in html and DISCLAIMER.replace("'", "&#x27;") in html
    assert "<script" not in blocked._repr_html_().lower()


def test_pdf_handout_shows_typed_text_literally(evil_programme, tmp_path):
    from pypdf import PdfReader

    path = evil_programme.to_pdf(tmp_path / "p.pdf", pictures=False)
    assert Path(path).read_bytes().startswith(b"%PDF-")
    reader = PdfReader(path)
    assert len(reader.pages) >= 1
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    assert SCRIPT in flat, "the patient name must appear literally"
    assert EVIL in flat, "the clinic exercise name must appear literally"
    assert "Stop and get help" in flat and "Stop and contact your clinician" in flat and "does not replace it" in flat
    assert "/JavaScript" not in Path(path).read_text(encoding="latin-1"), "no script actions in the PDF"


def test_pdf_of_a_blocked_programme_is_valid_and_escaped(tmp_path):
    from pypdf import PdfReader

    blocked = sk.build_programme(["sciatica"], red_flags=["cauda_equina"], patient="<b>Ann</b> & <i>Bob</i>")
    path = blocked.to_pdf(tmp_path / "b.pdf")
    flat = " ".join("\n".join(p.extract_text() for p in PdfReader(path).pages).split())
    assert "<b>Ann</b> & <i>Bob</i>" in flat
    assert "EMERGENCY" in flat and "Referral note" in flat


NOTES = ["=1+1", "-2 better", "@SUM(A1)", "+3", "\uff1dX", "  =1+1", "'=already quoted", "'plain quote", "tab\there", "ok"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("wide", [False, True])
def test_write_log_neutralises_notes_and_reads_back_exactly(tmp_path, suffix, wide):
    log = sk.read_log(pd.DataFrame({
        "patient_id": ["P1"] * len(NOTES) + ["-P2"],
        "date": [f"2026-01-{d:02d}" for d in range(1, len(NOTES) + 2)],
        "pain": [str(i % 10) for i in range(len(NOTES) + 1)],
        "note": [*NOTES, "=HYPERLINK(\"x\")"],
    }))
    path = sk.write_log(log, tmp_path / f"log{suffix}", wide=wide)
    if suffix == ".csv":
        cells = [f for row in _csv_fields(path) for f in row]
    else:
        wb = load_workbook(path)
        cells = []
        for row in wb.active.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate
                if isinstance(cell.value, str):
                    cells.append(cell.value)
    for field in cells:
        assert not field.startswith(FORMULA_START), f"exported log cell starts a formula: {field!r}"
        assert not field.lstrip(" ").startswith(FORMULA_START), f"exported log cell starts a formula: {field!r}"
    back = sk.read_log(path)
    pd.testing.assert_frame_equal(back, log)


def test_numeric_dose_columns_stay_numeric_in_the_programme_table(evil_programme):
    for name in DOSE_FIELDS:
        assert pd.api.types.is_numeric_dtype(evil_programme.table[name]), name
