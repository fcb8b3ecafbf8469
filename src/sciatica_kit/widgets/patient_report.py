"""Patient report app: pick a patient, see the summary, the progress chart and the current programme.

The disclaimer is printed once: with the programme when there is one, else at the end.
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
    clinic_error,
    figure_png,
    section_title,
)

__all__ = ["PatientReport"]


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
        self.chart = w.Image(format="png", layout=w.Layout(max_width="1000px", width="100%"))
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
        if patient_id in ids:
            self.patient.value = patient_id
        elif ids:
            self.patient.value = ids[0]

    def show(self) -> None:
        """Draw the report for the chosen patient."""
        from sciatica_kit.charts import plot_progress
        from sciatica_kit.progress import summarise, summary_html, summary_table
        from sciatica_kit.wording import load_wording

        self._clear_messages()
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
        # Everything is computed first and the heading is set last, so the page never shows one
        # patient's name above another patient's table or chart.
        dates = pd.to_datetime(log["date"])
        span = f", {dates.min():%d %b %Y} to {dates.max():%d %b %Y}" if len(log) else ""
        heading = f"<h2 style='margin:6px 0'>Progress report: {html.escape(pid)}</h2><p>{dates.nunique()} visits{span}</p>"
        if log.empty:
            summary, chart = "<i>No entries yet.</i>", b""
        else:
            summary = summary_html(summary_table(summarise(log, catalog=self.catalog), catalog=self.catalog))
            fig = plot_progress(log, pid, programmes=programmes, catalog=self.catalog)
            chart = figure_png(fig, reuse_layout=True)
        if current is not None:
            programme, disclaimer = current._repr_html_(), ""  # the programme carries the disclaimer
        else:
            programme = "<p>No programme saved for this patient.</p>"
            disclaimer = f"<p><i>{html.escape(load_wording(self.catalog).disclaimer)}</i></p>"
        self.summary.value = summary
        self.chart.value = chart
        self.programme.value = programme
        self.disclaimer.value = disclaimer
        self.heading.value = heading
