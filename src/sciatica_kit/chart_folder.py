"""A folder where the kernels of one Jupyter server leave the progress charts they drew, for each other.

Each app page runs in its own kernel: the visit logger draws a patient's chart after a save,
and a moment later the patient report (another kernel) would draw the very same chart again.
A server started with :class:`~sciatica_kit.kernels.KitKernelManager` (``make app``,
``make lab``, the hub's servers) gives its kernels one private folder (``$SCIATICA_KIT_SHARED_CHARTS``);
a chart drawn by one kernel is then shown by the others at once, as long as the patient's
rows are the same (the file is named after the store, the patient and a fingerprint of what
the chart shows; a colleague's entry since means another name, so a new drawing).

The charts show patients' data, so the folder is the server user's alone (0700, files
0600), named without patient ids, holds at most :data:`MOST` charts, and is removed when the
server stops; one left behind by a server that was killed is removed by the next one.
Light on purpose (standard library only): the server imports it.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["ENV", "MOST", "chart_path", "make_folder", "read_chart", "write_chart"]

ENV = "SCIATICA_KIT_SHARED_CHARTS"  # the folder, in the kernels' environment
MOST = 512  # charts kept in the folder (a few tens of MB at most); the oldest go first
_PREFIX = "sciatica-kit-charts-"
_FOLDER: Path | None = None  # this server's folder


def make_folder(parent: str | os.PathLike | None = None) -> Path:
    """This server's folder for its kernels' charts: made once (0700), removed when the process ends.

    Folders left by servers that no longer run (killed before they could remove theirs) are
    removed first.

    Parameters
    ----------
    parent : path-like, optional
        Where to make it (the system's temporary folder by default).

    Returns
    -------
    pathlib.Path
    """
    global _FOLDER
    if _FOLDER is not None and _FOLDER.is_dir():
        return _FOLDER
    parent = Path(parent or tempfile.gettempdir())
    for old in parent.glob(f"{_PREFIX}*-*"):
        pid = old.name[len(_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)) and old.is_dir() and old.stat().st_uid == os.getuid():
            shutil.rmtree(old, ignore_errors=True)
    _FOLDER = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=parent))  # 0700
    atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
    return _FOLDER


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


def chart_path(store_key: str, pid: str, key: bytes) -> Path | None:
    """Where the chart of ``pid`` in the store ``store_key`` drawn from fingerprint ``key`` is left, if this kernel has a folder.

    Parameters
    ----------
    store_key : str
        The store's location (password hidden).
    pid : str
        The patient.
    key : bytes
        The fingerprint of what the chart shows.

    Returns
    -------
    pathlib.Path or None
        None outside a server that shares charts (a script, a test).
    """
    folder = os.environ.get(ENV)
    if not folder:
        return None
    name = hashlib.sha256(b"\0".join((store_key.encode(), pid.encode(), key))).hexdigest()
    return Path(folder) / f"{name}.svg"


def read_chart(path: Path | None) -> bytes | None:
    """The chart left at ``path``, or None.

    Parameters
    ----------
    path : pathlib.Path or None
        From :func:`chart_path`.

    Returns
    -------
    bytes or None
    """
    if path is None:
        return None
    try:
        return path.read_bytes() or None
    except OSError:
        return None


def write_chart(path: Path | None, svg: bytes) -> None:
    """Leave ``svg`` at ``path`` for the server's other kernels (whole or not at all); the oldest beyond :data:`MOST` go.

    A chart that cannot be written is simply not shared: the other kernels draw it themselves.

    Parameters
    ----------
    path : pathlib.Path or None
        From :func:`chart_path`.
    svg : bytes
        The chart.
    """
    if path is None or path.exists():
        return
    with contextlib.suppress(OSError):
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".part", dir=path.parent)  # 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(svg)
            os.replace(tmp, path)  # another kernel reads the whole chart or none
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _prune(path.parent)


def _prune(folder: Path) -> None:
    with contextlib.suppress(OSError):
        charts = list(os.scandir(folder))
        if len(charts) <= MOST:
            return
        charts.sort(key=lambda e: e.stat().st_mtime)
        for entry in charts[:len(charts) - MOST]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
