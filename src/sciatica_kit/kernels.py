"""Kernel ports that another program cannot take between their choice and the kernel's start.

A Jupyter server chooses a new kernel's five TCP ports by asking the system for free ones
(binding port 0), closes them, and writes them to the kernel's connection file; the kernel
binds them a moment later.  The system hands out those ports from its ephemeral range, the
same range every outgoing connection takes its local port from.  On a busy machine (a clinic
server with many pages opening, or the test suite) another connection can take one of them
in that moment: the kernel dies with "Address already in use" and its page never appears.

:class:`KitKernelManager` chooses the ports at random *below* the ephemeral range, where the
system never hands out a port by itself; only a program that binds that very port could
collide, and a port in use is skipped.  Every Jupyter server of the machine that uses it (the
hub's servers, one per clinician) claims each port it chooses until its kernel stops, so two
servers never give the same port to kernels starting at the same moment.  ``make app``,
``make lab`` and the clinic hub's servers use it::

    --MappingKernelManager.kernel_manager_class=sciatica_kit.kernels.KitKernelManager

In a Voila server with preheated kernels (``make app``) it also changes when a used spare
kernel is replaced (:func:`refill_at_a_pause`).  Every server that uses it gives its kernels one
private folder in which they share the progress charts they draw (:mod:`sciatica_kit.chart_folder`).
"""

from __future__ import annotations

import asyncio
import errno
import os
import random
import socket
from pathlib import Path

from jupyter_server.services.kernels.kernelmanager import ServerKernelManager

from sciatica_kit import chart_folder, machine

__all__ = ["KitKernelManager", "kernel_ports", "refill_at_a_pause"]

#: Where the system hands out ports by itself when /proc does not say (Linux's default).
DEFAULT_EPHEMERAL = (32768, 60999)
#: How far below the ephemeral range kernel ports are chosen.
SPAN = 12_000
_PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port")


def ephemeral_range(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> tuple[int, int]:
    """The ports the system gives to outgoing connections and to ``bind(port 0)``.

    Parameters
    ----------
    path : Path
        Linux's setting (elsewhere the default range is assumed).

    Returns
    -------
    tuple of int
        The first and last port of the range.
    """
    try:
        low, high = (int(x) for x in path.read_text().split())
    except (OSError, ValueError):
        return DEFAULT_EPHEMERAL
    return low, high


def kernel_ports(n: int, ip: str = "127.0.0.1", *, taken: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """``n`` distinct free ports below the ephemeral range, chosen at random.

    Parameters
    ----------
    n : int
        How many ports.
    ip : str
        The address the kernel binds.
    taken : set of int
        Ports already given to a kernel that may not have bound them yet.

    Returns
    -------
    list of int
        Ports free at this moment, none of them one the system would hand out by itself;
        an empty list when the range leaves no room (the server then chooses as usual).
    """
    low = ephemeral_range()[0]
    first = max(1024, low - SPAN)
    if low - first < n:
        return []
    rng = random.SystemRandom()
    ports: list[int] = []
    for _ in range(200 * n):
        if len(ports) == n:
            break
        port = rng.randrange(first, low)
        if port in ports or port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind((ip, port))
            except OSError:  # in use (a listening service, a kernel, a closing connection)
                continue
        claim = claim_port(port)
        if claim is None:  # another server on this machine gave it to a kernel that has not bound it yet
            continue
        ports.append(port)
        _CLAIMS[port] = claim
    if len(ports) != n:
        release_ports(ports)
        return []
    return ports


_CLAIMS: dict[int, socket.socket] = {}  # ports this process has claimed, until release_ports


def claim_port(port: int) -> socket.socket | None:
    """Claim ``port`` for a kernel among every process of this machine: None when another holds it.

    The claim is a Linux abstract socket named after the port: only one process can hold a
    name, whoever the user, and the system lets it go when that process ends.  Elsewhere
    every claim succeeds (the bind check above is all there is).

    Parameters
    ----------
    port : int
        The port.

    Returns
    -------
    socket.socket or None
        The claim (close it to let the port go), or None when the port is claimed already.
    """
    try:
        claim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except (AttributeError, OSError):  # no Unix sockets here
        return socket.socket()
    try:
        claim.bind(f"\0sciatica-kit-kernel-port-{port}")
    except OSError as err:
        claim.close()
        if err.errno == errno.EADDRINUSE:
            return None
        return socket.socket()  # no abstract sockets here (not Linux)
    return claim


def release_ports(ports) -> None:
    """Let ``ports`` go: their kernel has stopped (or was never started)."""
    for port in ports:
        claim = _CLAIMS.pop(port, None)
        if claim is not None:
            claim.close()


_GIVEN: set[int] = set()  # ports this server gave to kernels that have not been stopped


REFILL_FIRST_S = 3.0  # a used spare kernel's replacement starts no sooner than this...
REFILL_PAUSE_S = 1.0  # ... then at the first second the machine is mostly idle (or after Voila's fill_delay)


async def _refill_at_a_pause(delay: float, start):
    """Voila's wait before it replaces a used spare kernel, ended by the machine's first pause.

    Voila waits ``fill_delay`` seconds (``make app``: 60), then starts the replacement.  A
    visitor who opens the same page meanwhile (back to the home page a few seconds after
    leaving it) is given that replacement, so they waited out the rest of the minute: 59 s
    for the home page here.  Now the replacement starts after ``REFILL_FIRST_S``, at the
    first second in which at least half the machine's CPU time went idle (a clinician
    reading, or a visitor waiting for this very page), and at the latest after ``delay``.
    It waits for a pause in the clinician's clicks, which is what Voila's minute was for; a
    visitor on a machine busy the whole time still waits up to ``delay``.
    """
    loop = asyncio.get_running_loop()
    if delay > 0:
        until = loop.time() + delay
        await asyncio.sleep(min(delay, REFILL_FIRST_S))
        reading = machine.cpu_times()
        while loop.time() < until:
            await asyncio.sleep(REFILL_PAUSE_S)
            idle, reading = machine.machine_was_idle(reading)
            if idle:
                break
    return await start


def refill_at_a_pause() -> bool:
    """Make Voila replace a used spare kernel at the machine's first pause (see :func:`_refill_at_a_pause`).

    Voila has no option for it: its own wait (``voila.voila_kernel_manager.wait_before``) is
    replaced.  Called whenever the server creates a kernel manager (the same each time).

    Returns
    -------
    bool
        True when Voila's wait is (now) replaced; False without Voila or without that wait.
    """
    try:
        import voila.voila_kernel_manager as voila_kernels
    except ImportError:
        return False
    if getattr(voila_kernels, "wait_before", None) is None:
        return False
    voila_kernels.wait_before = _refill_at_a_pause
    return True


class KitKernelManager(ServerKernelManager):
    """A Jupyter server's kernel manager whose kernels get ports below the ephemeral range.

    Everything else is Jupyter's own :class:`ServerKernelManager`.  A restart "with new
    ports" (after a kernel died) chooses again the same way; a stopped kernel's ports are
    free to be chosen again.  In a Voila server it also makes a used spare kernel's
    replacement start at the machine's first pause (:func:`refill_at_a_pause`).
    """

    _kit_ports: list[int] | None = None  # the ports chosen here for this kernel

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        refill_at_a_pause()

    async def _async_pre_start_kernel(self, **kw):
        if self.transport == "tcp" and not any(getattr(self, name) for name in _PORT_NAMES):
            ports = kernel_ports(len(_PORT_NAMES), self.ip or "127.0.0.1", taken=_GIVEN)
            if ports:  # else (no room below the range) the server chooses as it always did
                self.cache_ports = False  # chosen here: the server's own choice is skipped
                for name, port in zip(_PORT_NAMES, ports, strict=True):
                    setattr(self, name, port)
                self._kit_ports = ports
                _GIVEN.update(ports)
        # the server's kernels share the progress charts they draw (sciatica_kit.chart_folder)
        kw["env"] = {**(kw.get("env") or os.environ), chart_folder.ENV: str(chart_folder.make_folder())}
        return await super()._async_pre_start_kernel(**kw)

    def _forget_ports(self) -> bool:
        if not self._kit_ports:
            return False
        _GIVEN.difference_update(self._kit_ports)
        release_ports(self._kit_ports)
        self._kit_ports = None
        return True

    def cleanup_random_ports(self) -> None:
        """Forget the ports before a restart with new ones (Jupyter forgets only those it chose)."""
        if self._forget_ports():
            for name in _PORT_NAMES:
                setattr(self, name, 0)
            self.cleanup_connection_file()
        else:
            super().cleanup_random_ports()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        """Jupyter's clean-up of a stopped kernel; a kernel stopped for good lets its ports go.

        Parameters
        ----------
        restart : bool
            True when the kernel is only restarting (it keeps its ports).
        """
        if not restart:
            self._forget_ports()
        await super()._async_cleanup_resources(restart=restart)

    cleanup_resources = _async_cleanup_resources  # the public name calls this class's own clean-up too
