"""Summaries of a tidy log against clinically meaningful thresholds.

For each patient x measure x side: baseline (first value), latest, change,
percent change, improvement in the measure's better direction, whether it
beats the MCID (points *or* percent, as published) and the smallest detectable
change, a weekly trend (least-squares slope), and a responder flag.

Responder: the improvement reaches the MCID where one is published; where none
is, it exceeds the smallest detectable change; otherwise it is unknown (NA).
All of it is vectorised so a whole clinic's history summarises in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sciatica_kit.catalog import Catalog, load_catalog

__all__ = ["SUMMARY_COLUMNS", "summarise"]

SUMMARY_COLUMNS = (
    "patient_id", "measure", "side", "n", "first_date", "last_date", "weeks", "baseline", "latest",
    "change", "percent_change", "improvement", "mcid", "beats_mcid", "mdc", "beats_mdc", "worse",
    "trend_per_week", "responder", "basis",
)


def summarise(log: pd.DataFrame, *, catalog: Catalog | None = None) -> pd.DataFrame:
    """One row per patient x measure x side with change against MCID / MDC.

    Parameters
    ----------
    log
        A tidy log (``patient_id, date, measure, side, value[, note]``).

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
    >>> (s["change"], bool(s["beats_mcid"]), bool(s["responder"]))
    (-3.0, True, True)
    """
    cat = catalog or load_catalog()
    if log.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in SUMMARY_COLUMNS})
    keys = ["patient_id", "measure", "side"]
    frame = log[[*keys, "date", "value"]]
    if frame["side"].isna().any():
        frame = frame.assign(side=frame["side"].fillna(""))
    frame = frame.sort_values([*keys, "date"], kind="stable")
    days = (frame["date"].to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64)).astype(np.float64)
    frame = frame.assign(_x=days, _y=frame["value"].to_numpy(np.float64))
    frame = frame.assign(_xy=frame["_x"] * frame["_y"], _xx=frame["_x"] * frame["_x"])
    g = frame.groupby(keys, sort=True, observed=True)
    agg = g.agg(
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
    with np.errstate(invalid="ignore"):
        beats_pts = np.where(np.isnan(mcid_pts), False, improvement >= mcid_pts - 1e-9)
        beats_pct = np.where(np.isnan(mcid_pct) | np.isnan(improvement_pct), False, improvement_pct >= mcid_pct - 1e-9)
        beats_mdc = improvement > mdc
        worse_mcid = np.where(np.isnan(mcid_pts), False, -improvement >= mcid_pts - 1e-9)
        worse_mdc = -improvement > mdc
    single = out["n"].to_numpy() < 2
    out["beats_mcid"] = _nullable(beats_pts | beats_pct, ~has_mcid | single)
    out["mdc"] = mdc
    out["beats_mdc"] = _nullable(beats_mdc, np.isnan(mdc) | single)
    out["worse"] = _nullable(np.where(has_mcid, worse_mcid, worse_mdc), (~has_mcid & np.isnan(mdc)) | single)
    out["trend_per_week"] = slope_per_day * 7.0
    responder = np.where(has_mcid, beats_pts | beats_pct, beats_mdc)
    out["responder"] = _nullable(responder, (~has_mcid & np.isnan(mdc)) | single)
    out["basis"] = np.where(has_mcid, "MCID", np.where(np.isnan(mdc), "no published threshold", "MDC"))
    return out[list(SUMMARY_COLUMNS)]


def _nullable(values: np.ndarray, missing: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), np.asarray(missing, dtype=bool))


def _mcid_text(points: float, percent: float) -> str:
    parts = []
    if not np.isnan(points):
        parts.append(f"{points:g} points")
    if not np.isnan(percent):
        parts.append(f"{percent:g}%")
    return " or ".join(parts) if parts else "not published"
