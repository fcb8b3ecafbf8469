"""Whether the machine is in use: how much of its CPU time went idle (Linux ``/proc/stat``).

Work that nobody is waiting for (a waiting app kernel redrawing charts, Voila starting a
spare kernel) waits for a moment when the machine is mostly idle, so that it never slows
a clinician's clicks.  Elsewhere than Linux the machine counts as idle: such work then runs
as it would have, at the lowest priority where it can.
"""

from __future__ import annotations

__all__ = ["cpu_times", "machine_was_idle"]

IDLE_SHARE = 0.5  # at least this share of the CPU time idle: on two cores, at most one busy


def cpu_times() -> tuple[int, int] | None:
    """The whole machine's idle and total CPU time so far, in clock ticks.

    Returns
    -------
    tuple of int or None
        ``(idle, total)``; None where the system does not say (not Linux).
    """
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + (fields[4] if len(fields) > 4 else 0), sum(fields[:8])


def machine_was_idle(previous: tuple[int, int] | None, share: float = IDLE_SHARE) -> tuple[bool, tuple[int, int] | None]:
    """Whether at least ``share`` of the machine's CPU time went idle since ``previous``.

    Parameters
    ----------
    previous : tuple of int or None
        A reading of :func:`cpu_times`.
    share : float, optional
        The idle share asked for.

    Returns
    -------
    tuple
        ``(idle, reading)``: True when idle enough, or when there is nothing to compare
        (the first look, or not Linux); and the new reading for the next look.
    """
    now = cpu_times()
    if previous is None or now is None or now[1] <= previous[1]:
        return True, now
    return (now[0] - previous[0]) / (now[1] - previous[1]) >= share, now
