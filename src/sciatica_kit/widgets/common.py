"""Small pieces shared by the widget apps: messages, downloads, figures as images."""

from __future__ import annotations

import base64
import contextlib
import gc
import html
import io
import os
import threading
import time
from pathlib import Path

import ipywidgets as w
import pandas as pd

from sciatica_kit import machine

__all__ = [
    "APP_STYLE", "DEMO_BANNER", "Confirm", "DrawAhead", "Look", "Message", "StoreBacked", "clinic_error", "clinic_store_location", "download_link",
    "exports_dir", "figure_png", "is_demo_store", "open_app_store", "problems_html", "run_later", "section_title", "set_picture",
    "unique_path", "wait_for_visitor", "warm_up_in_background",
]

_APPS = (".sk-programme-builder", ".sk-progress-logger", ".sk-clinic-overview", ".sk-patient-report")


def _each(selector: str) -> str:
    return ", ".join(f"{app} {selector}" for app in _APPS)


# Prepended to each app's heading.  ipywidgets gives HTML widgets its 28px row height as
# line-height (tables and wrapped hints become double-spaced) and buttons a fixed width
# that cuts labels ("Build program..."); these rules, scoped to the apps, fix both.
APP_STYLE = (
    "<style>"
    f"{_each('.widget-html-content')} {{line-height: 1.45}}"
    f"{_each('.widget-button')} {{width: fit-content; min-width: 110px; flex-shrink: 0}}"
    f"{_each('.widget-hbox')} {{flex-wrap: wrap}}"
    ".sk-problems th, .sk-problems td {padding: 2px 8px; text-align: left; vertical-align: top}"
    ".sk-clinic-overview table {font-size: 92%}"
    ".sk-clinic-overview td, .sk-clinic-overview th {padding: 2px 4px}"
    ".sk-clinic-overview td:nth-child(1), .sk-clinic-overview td:nth-child(3) {white-space: nowrap}"
    ".sk-programme-builder .widget-hbox > .widget-checkbox {margin-right: 18px}"
    # A status line sits right after its section's buttons and stays in the window: when its place
    # scrolls out of view it sticks to the window's edge (boxes must not clip, or sticky is lost).
    f"{', '.join(_APPS)}, {_each('.widget-box')} {{overflow: visible}}"
    ".jp-OutputArea:has(.sk-status), .jp-OutputArea-child:has(.sk-status), .jp-OutputArea-output:has(.sk-status) {overflow: visible}"
    ".sk-status {position: sticky; bottom: 4px; top: 4px; z-index: 20}"
    ".sk-status .sk-message {box-shadow: 0 1px 4px rgba(0,0,0,.25)}"
    ".sk-confirm {position: sticky; bottom: 4px; top: 4px; z-index: 21; background: #fff}"
    "</style>"
)

_COLOURS = {
    "info": ("#0b3d91", "#e8f0fe"),
    "success": ("#1b5e20", "#e8f5e9"),
    "warning": ("#7a4f01", "#fff4e5"),
    "error": ("#8b0015", "#fdecea"),
}


class StoreBacked:
    """The store an app works on: given, or the app store (clinic store if configured, else demo store)."""

    _store = None

    @property
    def store(self):
        if self._store is None:
            self._store = open_app_store()
        return self._store

    def _demo_banner(self) -> w.HTML:
        """A banner shown while the app works on the demo store."""
        try:
            demo = is_demo_store(self.store)
        except Exception:  # the store cannot be opened: the app's status line says so
            demo = False
        return w.HTML(DEMO_BANNER if demo else "")

    def _patient_ids(self) -> list[str]:
        """Patients in the store; an unreadable store is reported in the app and gives no patients."""
        try:
            return list(self.store.patients()["patient_id"])
        except Exception as exc:  # no store yet, or it is damaged: the app still opens
            message = getattr(self, "message", None)
            if message is not None:
                message.show(clinic_error(exc, "The patient store could not be opened"), "error")
            return []

    def _clear_messages(self) -> None:
        """A new action clears every stale message in the app."""
        for m in getattr(self, "_status_lines", ()):
            m.clear()


def clinic_error(exc: BaseException, what: str) -> str:
    """An error in clinic words: what failed and what to do, never a traceback or a Python type.

    Parameters
    ----------
    exc : BaseException
        What went wrong.
    what : str
        What failed, in clinic words ("The visit was not saved").

    Returns
    -------
    str
        The message.
    """
    from sciatica_kit.store import StoreError

    if isinstance(exc, StoreError):
        return f"{what}: {exc}"
    if isinstance(exc, PermissionError):
        return f"{what}: the folder or file is read-only here ({getattr(exc, 'filename', '') or 'permission denied'})."
    if isinstance(exc, OSError):
        return f"{what}: the file or folder could not be used ({getattr(exc, 'strerror', None) or 'disk problem'}). Check the folder exists and has space."
    text = str(exc)
    if "locked" in text.lower():
        return f"{what}: the store is busy (someone else is saving). Nothing was lost; try again in a moment."
    return f"{what}. Nothing was changed; try again, and if it keeps happening ask whoever looks after the kit."


def exports_dir() -> Path:
    """Where exports are written, outside the code.

    ``$SCIATICA_KIT_EXPORTS``, else the settings file's ``[exports] folder``, else
    ``sciatica-kit/exports`` in the user's data folder (``$XDG_DATA_HOME`` respected).

    Returns
    -------
    pathlib.Path
        The folder (created, owner-only).
    """
    env = os.environ.get("SCIATICA_KIT_EXPORTS")
    if env:
        return Path(env).expanduser()
    folder = _setting("exports", "folder")
    if folder:
        return Path(str(folder)).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "sciatica-kit" / "exports"


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem+suffix``, or ``stem-2``, ``stem-3`` ... when that name is taken (never overwrite).

    Parameters
    ----------
    folder : path-like
        The exports folder.
    stem : str
        The file name without suffix.
    suffix : str
        ``.csv``, ``.pdf`` ...

    Returns
    -------
    pathlib.Path
        A path that does not exist yet.
    """
    folder = Path(folder)
    path = folder / f"{stem}{suffix}"
    n = 2
    while path.exists():
        path = folder / f"{stem}-{n}{suffix}"
        n += 1
    return path


def _setting(section: str, key: str):
    """One value from the clinic's settings file (None when absent or unreadable)."""
    try:
        from sciatica_kit.settings import load_settings

        return (load_settings().get(section) or {}).get(key)
    except Exception:  # an unreadable settings file is reported where the store is opened
        return None


from sciatica_kit.settings import clinic_store_location  # noqa: E402  (re-exported for the apps)


def open_app_store():
    """The store the apps open: the clinic store when configured, else the demo store (seeded)."""
    location = clinic_store_location()
    if location:
        from sciatica_kit.store import Store

        user = _setting("store", "user")
        return Store(location, user=str(user) if user else None)
    from sciatica_kit.demo import open_demo_store

    return open_demo_store()


def store_identity(store) -> str:
    """A key naming ``store``'s location (its URL, password hidden), for what a kernel keeps per store."""
    url = getattr(store, "url", None)
    return url.render_as_string(hide_password=True) if url is not None else f"store-{id(store)}"


@contextlib.contextmanager
def given_or_app_store(store=None):
    """``store`` itself, or the app store (:func:`open_app_store`) opened for the block and closed after it.

    Parameters
    ----------
    store : Store, optional
        A store the caller has open (left open).

    Yields
    ------
    Store
    """
    if store is not None:
        yield store
        return
    with open_app_store() as opened:
        yield opened


class Look:
    """One Layout and one style shared by many widgets of a kind (the rows of a form, a list of ticks).

    Every ipywidgets widget brings a Layout model and most a style model of their own, each
    created in the kernel and sent to the browser before the page shows; an app of a few dozen
    repeated rows then sends hundreds of identical models.  ipywidgets lets widgets share
    them, so each kind of repeated widget carries one of each.  Never change a shared
    layout for one widget (hide it, resize it): that changes them all.

    Parameters
    ----------
    kind : type
        The widget class that uses this look (``ipywidgets.Checkbox`` ...); its style class
        comes from it (boxes have none).
    style : dict, optional
        The style's settings (``{"description_width": "170px"}``).
    **layout
        The layout's settings (``width="300px"``).
    """

    def __init__(self, kind: type, style: dict | None = None, **layout):
        self.layout = w.Layout(**layout)
        trait = kind.class_traits().get("style")
        self.style = trait.klass(**(style or {})) if trait is not None else None

    def __call__(self) -> dict:
        """Keyword arguments for a widget: ``w.Checkbox(description=..., **look())``.

        Returns
        -------
        dict
            ``layout`` (and ``style`` when the look has one).
        """
        return {"layout": self.layout} if self.style is None else {"layout": self.layout, "style": self.style}


def set_picture(image: w.Image, data: bytes) -> None:
    """Show ``data`` in an Image widget, or hide the widget while there is nothing to show.

    An empty Image shows the browser's broken-picture sign; a chart being drawn is said in the
    app's status line instead.

    Parameters
    ----------
    image : ipywidgets.Image
        The picture's widget.
    data : bytes
        The picture (PNG or SVG bytes); empty to hide it.
    """
    image.value = data
    image.layout.display = None if data else "none"


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Voila); False in a script or a test process."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def run_later(callback, delay: float = 0.0):
    """Run ``callback`` on the Jupyter kernel's loop once the running cell or click has finished.

    Only a Jupyter kernel's own loop is used: another running loop in the process (a script's,
    or a browser driver's in a test session) may never come back to the callback, so there
    the caller does the work at once.

    Parameters
    ----------
    callback : callable
        Called with no arguments.
    delay : float, optional
        Seconds to wait first (a later click may cancel the call meanwhile).

    Returns
    -------
    asyncio.Handle or None
        A handle whose ``cancel()`` drops the call; None outside a kernel's loop (nothing scheduled).
    """
    import asyncio

    if not _in_kernel():  # a script or a test
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return loop.call_later(delay, callback) if delay > 0 else loop.call_soon(callback)


class WhileIdle:
    """Work an app does one small step at a time while the clinician is idle; any action puts it off.

    The apps draw ahead this way (the next patients' charts, the other conditions' cohort
    charts), so a click waits for one step at most.  Inside a Jupyter kernel only: elsewhere
    :func:`run_later` schedules nothing and no step is done.

    Parameters
    ----------
    step : callable
        Does one step (a few tenths of a second at most) and returns True while there is more.
    idle_s : float
        Seconds without an action before the first step.
    gap_s : float
        Seconds between two steps, for the kernel to answer what the browser sent meanwhile.
    """

    def __init__(self, step, *, idle_s: float, gap_s: float):
        self.step, self.idle_s, self.gap_s = step, idle_s, gap_s
        self.last_touch = time.monotonic()
        self.pending = None  # the next step's asyncio handle

    def touched(self) -> None:
        """The clinician acted: cancel the next step, and start again once idle for ``idle_s``."""
        self.last_touch = time.monotonic()
        if self.pending is not None:
            self.pending.cancel()
        self.pending = run_later(self._run, self.idle_s)

    def _run(self) -> None:
        self.pending = None
        idle = time.monotonic() - self.last_touch
        if idle < self.idle_s:
            self.pending = run_later(self._run, self.idle_s - idle)
        elif self.step():
            self.pending = run_later(self._run, self.gap_s)


class DrawAhead:
    """Idle steps that draw charts ahead, half a chart per step: its layout in one, its SVG in the next.

    Give an instance to :class:`WhileIdle` as its step; a click then waits for half a
    drawing at most.  What to draw is chosen again whenever :meth:`situation` changes (a
    colleague's save, another patient or filter shown).  Subclasses say what is shown
    (:meth:`situation`), what to draw for it (:meth:`to_draw`) and where a drawing is kept
    (:meth:`keep`).
    """

    def __init__(self):
        self.chosen_for = None  # the situation the charts to draw were chosen for
        self.todo = iter(())  # the charts still to draw, laid out one at a time
        self.figure = None  # (name, Figure) laid out in one step, drawn as SVG in the next

    def situation(self):
        """What the choice of charts depends on, e.g. (store revision, what is shown); raises when the store cannot be read.

        Returns
        -------
        hashable
        """
        raise NotImplementedError

    def to_draw(self, situation):
        """The charts to draw for ``situation``, laid out one at a time (:attr:`chosen_for` still holds the one before).

        Parameters
        ----------
        situation
            What :meth:`situation` gave.

        Returns
        -------
        iterator
            ``(name, Figure)`` pairs; ``name`` is passed to :meth:`keep`.
        """
        raise NotImplementedError

    def keep(self, name, svg: bytes) -> None:
        """Keep the chart ``name`` drawn as ``svg`` (unless a click drew it meanwhile).

        Parameters
        ----------
        name
            As :meth:`to_draw` gave it.
        svg : bytes
            The chart.
        """
        raise NotImplementedError

    def __call__(self) -> bool:
        """One step; True while there is more to draw.

        Returns
        -------
        bool
        """
        from sciatica_kit.charts import figure_svg

        if self.figure is not None:
            name, fig = self.figure
            self.figure = None
            self.keep(name, figure_svg(fig))
            return True
        try:
            now = self.situation()
        except Exception:  # the store cannot be read now: the clinician's next click says so
            return False
        if now != self.chosen_for:
            self.todo = self.to_draw(now)
            self.chosen_for = now
        # laid out now, drawn as SVG in the next step: the kernel answers clicks between
        self.figure = next(self.todo, None)
        return self.figure is not None


def wait_for_visitor(warm: tuple[str, ...] = ("chart",), while_waiting=None) -> None:
    """In a Voila kernel started ahead of time, do the slow start-up now, then wait for the visitor.

    ``make app`` starts Voila with preheated kernels (``--preheat_kernel=True``): each app's
    notebook runs in a spare kernel before anyone asks for it.  Called at the top of a
    notebook, this imports what the apps need and warms what the app will do first, then
    pauses until someone opens the page; the app itself is built after that, from the store
    as it is at that moment (never a stale patient list).  Anywhere else (JupyterLab, Voila
    without preheating, scripts) it returns at once.

    Parameters
    ----------
    warm
        What to do once ahead: ``"chart"`` draws a throw-away progress chart (fonts and text
        layout), ``"pdf"`` writes a throw-away handout PDF to a temporary folder (WeasyPrint,
        fontconfig and the exercise pictures); empty for imports only (the home page).
    while_waiting : callable, optional
        Work done while the kernel waits, in a thread, called with ``stop=``: a signal set when
        the visitor comes, or when a later round's second is up (the work then starts nothing new):
        :func:`~sciatica_kit.widgets.progress_logger.draw_first_charts` or
        :func:`~sciatica_kit.widgets.clinic_overview.draw_cohort_charts`.  It runs again every
        ``WATCH_S`` seconds until the visitor comes, so what it drew follows colleagues' saves;
        the apps show what it drew only while the store holds what it was drawn from.
    """
    if os.environ.get("VOILA_PREHEAT", "False") != "True":
        return
    # at the lowest priority too: a spare kernel refilled while a clinician works never slows their clicks
    warming = threading.Thread(target=_quietly, args=(_warm_up, warm), name="sciatica-kit-warm-up")
    warming.start()
    warming.join()
    _WARMED.update(warm)
    # Everything loaded so far (modules, the catalogue, fonts) lives as long as the kernel: kept out of
    # the garbage collector's full passes, which then take a fraction of the time while charts and
    # handouts are drawn (about 15 % faster here).  Garbage is collected first, never frozen.
    gc.collect()
    gc.freeze()
    from voila.utils import wait_for_request

    stop = threading.Event()
    if while_waiting is None:
        _say_ready()
    else:  # never keeps a visitor waiting: told to stop when one comes; ready once it has drawn (a page
        # opened while the machine still draws ahead for the other apps loads a second slower)
        threading.Thread(target=_then_say_ready, args=(while_waiting, stop), name="sciatica-kit-while-waiting",
                         daemon=True).start()
    try:
        wait_for_request()
    finally:
        stop.set()


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
    """
    try:
        _quietly(work, stop=stop)
    finally:
        _say_ready()
    reading = machine.cpu_times()
    while not stop.wait(WATCH_S):
        idle, reading = machine.machine_was_idle(reading)
        if idle:
            _quietly(work, stop=_Until(stop, WATCH_BUDGET_S))


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
    with contextlib.suppress(AttributeError, OSError):  # not Linux: the thread keeps the kernel's priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    with contextlib.suppress(Exception):
        work(*args, **kwargs)


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


def is_demo_store(store) -> bool:
    """True when ``store`` is the demo store (synthetic patients only).

    Parameters
    ----------
    store : Store
        An open store.

    Returns
    -------
    bool
    """
    from sciatica_kit.demo import demo_store_path

    path = getattr(store, "path", None)
    if path is None:
        return False
    try:
        return Path(path).expanduser().resolve() == demo_store_path().expanduser().resolve()
    except OSError:
        return False


DEMO_BANNER = (
    '<div class="sk-demo-banner" role="note" style="background:#fff4e5;border:2px solid #c75000;color:#7a4f01;'
    'padding:6px 12px;border-radius:6px;margin:4px 0 8px;font-weight:bold">'
    "Demo store: synthetic patients. Nothing here is a real person; to work with your patients, "
    "set the clinic store in the settings file ([store] location).</div>"
)


def section_title(text: str, hint: str = "") -> w.HTML:
    """A section heading for an app, with an optional grey hint below it.

    Parameters
    ----------
    text : str
        The heading.
    hint : str, optional
        One line saying what the section is for.

    Returns
    -------
    ipywidgets.HTML
        The heading (both texts escaped).
    """
    sub = f'<div style="color:#555;font-size:90%">{html.escape(hint)}</div>' if hint else ""
    return w.HTML(f'<h3 style="margin:10px 0 2px">{html.escape(text)}</h3>{sub}')


class Message(w.HTML):
    """A coloured status line beside the buttons of one section (errors appear here, never as tracebacks)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.add_class("sk-status")
        self.kind = ""
        self.text = ""

    def show(self, text: str, kind: str = "info", *, raw_html: bool = False) -> None:
        """Show a message in this status line, replacing the one before.

        Parameters
        ----------
        text : str
            The message, in clinic words.
        kind : str, optional
            ``info``, ``success``, ``warning`` or ``error`` (sets the colours).
        raw_html : bool, optional
            ``text`` is HTML the kit built and escaped itself; otherwise it is escaped here.
        """
        fg, bg = _COLOURS[kind]
        body = text if raw_html else html.escape(text).replace("\n", "<br>")
        self.value = (
            f'<div class="sk-message sk-{kind}" role="{"alert" if kind == "error" else "status"}" '
            f'style="color:{fg};background:{bg};padding:6px 10px;border-radius:4px;margin:4px 0">{body}</div>'
        )
        self.kind = kind
        self.text = text

    def clear(self) -> None:
        """Remove the message."""
        self.value = ""
        self.kind = ""
        self.text = ""


class Confirm(w.VBox):
    """A question with two buttons, shown beside the control that needs it; hidden until asked."""

    def __init__(self, **kw):
        self.question = w.HTML()
        self.yes_button = w.Button(button_style="danger")
        self.no_button = w.Button()
        self._on_yes = None
        self._on_no = None
        self.yes_button.on_click(lambda _b: self._answer(True))
        self.no_button.on_click(lambda _b: self._answer(False))
        super().__init__([self.question, w.HBox([self.yes_button, self.no_button])],
                         layout=w.Layout(display="none", border="2px solid #c75000", padding="4px 10px", margin="4px 0"), **kw)
        self.add_class("sk-confirm")

    @property
    def asking(self) -> bool:
        return self.layout.display != "none"

    def ask(self, text: str, yes: str, no: str, on_yes, on_no=None) -> None:
        """Ask a question beside the button pressed, with two answers.

        Parameters
        ----------
        text : str
            The question (escaped).
        yes, no : str
            The two buttons' labels.
        on_yes : callable
            Called with no argument when the first button is pressed.
        on_no : callable, optional
            Called when the second one is pressed.
        """
        self.question.value = f'<div class="sk-question" style="color:#7a4f01">{html.escape(text).replace(chr(10), "<br>")}</div>'
        self.yes_button.description = yes
        self.no_button.description = no
        self._on_yes, self._on_no = on_yes, on_no
        self.layout.display = "flex"

    def dismiss(self) -> None:
        """Hide the question without answering it."""
        self.layout.display = "none"
        self.question.value = ""
        self._on_yes = self._on_no = None

    def _answer(self, yes: bool) -> None:
        action = self._on_yes if yes else self._on_no
        self.dismiss()
        if action is not None:
            action()


def download_link(path: Path, label: str | None = None) -> str:
    """An HTML link that offers the file for download (works in JupyterLab and Voila).

    Parameters
    ----------
    path : path-like
        The file written.
    label : str, optional
        The link's text (default: the file's name).

    Returns
    -------
    str
        An HTML link holding the file.
    """
    data = Path(path).read_bytes()
    mime = {
        ".csv": "text/csv",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".pdf": "application/pdf",
        ".html": "text/html",
        ".json": "application/fhir+json",
    }.get(Path(path).suffix.lower(), "application/octet-stream")
    b64 = base64.b64encode(data).decode("ascii")
    name = html.escape(Path(path).name)
    return (
        f'<a class="sk-download" download="{name}" href="data:{mime};base64,{b64}" '
        f'style="font-weight:bold">{html.escape(label or "Download " + Path(path).name)}</a>'
        f' <span style="color:#555">(saved as {html.escape(str(path))})</span>'
    )


_LAYOUTS: dict[tuple, list] = {}  # panel arrangement -> axes positions its constrained layout gave


def figure_png(fig, dpi: int = 90, *, reuse_layout: bool = False) -> bytes:
    """A Figure as on-screen PNG bytes, drawn in one pass (fast zlib level: screen, not archive).

    ``savefig`` lays a constrained-layout figure out in a dry-run draw, then draws again;
    here the layout runs inside the single draw.  With ``reuse_layout``, a figure whose
    panels carry the same titles, at the same size, as one drawn before takes that
    figure's axes positions instead of solving the layout again (the slowest part of the
    draw; the panels, their labels and so their margins are the same).

    Parameters
    ----------
    fig
        The matplotlib Figure to draw.
    dpi
        Dots per inch of the picture.
    reuse_layout
        Take the axes positions of an earlier figure with the same panels (see above).

    Returns
    -------
    bytes
        The PNG file's bytes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    key = None
    if reuse_layout and fig.get_layout_engine() is not None:
        key = (tuple(fig.get_size_inches()), fig.get_suptitle() != "",
               tuple((ax.get_visible(), ax.get_title(loc="left"), ax.get_ylabel(), ax.get_legend() is not None) for ax in fig.axes))
        if key in _LAYOUTS:
            fig.set_layout_engine("none")
            for ax, pos in zip(fig.axes, _LAYOUTS[key], strict=True):
                ax.set_position(pos)
            key = None
    buf = io.BytesIO()
    canvas = fig.canvas
    try:
        fig.set_dpi(dpi)
        FigureCanvasAgg(fig).print_png(buf, pil_kwargs={"compress_level": 1})
    finally:
        fig.set_canvas(canvas)
    if key is not None:
        if len(_LAYOUTS) > 64:
            _LAYOUTS.clear()
        _LAYOUTS[key] = [ax.get_position(original=False).frozen() for ax in fig.axes]
    return buf.getvalue()


def problems_html(table: pd.DataFrame, limit: int = 200) -> str:
    """Every validation problem as a readable table (row, column, problem, fix).

    Parameters
    ----------
    table : pandas.DataFrame
        The problems (``LogError.table``).
    limit : int, optional
        Rows shown at most; the count of the rest is said.

    Returns
    -------
    str
        An HTML table, every text escaped.
    """
    rows = []
    for r in table.head(limit).itertuples(index=False):
        row = "" if pd.isna(r.row) else str(int(r.row))
        rows.append(
            "<tr>" + "".join(f'<td style="padding:2px 8px;vertical-align:top">{html.escape(str(v))}</td>'
                             for v in (row, r.column or "", r.problem, r.fix)) + "</tr>"
        )
    more = f"<p>... and {len(table) - limit} more.</p>" if len(table) > limit else ""
    return (
        '<table class="sk-problems" style="border-collapse:collapse;font-size:90%">'
        '<thead><tr><th align="left">Row</th><th align="left">Column</th><th align="left">Problem</th>'
        '<th align="left">How to fix it</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>" + more
    )
