"""Small pieces shared by the widget apps: messages, downloads, figures as images."""

from __future__ import annotations

import base64
import contextlib
import html
import io
import os
import time
from pathlib import Path

import ipywidgets as w
import pandas as pd

from sciatica_kit.drawing_gate import GATE
from sciatica_kit.widgets.app_store import app_setting, clinic_store_location, open_app_store
from sciatica_kit.widgets.waiting import _in_kernel

__all__ = [
    "APP_STYLE", "DEMO_BANNER", "DRAWING", "Confirm", "DrawAhead", "DrawingThread", "Look", "Message", "StoreBacked", "clinic_error", "clinic_store_location", "download_link",
    "exports_dir", "figure_png", "is_demo_store", "open_app_store", "problems_html", "run_later", "section_title", "set_picture",
    "unique_path",
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
    folder = app_setting("exports", "folder")
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

    def answered_first() -> None:  # part of the answer to a click: a chart drawn ahead meanwhile pauses
        with GATE.closed():
            callback()

    return loop.call_later(delay, answered_first) if delay > 0 else loop.call_soon(answered_first)


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


class DrawingThread:
    """The kernel's one thread for charts drawn ahead: the main thread stays free for clicks.

    A chart takes a few tenths of a second to lay out and draw.  Drawn in the kernel's main
    thread, a click that comes meanwhile waits for it.  Drawn here, the click is answered at
    once: while the kernel handles a message from the browser, the drawing pauses at its next
    safe point (:mod:`sciatica_kit.drawing_gate`), so the two threads do not share the
    interpreter while the clinician waits.  One drawing at a time, in the order asked: the
    apps of one kernel share it.  A chart drawn on a click waits for :meth:`idle` first, so a
    kernel never draws two at once.
    """

    def __init__(self):
        self._pool = None
        self._last = None  # the last drawing asked for: once it is done, all are

    def submit(self, work):
        """Run ``work()`` in the drawing thread, after what was asked before.

        Parameters
        ----------
        work : callable
            Called with no arguments in the drawing thread.

        Returns
        -------
        concurrent.futures.Future
        """
        from concurrent.futures import ThreadPoolExecutor

        if self._pool is None:
            _gate_while_the_kernel_answers()
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sciatica-kit-drawing", initializer=GATE.join)
        self._last = self._pool.submit(work)
        return self._last

    def idle(self) -> None:
        """Wait until the thread has drawn all it was asked (at once when it is idle)."""
        import concurrent.futures

        if self._last is not None and not self._last.done():
            with GATE.opened():  # a drawing paused for this very thread would never finish
                concurrent.futures.wait([self._last])


def _gate_while_the_kernel_answers() -> None:
    """Close the drawing gate while this Jupyter kernel handles each message from the browser (a click, a cell)."""
    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    before, after = getattr(kernel, "pre_handler_hook", None), getattr(kernel, "post_handler_hook", None)
    if before is None or after is None or getattr(kernel, "_sk_drawing_gate", False):
        return  # not a kernel, one without these hooks (drawing ahead then shares the interpreter), or done already

    def pre_handler_hook() -> None:
        GATE.close()
        before()

    def post_handler_hook() -> None:
        try:
            after()
        finally:
            GATE.reopen()

    # ipykernel calls the two around every handler of the shell channel, the second in a finally
    kernel.pre_handler_hook, kernel.post_handler_hook = pre_handler_hook, post_handler_hook
    kernel._sk_drawing_gate = True


DRAWING = DrawingThread()  # this kernel's


class DrawAhead:
    """Idle steps that draw charts ahead, one at a time, in the kernel's :data:`DRAWING` thread.

    Give an instance to :class:`WhileIdle` as its step.  Each step, in the kernel's main
    thread, keeps the chart the drawing thread finished and hands it the next one; a click
    meanwhile does not wait for a drawing, unless it needs a chart drawn itself (then
    :meth:`settle` first).  What to draw is chosen again whenever :meth:`situation` changes
    (a colleague's save, another patient or filter shown).  Subclasses say what is shown
    (:meth:`situation`), what to draw for it (:meth:`to_draw`) and where a drawing is kept
    (:meth:`keep`).
    """

    def __init__(self):
        self.chosen_for = None  # the situation the charts to draw were chosen for
        self.todo = iter(())  # the charts still to draw
        self.drawing = None  # (name, Future): the chart the drawing thread is on

    def situation(self):
        """What the choice of charts depends on, e.g. (store revision, what is shown); raises when the store cannot be read.

        Returns
        -------
        hashable
        """
        raise NotImplementedError

    def to_draw(self, situation):
        """The charts to draw for ``situation``, one at a time (:attr:`chosen_for` still holds the one before).

        Parameters
        ----------
        situation
            What :meth:`situation` gave.

        Returns
        -------
        iterator
            ``(name, lay_out)`` pairs: ``lay_out()`` gives the Figure, in the drawing thread
            (it reads no store); ``name`` is passed to :meth:`keep`.
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
        """One step; True while there is more to draw, or a drawing to keep.

        Returns
        -------
        bool
        """
        from sciatica_kit.charts import figure_svg

        if self.drawing is not None:
            if not self.drawing[1].done():
                return True  # looked at again after the step's gap
            self._keep_drawn()
        try:
            now = self.situation()
        except Exception:  # the store cannot be read now: the clinician's next click says so
            return False
        if now != self.chosen_for:
            self.todo = self.to_draw(now)
            self.chosen_for = now
        item = next(self.todo, None)
        if item is None:
            return False
        name, lay_out = item
        self.drawing = (name, DRAWING.submit(lambda: figure_svg(lay_out())))
        return True

    def settle(self) -> None:
        """Before a click draws a chart itself: wait for the drawing thread, and keep what it drew for this app.

        The chart the thread is on may be the one the click needs; either way the kernel
        then draws one chart at a time.
        """
        DRAWING.idle()
        if self.drawing is not None:
            self._keep_drawn()

    def _keep_drawn(self) -> None:
        name, future = self.drawing
        self.drawing = None
        with contextlib.suppress(Exception):  # a chart that could not be drawn ahead is drawn, or reported, on the click
            self.keep(name, future.result())


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
