"""Kernel ports below the ephemeral range: chosen free, never where the system hands out ports by itself."""

from __future__ import annotations

import asyncio
import socket

import pytest

from sciatica_kit import kernels
from sciatica_kit.kernels import SPAN, KitKernelManager, ephemeral_range, kernel_ports

PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port")


def test_the_system_hands_out_its_own_ports_from_the_ephemeral_range():
    """Why the kit chooses below it: what Jupyter asks for (port 0) comes from the range other connections use."""
    low, high = ephemeral_range()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        assert low <= s.getsockname()[1] <= high


def test_kernel_ports_are_distinct_free_and_below_the_ephemeral_range():
    low = ephemeral_range()[0]
    for _ in range(20):
        ports = kernel_ports(5)
        assert len(set(ports)) == 5 and all(low - SPAN <= p < low for p in ports)
        kernels.release_ports(ports)
    ports = kernel_ports(5)
    for port in ports:  # free when chosen
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
    kernels.release_ports(ports)


def test_a_port_another_server_claimed_is_never_chosen_until_it_lets_go(monkeypatch):
    """Two servers (a hub's, one per clinician) choosing at the same moment never pick the same port."""
    import subprocess
    import sys

    low = ephemeral_range()[0]
    monkeypatch.setattr(kernels, "SPAN", 6)  # six ports to choose from
    other = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from sciatica_kit import kernels\n"
        f"claim = kernels.claim_port({low - 1})\n"
        "print('claimed' if claim else 'refused', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "claimed"  # another server holds low - 1
        ports = kernel_ports(5)
        assert sorted(ports) == [low - 6, low - 5, low - 4, low - 3, low - 2]
        assert kernel_ports(1) == []  # every port is claimed now: nothing to give
        kernels.release_ports(ports)
    finally:
        other.kill()
        other.wait()
    assert sorted(kernel_ports(6)) == list(range(low - 6, low))  # that server has ended: its claim went with it
    kernels.release_ports(range(low - 6, low))


def test_a_port_in_use_or_given_already_is_never_chosen(monkeypatch):
    low = ephemeral_range()[0]
    listening = socket.socket()
    listening.bind(("127.0.0.1", low - 1))
    listening.listen()
    try:
        monkeypatch.setattr(kernels, "SPAN", 12)  # twelve ports to choose from: one listening, six given
        ports = kernel_ports(5, taken={low - 12, low - 11, low - 10, low - 9, low - 8, low - 7})
        assert sorted(ports) == [low - 6, low - 5, low - 4, low - 3, low - 2]
        kernels.release_ports(ports)
    finally:
        listening.close()


def test_no_room_below_the_range_leaves_the_choice_to_jupyter(tmp_path, monkeypatch):
    setting = tmp_path / "ip_local_port_range"
    setting.write_text("1026\t60999\n")
    assert ephemeral_range(setting) == (1026, 60999)
    monkeypatch.setattr(kernels, "ephemeral_range", lambda: (1026, 60999))  # two ports below it
    assert kernel_ports(5) == []
    assert ephemeral_range(tmp_path / "missing") == kernels.DEFAULT_EPHEMERAL


def test_a_kernel_started_restarted_and_stopped_with_the_kits_ports(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    low = ephemeral_range()[0]

    async def life():
        km = KitKernelManager(kernel_name="python3")
        await km.start_kernel()
        try:
            first = [getattr(km, n) for n in PORT_NAMES]
            assert all(low - SPAN <= p < low for p in first) and set(first) <= kernels._GIVEN <= set(kernels._CLAIMS)
            kc = km.client()
            kc.start_channels()
            try:
                await kc.wait_for_ready(timeout=60)
                reply = await kc.execute_interactive("6 * 7", timeout=60)
                assert reply["content"]["status"] == "ok"
            finally:
                kc.stop_channels()
            await km.restart_kernel(now=True, newports=True)  # as after a kernel died: chosen again, the old ones let go
            second = [getattr(km, n) for n in PORT_NAMES]
            assert all(low - SPAN <= p < low for p in second) and second != first
            assert not set(first) & kernels._GIVEN and set(second) <= kernels._GIVEN
            kc = km.client()
            kc.start_channels()
            try:
                await kc.wait_for_ready(timeout=60)
            finally:
                kc.stop_channels()
        finally:
            await km.shutdown_kernel(now=True)
        return second

    second = asyncio.run(life())
    assert not set(second) & kernels._GIVEN  # a stopped kernel's ports may be chosen again
    assert not set(second) & set(kernels._CLAIMS)  # and other servers may claim them


@pytest.mark.parametrize("target", ["app", "lab"])
def test_make_app_and_make_lab_start_kernels_with_the_kits_ports(target):
    import subprocess
    from pathlib import Path

    dry = subprocess.run(["make", "-n", target], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True).stdout
    assert "--MappingKernelManager.kernel_manager_class=sciatica_kit.kernels.KitKernelManager" in dry


def test_a_used_spare_kernel_is_replaced_at_the_first_pause_not_after_voilas_whole_wait(monkeypatch):
    """Voila waited its whole fill_delay (a minute in `make app`) before replacing a used spare
    kernel, and a visitor opening the same page meanwhile waited it out (59 s for the home page)."""
    import time

    import voila.voila_kernel_manager as voila_kernels

    from sciatica_kit import machine

    monkeypatch.setattr(voila_kernels, "wait_before", voila_kernels.wait_before)  # put back after the test
    assert kernels.refill_at_a_pause() and voila_kernels.wait_before is kernels._refill_at_a_pause
    monkeypatch.setattr(kernels, "REFILL_FIRST_S", 0.05)
    monkeypatch.setattr(kernels, "REFILL_PAUSE_S", 0.05)
    busy = {"looks": 0}

    def machine_was_idle(previous):
        busy["looks"] += 1
        return busy["looks"] > busy.get("until", 0), previous

    monkeypatch.setattr(machine, "machine_was_idle", machine_was_idle)

    async def started():
        return "started"

    def timed(delay):
        t = time.monotonic()
        assert asyncio.run(voila_kernels.wait_before(delay, started())) == "started"
        return time.monotonic() - t

    assert timed(0) < 0.05  # Voila's first fill, when the server starts: at once
    assert timed(60) < 5  # an idle machine: at its first pause, not a minute later
    busy.update(looks=0, until=4)  # a clinician clicking: four busy looks first
    assert 0.2 <= timed(60) < 5 and busy["looks"] == 5
    busy.update(looks=0, until=10**6)  # never idle: Voila's own wait is the longest
    assert 0.5 <= timed(0.5) < 5
