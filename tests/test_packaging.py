"""The project's set-up stays honest: dependencies agree, the wheel carries the catalogue, README shows the commands."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _norm(spec: str) -> str:
    name, _, rest = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", spec.strip()).groups() + ("",)
    rest = re.sub(r"^\[[^\]]*\]", "", rest.replace(" ", ""))  # psycopg[binary] on PyPI is psycopg on conda-forge
    return re.sub(r"[-_.]+", "-", name).lower() + rest.split("#")[0]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _environment_deps() -> tuple[list[str], list[str]]:
    conda, pip = [], []
    in_pip = False
    text = (REPO / "environment.yml").read_text()
    for line in text.split("\ndependencies:\n", 1)[1].splitlines():
        stripped = line.strip()
        if stripped.startswith("- pip:"):
            in_pip = True
            continue
        m = re.match(r"^(\s*)- (.+)$", line)
        if not m:
            continue
        (pip if in_pip and len(m.group(1)) > 4 else conda).append(m.group(2).strip())
    return conda, pip


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    conda, pip = _environment_deps()
    project = _pyproject()["project"]
    runtime = {_norm(d) for d in [*project["dependencies"], *project["optional-dependencies"]["lab"]]}
    listed = {_norm(d) for d in conda if not d.startswith(("python", "pip"))}
    assert listed == runtime  # conda users get the core and the lab extra, as `make lab` does
    assert "-e .[lab]" in pip
    assert any(d.startswith("python=3.11") for d in conda)


def test_readme_first_screen_shows_the_two_commands():
    readme = (REPO / "README.md").read_text()
    first_screen = "\n".join(readme.splitlines()[:40])
    assert "make lab" in first_screen and "make test" in first_screen
    assert "make app" in readme and "make report" in readme
    assert "never replaces" in readme


def test_ci_runs_make_test():
    run = (REPO / ".ci" / "run").read_text()
    assert "make test" in run and "set -euo pipefail" in run


def test_gitignore_keeps_environments_state_and_stores_out():
    ignored = (REPO / ".gitignore").read_text().split()
    for entry in (".venv/", ".state/", "*.sqlite", "*.db", ".ipynb_checkpoints/"):
        assert entry in ignored


def test_ruff_and_pytest_are_strict():
    cfg = _pyproject()["tool"]
    assert "--strict-markers" in cfg["pytest"]["ini_options"]["addopts"]
    assert "--strict-config" in cfg["pytest"]["ini_options"]["addopts"]
    assert cfg["ruff"]["lint"]["select"]


@pytest.mark.slow
def test_wheel_ships_the_catalogue_and_works_outside_the_repo(tmp_path):
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)], check=True, timeout=300)
    wheel = next(out.glob("sciatica_kit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for f in ("exercises.toml", "conditions.toml", "red_flags.toml", "findings.toml", "measures.toml", "phases.toml", "aliases.csv"):
        assert f"sciatica_kit/catalog_data/{f}" in names
    # the apps' Voila template, where Voila looks for templates once the wheel is installed
    data = next(n.split("/data/")[0] for n in names if ".data/data/" in n)
    for f in ("conf.json", "index.html.j2"):
        assert f"{data}/data/share/jupyter/voila/templates/sciatica/{f}" in names
    # unpack and import from a folder that is not the repository
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = "import sciatica_kit as sk; c = sk.load_catalog(); print(len(c.exercises), c.files[0])"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120, check=True)
    count, first_file = result.stdout.split()
    assert int(count) >= 20
    assert str(site) in first_file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listening on {port} after {timeout}s")


def test_make_lab_command_starts_jupyterlab_on_the_notebooks(tmp_path):
    """The lab command from the Makefile starts a server that lists our notebooks (then we stop it)."""
    dry = subprocess.run(["make", "-n", "lab"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "jupyter lab --notebook-dir=notebooks" in dry
    assert "sciatica_kit.demo --seed-store" in dry
    port = _free_port()
    token = "sk-test-token"
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [str(jupyter), "lab", f"--notebook-dir={REPO / 'notebooks'}", "--ServerApp.ip=127.0.0.1", f"--port={port}",
           "--no-browser", f"--IdentityProvider.token={token}", "--allow-root"]
    state = tmp_path / "state"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(state / "config"), "JUPYTER_DATA_DIR": str(state / "data"),
           "JUPYTER_RUNTIME_DIR": str(state / "runtime"), "IPYTHONDIR": str(state / "ipython")}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        _wait_for_port(port, proc)
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=30) as r:
            listing = json.loads(r.read())
        names = {item["name"] for item in listing["content"]}
        assert "01_build_programme.ipynb" in names
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_minimal_versions_run_tests_exactly_the_declared_minimums():
    """constraints/minimum.txt (used by `make test-min`) pins each lowest version pyproject.toml promises."""
    pins = {}
    for line in (REPO / "constraints" / "minimum.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[_norm(name)] = version
    declared = {}
    for dep in _pyproject()["project"]["dependencies"]:
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+?)(?:\[.*\])?>=([0-9.]+)", dep)
        if m:
            declared[_norm(m.group(1))] = m.group(2)
    for name in ("pandas", "numpy", "pyarrow", "sqlalchemy", "matplotlib", "openpyxl"):
        assert name in declared, f"{name} has no lower bound in pyproject.toml"
        wanted = declared[name]
        assert pins.get(name, "").startswith(wanted) or pins.get(name) == wanted + ".0", (name, wanted, pins.get(name))
    assert "test-min" in (REPO / "Makefile").read_text().split("\ntest:", 1)[1].splitlines()[0]


LAB_ONLY = ("jupyterlab", "voila", "papermill", "jupyter_server", "notebook", "nbclient", "nbconvert")


def test_the_core_needs_neither_jupyterlab_nor_voila():
    """JupyterLab, Voila and papermill are the `lab` extra, not the core's dependencies."""
    project = _pyproject()["project"]
    core = {_norm(d).split(">")[0].split("=")[0] for d in project["dependencies"]}
    lab = {_norm(d).split(">")[0].split("=")[0] for d in project["optional-dependencies"]["lab"]}
    assert {"jupyterlab", "voila", "papermill"} <= lab
    assert not core & {"jupyterlab", "voila", "papermill", "notebook", "jupyter-server"}
    dry = subprocess.run(["make", "-n", "-B", "install", "install-test"], cwd=REPO, capture_output=True, text=True).stdout
    assert '-e ".[lab]"' in dry and "[lab,test" in dry  # the README's two commands still install everything


_CORE_WITHOUT_LAB = r"""
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: not a core dependency)")
sys.meta_path.insert(0, Refuse())
from pathlib import Path
out = Path(sys.argv[2])
import sciatica_kit as sk
prog = sk.build_programme(["herniated_disc"], patient="DEMO-001")
prog.to_csv(out / "p.csv"); prog.to_excel(out / "p.xlsx"); prog.to_html(out / "p.html"); prog.to_pdf(out / "p.pdf")
import sciatica_kit.fhir
bundle = sciatica_kit.fhir.careplan_bundle(prog)
log = sk.demo_log(3)
sk.write_log(log, out / "log.csv")
back = sk.read_log(out / "log.csv")
with sk.Store(str(out / "s.sqlite"), user="core") as store:
    store.add(back)
    assert len(store.read()) == len(back)
summary = sk.summarise(back)
fig = sk.plot_progress(back, back["patient_id"].iloc[0])
fig._repr_png_()
from sciatica_kit.report import run_report
with sk.Store(str(out / "s.sqlite")) as store:
    run_report(back["patient_id"].iloc[0], out / "reports", store=store)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
print("core ok", len(prog.table), len(summary), bundle["resourceType"], loaded)
"""


def test_the_core_works_with_jupyterlab_and_voila_missing(tmp_path):
    """Catalogue, programme, every export, log, store, summary, chart and report, with the lab packages unimportable."""
    result = subprocess.run([sys.executable, "-c", _CORE_WITHOUT_LAB, ",".join(LAB_ONLY), str(tmp_path)],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().startswith("core ok") and result.stdout.strip().endswith("[]")
    for name in ("p.csv", "p.xlsx", "p.html", "p.pdf", "log.csv", "s.sqlite"):
        assert (tmp_path / name).stat().st_size > 0
    assert list((tmp_path / "reports").glob("*.html"))


def test_the_test_extra_installs_everything_the_tests_import():
    """Every third-party module imported by tests/ comes with `pip install .[test]` (the core, lab, hub, test tools)."""
    import ast
    from importlib.metadata import packages_distributions

    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    test = extras["test"]
    self_ref = next(d for d in test if d.startswith("sciatica-kit["))
    wanted = {"lab", "hub"}
    assert wanted <= set(self_ref[len("sciatica-kit["):-1].split(","))
    declared = {_norm(d).split(">")[0].split("=")[0] for d in [*project["dependencies"], *test, *extras["lab"], *extras["hub"]]}
    local = {p.stem for folder in ("tests", "deploy") for p in (REPO / folder).rglob("*.py")} | {"sciatica_kit"}
    dist_of = packages_distributions()
    missing = {}
    for path in (REPO / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in local:
                    continue
                dists = {_norm(d) for d in dist_of.get(top, [top])}
                if not dists & declared and not _required_by(dists, declared):
                    missing.setdefault(top, str(path.relative_to(REPO)))
    assert not missing, f"imported by tests but not brought by the test extra: {missing}"


def _required_by(dists: set[str], declared: set[str]) -> bool:
    """Whether one of ``dists`` is installed as a dependency of a declared distribution."""
    from importlib.metadata import PackageNotFoundError, requires

    seen, todo = set(), list(declared)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = requires(name) or []
        except PackageNotFoundError:
            continue
        for r in reqs:
            if "extra ==" in r:
                continue
            todo.append(_norm(re.split(r"[ ;<>=!~\[]", r, maxsplit=1)[0]))
    return bool(dists & seen)
