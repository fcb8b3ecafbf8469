"""Progress and cohort charts: what is drawn, not how it looks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib import dates as mdates
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle

import sciatica_kit as sk
from sciatica_kit.charts import DENSE_ENTRIES
from sciatica_kit.demo import demo_daily_log, demo_log
from tidy_logs import tidy as log_of

VISITS = log_of(
    [
        ("P1", "2026-01-05", "pain", "", 7),
        ("P1", "2026-01-19", "pain", "", 5),
        ("P1", "2026-02-16", "pain", "", 3),
        ("P1", "2026-01-05", "slr", "left", 35),
        ("P1", "2026-01-19", "slr", "left", 45),
        ("P1", "2026-02-16", "slr", "left", 60),
        ("P1", "2026-01-05", "slr", "right", 80),
        ("P1", "2026-02-16", "slr", "right", 82),
        ("P1", "2026-01-05", "odi", "", 42),
        ("P1", "2026-02-16", "odi", "", 24),
        ("P2", "2026-01-06", "pain", "", 9),
    ]
)


def visible_axes(fig: Figure):
    return [ax for ax in fig.axes if ax.get_visible()]


def panel(fig: Figure, title_start: str):
    (ax,) = [ax for ax in visible_axes(fig) if ax.get_title(loc="left").startswith(title_start)]
    return ax


def hlines(ax, style: str) -> list[float]:
    """y of horizontal lines drawn with the given linestyle (axhline: constant y over the axes)."""
    out = []
    for line in ax.lines:
        y = np.asarray(line.get_ydata(), dtype=float)
        if (
            line.get_linestyle() == style
            and len(y) == 2
            and y[0] == y[1]
            and list(line.get_xdata()) == [0, 1]
        ):
            out.append(float(y[0]))
    return out


def vlines(ax) -> list[float]:
    out = []
    for line in ax.lines:
        if line.get_linestyle() == ":" and list(line.get_ydata()) == [0, 1]:
            x = ax.convert_xunits(line.get_xdata()[0])
            out.append(float(x))
    return out


def bands(ax) -> list[tuple[float, float]]:
    """The horizontal bands (axhspan) of a panel: a Rectangle from matplotlib 3.9, a Polygon in 3.8 (our minimum)."""
    spans = []
    for p in ax.patches:
        if isinstance(p, Rectangle):
            spans.append((p.get_y(), p.get_y() + p.get_height()))
        elif isinstance(p, Polygon):
            ys = p.get_xy()[:, 1]
            spans.append((ys.min(), ys.max()))
    return sorted((round(float(lo), 6), round(float(hi), 6)) for lo, hi in spans)


def test_one_visible_panel_per_measure_in_clinical_order():
    fig = sk.plot_progress(VISITS, "P1")
    assert isinstance(fig, Figure)
    titles = [ax.get_title(loc="left") for ax in visible_axes(fig)]
    assert titles == [
        "Pain (NPRS) (0-10)",
        "Oswestry Disability Index (%)",
        "Straight leg raise (°)",
    ]
    assert len(fig.axes) == 3  # a 2 x 2 grid: no spare panel is built
    assert fig.get_suptitle() == "Progress: P1"


def test_measures_argument_chooses_and_orders_the_panels():
    fig = sk.plot_progress(VISITS, "P1", measures=["slr", "pain"])
    titles = [ax.get_title(loc="left") for ax in visible_axes(fig)]
    assert titles == ["Straight leg raise (°)", "Pain (NPRS) (0-10)"]


def test_unknown_measure_lists_the_valid_ids():
    with pytest.raises(ValueError) as err:
        sk.plot_progress(VISITS, "P1", measures=["pian"])
    text = str(err.value)
    assert "Did you mean 'pain'?" in text
    assert (
        "adherence, back_pain, fingertip_floor, leg_pain, lumbar_flexion, odi, pain, rmdq, sbi, schober, slr, start_back"
        in text
    )
    with pytest.raises(ValueError, match="Valid measures: adherence"):
        sk.plot_cohort(VISITS, measures=["pain", "oswestry"])


def test_pain_panel_has_baseline_and_mcid_band():
    ax = panel(sk.plot_progress(VISITS, "P1"), "Pain")
    assert hlines(ax, "--") == [7.0]
    assert bands(ax) == [(5.0, 9.0)]  # baseline 7 +- MCID 2
    data = [line for line in ax.lines if line.get_linestyle() == "-"]
    assert len(data) == 1
    assert list(data[0].get_ydata()) == [7.0, 5.0, 3.0]
    assert ax.get_ylim()[0] < 0 < 10 < ax.get_ylim()[1]


def test_band_is_clipped_to_the_measure_range():
    log = log_of([("P1", "2026-01-05", "pain", "", 9.0), ("P1", "2026-01-12", "pain", "", 8.0)])
    ax = panel(sk.plot_progress(log, "P1"), "Pain")
    assert bands(ax) == [(7.0, 10.0)]


def test_slr_panel_has_zone_both_sides_and_a_legend():
    ax = panel(sk.plot_progress(VISITS, "P1"), "Straight leg raise")
    # the 30-70 degree zone, and one MDC band (from the catalogue) around each side's baseline, within 0-90
    mdc = sk.load_catalog().records["measures"]["slr"]["mdc"]
    assert bands(ax) == sorted([(35.0 - mdc, 35.0 + mdc), (30.0, 70.0), (80.0 - mdc, min(90.0, 80.0 + mdc))])
    assert sorted(hlines(ax, "--")) == [35.0, 80.0]
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["left", "right"]
    series = {
        line.get_label(): list(line.get_ydata())
        for line in ax.lines
        if line.get_label() in ("left", "right")
    }
    assert series == {"left": [35.0, 45.0, 60.0], "right": [80.0, 82.0]}


def test_programme_markers_at_the_given_dates():
    starts = [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-02-02"), pd.Timestamp("2027-06-01")]
    fig = sk.plot_progress(VISITS, "P1", programmes=starts)
    expected = sorted(
        mdates.date2num(d) for d in starts[:2]
    )  # a date far outside the entries is left out
    for ax in visible_axes(fig):
        assert sorted(vlines(ax)) == expected


def test_programme_markers_from_the_store(tmp_path):
    store = sk.Store(tmp_path / "kit.sqlite")
    store.add(VISITS)
    store.save_programme(
        "P1",
        sk.build_programme(["sciatica"]).with_details(created=pd.Timestamp("2026-01-19").date()),
    )
    fig = sk.plot_progress(store.read(), "P1", programmes=store.programmes("P1"))
    assert vlines(panel(fig, "Pain")) == [mdates.date2num(pd.Timestamp("2026-01-19"))]
    store.close()


def test_rolling_mean_only_when_entries_are_dense():
    dense = demo_daily_log(1, days=DENSE_ENTRIES + 1, measures=("pain",))
    sparse = demo_daily_log(1, days=DENSE_ENTRIES, measures=("pain",))
    pid = dense["patient_id"].iloc[0]
    ax_dense = panel(sk.plot_progress(dense, pid), "Pain")
    ax_sparse = panel(sk.plot_progress(sparse, pid), "Pain")
    assert [line.get_label() for line in ax_dense.lines].count("7-day mean") == 1
    assert "7-day mean" not in [line.get_label() for line in ax_sparse.lines]
    (mean,) = [line for line in ax_dense.lines if line.get_label() == "7-day mean"]
    values = dense.sort_values("date")["value"].to_numpy()
    assert mean.get_ydata()[6] == pytest.approx(values[:7].mean())
    assert mean.get_ydata()[0] == values[0]


def test_a_single_entry_is_charted():
    log = log_of([("P1", "2026-01-05", "pain", "", 6.0)])
    fig = sk.plot_progress(log, "P1")
    (ax,) = visible_axes(fig)
    assert hlines(ax, "--") == [6.0]
    assert bands(ax) == [(4.0, 8.0)]
    lo, hi = ax.get_xlim()
    assert lo < mdates.date2num(pd.Timestamp("2026-01-05")) < hi


def test_gaps_between_visits_and_measures_taken_on_different_days():
    log = log_of(
        [
            ("P1", "2025-03-01", "pain", "", 8),
            ("P1", "2026-03-01", "pain", "", 4),
            ("P1", "2025-09-01", "fingertip_floor", "", 30),
        ]
    )
    fig = sk.plot_progress(log, "P1")
    axes = visible_axes(fig)
    assert len(axes) == 2
    assert axes[0].get_xlim() == axes[1].get_xlim()  # one time axis for every panel
    ftf = panel(fig, "Fingertip")
    assert bands(ftf) == [(20.2, 39.8)]  # no MCID: the 9.8 cm detectable change


def test_three_years_of_daily_entries():
    log = demo_daily_log(3, days=3 * 365)
    pid = log["patient_id"].iloc[0]
    fig = sk.plot_progress(log, pid)  # its speed is a `make bench` figure (plot)
    axes = visible_axes(fig)
    assert len(axes) == 3
    for ax in axes:
        raw = [line for line in ax.lines if len(line.get_xdata()) == 3 * 365]
        assert len(raw) == 2  # the entries, faint, and their 7-day mean


def test_patient_without_entries_gets_a_message():
    fig = sk.plot_progress(VISITS, "P404")
    (ax,) = visible_axes(fig)
    assert [t.get_text() for t in ax.texts] == ["No entries yet for P404"]


def test_fig_is_reused_and_cleared():
    fig = Figure()
    fig.add_subplot(3, 3, 1)
    out = sk.plot_progress(VISITS, "P1", measures=["pain"], fig=fig)
    assert out is fig
    assert len(fig.axes) == 1
    again = sk.plot_progress(VISITS, "P2", fig=fig)
    assert again is fig and len(fig.axes) == 1
    assert hlines(fig.axes[0], "--") == [9.0]


def test_png_files(tmp_path):
    progress = tmp_path / "progress.png"
    cohort = tmp_path / "cohort.png"
    sk.plot_progress(VISITS, "P1").savefig(progress, dpi=60)
    sk.plot_cohort(demo_log(8)).savefig(cohort, dpi=60)
    for path in (progress, cohort):
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 10_000


# --------------------------------------------------------------------------- cohort


def _bar_axis(fig: Figure):
    return fig.axes[0]


def test_cohort_without_conditions():
    log = demo_log(12)
    fig = sk.plot_cohort(log)
    assert isinstance(fig, Figure)
    assert fig.get_suptitle() == "Clinic overview: 12 patients"
    bar = _bar_axis(fig)
    assert [t.get_text() for t in bar.get_legend().get_texts()] == ["all patients"]
    summary = sk.summarise(log)
    summary = summary[summary["responder"].notna()]
    expected = summary.groupby("measure")["responder"].mean().mul(100)
    labels = [t.get_text() for t in bar.get_xticklabels()]
    heights = [p.get_height() for p in bar.patches]
    assert len(heights) == len(labels)
    reg = sk.load_catalog().records["measures"]
    short = {reg[m]["short"]: m for m in reg}
    for label, h in zip(labels, heights, strict=True):
        assert h == pytest.approx(expected[short[label.split(":")[0]]])
    # median trajectory panels for the key measures present in the log (overview = true, catalogue order)
    assert [ax.get_title(loc="left") for ax in fig.axes[1:]] == [
        "Pain: median",
        "Leg pain: median",
        "ODI: median",
        "RMDQ: median",
    ]


def test_cohort_per_side_measures_say_they_count_legs():
    log = demo_log(12)
    summary = sk.summarise(log)
    slr = summary[(summary["measure"] == "slr") & summary["responder"].notna()]
    n_legs, n_patients = len(slr), slr["patient_id"].nunique()
    assert n_legs > n_patients  # both legs measured: counting rows would overstate patients
    fig = sk.plot_cohort(log, measures=("pain", "slr"))
    bar = _bar_axis(fig)
    labels = [t.get_text() for t in bar.get_xticklabels()]
    assert f"SLR: {n_legs} legs\nof {n_patients} patients" in labels
    assert not any("legs" in label for label in labels if not label.startswith("SLR"))  # pain counts patients
    counts = [t.get_text() for t in bar.texts]
    assert f"{n_legs} legs" in counts and "n=12" in counts
    assert fig.axes[2].get_title(loc="left") == "SLR: median (legs averaged per patient)"


def test_cohort_split_by_condition():
    log = demo_log(12)
    conditions = {
        f"DEMO-{i:03d}": (["sciatica"] if i % 2 else ["spinal_stenosis"]) for i in range(1, 13)
    }
    conditions["DEMO-012"] = []
    fig = sk.plot_cohort(log, conditions=conditions, measures=("pain",))
    names = [t.get_text() for t in _bar_axis(fig).get_legend().get_texts()]
    cat = sk.load_catalog()
    assert names == [
        "(none saved)",
        cat.records["conditions"]["sciatica"]["name"],
        cat.records["conditions"]["spinal_stenosis"]["name"],
    ]
    assert len(fig.axes) == 2


def test_cohort_from_the_store_patients_table(tmp_path):
    store = sk.seed_demo_store(sk.Store(tmp_path / "kit.sqlite"), n_patients=8)
    fig = sk.plot_cohort(store.read(), conditions=store.patients())
    names = [t.get_text() for t in _bar_axis(fig).get_legend().get_texts()]
    cat = sk.load_catalog()
    saved = {c for conds in store.patients()["conditions"] for c in conds}
    assert len(saved) == 8
    # one legend entry per condition of the latest saved programmes (ordered by condition id)
    assert names == [cat.records["conditions"][c]["name"] for c in sorted(saved)]
    store.close()


def test_cohort_of_an_empty_log():
    fig = sk.plot_cohort(sk.Store().read())
    assert fig.get_suptitle() == "Clinic overview"
    assert [t.get_text() for t in fig.axes[0].texts] == ["No entries in the store yet"]


def test_cohort_reuses_fig():
    fig = Figure()
    old = fig.add_subplot(1, 1, 1)
    assert sk.plot_cohort(demo_log(6), fig=fig, measures=("pain", "odi")) is fig
    assert old not in fig.axes
    assert len(fig.axes) == 3  # responders bar chart + two median trajectories
    medians = [
        line
        for line in fig.axes[1].lines
        if isinstance(line, Line2D) and line.get_label() == "median"
    ]
    assert len(medians) == 1


def test_cohort_says_when_too_few_patients_for_a_median():
    """Three patients all in week 0 only: no line can be drawn, so the panel says why."""
    log = pd.DataFrame({
        "patient_id": ["P1", "P2", "P3"], "date": pd.to_datetime(["2026-01-05"] * 3),
        "measure": ["pain"] * 3, "side": [""] * 3, "value": [5.0, 6.0, 7.0], "note": [""] * 3,
    })
    fig = sk.plot_cohort(log, measures=("pain",))
    texts = [t.get_text() for ax in fig.axes[1:] for t in ax.texts]
    assert any("Too few patients" in t for t in texts)
    many = sk.demo_log(12)
    fig = sk.plot_cohort(many, measures=("pain",))
    assert not any("Too few patients" in t.get_text() for ax in fig.axes[1:] for t in ax.texts)
    assert fig.axes[1].lines and len(fig.axes[1].lines[0].get_xdata()) >= 2


def test_plot_measure_draws_one_measure_on_the_callers_axes():
    """The public one-panel helper: data first, ax= in, the same Axes back; plot_progress is built from it."""
    from matplotlib.figure import Figure

    log = demo_log(3)
    pid = log["patient_id"].iloc[0]
    fig = Figure()
    ax = fig.add_subplot()
    got = sk.plot_measure(log, pid, "pain", ax=ax)
    assert got is ax
    drawn = [line for line in ax.get_lines() if len(line.get_xdata()) > 1]
    expected = log[(log["patient_id"] == pid) & (log["measure"] == "pain")]
    assert any(len(line.get_ydata()) == len(expected) and list(line.get_ydata()) == expected["value"].tolist() for line in drawn)
    whole = sk.plot_progress(log, pid, ["pain"])
    assert [a.get_title(loc="left") for a in visible_axes(whole)] == [ax.get_title(loc="left")]
    with pytest.raises(ValueError, match="pian"):
        sk.plot_measure(log, pid, "pian")
    with pytest.raises(sk.LogError, match="dates are text"):
        sk.plot_measure(log.assign(date=log["date"].astype(str)), pid, "pain")


def test_panels_build_ticks_only_for_what_they_show():
    """Matplotlib builds a tick for every location a locator gives, drawn or not; the progress
    panels ask only for ticks inside their view (the costliest part of a clinic's reports)."""
    fig = sk.plot_progress(VISITS, "P1")
    sk.charts.figure_svg(sk.charts.fixed_layout(fig))
    for ax in visible_axes(fig):
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            locs = axis.get_majorticklocs()
            assert len(locs) >= 3 and all(lo <= t <= hi for t in locs)
            assert len(axis.majorTicks) == len(locs)  # no tick built beyond those shown
    assert [t.get_text() for t in visible_axes(fig)[0].get_yticklabels()] == ["0", "2", "4", "6", "8", "10"]
