"""Sciatica Kit performance benchmark: one table of figures, references, ratios and targets.

    python benchmarks/run.py --size quick     # under 2 minutes on 2 cores
    python benchmarks/run.py --size full      # under 15 minutes on 2 cores (1M-row files, 10M-row summaries)
    python benchmarks/run.py --smoke          # tiny sizes, a few seconds (used by tests/test_bench_smoke.py)

The table is printed and written as CSV and JSON to ``bench-results/`` (git-ignored;
``--out`` picks another folder).  A missed target is reported, not an error: the
exit code is 0 unless a figure could not be measured.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
if str(REPO / "src") not in sys.path:
    sys.path.append(str(REPO / "src"))  # only used when the kit is not installed

from figures import FIGURES, SIZES, Row, fmt_value, run_figure  # noqa: E402

COLUMNS = ("figure", "size", "value", "reference", "ratio", "target", "result", "growth (1x -> 10x)")


def cells(row: Row) -> list[str]:
    if row.reference_value is None:
        ref = row.reference
    else:
        ref = f"{row.reference}: {fmt_value(row.reference_value, row.unit)}"
    ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
    return [row.figure, row.size, fmt_value(row.value, row.unit), ref, ratio, row.target, row.result, row.growth]


def table(rows: list[Row]) -> str:
    body = [list(COLUMNS)] + [cells(r) for r in rows]
    widths = [max(len(line[i]) for line in body) for i in range(len(COLUMNS))]
    sep = "-+-".join("-" * w for w in widths)
    lines = [" | ".join(c.ljust(w) for c, w in zip(body[0], widths, strict=True)), sep]
    lines += [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in body[1:]]
    notes = [f"  {r.figure}: {r.note}" for r in rows if r.note]
    errors = [f"  {r.figure}: {r.error}" for r in rows if r.error]
    if notes:
        lines += ["", "notes:", *notes]
    if errors:
        lines += ["", "errors:", *errors]
    return "\n".join(lines)


def _load() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return 0.0


def _git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True, check=True)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_results(rows: list[Row], size: str, out: Path, meta: dict) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / f"bench-{size}.csv", out / f"bench-{size}.json"
    fields = ["key", *COLUMNS, "value_raw", "unit", "reference_value", "ratio_raw", "passed", "growth_exponent", "note", "error"]
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(fields)
        for r in rows:
            writer.writerow([r.key, *cells(r), r.value, r.unit, r.reference_value, r.ratio, r.passed, r.growth_exponent, r.note, r.error])
    records = []
    for r in rows:
        rec = dict(zip(COLUMNS, cells(r), strict=True))
        rec.update(key=r.key, value_raw=r.value, unit=r.unit, reference_value=r.reference_value, ratio_raw=r.ratio, passed=r.passed,
                   growth_exponent=r.growth_exponent, note=r.note, error=r.error, details=r.details)
        records.append(rec)
    json_path.write_text(json.dumps({"meta": meta, "rows": records}, indent=2, default=str), encoding="utf-8")
    return csv_path, json_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=["quick", "full"], default="quick")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (checks the benchmark itself)")
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), help="measure only these figures")
    parser.add_argument("--out", type=Path, default=REPO / "bench-results", help="folder for the CSV and JSON (default bench-results/)")
    args = parser.parse_args(argv)
    size = SIZES["smoke" if args.smoke else args.size]
    warnings.simplefilter("ignore")  # library chatter would break up the table
    os.environ.setdefault("MPLBACKEND", "Agg")

    started = time.perf_counter()
    rows, loads = [], [_load()]
    for key in args.only or FIGURES:
        t0 = time.perf_counter()
        print(f"[bench] {key} ...", file=sys.stderr, flush=True)
        rows.append(run_figure(key, size))
        loads.append(_load())
        print(f"[bench] {key} done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    meta = {
        "size": size.name, "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "seconds": round(elapsed, 1),
        "git": _git_revision(), "python": platform.python_version(), "pandas": pd.__version__, "numpy": np.__version__,
        "pyarrow": pa.__version__, "text_dtype": str(pd.Series(["x"]).dtype),
        "cpus": os.cpu_count(), "machine": platform.machine(), "load_average_1min": loads,
    }
    print(f"Sciatica Kit benchmark ({size.name}, {meta['git']}, {meta['cpus']} cpus, {elapsed:.0f} s, "
          f"pandas {meta['pandas']} with pyarrow {meta['pyarrow']}, text as {meta['text_dtype']}, "
          f"load average {min(loads):.1f}-{max(loads):.1f})")
    if max(loads) > (os.cpu_count() or 1):
        print("note: other processes were busy during the run (load above the number of cpus); timings are inflated")
    print(table(rows))
    csv_path, json_path = write_results(rows, size.name, args.out, meta)
    print(f"\nwritten: {csv_path} and {json_path}")
    missed = [r.figure for r in rows if r.result == "MISS"]
    if missed:
        print(f"targets missed: {len(missed)} ({'; '.join(missed)})")
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
