"""Seeded synthetic demo patients: no real person is in any of it.

Trajectories follow a few clinical shapes - improvers, slow improvers,
non-responders, a flare-up mid-course, and patients who miss visits - so the
notebooks show real charts from the first open, and tests and benchmarks can
ask for any size.  The same seed always gives the same patients.

    python -m sciatica_kit.demo --write data/demo/demo_visits.csv
    python -m sciatica_kit.demo --seed-store          # the demo store (never the clinic store)

Demo patients live in their own demo store (``$SCIATICA_KIT_DEMO_STORE``, else
``sciatica-kit/demo-store.sqlite`` in the user's data folder).  They enter another
store only when someone names it: ``seed_demo_store(store)`` or ``--seed-store --store PATH``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sciatica_kit._docs import shared_docs
from sciatica_kit.log import conform_log

__all__ = [
    "DEMO_SEED", "DEMO_STORE_ENV", "demo_daily_log", "demo_log", "demo_patients", "demo_store_path", "open_demo_store",
    "seed_demo_store",
]

DEMO_SEED = 20260105
DEMO_STORE_ENV = "SCIATICA_KIT_DEMO_STORE"
ANCHOR = pd.Timestamp("2026-01-05")  # first demo visit; every demo date lies in 2026-01 .. 2026-09
PROFILES = ("improver", "improver", "slow_improver", "non_responder", "flare_up", "missed_visits")
CONDITION_SETS = (
    ("sciatica", "herniated_disc"),
    ("spinal_stenosis",),
    ("piriformis_syndrome",),
    ("axial_back_pain",),
    ("sciatica",),
    ("degenerative_disc",),
    ("femoral_nerve_pain",),
    ("spondylolisthesis",),
)
NOTES = ("walking further", "sleeping better", "busy week, fewer sessions", "flare after gardening", "happy with progress", "")


@shared_docs
def demo_patients(n_patients: int = 24, *, seed: int = DEMO_SEED) -> pd.DataFrame:
    """The synthetic patients: id, profile, conditions, phase, start date, affected side.

    Parameters
    ----------
    {n_patients}
    {seed}

    Returns
    -------
    pandas.DataFrame
        One row per patient, ids ``DEMO-001`` onwards.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_patients):
        profile = PROFILES[i % len(PROFILES)] if i < len(PROFILES) else PROFILES[int(rng.integers(len(PROFILES)))]
        conds = CONDITION_SETS[i % len(CONDITION_SETS)]
        rows.append({
            "patient_id": f"DEMO-{i + 1:03d}" if n_patients < 1000 else f"DEMO-{i + 1:05d}",
            "profile": profile,
            "conditions": list(conds),
            "phase": ("acute", "subacute", "chronic")[int(rng.integers(3))],
            "start": ANCHOR + pd.Timedelta(weeks=int(rng.integers(0, 20))),
            "side": ("left", "right")[int(rng.integers(2))],
        })
    return pd.DataFrame(rows)


def _trajectory(t: np.ndarray, base: float, target: float, profile: str, rng, noise: float) -> np.ndarray:
    tau = {"improver": 3.0, "slow_improver": 7.0, "non_responder": 30.0, "flare_up": 3.0, "missed_visits": 4.0}[profile]
    if profile == "non_responder":
        target = base - (base - target) * 0.15
    y = base + (target - base) * (1 - np.exp(-t / tau))
    if profile == "flare_up":
        y = y + (base - target) * 0.7 * np.exp(-0.5 * ((t - 6.5) / 0.9) ** 2)
    return y + rng.normal(0, noise, size=t.shape)


@shared_docs
def demo_log(n_patients: int = 24, *, seed: int = DEMO_SEED, weeks: int = 12) -> pd.DataFrame:
    """A tidy log of weekly-to-fortnightly visits for ``n_patients`` synthetic patients.

    Parameters
    ----------
    {n_patients}
    {seed}
    weeks : int, optional
        How long each patient is followed.

    Returns
    -------
    pandas.DataFrame
        A tidy log with the kit's columns and dtypes.

    Examples
    --------
    >>> log = demo_log(3)
    >>> sorted(log["patient_id"].unique())
    ['DEMO-001', 'DEMO-002', 'DEMO-003']
    >>> demo_log(3).equals(log)
    True
    """
    rng = np.random.default_rng(seed + 1)
    parts = []
    for p in demo_patients(n_patients, seed=seed).itertuples(index=False):
        visit_weeks = np.arange(0, weeks + 1, 1 if p.phase == "acute" else 2, dtype=float)
        if p.profile == "missed_visits":
            keep = rng.random(len(visit_weeks)) > 0.45
            keep[0] = True
            visit_weeks = visit_weeks[keep]
        dates = p.start + pd.to_timedelta(visit_weeks * 7 + rng.integers(0, 2, size=len(visit_weeks)), unit="D")
        dates = pd.DatetimeIndex(dates).normalize()
        t = visit_weeks
        sciatic = any(c in p.conditions for c in ("sciatica", "herniated_disc", "piriformis_syndrome", "spinal_stenosis"))
        values: dict[tuple[str, str], np.ndarray] = {}
        pain0 = rng.uniform(5, 8.5)
        values[("pain", "")] = np.clip(np.round(_trajectory(t, pain0, rng.uniform(0.5, 2.5), p.profile, rng, 0.6)), 0, 10)
        if sciatic:
            values[("leg_pain", "")] = np.clip(np.round(_trajectory(t, pain0 + 0.5, rng.uniform(0, 2), p.profile, rng, 0.7)), 0, 10)
            values[("back_pain", "")] = np.clip(np.round(_trajectory(t, pain0 - 1.5, rng.uniform(1, 3), p.profile, rng, 0.6)), 0, 10)
            affected = rng.uniform(30, 55)
            good = rng.uniform(72, 85)
            slr_aff = np.clip(np.round(_trajectory(t, affected, rng.uniform(65, 80), p.profile, rng, 3) / 5) * 5, 0, 90)
            slr_good = np.clip(np.round((good + rng.normal(0, 2, size=t.shape)) / 5) * 5, 0, 90)
            other = "right" if p.side == "left" else "left"
            values[("slr", p.side)] = slr_aff
            values[("slr", other)] = slr_good
        odi0 = rng.uniform(28, 55)
        values[("odi", "")] = np.clip(np.round(_trajectory(t, odi0, rng.uniform(6, 16), p.profile, rng, 3) / 2) * 2, 0, 100)
        values[("fingertip_floor", "")] = np.clip(np.round(_trajectory(t, rng.uniform(18, 35), rng.uniform(2, 12), p.profile, rng, 1.5) * 2) / 2, 0, 100)
        values[("adherence", "")] = np.clip(np.round(rng.uniform(55, 100, size=t.shape) / 5) * 5, 0, 100)
        for (measure, side), vals in values.items():
            parts.append(pd.DataFrame({"patient_id": p.patient_id, "date": dates, "measure": measure, "side": side, "value": vals.astype(float)}))
        rmdq_at = np.isin(t, [0, 4, 8, 12]) | (np.arange(len(t)) == 0)
        rmdq = np.clip(np.round(_trajectory(t, rng.uniform(9, 17), rng.uniform(2, 6), p.profile, rng, 1.2)), 0, 24)
        parts.append(pd.DataFrame({"patient_id": p.patient_id, "date": dates[rmdq_at], "measure": "rmdq", "side": "", "value": rmdq[rmdq_at].astype(float)}))
        parts.append(pd.DataFrame({"patient_id": p.patient_id, "date": dates[:1], "measure": "start_back", "side": "",
                                   "value": [float(rng.integers(1, 9))]}))
    log = pd.concat(parts, ignore_index=True)
    log["note"] = ""
    first_pain = (log["measure"] == "pain")
    pick = rng.random(len(log)) < 0.12
    log.loc[first_pain & pick, "note"] = rng.choice(NOTES[:-1], size=int((first_pain & pick).sum()))
    log = log.sort_values(["patient_id", "date", "measure", "side"], kind="stable")
    log["value"] = log["value"] + 0.0  # -0.0 (a rounded small negative) is written as 0, whatever numpy rounds to
    return conform_log(log)


@shared_docs
def demo_daily_log(n_patients: int = 100, *, days: int = 365, seed: int = DEMO_SEED, measures: Sequence[str] = ("pain", "leg_pain", "adherence")) -> pd.DataFrame:
    """Daily self-reported entries (fully vectorised) for benchmarks and stress tests.

    ``n_patients * days * len(measures)`` rows; e.g. 10 000 patients x 365 days x 3 = 11M.

    Parameters
    ----------
    {n_patients}
    days : int, optional
        Days of entries per patient.
    {seed}
    measures : sequence of str, optional
        Measure ids entered each day.

    Returns
    -------
    pandas.DataFrame
        A tidy log with the kit's columns and dtypes.
    """
    rng = np.random.default_rng(seed + 2)
    t = np.arange(days, dtype=float) / 7.0
    base = rng.uniform(4, 9, size=(n_patients, 1))
    target = rng.uniform(0, 3, size=(n_patients, 1))
    tau = rng.choice([2.0, 4.0, 8.0, 60.0], size=(n_patients, 1))
    curve = base + (target - base) * (1 - np.exp(-t[None, :] / tau))
    ids = np.array([f"DAILY-{i + 1:05d}" for i in range(n_patients)], dtype=object)
    start = ANCHOR - pd.Timedelta(days=days)
    dates = (start + pd.to_timedelta(np.arange(days), unit="D")).to_numpy()
    frames = []
    for m in measures:
        if m == "adherence":
            vals = np.round(rng.uniform(40, 100, size=(n_patients, days)) / 5) * 5
        else:
            vals = np.clip(np.round(curve + rng.normal(0, 0.8, size=curve.shape)), 0, 10)
        frames.append(pd.DataFrame({
            "patient_id": np.repeat(ids, days),
            "date": np.tile(dates, n_patients),
            "measure": m,
            "side": "",
            "value": vals.ravel(),
            "note": "",
        }))
    return conform_log(pd.concat(frames, ignore_index=True))


def demo_store_path() -> Path:
    """The demo store's file: ``$SCIATICA_KIT_DEMO_STORE`` or ``sciatica-kit/demo-store.sqlite`` in the user's data folder.

    Returns
    -------
    pathlib.Path
        The file (it need not exist yet).
    """
    env = os.environ.get(DEMO_STORE_ENV)
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "sciatica-kit" / "demo-store.sqlite"


@shared_docs
def open_demo_store(*, n_patients: int = 24):
    """The demo store, seeded with the synthetic patients on first use.

    Parameters
    ----------
    {n_patients}

    Returns
    -------
    Store
        The open demo store.
    """
    from sciatica_kit.store import Store

    return seed_demo_store(Store(demo_store_path()), n_patients=n_patients)


@shared_docs
def seed_demo_store(store=None, *, n_patients: int = 24, seed: int = DEMO_SEED, replace: bool = False):
    """Fill a store with the demo patients and their programmes (skips if already seeded).

    Parameters
    ----------
    store : Store, optional
        The store to fill, named by the caller; default: the demo store
        (:func:`demo_store_path`), never the clinic store.
    {n_patients}
    {seed}
    replace : bool, optional
        Seed again even when the store holds demo patients already.

    Returns
    -------
    Store
        The store filled.
    """
    from sciatica_kit.programme import build_programme
    from sciatica_kit.store import Store

    store = store if store is not None else Store(demo_store_path())
    patients = demo_patients(n_patients, seed=seed)
    if not replace and set(patients["patient_id"]).issubset(set(store.patients()["patient_id"])):
        return store
    log = demo_log(n_patients, seed=seed)
    store.add(log, source=f"demo seed {seed}", user="demo")
    saved = set(store.programmes()["patient_id"])
    for p in patients.itertuples(index=False):
        if p.patient_id in saved:
            continue  # re-seeding replaces entries but never duplicates programmes
        prog = build_programme(p.conditions, phase=p.phase)
        prog = prog.with_details(created=p.start.date())
        store.save_programme(p.patient_id, prog, user="demo")
        if p.profile in ("non_responder", "flare_up"):
            changed = build_programme(p.conditions, phase="chronic" if p.phase != "chronic" else "subacute")
            store.save_programme(p.patient_id, changed.with_details(created=(p.start + pd.Timedelta(weeks=6)).date()), user="demo")
    return store


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Synthetic demo data for Sciatica Kit (no real patients).")
    parser.add_argument("--write", help="write the demo visits as a wide CSV to this path")
    parser.add_argument("--seed-store", action="store_true",
                        help="seed the demo store ($SCIATICA_KIT_DEMO_STORE or the user's data folder)")
    parser.add_argument("--store", help="with --seed-store: put the demo patients into this store instead (asked for by name)")
    parser.add_argument("--patients", type=int, default=24)
    args = parser.parse_args(argv)
    if args.write:
        from sciatica_kit.log import write_log

        write_log(demo_log(args.patients), args.write, wide=True)
        print(f"wrote {args.write}")
    if args.seed_store:
        from sciatica_kit.store import Store

        store = seed_demo_store(Store(args.store) if args.store else None, n_patients=args.patients)
        print(f"demo store ready: {store!r} ({len(store.patients())} patients)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
