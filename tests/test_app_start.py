"""`make app` opens the browser once the preheated app kernels say they are ready, with progress meanwhile."""

from __future__ import annotations

import runpy
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OPENER = REPO / "tools" / "open_when_ready.py"


@pytest.fixture
def listening():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(OPENER), *args], capture_output=True, text=True, timeout=timeout)


def test_the_home_page_is_announced_only_once_every_app_is_ready(tmp_path, listening):
    ready = tmp_path / "ready"
    ready.mkdir()

    def kernels_get_ready():
        for i in range(3):
            time.sleep(0.6)
            (ready / f"kernel-{i}").touch()

    threading.Thread(target=kernels_get_ready).start()
    started = time.monotonic()
    done = _run("--url", "http://127.0.0.1/home", "--port", str(listening), "--ready-dir", str(ready), "--apps", "3", "--no-browser")
    assert done.returncode == 0 and time.monotonic() - started >= 1.8  # not before the third kernel
    lines = done.stdout.splitlines()
    assert lines[0] == "Sciatica Kit: preparing the apps (0 of 3 ready)..."
    assert "Sciatica Kit: preparing the apps (3 of 3 ready)..." in lines
    assert lines[-1] == "Sciatica Kit is ready: open http://127.0.0.1/home"


def test_without_preheated_kernels_the_page_is_announced_once_the_server_answers(tmp_path, listening):
    done = _run("--url", "http://x/home", "--port", str(listening), "--apps", "0", "--no-browser")
    assert done.returncode == 0 and done.stdout.splitlines() == ["Sciatica Kit is ready: open http://x/home"]


def test_apps_that_never_get_ready_are_opened_anyway_after_the_timeout_saying_so(tmp_path, listening):
    done = _run("--url", "http://x/home", "--port", str(listening), "--ready-dir", str(tmp_path), "--apps", "2",
                "--timeout", "1", "--no-browser")
    assert done.returncode == 0
    assert "the apps are still preparing; the first page may take a few seconds" in done.stdout
    assert done.stdout.splitlines()[-1] == "Sciatica Kit is ready: open http://x/home"


def test_a_server_that_never_answers_is_reported(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    done = _run("--url", "http://x/home", "--port", str(port), "--timeout", "1", "--no-browser")
    assert done.returncode == 1 and f"did not answer on port {port}" in done.stdout


def test_a_preheated_kernel_says_it_is_ready_before_waiting_for_its_visitor(tmp_path, monkeypatch):
    import voila.utils

    from sciatica_kit.widgets import wait_for_visitor
    from sciatica_kit.widgets.waiting import READY_DIR_ENV

    seen = []
    monkeypatch.setattr(voila.utils, "wait_for_request", lambda: seen.append(sorted(p.name for p in tmp_path.iterdir())))
    monkeypatch.setenv(READY_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("VOILA_KERNEL_ID", "abc-123")
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    wait_for_visitor(warm=())
    assert seen == [] and not list(tmp_path.iterdir())  # not preheated (JupyterLab, plain Voila): nothing said
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    wait_for_visitor(warm=())
    assert seen == [["kernel-abc-123"]]  # said before the wait

    (tmp_path / "kernel-abc-123").unlink()
    drawing, said = threading.Event(), []

    def draw_ahead(stop, store=None):  # said only once the charts drawn ahead are done: a page opened meanwhile loads slower
        said.append(list(tmp_path.glob("kernel-*")))
        drawing.set()

    monkeypatch.setattr(voila.utils, "wait_for_request", lambda: drawing.wait(30))
    wait_for_visitor(warm=(), while_waiting=draw_ahead)
    deadline = time.monotonic() + 30
    while not (tmp_path / "kernel-abc-123").exists():
        assert time.monotonic() < deadline, "the kernel never said it was ready"
        time.sleep(0.01)
    assert said == [[]]


def test_make_app_waits_for_its_preheated_apps_and_passes_the_folder_to_voila():
    dry = subprocess.run(["make", "-n", "app"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "tools/open_when_ready.py" in dry and "--apps 5" in dry  # the home page, the three apps and the report
    (voila_line,) = [ln for ln in dry.splitlines() if "voila notebooks" in ln]
    assert voila_line.startswith("SCIATICA_KIT_READY_DIR=")
    dry0 = subprocess.run(["make", "-n", "app", "PREHEAT=0"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "--apps 0" in dry0


def test_the_opener_needs_nothing_of_the_kit(monkeypatch):
    """It runs beside the server and only watches a port and a folder: no import of the kit."""
    source = OPENER.read_text()
    assert "import sciatica_kit" not in source and "from sciatica_kit" not in source
    monkeypatch.setattr(sys, "argv", ["open_when_ready.py", "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(OPENER), run_name="__main__")
    assert done.value.code == 0


def test_the_first_line_of_an_app_notebook_loads_nothing_heavy():
    """A spare kernel's own imports run at the kernel's priority: the notebook's first line must not load
    pandas, ipywidgets or matplotlib, so that they load in the lowest-priority thread instead."""
    code = ("import sys; from sciatica_kit.widgets import wait_for_visitor; import sciatica_kit as sk; "
            "print(sorted(m for m in ('pandas', 'numpy', 'ipywidgets', 'matplotlib', 'sqlalchemy') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    # every name (and module) of the package still comes when asked
    code = "import sciatica_kit as sk; print(sk.build_programme.__name__, sk.screening.screen.__name__, sk.charts.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["build_programme", "screen", "sciatica_kit.charts"]


PREHEATED_KERNEL = r'''
import os, sys, threading, time
from pathlib import Path

loaded = {}  # module -> (thread, niceness) where it was first imported
by_the_page = []  # modules the page's own import line loads (the kernel's main thread, during that line)
page_importing = False


class Watch:
    def find_spec(self, name, path=None, target=None):
        if page_importing and threading.current_thread() is threading.main_thread():
            by_the_page.append(name)
        if name in ("numpy", "pyarrow", "pandas", "ipywidgets", "matplotlib", "voila", "sciatica_kit.widgets.progress_logger") and name not in loaded:
            loaded[name] = (threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return None


sys.meta_path.insert(0, Watch())
import asyncio

import websockets

ready = Path(os.environ["SCIATICA_KIT_READY_DIR"])
port = []


async def visitor_comes_once_ready(websocket, *path):  # Voila's server, as wait_for_request asks it
    deadline = time.monotonic() + 120
    while not list(ready.iterdir()):
        assert time.monotonic() < deadline, "never ready"
        await asyncio.sleep(0.01)
    await websocket.send("{}")


async def serve():
    async with websockets.serve(visitor_comes_once_ready, "127.0.0.1", 0) as server:
        port.append(list(server.sockets)[0].getsockname()[1])
        await asyncio.Future()


threading.Thread(target=asyncio.run, args=(serve(),), daemon=True).start()
while not port:
    time.sleep(0.01)
os.environ.update(VOILA_APP_IP="127.0.0.1", VOILA_APP_PORT=str(port[0]), VOILA_SERVER_URL="/", VOILA_KERNEL_ID="test")
from sciatica_kit.widgets import wait_for_visitor

wait_for_visitor(warm=(), while_waiting="draw_first_charts", app="ProgressLogger")
page_importing = True
from sciatica_kit.widgets import ProgressLogger, draw_first_charts
page_importing = False

from sciatica_kit.widgets.progress_charts import kept_charts
from sciatica_kit.widgets.common import open_app_store

import json

for thread in threading.enumerate():  # the visitor came: the kit's threads stop
    if thread.name.startswith("sciatica-kit-"):
        thread.join(60)


def priorities():
    """Every thread in the process (libraries' worker threads too) -> its priority."""
    found = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        found[task.name + " " + stat[stat.index("(") + 1:stat.rindex(")")]] = int(stat.rsplit(")", 1)[1].split()[16])
    return found


deadline = time.monotonic() + 10
niceness = priorities()
while set(niceness.values()) != {0} and time.monotonic() < deadline:  # a kit thread that has just ended is
    time.sleep(0.05)  # listed for a moment; a library's worker started at nice 19 stays
    niceness = priorities()
with open_app_store() as store:
    print(json.dumps({"loaded": loaded, "new": by_the_page, "drawn": len(kept_charts(store)),
                      "niceness": niceness}))
'''


def test_a_preheated_kernel_loads_the_app_at_the_lowest_priority_and_draws_ahead_by_name(tmp_path):
    import json
    import os

    ready = tmp_path / "ready"
    ready.mkdir()
    env = {**os.environ, "VOILA_PREHEAT": "True", "SCIATICA_KIT_READY_DIR": str(ready),
           "SCIATICA_KIT_DEMO_STORE": str(tmp_path / "demo.sqlite"), "SCIATICA_KIT_STORE": ""}
    done = subprocess.run([sys.executable, "-c", PREHEATED_KERNEL], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    loaded = seen.pop("loaded")
    # the libraries that start worker threads load in the kernel's own thread, at its priority ...
    assert loaded.pop("numpy") == ["MainThread", 0] and loaded.pop("pyarrow") == ["MainThread", 0]
    # ... the rest in the kit's own threads, at the lowest priority (Voila's wait loads its server package)
    assert set(loaded) == {"pandas", "ipywidgets", "matplotlib", "voila", "sciatica_kit.widgets.progress_logger"}
    assert all(thread.startswith("sciatica-kit-") and nice == 19 for thread, nice in loaded.values()), loaded
    # so no thread the app will rely on (numpy's BLAS workers, pyarrow's allocator) was started at the lowest priority
    assert set(seen["niceness"].values()) == {0}, seen["niceness"]
    assert seen["new"] == []  # the page's own import finds the app loaded
    assert seen["drawn"] > 0  # the work named by its name ran: the first patients' charts were drawn ahead
