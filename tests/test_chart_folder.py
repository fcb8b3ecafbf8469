"""The kernels of one Jupyter server share the progress charts they draw, privately and only while the rows match."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import stat
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import sciatica_kit as sk
from sciatica_kit import chart_folder
from sciatica_kit.widgets import progress_charts


@pytest.fixture
def store(tmp_path):
    return sk.seed_demo_store(sk.Store(tmp_path / "kit.sqlite"), n_patients=4)


def _another_kernel(monkeypatch):
    """What a second kernel of the same server starts with: nothing kept in memory."""
    monkeypatch.setattr(progress_charts, "_KEPT_CHARTS", {})


def test_a_chart_drawn_in_one_kernel_is_shown_by_another_until_the_rows_change(store, tmp_path, monkeypatch):
    import sciatica_kit.charts as charts

    folder = tmp_path / "shared"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv(chart_folder.ENV, str(folder))
    catalog = sk.load_catalog()
    pid = list(store.patients()["patient_id"])[0]
    log, programmes = store.read(pid), store.programmes(pid)
    drawn = []
    real = charts.figure_svg
    monkeypatch.setattr(charts, "figure_svg", lambda fig: drawn.append(pid) or real(fig))

    svg = progress_charts.drawn_chart(progress_charts.kept_charts(store), pid, log, programmes, catalog)  # the logger, after a save
    assert drawn == [pid]
    _another_kernel(monkeypatch)  # the report
    assert progress_charts.drawn_chart(progress_charts.kept_charts(store), pid, log, programmes, catalog) == svg
    assert drawn == [pid]  # shown without drawing it again

    (shared,) = folder.iterdir()  # private, and its name says nothing about the patient
    assert stat.S_IMODE(shared.stat().st_mode) == 0o600 and pid not in shared.name and pid.encode() in shared.read_bytes()

    with sk.Store(store.path, user="colleague") as colleague:  # a colleague's entry since: drawn anew
        colleague.add(pd.DataFrame({"patient_id": [pid], "date": [pd.Timestamp(dt.date.today())], "measure": ["pain"],
                                    "side": [""], "value": [9.0], "note": [""]}), source="a colleague")
    _another_kernel(monkeypatch)
    log = store.read(pid)
    assert progress_charts.drawn_chart(progress_charts.kept_charts(store), pid, log, programmes, catalog) != svg
    assert drawn == [pid, pid]


def test_without_a_shared_folder_nothing_is_written(store, tmp_path, monkeypatch):
    monkeypatch.delenv(chart_folder.ENV, raising=False)
    pid = list(store.patients()["patient_id"])[0]
    progress_charts.drawn_chart(progress_charts.kept_charts(store), pid, store.read(pid), store.programmes(pid), sk.load_catalog())
    assert chart_folder.chart_path("x", pid, b"k") is None
    assert not list(tmp_path.rglob("*.svg"))


def test_the_folder_keeps_the_newest_charts_only(tmp_path, monkeypatch):
    monkeypatch.setenv(chart_folder.ENV, str(tmp_path))
    monkeypatch.setattr(chart_folder, "MOST", 3)
    for i in range(5):
        path = chart_folder.chart_path("store", f"P-{i}", b"key")
        chart_folder.write_chart(path, b"<svg/>")
        os.utime(path, (1000 + i, 1000 + i))
    kept = {chart_folder.read_chart(chart_folder.chart_path("store", f"P-{i}", b"key")) is not None for i in range(2)}
    assert len(list(tmp_path.iterdir())) == 3 and kept == {False}


def test_a_server_makes_one_private_folder_removes_it_at_exit_and_clears_a_dead_servers(tmp_path):
    dead = tmp_path / "sciatica-kit-charts-999999999-abc"  # left by a server killed before it could remove it
    dead.mkdir()
    (dead / "x.svg").write_bytes(b"<svg/>")
    code = textwrap.dedent(f"""
        import stat
        from sciatica_kit import chart_folder
        folder = chart_folder.make_folder({str(tmp_path)!r})
        assert chart_folder.make_folder({str(tmp_path)!r}) == folder  # one per server
        print(folder, oct(stat.S_IMODE(folder.stat().st_mode)))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "0o700"
    assert not dead.exists()  # the dead server's charts are gone
    assert not os.path.exists(out[0])  # and this server's, once it stopped


def test_kernels_started_by_the_kits_kernel_manager_share_one_folder(store, tmp_path, monkeypatch):
    """Two real kernels of one server: the second shows the first one's chart without drawing it."""
    from sciatica_kit.kernels import KitKernelManager

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    pid = list(store.patients()["patient_id"])[0]
    setup = f"""
import os, sciatica_kit as sk, sciatica_kit.charts as charts
from sciatica_kit.widgets import progress_charts as pc
drawn = []
real = charts.figure_svg
charts.figure_svg = lambda fig: drawn.append(1) or real(fig)
store = sk.Store({str(store.path)!r})
log, programmes = store.read({pid!r}), store.programmes({pid!r})
svg = pc.drawn_chart(pc.kept_charts(store), {pid!r}, log, programmes, sk.load_catalog())
print(os.environ.get("SCIATICA_KIT_SHARED_CHARTS"), len(drawn), len(svg))
"""

    async def run_in_a_kernel(km):
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        out = []
        try:
            await kc.wait_for_ready(timeout=120)
            reply = await kc.execute_interactive(
                setup, timeout=120,
                output_hook=lambda msg: out.append(msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
            assert reply["content"]["status"] == "ok", out
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        return "".join(out).split()

    async def two_kernels():
        first = await run_in_a_kernel(KitKernelManager(kernel_name="python3"))
        second = await run_in_a_kernel(KitKernelManager(kernel_name="python3"))
        return first, second

    first, second = asyncio.run(two_kernels())
    assert first[0] == second[0] == str(chart_folder.make_folder())  # one folder for the server's kernels
    assert first[1] == "1" and second[1] == "0"  # drawn by the first kernel only
    assert first[2] == second[2]  # the same chart
