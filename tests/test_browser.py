"""The three apps in a real Chromium, served by Voila and by JupyterLab.

One Voila server and one JupyterLab server per module, each with its own seeded
demo store (``$SCIATICA_KIT_STORE``) and exports folder
(``$SCIATICA_KIT_EXPORTS``) in a temp folder, serving a *copy* of the
notebooks.  Every test runs once per server (``[voila]`` / ``[lab]``) and
checks what the clinician sees and what ends up on disk.

Screenshots of each app state go to ``.state/screenshots/`` (git-ignored):
900x1400 for Voila, 1280x900 (a laptop window) for JupyterLab.

Chromium is the system browser (``apt-get install chromium``); when it is
missing the tests FAIL with that message - they are never skipped.  Run
without them with ``-m "not browser"``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from helpers_reliability import count

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
STATE = REPO / ".state"
SCREENSHOTS = STATE / "screenshots"

START_TIMEOUT_S = 60  # server up (TCP port open)
APP_TIMEOUT_MS = 60_000  # page load + kernel start + notebook run until the app is on screen
ACTION_TIMEOUT_MS = 30_000  # one round trip through the kernel (build, save, export, redraw)

VOILA_VIEWPORT = {"width": 900, "height": 1400}
LAB_VIEWPORT = {"width": 1280, "height": 900}

NB_PROGRAMME = "01_build_programme.ipynb"
NB_LOGGER = "02_log_and_chart_progress.ipynb"
NB_OVERVIEW = "03_clinic_overview.ipynb"
NB_HOME = "00_home.ipynb"
NB_REPORT = "04_patient_report.ipynb"

CONDITIONS = {"sciatica": "Sciatica (lumbar radicular pain)", "piriformis_syndrome": "Piriformis syndrome"}
RED_FLAG = "Cauda equina syndrome"
FILTER_CONDITION = ("piriformis_syndrome", "Piriformis syndrome")

# A log with a problem in every row but the last; the last row is valid and must NOT be saved either.
BAD_CSV = (
    "patient_id,date,measure,side,value,note\n"
    "DEMO-001,2026-01-05,pain,,11,\n"  # out of range
    "DEMO-001,2026-02-30,odi,,20,\n"  # no such date
    "DEMO-001,2026-01-05,pian,,5,\n"  # unknown measure
    "DEMO-001,2026-01-06,slr,,45,\n"  # sided measure without side
    "BROWSER-IMPORT,2026-03-02,pain,,4,\n"  # valid: proves nothing is half-saved
)


# --------------------------------------------------------------------------- browser


def _chromium() -> str:
    """The system Chromium ($SCIATICA_KIT_CHROMIUM overrides); missing -> FAIL with what to install."""
    override = os.environ.get("SCIATICA_KIT_CHROMIUM")
    candidates = [override] if override else [shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium"]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    pytest.fail(
        f"Chromium not found ({override or 'chromium on PATH, /usr/bin/chromium'}), so the browser tests cannot run; "
        "they are never skipped. Install it with `apt-get install chromium` (or `make browser` as root), "
        "point $SCIATICA_KIT_CHROMIUM at a Chromium binary, or deselect these tests with -m 'not browser'.",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches the system Chromium (``playwright install`` cannot download here)."""
    return {**browser_type_launch_args, "executable_path": _chromium()}


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    kind: str  # "voila" or "lab"
    port: int
    token: str
    root: Path  # served copy of the notebooks
    store_path: Path
    exports: Path
    log_path: Path
    workspaces: Path
    proc: subprocess.Popen

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, notebook: str) -> str:
        if self.kind == "voila":
            return f"{self.base}/voila/render/{notebook}"
        return f"{self.base}/lab/tree/{notebook}?reset&token={self.token}"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"{self.base}{path}", method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """JupyterLab keeps kernels after the page closes: stop them so each test starts clean."""
        for session in self.api("GET", "/api/sessions") or []:
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def fresh_notebook(self, name: str) -> None:
        """JupyterLab autosaves outputs into the copy: put the stripped notebook back before opening it."""
        shutil.copy2(NOTEBOOKS / name, self.root / name)
        shutil.rmtree(self.root / ".ipynb_checkpoints", ignore_errors=True)
        for f in self.workspaces.glob("*"):
            f.unlink()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(tmp: Path, exports: Path, *, clinic_store: Path | None) -> dict[str, str]:
    """The apps open the demo store (tmp/store/demo.sqlite), or ``clinic_store`` when one is configured."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # kernels must keep their inline backend, or charts vanish
    env.pop("SCIATICA_KIT_STORE", None)
    if clinic_store is not None:
        env["SCIATICA_KIT_STORE"] = str(clinic_store)
    env.update(SCIATICA_KIT_DEMO_STORE=str(tmp / "store" / "demo.sqlite"), SCIATICA_KIT_EXPORTS=str(exports),
               SCIATICA_KIT_SETTINGS=str(tmp / "no-settings.toml"), XDG_DATA_HOME=str(tmp / "data"),
               PYDEVD_DISABLE_FILE_VALIDATION="1")
    env.pop("SCIATICA_KIT_EXTRA_CATALOG", None)
    # Jupyter / IPython / matplotlib / Chromium state stays in .state/ even outside `make`.
    for var, sub in (("JUPYTER_CONFIG_DIR", "jupyter-config"), ("JUPYTER_DATA_DIR", "jupyter-data"),
                     ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl"),
                     ("XDG_CACHE_HOME", "cache"), ("XDG_CONFIG_HOME", "config")):
        env.setdefault(var, str(STATE / sub))
    return env


def _make_app_voila_args(*make_vars: str) -> list[str]:
    """The Voila options `make app` passes (read from `make -n app`), e.g. with ``PREHEAT=1``."""
    dry = subprocess.run(["make", "-n", "app", *make_vars], cwd=REPO, capture_output=True, text=True).stdout
    (line,) = [ln for ln in dry.splitlines() if "voila notebooks" in ln]
    return line.split("--no-browser", 1)[1].split()


def _make_lab_kernel_args() -> list[str]:
    """The kernel and Voila options `make lab` passes to JupyterLab (read from `make -n lab`)."""
    dry = subprocess.run(["make", "-n", "lab"], cwd=REPO, capture_output=True, text=True).stdout
    (line,) = [ln for ln in dry.splitlines() if "jupyter lab" in ln]
    return [a for a in line.split() if a.startswith(("--MappingKernelManager.", "--VoilaConfiguration."))]


def _assert_kernel_ports_below_the_ephemeral_range(server: Server, kernel_id: str) -> None:
    """The kernel's TCP ports (from its connection file) are ones no other program's connection can take."""
    from sciatica_kit.kernels import SPAN, ephemeral_range

    runtime = Path(os.environ.get("JUPYTER_RUNTIME_DIR", STATE / "jupyter-runtime"))  # as _server_env gives it
    found = [*runtime.glob(f"kernel-{kernel_id}.json"), *Path(tempfile.gettempdir()).glob(f"voila_*/kernel-{kernel_id}.json")]
    assert found, f"no connection file for kernel {kernel_id}"
    info = json.loads(found[0].read_text())
    ports = [info[k] for k in ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port")]
    low = ephemeral_range()[0]
    assert all(low - SPAN <= p < low for p in ports), (ports, low)


def _start(kind: str, tmp: Path, *, clinic: bool = False, extra: list[str] | None = None,
           env_extra: dict[str, str] | None = None) -> Server:
    """A server whose apps open the demo store, as ``make app`` does; ``clinic=True``: a configured clinic store."""
    root, exports, work = tmp / "notebooks", tmp / "exports", tmp / "lab"
    root.mkdir()
    exports.mkdir()
    for nb in (NB_HOME, NB_PROGRAMME, NB_LOGGER, NB_OVERVIEW, NB_REPORT):
        shutil.copy2(NOTEBOOKS / nb, root / nb)
    clinic_store = tmp / "store" / "clinic.sqlite" if clinic else None
    env = {**_server_env(tmp, exports, clinic_store=clinic_store), **(env_extra or {})}
    seeded = subprocess.run([sys.executable, "-m", "sciatica_kit.demo", "--seed-store"], env=env,
                            capture_output=True, text=True, timeout=120)  # `make demo`: the demo store only
    assert seeded.returncode == 0, f"seeding the demo store failed:\n{seeded.stdout}\n{seeded.stderr}"
    store = clinic_store or tmp / "store" / "demo.sqlite"
    if clinic:
        import sciatica_kit as sk

        with sk.Store(clinic_store) as clinic_db:  # one clinic patient
            clinic_db.add_patient("P-0001")

    port, token = _free_port(), f"sk-test-{os.getpid()}"
    if kind == "voila":
        cmd = [sys.executable, "-m", "voila", str(root), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", *(extra or [])]
    else:
        settings = work / "app-settings"
        settings.mkdir(parents=True)
        (settings / "overrides.json").write_text(json.dumps(
            {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}))
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
               f"--LabApp.app_settings_dir={settings}", f"--LabApp.workspaces_dir={work / 'workspaces'}",
               f"--LabApp.user_settings_dir={work / 'user-settings'}", *_make_lab_kernel_args()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
    log_path = tmp / f"{kind}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(kind, port, token, root, store, exports, log_path, work / "workspaces", proc)

    deadline = time.monotonic() + START_TIMEOUT_S
    while True:  # wait for the TCP port, not an HTTP page (a Voila page load starts a kernel)
        if proc.poll() is not None:
            pytest.fail(f"{kind} exited with code {proc.returncode}:\n{server.log_tail()}", pytrace=False)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                _stop(server)
                pytest.fail(f"{kind} did not open port {port} within {START_TIMEOUT_S} s:\n{server.log_tail()}", pytrace=False)
            time.sleep(0.2)
    server.workspaces.mkdir(parents=True, exist_ok=True)
    return server


def _stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=5)


@pytest.fixture(scope="module")
def voila_server(tmp_path_factory):
    server = _start("voila", tmp_path_factory.mktemp("voila"), extra=_make_app_voila_args("PREHEAT=0"))
    yield server
    _stop(server)


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    server = _start("lab", tmp_path_factory.mktemp("lab"))
    yield server
    _stop(server)


@pytest.fixture(scope="module")
def clinic_voila_server(tmp_path_factory):
    server = _start("voila", tmp_path_factory.mktemp("clinic-voila"), clinic=True, extra=_make_app_voila_args("PREHEAT=0"))
    yield server
    _stop(server)


@pytest.fixture(params=["voila", "lab"])
def server(request) -> Server:
    return request.getfixturevalue(f"{request.param}_server")


# --------------------------------------------------------------------------- opening an app


def _open_voila(page, server: Server, notebook: str, css_class: str):
    """Open ``notebook`` in Voila and wait for its app; on failure, say why (screenshot, console, server log)."""
    console = _console(page)
    page.goto(server.url(notebook))
    app = page.locator(f".{css_class}")
    try:
        _wait_for_voila_app(page, server, notebook, app, console)
    except Exception as exc:
        raise _not_opened(page, server, notebook, css_class, exc, console) from exc
    return app


MODEL_NOT_FOUND = "Error displaying widget: model not found"


def _wait_for_voila_app(page, server: Server, notebook: str, app, console: list[str] = ()) -> None:
    """Wait for the app; a page that shows Voila's "model not found" is reloaded once, and counted.

    In one run of the whole suite here, Voila's page came up with that error in place of the
    visit logger (its widget manager did not find the app's model; the kernel had the app),
    and in one CI run an app did not appear at all; 12 loads of the logger in a row did not
    show it again.  A reload shows the app.  The reload is counted in the reliability
    figures printed at the end, so it is seen, not hidden; a second failure fails the test.
    """
    error = page.get_by_text(MODEL_NOT_FOUND)
    app.or_(error).first.wait_for(state="visible", timeout=APP_TIMEOUT_MS)
    if app.is_visible():
        return
    shot = _shot(page, server, f"RELOADED-{Path(notebook).stem}")
    shot.with_suffix(".txt").write_text("browser console:\n" + "\n".join(console) + f"\n\nserver log:\n{server.log_tail(200)}\n")
    count("Voila pages reloaded after 'model not found' (screenshot and logs: .state/screenshots/*RELOADED*)")
    page.reload()
    app.wait_for(state="visible", timeout=APP_TIMEOUT_MS)


def _console(page) -> list[str]:
    """The page's console messages from now on (for a failure's message)."""
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text[:500]}"))
    return messages


def _not_opened(page, server: Server, notebook: str, css_class: str, exc: Exception,
                console: list[str] = ()) -> AssertionError:
    shot = _shot(page, server, f"FAILED-open-{Path(notebook).stem}")
    return AssertionError(f"{css_class} did not appear in {server.kind} ({exc}); screenshot {shot}; "
                          f"browser console:\n" + "\n".join(console[-30:]) + f"\nserver log:\n{server.log_tail(120)}")


@pytest.fixture
def open_app(page, server):
    """``open_app(notebook, css_class)`` -> locator of the app, rendered by Voila or run in JupyterLab."""
    page.set_default_timeout(ACTION_TIMEOUT_MS)

    def _open(notebook: str, css_class: str):
        app = page.locator(f".{css_class}")
        console = _console(page)
        try:
            if server.kind == "voila":
                page.set_viewport_size(VOILA_VIEWPORT)
                page.goto(server.url(notebook))
                _wait_for_voila_app(page, server, notebook, app, console)
            else:
                page.set_viewport_size(LAB_VIEWPORT)
                server.shutdown_kernels()
                server.fresh_notebook(notebook)
                page.goto(server.url(notebook))
                _lab_run_all(page, server)
                app.wait_for(state="visible", timeout=APP_TIMEOUT_MS)
        except Exception as exc:
            raise _not_opened(page, server, notebook, css_class, exc, console) from exc
        return app

    yield _open
    if server.kind == "lab":
        page.close()
        server.shutdown_kernels()


def _lab_kernel_ready(server: Server) -> bool:
    """The notebook's kernel is started, idle, and the page is connected to it."""
    try:
        kernels = server.api("GET", "/api/kernels") or []
    except OSError:  # HTTPError 500 while a kernel is half-started (jupyter_server race): not ready yet
        return False
    return any(k.get("execution_state") == "idle" and k.get("connections", 0) > 0 for k in kernels)


def _lab_run_all(page, server: Server) -> None:
    """Run > Run All Cells once the kernel is connected; wait until every code cell shows ``[n]:``."""
    page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=APP_TIMEOUT_MS)
    deadline = time.monotonic() + APP_TIMEOUT_MS / 1000
    while not _lab_kernel_ready(server):
        assert time.monotonic() < deadline, f"the JupyterLab kernel never became ready:\n{server.log_tail()}"
        time.sleep(0.2)
    for kernel in server.api("GET", "/api/kernels") or []:  # started with `make lab`'s kernel ports
        _assert_kernel_ports_below_the_ephemeral_range(server, kernel["id"])
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(state="attached", timeout=APP_TIMEOUT_MS)
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt")
    texts: list[str] = []
    for _attempt in range(3):  # a run requested while the page is still attaching to the kernel can be dropped
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        page.locator('li[data-command="runmenu:run-all"]').click()
        started = time.monotonic()
        while time.monotonic() < deadline:
            texts = [t.strip() for t in prompts.all_text_contents()]
            if texts and all(re.fullmatch(r"\[\d+\]:", t) for t in texts):
                break
            if all(t == "[ ]:" for t in texts) and time.monotonic() - started > 8:
                break  # nothing started: ask again
            time.sleep(0.25)
        if texts and all(re.fullmatch(r"\[\d+\]:", t) for t in texts):
            break
    else:
        raise AssertionError(f"the notebook did not run in JupyterLab; prompts: {texts}")
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [t for t in errors.all_text_contents() if "Traceback" in t]
    assert not tracebacks, f"a cell failed in JupyterLab:\n{tracebacks[0][:2000]}"


def _shot(page, server: Server, name: str, target=None, block: str = "center") -> Path:
    """Screenshot of the window (viewport) with ``target`` scrolled to its ``block`` (start/center)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if target is not None:
        target.evaluate("(e, block) => e.scrollIntoView({block})", block)
        page.wait_for_timeout(200)  # let images and fonts settle after the scroll
    path = SCREENSHOTS / f"{server.kind}-{name}.png"
    page.screenshot(path=str(path))
    return path


def _button(app, label: str):
    """A button by its label (its accessible name also holds the Font Awesome icon's glyph)."""
    return app.get_by_role("button", name=re.compile(rf"^\W*{re.escape(label)}$"))


def _message(app, kind: str = "success"):
    return app.locator(f".sk-message.sk-{kind}")


def _store(server: Server):
    import sciatica_kit as sk

    return sk.Store(server.store_path)


# --------------------------------------------------------------------------- 1. programme builder


@pytest.mark.browser
def test_programme_builder_builds_exports_and_saves(page, server, open_app):
    from playwright.sync_api import expect

    import sciatica_kit as sk

    pid = f"BROWSER-{server.kind.upper()}"
    expected = sk.build_programme(list(CONDITIONS), phase="subacute", patient=pid).to_frame()
    app = open_app(NB_PROGRAMME, "sk-programme-builder")
    _shot(page, server, "01-programme-start")

    patient = app.get_by_label("Patient", exact=True)
    patient.fill(pid)
    patient.press("Tab")
    for label in CONDITIONS.values():
        app.get_by_label(label, exact=True).check()
    _button(app, "Build programme").click()
    expect(_message(app)).to_contain_text(f"Programme built: {len(expected)} exercises", timeout=ACTION_TIMEOUT_MS)

    table = app.locator(".sk-programme table")
    expect(app.locator(".sk-programme h3")).to_have_text(f"Programme for {pid}")
    shown = [t.strip() for t in table.locator("tbody tr td:first-child").all_inner_texts()]
    assert shown == list(expected["Exercise"])
    assert "Floor bridge" in shown
    _shot(page, server, "02-programme-built", _message(app), block="start")

    stem = f"{pid}-{dt.date.today().isoformat()}"
    _button(app, "CSV").click()
    expect(_message(app)).to_contain_text(f"Saved {stem}.csv (spreadsheet (CSV) for {pid}).", timeout=ACTION_TIMEOUT_MS)
    expect(app.locator("a.sk-download").first).to_have_attribute("download", f"{stem}.csv")
    csv = pd.read_csv(server.exports / f"{stem}.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    cols = ["Exercise id", "Exercise", "Category", "Dose in words"]
    assert csv[cols].to_dict("records") == expected[cols].astype(str).to_dict("records")

    _button(app, "Excel").click()
    expect(_message(app)).to_contain_text(f"Saved {stem}.xlsx", timeout=ACTION_TIMEOUT_MS)
    link = app.locator("a.sk-download").first  # newest first; every file made since the page opened stays listed
    expect(link).to_have_attribute("download", f"{stem}.xlsx")
    expect(app.locator("a.sk-download")).to_have_count(2)
    assert link.get_attribute("href").startswith("data:application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;base64,")
    xlsx = pd.read_excel(server.exports / f"{stem}.xlsx", sheet_name="Programme", dtype=str, keep_default_na=False)
    assert xlsx[cols].to_dict("records") == expected[cols].astype(str).to_dict("records")

    _button(app, "Save to patient").click()
    expect(_message(app)).to_have_text(f"Programme saved for {pid}. Charts will mark today's start.", timeout=ACTION_TIMEOUT_MS)
    _shot(page, server, "03-programme-exported-saved", app.get_by_role("heading", name="Adjust the programme"), block="start")
    with _store(server) as store:
        saved = store.programmes(pid)
    assert len(saved) == 1
    assert saved.iloc[0]["conditions"] == list(CONDITIONS)
    assert saved.iloc[0]["exercise_ids"] == list(expected["Exercise id"])


# --------------------------------------------------------------------------- 2. red flag


@pytest.mark.browser
def test_red_flag_blocks_the_programme(page, server, open_app):
    from playwright.sync_api import expect

    app = open_app(NB_PROGRAMME, "sk-programme-builder")
    app.get_by_label(CONDITIONS["sciatica"], exact=True).check()
    app.get_by_label(RED_FLAG, exact=True).check()

    referral = app.locator(".sk-referral")
    expect(referral).to_be_visible(timeout=ACTION_TIMEOUT_MS)
    expect(referral).to_contain_text("EMERGENCY")
    expect(referral).to_contain_text("emergency department")
    blocked = _button(app, "Blocked: refer first")
    expect(blocked).to_be_disabled()
    expect(_button(app, "Build programme")).to_have_count(0)
    expect(app.locator(".sk-programme")).to_have_count(0)
    _shot(page, server, "04-red-flag-referral", referral)
    _shot(page, server, "04b-red-flag-blocked-button", blocked)

    app.get_by_label(RED_FLAG, exact=True).uncheck()  # un-ticking lifts the block
    expect(referral).to_have_count(0, timeout=ACTION_TIMEOUT_MS)
    expect(_button(app, "Build programme")).to_be_enabled()


# --------------------------------------------------------------------------- 3. progress logger


@pytest.mark.browser
def test_progress_logger_saves_a_visit_and_rejects_a_bad_file(page, server, open_app, tmp_path):
    from playwright.sync_api import expect

    from sciatica_kit.log import LogError, read_log

    app = open_app(NB_LOGGER, "sk-progress-logger")
    expect(app.get_by_label("Patient", exact=True)).to_have_value("DEMO-001")
    chart = app.locator("img")
    expect(chart).to_have_count(1)
    expect(chart).to_have_attribute("src", re.compile(r"^blob:|^data:"), timeout=ACTION_TIMEOUT_MS)
    before_src = chart.get_attribute("src")
    assert app.get_by_label("Dates", exact=True).evaluate("s => s.selectedIndex") == 0  # the default rule is shown
    _shot(page, server, "05-logger-start")

    # Pain 7 and leg pain 0 typed; the other boxes stay empty (not recorded).
    pain = app.get_by_label("Pain (0-10)", exact=True)
    pain.fill("7")
    app.get_by_label("Leg pain (0-10)", exact=True).fill("0")

    _button(app, "Save visit for DEMO-001").click()
    today = dt.date.today()
    expect(_message(app)).to_contain_text(f"Visit saved for DEMO-001 on {today:%d %b %Y}: 2 new", timeout=ACTION_TIMEOUT_MS)
    expect(chart).not_to_have_attribute("src", before_src, timeout=ACTION_TIMEOUT_MS)
    # redrawn with the new visit (blank for a moment while it is drawn): the screenshot below shows it
    page.wait_for_function("([img, old]) => img.src && img.src !== old && img.complete && img.naturalWidth > 0",
                           arg=[chart.element_handle(), before_src], timeout=ACTION_TIMEOUT_MS)
    expect(pain).to_have_value("")  # the form is reset for the next visit
    _shot(page, server, "06-logger-visit-saved", _message(app))
    _shot(page, server, "07-logger-chart", app.get_by_role("heading", name="Progress", exact=True), block="start")

    with _store(server) as store:
        log = store.read("DEMO-001")
        todays = log[log["date"] == pd.Timestamp(today)]
        assert dict(zip(todays["measure"], todays["value"], strict=True)) == {"pain": 7.0, "leg_pain": 0.0}
        before_entries, before_imports = store.read(), store.imports()

    # A file with problems: every one is listed, and nothing (not even the valid row) is saved.
    bad = tmp_path / "bad_visits.csv"
    bad.write_text(BAD_CSV)
    with pytest.raises(LogError) as info:
        read_log(bad)
    expected_problems = [("" if pd.isna(r) else str(int(r)), c or "") for r, c in zip(info.value.table["row"], info.value.table["column"], strict=True)]

    upload = app.locator(".widget-upload")
    with page.expect_file_chooser() as chooser:  # ipywidgets 8 keeps its <input type=file> out of the DOM
        upload.click()
    chooser.value.set_files(str(bad))
    expect(upload).to_contain_text("(1)", timeout=ACTION_TIMEOUT_MS)
    _button(app, "Import file").click()
    expect(_message(app, "error")).to_contain_text(
        f"'bad_visits.csv' was not imported: {len(expected_problems)} problem(s). Nothing was saved.", timeout=ACTION_TIMEOUT_MS)
    problems = app.locator("table.sk-problems")
    expect(problems.locator("tbody tr")).to_have_count(len(expected_problems))
    listed = [(r.locator("td").nth(0).inner_text().strip(), r.locator("td").nth(1).inner_text().strip())
              for r in problems.locator("tbody tr").all()]
    assert listed == expected_problems
    assert {c for _, c in listed} >= {"value", "date", "measure", "side"}
    _shot(page, server, "08-logger-bad-file", _message(app, "error"), block="start")

    with _store(server) as store:
        pd.testing.assert_frame_equal(store.read(), before_entries)
        pd.testing.assert_frame_equal(store.imports(), before_imports)
        assert "BROWSER-IMPORT" not in set(store.patients()["patient_id"])


# --------------------------------------------------------------------------- 4. clinic overview


@pytest.mark.browser
def test_clinic_overview_lists_and_filters_patients(page, server, open_app):
    from playwright.sync_api import expect

    with _store(server) as store:
        patients = store.patients()
    cond_id, cond_name = FILTER_CONDITION
    expected_filtered = sorted(patients.loc[patients["conditions"].map(lambda c: cond_id in c), "patient_id"])
    assert 0 < len(expected_filtered) < len(patients)

    app = open_app(NB_OVERVIEW, "sk-clinic-overview")
    expect(_message(app)).to_contain_text(f"{len(patients)} patients (all conditions).", timeout=ACTION_TIMEOUT_MS)
    rows = app.locator("table tbody tr")
    expect(rows).to_have_count(len(patients))
    all_ids = [t.strip() for t in rows.locator("td:first-child").all_inner_texts()]
    assert all_ids == list(patients["patient_id"])
    expect(app.locator("img")).to_have_attribute("src", re.compile(r"^blob:|^data:"))
    _shot(page, server, "09-overview-all")

    app.get_by_label("Condition", exact=True).select_option(label=cond_name)
    expect(_message(app)).to_contain_text(f"{len(expected_filtered)} patients ({cond_name}).", timeout=ACTION_TIMEOUT_MS)
    expect(rows).to_have_count(len(expected_filtered))
    assert sorted(t.strip() for t in rows.locator("td:first-child").all_inner_texts()) == expected_filtered
    _shot(page, server, "10-overview-filtered")
    # the cohort chart follows the table (drawn a moment later in the kernel), then the status line says it is done
    chart = app.locator("img")
    expect(_message(app)).not_to_contain_text("Drawing the charts", timeout=ACTION_TIMEOUT_MS)
    expect(chart).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 600", arg=chart.element_handle())
    _shot(page, server, "11-overview-filtered-chart", chart, block="end")


# --------------------------------------------------------------------------- 5. issue 12: the right patient, messages in view


def _fill_oswestry(app, answer: int) -> None:
    """Open the Oswestry panel and give every section the same answer."""
    app.get_by_text("Oswestry Disability Index", exact=True).click()
    selects = app.locator(".widget-dropdown select").filter(has=app.page.locator("option", has_text="not answered"))
    for i in range(10):
        selects.nth(i).select_option(index=answer + 1)


def _today_rows(server: Server, pid: str) -> pd.DataFrame:
    with _store(server) as store:
        log = store.read(pid)
    return log[log["date"] == pd.Timestamp(dt.date.today())]


@pytest.mark.browser
def test_switching_patient_never_saves_the_first_patients_oswestry_for_the_second(page, server, open_app):
    from playwright.sync_api import expect

    first_before = _today_rows(server, "DEMO-001")
    app = open_app(NB_LOGGER, "sk-progress-logger")
    patient = app.get_by_label("Patient", exact=True)
    expect(patient).to_have_value("DEMO-001")
    expect(_button(app, "Save visit for DEMO-001")).to_be_visible(timeout=ACTION_TIMEOUT_MS)
    _fill_oswestry(app, 4)  # ODI 80% for DEMO-001
    expect(app.get_by_text("ODI: 80.0%")).to_be_visible(timeout=ACTION_TIMEOUT_MS)

    patient.select_option("DEMO-003")
    question = app.locator(".sk-confirm .sk-question")
    expect(question).to_contain_text("unsaved entries for DEMO-001", timeout=ACTION_TIMEOUT_MS)
    _shot(page, server, "12-logger-switch-question", question)
    _button(app, "Discard and open DEMO-003").click()
    save = _button(app, "Save visit for DEMO-003")
    expect(save).to_be_visible(timeout=ACTION_TIMEOUT_MS)
    expect(patient).to_have_value("DEMO-003")
    expect(app.get_by_text("ODI: 80.0%")).to_have_count(0)

    app.get_by_label("Pain (0-10)", exact=True).fill("3")
    save.click()
    expect(_message(app)).to_contain_text("Visit saved for DEMO-003", timeout=ACTION_TIMEOUT_MS)
    _shot(page, server, "13-logger-saved-second-patient", _message(app))
    stored = _today_rows(server, "DEMO-003")
    assert list(zip(stored["measure"], stored["value"], strict=True)) == [("pain", 3.0)]  # no ODI carried over
    pd.testing.assert_frame_equal(_today_rows(server, "DEMO-001"), first_before)  # nothing saved for the first patient


def _in_viewport(page, locator) -> None:
    locator.wait_for(state="visible")
    box = locator.bounding_box()
    view = page.viewport_size
    assert box is not None, "the message is not on the page"
    assert box["y"] >= 0 and box["y"] + box["height"] <= view["height"], (
        f"the message is outside the window: top {box['y']:.0f}px, bottom {box['y'] + box['height']:.0f}px, window {view['height']}px")


@pytest.mark.browser
@pytest.mark.parametrize("server", ["voila"], indirect=True)
def test_each_message_appears_beside_its_button_inside_the_window(page, server, open_app):
    from playwright.sync_api import expect

    laptop = {"width": 1280, "height": 720}
    app = open_app(NB_PROGRAMME, "sk-programme-builder")
    page.set_viewport_size(laptop)
    app.get_by_label(CONDITIONS["sciatica"], exact=True).check()
    _button(app, "Build programme").click()
    expect(_message(app)).to_contain_text("Programme built", timeout=ACTION_TIMEOUT_MS)
    _in_viewport(page, _message(app))

    _button(app, "Handout (PDF)").click()  # no patient id typed: asks for one, beside the export buttons
    error = _message(app, "error")
    expect(error).to_contain_text("Enter the patient id", timeout=ACTION_TIMEOUT_MS)
    expect(app.locator(".sk-message")).to_have_count(1)  # the build message is cleared
    _in_viewport(page, error)
    _shot(page, server, "14-builder-export-asks-for-id", error)

    builder_buttons = [  # (button, words of the message it must show beside itself)
        ("Apply dose", "No dose changed"), ("Remove exercise", "Give a reason"), ("CSV", "before exporting the spreadsheet (CSV)"),
        ("Excel", "before exporting the spreadsheet (Excel)"), ("Handout (HTML)", "before exporting the handout (HTML)"),
        ("FHIR CarePlan", "before exporting the FHIR CarePlan"), ("Save to patient", "before saving"),
    ]
    for label, words in builder_buttons:
        _button(app, label).click()
        message = app.locator(".sk-message", has_text=words)
        expect(message).to_be_visible(timeout=ACTION_TIMEOUT_MS)
        expect(app.locator(".sk-message")).to_have_count(1)  # the previous message is cleared
        _in_viewport(page, message)

    app = open_app(NB_LOGGER, "sk-progress-logger")
    page.set_viewport_size(laptop)
    logger_buttons = [
        ("Save visit for DEMO-001", "Nothing to save"), ("Import file", "Choose a file first"),
        ("Add patient", "Enter the patient id"), ("Correct value", "Choose the value to correct"),
    ]
    for label, words in logger_buttons:
        _button(app, label).click()
        message = app.locator(".sk-message", has_text=words)
        expect(message).to_be_visible(timeout=ACTION_TIMEOUT_MS)
        expect(app.locator(".sk-message")).to_have_count(1)
        _in_viewport(page, message)
    app.get_by_label("Pain (0-10)", exact=True).fill("4")  # an entry of this clinician's own to undo
    _button(app, "Save visit for DEMO-001").click()
    expect(app.locator(".sk-message", has_text="Visit saved for DEMO-001")).to_be_visible(timeout=ACTION_TIMEOUT_MS)
    _button(app, "Undo last entry...").click()  # asks first, beside the button
    question = app.locator(".sk-confirm .sk-question")
    expect(question).to_contain_text("Undo removes the last entry for DEMO-001", timeout=ACTION_TIMEOUT_MS)
    _in_viewport(page, question)
    _shot(page, server, "18-logger-undo-question", question)
    _button(app, "Keep them").click()
    expect(app.locator(".sk-message", has_text="Nothing was removed")).to_be_visible(timeout=ACTION_TIMEOUT_MS)


@pytest.mark.browser
@pytest.mark.parametrize("server", ["voila"], indirect=True)
def test_visit_form_refuses_a_bad_value_with_a_message_naming_the_field(page, server, open_app):
    from playwright.sync_api import expect

    before = _today_rows(server, "DEMO-001")
    app = open_app(NB_LOGGER, "sk-progress-logger")
    expect(_button(app, "Save visit for DEMO-001")).to_be_visible(timeout=ACTION_TIMEOUT_MS)
    pain = app.get_by_label("Pain (0-10)", exact=True)
    for typed, words in (("11", "Pain (0-10): 11 is outside the valid range 0 to 10"), ("4O", "Pain (0-10): '4O' is not a number")):
        pain.fill(typed)
        _button(app, "Save visit for DEMO-001").click()
        expect(_message(app, "error")).to_contain_text(words, timeout=ACTION_TIMEOUT_MS)
        expect(pain).to_have_value(typed)
    _shot(page, server, "15-logger-value-refused", _message(app, "error"))
    pd.testing.assert_frame_equal(_today_rows(server, "DEMO-001"), before)  # nothing saved


@pytest.mark.browser
@pytest.mark.parametrize("server", ["voila"], indirect=True)
def test_handout_exported_after_typing_the_id_carries_it(page, server, open_app):
    from playwright.sync_api import expect

    app = open_app(NB_PROGRAMME, "sk-programme-builder")
    app.get_by_label(CONDITIONS["sciatica"], exact=True).check()
    _button(app, "Build programme").click()  # built before the id is typed
    expect(_message(app)).to_contain_text("Programme built", timeout=ACTION_TIMEOUT_MS)
    patient = app.get_by_label("Patient", exact=True)
    patient.fill("P-0042")
    patient.press("Tab")
    _button(app, "Handout (PDF)").click()
    # one exercise has no dose yet: the builder lists it and asks before printing
    warning = _message(app, "warning")
    expect(warning).to_have_text("1 exercise has no dose yet: Tummy bracing (core activation).", timeout=ACTION_TIMEOUT_MS)
    _in_viewport(page, warning)
    _shot(page, server, "16b-builder-handout-asks-for-doses", warning)
    assert not list(server.exports.glob("P-0042-*-handout*.pdf"))  # nothing printed before the answer
    _button(app, "Set the doses").click()  # the dose editor opens on that exercise, cursor in its first box
    expect(app.get_by_label("Exercise", exact=True)).to_have_value(re.compile(".+"))
    expect(app.locator(".sk-message.sk-info")).to_contain_text("Set the dose of Tummy bracing (core activation)")
    expect(app.get_by_label("Sets", exact=True)).to_be_focused()
    _shot(page, server, "17-builder-dose-missing", app.locator(".sk-message.sk-info"))
    _button(app, "Handout (PDF)").click()
    expect(_message(app, "warning")).to_contain_text("no dose yet", timeout=ACTION_TIMEOUT_MS)
    _button(app, "Print with fill-in lines").click()  # printed anyway: lines to write the dose on
    expect(_message(app)).to_contain_text("for P-0042", timeout=ACTION_TIMEOUT_MS)
    pdf = max(server.exports.glob("P-0042-*-handout*.pdf"), key=lambda f: f.stat().st_mtime)
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing: apt-get install poppler-utils (or make browser as root)"
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in text.splitlines() if "Patient" in ln)
    assert "P-0042" in line, line
    assert "____ times" in text and "No dose set yet" not in text and "not specified" not in text.lower()


@pytest.mark.browser
@pytest.mark.parametrize("server", ["voila"], indirect=True)
def test_forcing_an_excluded_exercise_needs_a_reason(page, server, open_app):
    from playwright.sync_api import expect

    app = open_app(NB_PROGRAMME, "sk-programme-builder")
    app.get_by_label("Lumbar spinal stenosis", exact=True).check()
    _button(app, "Build programme").click()
    expect(_message(app)).to_contain_text("Programme built", timeout=ACTION_TIMEOUT_MS)
    app.get_by_label("Add", exact=True).select_option(label="Back extension on the forearms (mobility)")
    _button(app, "Add exercise").click()
    error = _message(app, "error")
    expect(error).to_contain_text("kept out for this patient", timeout=ACTION_TIMEOUT_MS)
    expect(error).to_contain_text("give your reason")
    assert "_" not in error.inner_text()  # no programme ids
    _in_viewport(page, error)
    _shot(page, server, "16-builder-force-needs-reason", error)
    table = app.locator(".sk-programme table").first
    expect(table).not_to_contain_text("Back extension on the forearms")
    app.get_by_label("Reason", exact=True).fill("clear extension preference on testing")
    _button(app, "Add exercise").click()
    expect(_message(app)).to_contain_text("normally kept out", timeout=ACTION_TIMEOUT_MS)


@pytest.mark.browser
def test_demo_store_shows_its_banner(page, voila_server, tmp_path):
    from playwright.sync_api import expect

    page.set_viewport_size(VOILA_VIEWPORT)
    app = _open_voila(page, voila_server, NB_OVERVIEW, "sk-clinic-overview")
    expect(app.locator(".sk-demo-banner")).to_contain_text("Demo store: synthetic patients")


@pytest.mark.browser
def test_app_on_a_clinic_store_shows_no_demo_patient(page, clinic_voila_server):
    from playwright.sync_api import expect

    server = clinic_voila_server
    page.set_viewport_size(VOILA_VIEWPORT)
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    app = _open_voila(page, server, NB_LOGGER, "sk-progress-logger")
    options = app.get_by_label("Patient", exact=True).locator("option")
    expect(options).to_have_count(1)
    assert options.all_inner_texts() == ["P-0001"]
    expect(app.locator(".sk-demo-banner")).to_have_count(0)
    _shot(page, server, "17-clinic-store-logger")

    app = _open_voila(page, server, NB_OVERVIEW, "sk-clinic-overview")
    expect(app.locator("table tbody tr")).to_have_count(1)
    expect(app).not_to_contain_text("DEMO-")
    expect(app.locator(".sk-demo-banner")).to_have_count(0)


@pytest.mark.browser
def test_home_page_leads_to_the_three_apps_and_the_report(page, voila_server):
    from playwright.sync_api import expect

    from sciatica_kit.programme import DISCLAIMER

    page.set_viewport_size(VOILA_VIEWPORT)
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    page.goto(voila_server.url(NB_HOME))
    expect(page.locator(".sk-demo-banner")).to_be_visible(timeout=APP_TIMEOUT_MS)
    for name in ("Build a programme", "Log a visit and chart progress", "Clinic overview", "Patient report"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    _shot(page, voila_server, "19-home")
    page.get_by_role("link", name="Patient report", exact=True).click()
    app = page.locator(".sk-patient-report")
    app.wait_for(state="visible", timeout=APP_TIMEOUT_MS)
    expect(app.locator("h2")).to_have_text("Progress report: DEMO-001")
    app.get_by_label("Patient", exact=True).select_option("DEMO-002")
    expect(app.locator("h2")).to_have_text("Progress report: DEMO-002")
    import sciatica_kit as sk

    with _store(voila_server) as store:  # the table under the new name is already the new patient's
        expected = sk.summarise(store.read("DEMO-002"))
    odi = expected[expected["measure"] == "odi"].iloc[0]
    row = app.locator("tr", has_text="Oswestry Disability Index")
    from sciatica_kit.progress import summary_table

    columns = list(summary_table(expected).columns)  # the one summary renderer's columns, in order
    cells = dict(zip(columns, [c.strip() for c in row.locator("td").all_inner_texts()], strict=True))
    assert [cells["Entries"], cells["Baseline"], cells["Latest"]] == [str(int(odi["n"])), f"{odi['baseline']:.1f}", f"{odi['latest']:.1f}"]
    expect(app.get_by_text(DISCLAIMER[:40])).to_have_count(1)  # the disclaimer once
    _shot(page, voila_server, "20-patient-report")


@pytest.mark.browser
def test_the_apps_appear_on_a_network_that_drops_internet_traffic_and_ask_nothing_of_it(page, voila_server):
    """A clinic network may drop every packet bound for the internet. Voila's own page template
    held the page until a stylesheet from a public CDN arrived: the apps never appeared there.
    Here every request that leaves the machine is held unanswered, as such a network does."""
    from urllib.parse import urlsplit

    from playwright.sync_api import expect

    outside: list[str] = []

    def hold_outside(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)  # never answered

    page.route("**/*", hold_outside)
    page.set_viewport_size(VOILA_VIEWPORT)
    console = _console(page)
    for notebook, css_class in ((NB_HOME, "sk-demo-banner"), (NB_PROGRAMME, "sk-programme-builder"),
                                (NB_LOGGER, "sk-progress-logger"), (NB_OVERVIEW, "sk-clinic-overview"), (NB_REPORT, "sk-patient-report")):
        page.goto(voila_server.url(notebook), wait_until="commit")  # not "load": the test is whether the app appears
        _wait_for_voila_app(page, voila_server, notebook, page.locator(f".{css_class}").first, console)
        expect(page.locator(f".{css_class}").first).to_be_visible()
    assert outside == []  # nothing asked of the internet (no third party learns the clinic opened a page)


CULL_S = 3


@pytest.fixture(scope="module")
def preheated_voila_server(tmp_path_factory):
    # `make app` as it is, but kernels left without a page are stopped after CULL_S instead of an hour
    from sciatica_kit.widgets.waiting import READY_DIR_ENV

    args = _make_app_voila_args("PREHEAT=1", f"CULL_AFTER_S={CULL_S}", "CULL_EVERY_S=1")
    dry = subprocess.run(["make", "-n", "app"], cwd=REPO, capture_output=True, text=True).stdout
    assert f"{READY_DIR_ENV}=" in dry  # `make app` waits for the preheated kernels to say they are ready
    tmp = tmp_path_factory.mktemp("preheated-voila")
    (tmp / "ready").mkdir()
    server = _start("voila", tmp, extra=args, env_extra={READY_DIR_ENV: str(tmp / "ready")})
    yield server
    _stop(server)


@pytest.mark.browser
def test_preheated_app_is_built_when_opened_from_the_store_as_it_is_then(page, preheated_voila_server):
    """`make app` runs the app notebooks ahead in spare kernels; a patient added after that still appears."""
    from playwright.sync_api import expect

    import sciatica_kit as sk

    server = preheated_voila_server
    assert "--preheat_kernel=True" in _make_app_voila_args()  # on by default (see the Makefile)
    assert not any("preheat" in a for a in _make_app_voila_args("PREHEAT=0"))
    dry = subprocess.run(["make", "-n", "app"], cwd=REPO, capture_output=True, text=True).stdout
    apps = int(re.search(r"--apps (\d+)", dry).group(1))
    assert apps == 5  # `make app` opens the browser once the home page, the three apps and the report are ready
    ready, deadline = server.root.parent / "ready", time.monotonic() + START_TIMEOUT_S
    while len(list(ready.glob("kernel-*"))) < apps:  # each spare kernel has run its notebook up to wait_for_visitor()
        assert time.monotonic() < deadline, f"the preheated kernels never said they were ready:\n{server.log_tail()}"
        time.sleep(0.25)
    with sk.Store(server.store_path) as store:  # added after the kernels were preheated
        store.add_patient("P-0777")
    page.set_viewport_size(VOILA_VIEWPORT)
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    app = _open_voila(page, server, NB_LOGGER, "sk-progress-logger")
    expect(app.get_by_role("button", name="Save visit for DEMO-001")).to_be_visible()
    expect(app.get_by_label("Patient", exact=True).locator("option", has_text="P-0777")).to_have_count(1)
    page.wait_for_function("img => img.naturalWidth > 0 && img.complete", arg=app.locator("img").element_handle(),
                           timeout=APP_TIMEOUT_MS)  # the first chart follows the page


@pytest.mark.browser
def test_a_closed_pages_kernel_is_stopped_and_an_open_pages_kernel_kept(page, preheated_voila_server):
    """Voila 0.5 cannot stop a closed page's kernel itself (voila#1458); `make app` culls kernels
    no page is connected to.  An open page, however long untouched, keeps its kernel, and the
    preheated kernels waiting for their visitor are kept too (the test above opens one)."""
    from playwright.sync_api import expect

    server = preheated_voila_server
    assert "--MappingKernelManager.cull_idle_timeout=3600" in _make_app_voila_args()  # `make app`: an hour
    page.set_viewport_size(VOILA_VIEWPORT)
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    app = _open_voila(page, server, NB_OVERVIEW, "sk-clinic-overview")
    kernel_id = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
    assert server.api("GET", f"/api/kernels/{kernel_id}")["id"] == kernel_id
    _assert_kernel_ports_below_the_ephemeral_range(server, kernel_id)  # `make app`'s kernel ports

    time.sleep(3 * CULL_S)  # the page sits open and untouched, longer than the cull time
    cond_name = FILTER_CONDITION[1]
    app.get_by_label("Condition", exact=True).select_option(label=cond_name)
    expect(_message(app)).to_contain_text(f"patients ({cond_name}).", timeout=ACTION_TIMEOUT_MS)  # its kernel answers
    assert server.api("GET", f"/api/kernels/{kernel_id}")["id"] == kernel_id

    page.close()
    deadline = time.monotonic() + 20 * CULL_S
    while True:
        try:
            server.api("GET", f"/api/kernels/{kernel_id}")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
            break
        assert time.monotonic() < deadline, f"the closed page's kernel was never stopped:\n{server.log_tail()}"
        time.sleep(0.5)
    assert "Culling 'idle' kernel" in server.log_tail(100_000)


@pytest.mark.browser
def test_back_to_the_home_page_a_few_seconds_later_opens_it_in_seconds(page, preheated_voila_server):
    """Home -> an app -> home again is how a clinician moves between the apps. Voila replaced the
    home page's used spare kernel only after `make app`'s fill_delay (a minute), and the second
    visit waited for that replacement: 59 s here. It now starts at the machine's first pause."""
    server = preheated_voila_server
    page.set_viewport_size(VOILA_VIEWPORT)
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    times = []
    for _ in range(2):
        t = time.monotonic()
        page.goto(server.url(NB_HOME), wait_until="commit")
        _wait_for_voila_app(page, server, NB_HOME, page.locator(".sk-demo-banner"), _console(page))
        times.append(time.monotonic() - t)
        page.goto("about:blank")
        time.sleep(5)  # the clinician in another app for a few seconds
    assert times[1] < 30, times  # a new kernel's start and imports on a loaded machine, not a minute's wait
