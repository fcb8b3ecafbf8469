"""Programme exports: CSV, a formatted workbook, and the patient's handout (HTML and PDF).

Safety rules that every writer here keeps:

* spreadsheet cells can never start a formula.  In a CSV, text starting with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'``
  (OWASP CSV injection guidance), and so is such text after a ``;`` or a tab
  inside a cell, so the guard also holds when a spreadsheet splits the file at
  ``;``.  In the workbook such text is stored as a text cell marked "quote
  prefix", so it shows as typed, without a visible apostrophe, and is never run.
  Real numbers stay numbers;
* everything a user typed is escaped in HTML and PDF;
* files are written owner-readable only and atomically (:mod:`sciatica_kit.files`);
* a blocked programme exports a referral note for the clinician, never a handout.

The handout itself (one HTML + CSS layout for the printed page and the PDF) lives
in :mod:`sciatica_kit.handout`; its writers are re-exported here.  The formula guard
lives in :mod:`sciatica_kit.safe_text` and the fixed sentences (disclaimer, safety
note) in the catalogue's ``wording.toml`` (:mod:`sciatica_kit.wording`).
"""

from __future__ import annotations

import datetime as dt
import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sciatica_kit.catalog import DOSE_LABELS, load_catalog
from sciatica_kit.files import private_path
from sciatica_kit.handout import PAPER_SIZES, dose_text, handout_html, write_html, write_pdf
from sciatica_kit.safe_text import FORMULA_START as _FORMULA_START
from sciatica_kit.safe_text import safe_cell, safe_csv_cell, safe_frame, strip_control
from sciatica_kit.screening import SCREEN_NOT_RECORDED, referral_rows
from sciatica_kit.wording import load_wording

if TYPE_CHECKING:
    from sciatica_kit.programme_view import ProgrammeView

__all__ = [
    "PAPER_SIZES",
    "SCREEN_NOT_RECORDED",
    "handout_html",
    "override_lines",
    "programme_frame",
    "programme_html_fragment",
    "referral_frame",
    "safe_cell",
    "safe_csv_cell",
    "safe_frame",
    "write_csv",
    "write_excel",
    "write_html",
    "write_pdf",
]

EXPORT_COLUMNS = {
    "exercise_id": "Exercise id",
    "name": "Exercise",
    "category": "Category",
    **DOSE_LABELS,  # the dose fields' headers come from the catalogue's dose_fields.toml
    "each_side": "Each side",
    "dose": "Dose in words",
    "reason": "Why it is there",
    "cautions": "Cautions",
    "stop_if": "Stop and contact us if",
    "dose_source": "Source of the dose",
    "sources": "Sources",
}


# --------------------------------------------------------------------------- clinician remarks


def _screen_text(prog: ProgrammeView) -> str:
    """The recorded red-flag screen in one line for clinician exports, or "Red-flag screen not recorded"."""
    return prog.screen_status


def _catalog(prog: ProgrammeView):
    return prog.catalog or load_catalog()


def override_lines(prog: ProgrammeView) -> list[tuple[str, str]]:
    """The clinician's changes in clinic words: ``(what, why)`` per change, with each reason.

    A dose edit reads ``"Dose changed: Walking"``, ``"days_per_week 7 -> 5; reason: builds up slowly"``.

    Parameters
    ----------
    prog
        The programme.

    Returns
    -------
    list of (str, str)
    """
    verbs = {"added": "Added", "forced": "Forced in", "removed": "Removed", "dose": "Dose changed"}
    out = []
    for o in prog.overrides:
        what = f"{verbs.get(o.get('action'), str(o.get('action')))}: {prog.exercise_name(o['exercise_id'])}"
        reason = o.get("reason") or "no reason given"
        if o.get("action") == "dose" and "changes" in o:
            out.append((what, f"{o['changes']}; reason: {reason}"))
        else:  # an old snapshot's dose edit kept the change itself as its "reason"
            out.append((what, reason))
    return out


def programme_frame(prog: ProgrammeView) -> pd.DataFrame:
    """The programme table with readable headers, ready for a spreadsheet.

    A row without a dose has an empty "Dose in words" (and empty number cells).

    Parameters
    ----------
    prog : Programme
        A built programme.

    Returns
    -------
    pandas.DataFrame
        One row per exercise with readable headers; lists joined into text.
    """
    table = prog.table.copy()
    for col in ("reason", "cautions", "stop_if"):
        table[col] = table[col].str.replace("\n", "; ", regex=False)
    if len(table):
        table["dose"] = [("" if dose_text(r)[1] else r["dose"]) for r in table.to_dict("records")]
    return table[list(EXPORT_COLUMNS)].rename(columns=EXPORT_COLUMNS)


def referral_frame(prog: ProgrammeView) -> pd.DataFrame:
    """A blocked programme's referral note as rows of (Item, Value): who, how urgently, why, the flags.

    The CSV of a blocked programme and the first sheet of its workbook are this frame.

    Parameters
    ----------
    prog : Programme
        A blocked programme.

    Returns
    -------
    pandas.DataFrame
        Columns ``Item`` and ``Value``.
    """
    rows = [
        ("Status", "Exercise programme not started: referral needed"),
        ("Patient", prog.patient or ""),
        ("Date", prog.created),
        ("Urgency", prog.referral.urgency),
        *referral_rows(prog.referral, red_flag_names=prog.red_flag_names, screen_status=_screen_text(prog)),
    ]
    return pd.DataFrame(rows, columns=["Item", "Value"])


def _details(prog: ProgrammeView) -> list[tuple[str, Any]]:
    cat = _catalog(prog)
    words = load_wording(prog.catalog)
    names = cat.records
    rows: list[tuple[str, Any]] = [
        ("Patient", prog.patient or ""),
        ("Clinic", prog.clinic or ""),
        ("Date", prog.created),
        ("Conditions", ", ".join(names["conditions"][c]["name"] for c in prog.conditions)),
        ("Phase", names["phases"][prog.phase]["name"]),
        ("Findings", ", ".join(names["findings"][f]["name"] for f in prog.findings)),
        ("Red flags", ", ".join(names["red_flags"][f]["name"] for f in prog.red_flags) or "none ticked"),
        ("Red-flag screen", _screen_text(prog)),
    ]
    if prog.referral is not None:
        rows.append(("Referral", prog.referral.text))
    for _, r in prog.excluded.iterrows():
        rows.append((f"Kept out: {r['name']}", r["reason"]))
    for what, why in override_lines(prog):
        rows.append((f"Clinician change - {what}", why))
    rows += [("Safety note", words.safety_note), ("Disclaimer", words.disclaimer)]
    return rows


# --------------------------------------------------------------------------- CSV / Excel


def write_csv(prog: ProgrammeView, path) -> Path:
    """Write the programme as CSV that opens cleanly in Excel (UTF-8 with BOM).

    A blocked programme writes its referral note (:func:`referral_frame`) instead.

    Parameters
    ----------
    prog : Programme
        A built programme.
    path : str or path-like
        The file to write (owner-readable only, written atomically).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(path)
    if getattr(prog, "blocked", False):
        frame = referral_frame(prog)
    else:  # a flat table: what the clinician must know about the whole programme rides on every row
        frame = programme_frame(prog).assign(**{"Red-flag screen": _screen_text(prog)})
        if prog.referral is not None:
            frame["Referral alongside the programme"] = f"{prog.referral.headline}: {prog.referral.text}"
    frame = safe_frame(frame, safe_csv_cell)
    with private_path(path) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n", date_format="%Y-%m-%d")
    return path


_WIDTHS = {"Exercise": 28, "Why it is there": 55, "Cautions": 45, "Stop and contact us if": 40, "Dose in words": 34,
           "Source of the dose": 34, "Sources": 38, "Why it is kept out": 70, "Item": 24, "Value": 90,
           "Exercise id": 22, "Category": 16}


def _fit_rows(ws) -> None:
    """Row heights that show every wrapped line (spreadsheets do not grow rows for written files)."""
    from openpyxl.utils import get_column_letter

    widths = {i: ws.column_dimensions[get_column_letter(i)].width or 10 for i in range(1, ws.max_column + 1)}
    for row in ws.iter_rows():
        lines = 1
        for cell in row:
            if cell.value is None:
                continue
            chars = max(1.0, widths[cell.column] * 1.15)
            text = str(cell.value)
            lines = max(lines, sum(max(1, math.ceil(len(part) / chars)) for part in text.split("\n")))
        ws.row_dimensions[row[0].row].height = min(409, 15 * lines + 3)


def write_excel(prog: ProgrammeView, path) -> Path:
    """Write a formatted workbook that prints well.

    Sheets: the programme (or, for a blocked programme, the referral note), what was
    kept out, and the details with the disclaimer.  Every sheet prints landscape,
    fitted to the page width, with its header row repeated on each page.

    Parameters
    ----------
    prog : Programme
        A built programme.
    path : str or path-like
        The file to write (owner-readable only, written atomically).

    Returns
    -------
    pathlib.Path
        The workbook written.
    """
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    path = Path(path)
    blocked = bool(getattr(prog, "blocked", False))
    first_name, first = ("Referral", referral_frame(prog)) if blocked else ("Programme", programme_frame(prog))
    sheets = {
        first_name: first,
        "Kept out": prog.excluded.rename(columns={"exercise_id": "Exercise id", "name": "Exercise", "reason": "Why it is kept out"}),
        "Details": pd.DataFrame(_details(prog), columns=["Item", "Value"]),
    }
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="1F4E79")
    with private_path(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        for name, frame in sheets.items():
            frame = frame.copy()
            for col in frame.columns:
                if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
                    frame[col] = frame[col].map(strip_control).astype(object)
            frame.to_excel(xl, sheet_name=name, index=False)
        for ws in xl.book.worksheets:
            ws.freeze_panes = "A2"
            ws.print_title_rows = "1:1"
            ws.page_setup.orientation = "landscape"
            ws.page_setup.paperSize = ws.PAPERSIZE_A4
            ws.page_setup.fitToWidth = 1
            ws.page_setup.fitToHeight = 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
            ws.print_options.gridLines = True
            for cell in ws[1]:
                cell.font = header_font
                cell.fill = header_fill
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            for idx, cell in enumerate(ws[1], start=1):
                ws.column_dimensions[get_column_letter(idx)].width = _WIDTHS.get(str(cell.value), 12)
            for row in ws.iter_rows(min_row=2):
                for cell in row:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                    if isinstance(cell.value, dt.date):
                        cell.number_format = "d mmm yyyy"
                    elif isinstance(cell.value, str):
                        # text is text: never a formula, and shown exactly as typed (no apostrophe)
                        cell.data_type = "s"
                        if cell.value.lstrip(" '").startswith(_FORMULA_START):
                            cell.quotePrefix = True
            _fit_rows(ws)
    return path


# --------------------------------------------------------------------------- HTML / PDF handout


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def programme_html_fragment(prog: ProgrammeView) -> str:
    """Rich notebook display: the table plus remarks (referral, kept out, cautions).

    Parameters
    ----------
    prog : Programme
        A built programme.

    Returns
    -------
    str
        An HTML fragment (escaped) for notebooks and reports.
    """
    out = ['<div class="sk-programme">']
    title = "Programme" + (f" for {_e(prog.patient)}" if prog.patient else "")
    out.append(f"<h3>{title}</h3>")
    out.append(f'<p class="sk-screen"><b>{_e(_screen_text(prog))}</b></p>')
    if prog.referral is not None:
        out.append(prog.referral._repr_html_())  # blocking, or alongside the programme (e.g. rheumatology)
    if prog.blocked:
        out.append("</div>")
        return "\n".join(out)
    # the numbers stay in prog.table for sorting and editing; people read the dose in words
    view = prog.table[["name", "category", "dose", "reason", "cautions"]].rename(
        columns={"name": "Exercise", "category": "Category", "dose": "Dose", "reason": "Why it is there", "cautions": "Cautions"}
    )
    styler = (
        view.style.hide(axis="index")
        .format(escape="html")
        .set_properties(**{"text-align": "left", "vertical-align": "top", "white-space": "pre-wrap"})
        .set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])
    )
    out.append(styler.to_html())
    if len(prog.excluded):
        out.append("<p><b>Kept out</b></p><ul>")
        out.extend(f"<li><b>{_e(r.name)}</b>: {_e(r.reason)}</li>" for r in prog.excluded.itertuples(index=False))
        out.append("</ul>")
    if prog.overrides:
        out.append("<p><b>Clinician changes</b></p><ul>")
        out.extend(f"<li>{_e(what)} ({_e(why)})</li>" for what, why in override_lines(prog))
        out.append("</ul>")
    out.append(f'<p style="font-size:90%"><i>{_e(load_wording(prog.catalog).disclaimer)}</i></p></div>')
    return "\n".join(out)
