"""A private PostgreSQL server for tests: started with initdb/pg_ctl on a free loopback port.

Usable as a plain module (no pytest needed)::

    from pgserver import start_server
    url_factory, stop = start_server(tmpdir)
    url = url_factory()            # a new empty database, "postgresql+psycopg://admin:...@127.0.0.1:PORT/t_1"
    url = url_factory("hub")       # or a named one
    ...
    stop()

The server runs as the ``postgres`` OS user when we are root (``initdb`` refuses root),
listens on 127.0.0.1 only, on a free port, with its data folder under ``tmpdir``; the
superuser is ``admin`` with a random password (scram-sha-256).  ``stop()`` shuts it down
(fast) and is safe to call twice.  Missing server binaries raise :class:`PostgresMissing`
whose message is the command that installs them: tests FAIL with it, never skip.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["INSTALL_HINT", "PostgresMissing", "find_bin_dir", "start_server"]

INSTALL_HINT = "apt-get update && apt-get install -y postgresql   (or: make postgres, as root)"


class PostgresMissing(RuntimeError):
    """The PostgreSQL server programs are not installed."""


def find_bin_dir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` (Debian keeps them off PATH)."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    root = Path("/usr/lib/postgresql")
    versions = sorted((p for p in root.glob("*/bin") if (p / "initdb").exists()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0) if root.is_dir() else []
    if versions:
        return versions[-1]
    raise PostgresMissing(f"PostgreSQL server programs (initdb, pg_ctl) are not installed. Install them with: {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def start_server(tmpdir: str | os.PathLike) -> tuple[Callable[..., str], Callable[[], None]]:
    """Start a private server under ``tmpdir``.

    Parameters
    ----------
    tmpdir
        A folder for the server's data, socket and log (created if needed).

    Returns
    -------
    (url_factory, stop)
        ``url_factory(name=None)`` creates a new database and returns its SQLAlchemy URL
        (``postgresql+psycopg://``, password included: keep it out of messages);
        ``stop()`` shuts the server down.

    Raises
    ------
    PostgresMissing
        When the server programs are not installed (the message says how to install them).
    """
    import psycopg
    from psycopg import sql

    bin_dir = find_bin_dir()
    if os.geteuid() == 0:
        # the postgres OS user must reach the folder: pytest's tmp folders are root-only (0700),
        # so the server gets its own folder in the system temp dir, owned by postgres
        base = Path(tempfile.mkdtemp(prefix="sk-pg-"))
    else:
        Path(tmpdir).mkdir(parents=True, exist_ok=True)
        base = Path(tempfile.mkdtemp(prefix="pg-", dir=tmpdir))
    os.chmod(base, 0o700)
    data, log, pwfile = base / "data", base / "server.log", base / "pw"
    password = secrets.token_urlsafe(16)
    pwfile.write_text(password + "\n")
    os.chmod(pwfile, 0o644)
    if os.geteuid() == 0:
        shutil.chown(base, user="postgres")
    subprocess.run(
        _as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "admin", "--pwfile", str(pwfile),
                         "-A", "scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
        check=True, capture_output=True, timeout=120,
    )
    pwfile.unlink()
    port = _free_port()
    opts = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c max_connections=200"
    subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                                    "-o", opts, "start"]), check=True, capture_output=True, timeout=90)
    admin = f"host=127.0.0.1 port={port} user=admin password={password} dbname=postgres"
    counter = itertools.count(1)
    stopped = False

    def url_factory(name: str | None = None) -> str:
        db = name or f"t_{next(counter)}_{secrets.token_hex(3)}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
        return f"postgresql+psycopg://admin:{password}@127.0.0.1:{port}/{db}"

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                           capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)

    url_factory.admin_dsn = admin  # type: ignore[attr-defined]  # psycopg DSN of the superuser, for helpers
    url_factory.port = port  # type: ignore[attr-defined]
    return url_factory, stop
