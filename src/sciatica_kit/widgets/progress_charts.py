"""Patients' progress charts, kept per store and drawn ahead: shared by the visit logger and the report.

A chart is kept with a fingerprint of everything it shows (the patient's rows and programme
dates), and shown again only while the store still gives the same fingerprint: a
colleague's entry since means a new drawing, never the old picture.  The kernels of one
Jupyter server share what they drew (:mod:`sciatica_kit.chart_folder`): the report shows at
once the chart the visit logger drew after a save.

While an app sits idle, :class:`ChartsAhead` draws the charts of the patients the clinician
is likely to open next, one at a time, in the kernel's drawing thread
(:data:`~sciatica_kit.widgets.common.DRAWING`): a click meanwhile does not wait for them.
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict

import pandas as pd

from sciatica_kit import chart_folder
from sciatica_kit.widgets.common import DrawAhead, store_identity

__all__ = ["CHARTS_AHEAD", "CHART_CACHE", "ChartsAhead", "KeptCharts", "chart_key", "charts_to_draw", "drawn_chart", "keep", "kept_charts", "kept_svg",
           "laid_out_chart", "next_in_list"]

CHART_CACHE = 32  # patients whose last chart is kept, per store (a few MB at most)
CHARTS_AHEAD = 10  # the patients after the one shown whose charts are drawn while an app is idle

class KeptCharts(OrderedDict):
    """One store's charts in this kernel: patient id -> (fingerprint, SVG), newest last.

    Parameters
    ----------
    shared_as : str or None
        The store's location, under which the charts are shared with the server's other
        kernels (:mod:`sciatica_kit.chart_folder`); None to keep them to this kernel.
    """

    def __init__(self, shared_as: str | None = None):
        super().__init__()
        self.shared_as = shared_as


_KEPT_CHARTS: dict[str, KeptCharts] = {}  # store -> its charts, per kernel


def kept_charts(store) -> KeptCharts:
    """The charts this kernel keeps for ``store`` (one table per store location), newest last.

    The charts of a store with a location (a file, a server) are also shared with the other
    kernels of the same Jupyter server, when it gives them a folder for it (:mod:`sciatica_kit.chart_folder`).

    Parameters
    ----------
    store : Store
        An open store.

    Returns
    -------
    KeptCharts
        Patient id -> (fingerprint, SVG bytes).
    """
    identity = store_identity(store)
    if identity not in _KEPT_CHARTS:
        _KEPT_CHARTS[identity] = KeptCharts(identity if getattr(store, "url", None) is not None else None)
    return _KEPT_CHARTS[identity]


def keep(charts: KeptCharts, pid: str, key: bytes, svg: bytes) -> bytes:
    """Keep ``svg`` as ``pid``'s chart drawn from fingerprint ``key``; the oldest beyond :data:`CHART_CACHE` go.

    Parameters
    ----------
    charts : KeptCharts
        A table from :func:`kept_charts`.
    pid : str
        The patient.
    key : bytes
        The fingerprint of what the chart shows (:func:`chart_key`).
    svg : bytes
        The chart.

    Returns
    -------
    bytes
        ``svg``.
    """
    _remember(charts, pid, key, svg)
    shared_as = getattr(charts, "shared_as", None)
    if shared_as is not None:  # for the server's other kernels (the report after the logger's save)
        chart_folder.write_chart(chart_folder.chart_path(shared_as, pid, key), svg)
    return svg


def _remember(charts: KeptCharts, pid: str, key: bytes, svg: bytes) -> None:
    charts[pid] = (key, svg)
    charts.move_to_end(pid)
    while len(charts) > CHART_CACHE:
        charts.popitem(last=False)


def kept_svg(charts: KeptCharts, pid: str, key: bytes) -> bytes | None:
    """The chart kept for ``pid`` if it was drawn from the same rows (fingerprint ``key``), here or by another kernel, else None.

    Parameters
    ----------
    charts : KeptCharts
        A table from :func:`kept_charts`.
    pid : str
        The patient.
    key : bytes
        The fingerprint of the patient's rows now (:func:`chart_key`).

    Returns
    -------
    bytes or None
        The SVG, or None when none is kept for these rows.
    """
    cached = charts.get(pid)
    if cached is not None and cached[0] == key:
        charts.move_to_end(pid)
        return cached[1]
    shared_as = getattr(charts, "shared_as", None)
    svg = chart_folder.read_chart(chart_folder.chart_path(shared_as, pid, key)) if shared_as is not None else None
    if svg is not None:  # drawn by another kernel of this server from the same rows
        _remember(charts, pid, key, svg)
    return svg


def chart_key(log: pd.DataFrame, programmes) -> bytes:
    """A fingerprint of everything a progress chart shows: the patient's rows and programme dates.

    Parameters
    ----------
    log : DataFrame
        The patient's tidy log.
    programmes : DataFrame
        The patient's saved programmes (``Store.programmes``).

    Returns
    -------
    bytes
        A SHA-1 digest.
    """
    digest = hashlib.sha1(pd.util.hash_pandas_object(log, index=False).to_numpy().tobytes())
    if isinstance(programmes, pd.DataFrame) and not programmes.empty and "created" in programmes:
        digest.update(pd.util.hash_pandas_object(programmes["created"], index=False).to_numpy().tobytes())
    return digest.digest()


def laid_out_chart(log: pd.DataFrame, pid: str, programmes, catalog):
    """The patient's progress chart with fixed margins, ready for :func:`~sciatica_kit.charts.figure_svg`.

    Parameters
    ----------
    log : DataFrame
        The patient's tidy log.
    pid : str
        The patient.
    programmes : DataFrame
        The patient's saved programmes (their dates are marked).
    catalog : Catalog
        The catalogue.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from sciatica_kit.charts import fixed_layout, plot_progress

    return fixed_layout(plot_progress(log, pid, programmes=programmes, catalog=catalog))


def charts_to_draw(store, pids: list[str], charts: KeptCharts, catalog, done: set[str] | None = None, stop=None):
    """The charts of ``pids`` that ``charts`` does not hold for their current rows, one at a time.

    Patients without entries, and those the store cannot give now, are passed over; each
    patient looked at is added to ``done`` and skipped when already there.  The one rule for
    drawing ahead: in a preheated kernel (:func:`~sciatica_kit.widgets.draw_first_charts`)
    and in an open app (:class:`ChartsAhead`).

    Parameters
    ----------
    store : Store
        An open store.
    pids : list of str
        The patients, in the order to draw them.
    charts : KeptCharts
        A table from :func:`kept_charts`.
    catalog : Catalog
        The catalogue.
    done : set of str, optional
        Patients already looked at (updated).
    stop : threading.Event, optional
        Set to stop before the next patient.

    Yields
    ------
    tuple
        ``(pid, fingerprint, lay_out)``: ``lay_out()`` gives the Figure (it reads no store, so
        any thread may call it); draw it with :func:`~sciatica_kit.charts.figure_svg`, keep it with :func:`keep`.
    """
    done = set() if done is None else done
    for pid in pids:
        if pid in done:
            continue
        if stop is not None and stop.is_set():
            return
        done.add(pid)
        try:
            log, programmes = store.read(pid), store.programmes(pid)
        except Exception:  # the store cannot be read now: opening or switching says so
            continue
        key = chart_key(log, programmes)
        if not log.empty and kept_svg(charts, pid, key) is None:
            yield pid, key, functools.partial(laid_out_chart, log, pid, programmes, catalog)


class ChartsAhead(DrawAhead):
    """An app's idle steps that draw the next patients' charts, one at a time, in the kernel's drawing thread.

    Give it to :class:`~sciatica_kit.widgets.common.WhileIdle` as its step.  The patients
    are chosen again when the store changes (a colleague's save) or another patient is shown.

    Parameters
    ----------
    app
        The app: its ``store`` and ``catalog`` are read at each step.
    charts : KeptCharts
        The app's table from :func:`kept_charts`.
    shown : callable
        Returns the patient the app shows now.
    order : callable
        Returns the patients to draw ahead, nearest first.
    """

    def __init__(self, app, charts: KeptCharts, shown, order):
        super().__init__()
        self.app, self.charts, self.shown, self.order = app, charts, shown, order
        self.done: set[str] = set()  # patients looked at for the store's revision in ``chosen_for``

    def situation(self) -> tuple:
        """(store revision, patient shown).

        Returns
        -------
        tuple
        """
        return self.app.store.revision(), self.shown()

    def to_draw(self, situation: tuple):
        """The charts of :attr:`order`'s patients not kept for their current rows (:func:`charts_to_draw`).

        Parameters
        ----------
        situation : tuple
            (store revision, patient shown).

        Returns
        -------
        iterator
            ``((pid, fingerprint), lay_out)`` pairs.
        """
        if self.chosen_for is None or self.chosen_for[0] != situation[0]:
            self.done = set()  # a colleague's save: every patient is looked at again
        return (((pid, key), lay_out) for pid, key, lay_out in charts_to_draw(self.app.store, self.order(), self.charts, self.app.catalog, self.done))

    def keep(self, name: tuple, svg: bytes) -> None:
        """Keep the patient's chart, unless a switch drew it from the same rows meanwhile.

        A chart kept from older rows (a colleague's save since) is replaced: that is the
        chart drawing ahead is for.

        Parameters
        ----------
        name : tuple
            (pid, fingerprint).
        svg : bytes
            The chart.
        """
        pid, key = name
        if self.charts.get(pid, (None,))[0] != key:
            keep(self.charts, pid, key, svg)


def drawn_chart(charts: KeptCharts, pid: str, log: pd.DataFrame, programmes, catalog, key: bytes | None = None,
                ahead: DrawAhead | None = None) -> bytes:
    """``pid``'s progress chart as SVG: the one kept for these rows, or drawn now and kept.

    Parameters
    ----------
    charts : KeptCharts
        A table from :func:`kept_charts`.
    pid : str
        The patient.
    log : DataFrame
        The patient's tidy log.
    programmes : DataFrame
        The patient's saved programmes (their dates are marked).
    catalog : Catalog
        The catalogue.
    key : bytes, optional
        The fingerprint of ``log`` and ``programmes`` when the caller has it (:func:`chart_key`).
    ahead : ChartsAhead, optional
        The app's drawing ahead: before drawing, its chart in progress is waited for (it may
        be this one) and kept.

    Returns
    -------
    bytes
        The SVG (fixed margins: half a PNG's work).
    """
    from sciatica_kit.charts import figure_svg

    key = chart_key(log, programmes) if key is None else key
    svg = kept_svg(charts, pid, key)
    if svg is None and ahead is not None:
        ahead.settle()
        svg = kept_svg(charts, pid, key)
    if svg is None:
        svg = keep(charts, pid, key, figure_svg(laid_out_chart(log, pid, programmes, catalog)))
    return svg


def next_in_list(options, shown: str) -> list[str]:
    """The patients after ``shown`` in a picker's list (wrapping round), nearest first, at most :data:`CHARTS_AHEAD`.

    Parameters
    ----------
    options : sequence of str
        The picker's patient ids, in order.
    shown : str
        The patient shown now.

    Returns
    -------
    list of str
    """
    options = list(options)
    if shown in options:
        i = options.index(shown)
        options = options[i + 1:] + options[:i]
    return options[:CHARTS_AHEAD]
