"""Sciatica Kit: home-exercise programmes and progress tracking for low back pain and sciatica.

The kit supports a clinician's judgement; it never replaces it.

Heavy parts (the store's SQLAlchemy, matplotlib charts, widgets, FHIR) load on
first use, so ``import sciatica_kit`` stays about as quick as ``import pandas``.
"""

from __future__ import annotations

import importlib
from typing import Any

from sciatica_kit.catalog import Catalog, CatalogError, load_catalog
from sciatica_kit.log import LogError, read_log
from sciatica_kit.measures import score_odi, score_rmdq, score_sbi, score_start_back
from sciatica_kit.programme import Programme, build_programme, diff_programmes
from sciatica_kit.screening import Referral, Screen, record_screen, screen

__version__ = "0.1.0"

_LAZY = {
    "Store": "sciatica_kit.store",
    "StoreError": "sciatica_kit.store",
    "summarise": "sciatica_kit.progress",
    "plot_progress": "sciatica_kit.charts",
    "plot_cohort": "sciatica_kit.charts",
    "plot_measure": "sciatica_kit.charts",
    "demo_log": "sciatica_kit.demo",
    "seed_demo_store": "sciatica_kit.demo",
    "write_log": "sciatica_kit.log",
    "validate_log": "sciatica_kit.log",
}

__all__ = [
    "Catalog",
    "CatalogError",
    "LogError",
    "Programme",
    "Referral",
    "Screen",
    "build_programme",
    "diff_programmes",
    "load_catalog",
    "read_log",
    "record_screen",
    "score_odi",
    "score_rmdq",
    "score_sbi",
    "score_start_back",
    "screen",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sciatica_kit' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
