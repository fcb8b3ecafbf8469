"""Fingerprints of every exercise picture, to show that a change to the drawing code is a pure move.

    python tools/picture_hashes.py before.json            # on the old code
    python tools/picture_hashes.py after.json --compare before.json

Hashes each packaged exercise's picture and the generic card of each position (PNG at
110 and 60 dpi as a handout prints it, and the SVG of ``draw_exercise``).  The hashes
hold for one set of installed versions (matplotlib, Pillow), so they are compared on one
machine, before and after a change, and are not committed as a test.  Pictures are drawn
with an empty picture cache, so nothing is read from an earlier run.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

CARD = """
[[exercise]]
id = "card_{n}"
name = "Generic card {position}"
category = "strengthening"
targets = ["thighs"]
position = "{position}"
equipment = []
steps = ["A step."]
sets = "not specified"
reps = "not specified"
hold_s = "not specified"
times_per_day = "not specified"
days_per_week = "not specified"
minutes = "not specified"
distance_km = "not specified"
dose_source = "Clinic protocol"
each_side = false
phases = ["chronic"]
progress_to = []
regress_to = []
cautions = []
stop_if = ["Pain."]
sources = ["Clinic protocol"]
"""
POSITIONS = ("sitting", "lying on the back", "lying on the front", "lying on the side",
             "on hands and knees", "on an exercise bike", "in the pool", "standing")


def fingerprints() -> dict[str, list[str]]:
    import matplotlib as mpl

    mpl.rcParams["svg.hashsalt"] = "picture-hashes"  # SVG ids are otherwise random
    import sciatica_kit as sk
    from sciatica_kit import illustrations as il

    folder = Path(tempfile.mkdtemp())
    clinic = folder / "cards.toml"
    clinic.write_text("".join(CARD.format(n=n, position=p) for n, p in enumerate(POSITIONS)), encoding="utf-8")
    out = {}
    for cat in (sk.load_catalog(), sk.load_catalog(extra=clinic)):
        for eid in cat.records["exercises"]:
            svg = io.BytesIO()
            il.draw_exercise(eid, catalog=cat).savefig(svg, format="svg", metadata={"Date": None})
            blobs = (il.exercise_png(eid, catalog=cat), il.exercise_png(eid, catalog=cat, dpi=60), svg.getvalue())
            out[eid] = [hashlib.sha256(b).hexdigest()[:16] for b in blobs]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="JSON file for the fingerprints")
    parser.add_argument("--compare", type=Path, help="fingerprints of the code before the change")
    args = parser.parse_args(argv)
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp()  # an empty picture cache
    prints = fingerprints()
    args.out.write_text(json.dumps(prints, indent=1, sort_keys=True), encoding="utf-8")
    print(f"{len(prints)} pictures fingerprinted into {args.out}")
    if args.compare:
        old = json.loads(args.compare.read_text(encoding="utf-8"))
        changed = sorted(k for k in old.keys() | prints.keys() if old.get(k) != prints.get(k))
        if changed:
            print("changed:", ", ".join(changed))
            return 1
        print("every picture is identical (PNG 110 and 60 dpi, SVG)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
