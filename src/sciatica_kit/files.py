"""Writing files that hold patient data: owner-readable only, and atomic.

Every export and the store go through :func:`private_path`: the content is
written to a temporary file beside the target (mode 0600), flushed, then moved
into place in one step, so a crash never leaves a half-written file and no
other user on the machine can read it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["OWNER_ONLY", "make_private", "private_path"]

OWNER_ONLY = 0o600


def make_private(path: str | os.PathLike) -> None:
    """Restrict an existing file to its owner (read/write).

    Parameters
    ----------
    path : str or path-like
        The file.
    """
    os.chmod(path, OWNER_ONLY)


@contextlib.contextmanager
def private_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target`` atomically.

    The temporary file is created owner-only (0600) before anything is written.

    Parameters
    ----------
    target : str or path-like
        The file to write.

    Yields
    ------
    pathlib.Path
        The temporary file to write into.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with private_path(out) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> oct(out.stat().st_mode & 0o777)
    '0o600'
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, OWNER_ONLY)
    try:
        yield tmp
        os.chmod(tmp, OWNER_ONLY)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
