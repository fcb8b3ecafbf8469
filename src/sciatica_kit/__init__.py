"""Sciatica Kit: home-exercise programmes and progress tracking for low back pain and sciatica.

The kit supports a clinician's judgement; it never replaces it.

Every name (and every module, ``sk.charts``) loads on first use: ``import
sciatica_kit`` loads nothing heavy, and ``sk.build_programme`` costs about what
``import pandas`` does.
"""

from __future__ import annotations

from sciatica_kit._lazy import attach

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = attach(__name__, {
    "Catalog": "catalog",
    "CatalogError": "catalog",
    "load_catalog": "catalog",
    "LogError": "log",
    "read_log": "log",
    "write_log": "log",
    "validate_log": "log",
    "score_odi": "measures",
    "score_rmdq": "measures",
    "score_sbi": "measures",
    "score_start_back": "measures",
    "Programme": "programme",
    "build_programme": "programme",
    "diff_programmes": "programme",
    "Referral": "screening",
    "Screen": "screening",
    "record_screen": "screening",
    "screen": "screening",
    "Store": "store",
    "StoreError": "store",
    "summarise": "progress",
    "plot_progress": "charts",
    "plot_cohort": "charts",
    "plot_measure": "charts",
    "demo_log": "demo",
    "seed_demo_store": "demo",
})

