"""Per-patient progress reports as HTML, built by a function from the kit's own renderers.

    python -m sciatica_kit.report --patient DEMO-001 --out reports-out
    python -m sciatica_kit.report --patient all --out reports-out

Each report holds the summary table (:func:`sciatica_kit.progress.summary_table`), the progress
chart (:func:`sciatica_kit.plot_progress`) and the current programme with its remarks, under the
kit's disclaimer.  The template ships inside the package (``templates/patient_report.html``), so a
wheel install makes reports too; the papermill notebook ``notebooks/reports/patient_report.ipynb``
stays as a view for those who want one.  Files are written owner-readable only.
"""

from __future__ import annotations

import argparse
import base64
import html
import itertools
import multiprocessing
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from importlib import resources
from pathlib import Path
from string import Template

from sciatica_kit._docs import shared_docs
from sciatica_kit.files import private_path

__all__ = ["patient_report_html", "run_report", "run_reports"]


def _stem(patient_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", patient_id).strip("-")[:60] or "patient"


def _template() -> Template:
    return Template(resources.files("sciatica_kit").joinpath("templates", "patient_report.html").read_text(encoding="utf-8"))


def _svg(fig) -> str:
    """The chart as base64 SVG with real text, laid out once with fixed margins.

    A report for a whole clinic draws hundreds of charts: SVG skips rasterising and PNG
    compression, and fixed margins skip the constrained layout's second pass over every label
    (together about 3x less work per chart); the page also prints sharp and stays searchable.
    """
    from sciatica_kit.charts import figure_svg, fixed_layout

    return base64.b64encode(figure_svg(fixed_layout(fig))).decode("ascii")


@shared_docs
def patient_report_html(store, patient_id: str, *, catalog=None) -> str:
    """One patient's progress report as a standalone HTML page.

    Parameters
    ----------
    store
        A :class:`~sciatica_kit.store.Store` holding the patient.
    patient_id
        The patient.
    {catalog}

    Returns
    -------
    str
        The page: every text the clinic typed is escaped; the chart is an embedded SVG.
    """
    from sciatica_kit.catalog import load_catalog
    from sciatica_kit.charts import plot_progress
    from sciatica_kit.progress import summarise, summary_html, summary_table
    from sciatica_kit.wording import load_wording

    cat = catalog or load_catalog()
    log = store.read(patient_id)
    n_visits = log["date"].nunique()
    visits = f"{n_visits} visit{'s' if n_visits != 1 else ''}"
    if n_visits:
        visits += f", {log['date'].min():%d %b %Y} to {log['date'].max():%d %b %Y}"
    if len(log):
        summarised = summarise(log, catalog=cat)
        summary = summary_html(summary_table(summarised, catalog=cat))
        fig = plot_progress(log, patient_id, programmes=store.programmes(patient_id), summary=summarised, catalog=cat)
        chart = f'<img class="chart" alt="Progress chart for {html.escape(patient_id)}" src="data:image/svg+xml;base64,{_svg(fig)}">'
    else:
        summary = chart = "<p>No entries yet.</p>"
    current = store.latest_programme(patient_id)
    if current is not None:
        programme, disclaimer = current._repr_html_(), ""  # the programme's own view ends with the disclaimer
    else:
        programme = "<p>No programme saved for this patient.</p>"
        disclaimer = f'<p class="disclaimer">{html.escape(load_wording(cat).disclaimer)}</p>'
    return _template().substitute(patient=html.escape(patient_id), visits=html.escape(visits), summary=summary, chart=chart,
                                  programme=programme, disclaimer=disclaimer)


def run_report(patient_id: str, out_dir: str | Path, *, store_location: str | None = None, store=None) -> Path:
    """Write ``<out_dir>/report-<patient>.html`` for one patient.

    Parameters
    ----------
    patient_id : str
        The patient.
    out_dir : str or path-like
        Folder for the report (created when missing).
    store_location : str, optional
        A store's file path or server URL, opened for this report when ``store`` is not given.
    store : Store, optional
        An open store to read from.

    Returns
    -------
    pathlib.Path
        The report written.

    Raises
    ------
    ValueError
        When the patient is not in the store.
    """
    from sciatica_kit.store import Store

    own = store is None
    store = Store(store_location) if own else store
    try:
        _check_patients(store, [patient_id])
        return _write_report(store, patient_id, out_dir)
    finally:
        if own:
            store.close()


def _check_patients(store, patients: Sequence[str]) -> None:
    """Refuse, before anything is drawn, a patient the store does not hold (with the closest id)."""
    known = set(store.patients()["patient_id"])
    for patient_id in patients:
        if patient_id not in known:
            from sciatica_kit.catalog import unknown_id_error

            raise unknown_id_error("patient", patient_id, known)


def _write_report(store, patient_id: str, out_dir: str | Path) -> Path:
    page = patient_report_html(store, patient_id)
    target = Path(out_dir) / f"report-{_stem(patient_id)}.html"
    with private_path(target) as tmp_file:
        tmp_file.write_text(page, encoding="utf-8")
    return target


_WORKER_STORE = None


def _worker_start(store_location: str | None) -> None:
    global _WORKER_STORE
    from sciatica_kit.store import Store

    _WORKER_STORE = Store(store_location)


def _worker_report(patient_id: str, out_dir: str) -> Path:
    return _write_report(_WORKER_STORE, patient_id, out_dir)  # run_reports checked the ids once


def run_reports(patients: Sequence[str] | str, out_dir: str | Path, *, store_location: str | None = None,
                progress: Callable[[int, int, Path], None] | None = None, workers: int | None = None) -> list[Path]:
    """Reports for several patients (``"all"`` for every patient in the store).

    Many reports are drawn in ``workers`` processes (default: one per CPU), each with its own
    store connection; ``progress(i, n, path)`` is called after each report (the command line prints
    ``[i/n] path``).  Paths come back in the patients' order.

    Parameters
    ----------
    patients : sequence of str or str
        Patient ids, one id, or ``"all"``.
    out_dir : str or path-like
        Folder for the reports.
    store_location : str, optional
        A store's file path or server URL (each worker opens its own connection).
    progress : callable, optional
        Called as ``progress(i, n, path)`` after each report.
    workers : int, optional
        Processes drawing reports; default one per CPU.

    Returns
    -------
    list of pathlib.Path
        The reports written, in the patients' order.
    """
    from sciatica_kit.store import Store

    if patients == "all" or isinstance(patients, str):
        with Store(store_location) as store:
            patients = list(store.patients()["patient_id"]) if patients == "all" else [patients]
    patients = list(patients)
    with Store(store_location) as store:
        _check_patients(store, patients)
    workers = min(workers or os.cpu_count() or 1, len(patients))
    if workers <= 1:
        with Store(store_location) as store:
            return _collect((_write_report(store, p, out_dir) for p in patients), len(patients), progress)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no connection shared across processes
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start, initargs=(store_location,)) as pool:
        return _collect(pool.map(_worker_report, patients, itertools.repeat(str(out_dir)), chunksize=4), len(patients), progress)


def _collect(jobs, n: int, progress) -> list[Path]:
    paths = []
    for i, path in enumerate(jobs, 1):
        paths.append(path)
        if progress:
            progress(i, n, path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Per-patient progress reports (HTML).")
    parser.add_argument("--patient", required=True, help="patient id, or 'all'")
    parser.add_argument("--out", default="reports-out", help="output folder")
    parser.add_argument("--store", default=None,
                        help="store path or URL (default: the clinic store when configured, else the demo store)")
    args = parser.parse_args(argv)
    from sciatica_kit.demo import demo_store_path
    from sciatica_kit.settings import clinic_store_location

    location = args.store or clinic_store_location() or str(demo_store_path())
    try:
        run_reports(args.patient, args.out, store_location=location, progress=lambda i, n, p: print(f"[{i}/{n}] {p}", flush=True))
    except (ValueError, FileNotFoundError) as exc:
        print(f"No report written: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
