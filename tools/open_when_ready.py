"""Open the apps in the browser once `make app`'s preheated kernels are ready, saying how far they are.

    python tools/open_when_ready.py --url URL --port 8888 --ready-dir DIR --apps 4

Voila answers at once, but each app's spare kernel needs twenty seconds or so on a small machine
to import the kit and draw its first charts; a page opened before then waits for its kernel.
Each preheated kernel puts a file in ``--ready-dir`` once it is ready for its visitor, its charts
drawn ahead (``sciatica_kit.widgets.wait_for_visitor``); once ``--apps`` of them are there (or after
``--timeout`` seconds, saying so), the home page is opened.  ``--apps 0`` (``make app PREHEAT=0``)
opens it as soon as the server answers.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import time
import webbrowser
from pathlib import Path


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready-dir", type=Path)
    parser.add_argument("--apps", type=int, default=0, help="preheated app kernels to wait for")
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--no-browser", action="store_true", help="only say when the apps are ready")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    while not _answers(args.port):
        if time.monotonic() > deadline:
            print(f"Sciatica Kit: the app server did not answer on port {args.port}; see the messages above.", flush=True)
            return 1
        time.sleep(0.2)
    said = -1
    while args.apps and args.ready_dir is not None:
        ready = min(len(list(args.ready_dir.glob("kernel-*"))), args.apps)
        if ready != said:
            print(f"Sciatica Kit: preparing the apps ({ready} of {args.apps} ready)...", flush=True)
            said = ready
        if ready >= args.apps:
            break
        if time.monotonic() > deadline:
            print("Sciatica Kit: the apps are still preparing; the first page may take a few seconds.", flush=True)
            break
        time.sleep(0.25)
    print(f"Sciatica Kit is ready: open {args.url}", flush=True)
    if not args.no_browser:
        with contextlib.suppress(Exception):  # no browser on this machine: the address above is enough
            webbrowser.open_new_tab(args.url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
