"""Programme exports: CSV, formatted Excel, a printable HTML handout and a PDF handout.

Safety rules that every writer here keeps:

* spreadsheet cells can never start a formula: text starting with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` (OWASP CSV
  injection guidance), while real numbers stay numbers;
* everything a user typed is escaped in HTML and PDF;
* files are written owner-readable only and atomically (:mod:`sciatica_kit.files`);
* every handout carries the safety note and the disclaimer.
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sciatica_kit.files import private_path
from sciatica_kit.programme import DISCLAIMER, SAFETY_NOTE

if TYPE_CHECKING:
    from sciatica_kit.programme import Programme

__all__ = [
    "PAPER_SIZES",
    "programme_frame",
    "programme_html_fragment",
    "safe_cell",
    "safe_frame",
    "write_csv",
    "write_excel",
    "write_html",
    "write_pdf",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
PAPER_SIZES = {"A4": ("210mm", "297mm"), "Letter": ("8.5in", "11in")}
EXPORT_COLUMNS = {
    "exercise_id": "Exercise id",
    "name": "Exercise",
    "category": "Category",
    "sets": "Sets",
    "reps": "Reps",
    "hold_s": "Hold (s)",
    "times_per_day": "Times a day",
    "days_per_week": "Days a week",
    "minutes": "Minutes",
    "distance_km": "Distance (km)",
    "each_side": "Each side",
    "dose": "Dose in words",
    "reason": "Why it is there",
    "cautions": "Cautions",
    "stop_if": "Stop and contact us if",
    "dose_source": "Source of the dose",
    "sources": "Sources",
}


# --------------------------------------------------------------------------- cells


def safe_cell(value: Any) -> Any:
    """Neutralise a text cell that a spreadsheet would run as a formula.

    Numbers (including negative numbers) are returned unchanged.

    Examples
    --------
    >>> safe_cell("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> safe_cell(-3.5)
    -3.5
    >>> safe_cell("Sit tall")
    'Sit tall'
    """
    if isinstance(value, str):
        value = _CONTROL.sub("", value)  # control codes cannot be stored in a workbook (and are invisible anyway)
        stripped = value.lstrip(" ")
        # also a text already starting with ' before a formula character, so that re-reading
        # (which removes one guarding ') gives the text back exactly
        if value.startswith(_FORMULA_START) or stripped.startswith(_FORMULA_START) or value.lstrip("'").startswith(_FORMULA_START):
            return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Apply :func:`safe_cell` to every text cell and header of ``frame``."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(safe_cell)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


def programme_frame(prog: Programme) -> pd.DataFrame:
    """The programme table with readable headers, ready for a spreadsheet."""
    table = prog.table.copy()
    for col in ("reason", "cautions", "stop_if"):
        table[col] = table[col].str.replace("\n", "; ", regex=False)
    return table[list(EXPORT_COLUMNS)].rename(columns=EXPORT_COLUMNS)


def _details(prog: Programme) -> list[tuple[str, str]]:
    from sciatica_kit.catalog import load_catalog

    cat = prog.inputs.get("catalog") or load_catalog()
    names = cat.records
    rows = [
        ("Patient", prog.patient or ""),
        ("Clinic", prog.clinic or ""),
        ("Date", prog.created.isoformat()),
        ("Conditions", ", ".join(names["conditions"][c]["name"] for c in prog.conditions)),
        ("Phase", names["phases"][prog.phase]["name"]),
        ("Findings", ", ".join(names["findings"][f]["name"] for f in prog.findings)),
        ("Red flags", ", ".join(names["red_flags"][f]["name"] for f in prog.red_flags) or "none ticked"),
    ]
    if prog.referral is not None:
        rows.append(("Referral", prog.referral.text))
    for _, r in prog.excluded.iterrows():
        rows.append((f"Kept out: {r['name']}", r["reason"]))
    for o in prog.overrides:
        rows.append((f"Clinician {o['action']}: {o['exercise_id']}", o["reason"] or "(no reason given)"))
    rows += [("Safety note", SAFETY_NOTE), ("Disclaimer", DISCLAIMER)]
    return rows


# --------------------------------------------------------------------------- CSV / Excel


def write_csv(prog: Programme, path) -> Path:
    """Write the programme as CSV that opens cleanly in Excel (UTF-8 with BOM)."""
    path = Path(path)
    frame = safe_frame(programme_frame(prog))
    with private_path(path) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path


def write_excel(prog: Programme, path) -> Path:
    """Write a formatted workbook: the programme, what was kept out, details and disclaimer."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    path = Path(path)
    frame = safe_frame(programme_frame(prog))
    excluded = safe_frame(prog.excluded.rename(columns={"exercise_id": "Exercise id", "name": "Exercise", "reason": "Why it is kept out"}))
    details = safe_frame(pd.DataFrame(_details(prog), columns=["Item", "Value"]))
    widths = {"Exercise": 30, "Why it is there": 60, "Cautions": 50, "Stop and contact us if": 45, "Dose in words": 40,
              "Source of the dose": 40, "Sources": 40, "Why it is kept out": 70, "Item": 28, "Value": 90}
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="1F4E79")
    with private_path(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        frame.to_excel(xl, sheet_name="Programme", index=False)
        excluded.to_excel(xl, sheet_name="Kept out", index=False)
        details.to_excel(xl, sheet_name="Details", index=False)
        for ws in xl.book.worksheets:
            ws.freeze_panes = "A2"
            for cell in ws[1]:
                cell.font = header_font
                cell.fill = header_fill
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            for idx, cell in enumerate(ws[1], start=1):
                ws.column_dimensions[get_column_letter(idx)].width = widths.get(str(cell.value), 14)
            for row in ws.iter_rows(min_row=2):
                for cell in row:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                    if cell.data_type == "f":  # never a formula, whatever slipped through
                        cell.data_type = "s"
    return path


# --------------------------------------------------------------------------- HTML


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _picture_data_uri(exercise_id: str, catalog) -> str:
    from sciatica_kit.illustrations import exercise_png

    return "data:image/png;base64," + base64.b64encode(exercise_png(exercise_id, catalog=catalog)).decode("ascii")


_CSS = """
@page { size: %(paper)s; margin: 14mm; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 14pt; line-height: 1.4;
       color: #111; max-width: 190mm; margin: 0 auto; }
h1 { font-size: 22pt; margin: 0 0 4pt; }
h2 { font-size: 17pt; margin: 0 0 6pt; }
.meta { font-size: 12pt; color: #333; margin-bottom: 10pt; }
.meta td { padding: 1pt 10pt 1pt 0; vertical-align: top; }
.exercise { break-inside: avoid; page-break-inside: avoid; border: 1px solid #999; border-radius: 6px;
            padding: 8pt 10pt; margin: 0 0 10pt; }
.exercise img { width: 100%%; max-width: 150mm; height: auto; display: block; margin: 4pt 0; }
.dose { font-weight: bold; font-size: 15pt; background: #eef4fb; padding: 4pt 6pt; border-radius: 4px; }
.stop { border-left: 5px solid #b00020; padding-left: 8pt; }
.safety { break-inside: avoid; border: 2px solid #b00020; padding: 8pt 10pt; margin: 12pt 0; }
.referral { border: 3px solid #b00020; background: #fdecea; padding: 10pt; font-size: 15pt; }
.disclaimer { font-size: 11pt; color: #333; }
ol, ul { margin: 4pt 0 4pt 18pt; padding: 0; }
"""


def write_html(prog: Programme, path=None, *, paper: str = "A4", pictures: bool = True) -> str | Path:
    """A self-contained printable handout.  Returns the HTML text when ``path`` is None."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"Unknown paper size '{paper}'. Valid sizes: {', '.join(PAPER_SIZES)}")
    text = handout_html(prog, paper=paper, pictures=pictures)
    if path is None:
        return text
    path = Path(path)
    with private_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def handout_html(prog: Programme, *, paper: str = "A4", pictures: bool = True) -> str:
    from sciatica_kit.catalog import load_catalog

    cat = prog.inputs.get("catalog") or load_catalog()
    ex = cat.records["exercises"]
    width, height = PAPER_SIZES[paper]
    title = "Your home exercise programme"
    meta = [
        ("Patient", prog.patient or ""),
        ("Clinic", prog.clinic or ""),
        ("Date", prog.created.strftime("%d %B %Y")),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}{' - ' + _e(prog.patient) if prog.patient else ''}</title>",
        f"<style>{_CSS % {'paper': f'{width} {height}'}}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        '<table class="meta">' + "".join(f"<tr><td><b>{_e(k)}</b></td><td>{_e(v)}</td></tr>" for k, v in meta) + "</table>",
    ]
    if prog.blocked:
        parts.append(
            f'<div class="referral" role="alert"><b>{_e(prog.referral.headline)}</b><br>'
            + "<br>".join(_e(line) for line in prog.referral.text.split("\n"))
            + "</div>"
        )
    for n, row in enumerate(prog.table.itertuples(index=False), start=1):
        rec = ex[row.exercise_id]
        img = _picture_data_uri(row.exercise_id, cat) if pictures else None
        parts.append('<section class="exercise">')
        parts.append(f"<h2>{n}. {_e(row.name)}</h2>")
        if img:
            parts.append(f'<img src="{img}" alt="{_e(row.name)}: start and end positions">')
        parts.append(f'<p class="dose">{_e(row.dose)}</p>')
        parts.append("<ol>" + "".join(f"<li>{_e(s)}</li>" for s in rec["steps"]) + "</ol>")
        if row.patient_cautions:
            parts.append("<p><b>Take care</b></p><ul>" + "".join(f"<li>{_e(c)}</li>" for c in row.patient_cautions.split("\n")) + "</ul>")
        parts.append(
            '<div class="stop"><b>Stop and contact us if</b><ul>'
            + "".join(f"<li>{_e(s)}</li>" for s in rec["stop_if"])
            + "</ul></div>"
        )
        parts.append("</section>")
    if not prog.blocked and prog.advice:
        parts.append('<section class="exercise"><h2>Looking after your back</h2><ul>')
        parts.extend(f"<li>{_e(a['text'])}</li>" for a in prog.advice)
        parts.append("</ul></section>")
    parts.append(f'<div class="safety"><b>Safety</b><p>{_e(SAFETY_NOTE)}</p></div>')
    parts.append(f'<p class="disclaimer">{_e(DISCLAIMER)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def programme_html_fragment(prog: Programme) -> str:
    """Rich notebook display: the table plus remarks (referral, kept out, cautions)."""
    out = ['<div class="sk-programme">']
    title = "Programme" + (f" for {_e(prog.patient)}" if prog.patient else "")
    out.append(f"<h3>{title}</h3>")
    if prog.blocked:
        out.append(prog.referral._repr_html_())
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
        out.extend(f"<li>{_e(o['action'])} {_e(o['exercise_id'])}: {_e(o['reason'] or 'no reason given')}</li>" for o in prog.overrides)
        out.append("</ul>")
    out.append(f'<p style="font-size:90%"><i>{_e(DISCLAIMER)}</i></p></div>')
    return "\n".join(out)


# --------------------------------------------------------------------------- PDF


def _pdf_fonts() -> tuple[str, str]:
    """Register DejaVu Sans (ships with matplotlib) so any patient name prints."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "KitSans" in pdfmetrics.getRegisteredFontNames():
        return "KitSans", "KitSans-Bold"
    import matplotlib as mpl

    ttf = Path(mpl.get_data_path()) / "fonts" / "ttf"
    try:
        pdfmetrics.registerFont(TTFont("KitSans", str(ttf / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("KitSans-Bold", str(ttf / "DejaVuSans-Bold.ttf")))
    except Exception:  # pragma: no cover - fonts missing: fall back to the PDF core fonts
        return "Helvetica", "Helvetica-Bold"
    return "KitSans", "KitSans-Bold"


def write_pdf(prog: Programme, path, *, paper: str = "A4", pictures: bool = True) -> Path:
    """A printable PDF handout; no exercise is split across pages."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, LETTER
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Image,
        KeepTogether,
        ListFlowable,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
    )

    from sciatica_kit.catalog import load_catalog
    from sciatica_kit.illustrations import exercise_png

    sizes = {"A4": A4, "Letter": LETTER}
    if paper not in sizes:
        raise ValueError(f"Unknown paper size '{paper}'. Valid sizes: {', '.join(sizes)}")
    regular, bold = _pdf_fonts()
    cat = prog.inputs.get("catalog") or load_catalog()
    ex = cat.records["exercises"]
    body = ParagraphStyle("body", fontName=regular, fontSize=13, leading=17)
    small = ParagraphStyle("small", parent=body, fontSize=10.5, leading=13)
    h1 = ParagraphStyle("h1", parent=body, fontName=bold, fontSize=21, leading=26, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=body, fontName=bold, fontSize=16, leading=20, spaceAfter=3)
    dose = ParagraphStyle("dose", parent=body, fontName=bold, fontSize=14, leading=18, backColor=colors.HexColor("#eef4fb"), borderPadding=3)
    alert = ParagraphStyle("alert", parent=body, textColor=colors.HexColor("#8b0015"))

    def p(text, style=body):
        return Paragraph(_e(text).replace("\n", "<br/>"), style)

    def bullets(items, style=body, numbered=False):
        return ListFlowable(
            [p(i, style) for i in items],
            bulletType="1" if numbered else "bullet",
            bulletFontName=regular,
            bulletFontSize=style.fontSize,
            leftIndent=14,
            start="1" if numbered else "•",
        )

    story = [p("Your home exercise programme", h1)]
    meta = [[p("Patient", small), p(prog.patient or "", small)], [p("Clinic", small), p(prog.clinic or "", small)],
            [p("Date", small), p(prog.created.strftime("%d %B %Y"), small)]]
    story += [Table(meta, colWidths=[28 * mm, None], hAlign="LEFT"), Spacer(1, 6)]
    if prog.blocked:
        story.append(KeepTogether([p(prog.referral.headline, h2), p(prog.referral.text, alert), Spacer(1, 8)]))
    page_w = sizes[paper][0] - 36 * mm
    for n, row in enumerate(prog.table.itertuples(index=False), start=1):
        rec = ex[row.exercise_id]
        block = [p(f"{n}. {row.name}", h2)]
        if pictures:
            img = Image(io.BytesIO(exercise_png(row.exercise_id, catalog=cat)))
            img.drawWidth = page_w * 0.62  # two exercises usually share a page
            img.drawHeight = img.drawWidth * img.imageHeight / img.imageWidth
            block.append(img)
        block += [p(row.dose, dose), Spacer(1, 3), bullets(rec["steps"], numbered=True)]
        if row.patient_cautions:
            block += [p("Take care", ParagraphStyle("b", parent=body, fontName=bold)), bullets(row.patient_cautions.split("\n"))]
        block += [p("Stop and contact us if", ParagraphStyle("b2", parent=alert, fontName=bold)), bullets(rec["stop_if"], alert)]
        block.append(Spacer(1, 10))
        story.append(KeepTogether(block))
    if not prog.blocked and prog.advice:
        story.append(KeepTogether([p("Looking after your back", h2), bullets([a["text"] for a in prog.advice]), Spacer(1, 8)]))
    story.append(KeepTogether([p("Safety", ParagraphStyle("s", parent=h2, textColor=colors.HexColor("#8b0015"))), p(SAFETY_NOTE, alert), Spacer(1, 6), p(DISCLAIMER, small)]))

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(regular, 9)
        label = f"{prog.patient or ''}  ·  page {doc.page}"
        canvas.drawRightString(sizes[paper][0] - 18 * mm, 10 * mm, label)
        canvas.restoreState()

    path = Path(path)
    with private_path(path) as tmp:
        doc = SimpleDocTemplate(
            str(tmp), pagesize=sizes[paper], leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=18 * mm,
            title="Home exercise programme", author=prog.clinic or "Sciatica Kit",
        )
        doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return path

