"""Exports: CSV opens cleanly, Excel is formatted, HTML/PDF handouts are complete and escaped."""

from __future__ import annotations

import csv
import io
import os

import pandas as pd
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

import sciatica_kit as sk
from sciatica_kit.export import safe_cell
from sciatica_kit.programme import DISCLAIMER, SAFETY_NOTE


@pytest.fixture
def prog():
    return sk.build_programme(
        ["sciatica", "piriformis_syndrome"], patient="DEMO-007 <b>Smith</b>", clinic="Demo Physio",
        include={"bird_dog": "=cmd|' /C calc'!A0"},
    )


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", " =1", "\uff1d1"])
def test_formula_starts_are_neutralised(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", [-3.5, 0, 12, "Sit tall", "", None])
def test_harmless_values_pass_through(value):
    assert safe_cell(value) == value


def test_csv_opens_cleanly_in_excel_and_cannot_run_formulas(prog, tmp_path):
    path = prog.to_csv(tmp_path / "p.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    assert b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Exercise id", "Exercise", "Category"]
    assert len(body) == len(prog.table)
    for r in body:
        for cell in r:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    reason = body[[r[0] for r in body].index("bird_dog")][header.index("Why it is there")]
    assert reason.startswith("Added by the clinician")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_excel_is_formatted_with_details_and_disclaimer(prog, tmp_path):
    path = prog.to_excel(tmp_path / "p.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Programme", "Kept out", "Details"]
    ws = wb["Programme"]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    assert ws.column_dimensions["B"].width >= 25
    headers = [c.value for c in ws[1]]
    reps_col = headers.index("Reps") + 1
    numeric = [ws.cell(row=r, column=reps_col) for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=reps_col).value is not None]
    assert numeric and all(c.data_type == "n" for c in numeric)
    for row in wb["Programme"].iter_rows():
        for cell in row:
            assert cell.data_type != "f"
    details = {r[0].value: r[1].value for r in wb["Details"].iter_rows(min_row=2)}
    assert details["Patient"] == "DEMO-007 <b>Smith</b>"
    assert details["Disclaimer"] == DISCLAIMER
    assert details["Safety note"] == SAFETY_NOTE
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_html_handout_is_self_contained_escaped_and_carries_the_safety_note(prog, tmp_path):
    path = prog.to_html(tmp_path / "p.html")
    text = path.read_text(encoding="utf-8")
    assert "<b>Smith</b>" not in text and "&lt;b&gt;Smith&lt;/b&gt;" in text
    assert "http://" not in text and "https://" not in text  # nothing loaded from elsewhere
    assert text.count('class="exercise"') >= len(prog.table)
    assert "break-inside: avoid" in text
    assert SAFETY_NOTE.split(".")[0] in text
    assert "does not replace" in text
    for name in prog.table["name"]:
        assert name in text
    assert "Hold 15 seconds, repeat 2 times each side, at least twice a day" in text  # figure-4 stretch, seed 004


def test_html_letter_paper_and_unknown_paper(prog):
    assert "8.5in 11in" in prog.to_html(paper="Letter")
    with pytest.raises(ValueError, match="Valid sizes: A4, Letter"):
        prog.to_html(paper="A5")


def test_blocked_programme_handout_shows_the_referral_and_no_exercises(tmp_path):
    prog = sk.build_programme(["sciatica"], red_flags=["cauda_equina"], patient="DEMO-001")
    text = prog.to_html()
    assert "EMERGENCY" in text and 'class="exercise"' not in text
    assert "does not replace" in text


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_pdf_handout_pages_and_text(prog, tmp_path, paper):
    path = prog.to_pdf(tmp_path / f"p-{paper}.pdf", paper=paper)
    reader = PdfReader(path)
    width = float(reader.pages[0].mediabox.width)
    assert width == pytest.approx(595.3 if paper == "A4" else 612.0, abs=1)
    text = "\n".join(p.extract_text() for p in reader.pages)
    flat = " ".join(text.split())
    assert "Your home exercise programme" in flat
    assert "DEMO-007 <b>Smith</b>" in flat  # user text printed literally, not as markup
    for name in prog.table["name"]:
        assert name in flat
    assert "Stop and contact us if" in flat
    assert "does not replace" in flat
    assert len(reader.pages) >= 2


def test_pdf_keeps_each_exercise_on_one_page(prog, tmp_path):
    reader = PdfReader(prog.to_pdf(tmp_path / "p.pdf"))
    pages = [" ".join(p.extract_text().split()) for p in reader.pages]
    for n, name in enumerate(prog.table["name"], start=1):
        heading = f"{n}. {name}"
        page = next(i for i, t in enumerate(pages) if heading in t)
        steps = sk.load_catalog().records["exercises"][prog.table["exercise_id"].iloc[n - 1]]["stop_if"]
        assert " ".join(steps[-1].split()) in pages[page], f"{name} is split across pages"


def test_notebook_display_shows_table_and_remarks():
    prog = sk.build_programme(["spinal_stenosis", "herniated_disc"], patient="<i>x</i>")
    html = prog._repr_html_()
    assert "Kept out" in html and "Extension narrows the spinal canal" in html
    assert "<i>x</i>" not in html
    assert "not specified" in html
    blocked = sk.build_programme(["sciatica"], red_flags=["fracture_suspected"])._repr_html_()
    assert "blocked" in blocked.lower() and "imaging" in blocked


def test_to_frame_joins_multiline_text(prog):
    frame = prog.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert not frame["Cautions"].str.contains("\n").any()


def test_handout_tells_the_patient_only_what_is_meant_for_the_patient(tmp_path):
    """Clinician notes (overrides, out-of-range edits) stay in the table and spreadsheet, not the handout."""
    prog = sk.build_programme(["spinal_stenosis"], include={"prone_press_up_on_forearms": "clear extension preference"})
    prog = prog.set_dose("knee_to_chest_stretch", hold_s=45)
    table = prog.table.set_index("exercise_id")
    assert "Clinician override" in table.loc["prone_press_up_on_forearms", "cautions"]
    assert "outside the source range" in table.loc["knee_to_chest_stretch", "cautions"]
    assert "Clinician override" not in table.loc["prone_press_up_on_forearms", "patient_cautions"]
    assert "Keep the hips down" in table.loc["prone_press_up_on_forearms", "patient_cautions"]
    html_text = prog.to_html()
    assert "Keep the hips down and the neck relaxed." in html_text
    for clinician_note in ("Clinician override", "outside the source range", "Forced in"):
        assert clinician_note not in html_text
    pdf_text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(prog.to_pdf(tmp_path / "h.pdf")).pages)
    assert "Clinician override" not in pdf_text and "Keep the hips down" in pdf_text
    assert "Clinician override" in (prog.to_frame()["Cautions"].str.cat(sep=" "))
