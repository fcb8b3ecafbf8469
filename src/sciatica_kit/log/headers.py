"""Map the headers clinicians write (``Pain (0-10)``, ``SLR L``, ``slr_right``) to measure ids and sides, through the alias table in the catalogue.
"""

from __future__ import annotations

import re
from typing import Any

from sciatica_kit.catalog import Catalog

MAX_HEADER_CHARS = 200  # longer headers are not a measure name; skip the regexes


_SIDE_WORDS = {"l": "left", "left": "left", "lt": "left", "r": "right", "right": "right", "rt": "right", "": ""}


_SIDE_SUFFIX = re.compile(r"^(?P<base>.+?)[\s_\-]*(?:\(|\b|_)(?P<side>left|right|l|r|lt|rt)\)?$")


_PAREN = re.compile(r"\s*\([^)]*\)\s*")


def _norm_header(h: Any) -> str:
    return re.sub(r"\s+", " ", str(h).replace("\ufeff", "").strip().lower())


def _lookup(c: str, cat: Catalog) -> tuple[str, str] | None:
    if c in ("measure", "value", "side", "patient_id", "date", "note") or c in cat.records["measures"]:
        return c, ""
    if c in cat.aliases.index:
        row = cat.aliases.loc[c]
        return row["maps_to"], row["side"]
    return None


def _map_header(header: Any, cat: Catalog) -> tuple[str, str] | None:
    """Map a file header to (target, side).

    The target is a measure id or one of patient_id / date / note / measure / value / side.
    Tries the alias table, then a side suffix (``SLR L``, ``slr_right``, ``SLR (L)``),
    then the header without a trailing unit in brackets.
    """
    measures = cat.records["measures"]
    h = _norm_header(header)
    if len(h) > MAX_HEADER_CHARS:
        return None  # pasted junk, not a header: never fed to the regexes (they would take minutes)
    unitless = _PAREN.sub(" ", h).strip()
    for c in dict.fromkeys([h, h.replace("-", " "), h.replace(" ", "_"), unitless, unitless.replace(" ", "_")]):
        found = _lookup(c, cat)
        if found:
            return found
        m = _SIDE_SUFFIX.match(c)
        if m:
            base = _lookup(m.group("base").strip(" _-"), cat) or _lookup(m.group("base").strip(" _-").replace(" ", "_"), cat)
            if base and base[0] in measures and measures[base[0]]["sided"]:
                return base[0], _SIDE_WORDS[m.group("side")]
    return None


def _measure_id(text: str, cat: Catalog) -> tuple[str, str] | None:
    mapped = _map_header(text, cat)
    if mapped and mapped[0] in cat.records["measures"]:
        return mapped
    return None
