"""Measurements that need a process of their own (run by benchmarks/figures.py).

    python benchmarks/_child.py memory N_PATIENTS
    python benchmarks/_child.py store_memory ROWS STORE_PATH   (STORE_PATH '-': $SK_BENCH_STORE_URL)
    python benchmarks/_child.py notebooks KERNEL_NAME NOTEBOOK [NOTEBOOK ...]

Each prints one JSON object on its last line of stdout.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
import traceback
from pathlib import Path


def _rss_bytes() -> int:
    """Resident set size right now (Linux /proc; 0 where unavailable)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def _maxrss_bytes() -> int:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(kb) * (1 if sys.platform == "darwin" else 1024)


def store_memory(rows: int, path: str) -> dict:
    """Peak memory of Store.add of ``rows`` tidy rows into a fresh store, above the DataFrame itself.

    ``path`` is an SQLite file, or "-" for the PostgreSQL database named by ``$SK_BENCH_STORE_URL``
    (kept off the command line: it holds a password).  Two figures: what tracemalloc sees (Python
    objects and numpy buffers), and that plus the growth of pyarrow's memory pool, where pandas
    keeps text columns and which tracemalloc does not see (an upper bound: the two peaks are added).
    """
    import os
    import tracemalloc

    import pyarrow as pa

    from sciatica_kit.demo import demo_daily_log
    from sciatica_kit.store import Store

    location = os.environ["SK_BENCH_STORE_URL"] if path == "-" else path
    warm = Store(location if path == "-" else path + ".warm", user="bench")
    warm.add(demo_daily_log(1, days=10, measures=("pain", "leg_pain", "adherence")))
    warm.undo(warm.batches()["batch_id"].iloc[-1], user="bench")
    warm.close()
    log = demo_daily_log(max(1, round(rows / (365 * 3))), days=365, measures=("pain", "leg_pain", "adherence"))
    deep = int(log.memory_usage(deep=True).sum())
    store = Store(location, user="bench")
    gc.collect()
    pool = pa.default_memory_pool()
    arrow_base, arrow_max_before = pool.bytes_allocated(), pool.max_memory()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    result = store.add(log, source="benchmark")
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    arrow_max = pool.max_memory()
    # the pool's peak is kept since the process started: it tells only when it rose during the add
    arrow_peak = max(0, arrow_max - arrow_base) if arrow_max > arrow_max_before else None
    store.close()
    if result.added != len(log):
        raise RuntimeError(f"store.add added {result.added} of {len(log)} rows")
    return {"rows": len(log), "deep_bytes": deep, "peak_traced_bytes": peak, "arrow_peak_bytes": arrow_peak,
            "maxrss_bytes": _maxrss_bytes()}


def memory(n_patients: int) -> dict:
    """Peak memory of summarise over demo_daily_log(n_patients), traced with tracemalloc.

    Tracing starts after the imports, so the traced figures are the data plus
    whatever summarise allocates on top of it (numpy and pandas report their
    buffers and hash tables to tracemalloc).
    """
    import tracemalloc

    import sciatica_kit
    from sciatica_kit.demo import demo_daily_log
    from sciatica_kit.progress import summarise

    cat = sciatica_kit.load_catalog()
    summarise(demo_daily_log(2, days=10), catalog=cat)  # warm caches outside the trace
    gc.collect()
    tracemalloc.start()
    log = demo_daily_log(n_patients)
    gc.collect()
    deep = int(log.memory_usage(deep=True).sum())
    data_traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    rss_before = _rss_bytes()
    maxrss_before = _maxrss_bytes()
    t0 = time.perf_counter()
    summary = summarise(log, catalog=cat)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "rows": len(log),
        "groups": len(summary),
        "deep_bytes": deep,
        "data_traced_bytes": data_traced,
        "peak_traced_bytes": peak,
        "rss_before_bytes": rss_before,
        "maxrss_before_bytes": maxrss_before,
        "maxrss_after_bytes": _maxrss_bytes(),
        "seconds_traced": seconds,
    }


def notebooks(kernel_name: str, paths: list[str]) -> dict:
    """Execute notebooks one after another with nbclient; time each (kernel start included)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    out = []
    for p in paths:
        path = Path(p)
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        error = ""
        try:
            NotebookClient(nb, kernel_name=kernel_name, timeout=900, resources={"metadata": {"path": str(path.parent)}}).execute()
        except CellExecutionError as exc:
            lines = [ln for ln in str(exc).splitlines() if ln.strip()]
            error = lines[-1][:300] if lines else type(exc).__name__
        out.append({"notebook": str(path), "seconds": time.perf_counter() - t0, "error": error})
    return {"notebooks": out}


def main(argv: list[str]) -> int:
    task = argv[0]
    try:
        if task == "memory":
            result = memory(int(argv[1]))
        elif task == "store_memory":
            result = store_memory(int(argv[1]), argv[2])
        elif task == "notebooks":
            result = notebooks(argv[1], argv[2:])
        else:
            raise SystemExit(f"unknown task {task!r}")
    except Exception:
        traceback.print_exc()
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
