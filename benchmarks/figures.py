"""The benchmark figures.

Each ``fig_*`` function measures one figure and, where there is one, its
reference in the same run, and returns a :class:`Row`.  Data come from the
seeded demo generator, so every run sees the same patients.

Size-dependent figures are measured at two sizes ten times apart; the growth
exponent ``k`` in ``time ~ size**k`` tells a clinic what ten times more data
(a decade instead of a year) costs: k = 1 is linear.
"""

from __future__ import annotations

import gc
import io
import itertools
import json
import math
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
CHILD = HERE / "_child.py"
HEAVY_MODULES = ("matplotlib", "sqlalchemy", "openpyxl", "ipywidgets", "fhir.resources", "weasyprint")
DAYS = 365
DAILY_MEASURES = ("pain", "leg_pain", "adherence")
LINEAR_EXPONENT = 1.2  # "grows linearly": time ~ rows**k with k at most this


@dataclass(frozen=True)
class Size:
    name: str
    programme_calls: int | None  # None: every combination of conditions x phases
    import_runs: int
    read_rows: int  # tidy rows in the wide CSV (growth measured at a tenth of it)
    add_rows: int
    entry_store_rows: tuple[int, int]  # store sizes for the one-visit save; target at the first
    summary_patients: int  # x 365 days x 3 measures (growth measured at a tenth of it)
    plot_days: tuple[int, int]  # one year, then ten
    repeats: int
    entry_repeats: int
    synthetic_notebook: bool  # --smoke runs one tiny notebook through the same path


SIZES = {
    "smoke": Size("smoke", 24, 2, 3_300, 3_300, (3_300, 33_000), 4, (365, 730), 1, 5, True),
    "quick": Size("quick", 600, 9, 1_000_000, 200_000, (100_000, 10_000), 1_000, (365, 3_650), 3, 20, False),
    "full": Size("full", None, 15, 1_000_000, 1_000_000, (100_000, 1_000_000), 10_000, (365, 3_650), 3, 30, False),
}


@dataclass
class Row:
    key: str
    figure: str
    size: str = ""
    value: float | None = None
    unit: str = "s"  # s, x (ratio) or B (bytes)
    reference: str = "-"
    reference_value: float | None = None
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None
    growth: str = "-"
    growth_exponent: float | None = None
    note: str = ""
    error: str = ""
    details: dict = field(default_factory=dict)

    @property
    def result(self) -> str:
        if self.error:
            return "ERROR"
        if self.passed is None:
            return "n/a"
        return "pass" if self.passed else "MISS"


# --------------------------------------------------------------------------- helpers


def fmt_seconds(s: float | None) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_bytes(b: float | None) -> str:
    if b is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return f"{b / scale:.2f} {unit}"
    return f"{b:.0f} B"


def fmt_count(n: float) -> str:
    if n >= 995_000:
        return f"{n / 1e6:.3g}M"
    if n >= 1e3:
        return f"{n / 1e3:.3g}k"
    return f"{n:.0f}"


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return fmt_seconds(value)
    if unit == "B":
        return fmt_bytes(value)
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:g} {unit}"


def exponent(n1: float, t1: float, n2: float, t2: float) -> float:
    """k in t ~ n**k between two measurements."""
    if min(n1, n2, t1, t2) <= 0 or n1 == n2:
        return float("nan")
    return math.log(t2 / t1) / math.log(n2 / n1)


def growth_text(n1: float, v1: float, n2: float, v2: float, unit: str = "s", what: str = "rows") -> tuple[str, float]:
    k = exponent(n1, v1, n2, v2)
    return f"{fmt_value(v1, unit)} @{fmt_count(n1)} -> {fmt_value(v2, unit)} @{fmt_count(n2)} {what} (x{v2 / v1:.1f}, k={k:.2f})", k


def measure(fn: Callable[[], object], repeats: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock seconds of each call (and this process's CPU seconds appended to ``cpu``)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)
    return times


def paired(ours: Callable[[], object], ref: Callable[[], object], repeats: int) -> tuple[float, float, float, float]:
    """Median wall seconds of ``ours`` and ``ref``, run alternately so both see the same machine
    state, then their median CPU seconds (less sensitive to other processes on a busy machine)."""
    a, b, ca, cb = [], [], [], []
    for _ in range(repeats):
        a += measure(ours, 1, ca)
        b += measure(ref, 1, cb)
    return statistics.median(a), statistics.median(b), statistics.median(ca), statistics.median(cb)


def daily_log(rows: int, *, days: int = DAYS) -> pd.DataFrame:
    """Seeded daily self-reports with about ``rows`` tidy rows (3 measures a day)."""
    from sciatica_kit.demo import demo_daily_log

    n = max(1, round(rows / (days * len(DAILY_MEASURES))))
    return demo_daily_log(n, days=days, measures=DAILY_MEASURES)


def run_child(args: list[str], *, env: dict | None = None, timeout: float = 3600) -> dict:
    proc = subprocess.run([sys.executable, str(CHILD), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- figures


def fig_programme(size: Size, work: Path) -> Row:
    import sciatica_kit as sk
    from sciatica_kit.catalog import PHASE_IDS

    cat = sk.load_catalog()
    conds = sorted(cat.records["conditions"])
    combos = [list(c) for r in range(1, len(conds) + 1) for c in itertools.combinations(conds, r)]
    calls = [(c, ph) for c in combos for ph in PHASE_IDS]
    total = len(calls)
    if size.programme_calls is not None and total > size.programme_calls:
        always = [(c, ph) for c, ph in calls if len(c) in (1, len(conds))]
        rest = [x for x in calls if x not in always]
        calls = always + random.Random(6).sample(rest, max(0, size.programme_calls - len(always)))
    sk.build_programme(calls[0][0], phase=calls[0][1])  # warm the catalogue cache
    times = []
    for c, ph in calls:
        t0 = time.perf_counter()
        sk.build_programme(c, phase=ph)
        times.append(time.perf_counter() - t0)
    p95 = float(np.percentile(times, 95))
    limit = 0.100
    return Row(
        "programme", "build_programme p95 latency", f"{len(calls)} of {total} calls", p95, "s",
        "the 100 ms limit", limit, p95 / limit, "<= 10 ms", p95 <= 0.010,
        note=f"median {fmt_seconds(statistics.median(times))}, max {fmt_seconds(max(times))}; "
        f"{len(combos)} condition subsets x {len(PHASE_IDS)} phases",
    )


_IMPORT_CODE = (
    "import sys, time, json\n"
    "t = time.perf_counter()\n"
    "import {mod}\n"
    "dt = time.perf_counter() - t\n"
    "print(json.dumps([dt, [m for m in {heavy!r} if m in sys.modules]]))\n"
)


def _import_once(mod: str) -> tuple[float, list[str]]:
    code = _IMPORT_CODE.format(mod=mod, heavy=HEAVY_MODULES)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(HERE))
    dt, heavy = json.loads(proc.stdout.strip().splitlines()[-1])
    return float(dt), heavy


def fig_import(size: Size, work: Path) -> Row:
    _import_once("pandas")  # warm the file cache once for both
    _import_once("sciatica_kit")
    ours, ref, heavy = [], [], set()
    for _ in range(size.import_runs):
        dt, loaded = _import_once("sciatica_kit")
        ours.append(dt)
        heavy.update(loaded)
        ref.append(_import_once("pandas")[0])
    a, b = statistics.median(ours), statistics.median(ref)
    ok = a / b <= 1.5 and not heavy
    note = f"median of {size.import_runs} fresh processes each; "
    note += "heavy modules loaded: " + ", ".join(sorted(heavy)) if heavy else "no heavy module loaded (" + ", ".join(HEAVY_MODULES) + ")"
    return Row("import", "import sciatica_kit", "fresh process", a, "s", "import pandas", b, a / b, "<= 1.5x", ok, note=note,
               details={"heavy_loaded": sorted(heavy)})


def _wide_csv(rows: int, folder: Path) -> tuple[Path, int]:
    from sciatica_kit.log import write_log

    log = daily_log(rows)
    path = folder / f"wide-{len(log)}.csv"
    write_log(log, path, wide=True)
    return path, len(log)


def _plain_pandas_read(path: Path) -> pd.DataFrame:
    """The same job in plain pandas, without any checking: read, parse dates, to long form, drop blanks."""
    wide = pd.read_csv(path)
    wide["date"] = pd.to_datetime(wide["date"])
    long = wide.melt(id_vars=["patient_id", "date", "note"], var_name="measure", value_name="value")
    return long.dropna(subset=["value"])


def fig_read_log(size: Size, work: Path) -> Row:
    import sciatica_kit as sk

    points = []
    for rows in (size.read_rows // 10, size.read_rows):
        path, n = _wide_csv(rows, work)
        got = sk.read_log(path)  # warm-up, and check every row comes back validated
        if len(got) != n:
            raise RuntimeError(f"read_log returned {len(got)} rows, expected {n}")
        del got
        ours, ref, ours_cpu, ref_cpu = paired(lambda p=path: sk.read_log(p), lambda p=path: _plain_pandas_read(p), size.repeats)
        points.append((n, ours, ref, path.stat().st_size, ours_cpu / ref_cpu))
        path.unlink()
    (n1, t1, _, _, _), (n2, t2, r2, nbytes, cpu_ratio) = points
    growth, k = growth_text(n1, t1, n2, t2)
    return Row("read_log", "read_log (wide CSV, validated)", f"{fmt_count(n2)} rows", t2, "s",
               "pandas: read_csv + to_datetime + melt + dropna", r2, t2 / r2, "<= 1x", t2 / r2 <= 1.0, growth, k,
               note=f"file {fmt_bytes(nbytes)}, {n2 // len(DAILY_MEASURES)} visits x 3 measures; CPU-time ratio {cpu_ratio:.2f}x")


_RAW_SCHEMA = (
    "CREATE TABLE entries (patient_id VARCHAR(64) NOT NULL, date VARCHAR(10) NOT NULL, measure VARCHAR(32) NOT NULL, "
    "side VARCHAR(8) NOT NULL, value FLOAT NOT NULL, note TEXT NOT NULL, import_id INTEGER NOT NULL, "
    "PRIMARY KEY (patient_id, date, measure, side))"
)


def _raw_rows(log: pd.DataFrame) -> list[tuple]:
    dates = log["date"].dt.strftime("%Y-%m-%d").tolist()
    return list(zip(log["patient_id"].tolist(), dates, log["measure"].tolist(), log["side"].tolist(),
                    log["value"].tolist(), log["note"].tolist(), itertools.repeat(1), strict=False))


def _raw_insert(path: Path, rows: list[tuple]) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute(_RAW_SCHEMA)
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
    finally:
        con.close()


def _store_add(path: Path, log: pd.DataFrame) -> None:
    from sciatica_kit.store import Store

    store = Store(path, user="bench")
    try:
        result = store.add(log, source="benchmark", user="bench")
        if result.added != len(log):
            raise RuntimeError(f"store.add added {result.added} of {len(log)} rows")
    finally:
        store.close()


def fig_store_add(size: Size, work: Path) -> Row:
    counter = itertools.count()
    _store_add(work / "warm-up.sqlite", daily_log(1_000))  # imports, catalogue and first connection outside the timing
    points = []
    for rows in (size.add_rows // 10, size.add_rows):
        log = daily_log(rows)
        raw = _raw_rows(log)

        def ours(log=log):
            _store_add(work / f"store-{next(counter)}.sqlite", log)

        def ref(raw=raw):
            _raw_insert(work / f"raw-{next(counter)}.sqlite", raw)

        t1, r1, c1, cr1 = paired(ours, ref, size.repeats)
        points.append((len(log), t1, r1, c1 / cr1))
        for p in work.glob("*.sqlite*"):
            p.unlink()
    (n1, t1, _, _), (n2, t2, r2, cpu_ratio) = points
    growth, k = growth_text(n1, t1, n2, t2)
    return Row("store_add", "store.add into a fresh SQLite store", f"{fmt_count(n2)} rows", t2, "s",
               "sqlite3 executemany", r2, t2 / r2, "<= 1.43x (>= 0.7x raw speed)", t2 / r2 <= 1 / 0.7, growth, k,
               note="reference: the same rows, pre-built as tuples, into a table with the same columns and primary key; "
               f"CPU-time ratio {cpu_ratio:.2f}x")


# --------------------------------------------------------------------------- the store on PostgreSQL, read, undo

_PG: dict = {}


def _pg_url() -> str:
    """A new database on a private PostgreSQL server (started once per run; tests/pgserver.py)."""
    if "factory" not in _PG:
        import atexit

        sys.path.insert(0, str(REPO / "tests"))
        from pgserver import start_server

        factory, stop = start_server(tempfile.mkdtemp(prefix="sk-bench-pg-"))
        atexit.register(stop)
        _PG["factory"] = factory
        import psycopg

        with psycopg.connect(factory.admin_dsn) as con:
            _PG["version"] = con.execute("SHOW server_version").fetchone()[0]
    return _PG["factory"]()


def _pg_connect(url: str):
    import psycopg
    import sqlalchemy as sa

    u = sa.engine.make_url(url)
    return psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database)


def _raw_copy(url: str, raw: list[tuple]) -> None:
    """Reference: psycopg COPY of pre-built tuples into a table with the same columns and primary key."""
    with _pg_connect(url) as con, con.cursor() as cur:
        cur.execute(_RAW_SCHEMA)
        with cur.copy("COPY entries (patient_id, date, measure, side, value, note, import_id) FROM STDIN") as copy:
            for row in raw:
                copy.write_row(row)


def fig_store_add_pg(size: Size, work: Path) -> Row:
    _store_add(_pg_url(), daily_log(1_000))  # server start, imports and first connection outside the timing
    points = []
    for rows in (size.add_rows // 10, size.add_rows):
        log = daily_log(rows)
        raw = _raw_rows(log)
        t1, r1, c1, cr1 = paired(lambda log=log: _store_add(_pg_url(), log), lambda raw=raw: _raw_copy(_pg_url(), raw),
                                 size.repeats)
        points.append((len(log), t1, r1))
    (n1, t1, _), (n2, t2, r2) = points
    growth, k = growth_text(n1, t1, n2, t2)
    return Row("store_add_pg", "store.add into a fresh PostgreSQL store", f"{fmt_count(n2)} rows", t2, "s",
               "psycopg COPY", r2, t2 / r2, "<= 2x (>= 0.5x raw speed)", t2 / r2 <= 2.0, growth, k,
               note=f"PostgreSQL {_PG.get('version')}; reference: COPY of pre-built tuples into the same columns and primary key")


def _fastest_raw_read(location) -> tuple[float, pd.DataFrame]:
    """The quickest plain way to read the entries table into pandas (best of two for each backend)."""
    order = "ORDER BY patient_id, date, measure, side"
    cols = "patient_id, date, measure, side, value, note"
    if isinstance(location, Path):
        def fetch():
            con = sqlite3.connect(location)
            try:
                return pd.DataFrame.from_records(con.execute(f"SELECT {cols} FROM entries {order}").fetchall(),
                                                 columns=cols.split(", "))
            finally:
                con.close()

        def read_sql():
            con = sqlite3.connect(location)
            try:
                return pd.read_sql_query(f"SELECT {cols} FROM entries {order}", con)
            finally:
                con.close()
        ways = (fetch, read_sql)
    else:
        def fetch():
            with _pg_connect(location) as con:
                rows = con.execute(f"SELECT {cols} FROM sciatica_kit.entries {order}").fetchall()
            return pd.DataFrame.from_records(rows, columns=cols.split(", "))

        def copy_csv():
            buf = io.BytesIO()
            with _pg_connect(location) as con, con.cursor() as cur, \
                    cur.copy(f"COPY (SELECT {cols} FROM sciatica_kit.entries {order}) TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    buf.write(block)
            buf.seek(0)
            return pd.read_csv(buf, names=cols.split(", "), keep_default_na=False)
        ways = (fetch, copy_csv)
    best = None
    for way in ways:
        t = statistics.median(measure(way, 2))
        best = t if best is None else min(best, t)
    return best, ways[0]()


def _read_and_undo(size: Size, work: Path, backend: str) -> tuple[Row, Row]:
    from sciatica_kit.store import Store

    location = work / "read.sqlite" if backend == "sqlite" else _pg_url()
    log = daily_log(size.add_rows)
    store = Store(location, user="bench")
    try:
        batch = store.add(log, source="benchmark").batch_id
        del log
        gc.collect()
        store.read()  # warm
        ours = statistics.median(measure(store.read, size.repeats))
        raw, frame = _fastest_raw_read(location)
        n = len(frame)
        t0 = time.perf_counter()
        removed = store.undo(batch)
        undo_s = time.perf_counter() - t0
        if removed != n:
            raise RuntimeError(f"undo removed {removed} of {n} rows")
    finally:
        store.close()
    name = "SQLite" if backend == "sqlite" else "PostgreSQL"
    suffix = "" if backend == "sqlite" else "_pg"
    read = Row(f"store_read{suffix}", f"Store.read() of a {name} store", f"{fmt_count(n)} rows", ours, "s",
               "fastest raw read into pandas", raw, ours / raw, "<= 2x", ours / raw <= 2.0,
               note="raw: best of cursor fetchall + DataFrame.from_records and "
               + ("pandas.read_sql" if backend == "sqlite" else "COPY TO csv + pandas.read_csv"))
    undo = Row(f"store_undo{suffix}", f"undo of one batch, {name}", f"{fmt_count(n)} rows", undo_s, "s", "-", None, None,
               "<= 5 s", undo_s <= 5.0, note="removed rows kept in history (one set-based statement each)")
    return read, undo


_READ_UNDO: dict = {}


def fig_store_read(size: Size, work: Path) -> Row:
    _READ_UNDO["sqlite"] = _read_and_undo(size, work, "sqlite")
    return _READ_UNDO["sqlite"][0]


def fig_store_undo(size: Size, work: Path) -> Row:
    if "sqlite" not in _READ_UNDO:
        _READ_UNDO["sqlite"] = _read_and_undo(size, work, "sqlite")
    return _READ_UNDO["sqlite"][1]


def fig_store_read_pg(size: Size, work: Path) -> Row:
    _READ_UNDO["pg"] = _read_and_undo(size, work, "pg")
    return _READ_UNDO["pg"][0]


def fig_store_undo_pg(size: Size, work: Path) -> Row:
    if "pg" not in _READ_UNDO:
        _READ_UNDO["pg"] = _read_and_undo(size, work, "pg")
    return _READ_UNDO["pg"][1]


def fig_store_memory(size: Size, work: Path) -> Row:
    result = run_child(["store_memory", str(size.add_rows), str(work / "mem.sqlite")])
    ratio = result["peak_traced_bytes"] / result["deep_bytes"]
    return Row("store_memory", "peak memory of store.add", f"{fmt_count(result['rows'])} rows", result["peak_traced_bytes"], "B",
               "the DataFrame passed in (memory_usage deep)", result["deep_bytes"], ratio, "<= 2x", ratio <= 2.0,
               note="traced by tracemalloc above the DataFrame itself, SQLite store")


def _visit(day: int) -> pd.DataFrame:
    """One logger visit (10 rows) for a patient not in the daily data, ``day`` days before the demo anchor."""
    from sciatica_kit.demo import ANCHOR, demo_log

    first = demo_log(1)
    first = first[first["date"] == first["date"].iloc[0]].copy()
    first["patient_id"] = "BENCH-0001"
    first["date"] = ANCHOR - pd.Timedelta(days=day)
    return first.reset_index(drop=True)


def fig_one_entry(size: Size, work: Path) -> Row:
    from sciatica_kit.store import Store

    visit0 = _visit(0)
    out = {}
    for i, rows in enumerate(size.entry_store_rows):
        path = work / f"entry-{i}.sqlite"
        base = daily_log(rows)
        n_stored = len(base)
        _store_add(path, base)
        del base
        store = Store(path, user="bench")
        try:
            store.add(_visit(size.entry_repeats + 5), source="logger")  # warm connection and catalogue
            times = []
            for day in range(size.entry_repeats):
                visit = visit0.assign(date=visit0["date"] - pd.Timedelta(days=day + 1))
                t0 = time.perf_counter()
                result = store.add(visit, source="logger")
                times.append(time.perf_counter() - t0)
                if result.added != len(visit):
                    raise RuntimeError(f"the visit added {result.added} of {len(visit)} rows")
        finally:
            store.close()
        for p in work.glob("entry-*.sqlite*"):
            p.unlink()
        out[rows] = (n_stored, statistics.median(times), float(np.percentile(times, 95)))
    target_rows = size.entry_store_rows[0]
    n, med, p95 = out[target_rows]
    (na, ta, _), (nb, tb, _) = sorted(out.values())
    growth, k = growth_text(na, ta, nb, tb, what="stored rows")
    return Row("one_entry", "one visit saved from the logger", f"{len(visit0)} rows into {fmt_count(n)}", med, "s", "-", None, None,
               "<= 20 ms", med <= 0.020, growth, k, note=f"median of {size.entry_repeats} saves; p95 {fmt_seconds(p95)}")


_DUCK_SQL = """
SELECT patient_id, measure, side, count(*) AS n, min(date) AS first_date, max(date) AS last_date,
       arg_min(value, date) AS baseline, arg_max(value, date) AS latest,
       arg_max(value, date) - arg_min(value, date) AS change,
       regr_slope(value, epoch(date) / 86400.0) * 7 AS trend_per_week
FROM log GROUP BY patient_id, measure, side ORDER BY patient_id, measure, side
"""


def _duck(con, log: pd.DataFrame) -> pd.DataFrame:
    con.register("log", log)
    try:
        return con.execute(_DUCK_SQL).df()
    finally:
        con.unregister("log")


def fig_summarise(size: Size, work: Path) -> Row:
    import duckdb

    import sciatica_kit as sk
    from sciatica_kit.progress import summarise

    cat = sk.load_catalog()
    con = duckdb.connect()
    points = []
    try:
        for patients in (max(1, size.summary_patients // 10), size.summary_patients):
            from sciatica_kit.demo import demo_daily_log

            log = demo_daily_log(patients, days=DAYS, measures=DAILY_MEASURES)
            ours = summarise(log, catalog=cat)
            theirs = _duck(con, log)
            _check_same(ours, theirs)
            del ours, theirs
            t, r, _, _ = paired(lambda log=log: summarise(log, catalog=cat), lambda log=log: _duck(con, log), size.repeats)
            points.append((len(log), t, r))
            del log
    finally:
        con.close()
    (n1, t1, _), (n2, t2, r2) = points
    growth, k = growth_text(n1, t1, n2, t2)
    ok = t2 / r2 <= 3.0 and k <= LINEAR_EXPONENT
    return Row("summarise", "summarise (patient x measure x side)", f"{fmt_count(n2)} rows", t2, "s", "DuckDB", r2,
               t2 / r2, f"<= 3x, k <= {LINEAR_EXPONENT}", ok, growth, k, note=f"growth exponent k={k:.2f} (1 = linear); DuckDB computes the same baseline/latest/change/slope (checked) with {os.cpu_count()} threads")


def _check_same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """The DuckDB reference computes the same numbers (so the comparison is fair)."""
    if len(ours) != len(theirs):
        raise RuntimeError(f"summarise gave {len(ours)} groups, DuckDB {len(theirs)}")
    for c in ("n", "baseline", "latest", "change"):
        if not np.allclose(ours[c].to_numpy(float), theirs[c].to_numpy(float), equal_nan=True):
            raise RuntimeError(f"summarise and DuckDB disagree on {c}")
    if not np.allclose(ours["trend_per_week"].to_numpy(float), theirs["trend_per_week"].to_numpy(float), rtol=1e-6, atol=1e-9, equal_nan=True):
        raise RuntimeError("summarise and DuckDB disagree on trend_per_week")


def fig_plot(size: Size, work: Path) -> Row:
    import matplotlib as mpl

    mpl.use("Agg")
    import sciatica_kit as sk
    from sciatica_kit.charts import plot_progress
    from sciatica_kit.demo import demo_daily_log

    cat = sk.load_catalog()
    out = {}
    for days in size.plot_days:
        log = demo_daily_log(1, days=days, measures=DAILY_MEASURES)
        pid = log["patient_id"].iloc[0]

        def draw(log=log, pid=pid):
            fig = plot_progress(log, pid, catalog=cat)
            if hasattr(fig, "_repr_png_"):
                fig._repr_png_()  # what a notebook, Voila or a papermill report does to show it
            else:
                fig.savefig(io.BytesIO(), format="png")

        draw()  # warm fonts and caches
        reps = 5 if size.repeats > 1 else 1
        cpu: list[float] = []
        total = statistics.median(measure(draw, reps, cpu))
        build = statistics.median(measure(lambda log=log, pid=pid: plot_progress(log, pid, catalog=cat), reps))
        out[days] = (len(log), total, build, statistics.median(cpu))
    n, total, build, cpu_time = out[size.plot_days[0]]
    growth, k = growth_text(size.plot_days[0] / 365, total, size.plot_days[1] / 365, out[size.plot_days[1]][1], what="years")
    return Row("plot", "plot_progress, one patient, daily entries, drawn to PNG", f"{n} entries ({size.plot_days[0] // 365} y)",
               total, "s", "-", None, None, "<= 300 ms", total <= 0.300, growth, k,
               note=f"building the figure {fmt_seconds(build)}, the rest is drawing it; CPU time {fmt_seconds(cpu_time)}")


def _notebook_paths() -> list[Path]:
    root = REPO / "notebooks"
    return sorted(p for p in root.rglob("*.ipynb")
                  if "reports" not in p.relative_to(root).parts[:1] and ".ipynb_checkpoints" not in p.parts)


def _synthetic_notebook(folder: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sciatica_kit as sk\nstore = sk.Store()\nlen(store.read())"),
                nbformat.v4.new_code_cell("sk.summarise(store.read()).head()")]
    path = folder / "smoke.ipynb"
    nbformat.write(nb, path)
    return path


def fig_notebooks(size: Size, work: Path) -> Row:
    kernel = "sciatica-kit-bench"
    jupyter = work / "jupyter"
    spec = jupyter / "kernels" / kernel
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Sciatica Kit benchmark (current env)", "language": "python",
    }))
    env = dict(os.environ)
    env["SCIATICA_KIT_STORE"] = str(work / "nb-store" / "kit.sqlite")
    env["JUPYTER_PATH"] = os.pathsep.join([str(jupyter), env.get("JUPYTER_PATH", "")]).rstrip(os.pathsep)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    seed = subprocess.run([sys.executable, "-m", "sciatica_kit.demo", "--seed-store", "--store", env["SCIATICA_KIT_STORE"]],
                          env=env, capture_output=True, text=True, check=False)  # demo patients only where named
    if seed.returncode != 0:
        raise RuntimeError(f"seeding the demo store failed: {seed.stderr.strip()[-500:]}")
    paths = [_synthetic_notebook(work)] if size.synthetic_notebook else _notebook_paths()
    what = "1 synthetic (--smoke)" if size.synthetic_notebook else f"{len(paths)} notebook(s)"
    if not paths:
        return Row("notebooks", "all notebooks executed", "0 notebooks", 0.0, "s", "-", None, None, "<= 60 s", None,
                   note="no notebooks under notebooks/ (outside reports/) yet")
    result = run_child(["notebooks", kernel, *map(str, paths)], env=env)
    runs = result["notebooks"]
    failed = [r for r in runs if r["error"]]
    total = sum(r["seconds"] for r in runs)
    per = ", ".join(f"{Path(r['notebook']).stem} {r['seconds']:.1f} s" for r in runs)
    row = Row("notebooks", "all notebooks executed (nbclient, current env)", what, total, "s", "-", None, None, "<= 60 s", total <= 60.0,
              note=per, details={"notebooks": runs})
    if failed:
        row.error = "; ".join(f"{Path(r['notebook']).name}: {r['error']}" for r in failed)
    return row


def fig_memory(size: Size, work: Path) -> Row:
    points = []
    for patients in (max(1, size.summary_patients // 10), size.summary_patients):
        points.append(run_child(["memory", str(patients)]))
    small, big = points
    ratio = big["peak_traced_bytes"] / big["deep_bytes"]
    r_small = small["peak_traced_bytes"] / small["deep_bytes"]
    growth, k = growth_text(small["rows"], small["peak_traced_bytes"], big["rows"], big["peak_traced_bytes"], unit="B")
    note = (f"peak {fmt_bytes(big['peak_traced_bytes'])} traced (live data itself {fmt_bytes(big['data_traced_bytes'])}); "
            f"process max RSS {fmt_bytes(big['maxrss_after_bytes'])}; ratio at the smaller size {r_small:.2f}x")
    return Row("memory", "peak memory of summarise", f"{fmt_count(big['rows'])} rows", big["peak_traced_bytes"], "B",
               "data (memory_usage deep)", big["deep_bytes"], ratio, "<= 3x", ratio <= 3.0, growth, k, note=note,
               details={"small": small, "large": big})


def fig_handout(size: Size, work: Path) -> Row:
    """An eight-exercise PDF handout, pictures cached (the clinic prints several a day)."""
    import sciatica_kit as sk

    prog = sk.build_programme(["sciatica", "piriformis_syndrome"], patient="DEMO-001")
    for ex_id in ("pelvic_tilt", "bird_dog", "dead_bug", "abdominal_bracing", "stationary_cycling"):
        if len(prog.table) < 8 and ex_id not in set(prog.table["exercise_id"]):
            prog = prog.add(ex_id)
    for ex_id in list(prog.table["exercise_id"])[8:]:
        prog = prog.remove(ex_id)
    n = len(prog.table)
    clinic = {"name": "Demo Physio", "phone": "01234 567890", "clinician": "A. Clinician"}
    first = measure(lambda: prog.to_pdf(work / "first.pdf", clinic=clinic), 1)[0]  # fonts, pictures drawn once
    cpu: list[float] = []
    times = measure(lambda: prog.to_pdf(work / "handout.pdf", clinic=clinic), max(3, size.repeats), cpu)
    best, med = min(times), statistics.median(times)  # best of N: the handout's own cost on a shared machine
    html_med = statistics.median(measure(lambda: prog.to_html(clinic=clinic), max(3, size.repeats)))
    return Row("handout", "PDF handout, eight exercises (pictures cached)", f"{n} exercises", best, "s", "-", None, None,
               "<= 1 s", best <= 1.0,
               note=f"best of {len(times)}; median {fmt_seconds(med)}, median CPU {fmt_seconds(statistics.median(cpu))}; "
               f"first handout in the process {fmt_seconds(first)} (fonts loaded; pictures drawn, or read from the disk cache when a session drew them before); "
               f"HTML only {fmt_seconds(html_med)}")


def fig_report(size: Size, work: Path) -> Row:
    """Progress reports for a whole clinic (200 synthetic patients; 4 in the smoke run), as ``make report PATIENT=all``."""
    from sciatica_kit.demo import seed_demo_store
    from sciatica_kit.report import run_reports
    from sciatica_kit.store import Store

    patients = 4 if size.name == "smoke" else 200
    location = str(work / "clinic.sqlite")
    with Store(location, user="bench") as store:
        seed_demo_store(store, n_patients=patients)
    start = time.perf_counter()
    paths = run_reports("all", work / "reports", store_location=location)
    took = time.perf_counter() - start
    if len(paths) != patients or not all(p.stat().st_size > 0 for p in paths):
        raise AssertionError(f"{len(paths)} reports written for {patients} patients")
    return Row("report", TITLES["report"], f"{patients} patients", took, "s", "-", None, None, "<= 60 s", took <= 60.0,
               note=f"{took / patients:.2f} s a patient, {os.cpu_count()} CPUs (one worker each)")


FIGURES: dict[str, Callable[[Size, Path], Row]] = {
    "programme": fig_programme,
    "import": fig_import,
    "read_log": fig_read_log,
    "store_add": fig_store_add,
    "one_entry": fig_one_entry,
    "store_add_pg": fig_store_add_pg,
    "store_read": fig_store_read,
    "store_read_pg": fig_store_read_pg,
    "store_undo": fig_store_undo,
    "store_undo_pg": fig_store_undo_pg,
    "store_memory": fig_store_memory,
    "summarise": fig_summarise,
    "plot": fig_plot,
    "notebooks": fig_notebooks,
    "memory": fig_memory,
    "handout": fig_handout,
    "report": fig_report,
}

TITLES = {
    "programme": "build_programme p95 latency",
    "import": "import sciatica_kit",
    "read_log": "read_log (wide CSV, validated)",
    "store_add": "store.add into a fresh SQLite store",
    "one_entry": "one visit saved from the logger",
    "store_add_pg": "store.add into a fresh PostgreSQL store",
    "store_read": "Store.read() of a SQLite store",
    "store_read_pg": "Store.read() of a PostgreSQL store",
    "store_undo": "undo of one batch, SQLite",
    "store_undo_pg": "undo of one batch, PostgreSQL",
    "store_memory": "peak memory of store.add",
    "summarise": "summarise (patient x measure x side)",
    "plot": "plot_progress, one patient, daily entries, drawn to PNG",
    "notebooks": "all notebooks executed (nbclient, current env)",
    "memory": "peak memory of summarise",
    "handout": "PDF handout, eight exercises (pictures cached)",
    "report": "progress reports for a whole clinic (make report PATIENT=all)",
}


def run_figure(key: str, size: Size) -> Row:
    """Measure one figure in its own scratch folder; an exception becomes an ERROR row."""
    with tempfile.TemporaryDirectory(prefix=f"sk-bench-{key}-") as tmp:
        try:
            return FIGURES[key](size, Path(tmp))
        except Exception as exc:  # reported in the table; run.py then exits non-zero
            import traceback

            traceback.print_exc(file=sys.stderr)
            return Row(key, TITLES[key], error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}")
        finally:
            gc.collect()
