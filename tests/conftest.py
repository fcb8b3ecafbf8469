"""Shared fixtures: a private store per test, figures closed, seeded randomness."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")  # inside the pytest process only; notebook kernels keep their own backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def _private_store_location(tmp_path, monkeypatch):
    """No test ever touches the clinician's real store."""
    monkeypatch.setenv("SCIATICA_KIT_STORE", str(tmp_path / "store" / "kit.sqlite"))
    monkeypatch.setenv("SCIATICA_KIT_DEMO_STORE", str(tmp_path / "store" / "demo.sqlite"))
    monkeypatch.setenv("SCIATICA_KIT_SETTINGS", str(tmp_path / "no-settings.toml"))
    monkeypatch.delenv("SCIATICA_KIT_EXTRA_CATALOG", raising=False)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A private PostgreSQL server for the whole session (tests/pgserver.py); call it for a new database URL.

    Missing server programs FAIL the tests with the install command; they never skip.
    """
    from pgserver import PostgresMissing, start_server

    try:
        factory, stop = start_server(tmp_path_factory.mktemp("postgres"))
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield factory
    stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    """Every store test that takes ``location`` runs on both backends."""
    return request.param


@pytest.fixture
def location(backend, tmp_path, request):
    """A fresh store location on the test's backend: an SQLite file path or a new server database URL."""
    if backend == "sqlite":
        return tmp_path / "kit.sqlite"
    return request.getfixturevalue("pg_server")()


@pytest.fixture
def rng():
    return np.random.default_rng(20261121)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def catalog():
    import sciatica_kit as sk

    return sk.load_catalog()


class _FiguresFromWorkers:
    """With pytest-xdist the tests run in worker processes: each hands its figures to the controller."""

    @pytest.hookimpl
    def pytest_testnodedown(self, node, error):
        from helpers_reliability import FIGURES

        for name, n in getattr(node, "workeroutput", {}).get("reliability_figures", {}).items():
            FIGURES[name] += n


def pytest_configure(config):
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_FiguresFromWorkers(), "sciatica-kit-figures")


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: its figures travel to the controller
        from helpers_reliability import FIGURES

        workeroutput["reliability_figures"] = dict(FIGURES)


def pytest_terminal_summary(terminalreporter):
    """The reliability figures (hostile inputs tried, logs stored whole or rejected) after the run, whatever ran last."""
    from helpers_reliability import FIGURES

    if FIGURES and getattr(terminalreporter.config, "workeroutput", None) is None:
        terminalreporter.write_sep("-", "reliability figures")
        for name, n in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {n}")


def pytest_report_header(config):
    return f"store: per-test temp folder; repo: {REPO}; cpus: {os.cpu_count()}"
