"""ipywidgets apps for JupyterLab and Voila: model (traitlets) / view (VBox) / glue (observe, link)."""

from sciatica_kit.widgets.clinic_overview import ClinicOverview, draw_cohort_charts, patient_table
from sciatica_kit.widgets.common import wait_for_visitor
from sciatica_kit.widgets.patient_report import PatientReport
from sciatica_kit.widgets.programme_builder import ProgrammeBuilder, ProgrammeModel
from sciatica_kit.widgets.progress_logger import ProgressLogger, VisitModel, draw_first_charts

__all__ = [
    "ClinicOverview", "PatientReport", "ProgrammeBuilder", "ProgrammeModel", "ProgressLogger", "VisitModel", "draw_cohort_charts",
    "draw_first_charts", "patient_table", "wait_for_visitor",
]
