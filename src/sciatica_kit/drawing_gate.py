"""A gate that lets a Jupyter kernel's main thread pause the charts other threads draw, while it answers a click.

The apps draw the next patients' charts in a thread of their own while the clinician reads
(:class:`~sciatica_kit.widgets.common.DrawingThread`).  Threads share one interpreter: a
patient switch answered while a chart was being drawn took three to four times as long
(0.04 s alone, a median of 0.12-0.18 s and up to 0.4 s alongside a drawing, measured on two
cores).  So the kernel closes this gate while it handles a message from the browser, and a
thread that has joined it stops at the next safe point of its drawing (between two panels,
between two pieces of the SVG) until the gate opens again.  Standard library only.
"""

from __future__ import annotations

import contextlib
import threading

__all__ = ["GATE", "DrawingGate"]


class DrawingGate:
    """Closed while the kernel's main thread answers the browser; joined threads pause at safe points meanwhile.

    A paused thread goes on after :attr:`MAX_PAUSE_S` at most, whatever the gate: a long cell
    in JupyterLab slows drawing ahead, it never stops it for good.
    """

    MAX_PAUSE_S = 2.0

    def __init__(self):
        self._open = threading.Event()
        self._open.set()
        self._closed = 0  # how many handlers hold it closed (the main thread's only)
        self._joined = threading.local()

    def join(self) -> None:
        """Make the calling thread pause at :meth:`pause_point` while the gate is closed."""
        self._joined.pausing = True

    def joined(self) -> bool:
        """True in a thread that has joined the gate.

        Returns
        -------
        bool
        """
        return getattr(self._joined, "pausing", False)

    def pause_point(self) -> None:
        """A safe point of a drawing: a joined thread waits here while the gate is closed."""
        if not self._open.is_set() and self.joined():
            self._open.wait(self.MAX_PAUSE_S)

    def close(self) -> None:
        """The main thread starts answering the browser (paired with :meth:`reopen`)."""
        self._closed += 1
        self._open.clear()

    def reopen(self) -> None:
        """The main thread has answered."""
        self._closed = max(0, self._closed - 1)
        if not self._closed:
            self._open.set()

    @contextlib.contextmanager
    def closed(self):
        """Closed for the ``with`` block: the main thread's own work comes first.

        Yields
        ------
        None
        """
        self.close()
        try:
            yield
        finally:
            self.reopen()

    @contextlib.contextmanager
    def opened(self):
        """Open for the ``with`` block, in which the main thread waits for a drawing to finish.

        Yields
        ------
        None
        """
        self._open.set()
        try:
            yield
        finally:
            if self._closed:
                self._open.clear()


GATE = DrawingGate()  # this process's
