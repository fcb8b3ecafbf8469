"""Clinic overview app: cohort charts and a patient table with latest change and responder status."""

from __future__ import annotations

import functools
from collections import OrderedDict

import ipywidgets as w
import pandas as pd

from sciatica_kit._docs import shared_docs
from sciatica_kit.catalog import load_catalog
from sciatica_kit.widgets.common import (
    APP_STYLE,
    DrawAhead,
    Message,
    StoreBacked,
    WhileIdle,
    clinic_error,
    given_or_app_store,
    run_later,
    section_title,
    set_picture,
    store_identity,
)

__all__ = ["ClinicOverview", "draw_cohort_charts", "key_measures", "patient_table"]

CHART_DELAY_S = 0.25  # the cohort chart follows the table after this pause, unless another filter comes first
COHORT_CACHE = 32  # cohort charts kept per store (one per condition filter and store revision)
AHEAD_IDLE_S = 1.0  # seconds without a click before the other conditions' charts are drawn ahead
AHEAD_GAP_S = 0.05  # between two steps: the kernel answers what the browser sent meanwhile


@shared_docs
def key_measures(catalog) -> list[str]:
    """The clinic overview's key measures: ``overview = true`` in the catalogue, in its order.

    Parameters
    ----------
    {catalog}

    Returns
    -------
    list of str
        Measure ids, e.g. ``["pain", "leg_pain", "odi", "rmdq"]`` for the packaged catalogue.
    """
    return [m for m, info in catalog.records["measures"].items() if info.get("overview")]


@shared_docs
def patient_table(log: pd.DataFrame, patients: pd.DataFrame, *, condition: str | None = None, summary: pd.DataFrame | None = None,
                  catalog=None) -> pd.DataFrame:
    """One row per patient: conditions, visits, and latest change / responder for the key measures.

    Parameters
    ----------
    log : pandas.DataFrame
        The clinic's tidy log.
    patients : pandas.DataFrame
        ``Store.patients()``.
    condition : str, optional
        Only patients whose latest programme treats this condition.
    summary : pandas.DataFrame, optional
        :func:`~sciatica_kit.progress.summarise` of ``log``, when the caller has it already.
    {catalog}

    Returns
    -------
    pandas.DataFrame
        One row per patient.
    """
    from sciatica_kit.progress import summarise

    cat = catalog or load_catalog()
    pts = patients.copy()
    if condition:
        pts = pts[pts["conditions"].map(lambda c: condition in c)]
    if summary is not None:  # each patient is summarised on their own, so the clinic's summary can be filtered
        s = summary[summary["patient_id"].isin(pts["patient_id"])]
    else:
        log = log[log["patient_id"].isin(pts["patient_id"])]
        s = summarise(log, catalog=cat) if not log.empty else pd.DataFrame(columns=["patient_id", "measure", "change", "responder"])
    keys = key_measures(cat)
    s = s[s["measure"].isin(keys)]
    names = cat.records["conditions"]
    out = pd.DataFrame({
        "patient_id": pts["patient_id"].to_numpy(),
        "conditions": pts["conditions"].map(lambda c: ", ".join(names[x]["name"] for x in c if x in names)).to_numpy(),
        "last_visit": pts["last_visit"].dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
    })
    for m in keys:
        sub = s[s["measure"] == m].set_index("patient_id")
        out[f"{m}_change"] = out["patient_id"].map(sub["change"]) if len(sub) else float("nan")
        out[f"{m}_responder"] = out["patient_id"].map(sub["responder"].map({True: "yes", False: "no"})) if len(sub) else None
    return out.fillna({f"{m}_responder": "-" for m in keys})


class ClinicOverview(StoreBacked, w.VBox):
    """Cohort charts and patient table, filterable by condition."""

    def __init__(self, *, store=None, catalog=None):
        self.catalog = catalog or load_catalog()
        self._store = store
        conds = self.catalog.records["conditions"]
        self.condition = w.Dropdown(description="Condition", options=[("All conditions", "")] + [(c["name"], cid) for cid, c in conds.items()],
                                    value="", layout=w.Layout(width="420px"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.condition.observe(lambda _c: self._refresh(chart_delay=CHART_DELAY_S), "value")
        reg = self.catalog.records["measures"]
        self.sort = w.Dropdown(description="Sort by", options=[
            ("Patient id", "patient_id"), ("Last visit (newest first)", "last_visit"),
            *((f"{reg[m].get('short') or reg[m]['name']} change (most improved first)", f"{m}_change") for m in key_measures(self.catalog)),
        ], value="patient_id", layout=w.Layout(width="380px"))
        self.sort.observe(lambda _c: self._ahead.touched() or self._show_table(), "value")
        self.progress = w.IntProgress(min=0, max=3, value=0, description="Working", layout=w.Layout(visibility="hidden"))
        self.message = Message()
        self._status_lines = (self.message,)
        self.banner = self._demo_banner()
        self.table = w.HTML()
        self.chart = w.Image(format="svg+xml", layout=w.Layout(max_width="1100px", width="100%"))
        self.data: pd.DataFrame | None = None
        # what was last read and drawn, shared by the kernel's overviews of this store, so what a
        # preheated kernel read and drew before the page was opened is there when it is
        self._kept = _kept(self.store)
        self._pending_chart = None  # the cohort chart waiting to be drawn (a newer filter drops it)
        self._draw_ahead = _CohortsAhead(self)
        self._ahead = WhileIdle(self._draw_ahead, idle_s=AHEAD_IDLE_S, gap_s=AHEAD_GAP_S)  # the other filters' charts
        super().__init__([
            w.HTML(APP_STYLE),  # the notebook gives the title and purpose
            self.banner,
            w.HBox([self.condition, self.refresh_button, self.progress]),
            self.message,
            section_title("Patients", "Latest change since the first visit (negative = better); responder = change reaches the MCID."),
            self.sort,
            self.table,
            section_title("Cohort"),
            self.chart,
        ], layout=w.Layout(max_width="1150px"))
        self.add_class("sk-clinic-overview")
        # opening: the chart a moment after the page, while the browser asks the kernel for the app's
        # widgets (with the chart drawn at once, a page came up with Voila's "model not found" under load)
        self._refresh(chart_delay=CHART_DELAY_S)

    def _show_table(self) -> None:
        if self.data is None or self.data.empty:
            return
        key = self.sort.value
        ascending = key != "last_visit"
        if key.endswith("_change"):  # most improved first: the most negative change where lower is better
            ascending = self.catalog.records["measures"][key.removesuffix("_change")]["better"] == "lower"
        data = self.data.sort_values(key, ascending=ascending, na_position="last", kind="stable")
        cols = {"patient_id": "Patient", "conditions": "Conditions", "last_visit": "Last visit"}
        for m in key_measures(self.catalog):
            short = self.catalog.records["measures"][m].get("short", m)
            cols[f"{m}_change"] = f"{short} change"
            cols[f"{m}_responder"] = f"{short} responder"
        view = data.rename(columns=cols)
        self.table.value = (
            '<div style="max-height:380px;overflow:auto">'
            + view.style.hide(axis="index").format(na_rep="-", precision=1, escape="html").to_html()
            + "</div>"
        )

    def _clinic(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
        """The store's patients, log and summary: read again only when the store has changed since."""
        return _read_clinic(self.store, self._kept, self.catalog)[1:]

    def refresh(self) -> None:
        """Redraw the table and the charts from the store (read again when it has changed).

        The table and the count come first; inside a kernel the cohort chart follows as soon
        as they are shown (when the page opens or a condition is chosen, a moment later: a
        clinician stepping through conditions never waits for charts skipped over).
        """
        self._refresh(chart_delay=0.0)

    def _refresh(self, chart_delay: float) -> None:
        if self._pending_chart is not None:
            self._pending_chart.cancel()
            self._pending_chart = None
        self._clear_messages()
        self._ahead.touched()  # the other filters' charts are drawn once the clinician stops
        self.progress.layout.visibility = "visible"
        try:
            self.progress.value = 1
            patients, log, summary = self._clinic()
            cond = self.condition.value or None
            self.data = patient_table(log, patients, condition=cond, summary=summary, catalog=self.catalog)
            self.progress.value = 2
            if self.data.empty:
                self.table.value = "<i>No patients match.</i>"
                set_picture(self.chart, b"")
                self.message.show("No patients with this condition yet.", "info")
                return
            self._show_table()
            label = self.condition.label if cond else "all conditions"
            with_entries = log.loc[log["patient_id"].isin(self.data["patient_id"]), "patient_id"].nunique()
            text = f"{len(self.data)} patients ({label})."
            if with_entries != len(self.data):
                text += f" The charts show the {with_entries} with entries."
            key = (self._kept["read"][0], cond or "")
            svg = self._kept["charts"].get(key)
            set_picture(self.chart, svg or b"")  # the old chart never sits under the new table
            if svg is not None:  # drawn before from the same store contents
                self._kept["charts"].move_to_end(key)
                self.message.show(text, "success")
                return
            self.message.show(text + " Drawing the charts...", "success")
        except Exception as exc:  # store unreachable or damaged: say so in the app
            self.message.show(clinic_error(exc, "The overview could not be drawn"), "error")
            return
        finally:
            self.progress.value = 0
            self.progress.layout.visibility = "hidden"

        def draw() -> None:
            self._pending_chart = None
            self._draw_chart(key, (patients, log, summary, self.data, cond), text)

        self._pending_chart = run_later(draw, chart_delay)
        if self._pending_chart is None:  # a script or a test: draw now
            draw()

    def _draw_chart(self, key: tuple, clinic: tuple, text: str) -> None:
        try:
            self._draw_ahead.settle()  # the chart in progress ahead may be this one
            svg = self._kept["charts"].get(key)
            if svg is None:
                svg = _keep_chart(self._kept["charts"], key, _cohort_svg(*clinic, self.catalog))
            set_picture(self.chart, svg)
            self.message.show(text, "success")
        except Exception as exc:
            self.message.show(clinic_error(exc, "The cohort chart could not be drawn"), "error")


class _CohortsAhead(DrawAhead):
    """The overview's idle steps: the other condition filters' cohort charts, one at a time, in the kernel's drawing thread."""

    def __init__(self, overview: ClinicOverview):
        super().__init__()
        self.overview = overview
        self.done: set[tuple] = set()  # filters looked at (their key holds the store revision)

    def situation(self) -> tuple:
        """(store revision, filter shown); the store is read again when its revision changed."""
        o = self.overview
        return _read_clinic(o.store, o._kept, o.catalog)[0], o.condition.value or ""

    def to_draw(self, situation: tuple):
        """The cohort charts of the filters other than the one shown (its own chart is drawn for it)."""
        o = self.overview
        return _cohorts_to_draw(o._kept["read"], o._kept["charts"], o.catalog, skip=situation[1], done=self.done)

    def keep(self, name: tuple, svg: bytes) -> None:
        """Keep a filter's chart, unless the filter was chosen and drew it meanwhile."""
        charts = self.overview._kept["charts"]
        if name not in charts:
            _keep_chart(charts, name, svg)


_KEPT: dict[str, dict] = {}  # store -> {"read": (revision, patients, log, summary), "charts": {(revision, condition): SVG}}


def _kept(store) -> dict:
    """What this kernel's overviews of ``store`` last read and drew (one record per store location)."""
    return _KEPT.setdefault(store_identity(store), {"read": (None, None, None, None), "charts": OrderedDict()})


def _read_clinic(store, kept: dict, catalog) -> tuple:
    """(revision, patients, log, summary) of ``store``: read again only when the store has changed."""
    from sciatica_kit.progress import summarise

    revision = store.revision()  # one small query: a colleague's save or undo changes it
    if kept["read"][0] != revision:
        patients, log = store.patients(), store.read()
        kept["read"] = (revision, patients, log, summarise(log, catalog=catalog) if not log.empty else None)
    return kept["read"]


def _keep_chart(charts: OrderedDict, key: tuple, svg: bytes) -> bytes:
    charts[key] = svg
    charts.move_to_end(key)
    while len(charts) > COHORT_CACHE:
        charts.popitem(last=False)
    return svg


def _cohort_figure(patients: pd.DataFrame, log: pd.DataFrame, summary, data: pd.DataFrame, cond: str | None, catalog):
    """The cohort chart of the patients in ``data`` (a :func:`patient_table`), split by ``cond`` when given, laid out."""
    from sciatica_kit.charts import fixed_layout, plot_cohort

    subset = log[log["patient_id"].isin(data["patient_id"])]
    pts = patients[patients["patient_id"].isin(data["patient_id"])].copy()
    if cond:  # the chart splits by the chosen condition only
        pts["conditions"] = [[cond]] * len(pts)
    return fixed_layout(plot_cohort(subset, conditions=pts, summary=summary, catalog=catalog))  # fixed margins


def _cohort_svg(*clinic) -> bytes:
    """:func:`_cohort_figure` drawn as SVG (no rasterising: a third of a PNG's work)."""
    from sciatica_kit.charts import figure_svg

    return figure_svg(_cohort_figure(*clinic))


@shared_docs
def draw_cohort_charts(store=None, *, catalog=None, stop=None) -> list[str]:
    """Draw and keep the clinic overview's cohort chart for every condition filter.

    A preheated kernel (``make app``) calls this while it waits for its visitor, so the
    overview's first chart and the chart of each condition are ready when the page is opened.
    A chart is kept for the store's contents as they were (its revision): after a colleague's
    save, the overview draws anew.

    Parameters
    ----------
    {app_store}
    {catalog}
    {stop}

    Returns
    -------
    list of str
        The condition filters drawn (``""`` for all conditions).
    """
    from sciatica_kit.charts import figure_svg

    catalog = catalog or load_catalog()
    drawn: list[str] = []
    with given_or_app_store(store) as store:
        kept = _kept(store)
        for key, lay_out in _cohorts_to_draw(_read_clinic(store, kept, catalog), kept["charts"], catalog, stop=stop):
            _keep_chart(kept["charts"], key, figure_svg(lay_out()))
            drawn.append(key[1])
    return drawn


def _cohorts_to_draw(clinic: tuple, charts: OrderedDict, catalog, *, skip: str | None = None,
                     done: set[tuple] | None = None, stop=None):
    """The cohort charts of the condition filters ``charts`` does not hold yet, one at a time.

    ``clinic`` is what :func:`_read_clinic` gives.  Yields ``((revision, condition), lay_out)``:
    ``lay_out()`` gives the Figure (any thread may call it), to be drawn with
    :func:`~sciatica_kit.charts.figure_svg` and kept with :func:`_keep_chart`;
    ``""`` is the filter for all conditions.  Filters without patients, the filter ``skip``
    and those already in ``done`` are passed over; each filter looked at is added to ``done``.
    The one rule for drawing ahead, in a preheated kernel (:func:`draw_cohort_charts`) and
    in an open app (its idle steps).
    """
    revision, patients, log, summary = clinic
    done = set() if done is None else done
    for cond in ["", *catalog.records["conditions"]]:
        key = (revision, cond)
        if key in charts or key in done or cond == skip:
            continue
        if stop is not None and stop.is_set():
            return
        done.add(key)
        data = patient_table(log, patients, condition=cond or None, summary=summary, catalog=catalog)
        if not data.empty:
            yield key, functools.partial(_cohort_figure, patients, log, summary, data, cond or None, catalog)
