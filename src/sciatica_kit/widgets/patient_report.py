"""Patient report app: pick a patient, see the summary, the progress chart and the current programme.

The disclaimer is printed once: with the programme when there is one, else at the end.
The text comes at once and the chart as soon as it is drawn; the charts of the next
patients in the picker are drawn while the clinician reads (kept with the visit logger's,
see :mod:`sciatica_kit.widgets.progress_charts`).
"""

from __future__ import annotations

import html

import ipywidgets as w
import pandas as pd

from sciatica_kit.catalog import load_catalog
from sciatica_kit.widgets.common import (
    APP_STYLE,
    Message,
    StoreBacked,
    WhileIdle,
    clinic_error,
    run_later,
    section_title,
    set_picture,
)
from sciatica_kit.widgets.progress_charts import (
    ChartsAhead,
    chart_key,
    drawn_chart,
    kept_charts,
    kept_svg,
    next_in_list,
)

__all__ = ["PatientReport"]

AHEAD_IDLE_S = 1.0  # seconds without a click before the next patients' charts are drawn
AHEAD_GAP_S = 0.05  # between two steps: the kernel answers what the browser sent meanwhile


class PatientReport(StoreBacked, w.VBox):
    """A printable progress report for the patient chosen in the picker."""

    def __init__(self, *, store=None, catalog=None, patient_id: str | None = None):
        self.catalog = catalog or load_catalog()
        self._store = store
        self.message = Message()
        self._status_lines = (self.message,)
        self.banner = self._demo_banner()
        ids = self._patient_ids()
        self.patient = w.Dropdown(description="Patient", options=ids, value=None, layout=w.Layout(width="300px"))
        self.heading = w.HTML()
        self.summary = w.HTML()
        self.chart = w.Image(format="svg+xml", layout=w.Layout(max_width="1000px", width="100%"))
        self._charts = kept_charts(self.store)  # shared with the kernel's other apps on this store
        self._pending_chart = None  # the chart waiting to be drawn (another patient chosen drops it)
        self._draw_ahead = ChartsAhead(self, self._charts, lambda: self.patient.value or "",
                                       lambda: next_in_list(self.patient.options, self.patient.value or ""))
        self._ahead = WhileIdle(self._draw_ahead, idle_s=AHEAD_IDLE_S, gap_s=AHEAD_GAP_S)
        self.programme = w.HTML()
        self.disclaimer = w.HTML()
        self.patient.observe(lambda _c: self.show(), "value")
        super().__init__([
            w.HTML(APP_STYLE), self.banner, self.patient, self.message, self.heading,
            section_title("Summary", "Change since the first visit against the minimal clinically important difference (MCID)."),
            self.summary, section_title("Progress"), self.chart, section_title("Current programme"), self.programme,
            self.disclaimer,
        ], layout=w.Layout(max_width="1100px"))
        self.add_class("sk-patient-report")
        self._opening = True
        try:
            if patient_id in ids:
                self.patient.value = patient_id
            elif ids:
                self.patient.value = ids[0]
        finally:
            self._opening = False

    def show(self) -> None:
        """Show the report for the chosen patient: the text at once, the chart as soon as it is drawn.

        The heading is set last, so the page never shows one patient's name above another
        patient's table or chart; the chart area stays empty until this patient's chart is there.
        """
        from sciatica_kit.progress import summarise, summary_html, summary_table
        from sciatica_kit.wording import load_wording

        self._clear_messages()
        if self._pending_chart is not None:
            self._pending_chart.cancel()
            self._pending_chart = None
        pid = self.patient.value
        if not pid:
            self.heading.value = "<i>Choose a patient.</i>"
            return
        try:
            log = self.store.read(pid)
            programmes = self.store.programmes(pid)
            current = self.store.latest_programme(pid)
        except Exception as exc:
            self.message.show(clinic_error(exc, f"The report for {pid} could not be read"), "error")
            return
        dates = pd.to_datetime(log["date"])
        span = f", {dates.min():%d %b %Y} to {dates.max():%d %b %Y}" if len(log) else ""
        heading = f"<h2 style='margin:6px 0'>Progress report: {html.escape(pid)}</h2><p>{dates.nunique()} visits{span}</p>"
        key = chart_key(log, programmes)
        if log.empty:
            summary, chart = "<i>No entries yet.</i>", b""
        else:
            summary = summary_html(summary_table(summarise(log, catalog=self.catalog), catalog=self.catalog))
            chart = kept_svg(self._charts, pid, key)  # drawn ahead, or shown before, from the same rows
        if current is not None:
            programme, disclaimer = current._repr_html_(), ""  # the programme carries the disclaimer
        else:
            programme = "<p>No programme saved for this patient.</p>"
            disclaimer = f"<p><i>{html.escape(load_wording(self.catalog).disclaimer)}</i></p>"
        self.summary.value = summary
        set_picture(self.chart, chart or b"")
        self.programme.value = programme
        self.disclaimer.value = disclaimer
        self.heading.value = heading
        if chart is None:
            draw = self._chart_step(pid, log, programmes, key)
            self._pending_chart = run_later(draw)
            if self._pending_chart is None:  # a script or a test: drawn now
                draw()
        if not self._opening:  # not while the page opens: the browser is then asking for the app's widgets
            self._ahead.touched()  # the next patients' charts are drawn while the clinician reads

    def _chart_step(self, pid: str, log: pd.DataFrame, programmes, key: bytes):
        """The step that draws ``pid``'s chart and shows it if ``pid`` is still the one chosen."""

        def draw() -> None:
            self._pending_chart = None
            if self.patient.value != pid:
                return
            try:
                svg = drawn_chart(self._charts, pid, log, programmes, self.catalog, key, ahead=self._draw_ahead)
            except Exception as exc:
                self.message.show(clinic_error(exc, f"The chart for {pid} could not be drawn"), "error")
                return
            if self.patient.value == pid:
                set_picture(self.chart, svg)

        return draw
