"""Exports: the handout a patient takes home (HTML and PDF from one layout), CSV and workbook.

Handout checks read the text back out of the PDF (pypdf) and, for positions, the word boxes
from poppler's ``pdftotext -bbox`` (installed with ``make browser``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

import sciatica_kit as sk
from sciatica_kit.export import SCREEN_NOT_RECORDED, safe_cell
from sciatica_kit.handout import (
    EMERGENCY_SIGNS,
    FILL_IN_DOSE,
    STOP_RULES,
    HandoutError,
    handout_html,
)
from sciatica_kit.programme import DISCLAIMER, SAFETY_NOTE

CLINIC = {
    "name": "Riverside Physiotherapy",
    "address": "12 River Road, Springfield",
    "phone": "01234 567890",
    "email": "hello@riverside.example",
    "clinician": "Aisha Khan",
    "next_appointment": "Tuesday 8 December, 10:30",
}
NO_SETTINGS: dict = {}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def prog():
    return sk.build_programme(
        ["sciatica", "piriformis_syndrome"], patient="DEMO-007 <b>Smith</b>", clinic="Demo Physio",
        include={"bird_dog": "=cmd|' /C calc'!A0"},
    )


@pytest.fixture
def eight():
    """A typical programme of eight exercises."""
    return eight_exercises("DEMO-008")


def eight_exercises(patient: str):
    p = sk.build_programme(["sciatica", "piriformis_syndrome"], patient=patient)
    for ex_id in ("pelvic_tilt", "bird_dog", "dead_bug", "abdominal_bracing", "stationary_cycling"):
        if len(p.table) < 8 and ex_id not in set(p.table["exercise_id"]):
            p = p.add(ex_id)
    for ex_id in list(p.table["exercise_id"])[8:]:
        p = p.remove(ex_id)
    assert len(p.table) == 8
    return p


@pytest.fixture(scope="module")
def everything():
    """Every catalogued exercise in one programme (the clinician forces the rest in)."""
    cat = sk.load_catalog()
    p = sk.build_programme(["sciatica"], include=sorted(cat.records["exercises"]), patient="DEMO-ALL")
    return p.set_dose("knee_to_chest_stretch", hold_s=45)  # out of range: a clinician note


def _pages(path) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(path).pages]


def _words(path) -> list[list[tuple[float, float, float, float, str]]]:
    """Word boxes per page: (x0, y0, x1, y1, word)."""
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext is missing: install it with 'apt-get install poppler-utils' (or 'make browser' as root)"
    out = subprocess.run([tool, "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for page in out.split("<page ")[1:]:
        pages.append([
            (float(a), float(b), float(c), float(d), w)
            for a, b, c, d, w in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page)
        ])
    return pages


def _page_width(path) -> float:
    return float(PdfReader(path).pages[0].mediabox.width)


# --------------------------------------------------------------------------- page 1, every page


def test_page_one_opens_with_patient_clinic_clinician_date_then_the_stop_box(eight, tmp_path):
    pages = _pages(eight.to_pdf(tmp_path / "h.pdf", clinic=CLINIC, settings=NO_SETTINGS))
    first = pages[0]
    order = ["Your home exercise programme", "Patient DEMO-008", f"Clinic {CLINIC['name']}",
             f"Clinician {CLINIC['clinician']}", "Date", "Stop and get help", "emergency department",
             EMERGENCY_SIGNS[0], f"call us on {CLINIC['phone']}", STOP_RULES[-1], "1. "]
    at = [first.find(s) for s in order]
    assert all(i >= 0 for i in at), [s for s, i in zip(order, at, strict=True) if i < 0]
    assert at == sorted(at), "page 1 is not in the order patient, clinic, clinician, date, stop box, exercises"
    for sign in EMERGENCY_SIGNS:
        assert sign in first, "an emergency sign is not on page 1"
        assert all(sign not in p for p in pages[1:]), "the emergency signs belong on page 1 only"
    assert CLINIC["next_appointment"] in first and CLINIC["address"] in first


def test_every_page_says_page_n_of_m_with_the_patient_id(eight, tmp_path):
    pages = _pages(eight.to_pdf(tmp_path / "h.pdf", settings=NO_SETTINGS))
    assert len(pages) >= 2
    for n, text in enumerate(pages, start=1):
        assert f"page {n} of {len(pages)}" in text
        assert "Patient: DEMO-008" in text
    html_text = eight.to_html(settings=NO_SETTINGS)  # the browser prints the same margin boxes
    assert 'counter(page) " of " counter(pages)' in html_text and '"Patient: DEMO-008"' in html_text


@pytest.mark.browser
def test_the_html_printed_from_a_browser_says_page_n_of_m_with_the_patient_id(eight, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert chromium, "Chromium is missing: install it with 'apt-get install chromium' (or run 'make browser' as root)"
    page = eight.to_html(tmp_path / "handout.html", settings=NO_SETTINGS, clinic=CLINIC)
    out = tmp_path / "printed.pdf"
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--no-pdf-header-footer", f"--print-to-pdf={out}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert out.exists(), proc.stderr[-2000:]
    pages = _pages(out)
    assert len(pages) >= 2
    for n, text in enumerate(pages, start=1):
        assert f"page {n} of {len(pages)}" in text and "Patient: DEMO-008" in text
    assert "Stop and get help" in pages[0] and CLINIC["phone"] in pages[0]


def test_patient_id_in_the_page_footer_cannot_break_out_of_the_style(tmp_path):
    p = sk.build_programme(["sciatica"], patient='x"; } body { display: none } </style><script>1</script>')
    text = p.to_html(settings=NO_SETTINGS, pictures=False)
    assert "<script>" not in text and "</style><script" not in text
    pages = _pages(p.to_pdf(tmp_path / "h.pdf", settings=NO_SETTINGS, pictures=False))
    assert all('</style><script>1</script>' in t for t in pages)  # printed literally on every page


def test_a_typical_programme_fits_on_few_pages_with_two_exercises_sharing_a_page(eight, tmp_path):
    pages = _pages(eight.to_pdf(tmp_path / "h.pdf", settings=NO_SETTINGS))
    assert 3 <= len(pages) <= 5, f"{len(pages)} pages for eight exercises"
    heads = [sum(f"{n}. {name}" in t for n, name in enumerate(eight.table["name"], start=1)) for t in pages]
    assert sum(heads) == 8 and max(heads) >= 2
    assert SAFETY_NOTE.split(".")[0] in pages[-1] and "does not replace" in pages[-1]
    assert any(f"{n}. " in pages[-1] for n in range(1, 9)) or "Looking after your back" in pages[-1], \
        "the closing safety text stands alone on the last page"


def test_no_phone_leaves_a_line_to_write_the_number_on(eight):
    text = eight.to_html(settings=NO_SETTINGS, pictures=False)
    assert "call us on <span class=\"phone\">________________</span>" in text


# --------------------------------------------------------------------------- clinic profile


def test_clinic_profile_comes_from_the_settings_file_and_a_call_can_override_it(eight, tmp_path, monkeypatch):
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="10"><rect width="40" height="10"/></svg>')
    settings = tmp_path / "settings.toml"
    settings.write_text(
        "[clinic]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in CLINIC.items()) + f"logo = {json.dumps(str(logo))}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SCIATICA_KIT_SETTINGS", str(settings))
    text = eight.to_html(pictures=False)
    for value in CLINIC.values():
        assert value in text
    assert 'alt="Riverside Physiotherapy logo"' in text and "data:image/svg+xml;base64," in text
    other = eight.to_html(pictures=False, clinic={"phone": "020 7946 0000", "clinician": "Dr Lee"})
    assert "020 7946 0000" in other and "Dr Lee" in other and CLINIC["phone"] not in other
    assert CLINIC["address"] in other  # the rest still comes from the settings
    with pytest.raises(HandoutError, match="Unknown clinic detail.*fax"):
        eight.to_html(clinic={"fax": "1"})
    with pytest.raises(HandoutError, match="logo file .* cannot be read"):
        eight.to_html(clinic={"logo": str(tmp_path / "missing.png")})


# --------------------------------------------------------------------------- doses and patient-facing text


def test_no_handout_ever_says_dose_not_specified(everything, tmp_path):
    text = everything.to_html(settings=NO_SETTINGS, pictures=False)
    pdf = " ".join(_pages(everything.to_pdf(tmp_path / "all.pdf", settings=NO_SETTINGS, pictures=False)))
    from sciatica_kit.wording import load_wording

    no_dose = load_wording().no_dose
    assert "not specified" not in text.lower() and "not specified" not in pdf.lower()
    assert no_dose not in text and no_dose not in pdf  # the table's "No dose set yet" becomes fill-in lines
    n_fill = 0
    for row in everything.table.to_dict("records"):
        dose = str(row["dose"])
        assert "not specified" not in dose.lower()
        if dose == no_dose or not dose.strip():
            n_fill += 1
        else:
            assert " ".join(dose.split()) in pdf, f"{row['exercise_id']}: dose '{dose}' not printed"
    assert n_fill, "the catalogue has exercises without a dose: they must print fill-in lines"
    assert pdf.count(FILL_IN_DOSE.split(",")[0].split()[0]) >= n_fill
    assert text.count('class="dose fill-in"') == n_fill
    assert FILL_IN_DOSE.replace("times,", "times each side,", 1) in text  # sliders are done on each side


# The columns and catalogue fields written for the clinician, never for the patient.
CLINICIAN_COLUMNS = ("reason", "indicated_by", "dose_source", "sources")
CLINICIAN_FIELDS = ("dose_source", "dose_note", "sources", "phase_note", "clinician_notes")


def test_only_patient_facing_text_reaches_the_handout(everything, tmp_path):
    """Walks every exercise: its patient text is printed, nothing written for the clinician is."""
    cat = sk.load_catalog()
    html_text = everything.to_html(settings=NO_SETTINGS, pictures=False)
    pdf = " ".join(_pages(everything.to_pdf(tmp_path / "all.pdf", settings=NO_SETTINGS, pictures=False)))
    flat_html = " ".join(__import__("html").unescape(html_text).split())
    checked = 0
    for row in everything.table.to_dict("records"):
        rec = cat.records["exercises"][row["exercise_id"]]
        for text in [row["name"], *rec["steps"], *row["stop_if"].split("\n"),
                     *filter(None, row["patient_cautions"].split("\n"))]:
            assert " ".join(text.split()) in pdf, f"{row['exercise_id']}: patient text missing: {text[:60]}"
        patient = set(filter(None, row["patient_cautions"].split("\n")))
        clinician_only = [c for c in row["cautions"].split("\n") if c and c not in patient]
        for col in CLINICIAN_COLUMNS:
            clinician_only += [line for line in str(row[col]).split("\n") if len(line) > 12]
        for name in CLINICIAN_FIELDS:
            value = rec.get(name) or ()
            clinician_only += [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)]
        for text in clinician_only:
            if len(text) <= 12 or text in patient or any(text in s for s in [row["name"], *rec["steps"]]):
                continue
            checked += 1
            flat = " ".join(text.split())
            assert flat not in flat_html and flat not in pdf, f"{row['exercise_id']}: clinician text on the handout: {text[:80]}"
    assert checked > 50
    for word in ("Clinician override", "outside the source range", "Forced in", "Why it is there", ".txt"):
        assert word not in flat_html and word not in pdf


def test_handout_tells_the_patient_only_what_is_meant_for_the_patient(tmp_path):
    """Clinician notes (overrides, out-of-range edits) stay in the table and spreadsheet, not the handout."""
    prog = sk.build_programme(["spinal_stenosis"], include={"prone_press_up_on_forearms": "clear extension preference"})
    prog = prog.set_dose("knee_to_chest_stretch", hold_s=45)
    table = prog.table.set_index("exercise_id")
    assert "Clinician override" in table.loc["prone_press_up_on_forearms", "cautions"]
    assert "Clinician override" not in table.loc["prone_press_up_on_forearms", "patient_cautions"]
    html_text = prog.to_html(settings=NO_SETTINGS)
    assert "Keep the hips down and the neck relaxed." in html_text
    for clinician_note in ("Clinician override", "outside the source range", "Forced in"):
        assert clinician_note not in html_text
    assert "Clinician override" in (prog.to_frame()["Cautions"].str.cat(sep=" "))


# --------------------------------------------------------------------------- any script, long text


NAMES = {
    "Latin": "José Müller-Łukasiewicz",
    "Greek": "Ελένη Παπαδοπούλου",
    "Cyrillic": "Ольга Смирнова",
    "Chinese": "王小明",
    "Arabic": "محمد الأحمد",
    "Hebrew": "דוד כהן",
}
CJK_FONTS = ("WenQuanYi", "WQY", "NotoSansCJK", "Noto Sans CJK", "SourceHan", "DroidSansFallback", "AR PL")


def _clinic_exercise(tmp_path, *, name: str, steps: list[str], ex_id: str = "clinic_exercise", extra: str = "") -> Path:
    path = tmp_path / "clinic.toml"
    path.write_text(
        f"""[[exercise]]
id = "{ex_id}"
name = {json.dumps(name, ensure_ascii=False)}
category = "stretch"
targets = ["back"]
position = "lying on the back"
equipment = []
steps = {json.dumps(steps, ensure_ascii=False)}
dose_source = "Clinic protocol 2026"
each_side = false
phases = ["acute", "subacute", "chronic"]
progress_to = []
regress_to = []
cautions = []
stop_if = ["Pain spreads down the leg."]
sources = ["Clinic protocol 2026"]
sets = "not specified"
reps = [10, 10]
hold_s = "not specified"
times_per_day = [2, 2]
days_per_week = "not specified"
minutes = "not specified"
distance_km = "not specified"
{extra}""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("script", list(NAMES))
def test_names_in_every_script_print_intact(script, tmp_path):
    name = NAMES[script]
    cat = sk.load_catalog(extra=_clinic_exercise(tmp_path, name=name, steps=["Lie down.", name]))
    prog = sk.build_programme(["sciatica"], include=["clinic_exercise"], patient=name, catalog=cat)
    path = prog.to_pdf(tmp_path / "h.pdf", clinic={"name": name, "clinician": name}, settings=NO_SETTINGS,
                       pictures=False)
    pages = _pages(path)
    first = pages[0]
    assert f"Patient {name}" in first and f"Clinician {name}" in first and f"Clinic {name}" in first
    n = list(prog.table["exercise_id"]).index("clinic_exercise") + 1
    assert f"{n}. {name}" in " ".join(pages) and f"2. {name}" in " ".join(pages)  # the clinic's exercise and step
    assert all(f"Patient: {name}" in t for t in pages)  # the footer too
    if script == "Chinese":
        fonts = {str(f.get("/BaseFont")) for page in PdfReader(path).pages for f in page["/Resources"]["/Font"].values()}
        assert any(k.replace(" ", "") in f.replace(" ", "") for f in fonts for k in CJK_FONTS), (
            f"no Chinese font embedded ({sorted(fonts)}): install one with 'apt-get install fonts-wqy-microhei' "
            "(make install does it as root)"
        )


def test_long_ids_and_steps_wrap_and_steps_ten_and_up_stay_aligned(tmp_path):
    long_word = "Supercalifragilisticexpialidocious" * 4
    steps = [f"Step number {i}: breathe out and move slowly." for i in range(1, 13)]
    steps[4] = "Keep going " + long_word + " and then rest."
    cat = sk.load_catalog(extra=_clinic_exercise(tmp_path, name="Clinic stretch", steps=steps))
    patient = "PATIENT-" + "0123456789" * 14
    prog = sk.build_programme(["sciatica"], include=["clinic_exercise"], patient=patient, catalog=cat)
    path = prog.to_pdf(tmp_path / "h.pdf", settings=NO_SETTINGS, pictures=False)
    width = _page_width(path)
    pages = _words(path)
    for page in pages:
        for x0, _, x1, _, w in page:
            assert x0 >= 0 and x1 <= width - 20, f"'{w[:30]}' runs off the page ({x1:.0f} of {width:.0f})"
    flat = "".join(w for page in pages for *_, w in page)
    assert patient in flat and long_word in flat
    starts = {}
    for page in pages:
        for i, (x0, _, _, _, w) in enumerate(page):
            if w == "Step" and i > 0 and re.fullmatch(r"\d+\.", page[i - 1][4]):
                starts[int(page[i - 1][4][:-1])] = (x0, page[i - 1][2])
    assert set(starts) >= set(range(1, 13)) - {5}
    assert max(s[0] for s in starts.values()) - min(s[0] for s in starts.values()) < 0.5, "step texts not aligned"
    assert max(s[1] for s in starts.values()) - min(s[1] for s in starts.values()) < 0.5, "step numbers not aligned"
    assert all(number_end < text_start - 2 for text_start, number_end in starts.values()), "numbers touch the text"


def test_a_continued_exercise_repeats_its_title(tmp_path):
    steps = [f"Step {i}: " + "lie still, breathe out slowly and let the back relax into the floor. " * 3 for i in range(1, 41)]
    cat = sk.load_catalog(extra=_clinic_exercise(tmp_path, name="Long clinic routine", steps=steps))
    prog = sk.build_programme(["sciatica"], include=["clinic_exercise"], catalog=cat)
    pages = _pages(prog.to_pdf(tmp_path / "h.pdf", settings=NO_SETTINGS, pictures=False))
    n = list(prog.table["exercise_id"]).index("clinic_exercise") + 1
    with_title = [i for i, t in enumerate(pages) if f"{n}. Long clinic routine" in t]
    with_steps = [i for i, t in enumerate(pages) if re.search(r"Step \d+: lie still", t)]
    assert len(with_steps) >= 2 and set(with_steps) <= set(with_title)
    for text in pages:  # a step is never cut in two: its number and its words share a page
        for m in re.finditer(r"Step (\d+): lie still", text):
            assert f"{m.group(1)}. Step {m.group(1)}:" in text, f"step {m.group(1)} is split across pages"


def test_pictures_carry_alt_text_and_the_pdf_is_tagged(eight, tmp_path):
    text = eight.to_html(settings=NO_SETTINGS)
    imgs = re.findall(r"<img [^>]*>", text)
    assert len(imgs) == len(eight.table)
    for img, name in zip(imgs, eight.table["name"], strict=True):
        alt = re.search(r'alt="([^"]+)"', img)
        assert alt and name in __import__("html").unescape(alt.group(1))
    root = PdfReader(eight.to_pdf(tmp_path / "h.pdf", settings=NO_SETTINGS)).trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]


def _step_font_sizes(path, step: str) -> set[float]:
    sizes: set[float] = set()

    def visit(text, cm, tm, font, size):
        if text.strip() and text.strip() in step:
            sizes.add(round(size * abs(tm[3]) * abs(cm[3]), 1))

    for page in PdfReader(path).pages:
        page.extract_text(visitor_text=visit)
    return sizes


def test_large_print_sets_the_body_at_14_pt_or_more(tmp_path):
    prog = sk.build_programme(["herniated_disc"], patient="DEMO-1")
    step = sk.load_catalog().records["exercises"][prog.table["exercise_id"].iloc[0]]["steps"][0]
    normal = _step_font_sizes(prog.to_pdf(tmp_path / "n.pdf", settings=NO_SETTINGS, pictures=False), step)
    large = _step_font_sizes(prog.to_pdf(tmp_path / "l.pdf", settings=NO_SETTINGS, pictures=False, large_print=True), step)
    assert normal and large
    assert min(large) >= 14 and max(normal) < 14


def test_html_letter_paper_and_unknown_paper(prog):
    assert "8.5in 11in" in prog.to_html(paper="Letter", settings=NO_SETTINGS)
    with pytest.raises(ValueError, match="Valid sizes: A4, Letter"):
        prog.to_html(paper="A5")


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_pdf_paper_sizes(eight, tmp_path, paper):
    path = eight.to_pdf(tmp_path / f"p-{paper}.pdf", paper=paper, settings=NO_SETTINGS, pictures=False)
    assert _page_width(path) == pytest.approx(595.3 if paper == "A4" else 612.0, abs=1)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_html_handout_is_self_contained_and_escaped(prog, tmp_path):
    path = prog.to_html(tmp_path / "p.html", settings=NO_SETTINGS)
    text = path.read_text(encoding="utf-8")
    assert "<b>Smith</b>" not in text and "&lt;b&gt;Smith&lt;/b&gt;" in text
    assert "http://" not in text and "https://" not in text
    assert text.count('class="exercise"') == len(prog.table)
    assert "break-inside: avoid" in text and "<thead>" in text
    assert DISCLAIMER.replace("'", "&#x27;") in text
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


# --------------------------------------------------------------------------- blocked programme


def test_a_blocked_programme_exports_a_referral_note_not_a_handout(tmp_path):
    prog = sk.build_programme(["sciatica"], red_flags=["cauda_equina", "cancer_suspected"], patient="DEMO-001")
    ref = prog.referral
    text = prog.to_html(settings=NO_SETTINGS)
    pages = _pages(prog.to_pdf(tmp_path / "b.pdf", settings=NO_SETTINGS))
    flat = " ".join(pages)
    for out in (text, flat):
        assert "Your home exercise programme" not in out and "Stop and get help" not in out
        assert "Referral note" in out and "NOT A PATIENT HANDOUT" in out
    assert 'class="exercise"' not in text
    cat = sk.load_catalog()
    for needle in (ref.refer_to, ref.headline, "Refer to", "How urgently", "Why", *(cat.records["red_flags"][f]["name"] for f in prog.red_flags)):
        assert " ".join(needle.split()) in flat, needle
    rows = list(csv.reader(io.StringIO(prog.to_csv(tmp_path / "b.csv").read_text(encoding="utf-8-sig"))))
    wb = load_workbook(prog.to_excel(tmp_path / "b.xlsx"))
    assert wb.sheetnames[0] == "Referral"
    sheet = [["" if c.value is None else (c.value.date().isoformat() if isinstance(c.value, dt.datetime) else str(c.value))
              for c in r] for r in wb["Referral"].iter_rows()]
    assert rows == sheet, "the CSV and the workbook's first sheet must say the same"
    items = {r[0]: r[1] for r in rows[1:]}
    assert items["Refer to"] == ref.refer_to and "Exercise programme not started" in items["Status"]
    assert items["Red-flag screen"].lower() == "red-flag screen not recorded" == SCREEN_NOT_RECORDED.lower()


def test_clinician_exports_say_when_the_red_flag_screen_was_not_recorded(prog, tmp_path):
    assert getattr(prog, "screen", None) is None
    details = {r[0].value: r[1].value for r in load_workbook(prog.to_excel(tmp_path / "p.xlsx"))["Details"].iter_rows(min_row=2)}
    assert details["Red-flag screen"].lower() == "red-flag screen not recorded"
    assert "red-flag screen not recorded" in prog._repr_html_().lower()
    assert "screen not recorded" not in prog.to_html(settings=NO_SETTINGS, pictures=False).lower()  # the patient's handout
    blocked = sk.build_programme(["sciatica"], red_flags=["cauda_equina"])
    assert "red-flag screen not recorded" in blocked.to_html(settings=NO_SETTINGS).lower()  # the referral note


# --------------------------------------------------------------------------- CSV and workbook


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", " =1", "\uff1d1"])
def test_formula_starts_are_neutralised(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", [-3.5, 0, 12, "Sit tall", "", None])
def test_harmless_values_pass_through(value):
    assert safe_cell(value) == value


def test_csv_opens_cleanly_in_excel_and_cannot_run_formulas(prog, tmp_path):
    path = prog.to_csv(tmp_path / "p.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Exercise id", "Exercise", "Category"]
    assert len(body) == len(prog.table)
    for r in body:
        for cell in r:
            assert not cell.startswith(FORMULA_START), cell
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_csv_guard_holds_when_a_spreadsheet_splits_at_semicolons(tmp_path):
    hostile = "Sit tall;=HYPERLINK(\"http://x\");  +1; -2;@SUM(A1);\uff1d1"
    prog = sk.build_programme(["sciatica"], patient=hostile, include={"bird_dog": hostile}, exclude={"walking": hostile})
    path = prog.to_csv(tmp_path / "p.csv")
    text = path.read_text(encoding="utf-8-sig")
    for sep in (",", ";"):
        for row in csv.reader(io.StringIO(text), delimiter=sep):
            for field in row:
                assert not field.lstrip(" \"").startswith((*FORMULA_START, "\uff1d")), (sep, field[:40])
    assert "Sit tall;'=HYPERLINK" in text


def test_workbook_prints_landscape_fitted_with_repeated_headers_and_tall_rows(prog, tmp_path):
    wb = load_workbook(prog.to_excel(tmp_path / "p.xlsx"))
    assert wb.sheetnames == ["Programme", "Kept out", "Details"]
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$1:$1"
        assert ws.freeze_panes == "A2" and ws["A1"].font.bold
    ws = wb["Programme"]
    header = [c.value for c in ws[1]]
    why = header.index("Why it is there") + 1
    for r in range(2, ws.max_row + 1):
        text = str(ws.cell(row=r, column=why).value or "")
        needed = len(text) / (ws.column_dimensions[ws.cell(row=1, column=why).column_letter].width * 1.2)
        assert ws.row_dimensions[r].height >= 14 * max(1, needed), f"row {r} is too short for its text"
    details = {r[0].value: r[1] for r in wb["Details"].iter_rows(min_row=2)}
    assert details["Date"].is_date and details["Date"].value.date() == prog.created
    assert details["Disclaimer"].value == DISCLAIMER and details["Safety note"].value == SAFETY_NOTE


def test_workbook_leaves_missing_doses_blank_and_numbers_numeric(everything, tmp_path):
    ws = load_workbook(everything.to_excel(tmp_path / "p.xlsx"))["Programme"]
    header = [c.value for c in ws[1]]
    table = everything.table.reset_index(drop=True)
    for label, col in (("Reps", "reps"), ("Times a day", "times_per_day"), ("Minutes", "minutes")):
        j = header.index(label)
        for i, row in enumerate(ws.iter_rows(min_row=2)):
            if pd.isna(table.loc[i, col]):
                assert row[j].value is None, f"{label} should be blank for {table.loc[i, 'exercise_id']}"
            else:
                assert row[j].data_type == "n"
    words = header.index("Dose in words")
    blank = [r[words].value for r in ws.iter_rows(min_row=2) if r[words].value is None]
    assert blank and not any("not specified" in str(r[words].value).lower() for r in ws.iter_rows(min_row=2))


def test_workbook_stores_formula_like_text_as_text_without_an_apostrophe(tmp_path):
    evil = "=cmd|' /C calc'!A0"
    prog = sk.build_programme(["sciatica"], patient=evil, clinic="@Clinic", include={"bird_dog": evil})
    path = prog.to_excel(tmp_path / "p.xlsx")
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in z.read(name).decode("utf-8") and "<f " not in z.read(name).decode("utf-8")
    details = {r[0].value: r[1] for r in load_workbook(path)["Details"].iter_rows(min_row=2)}
    for key, typed in (("Patient", evil), ("Clinic", "@Clinic")):
        cell = details[key]
        assert cell.value == typed and cell.data_type == "s" and cell.quotePrefix, key


def test_notebook_display_shows_table_and_remarks():
    prog = sk.build_programme(["spinal_stenosis", "herniated_disc"], patient="<i>x</i>")
    html = prog._repr_html_()
    assert "Kept out" in html and "Extension narrows the spinal canal" in html
    assert "<i>x</i>" not in html
    blocked = sk.build_programme(["sciatica"], red_flags=["fracture_suspected"])._repr_html_()
    assert "blocked" in blocked.lower() and "imaging" in blocked


def test_to_frame_joins_multiline_text(prog):
    frame = prog.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert not frame["Cautions"].str.contains("\n").any()


def test_handout_html_is_the_single_layout_of_the_pdf(eight, tmp_path, monkeypatch):
    """The PDF is the HTML handout laid out: whatever the HTML says, the PDF says."""
    from sciatica_kit import handout

    seen = []
    real = handout.html_to_pdf
    monkeypatch.setattr(handout, "html_to_pdf", lambda text, path, **kw: seen.append(text) or real(text, path, **kw))
    eight.to_pdf(tmp_path / "h.pdf", settings=NO_SETTINGS, pictures=False)
    assert seen == [handout_html(eight, settings=NO_SETTINGS, pictures=False)]


def test_a_referral_alongside_the_programme_and_the_screen_reach_every_clinician_export(tmp_path):
    """Inflammatory back pain refers to rheumatology without blocking: the CSV, the workbook and the notebook view say so."""
    prog = sk.build_programme(["axial_back_pain"], red_flags=["inflammatory_suspected"], patient="P-1")
    assert not prog.blocked and prog.referral is not None
    rows = list(csv.DictReader(io.StringIO(prog.to_csv(tmp_path / "p.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(prog.table) > 0
    assert all("heumatolog" in r["Referral alongside the programme"] for r in rows)
    assert all(r["Red-flag screen"] == "Red-flag screen not recorded" for r in rows)
    wb = load_workbook(prog.to_excel(tmp_path / "p.xlsx"))
    details = " ".join(str(c.value) for row in wb["Details"].iter_rows() for c in row if c.value)
    assert "heumatolog" in details and "Red-flag screen not recorded" in details
    view = prog._repr_html_()
    assert "heumatolog" in view and "Red-flag screen not recorded" in view
    handout = prog.to_html(tmp_path / "h.html").read_text(encoding="utf-8")
    assert "Red-flag screen not recorded" not in handout  # the patient's handout carries no clinician wording


def test_every_export_showing_the_clinicians_changes_gives_each_reason(tmp_path):
    prog = (sk.build_programme(["sciatica"])
            .set_dose("walking", reason="builds up slowly after surgery", days_per_week=5)
            .remove("supine_hamstring_stretch_strap", "cannot lie flat")
            .add("bird_dog", "core endurance"))
    details = {r[0].value: r[1].value for r in load_workbook(prog.to_excel(tmp_path / "p.xlsx"))["Details"].iter_rows(min_row=2)}
    assert details["Clinician change - Dose changed: Walking"] == "days_per_week 7 -> 5; reason: builds up slowly after surgery"
    assert details["Clinician change - Removed: Hamstring stretch with a towel or belt"] == "cannot lie flat"
    assert details["Clinician change - Added: Bird dog"] == "core endurance"
    fragment = prog._repr_html_()
    assert "Dose changed: Walking (days_per_week 7 -&gt; 5; reason: builds up slowly after surgery)" in fragment
    frame = pd.read_csv(prog.to_csv(tmp_path / "p.csv"), encoding="utf-8-sig").set_index("Exercise id")
    assert "reason: builds up slowly after surgery" in frame.loc["walking", "Why it is there"]
    from sciatica_kit.fhir import careplan_bundle

    careplan = json.dumps(careplan_bundle(prog))
    assert "builds up slowly after surgery" in careplan
