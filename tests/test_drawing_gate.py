"""A chart drawn ahead in the kernel's drawing thread pauses while the kernel answers the browser."""

from __future__ import annotations

import threading
import time

import pytest

import sciatica_kit as sk
from sciatica_kit import charts
from sciatica_kit.drawing_gate import GATE
from sciatica_kit.widgets import common
from sciatica_kit.widgets.progress_charts import laid_out_chart


@pytest.fixture
def chart_of_a_patient(tmp_path):
    store = sk.seed_demo_store(sk.Store(tmp_path / "kit.sqlite"), n_patients=3)
    pid = list(store.patients()["patient_id"])[0]
    log, programmes = store.read(pid), store.programmes(pid)
    catalog = sk.load_catalog()
    return lambda: charts.figure_svg(laid_out_chart(log, pid, programmes, catalog))


@pytest.fixture
def pauses(monkeypatch):
    """The drawing thread's safe points reached, in order: 'panel' (laying out) or 'svg' (writing)."""
    reached, seen = [], threading.Event()
    real = GATE.pause_point
    real_write = charts._PausingBuffer.write

    def pause_point():
        if GATE.joined():
            reached.append("svg" if getattr(_writing, "now", False) else "panel")
            seen.set()
        real()

    _writing = threading.local()

    def write(self, s):
        _writing.now = True
        try:
            return real_write(self, s)
        finally:
            _writing.now = False

    monkeypatch.setattr(GATE, "pause_point", pause_point)
    monkeypatch.setattr(charts._PausingBuffer, "write", write)
    monkeypatch.setattr(GATE, "MAX_PAUSE_S", 3.0)  # longer than any pause these tests allow
    return reached, seen


def test_a_drawing_ahead_pauses_while_the_gate_is_closed_and_goes_on_when_it_opens(chart_of_a_patient, pauses):
    reached, seen = pauses
    GATE.close()  # the kernel answers a click
    try:
        drawing = common.DRAWING.submit(chart_of_a_patient)
        assert seen.wait(30)  # the drawing thread reached its first safe point ...
        n = len(reached)
        time.sleep(0.3)  # ... and stays there while the main thread works
        assert len(reached) == n and not drawing.done()
    finally:
        GATE.reopen()
    svg = drawing.result(timeout=60)
    assert svg.startswith(b"<?xml") and b"<svg" in svg[:400]
    assert "panel" in reached and reached.count("svg") > 10  # it paused between panels and between pieces of the SVG


def test_the_main_thread_waiting_for_a_paused_drawing_lets_it_finish(chart_of_a_patient, pauses):
    """A click that needs the chart in progress (DRAWING.idle), or draws one itself while a paused drawing
    holds the SVG settings, opens the gate while it waits: no deadlock, no minute-long pause."""
    reached, seen = pauses
    with GATE.closed():
        started = time.monotonic()
        drawing = common.DRAWING.submit(chart_of_a_patient)
        assert seen.wait(30)
        common.DRAWING.idle()  # the kernel waits for the drawing, inside a handler
        assert drawing.done() and time.monotonic() - started < GATE.MAX_PAUSE_S

        seen.clear()
        drawing = common.DRAWING.submit(chart_of_a_patient)
        while "svg" not in reached[-1:]:  # paused in the middle of its SVG, holding the settings
            assert seen.wait(30)
            seen.clear()
        started = time.monotonic()
        own = chart_of_a_patient()  # the main thread draws one itself meanwhile
        assert own.startswith(b"<?xml") and time.monotonic() - started < GATE.MAX_PAUSE_S
    assert drawing.result(timeout=60) == own  # the same chart, the same bytes: the settings held for both


def test_the_gate_closes_while_the_kernel_handles_each_message(monkeypatch):
    """Installed once, around ipykernel's pre- and post-handler hooks (called around every shell message)."""
    import IPython

    calls = []
    kernel = type("Kernel", (), {})()
    kernel.pre_handler_hook = lambda: calls.append(("pre", GATE._open.is_set()))
    kernel.post_handler_hook = lambda: calls.append(("post", GATE._open.is_set()))
    shell = type("Shell", (), {"kernel": kernel})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)

    common._gate_while_the_kernel_answers()
    common._gate_while_the_kernel_answers()  # once only
    kernel.pre_handler_hook()
    assert not GATE._open.is_set()  # closed while the handler runs
    kernel.post_handler_hook()
    assert GATE._open.is_set()
    assert calls == [("pre", False), ("post", False)]  # ipykernel's own hooks still run, once each


def test_a_kernel_without_handler_hooks_is_left_as_it_is(monkeypatch):
    import IPython

    kernel = type("Kernel", (), {})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: type("Shell", (), {"kernel": kernel})())
    common._gate_while_the_kernel_answers()  # no error: drawing ahead simply never pauses
    assert not hasattr(kernel, "pre_handler_hook") and GATE._open.is_set()
