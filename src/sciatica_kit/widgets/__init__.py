"""ipywidgets apps for JupyterLab and Voila: model (traitlets) / view (VBox) / glue (observe, link).

Each name loads its module on first use: ``from sciatica_kit.widgets import wait_for_visitor``
loads neither pandas nor ipywidgets, so a preheated Voila kernel can load them at the lowest
priority (:mod:`~sciatica_kit.widgets.waiting`).
"""

from __future__ import annotations

from sciatica_kit._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "ClinicOverview": "clinic_overview",
    "draw_cohort_charts": "clinic_overview",
    "patient_table": "clinic_overview",
    "PatientReport": "patient_report",
    "ProgrammeBuilder": "programme_builder",
    "ProgrammeModel": "programme_builder",
    "ProgressLogger": "progress_logger",
    "VisitModel": "progress_logger",
    "draw_first_charts": "progress_logger",
    "wait_for_visitor": "waiting",
})
