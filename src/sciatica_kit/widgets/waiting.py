"""Preheated Voila kernels: the slow start-up done ahead, at the lowest priority, then a wait for the visitor.

Light on purpose: importing this module (and :func:`wait_for_visitor` from
:mod:`sciatica_kit.widgets`) loads neither pandas, nor ipywidgets, nor matplotlib.  A spare
kernel that Voila starts while a clinician works in another app then does all that loading
in a thread of the lowest priority, and the clinician's clicks come first.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import threading
import time
from pathlib import Path

from sciatica_kit import machine

__all__ = ["READY_DIR_ENV", "WATCH_BUDGET_S", "WATCH_S", "WORKER_LIBRARIES", "wait_for_visitor", "warm_up_in_background"]


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Voila); False in a script or a test process."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def wait_for_visitor(warm: tuple[str, ...] = ("chart",), while_waiting=None, *, app: str | None = None) -> None:
    """In a Voila kernel started ahead of time, do the slow start-up now, then wait for the visitor.

    ``make app`` starts Voila with preheated kernels (``--preheat_kernel=True``): each app's
    notebook runs in a spare kernel before anyone asks for it.  Called at the top of a
    notebook, this loads what the app needs and warms what it will do first, in a thread of
    the lowest priority, then pauses until someone opens the page; the app itself is built
    after that, from the store as it is at that moment (never a stale patient list).
    Anywhere else (JupyterLab, Voila without preheating, scripts) it returns at once.

    Parameters
    ----------
    warm
        What to do once ahead: ``"chart"`` draws a throw-away progress chart (fonts and text
        layout), ``"pdf"`` writes a throw-away handout PDF to a temporary folder (WeasyPrint,
        fontconfig and the exercise pictures); empty for imports only (the home page).
    while_waiting : str or callable, optional
        Work done while the kernel waits, in a thread, called with ``store=`` (the app store,
        opened once for the whole wait; None when it could not be opened) and ``stop=`` (a
        signal set when the visitor comes, or when a later round's second is up: the work
        then starts nothing new).  Give it by its name in :mod:`sciatica_kit.widgets`
        (``"draw_first_charts"``, ``"draw_cohort_charts"``), so that its module loads at the
        lowest priority too.  It runs again every ``WATCH_S`` seconds until the visitor
        comes, so what it drew follows colleagues' saves; the apps show what it drew only
        while the store holds what it was drawn from.
    app : str, optional
        The app the page builds, by its name in :mod:`sciatica_kit.widgets`
        (``"ProgressLogger"``): its module is loaded ahead, at the lowest priority.
    """
    if os.environ.get("VOILA_PREHEAT", "False") != "True":
        return
    named: dict[str, object] = {}

    def start_up() -> None:
        import ipywidgets  # noqa: F401  (every page needs them)
        import pandas as pd  # noqa: F401
        import voila.utils  # noqa: F401  (its wait loads Voila's server package: about 2.5 s of CPU)

        import sciatica_kit.widgets as widgets

        for name in (app, while_waiting):
            if isinstance(name, str):
                named[name] = getattr(widgets, name)
        _warm_up(warm)
        # Everything loaded so far (modules, the catalogue, fonts) lives as long as the kernel: kept out of
        # the garbage collector's full passes, which then take a fraction of the time while charts and
        # handouts are drawn (about 15 % faster here).  Garbage is collected first, never frozen.
        gc.collect()
        gc.freeze()

    _load_libraries_that_start_workers()
    # the rest at the lowest priority: a spare kernel refilled while a clinician works never slows their
    # clicks (the page's own imports after this call find everything loaded)
    warming = threading.Thread(target=_quietly, args=(start_up,), name="sciatica-kit-warm-up")
    warming.start()
    warming.join()
    _WARMED.update(warm)
    from voila.utils import wait_for_request  # loaded by the start-up above

    work = named.get(while_waiting) if isinstance(while_waiting, str) else while_waiting
    stop = threading.Event()
    if work is None:
        _say_ready()
    else:  # never keeps a visitor waiting: told to stop when one comes; ready once it has drawn (a page
        # opened while the machine still draws ahead for the other apps loads a second slower)
        threading.Thread(target=_then_say_ready, args=(work, stop), name="sciatica-kit-while-waiting",
                         daemon=True).start()
    try:
        wait_for_request()
    finally:
        stop.set()


# Libraries that start worker threads when first imported: numpy (its BLAS's threads), pyarrow (its
# memory allocator's).  A thread inherits the priority of the thread that starts it, so these load in
# the kernel's own thread, at its priority (about 0.15 s); the app's calls never wait on a worker that
# runs at the lowest priority.
WORKER_LIBRARIES = ("numpy", "pyarrow")


def _load_libraries_that_start_workers() -> None:
    for name in WORKER_LIBRARIES:
        with contextlib.suppress(ImportError):  # pyarrow is optional
            importlib.import_module(name)


READY_DIR_ENV = "SCIATICA_KIT_READY_DIR"  # where preheated kernels say they are ready (`make app` waits for them)


def _say_ready() -> None:
    """Tell `make app` that this preheated kernel is ready for its visitor: a file named after it in ``$SCIATICA_KIT_READY_DIR``."""
    folder = os.environ.get(READY_DIR_ENV)
    if folder:
        with contextlib.suppress(OSError):  # nobody is waiting for it after all: the app works the same
            (Path(folder) / f"kernel-{os.environ.get('VOILA_KERNEL_ID') or os.getpid()}").touch()


WATCH_S = 5.0  # while a preheated kernel waits: seconds between two looks at the store
WATCH_BUDGET_S = 1.0  # ... and at most this long drawing each time, only when the machine was idle


def _then_say_ready(work, stop: threading.Event) -> None:
    """Draw ahead, say the kernel is ready, then keep what was drawn current until the visitor comes.

    A colleague's save while the kernel waits changes what its app will show: every
    ``WATCH_S`` seconds ``work`` runs again, which draws only what the store changed (one
    small query when nothing did).  Those later rounds run only when the machine was mostly
    idle meanwhile (:func:`sciatica_kit.machine.machine_was_idle`) and stop after ``WATCH_BUDGET_S``: the next
    round goes on where one stopped.  A clinician working in another app on this machine
    (five waiting kernels may all have something to redraw after each save) is not slowed.
    The store stays open for the whole wait (on a clinic server, one connection, not one a round).
    """
    _lowest_priority()
    with contextlib.ExitStack() as held:
        store = None
        with contextlib.suppress(Exception):  # unreachable now: each round opens it (and says nothing)
            from sciatica_kit.widgets.app_store import open_app_store

            store = held.enter_context(open_app_store())
        try:
            _quietly(work, store=store, stop=stop)
        finally:
            _say_ready()
        reading = machine.cpu_times()
        while not stop.wait(WATCH_S):
            idle, reading = machine.machine_was_idle(reading)
            if idle:
                _quietly(work, store=store, stop=_Until(stop, WATCH_BUDGET_S))


class _Until:
    """A stop signal for one round of drawing: set when ``event`` is, or once ``seconds`` have passed."""

    def __init__(self, event: threading.Event, seconds: float):
        self.event, self.deadline = event, time.monotonic() + seconds

    def is_set(self) -> bool:
        return self.event.is_set() or time.monotonic() > self.deadline


def _quietly(work, *args, **kwargs) -> None:
    """``work(*args, **kwargs)`` in this thread at the lowest CPU priority, its problems kept quiet.

    On Linux a thread has a priority of its own: the machine's other work (a page opening in
    another kernel, the browser, the server) always comes first.  A warm-up or a chart drawn
    ahead that fails costs nothing: the app does the real work when it is asked, and reports
    real problems then.
    """
    _lowest_priority()
    with contextlib.suppress(Exception):
        work(*args, **kwargs)


def _lowest_priority() -> None:
    """Give this thread the lowest CPU priority (Linux: each thread has its own)."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: the thread keeps the kernel's priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


_WARMED: set[str] = set()


def warm_up_in_background(warm: tuple[str, ...] = ("pdf",)) -> threading.Thread | None:
    """Start the first handout's slow start-up in a background thread, inside a Jupyter kernel only.

    The first PDF of a session pays for importing WeasyPrint, loading fonts and reading the
    pictures (about twice a warm handout's time); a builder just opened does that while the
    clinician screens and ticks conditions.  WeasyPrint lays out one document at a time (a
    lock in :mod:`sciatica_kit.handout`), so a handout asked for meanwhile simply waits for it.

    Parameters
    ----------
    warm
        What to warm (see :func:`wait_for_visitor`); each once per process.

    Returns
    -------
    threading.Thread or None
        The thread started; None outside a kernel, or when all of ``warm`` is warm already.
    """
    todo = tuple(x for x in warm if x not in _WARMED)
    if not todo or not _in_kernel():
        return None
    _WARMED.update(todo)

    def work() -> None:
        with contextlib.suppress(Exception):  # a real handout reports any problem in words
            _warm_up(todo)

    thread = threading.Thread(target=work, name="sciatica-kit-warm-up", daemon=True)
    thread.start()
    return thread


def _warm_up(warm: tuple[str, ...]) -> None:
    import datetime as dt
    import tempfile

    import pandas as pd

    import sciatica_kit.progress  # noqa: F401  (imported for its start-up cost)
    import sciatica_kit.store  # noqa: F401
    from sciatica_kit.catalog import load_catalog

    if "chart" in warm:
        from sciatica_kit.charts import figure_svg, fixed_layout, plot_progress

        log = pd.DataFrame({"patient_id": ["WARM-UP"] * 2, "date": pd.to_datetime([dt.date(2026, 1, 5), dt.date(2026, 2, 2)]),
                            "measure": ["slr"] * 2, "side": ["left"] * 2, "value": [40.0, 60.0], "note": [""] * 2})
        figure_svg(fixed_layout(plot_progress(log, "WARM-UP", catalog=load_catalog())))
    if "pdf" in warm:
        from sciatica_kit.programme import build_programme

        with tempfile.TemporaryDirectory() as tmp:
            build_programme(["sciatica"], patient="WARM-UP").to_pdf(Path(tmp) / "warm-up.pdf")
