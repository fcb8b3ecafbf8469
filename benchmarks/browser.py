"""Response times of the apps in the real browser (Voila + the system Chromium), for `make bench`.

    python benchmarks/browser.py [--repeats 10] [--out bench-results]

Starts Voila on a copy of the notebooks with a fresh demo store, then measures
what a clinician waits for:

- how long after the server answers `make app` opens the browser (once every preheated app
  kernel says it is ready), then the first pages: the home page it opens (browser cache
  empty), and the logger clicked there;
- each click to its visible result (switch patient, save a visit, build a
  programme, filter the overview), median and p95 over ``--repeats`` clicks;
- switching patient, and filtering the overview, as a clinician does: after a few seconds
  on the page (the apps draw ahead while they sit idle) as well as click after click, from
  the moment the page is whole (its first chart shown);
- the handout PDF for the built programme (click to "Saved");
- the patient report: picking a patient, click after click and after reading a report.

Timings are printed and written to ``bench-results/browser.json``; targets
(issue 12) are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
TARGETS = {"first_page": 2.0, "click_p95": 0.300, "handout_pdf": 1.0}
READING_S = 3  # seconds a clinician spends on a patient's page before choosing the next
# conditions the demo store's patients have, in the overview's words, for choosing one after reading the page
READ_CONDITIONS = ("Sciatica (lumbar radicular pain)", "Herniated (slipped) disc", "Lumbar spinal stenosis", "Degenerative disc disease",
                   "Isthmic spondylolisthesis", "Axial (non-specific) low back pain", "Femoral nerve pain (front of thigh)")


def _make_app_dry(*make_vars: str) -> str:
    return subprocess.run(["make", "-n", "app", *make_vars], cwd=REPO, capture_output=True, text=True, check=True).stdout


def _make_app_args(*make_vars: str) -> list[str]:
    """The Voila options `make app` passes (from `make -n app`): the bench starts Voila as a clinic does."""
    (line,) = [ln for ln in _make_app_dry(*make_vars).splitlines() if "voila notebooks" in ln]
    return line.split("--no-browser", 1)[1].split()


# Waits that time a click poll on every animation frame: Playwright's expect() retries after 100, 250,
# 500 and 1000 ms, so a result ready at 0.4 s was only seen at 0.85 s and timings came out in steps.
_SHOWN = """([selector, text]) => [...document.querySelectorAll(selector)]
    .some(e => e.offsetParent !== null && e.textContent.includes(text))"""


def _until_shown(page, selector: str, text: str = "") -> None:
    """Wait (checking every frame) until an element matching ``selector`` is on screen and holds ``text``."""
    page.wait_for_function(_SHOWN, arg=[selector, text], polling="raf", timeout=60_000)


def _until_count(page, selector: str, n: int) -> None:
    page.wait_for_function("([s, n]) => document.querySelectorAll(s).length >= n", arg=[selector, n], polling="raf", timeout=60_000)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _stats(name: str, values: list[float], target: float) -> dict:
    return {"what": name, "n": len(values), "median_s": statistics.median(values), "p95_s": _p95(values),
            "target_s": target, "result": "info" if target is None else "pass" if _p95(values) <= target else "MISS",
            "samples_s": [round(v, 4) for v in values]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "bench-results")
    parser.add_argument("--no-preheat", action="store_true", help="start Voila as `make app PREHEAT=0` (a new kernel per page)")
    parser.add_argument("--settle", type=float, default=None,
                        help="seconds to wait after the port opens before the first page (default: as `make app` opens "
                             "the browser, once every preheated app kernel says it is ready)")
    args = parser.parse_args(argv)
    chromium = os.environ.get("SCIATICA_KIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(chromium, os.X_OK):
        print("Chromium is missing: apt-get install chromium (or make browser as root)", file=sys.stderr)
        return 1
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)  # a slow click is measured, not a failure

    with tempfile.TemporaryDirectory(prefix="sk-bench-browser-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "notebooks"
        root.mkdir()
        for nb in NOTEBOOKS.glob("0*.ipynb"):
            shutil.copy2(nb, root / nb.name)
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)
        env.pop("SCIATICA_KIT_STORE", None)
        env.update(SCIATICA_KIT_DEMO_STORE=str(tmp / "demo.sqlite"), SCIATICA_KIT_EXPORTS=str(tmp / "exports"),
                   SCIATICA_KIT_SETTINGS=str(tmp / "none.toml"), XDG_DATA_HOME=str(tmp / "data"))
        subprocess.run([sys.executable, "-m", "sciatica_kit.demo", "--seed-store"], env=env, check=True, capture_output=True)
        port = _port()
        log = open(tmp / "voila.log", "wb")  # noqa: SIM115 - closed below
        voila_args = [a for a in _make_app_args(*(["PREHEAT=0"] if args.no_preheat else [])) if not a.startswith("--port")]
        preheated = any(a.startswith("--preheat_kernel=True") for a in voila_args)
        ready_dir = tmp / "ready"  # as `make app`: each preheated kernel says here when it is ready
        ready_dir.mkdir()
        env["SCIATICA_KIT_READY_DIR"] = str(ready_dir)
        apps = int(re.search(r"--apps (\d+)", _make_app_dry(*(["PREHEAT=0"] if args.no_preheat else []))).group(1))
        proc = subprocess.Popen([sys.executable, "-m", "voila", str(root), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", *voila_args],
                                cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        results: list[dict] = []
        try:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.05)
            up = time.perf_counter()
            if args.settle is None:
                while len(list(ready_dir.glob("kernel-*"))) < apps and time.perf_counter() - up < 180:
                    time.sleep(0.05)
            ready_after = time.perf_counter() - up
            results.append({"what": f"make app: {apps} preheated apps ready (browser opened) after the server is up", "n": 1,
                            "median_s": ready_after, "p95_s": ready_after, "target_s": None, "result": "info",
                            "samples_s": [round(ready_after, 4)]})
            url = f"http://127.0.0.1:{port}/voila/render/"
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(60_000)

                if args.settle is not None:
                    time.sleep(args.settle)
                    when = f"preheated, {args.settle:g} s after the server is up" if preheated else "new kernel"
                else:
                    when = "preheated, once make app opens the browser" if preheated else "new kernel"
                # as `make app`: the browser opens the home page first, and the clinician clicks an app there
                t0 = time.perf_counter()
                page.goto(url + "00_home.ipynb")
                _until_shown(page, "a", "Log a visit and chart progress")
                _until_shown(page, ".sk-demo-banner")
                results.append(_stats(f"first page: home ({when}, browser cache empty)", [time.perf_counter() - t0], TARGETS["first_page"]))
                t0 = time.perf_counter()
                page.get_by_role("link", name="Log a visit and chart progress", exact=True).click()
                app = page.locator(".sk-progress-logger")
                _until_shown(page, ".sk-progress-logger button", "Save visit for DEMO-001")
                results.append(_stats(f"first app page: logger, clicked on the home page ({when})", [time.perf_counter() - t0],
                                      TARGETS["first_page"]))
                image = app.locator("img")
                page.wait_for_function("img => img.naturalWidth > 0 && img.complete", arg=image.element_handle(), polling="raf")
                results.append(_stats(f"first app page: logger -> its first chart drawn ({when})", [time.perf_counter() - t0],
                                      TARGETS["first_page"]))

                # click after click, from the moment the page is whole (its first chart shown)
                patient = app.get_by_label("Patient", exact=True)
                switch, chart = [], []
                for i in range(args.repeats):
                    pid = f"DEMO-{(i % 5) + 2:03d}"
                    t = time.perf_counter()
                    patient.select_option(pid)
                    _until_shown(page, ".sk-progress-logger button", f"Save visit for {pid}")
                    _until_shown(page, ".sk-progress-logger .sk-history")
                    switch.append(time.perf_counter() - t)
                    page.wait_for_function("img => img.naturalWidth > 0 && img.complete", arg=image.element_handle(), polling="raf")
                    chart.append(time.perf_counter() - t)
                results.append(_stats("switch patient -> Save label, summary and history", switch, TARGETS["click_p95"]))
                results.append(_stats("switch patient -> that patient's chart drawn", chart, TARGETS["click_p95"]))

                # as a clinician works: read the page a few seconds, then choose a patient not opened before
                # (the logger draws the next patients' charts while it sits idle)
                read = []
                for i in range(args.repeats):
                    pid = f"DEMO-{i + 7:03d}"
                    page.wait_for_timeout(READING_S * 1000)
                    t = time.perf_counter()
                    patient.select_option(pid)
                    _until_shown(page, ".sk-progress-logger button", f"Save visit for {pid}")
                    page.wait_for_function("img => img.naturalWidth > 0 && img.complete", arg=image.element_handle(), polling="raf")
                    read.append(time.perf_counter() - t)
                results.append(_stats(f"switch patient after {READING_S:g} s on the page -> chart drawn", read, TARGETS["click_p95"]))

                save = []
                pain = app.get_by_label("Pain (0-10)", exact=True)
                for i in range(args.repeats):
                    pid = f"DEMO-{(i % 5) + 2:03d}"
                    patient.select_option(pid)
                    expect(app.get_by_role("button", name=f"Save visit for {pid}")).to_be_visible()
                    page.wait_for_function("img => img.naturalWidth > 0 && img.complete", arg=image.element_handle())
                    pain.fill(str(i % 10))
                    t = time.perf_counter()
                    app.get_by_role("button", name=f"Save visit for {pid}").click()
                    _until_shown(page, ".sk-progress-logger .sk-message.sk-success", f"Visit saved for {pid}")
                    save.append(time.perf_counter() - t)
                    page.wait_for_timeout(50)
                results.append(_stats("save a visit -> confirmation (chart redrawn after)", save, TARGETS["click_p95"]))

                page.goto(url + "01_build_programme.ipynb")
                app = page.locator(".sk-programme-builder")
                app.wait_for(timeout=60_000)
                app.get_by_label("Sciatica (lumbar radicular pain)", exact=True).check()
                app.get_by_label("Piriformis syndrome", exact=True).check()
                build = []
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    app.get_by_role("button", name="Build programme").click()
                    _until_shown(page, ".sk-programme-builder .sk-message.sk-success", "Programme built")
                    build.append(time.perf_counter() - t)
                    app.get_by_label("Patient", exact=True).fill("")  # a new action clears the message
                    app.get_by_role("button", name="CSV").click()
                    expect(app.locator(".sk-message.sk-error")).to_be_visible()
                results.append(_stats("build programme -> table and message", build, TARGETS["click_p95"]))
                # the target is for eight exercises: the two conditions give seven, the clinician adds one
                app.get_by_label("Add", exact=True).select_option(label="Bird dog (strengthening)")
                app.get_by_role("button", name="Add exercise").click()
                _until_shown(page, ".sk-programme-builder .sk-message.sk-success", "Bird dog added")
                n_ex = app.locator(".sk-programme table").first.locator("tbody tr").count()
                patient_box = app.get_by_label("Patient", exact=True)
                patient_box.fill("P-BENCH")
                patient_box.press("Tab")
                pdf = []
                for i in range(max(3, args.repeats // 3)):
                    t = time.perf_counter()
                    app.get_by_role("button", name="Handout (PDF)").click()
                    # rows without a dose: the builder asks first, and makes the PDF on "Print with fill-in lines"
                    fill, links = app.get_by_role("button", name="Print with fill-in lines"), app.locator(".sk-downloads li")
                    expect(fill.or_(links.nth(i))).to_be_visible(timeout=60_000)
                    if fill.is_visible():
                        t = time.perf_counter()
                        fill.click()
                    _until_count(page, ".sk-programme-builder .sk-downloads li", i + 1)
                    pdf.append(time.perf_counter() - t)
                results.append(_stats(f"handout PDF ({n_ex} exercises) -> link", pdf, TARGETS["handout_pdf"]))

                t0 = time.perf_counter()
                page.goto(url + "03_clinic_overview.ipynb")
                app = page.locator(".sk-clinic-overview")
                app.wait_for(timeout=60_000)
                image = app.locator("img")
                page.wait_for_function("img => img.naturalWidth > 0 && img.complete", arg=image.element_handle(), polling="raf")
                results.append(_stats("overview page -> its cohort chart drawn (a kernel preheated before the saves above)",
                                      [time.perf_counter() - t0], TARGETS["first_page"]))
                cond = app.get_by_label("Condition", exact=True)
                # as a clinician works: read the page a few seconds, then choose a condition not shown before
                # (the overview draws the other conditions' charts while it sits idle)
                read = []
                for label in READ_CONDITIONS:
                    old_src = image.get_attribute("src")
                    page.wait_for_timeout(READING_S * 1000)
                    t = time.perf_counter()
                    cond.select_option(label=label)
                    page.wait_for_function("([img, old]) => img.src && img.src !== old && img.complete && img.naturalWidth > 0",
                                           arg=[image.element_handle(), old_src], polling="raf")
                    read.append(time.perf_counter() - t)
                results.append(_stats(f"overview filter after {READING_S:g} s on the page -> cohort chart drawn", read,
                                      TARGETS["click_p95"]))
                cond.select_option(label="All conditions")
                _until_shown(page, ".sk-clinic-overview .sk-message.sk-success", "all conditions")
                filt = []
                for i in range(args.repeats):
                    label = ("Piriformis syndrome", "All conditions")[i % 2]
                    t = time.perf_counter()
                    cond.select_option(label=label)
                    _until_shown(page, ".sk-clinic-overview .sk-message.sk-success", label if i % 2 == 0 else "all conditions")
                    filt.append(time.perf_counter() - t)
                results.append(_stats("overview condition filter -> table and count (charts follow)", filt, TARGETS["click_p95"]))
                drawn = []  # the cohort chart follows the table: measured apart, waiting for it after each click
                for i in range(args.repeats):
                    label = ("Piriformis syndrome", "All conditions")[i % 2]
                    old_src = image.get_attribute("src")
                    t = time.perf_counter()
                    cond.select_option(label=label)
                    page.wait_for_function("([img, old]) => img.src && img.src !== old && img.complete && img.naturalWidth > 0",
                                           arg=[image.element_handle(), old_src], polling="raf")
                    drawn.append(time.perf_counter() - t)
                results.append(_stats("overview condition filter -> cohort chart drawn", drawn, TARGETS["click_p95"]))

                # the patient report (its preheated kernel drew the first patients' charts while it waited)
                t0 = time.perf_counter()
                page.goto(url + "04_patient_report.ipynb")
                app = page.locator(".sk-patient-report")
                _until_shown(page, ".sk-patient-report h2", "Progress report: DEMO-001")
                image = app.locator("img")
                page.wait_for_function("img => img.naturalWidth > 0 && img.complete", arg=image.element_handle(), polling="raf")
                results.append(_stats(f"report page ({when}) -> its chart drawn", [time.perf_counter() - t0], TARGETS["first_page"]))
                patient = app.get_by_label("Patient", exact=True)
                for label, pause, first in (("click after click", 0, 2), (f"after {READING_S:g} s on the page", READING_S, 7)):
                    text, chart = [], []
                    for i in range(max(5, args.repeats // 2)):
                        pid = f"DEMO-{first + i:03d}"
                        page.wait_for_timeout(pause * 1000)
                        t = time.perf_counter()
                        patient.select_option(pid)
                        _until_shown(page, ".sk-patient-report h2", f"Progress report: {pid}")
                        text.append(time.perf_counter() - t)
                        page.wait_for_function("img => img.offsetParent !== null && img.naturalWidth > 0 && img.complete",
                                               arg=image.element_handle(), polling="raf")
                        chart.append(time.perf_counter() - t)
                    results.append(_stats(f"report: pick a patient, {label} -> heading and summary", text, TARGETS["click_p95"]))
                    results.append(_stats(f"report: pick a patient, {label} -> chart drawn", chart, TARGETS["click_p95"]))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            log.close()

    width = max(len(r["what"]) for r in results)
    print(f"{'browser timing (Voila + Chromium)'.ljust(width)} | n  | median  | p95     | target  | result")
    for r in results:
        target = f"{r['target_s']:6.3f}s" if r["target_s"] is not None else "      - "
        print(f"{r['what'].ljust(width)} | {r['n']:<2} | {r['median_s']:6.3f}s | {r['p95_s']:6.3f}s | {target} | {r['result']}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "browser.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
