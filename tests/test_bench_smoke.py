"""`make bench` itself works: a --smoke run prints and writes one row per figure.

Timings are never asserted here (they depend on the machine); only that the
benchmark runs to the end, exits 0 and reports every figure.
"""

from __future__ import annotations

import csv
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIGURES = ("programme", "import", "read_log", "store_add", "one_entry", "store_add_pg", "store_read", "store_read_pg",
           "store_undo", "store_undo_pg", "store_memory", "store_memory_pg", "summarise", "plot", "notebooks", "memory", "handout",
           "report")
TITLES = (
    "build_programme p95 latency",
    "import sciatica_kit",
    "read_log",
    "store.add",
    "one visit saved from the logger",
    "store.add into a fresh PostgreSQL store",
    "Store.read() of a SQLite store",
    "Store.read() of a PostgreSQL store",
    "undo of one batch, SQLite",
    "undo of one batch, PostgreSQL",
    "peak memory of store.add, SQLite",
    "peak memory of store.add, PostgreSQL",
    "summarise",
    "plot_progress",
    "all notebooks executed",
    "peak memory of summarise",
    "PDF handout",
    "progress reports for a whole clinic",
)


def test_a_plain_run_measures_every_figure():
    """`make bench` runs with no --only: every figure, in this order (the halves below check each one)."""
    bench = runpy.run_path(str(REPO / "benchmarks" / "run.py"))  # its module namespace (main() is not run)
    assert tuple(bench["FIGURES"]) == FIGURES


@pytest.mark.parametrize("part", [slice(0, 14), slice(14, None)], ids=["store-and-charts", "notebooks-and-handouts"])
def test_smoke_run_reports_every_figure(tmp_path, part):
    """In two halves, so that make test's workers share the run (the second half is the slower)."""
    figures, titles = FIGURES[part], TITLES[part]
    out = tmp_path / "bench-results"
    env = {**os.environ, "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--smoke", "--out", str(out), "--only", *figures],
        capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]

    # the printed table: a header and one line per figure, each with a result
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("figure "))
    table = lines[header + 2 : header + 2 + len(figures)]
    for title, line in zip(titles, table, strict=True):
        assert line.startswith(title), (title, line)
        assert line.split(" | ")[6].strip() in {"pass", "MISS", "n/a"}, line

    # the same rows as CSV and JSON
    with (out / "bench-smoke.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["key"] for r in rows] == list(figures)
    assert all(r["error"] == "" and r["value_raw"] != "" for r in rows)
    report = json.loads((out / "bench-smoke.json").read_text(encoding="utf-8"))
    assert report["meta"]["size"] == "smoke"
    assert [r["key"] for r in report["rows"]] == list(figures)
    for r in report["rows"]:
        assert {"figure", "value", "reference", "ratio", "target", "result", "growth (1x -> 10x)"} <= set(r)
        assert r["result"] in {"pass", "MISS", "n/a"}


def test_results_folder_is_ignored_by_git():
    assert "bench-results/" in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
