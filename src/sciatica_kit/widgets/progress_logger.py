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

from sciatica_kit._docs import shared_docs
from sciatica_kit.catalog import load_catalog
from sciatica_kit.log import LogError
from sciatica_kit.measures import (
    odi_band,
    questionnaire_form,
    score_odi,
    score_rmdq,
    score_start_back,
)
from sciatica_kit.patient_id import check_patient_id, patient_id_rule
from sciatica_kit.widgets.common import (
    APP_STYLE,
    Confirm,
    Look,
    Message,
    StoreBacked,
    WhileIdle,
    clinic_error,
    given_or_app_store,
    problems_html,
    run_later,
    section_title,
    set_picture,
    store_identity,
)
from sciatica_kit.widgets.progress_charts import (
    CHARTS_AHEAD,
    ChartsAhead,
    charts_to_draw,
    drawn_chart,
    keep,
    kept_charts,
    next_in_list,
)

__all__ = ["ProgressLogger", "VisitModel", "draw_first_charts", "form_fields"]

SIDES = ("left", "right")  # a sided measure (``sided = true`` in the catalogue) gets one box per side


@shared_docs
def form_fields(catalog) -> list[dict]:
    """The visit form's measurement boxes, all from the catalogue (``measures.toml`` and a clinic's own file).

    One box per measure with ``visit_form`` (two for a sided measure, left then right), in the
    catalogue's order, each with its label, unit, valid range and whole-number rule.

    Parameters
    ----------
    {catalog}

    Returns
    -------
    list of dict
        ``measure``, ``side``, ``label``, ``min``, ``max``, ``integer`` for each box, in order.

    Examples
    --------
    >>> from sciatica_kit.catalog import load_catalog
    >>> [f["label"] for f in form_fields(load_catalog())][:2]
    ['Pain (0-10)', 'Back pain (0-10)']
    """
    out = []
    for mid, info in catalog.records["measures"].items():
        if not info.get("visit_form", True):
            continue
        short = info.get("short") or info["name"]
        for side in (SIDES if info["sided"] else ("",)):
            unit = f" ({info['unit']})" if info.get("unit") else ""
            out.append({"measure": mid, "side": side, "label": f"{short}{' ' + side if side else ''}{unit}",
                        "min": float(info["min"]), "max": float(info["max"]), "integer": bool(info.get("integer", False))})
    return out


def parse_measurement(text: str, label: str, low: float, high: float, *, integer: bool = False) -> float | None:
    """A typed measurement as a number, None when left empty (not recorded).

    Never changes a value: a non-number or a value outside ``low``..``high`` raises
    a ValueError naming the field and the valid range.

    Examples
    --------
    >>> parse_measurement(" 7 ", "Pain (0-10)", 0, 10)
    7.0
    >>> parse_measurement("", "Pain (0-10)", 0, 10) is None
    True
    """
    raw = str(text).strip()
    if raw == "":
        return None
    rng = f"{low:g} to {high:g}"
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise ValueError(f"{label}: '{raw}' is not a number. Enter a number from {rng}, or leave it empty (not recorded).") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{label}: '{raw}' is not a number. Enter a number from {rng}, or leave it empty (not recorded).")
    if not low <= value <= high:
        raise ValueError(f"{label}: {raw} is outside the valid range {rng}. Check the value; it was not saved.")
    if integer and value != int(value):
        raise ValueError(f"{label}: {raw} must be a whole number from {rng}.")
    return value


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
        """Questionnaire scores; raises ValueError with the scorer's message when a form is incomplete.

        Returns
        -------
        dict of str to float
            Measure id to score, for each questionnaire filled in.
        """
        out = {}
        if self.odi:
            out["odi"] = round(score_odi(self.odi), 1)
        if self.rmdq:
            out["rmdq"] = float(score_rmdq(self.rmdq))
        if self.start_back:
            out["start_back"] = float(score_start_back(self.start_back).total)
        return out

    def rows(self) -> pd.DataFrame:
        """The form as tidy log rows for its patient and date (questionnaires scored).

        Returns
        -------
        pandas.DataFrame
            One row per value entered, with the visit's note.

        Raises
        ------
        ValueError
            No patient, no date, a date in the future, or an incomplete questionnaire.
        """
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
    """Log a visit (or import a file) for a patient and see the progress chart refresh.

    Everything in the visit form belongs to one patient (``form_patient``): switching
    patient clears the form, or, when it holds unsaved entries, first asks whether to
    discard them.
    """

    def __init__(self, *, store=None, catalog=None, patient_id: str | None = None):
        self.catalog = catalog or load_catalog()
        self._store = store
        self.model = VisitModel(date=dt.date.today())
        self.patient_message = Message()
        self.message = Message()  # the visit section's status line (beside Save / Undo)
        self.import_message = Message()
        self.history_message = Message()
        self._status_lines = (self.patient_message, self.message, self.import_message, self.history_message)
        self.form_patient = ""
        self._opening = False  # True while the constructor opens the first patient
        # pid -> (data fingerprint, SVG): shared by the kernel's loggers of this store, so the charts a
        # preheated kernel drew before the page was opened are there when it is (draw_first_charts)
        self._charts = kept_charts(self.store)
        self._draw_ahead = ChartsAhead(self, self._charts, lambda: self.form_patient,
                                       lambda: next_in_list(self.patient.options, self.form_patient))
        self._ahead = WhileIdle(self._draw_ahead, idle_s=AHEAD_IDLE_S, gap_s=AHEAD_GAP_S)  # the next patients' charts
        self._reverting = False
        self.banner = self._demo_banner()

        # ---- patient -----------------------------------------------------------
        self.patient = w.Dropdown(description="Patient", options=self._patient_ids(), value=None, layout=w.Layout(width="300px"))
        self.new_patient = w.Text(placeholder="new patient id, e.g. P-0042", layout=w.Layout(width="220px"),
                                  tooltip=patient_id_rule())
        self.add_patient_button = w.Button(description="Add patient", icon="user-plus")
        self.add_patient_button.on_click(self._on_add_patient)
        self.patient_confirm = Confirm()
        self.patient.observe(self._on_patient, "value")

        # ---- visit form --------------------------------------------------------
        self.date = w.DatePicker(description="Visit date", value=dt.date.today())
        self.fields = {}
        self.measure_inputs = {}
        rows = []
        field_look, hint_look, row_look = Look(w.Text, {"description_width": "170px"}, width="300px"), Look(w.HTML), Look(w.HBox)
        for f in form_fields(self.catalog):  # measures, order, ranges, units and sides: all catalogue data
            key, label, lo, hi = (f["measure"], f["side"]), f["label"], f["min"], f["max"]
            box = w.Text(value="", placeholder="not recorded", description=label, **field_look())
            self.fields[key] = (label, lo, hi, f["integer"])
            self.measure_inputs[key] = box
            whole = "whole numbers " if f["integer"] else ""
            hint = w.HTML(f'<span style="color:#555;font-size:88%">{whole}{lo:g} to {hi:g}; empty = not recorded</span>', **hint_look())
            rows.append(w.HBox([box, hint], **row_look()))
        self.note = w.Textarea(placeholder="Notes (kept with this visit; never printed in messages)", layout=w.Layout(width="540px", height="60px"))

        # ---- questionnaires ------------------------------------------------------
        # item labels and answer words are data (codes.toml [questionnaire.*]): the kit's own words
        odi, rmdq, sb = questionnaire_form("odi"), questionnaire_form("rmdq"), questionnaire_form("start_back")
        levels = odi["levels"]
        odi_look = Look(w.Dropdown, {"description_width": "130px"}, width="320px")
        self.odi_items = [
            w.Dropdown(options=[("- not answered", None)] + [(f"{i} - {levels[i]}" if i < len(levels) else str(i), i) for i in range(6)],
                       index=0, description=f"{i + 1}. {name}", **odi_look())
            for i, name in enumerate(odi["labels"])
        ]
        self.odi_score = w.HTML()
        rmdq_look, sb_look = Look(w.Checkbox, width="230px"), Look(w.Checkbox, width="auto")
        self.rmdq_items = [w.Checkbox(description=label, indent=False, **rmdq_look()) for label in rmdq["labels"]]
        self.rmdq_score = w.HTML()
        self.start_back_items = [w.Checkbox(description=f"{i + 1}. {text}", indent=False, **sb_look())
                                 for i, text in enumerate(sb["labels"][:8])]
        self.start_back_item9 = w.Dropdown(options=[("- not answered", None)] + [(x, x) for x in sb["options"][8]], index=0,
                                           description=f"9. {sb['labels'][8]}", style={"description_width": "130px"})
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
        self.questionnaires = w.Accordion(children=[
            w.VBox([self.use_odi, w.HTML("Each section: 0 = no problem ... 5 = worst / cannot do it."),
                    w.GridBox(self.odi_items, layout=w.Layout(grid_template_columns="repeat(2, 330px)")), self.odi_score]),
            w.VBox([self.use_rmdq, w.HTML("Tick each statement of the patient's form that applies today. "
                                          + html.escape(rmdq["note"])),
                    w.GridBox(self.rmdq_items, layout=w.Layout(grid_template_columns="repeat(4, 240px)")), self.rmdq_score]),
            w.VBox([self.use_start_back, w.HTML("Tick the statements the patient agrees with."), *self.start_back_items,
                    self.start_back_item9, self.start_back_score]),
        ])
        for i, title in enumerate(("Oswestry Disability Index", "Roland-Morris (RMDQ)", "STarT Back")):
            self.questionnaires.set_title(i, title)
        self.questionnaires.selected_index = None

        self.save_button = w.Button(description="Save visit", button_style="success", icon="save", disabled=True)
        self.save_button.on_click(self._on_save)
        self.undo_button = w.Button(description="Undo last entry...", icon="undo",
                                    tooltip="Shows what would be removed and asks first; removed values stay in the history")
        self.undo_button.on_click(self._on_undo)
        self.visit_confirm = Confirm()

        # ---- import ----------------------------------------------------------------
        self.upload = w.FileUpload(accept=".csv,.xlsx,.txt", multiple=False, description="Choose file")
        self.dayfirst = w.Dropdown(description="Dates", options=[("ISO only / report ambiguous", None), ("day first (31/01/2026)", True), ("month first (01/31/2026)", False)],
                                   index=0, style={"description_width": "60px"}, layout=w.Layout(width="330px"))
        self.import_button = w.Button(description="Import file", icon="upload")
        self.import_button.on_click(self._on_import)
        self.progress = w.IntProgress(min=0, max=3, value=0, layout=w.Layout(width="160px", visibility="hidden"))
        self.problems = w.HTML()

        # ---- history and correction ---------------------------------------------------
        self.history_table = w.HTML()
        self.correct_entry = w.Dropdown(description="Value", options=[], layout=w.Layout(width="360px"))
        self.correct_value = w.Text(description="Correct to", placeholder="new value", style={"description_width": "80px"},
                                    layout=w.Layout(width="190px"))
        self.correct_reason = w.Text(description="Reason", placeholder="why (kept in the history)", style={"description_width": "60px"},
                                     layout=w.Layout(width="300px"))
        self.correct_button = w.Button(description="Correct value", icon="pencil")
        self.correct_button.on_click(self._on_correct)

        # ---- chart and summary -------------------------------------------------------
        self.chart = w.Image(format="svg+xml", layout=w.Layout(max_width="1000px", width="100%"))
        self.summary = w.HTML()

        super().__init__([
            w.HTML(APP_STYLE),  # the notebook gives the title and purpose
            self.banner,
            w.HBox([self.patient, self.new_patient, self.add_patient_button]),
            self.patient_confirm,
            self.patient_message,
            section_title("Visit", "Type each measurement taken today; leave a box empty when it was not recorded."),
            self.date,
            *rows,
            self.note,
            section_title("Questionnaires", "Forms score themselves."),
            self.questionnaires,
            w.HBox([self.save_button, self.undo_button]),
            self.message,
            self.visit_confirm,
            section_title("Import a log file", "CSV or Excel, one row per visit or one row per measurement. Nothing is saved unless the whole file is valid."),
            w.HBox([self.upload, self.dayfirst, self.import_button, self.progress]),
            self.import_message,
            self.problems,
            section_title("Progress"),
            self.summary,
            self.chart,
            section_title("Visit history", "Every value with who entered it. Correct a value here: the old one stays in the history."),
            self.history_table,
            w.HBox([self.correct_entry, self.correct_value, self.correct_reason, self.correct_button]),
            self.history_message,
        ], layout=w.Layout(max_width="1100px"))
        self.add_class("sk-progress-logger")
        self._opening = True
        try:
            if patient_id is not None and patient_id in self.patient.options:
                self.patient.value = patient_id
            elif self.patient.options:
                self.patient.value = self.patient.options[0]
            else:
                self._open_patient(None)
        finally:
            self._opening = False

    # ------------------------------------------------------------------ helpers
    def _clear_messages(self) -> None:
        super()._clear_messages()
        self._touched()  # every action starts here

    def _touched(self) -> None:
        """The clinician acted: stop drawing charts ahead, and start again once the app is idle.

        Not while the app opens: the browser is then asking the kernel for the app's widgets.
        """
        if self._opening:
            return
        self._ahead.touched()

    def _update_scores(self, touch: str | None = None) -> None:
        if self._reverting:
            return
        if touch == "odi":
            self.use_odi.value = True
        elif touch == "rmdq":
            self.use_rmdq.value = True
        elif touch == "start_back":
            self.use_start_back.value = True
        self._show_scores()

    def _show_scores(self) -> None:
        answers = [d.value for d in self.odi_items]
        if all(a is None for a in answers):
            self.odi_score.value = ""
        else:
            try:
                s = score_odi(answers)
                band = odi_band(s, catalog=self.catalog)
                band = band if "disab" in band or band == "bed-bound" else f"{band} disability"  # neutral words
                self.odi_score.value = f"<b>ODI: {s:.1f}%</b> ({html.escape(band)})"
            except ValueError as exc:
                self.odi_score.value = f'<span style="color:#7a4f01">{html.escape(str(exc))}</span>'
        ticks = [c.value for c in self.rmdq_items]
        self.rmdq_score.value = f"<b>RMDQ: {sum(ticks)} / 24</b>" if self.use_rmdq.value else ""
        if not self.use_start_back.value:
            self.start_back_score.value = ""
        elif self.start_back_item9.value is None:
            self.start_back_score.value = "Answer item 9 to score."
        else:
            r = score_start_back([c.value for c in self.start_back_items] + [self.start_back_item9.value])
            self.start_back_score.value = f"<b>STarT Back: {r.total} / 9</b>, psychosocial {r.psychosocial} / 5: <b>{r.risk} risk</b>"

    def unsaved_entries(self) -> list[str]:
        """What the form holds that is not saved yet, in words (empty when the form is clear).

        Returns
        -------
        list of str
            One line per field or questionnaire holding an entry.
        """
        out = []
        for key, box in self.measure_inputs.items():
            if box.value.strip():
                out.append(f"{self.fields[key][0]} {box.value.strip()}")
        if self.note.value.strip():
            out.append("a note")
        odi = sum(d.value is not None for d in self.odi_items)
        if odi:
            out.append(f"Oswestry ({odi} of 10 answered)")
        if self.use_rmdq.value or any(c.value for c in self.rmdq_items):
            out.append("Roland-Morris")
        if self.use_start_back.value or any(c.value for c in self.start_back_items) or self.start_back_item9.value is not None:
            out.append("STarT Back")
        return out

    def _collect(self) -> pd.DataFrame:
        problems, values = [], {}
        for key, box in self.measure_inputs.items():
            label, lo, hi, integer = self.fields[key]
            try:
                v = parse_measurement(box.value, label, lo, hi, integer=integer)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            if v is not None:
                values[key] = v
        if problems:
            raise ValueError("The visit was not saved:\n" + "\n".join(problems))
        self.model.patient_id = self.form_patient or ""
        self.model.date = self.date.value
        self.model.values = values
        self.model.odi = [d.value for d in self.odi_items] if self.use_odi.value else []
        self.model.rmdq = [c.value for c in self.rmdq_items] if self.use_rmdq.value else []
        self.model.start_back = ([c.value for c in self.start_back_items] + [self.start_back_item9.value]) if self.use_start_back.value else []
        self.model.note = self.note.value
        return self.model.rows()

    def _reset_form(self) -> None:
        """Clear every field and questionnaire (the next patient starts from an empty form)."""
        self._reverting = True
        try:
            for box in self.measure_inputs.values():
                box.value = ""
            self.note.value = ""
            for d in self.odi_items:
                d.value = None
            for c in [*self.rmdq_items, *self.start_back_items]:
                c.value = False
            self.start_back_item9.value = None
            for box in (self.use_odi, self.use_rmdq, self.use_start_back):
                box.value = False
            self.date.value = dt.date.today()
        finally:
            self._reverting = False
        self._show_scores()
        self.visit_confirm.dismiss()

    def _open_patient(self, pid: str | None) -> None:
        """Make ``pid`` the form's patient: clear the form, name the patient on Save, redraw."""
        self._reset_form()
        self.patient_confirm.dismiss()
        if pid is not None and self.patient.value != pid:
            self._reverting = True
            try:
                self.patient.value = pid
            finally:
                self._reverting = False
        self.form_patient = pid or ""
        self.save_button.disabled = True  # until the summary and history below show this patient
        log = self._refresh_tables()  # also blanks the previous patient's chart
        # named once the tables show this patient; the chart (slowest) follows, and is never another patient's
        self.save_button.description = f"Save visit for {pid}" if pid else "Save visit"
        self.save_button.disabled = not pid
        # opening, the app shows at once and its first chart follows as soon as the kernel is free
        if log is not None and not (self._opening and run_later(lambda: self._draw_chart(log) if self.form_patient == pid else None)):
            self._draw_chart(log)
        self._touched()  # the patients after this one are drawn ahead once the app sits idle

    # ------------------------------------------------------------------ actions
    def _on_add_patient(self, _button=None) -> None:
        self._clear_messages()
        check = check_patient_id(self.new_patient.value)
        if check.error:
            self.patient_message.show(check.error, "error")
            return
        if check.warning:
            self.patient_confirm.ask(check.warning, f"Add {check.patient_id} anyway", "Change the id",
                                     on_yes=lambda: self._add_patient(check.patient_id))
            return
        self._add_patient(check.patient_id)

    def _refresh_patient_list(self) -> None:
        """Reload the patient list, keeping the form's patient selected, without asking about unsaved entries."""
        options = self._patient_ids()
        self._reverting = True
        try:
            self.patient.options = options
            self.patient.value = self.form_patient if self.form_patient in options else None
        finally:
            self._reverting = False

    def _add_patient(self, pid: str) -> None:
        try:
            self.store.add_patient(pid)
        except Exception as exc:
            self.patient_message.show(clinic_error(exc, f"Patient {pid} was not added"), "error")
            return
        self.new_patient.value = ""
        self._refresh_patient_list()
        self.patient.value = pid  # goes through the unsaved-entries question
        if self.form_patient == pid:
            self.patient_message.show(f"Patient {pid} added. Enter the first visit below.", "success")

    def _on_patient(self, change=None) -> None:
        if self._reverting:
            return
        new = change["new"] if change else self.patient.value
        old = self.form_patient
        if new == old:
            return
        unsaved = self.unsaved_entries()
        if unsaved and old:
            self._reverting = True
            try:
                self.patient.value = old  # the form stays with its patient until the clinician answers
            finally:
                self._reverting = False
            self.patient_confirm.ask(
                f"The form holds unsaved entries for {old}: {', '.join(unsaved)}. "
                f"Discard them and open {new}?",
                f"Discard and open {new}", f"Keep editing {old}",
                on_yes=lambda: self._switched(new, old),
            )
            return
        self._clear_messages()
        self._open_patient(new)

    def _switched(self, new: str, old: str) -> None:
        self._clear_messages()
        self._open_patient(new)
        self.patient_message.show(f"Unsaved entries for {old} were discarded. The form is now for {new}.", "info")

    def save_visit(self) -> bool:
        """Save the form as one visit for the form's patient; returns True when saved.

        Returns
        -------
        bool
            True when saved.
        """
        self._clear_messages()
        pid = self.form_patient
        if not pid or pid != self.patient.value:
            self.message.show("Choose the patient first; nothing was saved.", "error")
            return False
        try:
            rows = self._collect()
        except ValueError as exc:
            self.message.show(str(exc), "error")
            return False
        try:
            result = self.store.add(rows, source="visit form")
        except LogError as exc:
            self.message.show(f"The visit for {pid} was not saved:", "error")
            self.problems.value = problems_html(exc.table)
            return False
        except Exception as exc:  # locked or unreachable store: nothing lost, the form keeps its values
            self.message.show(clinic_error(exc, f"The visit for {pid} was not saved (the form keeps your values)"), "error")
            return False
        self.problems.value = ""
        saved = ", ".join(self._value_words(rows))
        self.message.show(f"Visit saved for {pid} on {self.date.value:%d %b %Y}: {result}. Saved: {saved}.", "success")
        self._reset_form()
        self.refresh()
        return True

    def _value_words(self, rows: pd.DataFrame) -> list[str]:
        names = {m: r.get("short", r["name"]) for m, r in self.catalog.records["measures"].items()}
        return [f"{names.get(m, m)}{f' {s}' if s else ''} {v:g}" for m, s, v in zip(rows["measure"], rows["side"], rows["value"], strict=True)]

    def _on_save(self, _button=None) -> None:
        self.save_visit()

    # ---- undo: say exactly what goes, ask first ------------------------------------
    def undo_preview(self) -> pd.DataFrame:
        """The rows Undo would remove for the form's patient (with who entered them and when).

        Returns
        -------
        pandas.DataFrame
            The rows, empty when there is nothing to undo.
        """
        return self.store.undo_preview(patient_id=self.form_patient)

    def _on_undo(self, _button=None) -> None:
        self._clear_messages()
        pid = self.form_patient
        if not pid:
            self.message.show("Choose a patient first.", "error")
            return
        try:
            preview = self.undo_preview()
        except Exception as exc:
            self.message.show(clinic_error(exc, "The last entry could not be read"), "error")
            return
        if preview.empty:
            self.message.show(f"Nothing to undo for {pid}.", "info")
            return
        mine = preview[preview["patient_id"] == pid]
        others = preview[preview["patient_id"] != pid]
        dates = ", ".join(f"{d:%d %b %Y}" for d in sorted(pd.to_datetime(mine["date"]).unique()))
        who, at = preview["entered_by"].iloc[0], preview["entered_at"].iloc[0]
        try:
            at = f"{pd.Timestamp(at).tz_localize(None) if pd.Timestamp(at).tzinfo is None else pd.Timestamp(at).tz_convert(None):%d %b %Y %H:%M} UTC"
        except (ValueError, TypeError):
            at = str(at)
        n = len(mine)
        text = (f"Undo removes the last entry for {pid}, entered by {who} on {at}: visit of {dates}: "
                f"{', '.join(self._value_words(mine))} ({n} value{'s' if n != 1 else ''}).")
        if len(others):
            text += f"\nThe same entry (a file) also holds {len(others)} values for {others['patient_id'].nunique()} other patient(s); they are removed too."
        batch = preview["batch_id"].iloc[0]
        self.visit_confirm.ask(text + "\nRemoved values stay in the history. Remove them?", "Remove these values", "Keep them",
                               on_yes=lambda: self._undo(pid, batch, len(preview)),
                               on_no=lambda: self.message.show("Nothing was removed.", "info"))

    def _undo(self, pid: str, batch, n: int) -> None:
        try:
            self.store.undo(int(batch), patient_id=pid)
        except Exception as exc:
            self.message.show(clinic_error(exc, "Nothing was removed"), "error")
            return
        self.message.show(f"Removed {n} value{'s' if n != 1 else ''} entered for {pid}; they are kept in the history.", "success")
        self.refresh()

    # ---- import ---------------------------------------------------------------------
    def import_file(self, name: str, content: bytes) -> bool:
        """Validate and import an uploaded log; every problem is shown, nothing half-saved.

        Parameters
        ----------
        name : str
            The uploaded file's name (its suffix picks the reader).
        content : bytes
            The file's content.

        Returns
        -------
        bool
            True when imported.
        """
        self._clear_messages()
        self.problems.value = ""
        self.progress.layout.visibility = "visible"
        self.progress.value = 1
        suffix = Path(name).suffix.lower() or ".csv"
        warnings = []
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / ("upload" + suffix)
                path.write_bytes(content)
                from sciatica_kit.log import read_log

                log = read_log(path, dayfirst=self.dayfirst.value, catalog=self.catalog)
            checks = [check_patient_id(pid) for pid in log["patient_id"].unique()]
            bad = [c.error for c in checks if c.error]
            if bad:
                self.import_message.show(f"'{name}' was not imported: patient ids must be clinic numbers. Nothing was saved.\n"
                                         + "\n".join(bad[:10]), "error")
                return False
            warnings = [c.warning for c in checks if c.warning]
            self.progress.value = 2
            result = self.store.add(log, source=f"file {name}")
        except LogError as exc:
            self.import_message.show(f"'{name}' was not imported: {len(exc.problems)} problem(s). Nothing was saved. Fix them in the file and import it again.", "error")
            self.problems.value = problems_html(_clinic_words(exc.table))
            return False
        except Exception as exc:
            self.import_message.show(clinic_error(exc, f"'{name}' was not imported; nothing was saved"), "error")
            return False
        finally:
            self.progress.layout.visibility = "hidden"
            self.progress.value = 0
        extra = ("\nCheck these ids: " + " ".join(warnings[:5])) if warnings else ""
        self.import_message.show(f"'{name}' imported: {result}.{extra}", "warning" if warnings else "success")
        self._refresh_patient_list()
        pids = list(log["patient_id"].unique())
        if self.form_patient not in pids and pids and not self.unsaved_entries():
            self._open_patient(pids[0])
        else:
            self.refresh()
        return True

    def _on_import(self, _button=None) -> None:
        files = self.upload.value
        if not files:
            self._clear_messages()
            self.import_message.show("Choose a file first.", "error")
            return
        f = files[0]
        self.import_file(f["name"], bytes(f["content"]))
        self.upload.value = ()

    # ---- history and correction -------------------------------------------------------
    def _on_correct(self, _button=None) -> None:
        self.correct_value_now()

    def correct_value_now(self) -> bool:
        """Replace one stored value of the form's patient; the old one stays in the history.

        Returns
        -------
        bool
            True when the value was corrected.
        """
        self._clear_messages()
        pid, key = self.form_patient, self.correct_entry.value
        if not pid or key is None:
            self.history_message.show("Choose the value to correct.", "error")
            return False
        date, measure, side, note = key
        info = self.catalog.records["measures"][measure]
        label = info.get("short", info["name"]) + (f" {side}" if side else "")
        try:
            value = parse_measurement(self.correct_value.value, label, float(info["min"]), float(info["max"]),
                                      integer=bool(info.get("integer", False)))
        except ValueError as exc:
            self.history_message.show(str(exc), "error")
            return False
        if value is None:
            self.history_message.show(f"{label}: type the correct value.", "error")
            return False
        reason = self.correct_reason.value.strip()
        if not reason:
            self.history_message.show("Give a reason for the correction (it is kept in the history).", "error")
            return False
        row = pd.DataFrame({"patient_id": [pid], "date": [pd.Timestamp(date)], "measure": [measure], "side": [side],
                            "value": [value], "note": [note]})
        try:
            self.store.add(row, source=f"correction: {reason}"[:200])
        except Exception as exc:
            self.history_message.show(clinic_error(exc, "The value was not corrected"), "error")
            return False
        self.correct_value.value = ""
        self.correct_reason.value = ""
        self.refresh()
        self.history_message.show(f"{label} on {pd.Timestamp(date):%d %b %Y} for {pid} corrected to {value:g}; "
                                  "the old value is kept in the history.", "success")
        return True

    def _show_history(self, pid: str) -> None:
        try:
            entries = self.store.read(pid, provenance=True)
        except Exception:
            self.history_table.value = "<i>The history could not be read.</i>"
            self.correct_entry.options = []
            return
        if entries.empty:
            self.history_table.value = "<i>No entries yet.</i>"
            self.correct_entry.options = []
            return
        names = {m: r.get("short", r["name"]) for m, r in self.catalog.records["measures"].items()}
        entries = entries.sort_values(["date", "measure", "side"], ascending=[False, True, True])
        rows = []
        for (date, who), g in entries.groupby(["date", "entered_by"], sort=False):
            values = ", ".join(f"{names.get(m, m)}{f' {s}' if s else ''} {v:g}" for m, s, v in zip(g["measure"], g["side"], g["value"], strict=True))
            notes = "; ".join(sorted({n for n in g["note"] if n}))
            rows.append("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in (f"{date:%d %b %Y}", values, notes, who)) + "</tr>")
        self.history_table.value = (
            '<div style="max-height:260px;overflow:auto"><table class="sk-history" style="font-size:92%">'
            "<thead><tr><th>Date</th><th>Values</th><th>Notes</th><th>Entered by</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div>" + self._changes_html(pid, names)
        )
        self.correct_entry.options = [
            (f"{d:%d %b %Y} {names.get(m, m)}{f' {s}' if s else ''} = {v:g}", (d.date().isoformat(), m, s, n or ""))
            for d, m, s, v, n in zip(entries["date"], entries["measure"], entries["side"], entries["value"], entries["note"], strict=True)
        ]
        self.correct_entry.value = None

    def _changes_html(self, pid: str, names: dict[str, str]) -> str:
        """Values corrected or undone for the patient: the old value, who had entered it, who changed it."""
        try:
            changes = self.store.history(pid)
        except Exception:
            return "<p><i>The corrections could not be read.</i></p>"
        if changes.empty:
            return ""
        rows = []
        for c in changes.sort_values("changed_at", ascending=False).itertuples(index=False):
            what = f"{names.get(c.measure, c.measure)}{f' {c.side}' if c.side else ''}"
            new = "removed" if pd.isna(c.new_value) else f"{c.new_value:g}"
            old = "-" if pd.isna(c.old_value) else f"{c.old_value:g}"
            cells = (f"{pd.Timestamp(c.date):%d %b %Y}", what, f"{old} -> {new}", c.action, c.old_entered_by or "",
                     c.changed_by, f"{pd.Timestamp(c.changed_at):%d %b %Y %H:%M}")
            rows.append("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in cells) + "</tr>")
        return ('<div style="max-height:160px;overflow:auto;margin-top:6px"><b>Changed values</b>'
                '<table class="sk-changes" style="font-size:92%"><thead><tr><th>Visit</th><th>Measure</th><th>Value</th>'
                "<th>Change</th><th>Entered by</th><th>Changed by</th><th>When</th></tr></thead><tbody>"
                + "".join(rows) + "</tbody></table></div>")

    def refresh(self) -> None:
        """Redraw the summary, history and chart for the form's patient."""
        log = self._refresh_tables()
        if log is not None:
            self._draw_chart(log)

    def _refresh_tables(self) -> pd.DataFrame | None:
        """Summary and history for the form's patient; the chart is blanked until :meth:`_draw_chart`.

        Returns the patient's log, or None when there is no patient or the store cannot be read.
        """
        pid = self.form_patient
        set_picture(self.chart, b"")  # never another patient's chart, even for a moment
        if not pid:
            self.summary.value = "<i>Choose or add a patient.</i>"
            self.history_table.value = ""
            self.correct_entry.options = []
            return None
        from sciatica_kit.progress import summarise, summary_html, summary_table

        try:
            log = self.store.read(pid)
        except Exception as exc:
            self.message.show(clinic_error(exc, f"The entries for {pid} could not be read"), "error")
            return None
        self._show_history(pid)
        if log.empty:
            self.summary.value = f"<i>No entries yet for {html.escape(pid)}.</i>"
            return log
        table = summary_table(summarise(log, catalog=self.catalog), short_names=True, catalog=self.catalog)
        self.summary.value = (f"<div><b>{html.escape(pid)}</b></div>"
                              + summary_html(table, columns=("Measure", "Side", "Baseline", "Latest", "Change", "Threshold", "Responder")))
        return log

    def _draw_chart(self, log: pd.DataFrame) -> None:
        """The progress chart for the form's patient (the slowest part: drawn last)."""
        pid = self.form_patient
        try:
            programmes = self.store.programmes(pid)
        except Exception as exc:
            self.message.show(clinic_error(exc, f"The chart for {pid} could not be drawn"), "error")
            return
        svg = drawn_chart(self._charts, pid, log, programmes, self.catalog, ahead=self._draw_ahead)
        if pid == self.form_patient:
            set_picture(self.chart, svg)


AHEAD_IDLE_S = 1.0  # seconds without a click before charts are drawn ahead
AHEAD_GAP_S = 0.05  # between two steps: the kernel answers what the browser sent meanwhile


@shared_docs
def draw_first_charts(store=None, *, catalog=None, n: int = CHARTS_AHEAD + 1, stop=None) -> list[str]:
    """Draw and keep the charts a visit logger or patient report opened now shows first: its first ``n`` patients'.

    A preheated kernel (``make app``) calls this while it waits for its visitor, so the first
    patient's chart and the next ones in the list are ready when the page is opened (the
    logger and the report show the same chart, kept in :mod:`~sciatica_kit.widgets.progress_charts`).  A kept
    chart is shown only while the patient's rows and programme dates are unchanged; a
    colleague's entry since means a new drawing.

    Parameters
    ----------
    {app_store}
    {catalog}
    n : int
        How many patients, from the top of the logger's patient list.
    {stop}

    Returns
    -------
    list of str
        The patients whose chart was drawn (those with entries whose chart was not kept yet).
    """
    global _first_drawn
    from sciatica_kit.charts import figure_svg

    catalog = catalog or load_catalog()
    drawn: list[str] = []
    with given_or_app_store(store) as store:
        charts = kept_charts(store)
        done = (store_identity(store), n, store.revision())
        if done == _first_drawn:  # the store has not changed since every one was drawn: one small query
            return drawn
        pids = list(store.patients()["patient_id"])[:n]
        for pid, key, lay_out in charts_to_draw(store, pids, charts, catalog, stop=stop):
            keep(charts, pid, key, figure_svg(lay_out()))
            drawn.append(pid)
        if stop is None or not stop.is_set():
            _first_drawn = done
    return drawn


_first_drawn: tuple | None = None  # (store, n, revision) of the last draw_first_charts that drew all it was asked


def _clinic_words(problems: pd.DataFrame) -> pd.DataFrame:
    """Problem fixes in clinic words: the app's Dates menu, not a parameter name."""
    out = problems.copy()
    out["fix"] = (out["fix"].astype(str)
                  .str.replace("import with dayfirst=True (31/01/2026) or dayfirst=False (01/31/2026)",
                               "choose 'day first' or 'month first' under Dates and import again", regex=False)
                  .str.replace("dayfirst=True", "'day first' under Dates", regex=False)
                  .str.replace("dayfirst=False", "'month first' under Dates", regex=False)
                  .str.replace(" or pass decimal=','", " (e.g. 4.5, not 4,5)", regex=False))
    return out
