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
    for i, cell in enumerate(cells):
        cell["id"] = f"{Path(name).stem.replace('_', '-')}-{i}"  # stable ids: regenerating makes no diff
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata.update(meta)
    path = ROOT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbf.write(nb, path)
    print("wrote", path)


write("00_home.ipynb", [
    md("""
# Sciatica Kit

Exercise programmes, progress logs and reports for low back pain and sciatica.
The kit supports your clinical judgement; it does not replace it.

| App | What it does |
|---|---|
| [Build a programme](01_build_programme.ipynb) | Red-flag screen, conditions, phase and findings, then a dosed home-exercise programme to adjust, print and save. |
| [Log a visit and chart progress](02_log_and_chart_progress.ipynb) | Enter today's measurements and questionnaires for one patient, import past visits, see the chart and the history. |
| [Clinic overview](03_clinic_overview.ipynb) | Every patient's latest change and responder status, by condition. |
| [Patient report](04_patient_report.ipynb) | A printable progress report for one patient. |
"""),
    code("""
from sciatica_kit.widgets import wait_for_visitor

wait_for_visitor(warm=())  # Voila with preheated kernels (make app): start-up done ahead, the store looked at when opened

from IPython.display import HTML, display

from sciatica_kit.widgets.common import DEMO_BANNER, is_demo_store, open_app_store

display(HTML(DEMO_BANNER if is_demo_store(open_app_store()) else ""))
"""),
])

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
from sciatica_kit.widgets import wait_for_visitor

# Voila with preheated kernels (make app): start-up done ahead, at the lowest priority; app built when opened
wait_for_visitor(warm=("pdf",), app="ProgrammeBuilder")

from sciatica_kit.widgets import ProgrammeBuilder

app = ProgrammeBuilder(clinic="Demo Physiotherapy")
app
"""),
    code("""
# The same from code, for an example patient (prints nothing, so the Voila app stays clean;
# type `example` in a new cell to see the table).
import sciatica_kit as sk

example = sk.build_programme(["herniated_disc", "piriformis_syndrome"], phase="subacute", patient="DEMO-001")
assert not example.blocked and {"floor_bridge", "supine_glute_stretch", "walking"} <= set(example.table["exercise_id"])
assert example.table["reason"].str.len().gt(0).all()
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
from sciatica_kit.widgets import wait_for_visitor

# Voila with preheated kernels (make app): start-up done ahead, at the lowest priority, and charts drawn ahead; app built when opened
wait_for_visitor(while_waiting="draw_first_charts", app="ProgressLogger")

from sciatica_kit.widgets import ProgressLogger

logger = ProgressLogger(patient_id="DEMO-001")
logger
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
from sciatica_kit.widgets import wait_for_visitor

# Voila with preheated kernels (make app): start-up done ahead, at the lowest priority, and charts drawn ahead; app built when opened
wait_for_visitor(while_waiting="draw_cohort_charts", app="ClinicOverview")

from sciatica_kit.widgets import ClinicOverview

overview = ClinicOverview()
overview
"""),
])

write("04_patient_report.ipynb", [
    md("""
# Patient report

Choose a patient: the summary against the MCID, the progress chart and the
current programme. Print it from the browser (Ctrl+P).
"""),
    code("""
from sciatica_kit.widgets import wait_for_visitor

# Voila with preheated kernels (make app): start-up done ahead, at the lowest priority, and charts drawn ahead; app built when opened
wait_for_visitor(while_waiting="draw_first_charts", app="PatientReport")

from sciatica_kit.widgets import PatientReport

report = PatientReport(patient_id="DEMO-001")
report
"""),
])

write("reports/patient_report.ipynb", [
    code("""
# Parameters (papermill): the patient and the store to read
patient_id = "DEMO-001"
store_location = None
""", tags=["parameters"]),
    code("""
import html

from IPython.display import HTML, display

import sciatica_kit as sk
from sciatica_kit.wording import load_wording

from sciatica_kit.widgets.common import open_app_store

store = sk.Store(store_location) if store_location else open_app_store()  # demo store unless a clinic store is set
log = store.read(patient_id)
programmes = store.programmes(patient_id)
display(HTML(f"<h1>Progress report: {html.escape(patient_id)}</h1>"
             f"<p>{len(log['date'].unique())} visits"
             + (f", {log['date'].min():%d %b %Y} to {log['date'].max():%d %b %Y}" if len(log) else "") + "</p>"))
"""),
    code("""
# Summary: change since the first visit against the MCID / detectable change
summary = sk.summarise(log)
names = {m: r["name"] for m, r in sk.load_catalog().records["measures"].items()}
table = summary.assign(measure=summary["measure"].map(names), responder=summary["responder"].map({True: "yes", False: "no"}))[
    ["measure", "side", "n", "baseline", "latest", "change", "percent_change", "mcid", "responder"]
].rename(columns={"measure": "Measure", "side": "Side", "n": "Entries", "baseline": "Baseline", "latest": "Latest",
                  "change": "Change", "percent_change": "Change (%)", "mcid": "MCID", "responder": "Responder"})
display(HTML("<h2>Summary</h2>"))
display(table.style.hide(axis="index").format(precision=1, na_rep="-", escape="html"))
"""),
    code("""
display(HTML("<h2>Progress</h2>"))
sk.plot_progress(log, patient_id, programmes=programmes)
"""),
    code("""
display(HTML("<h2>Current programme</h2>"))
current = store.latest_programme(patient_id)
# The disclaimer once: the programme carries it; without a programme it is printed here.
display(current if current is not None else HTML(f"<p>No programme saved for this patient.</p><p><i>{html.escape(load_wording().disclaimer)}</i></p>"))
"""),
])
