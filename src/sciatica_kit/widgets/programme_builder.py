"""Programme builder app: red-flag screen first, conditions, phase, findings -> programme.

Model (:class:`ProgrammeModel`, traitlets only, no widgets) holds the clinician's
choices and the built programme.  The view (:class:`ProgrammeBuilder`, a VBox)
shows them; glue is ``observe``/``link``.  A notebook cell is just::

    app = ProgrammeBuilder()
    app
"""

from __future__ import annotations

import datetime as dt
import html

import ipywidgets as w
import traitlets as t

from sciatica_kit.catalog import DOSE_FIELDS, load_catalog
from sciatica_kit.export import EXPORT_COLUMNS
from sciatica_kit.programme import Programme, build_programme
from sciatica_kit.screening import screen
from sciatica_kit.widgets.common import (
    APP_STYLE,
    Message,
    StoreBacked,
    download_link,
    exports_dir,
    section_title,
)

__all__ = ["ProgrammeBuilder", "ProgrammeModel"]

DOSE_LABELS = {name: EXPORT_COLUMNS[name] for name in DOSE_FIELDS}
_URGENCY_STYLE = {"emergency": "#b00020", "same_day": "#b00020", "urgent": "#c75000", "routine": "#7a4f01"}


class ProgrammeModel(t.HasTraits):
    """The clinician's choices and the resulting programme (no widgets here)."""

    patient = t.Unicode("")
    clinic = t.Unicode("")
    red_flags = t.List(t.Unicode())
    conditions = t.List(t.Unicode())
    phase = t.Enum(("acute", "subacute", "chronic"), default_value="subacute")
    findings = t.List(t.Unicode())
    programme = t.Instance(Programme, allow_none=True)
    error = t.Unicode("")

    def __init__(self, catalog=None, **kw):
        super().__init__(**kw)
        self.catalog = catalog or load_catalog()

    @property
    def referral(self):
        return screen(self.red_flags, catalog=self.catalog) if self.red_flags else None

    def build(self) -> Programme | None:
        """Build from the current choices; on bad input set ``error`` and keep the last programme."""
        self.error = ""
        if not self.red_flags and not self.conditions:
            self.error = "Tick at least one condition (or a red flag) before building."
            return None
        try:
            self.programme = build_programme(
                self.conditions, phase=self.phase, red_flags=self.red_flags, findings=self.findings,
                patient=self.patient or None, clinic=self.clinic or None, catalog=self.catalog,
            )
        except ValueError as exc:
            self.error = str(exc)
            return None
        return self.programme

    def edit(self, action: str, exercise_id: str, reason: str = "", **dose) -> Programme | None:
        """Apply a clinician edit (``add``, ``remove`` or ``dose``) to the current programme."""
        self.error = ""
        if self.programme is None:
            self.error = "Build a programme first."
            return None
        try:
            if action == "add":
                self.programme = self.programme.add(exercise_id, reason)
            elif action == "remove":
                self.programme = self.programme.remove(exercise_id, reason)
            elif action == "dose":
                self.programme = self.programme.set_dose(exercise_id, **dose)
            else:
                raise ValueError(f"Unknown edit '{action}'")
        except ValueError as exc:
            self.error = str(exc)
            return None
        return self.programme


class ProgrammeBuilder(StoreBacked, w.VBox):
    """Screen, choose, build, edit, export and save a home-exercise programme."""

    def __init__(self, *, store=None, catalog=None, clinic: str = ""):
        self.model = ProgrammeModel(catalog=catalog, clinic=clinic)
        self._store = store
        cat = self.model.catalog
        rec = cat.records

        # ---- patient ---------------------------------------------------------
        self.patient = w.Combobox(
            placeholder="e.g. DEMO-001", description="Patient", options=self._patient_ids(), ensure_option=False,
            layout=w.Layout(width="340px"),
        )
        t.link((self.patient, "value"), (self.model, "patient"))

        # ---- step 1: red flags ---------------------------------------------
        self.red_flag_boxes = {
            rid: w.Checkbox(description=r["name"], indent=False, layout=w.Layout(width="auto"))
            for rid, r in rec["red_flags"].items()
        }
        flag_rows = []
        for rid, box in self.red_flag_boxes.items():
            signs = "; ".join(rec["red_flags"][rid]["signs"])
            flag_rows.append(w.VBox([box, w.HTML(f'<div style="margin:-6px 0 4px 24px;color:#555;font-size:88%">{html.escape(signs)}</div>')]))
            box.observe(self._on_red_flags, "value")
        self.referral = w.HTML()

        # ---- step 2: conditions, phase, findings -----------------------------
        self.condition_boxes = {
            cid: w.Checkbox(description=c["name"], indent=False, layout=w.Layout(width="auto"))
            for cid, c in rec["conditions"].items()
        }
        cond_rows = []
        for cid, box in self.condition_boxes.items():
            cond_rows.append(w.VBox([box, w.HTML(f'<div style="margin:-6px 0 4px 24px;color:#555;font-size:88%">{html.escape(rec["conditions"][cid]["description"])}</div>')]))
            box.observe(self._on_conditions, "value")
        self.phase = w.ToggleButtons(
            options=[(rec["phases"][p]["name"].split(" (")[0], p) for p in ("acute", "subacute", "chronic")],
            value="subacute", description="Phase", tooltips=[rec["phases"][p]["description"] for p in ("acute", "subacute", "chronic")],
        )
        t.link((self.phase, "value"), (self.model, "phase"))
        self.finding_boxes = {
            fid: w.Checkbox(description=f["name"], indent=False, layout=w.Layout(width="auto"))
            for fid, f in rec["findings"].items()
        }
        for box in self.finding_boxes.values():
            box.observe(self._on_findings, "value")

        self.build_button = w.Button(description="Build programme", button_style="primary", icon="list")
        self.build_button.on_click(self._on_build)
        self.message = Message()
        self.table = w.HTML()

        # ---- edits -------------------------------------------------------------
        self.edit_exercise = w.Dropdown(description="Exercise", options=[], layout=w.Layout(width="420px"))
        self.edit_exercise.observe(self._on_pick_exercise, "value")
        self.dose_inputs = {
            name: w.Text(description=DOSE_LABELS[name], placeholder="not specified", style={"description_width": "95px"},
                         layout=w.Layout(width="200px"))
            for name in DOSE_FIELDS
        }
        self.apply_dose_button = w.Button(description="Apply dose", icon="pencil")
        self.apply_dose_button.on_click(self._on_apply_dose)
        self.edit_reason = w.Text(description="Reason", placeholder="why (recorded with the change)", layout=w.Layout(width="420px"))
        self.remove_button = w.Button(description="Remove exercise", button_style="warning", icon="minus")
        self.remove_button.on_click(self._on_remove)
        self.add_exercise = w.Dropdown(
            description="Add",
            options=[(f"{e['name']} ({e['category']})", i) for i, e in sorted(rec["exercises"].items(), key=lambda kv: kv[1]["name"])],
            layout=w.Layout(width="420px"),
        )
        self.add_button = w.Button(description="Add exercise", icon="plus")
        self.add_button.on_click(self._on_add)
        self.edit_box = w.VBox([
            section_title("Adjust the programme", "Every change is recorded in the row's reason."),
            w.HBox([self.edit_exercise, self.remove_button]),
            w.GridBox(list(self.dose_inputs.values()) + [self.apply_dose_button],
                      layout=w.Layout(grid_template_columns="repeat(4, 205px)")),
            self.edit_reason,
            w.HBox([self.add_exercise, self.add_button]),
        ])

        # ---- export and save ---------------------------------------------------
        self.paper = w.Dropdown(options=["A4", "Letter"], value="A4", description="Paper", layout=w.Layout(width="170px"))
        self.export_buttons = {
            "csv": w.Button(description="CSV", icon="table"),
            "excel": w.Button(description="Excel", icon="file-excel-o"),
            "pdf": w.Button(description="Handout (PDF)", icon="file-pdf-o"),
            "html": w.Button(description="Handout (HTML)", icon="print"),
            "fhir": w.Button(description="FHIR CarePlan", icon="exchange"),
        }
        for kind, button in self.export_buttons.items():
            button.on_click(lambda _b, kind=kind: self.export(kind))
        self.save_button = w.Button(description="Save to patient", button_style="success", icon="save")
        self.save_button.on_click(self._on_save)
        self.downloads = w.HTML()
        self.last_export = None
        self.result_box = w.VBox([
            self.table,
            self.edit_box,
            section_title("Export and save"),
            w.HBox([*self.export_buttons.values(), self.paper]),
            self.save_button,
            self.downloads,
        ], layout=w.Layout(display="none"))

        super().__init__([
            w.HTML(APP_STYLE),  # the notebook gives the title and purpose
            self.patient,
            section_title("1. Red-flag screen", "Tick any red flag present. A red flag stops the programme and says whom to refer to."),
            w.VBox(flag_rows),
            self.referral,
            section_title("2. Conditions", "Tick every condition that applies."),
            w.GridBox(cond_rows, layout=w.Layout(grid_template_columns="repeat(2, minmax(300px, 1fr))", grid_gap="0 16px")),
            section_title("3. Phase and findings"),
            self.phase,
            w.HBox(list(self.finding_boxes.values())),
            self.build_button,
            self.message,
            self.result_box,
        ], layout=w.Layout(max_width="1100px"))
        self.add_class("sk-programme-builder")

    # ------------------------------------------------------------------ helpers
    def _on_red_flags(self, _change=None) -> None:
        self.model.red_flags = [rid for rid, b in self.red_flag_boxes.items() if b.value]
        ref = self.model.referral
        if ref is None:
            self.referral.value = ""
            self.build_button.disabled = False
            self.build_button.description = "Build programme"
            return
        colour = _URGENCY_STYLE.get(ref.urgency, "#b00020")
        lines = "".join(f"<li>{html.escape(line)}</li>" for line in ref.text.split("\n")[1:])
        lead = "No exercise programme" if ref.blocking else "Alongside the exercise programme"
        self.referral.value = (
            f'<div class="sk-referral" role="alert" style="border:3px solid {colour};background:#fdecea;padding:8px 12px;border-radius:6px">'
            f'<b style="color:{colour}">{html.escape(ref.headline)}</b><br>'
            f"{lead}: refer to {html.escape(ref.refer_to)}.<ul>{lines}</ul></div>"
        )
        if not ref.blocking:
            self.build_button.disabled = False
            self.build_button.description = "Build programme"
            return
        self.build_button.disabled = True
        self.build_button.description = "Blocked: refer first"
        self.model.programme = None
        self.result_box.layout.display = "none"

    def _on_conditions(self, _change=None) -> None:
        self.model.conditions = [cid for cid, b in self.condition_boxes.items() if b.value]

    def _on_findings(self, _change=None) -> None:
        self.model.findings = [fid for fid, b in self.finding_boxes.items() if b.value]

    # ------------------------------------------------------------------ actions
    def _on_build(self, _button=None) -> None:
        self.message.show("Building...", "info")
        prog = self.model.build()
        if prog is None:
            self.message.show(self.model.error, "error")
            return
        self._show_programme()
        self.message.show(
            f"Programme built: {len(prog.table)} exercises, {len(prog.excluded)} kept out (see below).", "success"
        )

    def _show_programme(self) -> None:
        prog = self.model.programme
        self.table.value = prog._repr_html_()
        self.edit_exercise.options = [(n, i) for i, n in zip(prog.table["exercise_id"], prog.table["name"], strict=True)]
        if self.edit_exercise.value is None and self.edit_exercise.options:
            self.edit_exercise.index = 0  # setting options selects nothing; the dose boxes need an exercise
        self.result_box.layout.display = "flex" if not prog.blocked else "none"
        self._on_pick_exercise()

    def _on_pick_exercise(self, _change=None) -> None:
        prog = self.model.programme
        if prog is None or not self.edit_exercise.value:
            return
        row = prog.table.set_index("exercise_id").loc[self.edit_exercise.value]
        for name, box in self.dose_inputs.items():
            v = row[name]
            box.value = "" if v is None or (hasattr(v, "__float__") and v != v) or str(v) == "<NA>" else f"{float(v):g}"

    def _after_edit(self, ok_text: str) -> None:
        if self.model.error:
            self.message.show(self.model.error, "error")
            return
        keep = self.edit_exercise.value
        self._show_programme()
        if keep in dict((v, k) for k, v in self.edit_exercise.options):
            self.edit_exercise.value = keep
        self.message.show(ok_text, "success")

    def _on_apply_dose(self, _button=None) -> None:
        ex = self.edit_exercise.value
        if not ex:
            self.message.show("Choose an exercise to edit.", "error")
            return
        row = self.model.programme.table.set_index("exercise_id").loc[ex]
        changes = {}
        for name, box in self.dose_inputs.items():
            text = box.value.strip()
            current = row[name]
            current_text = "" if str(current) == "<NA>" else f"{float(current):g}"
            if text == current_text:
                continue
            if text == "":
                changes[name] = None
                continue
            try:
                changes[name] = float(text.replace(",", "."))
            except ValueError:
                self.message.show(f"{DOSE_LABELS[name]}: '{text}' is not a number. Enter a number or leave it empty.", "error")
                return
        if not changes:
            self.message.show("No dose changed.", "info")
            return
        self.model.edit("dose", ex, **changes)
        self._after_edit(f"Dose updated for {row['name']}.")

    def _on_remove(self, _button=None) -> None:
        ex = self.edit_exercise.value
        if not ex:
            self.message.show("Choose an exercise to remove.", "error")
            return
        self.model.edit("remove", ex, self.edit_reason.value.strip())
        self._after_edit("Exercise removed; it is listed under 'Kept out' with your reason.")

    def _on_add(self, _button=None) -> None:
        ex = self.add_exercise.value
        self.model.edit("add", ex, self.edit_reason.value.strip())
        forced = any(o["exercise_id"] == ex and o["action"] == "forced" for o in (self.model.programme.overrides if self.model.programme else ()))
        self._after_edit("Exercise added" + (" - it is normally kept out: your override and what it overrides are recorded." if forced else "."))

    def export(self, kind: str):
        """Write the programme as csv / excel / pdf / html / fhir; offer it for download. Returns the path."""
        prog = self.model.programme
        if prog is None:
            self.message.show("Build a programme first.", "error")
            return None
        folder = exports_dir()
        stem = _safe_stem(prog.patient or "programme") + "-" + dt.date.today().isoformat()
        try:
            if kind == "csv":
                path = prog.to_csv(folder / f"{stem}.csv")
            elif kind == "excel":
                path = prog.to_excel(folder / f"{stem}.xlsx")
            elif kind == "pdf":
                self.message.show("Drawing the handout...", "info")
                path = prog.to_pdf(folder / f"{stem}-handout.pdf", paper=self.paper.value)
            elif kind == "html":
                path = prog.to_html(folder / f"{stem}-handout.html", paper=self.paper.value)
            elif kind == "fhir":
                from sciatica_kit.fhir import careplan_bundle, write_bundle

                path = write_bundle(careplan_bundle(prog), folder / f"{stem}-careplan.json")
            else:
                raise ValueError(f"Unknown export '{kind}'")
        except (OSError, ValueError) as exc:
            self.message.show(f"The export could not be written: {exc}", "error")
            return None
        self.last_export = path
        self.downloads.value = download_link(path)
        self.message.show(f"Saved {path.name}.", "success")
        return path

    def _on_save(self, _button=None) -> None:
        prog = self.model.programme
        pid = (self.model.patient or "").strip()
        if prog is None:
            self.message.show("Build a programme first.", "error")
            return
        if not pid:
            self.message.show("Enter the patient's identifier before saving.", "error")
            return
        try:
            self.store.save_programme(pid, prog)
        except Exception as exc:  # store locked, damaged, unreachable: tell the clinician, keep the programme
            self.message.show(f"The programme was not saved: {exc}", "error")
            return
        self.patient.options = self._patient_ids()
        self.message.show(f"Programme saved for {pid}. Charts will mark today's start.", "success")


def _safe_stem(text: str) -> str:
    import re

    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    return stem[:40] or "programme"
