"""Shared pieces for the reliability tests (issue 7): hypothesis profiles, soak sizes, figures.

Two hypothesis profiles are registered here and applied per test (never loaded
globally, so other test modules keep their own settings):

* ``sciatica-ci``   - few examples, no example database: the default run stays quick;
* ``sciatica-soak`` - many examples; chosen when the environment has ``SOAK=1``
  (``make soak`` sets it and runs ``-m soak``).

``fuzz(fast, soak)`` gives a test ``fast`` examples normally and ``soak`` under SOAK.
The figures the tests print (inputs tried, kills survived, concurrent entries
written) are collected in :data:`FIGURES` and printed as one line each.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, settings

SOAK = os.environ.get("SOAK", "") not in ("", "0")
REPO = Path(__file__).resolve().parents[1]

settings.register_profile(
    "sciatica-ci",
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture,
                           HealthCheck.filter_too_much],
)
settings.register_profile(
    "sciatica-soak",
    parent=settings.get_profile("sciatica-ci"),
    max_examples=1000,
)
PROFILE = settings.get_profile("sciatica-soak" if SOAK else "sciatica-ci")

FIGURES: Counter = Counter()


def fuzz(fast: int, soak: int):
    """Hypothesis settings for one test: ``fast`` examples normally, ``soak`` under SOAK=1."""
    return settings(PROFILE, max_examples=soak if SOAK else fast)


def count(name: str, n: int = 1) -> None:
    """Add to a reliability figure (reported by :func:`report`)."""
    FIGURES[name] += n


def report(name: str, **figures) -> None:
    """Print one summary line (visible with ``pytest -s``)."""
    parts = ", ".join(f"{k.replace('_', ' ')}={v}" for k, v in figures.items())
    print(f"\n[reliability] {name}: {parts}")


def kit_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m sciatica_kit ...`` in a fresh interpreter and capture its output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("PYTHONWARNINGS", "error::DeprecationWarning:sciatica_kit")
    return subprocess.run(
        [sys.executable, "-m", "sciatica_kit", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=REPO,
    )


def kill_hard(pid: int) -> None:
    """SIGKILL one process we started (never by name); ignore it being gone already."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def store_files(path: Path) -> list[Path]:
    """The store file and its SQLite side files (-wal, -shm) that exist."""
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")) if p.exists()]


# ----------------------------------------------------------------------------- worker processes
#
# Run in separate processes (multiprocessing "forkserver": a clean interpreter that has
# already imported the kit, so each worker starts in milliseconds and shares nothing with
# the pytest process).  They only use the public Store API.


def worker_context():
    """A multiprocessing context whose workers start from a preloaded, clean interpreter."""
    import multiprocessing as mp

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["pandas", "sqlalchemy", "sciatica_kit.store", "sciatica_kit.demo", "helpers_reliability"])
    return ctx


def big_log(n_patients: int, tag: str):
    """demo_daily_log (365 days x 3 measures per patient) with patient ids marked by ``tag``."""
    from sciatica_kit.demo import demo_daily_log

    log = demo_daily_log(n_patients, days=365)
    log["patient_id"] = tag + log["patient_id"]
    return log


def import_worker(path: str, n_patients: int, tag: str, ready, fresh: bool = False) -> None:
    """Import one big log into the store at ``path``; set ``ready`` just before the import starts."""
    from sciatica_kit.store import Store

    log = big_log(1 if fresh else n_patients, tag)
    if fresh:  # the store file is created inside the window where we may be killed
        ready.set()
        Store(path).add(log.head(50), source=f"crash test {tag}")
        return
    store = Store(path)
    ready.set()
    store.add(log, source=f"crash test {tag}")
    store.close()


def entry_worker(path: str, writer: int, n_entries: int, start, errors) -> None:
    """Add ``n_entries`` single-entry logs (one transaction each) for patient W<writer>-<k>."""
    import pandas as pd

    from sciatica_kit.store import Store

    store = Store(path)
    start.wait(30)
    for k in range(n_entries):
        log = pd.DataFrame({
            "patient_id": [f"W{writer}-{k:04d}"], "date": [pd.Timestamp("2026-03-01") + pd.Timedelta(days=k % 200)],
            "measure": ["pain"], "side": [""], "value": [float(k % 11)], "note": [f"writer {writer} entry {k}"],
        })
        try:
            store.add(log, source=f"writer {writer}")
        except Exception as exc:  # reported to the parent, which fails the test with it
            errors.put(f"writer {writer} entry {k}: {type(exc).__name__}: {exc}"[:500])
    store.close()


def bulk_worker(path: str, n_patients: int, tag: str, start, errors) -> None:
    """One big import running alongside the single-entry writers."""
    from sciatica_kit.store import Store

    log = big_log(n_patients, tag)
    store = Store(path)
    start.wait(30)
    try:
        store.add(log, source=f"bulk {tag}")
    except Exception as exc:
        errors.put(f"bulk import: {type(exc).__name__}: {exc}"[:500])
    store.close()


def open_worker(path: str, start, errors) -> None:
    """Open (and so maybe create) the store at the same moment as other processes, then add one entry."""
    import os

    import pandas as pd

    from sciatica_kit.store import Store

    start.wait(30)
    try:
        store = Store(path)
        store.add(pd.DataFrame({"patient_id": [f"O{os.getpid()}"], "date": ["2026-03-01"], "measure": ["pain"],
                                "side": [""], "value": [3.0], "note": [""]}))
        store.close()
    except Exception as exc:
        errors.put(f"opening a new store together: {type(exc).__name__}: {exc}"[:500])


def same_key_worker(location: str, writer: int, rounds: int, start, results, errors) -> None:
    """Write the SAME patient/date/measure/side as every other writer, ``rounds`` times, each a distinct value.

    Puts (writer, round, value, added, corrected, unchanged) on ``results`` for every save.
    """
    import pandas as pd

    from sciatica_kit.store import Store

    store = Store(location, user=f"writer{writer}")
    start.wait(30)
    for r in range(rounds):
        value = float((writer * rounds + r) % 1000) / 10  # distinct per (writer, round): 0.0 .. 99.9
        log = pd.DataFrame({"patient_id": ["SAME"], "date": [pd.Timestamp("2026-03-01")], "measure": ["odi"],
                            "side": [""], "value": [value], "note": [f"w{writer} r{r}"]})
        try:
            res = store.add(log, source=f"writer {writer}")
            results.put((writer, r, value, res.added, res.corrected, res.unchanged))
        except Exception as exc:
            errors.put(f"writer {writer} round {r}: {type(exc).__name__}: {exc}"[:500])
    store.close()


def register_worker(location: str, patient_id: str, start, errors) -> None:
    """Register the same new patient as other processes at the same moment."""
    from sciatica_kit.store import Store

    store = Store(location)
    start.wait(30)
    try:
        store.add_patient(patient_id)
    except Exception as exc:
        errors.put(f"registering {patient_id}: {type(exc).__name__}: {exc}"[:500])
    store.close()
