"""Progress charts a clinician would put in a report (matplotlib, object API only).

``plot_progress`` draws one panel per measure for one patient: the values over
time, the baseline and the MCID band around it, the normal / positive-test
zone where one exists, left and right sides distinguished, a rolling mean when
entries are dense, and markers where a programme started or changed.
``plot_cohort`` gives a clinic overview: the share of responders per measure
(and per condition when given), and the median trajectory with its spread.

Both take the data first, the rest keyword-only, accept ``fig=`` and return the
Figure they drew on.  Nothing goes through pyplot's global state.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import AutoLocator, Locator
from matplotlib.transforms import ScaledTranslation

from sciatica_kit._docs import shared_docs
from sciatica_kit.catalog import Catalog, load_catalog
from sciatica_kit.drawing_gate import GATE
from sciatica_kit.log import check_log
from sciatica_kit.progress import summarise

__all__ = ["DENSE_ENTRIES", "ChartFigure", "figure_svg", "fixed_layout", "plot_cohort", "plot_measure", "plot_progress"]


class ChartFigure(Figure):
    """A Figure that shows itself as a PNG in notebooks, Voila and papermill reports.

    The kit never touches pyplot, so no inline backend is registered for its
    figures; this gives IPython a picture to display instead of ``<Figure ...>``.
    """

    def _repr_png_(self) -> bytes:
        import io

        from matplotlib.backends.backend_agg import FigureCanvasAgg

        # One pass that lays the figure out and draws it: savefig(dpi=96) gives the same PNG but
        # first lays it out in a dry-run draw, then draws again with the layout frozen.
        buf = io.BytesIO()
        canvas, dpi = self.canvas, self.dpi
        try:
            self.set_dpi(96)
            FigureCanvasAgg(self).print_png(buf)
        finally:
            self.set_canvas(canvas)
            self.set_dpi(dpi)
        return buf.getvalue()

DENSE_ENTRIES = 30  # above this many entries in a series, draw a 7-day rolling mean
SIDE_STYLE = {
    "": {"color": "#1f4e79", "marker": "o", "label": None},
    "left": {"color": "#1f77b4", "marker": "o", "label": "left"},
    "right": {"color": "#d62728", "marker": "s", "label": "right"},
}


class _InView(Locator):
    """Another locator's ticks, less those outside the axis' view.

    Matplotlib builds a tick (two marks, two labels, a grid line) for every location a locator
    returns, including the one or two just outside the view it never draws; building ticks is
    the largest part of drawing a progress chart, so the kit's panels ask only for what shows.
    """

    def __init__(self, inner: Locator):
        self.inner = inner
        self._last: tuple[tuple[float, ...], list[float]] | None = None

    def set_axis(self, axis):
        super().set_axis(axis)
        self.inner.set_axis(axis)
        self._last = None

    def __call__(self):
        # One drawing asks three times for the same view (ticks, label placement, bounding box);
        # the ticks depend only on the view and the panel's size, so the last answer is kept for them.
        view = (*sorted(self.axis.get_view_interval()), *self.axis.axes.bbox.size)
        if self._last is None or self._last[0] != view:
            lo, hi = view[:2]
            span = (hi - lo) * 1e-9
            self._last = (view, [t for t in self.inner() if lo - span <= t <= hi + span])
        return list(self._last[1])

    def tick_values(self, vmin, vmax):
        return self.inner.tick_values(vmin, vmax)

    def nonsingular(self, v0, v1):
        return self.inner.nonsingular(v0, v1)

    def view_limits(self, vmin, vmax):
        return self.inner.view_limits(vmin, vmax)


def _fresh_figure(fig: Figure | None, figsize: tuple[float, float]) -> Figure:
    """The caller's figure, cleared, or a new ChartFigure; constrained layout either way."""
    if fig is None:
        return ChartFigure(figsize=figsize, layout="constrained")
    fig.clear()
    fig.set_layout_engine("constrained")
    return fig


def fixed_layout(fig: Figure) -> Figure:
    """Place a :func:`plot_progress` or :func:`plot_cohort` figure's panels with fixed margins instead of the constrained layout.

    The margins are given in inches, so they hold whatever the number of panels; the
    constrained layout's search over every label is the costliest part of drawing a
    chart, and the panels of a progress chart always carry the same kinds of labels.

    Parameters
    ----------
    fig
        A figure drawn by :func:`plot_progress`.

    Returns
    -------
    matplotlib.figure.Figure
        The same figure, its layout engine removed and its panels placed.
    """
    margins = getattr(fig, "sk_fixed_margins", None)  # a chart other than plot_progress says where its panels go
    if margins is None:
        rows = fig.axes[0].get_subplotspec().get_gridspec().nrows if fig.axes else 1
        height = fig.get_figheight()
        margins = {"left": 0.075, "right": 0.985, "top": 1 - 0.75 / height, "bottom": 1.05 / height,
                   "hspace": 0.55 if rows > 1 else 0.2, "wspace": 0.22}
    fig.set_layout_engine(None)
    fig.subplots_adjust(**margins)
    return fig


def figure_svg(fig) -> bytes:
    """A Figure as SVG bytes with real text (the browser sets the type): no rasterising, no PNG compression.

    Parameters
    ----------
    fig
        The matplotlib Figure to draw.

    Returns
    -------
    bytes
        The SVG document (UTF-8), the same bytes for the same figure (no date, fixed ids).
    """
    import io

    import matplotlib as mpl
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    buf = _PausingBuffer() if GATE.joined() else io.StringIO()
    canvas = fig.canvas
    # the settings are global: one SVG at a time, or a thread drawing ahead could restore them under another's drawing
    if not _SVG_SETTINGS.acquire(blocking=False):
        # a drawing paused for the kernel's main thread may hold them: let it finish first
        with GATE.opened() if threading.current_thread() is threading.main_thread() else contextlib.nullcontext():
            _SVG_SETTINGS.acquire()
    try:
        with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "sciatica-kit"}):
            FigureCanvasSVG(fig).print_svg(buf, metadata={"Date": None})
    finally:
        _SVG_SETTINGS.release()
        fig.set_canvas(canvas)
    return buf.getvalue().encode("utf-8")


_SVG_SETTINGS = threading.Lock()


class _PausingBuffer(io.StringIO):
    """The SVG being written, in a thread that pauses for the kernel's main thread between two pieces (:mod:`~sciatica_kit.drawing_gate`)."""

    def write(self, s: str) -> int:
        GATE.pause_point()
        return super().write(s)


def _unit_label(info: dict) -> str:
    unit = info["unit"]
    if unit in ("°", "cm", "%"):
        return f"{info['name']} ({unit})"
    return f"{info['name']} ({unit})" if unit else info["name"]


def _programme_dates(programmes) -> list[pd.Timestamp]:
    if programmes is None:
        return []
    if isinstance(programmes, pd.DataFrame):
        if programmes.empty:
            return []
        return sorted(pd.to_datetime(programmes["created"]).drop_duplicates())
    return sorted({pd.Timestamp(d) for d in programmes})


@shared_docs
def plot_progress(
    log: pd.DataFrame,
    patient_id: str,
    measures: Sequence[str] | None = None,
    *,
    programmes: pd.DataFrame | Iterable | None = None,
    fig: Figure | None = None,
    summary: pd.DataFrame | None = None,
    catalog: Catalog | None = None,
) -> Figure:
    """Chart one patient's progress, one panel per measure.

    Parameters
    ----------
    log
        A tidy log (may hold other patients).
    patient_id
        The patient to chart.
    measures
        Measure ids to show (default: every measure the patient has, in a clinical order).
    programmes
        Dates a programme started or changed: ``Store.programmes(patient_id)`` or a list of dates.
    fig
        A Figure to draw on (cleared first); a new one is made when None.
    summary : pandas.DataFrame, optional
        :func:`~sciatica_kit.progress.summarise` of the log, when the caller has it already
        (its baselines are drawn); computed from ``log`` when None.
    {catalog}

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"patient_id": ["P1"] * 2, "date": pd.to_datetime(["2026-01-05", "2026-02-02"]),
    ...                     "measure": ["pain"] * 2, "side": [""] * 2, "value": [7.0, 4.0], "note": [""] * 2})
    >>> fig = plot_progress(log, "P1")
    >>> len(fig.axes)
    1
    """
    cat = catalog or load_catalog()
    reg = cat.records["measures"]
    log = check_log(log)
    data = log[log["patient_id"] == patient_id]
    if measures is None:
        present = set(data["measure"].unique())
        measures = [m for m in reg if m in present]  # the catalogue's order (measures.toml)
    else:
        measures = cat.check_ids("measure", list(measures))
    n = max(len(measures), 1)
    ncols = 1 if n == 1 else 2
    nrows = int(np.ceil(n / ncols))
    fig = _fresh_figure(fig, (11 if ncols == 2 else 7, 2.9 * nrows + 0.9))
    grid = fig.add_gridspec(nrows, ncols)
    axes = [fig.add_subplot(grid[i // ncols, i % ncols]) for i in range(n)]  # no spare panel to build and hide
    if data.empty or not measures:
        ax = axes[0]
        ax.text(0.5, 0.5, f"No entries yet for {patient_id}", ha="center", va="center", fontsize=12, transform=ax.transAxes)
        ax.set_axis_off()
        fig.suptitle(f"Progress: {patient_id}", fontsize=14, fontweight="bold")
        return fig
    first, last = data["date"].min(), data["date"].max()
    pad = max((last - first) * 0.04, pd.Timedelta(days=3))
    summary = summarise(data, catalog=cat) if summary is None else summary[summary["patient_id"] == patient_id]
    summary = summary.set_index(["measure", "side"])
    dates = _programme_dates(programmes)
    by_measure = dict(tuple(data.groupby("measure", sort=False)))  # the patient's rows split once, not once per panel
    for ax, m in zip(axes, measures, strict=False):
        GATE.pause_point()  # drawn ahead in a thread: a click in the kernel comes first
        rows = by_measure.get(m)
        if rows is None:
            _no_entries(ax, reg[m], patient_id)
        else:
            _measure_panel(ax, rows, reg[m], summary, dates)
        ax.set_xlim(first - pad, last + pad)  # every panel on the same time axis
    fig.suptitle(f"Progress: {patient_id}", fontsize=14, fontweight="bold")
    fig.supxlabel(
        "Dashed line: baseline (first visit).  Shaded band: change smaller than the MCID, or the smallest detectable\n"
        "change where no MCID is published.  Dotted green line: programme started or changed.",
        fontsize=8, color="#444", x=0.01, ha="left",
    )
    return fig


@shared_docs
def plot_measure(
    log: pd.DataFrame,
    patient_id: str,
    measure: str,
    *,
    ax: Axes | None = None,
    programmes: pd.DataFrame | Iterable | None = None,
    summary: pd.DataFrame | None = None,
    catalog: Catalog | None = None,
) -> Axes:
    """Chart one measure for one patient: values over time, baseline, MCID band, normal zones.

    Parameters
    ----------
    log
        A tidy log (may hold other patients and measures).
    patient_id
        The patient to chart.
    measure
        A measure id from the catalogue (``pain``, ``odi``, ``slr`` ...).
    ax
        The Axes to draw on; a new figure with one Axes is made when None.
    programmes
        Dates a programme started or changed, drawn as dotted lines (see :func:`plot_progress`).
    summary
        The patient's :func:`~sciatica_kit.progress.summarise` result, when the caller has it already
        (its baselines are drawn); computed from ``log`` when None.
    {catalog}

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"patient_id": ["P1"] * 2, "date": pd.to_datetime(["2026-01-05", "2026-02-02"]),
    ...                     "measure": ["pain"] * 2, "side": [""] * 2, "value": [7.0, 4.0], "note": [""] * 2})
    >>> plot_measure(log, "P1", "pain").get_title(loc="left")
    'Pain (NPRS) (0-10)'
    """
    cat = catalog or load_catalog()
    (measure,) = cat.check_ids("measure", [measure])
    log = check_log(log)
    rows = log[(log["patient_id"] == patient_id) & (log["measure"] == measure)]
    if ax is None:
        ax = _fresh_figure(None, (7, 3.2)).subplots()
    if rows.empty:
        _no_entries(ax, cat.records["measures"][measure], patient_id)
        return ax
    summary = summarise(rows, catalog=cat) if summary is None else summary[summary["patient_id"] == patient_id]
    _measure_panel(ax, rows, cat.records["measures"][measure], summary.set_index(["measure", "side"]), _programme_dates(programmes))
    return ax


def _no_entries(ax, info: dict, patient_id: str) -> None:
    ax.text(0.5, 0.5, f"No {info['name']} entries for {patient_id}", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _measure_panel(ax, rows: pd.DataFrame, info: dict, summary: pd.DataFrame, programme_dates) -> None:
    """One measure's panel from its rows, the patient's summary indexed by (measure, side), and programme dates."""
    first, last = rows["date"].min(), rows["date"].max()
    pad = max((last - first) * 0.04, pd.Timedelta(days=3))
    starts = [d for d in programme_dates if first - pad <= d <= last + pad]
    _panel(ax, rows, info, summary, starts)


def _panel(ax, rows: pd.DataFrame, info: dict, summary: pd.DataFrame, starts) -> None:
    lo, hi = float(info["min"]), float(info["max"])
    ax.set_title(_unit_label(info), fontsize=11, loc="left", y=1.0)  # a fixed y skips matplotlib's costly title-overlap search
    for z in info.get("zones", []):
        if len(info["zones"]) <= 2:
            ax.axhspan(z["low"], z["high"], color="#f2c14e", alpha=0.18, lw=0)
            ax.text(0.995, z["high"], f" {z['label']}", transform=ax.get_yaxis_transform(), ha="right", va="top", fontsize=7.5, color="#7a5c00")
        else:
            ax.axhline(z["high"], color="#bbbbbb", lw=0.6, zorder=0)
            ax.text(0.995, (z["low"] + z["high"]) / 2, z["label"], transform=ax.get_yaxis_transform(), ha="right", va="center", fontsize=7, color="#777")
    sides = [s for s in ("", "left", "right") if (rows["side"] == s).any()]
    mcid = info.get("mcid_points", np.nan)
    if np.isnan(mcid):
        mcid = info.get("mdc", np.nan)  # no MCID published: show the smallest detectable change
    for side in sides:
        series = rows[rows["side"] == side].sort_values("date")
        style = SIDE_STYLE[side]
        dense = len(series) > DENSE_ENTRIES
        label = style["label"]
        ax.plot(series["date"], series["value"], color=style["color"], marker=None if dense else style["marker"],
                ms=4, lw=0.8 if dense else 1.6, alpha=0.35 if dense else 1.0, label=None if dense else label)
        if dense:
            rolled = series.set_index("date")["value"].rolling("7D", min_periods=1).mean()
            ax.plot(rolled.index, rolled.to_numpy(), color=style["color"], lw=2.0, label=f"{label + ' ' if label else ''}7-day mean")
        base = summary.loc[(info["id"], side), "baseline"] if (info["id"], side) in summary.index else series["value"].iloc[0]
        ax.axhline(base, color=style["color"], ls="--", lw=1.0, alpha=0.8)
        if not np.isnan(mcid):
            ax.axhspan(max(lo, base - mcid), min(hi, base + mcid), color=style["color"], alpha=0.08, lw=0)
    for d in starts:
        ax.axvline(d, color="#2e7d32", lw=1.2, ls=":")
    if starts:
        ax.text(starts[0], 1.0, " programme", transform=ax.get_xaxis_transform(), color="#2e7d32", fontsize=7.5, va="top")
    margin = (hi - lo) * 0.04
    ax.set_ylim(lo - margin, hi + margin)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(_InView(locator))
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.yaxis.set_major_locator(_InView(AutoLocator()))
    better = "lower is better" if info["better"] == "lower" else "higher is better"
    ax.set_ylabel(f"{info['unit']}  ({better})", fontsize=8.5)
    # Labels at a fixed distance from the axes (the tick labels are at most four characters), so
    # drawing need not measure every tick label of the figure to place them.
    ax.yaxis.set_label_coords(0, 0.5, ax.transAxes + ScaledTranslation(-0.42, 0, ax.figure.dpi_scale_trans))
    ax.xaxis.set_label_coords(0.5, 0, ax.transAxes + ScaledTranslation(0, -0.3, ax.figure.dpi_scale_trans))
    ax.grid(axis="y", color="#e5e5e5", lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    if any(SIDE_STYLE[s]["label"] for s in sides) or len(rows) > DENSE_ENTRIES:
        ax.legend(fontsize=8, frameon=False, loc="best")


@shared_docs
def plot_cohort(
    log: pd.DataFrame,
    *,
    conditions: Mapping[str, Iterable[str]] | pd.DataFrame | None = None,
    measures: Sequence[str] | None = None,
    fig: Figure | None = None,
    summary: pd.DataFrame | None = None,
    catalog: Catalog | None = None,
) -> Figure:
    """Clinic overview: share of responders per measure (and condition), median trajectories.

    Parameters
    ----------
    log
        A tidy log for many patients.
    conditions
        Patient -> condition ids (a mapping, or ``Store.patients()`` with a
        ``conditions`` column); responders are then split by condition.
    measures
        Measures for the trajectory panels (those present in the log are drawn); default the
        catalogue's key measures (``overview = true`` in ``measures.toml``).
    fig : matplotlib.figure.Figure, optional
        A Figure to draw on (cleared first); a new one is made when None.
    summary : pandas.DataFrame, optional
        :func:`~sciatica_kit.progress.summarise` of the clinic's log, when the caller has it
        already (rows of patients not in ``log`` are left out); computed from ``log`` when None.
    {catalog}

    Returns
    -------
    matplotlib.figure.Figure
        Per-side measures (``sided`` in the catalogue, e.g. SLR) count legs, and say so:
        "SLR: 14 legs of 9 patients".
    """
    cat = catalog or load_catalog()
    reg = cat.records["measures"]
    if measures is None:
        measures = [m for m, info in reg.items() if info.get("overview")]
    log = check_log(log)
    fig = _fresh_figure(fig, (12, 7.5))
    # for fixed_layout: room on the right for the conditions' legend, below for two-line tick labels
    fig.sk_fixed_margins = {"left": 0.055, "right": 0.77, "top": 1 - 0.7 / 7.5, "bottom": 0.5 / 7.5, "hspace": 0.36, "wspace": 0.3}
    present = [m for m in cat.check_ids("measure", list(measures)) if (log["measure"] == m).any()] if not log.empty else []
    grid = fig.add_gridspec(2, max(len(present), 1))
    ax_bar = fig.add_subplot(grid[0, :])
    if log.empty:
        ax_bar.text(0.5, 0.5, "No entries in the store yet", ha="center", va="center", transform=ax_bar.transAxes, fontsize=12)
        ax_bar.set_axis_off()
        fig.suptitle("Clinic overview", fontsize=14, fontweight="bold")
        return fig
    if summary is None:
        summary = summarise(log, catalog=cat)
    else:
        summary = summary[summary["patient_id"].isin(log["patient_id"].unique())]
    summary = summary[summary["responder"].notna()]
    cond_map = _condition_map(conditions)
    if cond_map:
        summary = summary.assign(condition=summary["patient_id"].map(lambda p: cond_map.get(p, ["(none saved)"]))).explode("condition")
    else:
        summary = summary.assign(condition="all patients")
    order = [m for m in reg if m in set(summary["measure"])]
    share = (summary.assign(responder=summary["responder"].astype(float)).groupby(["measure", "condition"], observed=True)
             .agg(mean=("responder", "mean"), size=("responder", "size"), patients=("patient_id", "nunique")).reset_index())
    groups = sorted(share["condition"].unique())
    width = 0.8 / max(len(groups), 1)
    x = np.arange(len(order))
    palette = ["#1f4e79", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22"]
    names = cat.records["conditions"]
    for i, cond in enumerate(groups):
        GATE.pause_point()
        sub = share[share["condition"] == cond].set_index("measure").reindex(order)
        bars = ax_bar.bar(x + (i - (len(groups) - 1) / 2) * width, sub["mean"].fillna(0) * 100, width=width * 0.95,
                          color=palette[i % len(palette)], label=names[cond]["name"] if cond in names else cond)
        for rect, m, n in zip(bars, order, sub["size"], strict=True):
            if not pd.isna(n) and len(groups) <= 4:  # a per-side measure counts legs, and says so
                ax_bar.text(rect.get_x() + rect.get_width() / 2, rect.get_height() + 1,
                            f"{int(n)} legs" if reg[m]["sided"] else f"n={int(n)}", ha="center", fontsize=7)
    patients = summary.groupby("measure")["patient_id"].nunique()  # each patient once, whatever the condition split
    ticks = []
    for m in order:
        short = reg[m].get("short", reg[m]["name"])
        if reg[m]["sided"]:
            n_legs = len(summary.loc[summary["measure"] == m, ["patient_id", "side"]].drop_duplicates())  # each leg once
            short = f"{short}: {n_legs} legs\nof {patients[m]} patients"
        ticks.append(short)
    ax_bar.set_xticks(x, ticks, fontsize=9)
    ax_bar.set_ylim(0, 105)
    ax_bar.set_ylabel("responders (%)")
    ax_bar.set_title("Share of patients whose change reaches the MCID (or the detectable change where no MCID exists)", fontsize=10.5, loc="left")
    ax_bar.spines[["top", "right"]].set_visible(False)
    if groups:
        ax_bar.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        ax_bar.text(0.5, 0.5, "No patient has two entries of a measure yet", ha="center", va="center",
                    transform=ax_bar.transAxes, fontsize=11, color="#666")
    # median trajectory with the interquartile range, in weeks since each patient's first entry
    first = log.groupby("patient_id")["date"].transform("min")
    weeks = ((log["date"] - first).dt.days // 7).astype(int)
    for j, m in enumerate(present):
        GATE.pause_point()
        ax = fig.add_subplot(grid[1, j])
        rows = log[(log["measure"] == m)].assign(week=weeks)
        if reg[m]["sided"]:
            rows = rows.groupby(["patient_id", "week"], as_index=False)["value"].mean()
        q = rows.groupby("week")["value"].quantile([0.25, 0.5, 0.75]).unstack()
        counts = rows.groupby("week")["patient_id"].nunique()
        q = q[counts.reindex(q.index) >= 3]  # fewer than 3 patients is not a trend
        if len(q) < 2:  # a trajectory needs at least two weeks with enough patients
            ax.text(0.5, 0.5, "Too few patients\nfor a median trajectory\n(3 in a week, 2 weeks)", ha="center", va="center",
                    transform=ax.transAxes, fontsize=9, color="#666")
            ax.set_xticks([])
        else:
            ax.fill_between(q.index, q[0.25], q[0.75], color="#1f4e79", alpha=0.18, lw=0, label="middle half")
            ax.plot(q.index, q[0.5], color="#1f4e79", lw=2, label="median")
            if j == 0:
                ax.legend(fontsize=7.5, frameon=False)
        title = f"{reg[m].get('short', reg[m]['name'])}: median"
        if reg[m]["sided"]:  # both legs averaged per patient, so this panel counts patients
            title += " (legs averaged per patient)"
        ax.set_title(title, fontsize=9.5, loc="left")
        ax.set_xlabel("weeks since first visit", fontsize=8.5)
        ax.set_ylim(reg[m]["min"], reg[m]["max"])
        ax.grid(axis="y", color="#e5e5e5", lw=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    n_pat = log["patient_id"].nunique()
    fig.suptitle(f"Clinic overview: {n_pat} patients", fontsize=14, fontweight="bold")
    return fig


def _condition_map(conditions) -> dict[str, list[str]]:
    if conditions is None:
        return {}
    if isinstance(conditions, pd.DataFrame):
        if conditions.empty or "conditions" not in conditions:
            return {}
        return {r.patient_id: (list(r.conditions) or ["(none saved)"]) for r in conditions.itertuples(index=False)}
    return {str(k): (list(v) or ["(none saved)"]) for k, v in conditions.items()}
