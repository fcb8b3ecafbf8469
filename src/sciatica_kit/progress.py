"""Summaries of a tidy log against clinically meaningful thresholds.

For each patient x measure x side: baseline (first value), latest, change,
percent change, improvement in the measure's better direction, whether it
beats the MCID (points *or* percent, as published) and the smallest detectable
change, a weekly trend (least-squares slope), and a responder flag.

Responder: the improvement reaches the MCID (points or percent) *and* the
smallest detectable change (MDC) where both are published, so a change inside
measurement error is never a responder; with only one published, that one; with
neither, unknown (NA).  "Reaches" is "at least" (>=).  ``worse`` uses the same
thresholds in the other direction.
All of it is vectorised so a whole clinic's history summarises in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sciatica_kit._docs import shared_docs
from sciatica_kit.catalog import Catalog, load_catalog
from sciatica_kit.log import check_log

__all__ = ["SUMMARY_COLUMNS", "summarise", "summary_html", "summary_table"]

SUMMARY_COLUMNS = (
    "patient_id", "measure", "side", "n", "first_date", "last_date", "weeks", "baseline", "latest",
    "change", "percent_change", "improvement", "mcid", "beats_mcid", "mdc", "beats_mdc", "worse",
    "trend_per_week", "responder", "basis",
)


@shared_docs
def summarise(log: pd.DataFrame, *, catalog: Catalog | None = None) -> pd.DataFrame:
    """One row per patient x measure x side with change against MCID / MDC.

    Parameters
    ----------
    log
        A tidy log (``patient_id, date, measure, side, value[, note]``).
    {catalog}

    Returns
    -------
    DataFrame
        Columns ``SUMMARY_COLUMNS``.  ``improvement`` is positive when the patient
        got better, whichever direction is better for the measure. ``beats_mcid``,
        ``beats_mdc`` and ``responder`` are nullable booleans (NA where the
        literature gives no threshold).

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"patient_id": ["P1", "P1"], "date": pd.to_datetime(["2026-01-05", "2026-02-02"]),
    ...                     "measure": ["pain", "pain"], "side": ["", ""], "value": [7.0, 4.0]})
    >>> s = summarise(log).iloc[0]
    >>> (float(s["change"]), bool(s["beats_mcid"]), bool(s["responder"]))
    (-3.0, True, True)
    """
    cat = catalog or load_catalog()
    log = check_log(log)
    if log.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in SUMMARY_COLUMNS})
    keys = ["patient_id", "measure", "side"]
    frame = log[[*keys, "date", "value"]]
    agg = _aggregate_fast(frame, keys)  # a missing side counts as "" there too
    if agg is None:
        if frame["side"].isna().any():
            frame = frame.assign(side=frame["side"].fillna(""))
        frame = frame.sort_values([*keys, "date"], kind="stable")
        days = (frame["date"].to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64)).astype(np.float64)
        frame = frame.assign(_x=days, _y=frame["value"].to_numpy(np.float64))
        frame = frame.assign(_xy=frame["_x"] * frame["_y"], _xx=frame["_x"] * frame["_x"])
        agg = _aggregate(frame.groupby(keys, sort=True, observed=True))
    n = agg["n"].to_numpy(np.float64)
    # slope by centred sums: numerically safe for day numbers around 20 000
    mean_x = agg["sx"].to_numpy() / n
    mean_y = agg["sy"].to_numpy() / n
    cov = agg["sxy"].to_numpy() / n - mean_x * mean_y
    var = agg["sxx"].to_numpy() / n - mean_x * mean_x
    with np.errstate(divide="ignore", invalid="ignore"):
        slope_per_day = np.where((n >= 2) & (var > 1e-9), cov / var, np.nan)
    out = agg.reset_index()[keys + ["n", "first_date", "last_date", "baseline", "latest"]]
    out["weeks"] = (out["last_date"] - out["first_date"]).dt.days / 7.0
    out["change"] = out["latest"] - out["baseline"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(out["baseline"].to_numpy() != 0, out["change"].to_numpy() / out["baseline"].to_numpy() * 100.0, np.nan)
    out["percent_change"] = pct

    reg = cat.records["measures"]
    measure = out["measure"].astype(str)
    sign = measure.map({m: (-1.0 if v["better"] == "lower" else 1.0) for m, v in reg.items()}).to_numpy(np.float64)
    mcid_pts = measure.map({m: v["mcid_points"] for m, v in reg.items()}).to_numpy(np.float64)
    mcid_pct = measure.map({m: v["mcid_percent"] for m, v in reg.items()}).to_numpy(np.float64)
    mdc = measure.map({m: v["mdc"] for m, v in reg.items()}).to_numpy(np.float64)
    improvement = out["change"].to_numpy() * sign
    improvement_pct = pct * sign
    out["improvement"] = improvement
    out["mcid"] = measure.map({m: _mcid_text(v["mcid_points"], v["mcid_percent"]) for m, v in reg.items()}).to_numpy(object)
    has_mcid = ~np.isnan(mcid_pts) | ~np.isnan(mcid_pct)
    has_mdc = ~np.isnan(mdc)
    with np.errstate(invalid="ignore"):
        beats_pts = np.where(np.isnan(mcid_pts), False, improvement >= mcid_pts - 1e-9)
        beats_pct = np.where(np.isnan(mcid_pct) | np.isnan(improvement_pct), False, improvement_pct >= mcid_pct - 1e-9)
        beats_mdc = np.where(has_mdc, improvement >= mdc - 1e-9, False)
        worse_pts = np.where(np.isnan(mcid_pts), False, -improvement >= mcid_pts - 1e-9)
        worse_pct = np.where(np.isnan(mcid_pct) | np.isnan(improvement_pct), False, -improvement_pct >= mcid_pct - 1e-9)
        worse_mdc = np.where(has_mdc, -improvement >= mdc - 1e-9, False)
    single = out["n"].to_numpy() < 2
    beats_mcid = beats_pts | beats_pct
    worse_mcid = worse_pts | worse_pct
    out["beats_mcid"] = _nullable(beats_mcid, ~has_mcid | single)
    out["mdc"] = mdc
    out["beats_mdc"] = _nullable(beats_mdc, ~has_mdc | single)
    unknown = (~has_mcid & ~has_mdc) | single
    # both published: both must be reached; one published: that one
    worse = np.where(has_mcid & has_mdc, worse_mcid & worse_mdc, np.where(has_mcid, worse_mcid, worse_mdc))
    out["worse"] = _nullable(worse, unknown)
    out["trend_per_week"] = slope_per_day * 7.0
    responder = np.where(has_mcid & has_mdc, beats_mcid & beats_mdc, np.where(has_mcid, beats_mcid, beats_mdc))
    out["responder"] = _nullable(responder, unknown)
    out["basis"] = np.where(has_mcid & has_mdc, "MCID and MDC", np.where(has_mcid, "MCID", np.where(has_mdc, "MDC", "no published threshold")))
    return out[list(SUMMARY_COLUMNS)]


@shared_docs
def summary_table(summary: pd.DataFrame, *, short_names: bool = False, catalog: Catalog | None = None) -> pd.DataFrame:
    """The summary as a clinician reads it: measure names, the threshold used, responder in words.

    One renderer for every place that shows a summary (reports, apps, exports).

    Parameters
    ----------
    summary
        The result of :func:`summarise`.
    short_names : bool, optional
        The measures' short names (``short`` in ``measures.toml``, e.g. "ODI") for a compact view
        beside a form that already spells them out; default the full names.
    {catalog}

    Returns
    -------
    DataFrame
        Columns ``Measure, Side, Entries, Baseline, Latest, Change, Change (%), Threshold, Responder``.
        ``Threshold`` names what the responder call rests on (the MCID, else the smallest
        detectable change), so "no MCID published" never stands beside a bare "yes".

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"patient_id": ["P1", "P1"], "date": pd.to_datetime(["2026-01-05", "2026-02-02"]),
    ...                     "measure": ["pain", "pain"], "side": ["", ""], "value": [7.0, 4.0]})
    >>> summary_table(summarise(log))[["Measure", "Threshold", "Responder"]].to_dict("records")
    [{'Measure': 'Pain (NPRS)', 'Threshold': 'MCID 2 points or 30% and smallest detectable change 2', 'Responder': 'yes'}]
    """
    cat = catalog or load_catalog()
    names = {m: (r.get("short") or r["name"]) if short_names else r["name"] for m, r in cat.records["measures"].items()}

    def threshold(row) -> str:
        if row["basis"] == "MCID and MDC":
            return f"MCID {row['mcid']} and smallest detectable change {row['mdc']:g}"
        if row["basis"] == "MCID":
            return f"MCID {row['mcid']}"
        if row["basis"] == "MDC":
            return f"smallest detectable change {row['mdc']:g} (no MCID published)"
        return "none published"

    words = {True: "yes", False: "no"}
    return pd.DataFrame({
        "Measure": summary["measure"].map(names).fillna(summary["measure"]).to_numpy(object),
        "Side": summary["side"].to_numpy(object),
        "Entries": summary["n"].to_numpy(),
        "Baseline": summary["baseline"].to_numpy(float),
        "Latest": summary["latest"].to_numpy(float),
        "Change": summary["change"].to_numpy(float),
        "Change (%)": summary["percent_change"].to_numpy(float),
        "Threshold": [threshold(r) for _, r in summary.iterrows()] if len(summary) else [],
        "Responder": [("-" if pd.isna(v) else words[bool(v)]) for v in summary["responder"]],
    })


def summary_html(table: pd.DataFrame, *, columns: Sequence[str] | None = None) -> str:
    """A :func:`summary_table` as an HTML table: the one look of a summary in apps and reports.

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :func:`summary_table`.
    columns : sequence of str, optional
        The columns to show, in order (default: all).

    Returns
    -------
    str
        An HTML ``<table class="sk-summary">``; every text is escaped, numbers have one decimal,
        missing values show as "-".

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"Measure": ["<b>Pain</b>"], "Change": [-3.0]})
    >>> "&lt;b&gt;Pain" in summary_html(t) and "-3.0" in summary_html(t)
    True
    """
    view = table if columns is None else table[list(columns)]
    return view.to_html(index=False, na_rep="-", escape=True, border=0, classes="sk-summary",
                        float_format=lambda v: f"{v:.1f}")


def _aggregate(g) -> pd.DataFrame:
    """Per group: size, first/last date and value (in date order) and the sums for the slope."""
    return g.agg(
        n=("_y", "size"),
        first_date=("date", "first"),
        last_date=("date", "last"),
        baseline=("_y", "first"),
        latest=("_y", "last"),
        sx=("_x", "sum"),
        sy=("_y", "sum"),
        sxy=("_xy", "sum"),
        sxx=("_xx", "sum"),
    )


def _aggregate_fast(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame | None:
    """The same as sorting by keys and date then grouping, without sorting by the text keys.

    Each key is encoded once as integers in sorted order, giving one integer per patient x
    measure x side.  When every sum is exact (:func:`_aggregate_exact`) no row is moved;
    otherwise the rows are put in group-then-date order with a linear-time radix sort, the
    layout the full path's grouping sums over, so results are bit-for-bit the same.  None
    (use the full path) for anything unusual: missing keys, dates or values, non-text keys.
    """
    date, value = frame["date"], frame["value"]
    if not (isinstance(date.dtype, np.dtype) and date.dtype.kind == "M" and isinstance(value.dtype, np.dtype) and value.dtype.kind == "f"):
        return None
    stamps = date.to_numpy()
    y = value.to_numpy(np.float64)
    if np.isnat(stamps).any() or np.isnan(y).any():
        return None
    codes, uniques = [], []
    for k in keys:
        column = frame[k]
        if k == "side" and column.isna().any():
            column = column.fillna("")
        if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
            c, u = _factorize_arrow(column)
        else:
            c, u = _factorize_sorted(column.to_numpy(dtype=object))
        u = np.asarray(u, dtype=object)
        if (c < 0).any() or not all(isinstance(v, str) for v in u):
            return None
        codes.append(c)
        uniques.append(u)
    sizes = [len(u) for u in uniques]
    if float(sizes[0]) * sizes[1] * sizes[2] >= 2.0**62:
        return None
    unit, step = np.datetime_data(stamps.dtype)
    if unit not in ("D", "h", "m", "s", "ms", "us", "ns") or np.timedelta64(1, "D") % np.timedelta64(step, unit):
        stamps, unit, step = stamps.astype("datetime64[ns]"), "ns", 1
    ns = stamps.view(np.int64)  # ticks of the column's own unit (no copy); same order as the dates
    per_day = int(np.timedelta64(1, "D") // np.timedelta64(step, unit))
    day = ns // per_day  # calendar day, as datetime64[D] gives it (rounded down)
    gid = codes[0]  # (codes0 * size1 + codes1) * size2 + codes2, in place: no 11M-row temporaries
    gid *= sizes[1]
    gid += codes[1]
    gid *= sizes[2]
    gid += codes[2]
    del codes
    agg = _aggregate_exact(gid, stamps, ns, day.astype(np.float64), y)
    if agg is None:
        if (ns % per_day == 0).all():
            rank, n_ranks = day - day.min(), int(day.max() - day.min()) + 1  # dates only, no time of day
        else:
            rank = pd.factorize(ns, sort=True)[0]
            n_ranks = int(rank.max()) + 1
        if float(gid.max() + 1) * n_ranks >= 2.0**62:
            return None
        # rows sorted by group then date, stably: pandas' sums then see exactly the full path's layout
        order = _stable_order(gid * n_ranks + rank)
        x = day.astype(np.float64)[order]
        y = y[order]
        rows = pd.DataFrame({"date": stamps[order], "_x": x, "_y": y, "_xy": x * y, "_xx": x * x}, copy=False)
        agg = _aggregate(rows.groupby(gid[order], sort=True))
    g = agg.index.to_numpy(np.int64)
    parts = [g // (sizes[1] * sizes[2]), g // sizes[2] % sizes[1], g % sizes[2]]
    agg.index = pd.MultiIndex.from_arrays([u[p] for u, p in zip(uniques, parts, strict=True)], names=keys)
    return agg


def _aggregate_exact(gid: np.ndarray, stamps: np.ndarray, ns: np.ndarray, x: np.ndarray, y: np.ndarray) -> pd.DataFrame | None:
    """:func:`_aggregate` by group number without moving any row, when every sum is exact.

    Whole values (or halves, quarters...) of moderate size add up exactly in float64, so the
    sums cannot depend on the order of adding.  First/last are the rows with the earliest and
    latest date of each group (on a tie the first and the last row, as the stable sort keeps
    them).  None when the values could round.
    """
    n = len(gid)
    n_groups = int(gid.max()) + 1
    if n_groups > max(4 * n, 1 << 16):
        return None
    work = np.empty_like(y)  # one scratch array for the row-sized temporaries below
    for scale in (1.0, 2.0, 4.0, 8.0, 16.0):
        scaled = y if scale == 1.0 else y * scale
        if (np.rint(scaled, out=work) == scaled).all():
            break
    else:
        return None
    count = np.bincount(gid, minlength=n_groups)
    top_x = max(abs(float(x.max())), abs(float(x.min())))
    top_y = max(abs(float(y.max())), abs(float(y.min()))) * scale
    if max(top_x * top_y, top_x * top_x, top_x, top_y) * float(count.max()) >= 2.0**53:
        return None
    present = np.flatnonzero(count)
    first_ns = np.full(n_groups, np.iinfo(np.int64).max)
    np.minimum.at(first_ns, gid, ns)
    last_ns = np.full(n_groups, np.iinfo(np.int64).min)
    np.maximum.at(last_ns, gid, ns)
    stamp = work.view(np.int64)
    at = np.flatnonzero(ns == np.take(first_ns, gid, out=stamp, mode="clip"))
    first = np.full(n_groups, n)
    np.minimum.at(first, gid[at], at)
    at = np.flatnonzero(ns == np.take(last_ns, gid, out=stamp, mode="clip"))
    last = np.full(n_groups, -1)
    np.maximum.at(last, gid[at], at)
    first, last = first[present], last[present]

    def total(w: np.ndarray, signed: bool = True) -> np.ndarray:
        s = np.bincount(gid, weights=w, minlength=n_groups)
        if signed:
            negative = np.signbit(w)
            if negative.any() and (negative_zero := negative & (w == 0)).any():
                # adding nothing but -0.0 in order gives -0.0, not 0.0
                s = np.where(np.bincount(gid, weights=negative_zero, minlength=n_groups) == count, -0.0, s)
        return s[present]

    return pd.DataFrame(
        {
            "n": count[present], "first_date": stamps[first], "last_date": stamps[last], "baseline": y[first], "latest": y[last],
            "sx": total(x, signed=False), "sy": total(y), "sxy": total(np.multiply(x, y, out=work)),
            "sxx": total(np.multiply(x, x, out=work), signed=False),
        },
        index=present,
    )


def _factorize_arrow(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(column, sort=True)`` for Arrow text: Arrow encodes, only the distinct texts are sorted."""
    text = pa.array(column)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    encoded = pc.dictionary_encode(text)
    texts = encoded.dictionary.to_numpy(zero_copy_only=False)
    order = np.argsort(texts, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    indices = encoded.indices
    if indices.null_count:
        return np.full(len(column), -1, dtype=np.intp), texts[order]  # missing text: the caller takes the full path
    return rank[indices.to_numpy()], texts[order]


def _factorize_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=True)``, quicker when equal values come in runs.

    A patient's rows usually sit together (and a column of sides is often all empty): then
    only the first value of each run is looked up, and its code repeated over the run.
    """
    n = len(values)
    sample = values[:4097]
    try:
        if n > 1 and (sample[1:] != sample[:-1]).sum() * 16 <= len(sample):
            starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
            if len(starts) * 8 <= n:
                codes, uniques = pd.factorize(values[starts], sort=True)
                return np.repeat(codes, np.diff(np.append(starts, n))), uniques
    except (TypeError, ValueError):  # cells that cannot be compared one to one: look every one up
        pass
    return pd.factorize(values, sort=True)


def _stable_order(key: np.ndarray) -> np.ndarray | slice:
    """A stable argsort of non-negative int64 keys in linear time (radix passes over 16-bit digits)."""
    if len(key) < 2 or (key[1:] >= key[:-1]).all():
        return slice(None)  # already in order
    order = None
    top, shift = int(key.max()), 0
    while True:
        digit = (((key if order is None else key[order]) >> shift) & 0xFFFF).astype(np.uint16)
        step = np.argsort(digit, kind="stable")  # numpy sorts 16-bit integers by radix
        order = step if order is None else order[step]
        shift += 16
        if top >> shift == 0:
            return order


def _nullable(values: np.ndarray, missing: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), np.asarray(missing, dtype=bool))


def _mcid_text(points: float, percent: float) -> str:
    parts = []
    if not np.isnan(points):
        parts.append(f"{points:g} points")
    if not np.isnan(percent):
        parts.append(f"{percent:g}%")
    return " or ".join(parts) if parts else "not published"
