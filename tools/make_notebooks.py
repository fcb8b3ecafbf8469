"""Write the kit's notebooks (no outputs). Run: python tools/make_notebooks.py"""

from pathlib import Path

import nbformat as nbf

ROOT = Path(__file__).resolve().parents[1] / "notebooks"


def md(text):
    return nbf.v4.new_markdown_cell(text.strip())


def code(text, tags=()):
    cell = nbf.v4.new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def write(name, cells, **meta):
    nb = nbf.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata.update(meta)
    path = ROOT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbf.write(nb, path)
    print("wrote", path)


write("01_build_programme.ipynb", [
    md("""
# Build a home-exercise programme

Screen for red flags, tick the patient's conditions, phase and findings, then
build the programme. Every exercise shows its dose, why it is there and its
cautions; adjust it, export it (CSV, Excel, printable handout, FHIR) and save
it to the patient. The kit supports your clinical judgement; it does not
replace it.
"""),
    code("""
from sciatica_kit.widgets import ProgrammeBuilder

app = ProgrammeBuilder(clinic="Demo Physiotherapy")
app
"""),
    md("## Self-check: the same from code"),
    code("""
import sciatica_kit as sk

example = sk.build_programme(["herniated_disc", "piriformis_syndrome"], phase="subacute", patient="DEMO-001")
assert {"floor_bridge", "supine_glute_stretch", "abdominal_bracing", "walking"} <= set(example.table["exercise_id"])
assert example.table["reason"].str.len().gt(0).all() and not example.blocked
print(f"{len(example.table)} exercises for the example patient; every row has a reason.")
"""),
])

write("02_log_and_chart_progress.ipynb", [
    md("""
# Log a visit and chart progress

Choose a patient (or add one), enter today's measurements and questionnaires,
and save: the chart updates at once, with the baseline, the MCID band and the
dates the programme started or changed. Import a spreadsheet of past visits with
the file button; a file with problems is listed row by row and nothing is saved.
"""),
    code("""
from sciatica_kit.widgets import ProgressLogger

logger = ProgressLogger(patient_id="DEMO-001")
logger
"""),
    md("## Self-check: the demo patient's summary from code"),
    code("""
import sciatica_kit as sk

store = sk.Store()
log = store.read("DEMO-001")
summary = sk.summarise(log)
assert not log.empty and {"pain", "odi"} <= set(summary["measure"])
summary.loc[summary["measure"].isin(["pain", "leg_pain", "odi"]), ["measure", "baseline", "latest", "change", "mcid", "responder"]]
"""),
    code("""
fig = sk.plot_progress(log, "DEMO-001", programmes=store.programmes("DEMO-001"))
fig
"""),
])

write("03_clinic_overview.ipynb", [
    md("""
# Clinic overview

How the whole clinic is doing: each patient's latest change on pain, leg pain,
Oswestry and Roland-Morris, whether it reaches the minimal clinically important
difference, and the cohort's median trajectory. Filter by condition.
"""),
    code("""
from sciatica_kit.widgets import ClinicOverview

overview = ClinicOverview()
overview
"""),
])
