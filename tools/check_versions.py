"""Fail unless every package pinned in a constraints file is installed at exactly that version.

Used by ``make test-min`` so the minimal-versions run cannot silently test newer releases.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def main(path: str) -> int:
    wrong = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, pinned = line.partition("==")
        try:
            found = version(name.strip())
        except PackageNotFoundError:
            found = "not installed"
        if found != pinned.strip():
            wrong.append(f"{name.strip()}: wanted {pinned.strip()}, found {found}")
    for w in wrong:
        print(w, file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
