"""A clinic hub on this machine: private PostgreSQL, JupyterHub on loopback, demo clinicians.

``make hub`` runs :func:`main`; ``tests/test_hub.py`` uses :func:`start_hub`.  Everything it starts
(PostgreSQL, the hub, its proxy and the clinicians' servers) stops on Ctrl-C or :meth:`LocalHub.stop`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROXY_BIN = HERE / "node_modules" / ".bin"
PROXY_HINT = "make hub-tools   (npm install configurable-http-proxy@4 into deploy/hub/node_modules)"
HUB_HINT = "make hub-tools   (pip install -e '.[hub]' into .venv)"
DEMO_USERS = ("a.khan", "b.lee")
DEMO_ADMIN = "clinic.admin"

sys.path.insert(0, str(REPO / "tests"))  # the same private-PostgreSQL helper the store tests use
from pgserver import PostgresMissing, start_server  # noqa: E402


class HubToolMissing(RuntimeError):
    """JupyterHub or configurable-http-proxy is not installed; the message says how to install it."""


def free_port() -> int:
    """A free TCP port on loopback."""
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """``n`` different free TCP ports on loopback (all held open while choosing, so never the same twice)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def find_tools() -> tuple[Path, Path]:
    """The ``jupyterhub`` command next to this Python and the project's configurable-http-proxy."""
    hub = Path(sys.executable).with_name("jupyterhub")
    if not hub.exists():
        raise HubToolMissing(f"JupyterHub is not installed in {sys.prefix}. Install it with: {HUB_HINT}")
    proxy = PROXY_BIN / "configurable-http-proxy"
    if not proxy.exists() or not shutil.which("node"):
        raise HubToolMissing(f"configurable-http-proxy (Node.js) is not installed. Install it with: {PROXY_HINT}"
                             " (needs node and npm: apt-get install nodejs npm)")
    return hub, proxy


@dataclass
class LocalHub:
    """A running local hub: its address, password, service token and the things to stop."""

    url: str
    password: str
    admin_password: str
    token: str
    store_url: str
    users: tuple[str, ...]
    admin: str
    state: Path
    process: subprocess.Popen
    _stops: list = field(default_factory=list)

    def api(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Call the hub's REST API (``/hub/api`` + path) with the service token; (status, body)."""
        req = urllib.request.Request(f"{self.url}/hub/api{path}", data=body, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def stop(self) -> None:
        """Stop the hub (it stops the clinicians' servers and its proxy), then PostgreSQL."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # the hub's session: a proxy or a clinician's server left behind by a hub that failed or was killed
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)
        while self._stops:
            with contextlib.suppress(Exception):
                self._stops.pop()()


def start_hub(workdir: str | os.PathLike | None = None, *, users: tuple[str, ...] = DEMO_USERS,
              admin: str = DEMO_ADMIN, port: int | None = None, log=None, seed_demo: bool = False,
              timeout: float = 120) -> LocalHub:
    """Start PostgreSQL (hub and kit databases) and a JupyterHub on loopback; wait until it answers.

    Parameters
    ----------
    workdir
        Folder for the hub's state, the clinicians' home folders and the PostgreSQL data.
    users, admin
        The demo clinicians and the hub administrator; all log in with the printed password.
    port
        The hub's public port on 127.0.0.1 (default: a free one).
    log
        A file object for the hub's output (default: inherit).
    seed_demo
        Put the synthetic demo patients in the kit's store.
    timeout
        Seconds to wait for the hub to answer.

    Returns
    -------
    LocalHub
    """
    hub_bin, proxy = find_tools()
    workdir = Path(workdir or tempfile.mkdtemp(prefix="sk-hub-"))
    state = workdir / "hub-state"
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    stops = []
    url_factory, stop_pg = start_server(workdir / "postgres")
    stops.append(stop_pg)
    try:
        hub_db, store_url = url_factory("hub"), url_factory("kit")
        if seed_demo:
            subprocess.run([sys.executable, "-m", "sciatica_kit.demo", "--seed-store"], check=True,
                           env={**os.environ, "SCIATICA_KIT_STORE": store_url}, capture_output=True, timeout=300)
        internal_port, proxy_api_port, public_port = free_ports(3)
        port = port or public_port
        password, admin_password = secrets.token_urlsafe(9), secrets.token_urlsafe(32)
        token = secrets.token_hex(32)
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{PROXY_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "SCIATICA_HUB_SECRETS": str(state / "none.env"),
            "SCIATICA_HUB_DB_URL": hub_db,
            "SCIATICA_KIT_STORE": store_url,
            "SCIATICA_HUB_USERS": ",".join(users),
            "SCIATICA_HUB_ADMIN": admin,
            "SCIATICA_HUB_STATE": str(state),
            "SCIATICA_HUB_DEMO_PASSWORD": password,
            "SCIATICA_HUB_DEMO_ADMIN_PASSWORD": admin_password,
            "SCIATICA_HUB_SERVICE_TOKEN": token,
            "SCIATICA_HUB_BIND_URL": f"http://127.0.0.1:{port}",
            "SCIATICA_HUB_INTERNAL_URL": f"http://127.0.0.1:{internal_port}",
            "SCIATICA_HUB_PROXY_API_URL": f"http://127.0.0.1:{proxy_api_port}",
        }
        env.pop("SCIATICA_HUB_AUTH", None)
        process = subprocess.Popen([str(hub_bin), "-f", str(HERE / "local_config.py")], cwd=state, env=env,
                                   stdout=log, stderr=subprocess.STDOUT if log else None, start_new_session=True)
    except BaseException:
        stop_pg()
        raise
    hub = LocalHub(url=f"http://127.0.0.1:{port}", password=password, admin_password=admin_password, token=token, store_url=store_url,
                   users=tuple(users), admin=admin, state=state, process=process, _stops=stops)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"The hub stopped while starting (exit {process.returncode}); see its log.")
            with contextlib.suppress(OSError):
                if hub.api("GET", "/")[0] == 200:
                    return hub
            if time.monotonic() > deadline:
                raise RuntimeError(f"The hub did not answer within {timeout:.0f} s; see its log.")
            time.sleep(0.5)
    except BaseException:
        hub.stop()
        raise


def main() -> int:
    """``make hub``: start everything, print the address and logins, stop everything on Ctrl-C."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)  # also when started with SIGINT ignored (a background job)
    signal.signal(signal.SIGTERM, interrupt)
    workdir = Path(os.environ.get("SCIATICA_HUB_WORKDIR") or tempfile.mkdtemp(prefix="sk-hub-"))
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_path = workdir / "hub.log"
    print(f"Starting PostgreSQL and the hub (log: {log_path}) ...", flush=True)
    try:
        with open(log_path, "a") as log:
            hub = start_hub(workdir, port=int(os.environ.get("HUB_PORT", "8000")), seed_demo=True, log=log)
    except (HubToolMissing, PostgresMissing, RuntimeError) as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(f"\nSciatica Kit clinic hub (this machine only): {hub.url}/hub/login")
    print(f"  clinicians: {', '.join(hub.users)}   password: {hub.password}")
    print(f"  hub admin:  {hub.admin}   password: {hub.admin_password}")
    print("  demo patients are synthetic. Ctrl-C stops the hub, the servers and PostgreSQL.\n", flush=True)
    try:
        hub.process.wait()
    except KeyboardInterrupt:
        print("\nStopping the hub, the clinicians' servers and PostgreSQL ...", flush=True)
    finally:
        hub.stop()
        shutil.rmtree(hub.state, ignore_errors=True)  # the demo's cookie secret and clinicians' home folders
    print(f"Stopped. The hub's log stays in {log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
