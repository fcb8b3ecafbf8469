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


def pytest_terminal_summary(terminalreporter):
    """The reliability figures (hostile inputs tried, logs stored whole or rejected) after the run, whatever ran last."""
    from helpers_reliability import FIGURES

    if FIGURES:
        terminalreporter.write_sep("-", "reliability figures")
        for name, n in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {n}")


def pytest_report_header(config):
    return f"store: per-test temp folder; repo: {REPO}; cpus: {os.cpu_count()}"
