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
import re

import ipywidgets as w
import traitlets as t

from sciatica_kit.catalog import (
    DOSE_FIELDS,
    DOSE_LABELS,
    PHASE_IDS,
    WHOLE_DOSE_FIELDS,
    load_catalog,
)
from sciatica_kit.handout import dose_text
from sciatica_kit.patient_id import check_patient_id, patient_id_rule
from sciatica_kit.programme import MAX_DOSE, Programme, build_programme
from sciatica_kit.screening import referral_rows, screen
from sciatica_kit.widgets.common import (
    APP_STYLE,
    Confirm,
    Look,
    Message,
    StoreBacked,
    clinic_error,
    download_link,
    exports_dir,
    section_title,
    unique_path,
)
from sciatica_kit.widgets.waiting import warm_up_in_background

__all__ = ["ProgrammeBuilder", "ProgrammeModel"]

HANDOUTS = ("pdf", "html")  # the exports a patient takes home: every exercise needs a dose first
_URGENCY_STYLE = {"emergency": "#b00020", "same_day": "#b00020", "urgent": "#c75000", "routine": "#7a4f01"}


class ProgrammeModel(t.HasTraits):
    """The clinician's choices and the resulting programme (no widgets here)."""

    patient = t.Unicode("")
    clinic = t.Unicode("")
    red_flags = t.List(t.Unicode())
    conditions = t.List(t.Unicode())
    phase = t.Enum(PHASE_IDS, default_value="subacute")
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
        """Build from the current choices; on bad input set ``error`` and keep the last programme.

        Returns
        -------
        Programme or None
            The programme, or None when the choices are not valid (see ``error``).
        """
        self.error = ""
        if not self.red_flags and not self.conditions:
            self.error = "Tick at least one condition (or a red flag) before building."
            return None
        try:
            self.programme = build_programme(
                self.conditions, phase=self.phase, red_flags=self.red_flags, findings=self.findings,
                patient=self.patient or None, clinic=self.clinic or None, catalog=self.catalog,
            )
        except ValueError:
            self.error = "The programme could not be built from these choices. Check the ticked conditions and findings."
            return None
        return self.programme

    def edit(self, action: str, exercise_id: str, reason: str = "", **dose) -> Programme | None:
        """Apply a clinician edit (``add``, ``remove`` or ``dose``) to the current programme.

        Parameters
        ----------
        action : str
            ``add``, ``remove`` or ``dose``.
        exercise_id : str
            The exercise.
        reason : str, optional
            The clinician's reason, stored with the edit (required to force an excluded exercise in).
        **dose
            The dose fields to set (``sets=3``, ``reps=None`` ...).

        Returns
        -------
        Programme or None
            The edited programme, or None when the edit was refused (see ``error``).
        """
        self.error = ""
        if self.programme is None:
            self.error = "Build a programme first."
            return None
        try:
            if sorted(self.red_flags) != sorted(self.programme.red_flags):
                # a flag ticked (or cleared) since Build: every edit starts from today's screen, so a block always holds
                self.programme = self.programme._rebuild(red_flags=list(self.red_flags))
            if self.programme.blocked:
                self.error = "A red flag blocks the programme: see the referral above. No exercise can be changed."
                return self.programme
            if action == "add":
                self.programme = self.programme.add(exercise_id, reason)
            elif action == "remove":
                self.programme = self.programme.remove(exercise_id, reason)
            elif action == "dose":
                self.programme = self.programme.set_dose(exercise_id, reason=reason, **dose)
            else:
                raise ValueError(f"Unknown edit '{action}'")
        except ValueError:
            name = self.catalog.records["exercises"].get(exercise_id, {}).get("name", "this exercise")
            self.error = f"The change to {name} could not be made; check the values and try again."
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
        self.message = Message()  # the build section's status line
        self.patient_message = Message()
        self.edit_message = Message()
        self.export_message = Message()
        self._status_lines = (self.message, self.patient_message, self.edit_message, self.export_message)
        self.banner = self._demo_banner()
        self.patient = w.Combobox(
            placeholder="clinic number, e.g. P-0042", description="Patient", options=self._patient_ids(), ensure_option=False,
            layout=w.Layout(width="340px"), tooltip=patient_id_rule(),
        )
        t.link((self.patient, "value"), (self.model, "patient"))
        self.patient.observe(self._on_patient_typed, "value")

        # ---- step 1: red flags ---------------------------------------------
        tick, hint, row = Look(w.Checkbox, width="auto"), Look(w.HTML), Look(w.VBox)  # shared by every tick row

        def tick_row(box: w.Checkbox, text: str) -> w.VBox:
            """A tick box with its explanation in small print under it."""
            return w.VBox([box, w.HTML(f'<div style="margin:-6px 0 4px 24px;color:#555;font-size:88%">{html.escape(text)}</div>',
                                       **hint())], **row())

        self.red_flag_boxes = {
            rid: w.Checkbox(description=r["name"], indent=False, **tick())
            for rid, r in rec["red_flags"].items()
        }
        flag_rows = []
        for rid, box in self.red_flag_boxes.items():
            flag_rows.append(tick_row(box, "; ".join(rec["red_flags"][rid]["signs"])))
            box.observe(self._on_red_flags, "value")
        self.referral = w.HTML()

        # ---- step 2: conditions, phase, findings -----------------------------
        self.condition_boxes = {
            cid: w.Checkbox(description=c["name"], indent=False, **tick())
            for cid, c in rec["conditions"].items()
        }
        cond_rows = []
        for cid, box in self.condition_boxes.items():
            cond_rows.append(tick_row(box, rec["conditions"][cid]["description"]))
            box.observe(self._on_conditions, "value")
        self.phase = w.ToggleButtons(
            options=[(rec["phases"][p]["name"].split(" (")[0], p) for p in PHASE_IDS],
            value="subacute", description="Phase", tooltips=[rec["phases"][p]["description"] for p in PHASE_IDS],
        )
        t.link((self.phase, "value"), (self.model, "phase"))
        self.finding_boxes = {
            fid: w.Checkbox(description=f["name"], indent=False, **tick())
            for fid, f in rec["findings"].items()
        }
        for box in self.finding_boxes.values():
            box.observe(self._on_findings, "value")

        self.build_button = w.Button(description="Build programme", button_style="primary", icon="list")
        self.build_button.on_click(self._on_build)
        self.table = w.HTML()

        # ---- edits -------------------------------------------------------------
        self.edit_exercise = w.Dropdown(description="Exercise", options=[], layout=w.Layout(width="420px"))
        self.edit_exercise.observe(self._on_pick_exercise, "value")
        dose_look = Look(w.Text, {"description_width": "95px"}, width="200px")
        self.dose_inputs = {name: w.Text(description=DOSE_LABELS[name], placeholder="not set", **dose_look()) for name in DOSE_FIELDS}
        self.apply_dose_button = w.Button(description="Apply dose", icon="pencil")
        self.apply_dose_button.on_click(self._on_apply_dose)
        self.edit_reason = w.Text(description="Reason", placeholder="why (needed to remove, force in or change a dose)",
                                  layout=w.Layout(width="520px"))
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
            section_title("Adjust the programme", "Give a reason first: it is recorded with every change."),
            self.edit_reason,
            w.HBox([self.edit_exercise, self.remove_button]),
            w.GridBox(list(self.dose_inputs.values()) + [self.apply_dose_button],
                      layout=w.Layout(grid_template_columns="repeat(4, 205px)")),
            w.HBox([self.add_exercise, self.add_button]),
            self.edit_message,
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
        self.no_name = w.Checkbox(description="No name on the handout", indent=False, layout=w.Layout(width="auto"))
        self.save_button = w.Button(description="Save to patient", button_style="success", icon="save")
        self.save_button.on_click(self._on_save)
        self.export_confirm = Confirm()
        # one widget per file made, newest first: a new export sends its own link only, never the earlier files again
        self.downloads = w.VBox([w.HTML("<b>Files made since this page opened</b> (newest first):")], layout=w.Layout(display="none"))
        self.downloads.add_class("sk-downloads")
        self.last_export = None
        self.exports: list = []  # every file written since the app opened, newest first
        self.result_box = w.VBox([
            self.table,
            self.edit_box,
            section_title("Export and save", "The patient id at the top is printed on the handout and used to save."),
            w.HBox([*self.export_buttons.values(), self.paper, self.no_name]),
            self.save_button,
            self.export_message,
            self.export_confirm,
            self.downloads,
        ], layout=w.Layout(display="none"))

        super().__init__([
            w.HTML(APP_STYLE),  # the notebook gives the title and purpose
            self.banner,
            self.patient,
            self.patient_message,
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
        warm_up_in_background(("pdf",))  # in a kernel: the first handout's start-up while the clinician screens

    # ------------------------------------------------------------------ helpers
    def _on_patient_typed(self, _change=None) -> None:
        text = self.patient.value.strip()
        check = check_patient_id(text)
        if not text:
            self.patient_message.clear()
        elif check.error:
            self.patient_message.show(check.error, "error")
        elif check.warning:
            self.patient_message.show(check.warning, "warning")
        else:
            self.patient_message.clear()

    def _patient_now(self) -> tuple[str, str]:
        """The patient id typed right now (read at the moment of Save or Export) and an error, if any."""
        text = (self.patient.value or "").strip()
        if not text:
            return "", ""
        check = check_patient_id(text)
        return check.patient_id, check.error

    def _on_red_flags(self, _change=None) -> None:
        self.model.red_flags = [rid for rid, b in self.red_flag_boxes.items() if b.value]
        ref = self.model.referral
        if ref is None:
            self.referral.value = ""
            self.build_button.disabled = False
            self.build_button.description = "Build programme"
            return
        colour = _URGENCY_STYLE.get(ref.urgency, "#b00020")
        rows = dict(referral_rows(ref))
        why = "".join(f"<li>{html.escape(line)}</li>" for line in rows.pop("Why").split("\n"))
        items = "".join(f"<dt style='font-weight:bold;margin-top:4px'>{html.escape(k)}</dt><dd style='margin-left:1em'>{html.escape(v)}</dd>"
                        for k, v in rows.items() if k != "How urgently")
        self.referral.value = (
            f'<div class="sk-referral" role="alert" style="border:3px solid {colour};background:#fdecea;padding:8px 12px;border-radius:6px">'
            f'<b style="color:{colour}">{html.escape(rows["How urgently"])}</b><dl style="margin:4px 0">{items}'
            f"<dt style='font-weight:bold;margin-top:4px'>Why</dt><dd style='margin-left:1em'><ul style='margin:0;padding-left:1.2em'>{why}</ul></dd></dl></div>"
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
        self._clear_messages()
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
            self.edit_message.show(self.model.error, "error")
            return
        keep = self.edit_exercise.value
        self._show_programme()
        if keep in dict((v, k) for k, v in self.edit_exercise.options):
            self.edit_exercise.value = keep
        self.edit_reason.value = ""
        self.edit_message.show(ok_text, "success")

    def _name(self, exercise_id: str) -> str:
        return self.model.catalog.records["exercises"].get(exercise_id, {}).get("name", "this exercise")

    def _reason(self, what: str) -> str | None:
        reason = self.edit_reason.value.strip()
        if not reason:
            self.edit_message.show(f"Give a reason in the Reason box to {what}; it is recorded with the change.", "error")
            return None
        return reason

    def _on_apply_dose(self, _button=None) -> None:
        self._clear_messages()
        ex = self.edit_exercise.value
        if not ex:
            self.edit_message.show("Choose an exercise to edit.", "error")
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
                value = float(text.replace(",", "."))
            except ValueError:
                self.edit_message.show(f"{row['name']}, {DOSE_LABELS[name]}: '{text}' is not a number. Enter a number or leave it empty.", "error")
                return
            whole = name in WHOLE_DOSE_FIELDS
            if not (0 < value <= MAX_DOSE) or (whole and not value.is_integer()):
                kind = "a whole number" if whole else "a number"
                self.edit_message.show(f"{row['name']}, {DOSE_LABELS[name]}: '{text}' is not valid. Enter {kind} above 0 "
                                       f"(up to {MAX_DOSE:,}), or leave it empty.", "error")
                return
            changes[name] = value
        if not changes:
            self.edit_message.show("No dose changed.", "info")
            return
        reason = self._reason(f"change the dose of {row['name']}")
        if reason is None:
            return
        self.model.edit("dose", ex, reason, **changes)
        done = f"Dose updated for {row['name']} (reason: {reason})."
        missing = self.missing_doses()
        if missing and not self.model.error:
            done += f" Still without a dose: {', '.join(name for _, name in missing)}."
        self._after_edit(done)

    def _on_remove(self, _button=None) -> None:
        self._clear_messages()
        ex = self.edit_exercise.value
        if not ex:
            self.edit_message.show("Choose an exercise to remove.", "error")
            return
        name = self._name(ex)
        reason = self._reason(f"remove {name}")
        if reason is None:
            return
        self.model.edit("remove", ex, reason)
        self._after_edit(f"{name} removed; it is listed under 'Kept out' with your reason.")

    def _on_add(self, _button=None) -> None:
        self._clear_messages()
        ex = self.add_exercise.value
        prog = self.model.programme
        if prog is None:
            self.edit_message.show("Build a programme first.", "error")
            return
        name = self._name(ex)
        if ex in set(prog.table["exercise_id"]):
            self.edit_message.show(f"{name} is already in the programme.", "info")
            return
        kept_out = prog.excluded[prog.excluded["exercise_id"] == ex]
        reason = self.edit_reason.value.strip()
        if len(kept_out) and not reason and ex not in prog.kept_out_for_size:  # kept out only for size: one click back
            why = "; ".join(re.sub(r"\s*\[[^\]]*\]", "", str(r)) for r in kept_out["reason"])  # no source file names
            self.edit_message.show(f"{name} is kept out for this patient ({why}). To add it anyway, give your reason "
                                   "in the Reason box and press Add exercise again.", "error")
            return
        before = set(prog.kept_out_for_size)
        self.model.edit("add", ex, reason)
        after = self.model.programme
        displaced = [self._name(k) for k in (after.kept_out_for_size if after is not None else ()) if k not in before and k != ex]
        forced = any(o["exercise_id"] == ex and o["action"] == "forced" for o in (self.model.programme.overrides if self.model.programme else ()))
        size = (f" To stay within {after.max_exercises} exercises, {', '.join(displaced)} moved to 'Kept out' (add it back the same way)."
                if displaced else "")
        self._after_edit(f"{name} added" + (" - it is normally kept out: your reason and what it overrides are recorded." if forced else ".")
                         + size)

    def export(self, kind: str, *, confirmed: bool = False):
        """Write the programme as csv / excel / pdf / html / fhir; offer it for download. Returns the path.

        The patient id is read from the Patient box now (not when the programme was built).
        Without an id the clinician is asked for one, unless "No name on the handout" is ticked.

        Parameters
        ----------
        kind : str
            ``csv``, ``excel``, ``pdf``, ``html`` or ``fhir``.
        confirmed : bool, optional
            The clinician chose to print with rows still without a dose (asked before a handout).
        """
        self._clear_messages()
        self.export_confirm.dismiss()
        prog = self.model.programme
        if prog is None:
            self.export_message.show("Build a programme first.", "error")
            return None
        pid, error = self._patient_now()
        if error:
            self.export_message.show(error, "error")
            return None
        suffix, label = {"csv": (".csv", "spreadsheet (CSV)"), "excel": (".xlsx", "spreadsheet (Excel)"),
                         "pdf": ("-handout.pdf", "handout (PDF)"), "html": ("-handout.html", "handout (HTML)"),
                         "fhir": ("-careplan.json", "FHIR CarePlan")}[kind]
        if not pid and not self.no_name.value:
            self.export_message.show(f"Enter the patient id at the top (the clinic number) before exporting the {label}, "
                                     "or tick 'No name on the handout'.", "error")
            return None
        if self.no_name.value:
            pid = ""
        if kind in HANDOUTS and not confirmed and not prog.blocked:
            missing = self.missing_doses()
            if missing:
                self._ask_about_missing_doses(kind, missing)
                return None
        prog = prog.with_details(patient=pid or None)
        folder = exports_dir()
        stem = _safe_stem(pid or "programme") + "-" + dt.date.today().isoformat()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target = unique_path(folder, stem + suffix.rsplit(".", 1)[0], "." + suffix.rsplit(".", 1)[1])
            if kind == "csv":
                path = prog.to_csv(target)
            elif kind == "excel":
                path = prog.to_excel(target)
            elif kind == "pdf":
                path = prog.to_pdf(target, paper=self.paper.value)
            elif kind == "html":
                path = prog.to_html(target, paper=self.paper.value)
            else:
                from sciatica_kit.fhir import careplan_bundle, write_bundle

                path = write_bundle(careplan_bundle(prog), target)
        except (OSError, ValueError) as exc:
            self.export_message.show(clinic_error(exc, f"The {label} could not be written"), "error")
            return None
        from pathlib import Path

        path = Path(path)
        self.last_export = path
        self.exports.insert(0, path)
        title, *earlier = self.downloads.children
        self.downloads.children = (title, w.HTML(f'<ul style="margin:0"><li>{download_link(path)}</li></ul>'), *earlier)
        self.downloads.layout.display = None
        who = f"for {pid}" if pid else "with no name on it"
        self.export_message.show(f"Saved {path.name} ({label} {who}).", "success")
        return path

    def missing_doses(self) -> list[tuple[str, str]]:
        """The rows of the current programme still without a dose.

        Returns
        -------
        list of (str, str)
            ``(exercise_id, name)`` in table order; empty without a programme or when it is blocked.
        """
        prog = self.model.programme
        if prog is None or prog.blocked:
            return []
        return [(r["exercise_id"], r["name"]) for r in prog.table.to_dict("records") if dose_text(r)[1]]

    def _ask_about_missing_doses(self, kind: str, missing: list[tuple[str, str]]) -> None:
        n = len(missing)
        names = ", ".join(name for _, name in missing)
        them = "them" if n > 1 else "it"
        self.export_message.show(f"{n} exercise{'s have' if n > 1 else ' has'} no dose yet: {names}.", "warning")
        self.export_confirm.ask(
            f"Set {them} with the patient now, or print the handout with fill-in lines (\"____ times\") "
            "to write the dose on by hand?", yes="Print with fill-in lines", no="Set the doses",
            on_yes=lambda: self.export(kind, confirmed=True), on_no=lambda: self.set_missing_dose(missing[0][0]),
        )

    def set_missing_dose(self, exercise_id: str) -> None:
        """Open the dose editor on ``exercise_id`` (a row without a dose) with the cursor in its first box.

        Parameters
        ----------
        exercise_id
            The exercise whose dose the clinician sets next.
        """
        self._clear_messages()
        self.export_confirm.dismiss()
        self.edit_exercise.value = exercise_id
        self.dose_inputs[DOSE_FIELDS[0]].focus()
        still = self.missing_doses()
        others = [name for ex, name in still if ex != exercise_id]
        rest = f" Then: {', '.join(others)}." if others else ""
        self.edit_message.show(f"Set the dose of {self._name(exercise_id)} here, give a reason and press Apply dose.{rest}", "info")

    def _on_save(self, _button=None) -> None:
        self._clear_messages()
        prog = self.model.programme
        if prog is None:
            self.export_message.show("Build a programme first.", "error")
            return
        pid, error = self._patient_now()
        if error:
            self.export_message.show(error, "error")
            return
        if not pid:
            self.export_message.show("Enter the patient id at the top (the clinic number) before saving.", "error")
            return
        try:
            self.store.save_programme(pid, prog.with_details(patient=pid))
        except Exception as exc:  # store locked, damaged, unreachable: tell the clinician, keep the programme
            self.export_message.show(clinic_error(exc, f"The programme was not saved for {pid}"), "error")
            return
        self.patient.options = self._patient_ids()
        self.export_message.show(f"Programme saved for {pid}. Charts will mark today's start.", "success")


def _safe_stem(text: str) -> str:
    import re

    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    return stem[:40] or "programme"
