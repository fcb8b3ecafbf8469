"""Per-patient progress reports: run the parameterised report notebook with papermill, save HTML.

    python -m sciatica_kit.report --patient DEMO-001 --out reports-out
    python -m sciatica_kit.report --patient all --out reports-out

Each report holds the summary table, the progress chart and the current
programme; code cells are hidden. Files are written owner-readable only.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["REPORT_NOTEBOOK", "run_report", "run_reports"]

REPORT_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "reports" / "patient_report.ipynb"


def _stem(patient_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", patient_id).strip("-")[:60] or "patient"


def run_report(patient_id: str, out_dir: str | Path, *, store_location: str | None = None, notebook: Path = REPORT_NOTEBOOK,
               timeout: int = 300) -> Path:
    """Execute the report notebook for one patient and write ``<out_dir>/report-<patient>.html``.

    Raises
    ------
    ValueError
        When the patient is not in the store.
    """
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    from sciatica_kit.files import private_path
    from sciatica_kit.store import Store

    store = Store(store_location)
    known = set(store.patients()["patient_id"])
    store.close()
    if patient_id not in known:
        from sciatica_kit.catalog import unknown_id_error

        raise unknown_id_error("patient", patient_id, known)
    if not notebook.exists():
        raise FileNotFoundError(f"The report notebook {notebook} is missing; run the kit from its repository folder.")
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        executed = Path(tmp) / "report.ipynb"
        pm.execute_notebook(
            str(notebook), str(executed), parameters={"patient_id": patient_id, "store_location": store_location},
            kernel_name="python3", progress_bar=False, request_save_on_cell_execute=False, execution_timeout=timeout,
            cwd=tmp,
        )
        nb = nbformat.read(executed, as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": f"Progress report {patient_id}"}})
    target = out_dir / f"report-{_stem(patient_id)}.html"
    with private_path(target) as tmp_file:
        tmp_file.write_text(body, encoding="utf-8")
    return target


def run_reports(patients: Sequence[str] | str, out_dir: str | Path, *, store_location: str | None = None) -> list[Path]:
    """Reports for several patients (``"all"`` for every patient in the store)."""
    if patients == "all":
        from sciatica_kit.store import Store

        patients = list(Store(store_location).patients()["patient_id"])
    elif isinstance(patients, str):
        patients = [patients]
    return [run_report(p, out_dir, store_location=store_location) for p in patients]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Per-patient progress reports (HTML).")
    parser.add_argument("--patient", required=True, help="patient id, or 'all'")
    parser.add_argument("--out", default="reports-out", help="output folder")
    parser.add_argument("--store", default=None, help="store path or URL (default: $SCIATICA_KIT_STORE or the user store)")
    args = parser.parse_args(argv)
    try:
        paths = run_reports(args.patient, args.out, store_location=args.store)
    except (ValueError, FileNotFoundError) as exc:
        print(f"No report written: {exc}")
        return 1
    for i, p in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
