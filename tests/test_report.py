"""Per-patient HTML reports, built by a function from the kit's renderers (no notebook kernel)."""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import pytest

import sciatica_kit as sk
from sciatica_kit.report import run_report, run_reports


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "kit.sqlite"
    sk.seed_demo_store(sk.Store(path), n_patients=3)
    return path


@pytest.mark.slow
def test_report_has_summary_chart_and_programme(store_path, tmp_path):
    out = run_report("DEMO-002", tmp_path / "reports", store_location=str(store_path))
    text = out.read_text(encoding="utf-8")
    assert out.name == "report-DEMO-002.html"
    assert "Progress report: DEMO-002" in text
    assert "Summary" in text and "Oswestry Disability Index" in text and "Responder" in text and "Threshold" in text
    charts = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(charts) == 1  # the progress chart, as SVG with real text
    svg = base64.b64decode(charts[0]).decode("utf-8")
    assert "Progress: DEMO-002" in svg and "Oswestry" in svg and "<script" not in svg
    assert "Current programme" in text
    assert "Knee to chest stretch" in text  # DEMO-002 has stenosis: flexion-bias programme
    assert "Extension narrows the spinal canal" in text  # and the remarks on what was kept out
    assert text.count("does not replace") == 1  # the disclaimer, once
    assert "import sciatica_kit" not in text  # code hidden
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_unknown_patient_is_a_clear_error(store_path, tmp_path):
    with pytest.raises(ValueError, match="Unknown patient 'DEMO-999'.*Did you mean"):
        run_report("DEMO-999", tmp_path, store_location=str(store_path))


@pytest.mark.slow
def test_reports_for_every_patient_from_the_command_line(store_path, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sciatica_kit.report", "--patient", "all", "--out", str(tmp_path / "all"), "--store", str(store_path)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["report-DEMO-001.html", "report-DEMO-002.html", "report-DEMO-003.html"]
    assert "[3/3]" in result.stdout


def test_run_reports_accepts_a_single_id(store_path, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr("sciatica_kit.report._write_report", lambda store, p, out: calls.append(p) or out)
    run_reports("DEMO-001", tmp_path, store_location=str(store_path))
    run_reports("all", tmp_path, store_location=str(store_path), workers=1)
    assert calls == ["DEMO-001", "DEMO-001", "DEMO-002", "DEMO-003"]


def test_run_reports_refuses_an_unknown_patient_before_drawing_any(store_path, tmp_path):
    with pytest.raises(ValueError, match="Unknown patient 'DEMO-999'"):
        run_reports(["DEMO-001", "DEMO-999"], tmp_path / "out", store_location=str(store_path), workers=1)
    assert not (tmp_path / "out").exists()


def test_typed_text_is_escaped_and_the_template_ships_in_the_package(tmp_path):
    from importlib import resources

    from sciatica_kit.report import patient_report_html

    store = sk.Store(tmp_path / "kit.sqlite")
    pid = "<b>P1</b>"
    store.add(sk.read_log(__import__("pandas").DataFrame({"patient_id": [pid, pid], "date": ["2026-01-05", "2026-02-02"],
                                                           "pain": ["7", "3"], "note": ["<script>x</script>", ""]})))
    page = patient_report_html(store, pid)
    assert "<b>P1</b>" not in page and "&lt;b&gt;P1&lt;/b&gt;" in page
    assert "<script>" not in page
    assert "MCID 2 points or 30% and smallest detectable change" in page and ">yes<" in page
    assert resources.files("sciatica_kit").joinpath("templates", "patient_report.html").is_file()
