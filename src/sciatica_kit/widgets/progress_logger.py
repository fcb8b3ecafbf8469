"""Progress logger app: choose a patient, enter a visit or import a file, see the chart update.

Model (:class:`VisitModel`) turns the form's values into tidy log rows and
scores the questionnaires; the view (:class:`ProgressLogger`) is the form, the
chart and the messages.  Saving goes through ``Store.add`` (all or nothing).
"""

from __future__ import annotations

import datetime as dt
import html
import tempfile
from pathlib import Path

import ipywidgets as w
import pandas as pd
import traitlets as t

from sciatica_kit.catalog import load_catalog
from sciatica_kit.log import LogError
from sciatica_kit.measures import (
    ODI_SECTIONS,
    START_BACK_ITEM9,
    START_BACK_ITEMS,
    odi_band,
    score_odi,
    score_rmdq,
    score_start_back,
)
from sciatica_kit.widgets.common import (
    APP_STYLE,
    Message,
    StoreBacked,
    figure_png,
    problems_html,
    section_title,
)

__all__ = ["ProgressLogger", "VisitModel"]

RMDQ_ITEMS = tuple(f"Statement {i}" for i in range(1, 25))
_NUMERIC_FIELDS = (
    # (measure, side, label, min, max, step)
    ("pain", "", "Pain (0-10)", 0, 10, 1),
    ("back_pain", "", "Back pain (0-10)", 0, 10, 1),
    ("leg_pain", "", "Leg pain (0-10)", 0, 10, 1),
    ("slr", "left", "SLR left (°)", 0, 90, 5),
    ("slr", "right", "SLR right (°)", 0, 90, 5),
    ("fingertip_floor", "", "Fingertip-to-floor (cm)", 0, 100, 0.5),
    ("adherence", "", "Adherence (%)", 0, 100, 5),
)


class VisitModel(t.HasTraits):
    """One visit's values; ``rows()`` gives them as a tidy log (only what was recorded)."""

    patient_id = t.Unicode("")
    date = t.Instance(dt.date, allow_none=True)
    values = t.Dict()  # (measure, side) -> float, only recorded ones
    odi = t.List()  # 10 answers (int 0-5 or None), empty when not done
    rmdq = t.List()  # 24 booleans, empty when not done
    start_back = t.List()  # 9 answers, empty when not done
    note = t.Unicode("")

    def scores(self) -> dict[str, float]:
        """Questionnaire scores; raises ValueError with the scorer's message when a form is incomplete."""
        out = {}
        if self.odi:
            out["odi"] = round(score_odi(self.odi), 1)
        if self.rmdq:
            out["rmdq"] = float(score_rmdq(self.rmdq))
        if self.start_back:
            out["start_back"] = float(score_start_back(self.start_back).total)
        return out

    def rows(self) -> pd.DataFrame:
        pid = self.patient_id.strip()
        if not pid:
            raise ValueError("Choose or create a patient first.")
        if self.date is None:
            raise ValueError("Enter the visit date.")
        if self.date > dt.date.today():
            raise ValueError(f"The visit date {self.date.isoformat()} is in the future; check it.")
        records = [(m, s, float(v)) for (m, s), v in self.values.items()]
        records += [(m, "", v) for m, v in self.scores().items()]
        if not records:
            raise ValueError("Nothing to save: record at least one measurement or questionnaire.")
        return pd.DataFrame({
            "patient_id": pid,
            "date": pd.Timestamp(self.date),
            "measure": [r[0] for r in records],
            "side": [r[1] for r in records],
            "value": [r[2] for r in records],
            "note": self.note.strip(),
        })


class ProgressLogger(StoreBacked, w.VBox):
    """Log a visit (or import a file) for a patient and see the progress chart refresh."""

    def __init__(self, *, store=None, catalog=None, patient_id: str | None = None):
        self.catalog = catalog or load_catalog()
        self._store = store
        self.model = VisitModel(date=dt.date.today())
        self.message = Message()

        # ---- patient -----------------------------------------------------------
        self.patient = w.Dropdown(description="Patient", options=self._patient_ids(), layout=w.Layout(width="300px"))
        self.new_patient = w.Text(placeholder="new patient id, e.g. P-0042", layout=w.Layout(width="220px"))
        self.add_patient_button = w.Button(description="Add patient", icon="user-plus")
        self.add_patient_button.on_click(self._on_add_patient)
        self.patient.observe(self._on_patient, "value")

        # ---- visit form --------------------------------------------------------
        self.date = w.DatePicker(description="Visit date", value=dt.date.today())
        self.measure_inputs = {}
        self.measure_checks = {}
        rows = []
        for measure, side, label, lo, hi, step in _NUMERIC_FIELDS:
            key = (measure, side)
            if hi == 10:
                box = w.IntSlider(min=lo, max=hi, step=step, value=0, description=label, style={"description_width": "150px"}, layout=w.Layout(width="420px"))
            else:
                box = w.BoundedFloatText(min=lo, max=hi, step=step, value=lo, description=label, style={"description_width": "150px"}, layout=w.Layout(width="300px"))
            check = w.Checkbox(value=False, description="record", indent=False, layout=w.Layout(width="90px"))
            box.observe(lambda _c, check=check: setattr(check, "value", True), "value")  # touching a field records it
            self.measure_inputs[key] = box
            self.measure_checks[key] = check
            rows.append(w.HBox([check, box]))
        self.note = w.Textarea(placeholder="Notes (kept with this visit; never printed in messages)", layout=w.Layout(width="540px", height="60px"))

        # ---- questionnaires ------------------------------------------------------
        self.odi_items = [
            w.Dropdown(options=[("-", None)] + [(str(i), i) for i in range(6)], index=0, description=f"{i + 1}. {name}",
                       style={"description_width": "170px"}, layout=w.Layout(width="280px"))
            for i, name in enumerate(ODI_SECTIONS)
        ]
        self.odi_score = w.HTML()
        self.rmdq_items = [w.Checkbox(description=label, indent=False, layout=w.Layout(width="140px")) for label in RMDQ_ITEMS]
        self.rmdq_score = w.HTML()
        self.start_back_items = [w.Checkbox(description=f"{i + 1}. {text}", indent=False, layout=w.Layout(width="auto")) for i, text in enumerate(START_BACK_ITEMS[:8])]
        self.start_back_item9 = w.Dropdown(options=[("-", None)] + [(x, x) for x in START_BACK_ITEM9], index=0,
                                           description="9. Bothersome?", style={"description_width": "120px"})
        self.start_back_score = w.HTML()
        self.use_odi = w.Checkbox(description="Include Oswestry in this visit", indent=False)
        self.use_rmdq = w.Checkbox(description="Include Roland-Morris in this visit", indent=False)
        self.use_start_back = w.Checkbox(description="Include STarT Back in this visit", indent=False)
        for item in self.odi_items:
            item.observe(lambda _c: self._update_scores(touch="odi"), "value")
        for item in self.rmdq_items:
            item.observe(lambda _c: self._update_scores(touch="rmdq"), "value")
        for item in [*self.start_back_items, self.start_back_item9]:
            item.observe(lambda _c: self._update_scores(touch="start_back"), "value")
        questionnaires = w.Accordion(children=[
            w.VBox([self.use_odi, w.GridBox(self.odi_items, layout=w.Layout(grid_template_columns="repeat(2, 290px)")), self.odi_score]),
            w.VBox([self.use_rmdq, w.HTML("Tick each statement the patient says applies today."),
                    w.GridBox(self.rmdq_items, layout=w.Layout(grid_template_columns="repeat(4, 150px)")), self.rmdq_score]),
            w.VBox([self.use_start_back, w.HTML("Tick the statements the patient agrees with."), *self.start_back_items, self.start_back_item9, self.start_back_score]),
        ])
        for i, title in enumerate(("Oswestry Disability Index", "Roland-Morris (RMDQ)", "STarT Back")):
            questionnaires.set_title(i, title)
        questionnaires.selected_index = None

        self.save_button = w.Button(description="Save visit", button_style="success", icon="save")
        self.save_button.on_click(self._on_save)
        self.undo_button = w.Button(description="Undo last entry", icon="undo", tooltip="The undone values are kept in the history")
        self.undo_button.on_click(self._on_undo)

        # ---- import ----------------------------------------------------------------
        self.upload = w.FileUpload(accept=".csv,.xlsx,.txt", multiple=False, description="Choose file")
        self.dayfirst = w.Dropdown(description="Dates", options=[("ISO only / report ambiguous", None), ("day first (31/01/2026)", True), ("month first (01/31/2026)", False)],
                                   index=0, style={"description_width": "60px"}, layout=w.Layout(width="330px"))
        self.import_button = w.Button(description="Import file", icon="upload")
        self.import_button.on_click(self._on_import)
        self.progress = w.IntProgress(min=0, max=3, value=0, layout=w.Layout(width="160px", visibility="hidden"))
        self.import_message = Message()
        self.problems = w.HTML()

        # ---- chart and summary -------------------------------------------------------
        self.chart = w.Image(format="png", layout=w.Layout(max_width="1000px", width="100%"))
        self.summary = w.HTML()

        super().__init__([
            w.HTML(APP_STYLE),  # the notebook gives the title and purpose
            w.HBox([self.patient, self.new_patient, self.add_patient_button]),
            section_title("Visit", "Tick 'record' (or move a value) for each measurement taken today."),
            self.date,
            *rows,
            self.note,
            section_title("Questionnaires", "Forms score themselves."),
            questionnaires,
            w.HBox([self.save_button, self.undo_button]),
            self.message,
            section_title("Import a log file", "CSV or Excel, one row per visit or one row per measurement. Nothing is saved unless the whole file is valid."),
            w.HBox([self.upload, self.dayfirst, self.import_button, self.progress]),
            self.import_message,
            self.problems,
            section_title("Progress"),
            self.summary,
            self.chart,
        ], layout=w.Layout(max_width="1100px"))
        self.add_class("sk-progress-logger")
        if patient_id is not None and patient_id in self.patient.options:
            self.patient.value = patient_id
        self._on_patient()

    # ------------------------------------------------------------------ helpers
    def _update_scores(self, touch: str | None = None) -> None:
        if touch == "odi":
            self.use_odi.value = True
        elif touch == "rmdq":
            self.use_rmdq.value = True
        elif touch == "start_back":
            self.use_start_back.value = True
        answers = [d.value for d in self.odi_items]
        try:
            s = score_odi(answers)
            self.odi_score.value = f"<b>ODI: {s:.1f}%</b> ({odi_band(s)})"
        except ValueError as exc:
            self.odi_score.value = f'<span style="color:#7a4f01">{html.escape(str(exc))}</span>'
        ticks = [c.value for c in self.rmdq_items]
        self.rmdq_score.value = f"<b>RMDQ: {sum(ticks)} / 24</b>"
        if self.start_back_item9.value is None:
            self.start_back_score.value = "Answer item 9 to score."
        else:
            r = score_start_back([c.value for c in self.start_back_items] + [self.start_back_item9.value])
            self.start_back_score.value = f"<b>STarT Back: {r.total} / 9</b>, psychosocial {r.psychosocial} / 5: <b>{r.risk} risk</b>"

    def _collect(self) -> pd.DataFrame:
        self.model.patient_id = self.patient.value or ""
        self.model.date = self.date.value
        self.model.values = {key: float(self.measure_inputs[key].value) for key, check in self.measure_checks.items() if check.value}
        self.model.odi = [d.value for d in self.odi_items] if self.use_odi.value else []
        self.model.rmdq = [c.value for c in self.rmdq_items] if self.use_rmdq.value else []
        self.model.start_back = ([c.value for c in self.start_back_items] + [self.start_back_item9.value]) if self.use_start_back.value else []
        self.model.note = self.note.value
        return self.model.rows()

    def _reset_form(self) -> None:
        for check in self.measure_checks.values():
            check.value = False
        self.note.value = ""
        for box in (self.use_odi, self.use_rmdq, self.use_start_back):
            box.value = False

    # ------------------------------------------------------------------ actions
    def _on_add_patient(self, _button=None) -> None:
        pid = self.new_patient.value.strip()
        try:
            self.store.add_patient(pid)
        except ValueError as exc:
            self.message.show(str(exc), "error")
            return
        self.patient.options = self._patient_ids()
        self.patient.value = pid
        self.new_patient.value = ""
        self.message.show(f"Patient {pid} added. Enter the first visit below.", "success")

    def _on_patient(self, _change=None) -> None:
        self.refresh()

    def save_visit(self) -> bool:
        """Save the form as one visit; returns True when saved."""
        try:
            rows = self._collect()
        except ValueError as exc:
            self.message.show(str(exc), "error")
            return False
        try:
            result = self.store.add(rows, source="visit form")
        except LogError as exc:
            self.message.show("The visit was not saved:", "error")
            self.problems.value = problems_html(exc.table)
            return False
        except Exception as exc:  # locked or unreachable store: nothing lost, the form keeps its values
            self.message.show(f"The visit was not saved (the form keeps your values): {exc}", "error")
            return False
        self.problems.value = ""
        self.message.show(f"Visit saved for {rows['patient_id'].iloc[0]} on {self.date.value:%d %b %Y}: {result}.", "success")
        self._reset_form()
        self.refresh()
        return True

    def _on_save(self, _button=None) -> None:
        self.save_visit()

    def _on_undo(self, _button=None) -> None:
        pid = self.patient.value
        if not pid:
            self.message.show("Choose a patient first.", "error")
            return
        undone = self.store.undo_last(pid)
        if undone is None:
            self.message.show(f"Nothing to undo for {pid}.", "info")
            return
        self.message.show(f"Last entry undone for {pid}; the removed values are kept in the history.", "success")
        self.refresh()

    def import_file(self, name: str, content: bytes) -> bool:
        """Validate and import an uploaded log; every problem is shown, nothing half-saved."""
        self.problems.value = ""
        self.progress.layout.visibility = "visible"
        self.progress.value = 1
        suffix = Path(name).suffix.lower() or ".csv"
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / ("upload" + suffix)
                path.write_bytes(content)
                from sciatica_kit.log import read_log

                log = read_log(path, dayfirst=self.dayfirst.value, catalog=self.catalog)
            self.progress.value = 2
            result = self.store.add(log, source=f"file {name}")
        except LogError as exc:
            self.import_message.show(f"'{name}' was not imported: {len(exc.problems)} problem(s). Nothing was saved. Fix them in the file and import it again.", "error")
            self.problems.value = problems_html(exc.table)
            return False
        except Exception as exc:
            self.import_message.show(f"'{name}' was not imported: {exc}", "error")
            return False
        finally:
            self.progress.layout.visibility = "hidden"
            self.progress.value = 0
        self.import_message.show(f"'{name}' imported: {result}.", "success")
        self.patient.options = self._patient_ids()
        pids = list(log["patient_id"].unique())
        if self.patient.value not in pids and pids:
            self.patient.value = pids[0]
        else:
            self.refresh()
        return True

    def _on_import(self, _button=None) -> None:
        files = self.upload.value
        if not files:
            self.import_message.show("Choose a file first.", "error")
            return
        f = files[0]
        self.import_file(f["name"], bytes(f["content"]))
        self.upload.value = ()

    def refresh(self) -> None:
        """Redraw the chart and summary for the selected patient."""
        pid = self.patient.value
        if not pid:
            self.chart.value = b""
            self.summary.value = "<i>Choose or add a patient.</i>"
            return
        from sciatica_kit.charts import plot_progress
        from sciatica_kit.progress import summarise

        log = self.store.read(pid)
        fig = plot_progress(log, pid, programmes=self.store.programmes(pid), catalog=self.catalog)
        self.chart.value = figure_png(fig)
        if log.empty:
            self.summary.value = "<i>No entries yet.</i>"
            return
        s = summarise(log, catalog=self.catalog)
        names = {m: r.get("short", r["name"]) for m, r in self.catalog.records["measures"].items()}
        view = pd.DataFrame({
            "Measure": [names[m] + (f" ({sd})" if sd else "") for m, sd in zip(s["measure"], s["side"], strict=True)],
            "Baseline": s["baseline"], "Latest": s["latest"], "Change": s["change"],
            "MCID": s["mcid"], "Responder": s["responder"].map({True: "yes", False: "no"}).fillna("-"),
        })
        self.summary.value = view.style.hide(axis="index").format({"Baseline": "{:g}", "Latest": "{:g}", "Change": "{:+g}"}).to_html()
