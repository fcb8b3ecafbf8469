"""The patient's handout: one HTML + CSS layout, printed by a browser or turned into PDF.

There is a single layout source, :func:`handout_html`.  The printable HTML file is
that text; the PDF is the same text laid out by WeasyPrint (HTML and CSS to PDF,
text shaped by HarfBuzz through Pango, so Arabic and Hebrew run right to left with
joined letters and Chinese prints with a CJK font found by fontconfig).

What page 1 shows, in order: the patient, the clinic, the clinician and the date;
then a boxed "Stop and get help" section (the signs that need urgent care now and
the stop rules, with the clinic's phone number).  Every page carries the patient's
id and "page N of M" (PDF, and HTML printed from a browser).

Only patient-facing text reaches a handout: the exercise's name, its dose in words,
its steps, its patient cautions and its stop rules.  A row without a dose prints
fill-in lines for the clinician to write on.  A blocked programme does not print an
exercise handout at all: it prints a referral note for the clinician.

The clinic profile (name, address, phone, email, logo, clinician, next appointment)
comes from the ``[clinic]`` section of the settings file
(:func:`sciatica_kit.settings.load_settings`) and can be overridden per call.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import hashlib
import html
import math
import re
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sciatica_kit._docs import shared_docs
from sciatica_kit.files import private_path
from sciatica_kit.screening import referral_rows
from sciatica_kit.wording import load_wording

if TYPE_CHECKING:
    from sciatica_kit.programme_view import ProgrammeView

__all__ = [
    "CLINIC_FIELDS",
    "EMERGENCY_SIGNS",
    "FILL_IN_DOSE",
    "PAPER_SIZES",
    "STOP_RULES",
    "HandoutError",
    "clinic_profile",
    "contact_sheet",
    "handout_html",
    "html_to_pdf",
    "write_html",
    "write_pdf",
]

PAPER_SIZES = {"A4": ("210mm", "297mm"), "Letter": ("8.5in", "11in")}
CLINIC_FIELDS = ("name", "address", "phone", "email", "logo", "clinician", "next_appointment")

# The kit's safety note split into what needs urgent care now and what means "stop and call us",
# and the fill-in dose line: data, in the catalogue's wording.toml (sciatica_kit.wording).
EMERGENCY_SIGNS = load_wording().emergency_signs
STOP_RULES = load_wording().stop_rules
FILL_IN_DOSE = load_wording().fill_in_dose
_NO_DOSE = re.compile(r"not specified|no dose", re.IGNORECASE)
_INSTALL = (
    "apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-noto-core fonts-wqy-microhei "
    "(or run 'make install' as root; conda users: conda install -c conda-forge pango)"
)


class HandoutError(ValueError):
    """A handout cannot be made; the message says why in clinic words and what to do."""


# --------------------------------------------------------------------------- helpers


def _e(text: Any) -> str:
    return html.escape("" if text is None or text is pd.NA else str(text), quote=True)


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal that cannot end the string or the style element."""
    out = []
    for ch in text:
        if ch in '"\\<>&' or ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _lines(text: Any) -> list[str]:
    if text is None or text is pd.NA or (isinstance(text, float) and math.isnan(text)):
        return []
    return [line for line in str(text).split("\n") if line.strip()]


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%d %B %Y, %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d %B %Y")
    return "" if value is None else str(value)


def clinic_profile(prog: ProgrammeView | None = None, clinic: Mapping[str, Any] | str | None = None, *,
                   settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The clinic details printed on a handout.

    Read from the ``[clinic]`` section of the settings file, then the programme's own
    clinic name, then ``clinic`` (a mapping of :data:`CLINIC_FIELDS`, or just a name).

    Parameters
    ----------
    prog
        The programme; its ``clinic`` (a name) overrides the settings' name.
    clinic
        Per-call overrides, e.g. ``{"phone": "01234 567890", "clinician": "A. Khan"}``.
    settings
        The settings to read instead of :func:`sciatica_kit.settings.load_settings`.

    Returns
    -------
    dict
        Every key of :data:`CLINIC_FIELDS`; missing ones are ``""``.

    Raises
    ------
    HandoutError
        For an unknown field name.

    Examples
    --------
    >>> clinic_profile(clinic={"name": "Riverside", "phone": "0123"}, settings={})["phone"]
    '0123'
    """
    if settings is None:
        from sciatica_kit.settings import load_settings

        settings = load_settings()
    profile: dict[str, Any] = dict.fromkeys(CLINIC_FIELDS, "")
    layers: list[Mapping[str, Any]] = [dict(settings.get("clinic", {}) or {})]
    if prog is not None and getattr(prog, "clinic", None):
        layers.append({"name": prog.clinic})
    if isinstance(clinic, str):
        layers.append({"name": clinic})
    elif clinic is not None:
        layers.append(dict(clinic))
    for layer in layers:
        unknown = sorted(set(layer) - set(CLINIC_FIELDS))
        if unknown:
            raise HandoutError(
                f"Unknown clinic detail(s) {', '.join(unknown)}; the clinic profile has: {', '.join(CLINIC_FIELDS)}."
            )
        profile.update({k: v for k, v in layer.items() if v not in (None, "")})
    return profile


_LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def _logo_uri(logo: Any) -> str | None:
    if not logo:
        return None
    path = Path(str(logo)).expanduser()
    kind = _LOGO_TYPES.get(path.suffix.lower())
    if kind is None:
        raise HandoutError(f"The clinic logo {path.name} must be a PNG, SVG or JPEG file.")
    try:
        data = path.read_bytes()
    except OSError:
        raise HandoutError(
            f"The clinic logo file {path} cannot be read. Fix 'logo' in the [clinic] section of the settings file."
        ) from None
    return f"data:{kind};base64," + base64.b64encode(data).decode("ascii")


def _has_dose(row: Mapping[str, Any]) -> bool:
    from sciatica_kit.catalog import DOSE_FIELDS

    for name in DOSE_FIELDS:
        v = row.get(name)
        if v is not None and v is not pd.NA and not (isinstance(v, float) and math.isnan(v)):
            return True
    text = row.get("dose")
    if text is None or text is pd.NA:
        return False
    text = str(text).strip()
    return bool(text) and bool(re.search(r"\d", text)) and not _NO_DOSE.search(text)


def dose_text(row: Mapping[str, Any]) -> tuple[str, bool]:
    """The dose as the handout prints it, and whether it is fill-in lines.

    Examples
    --------
    >>> dose_text({"dose": "Hold 15 seconds, twice a day", "hold_s": 15})
    ('Hold 15 seconds, twice a day', False)
    >>> dose_text({"dose": "No dose set yet: set it with the patient", "each_side": True})
    ('____ times each side, ____ times a day', True)
    """
    if _has_dose(row):
        return str(row.get("dose")), False
    side = row.get("each_side")
    if side is not None and side is not pd.NA and bool(side):
        return FILL_IN_DOSE.replace("times,", "times each side,", 1), True
    return FILL_IN_DOSE, True


# --------------------------------------------------------------------------- layout

_CSS = """
@page {
  size: %(paper)s; margin: 13mm 14mm 17mm 14mm;
  @bottom-left { content: %(patient_label)s; font: %(foot)s "DejaVu Sans", sans-serif; color: #333;
                 width: 70%%; overflow-wrap: anywhere; vertical-align: top; padding-top: 3mm; }
  @bottom-right { content: "page " counter(page) " of " counter(pages); font: %(foot)s "DejaVu Sans", sans-serif;
                  color: #333; vertical-align: top; padding-top: 3mm; }
}
html { font-family: "DejaVu Sans", "Noto Sans", "Noto Sans Arabic", "Noto Sans Hebrew", "Noto Sans CJK SC",
       "WenQuanYi Micro Hei", Arial, sans-serif; font-size: %(body)s; line-height: 1.35; color: #111; }
body { margin: 0 auto; max-width: 190mm; overflow-wrap: break-word; word-wrap: break-word; }
h1 { font-size: 1.6em; margin: 0 0 2pt; }
h2 { font-size: 1.22em; margin: 0; }
h3 { font-size: 1.05em; margin: 0 0 2pt; }
p { margin: 2pt 0; }
ul { margin: 2pt 0 2pt 1.2em; padding: 0; }
.top { display: flex; justify-content: space-between; gap: 8mm; align-items: flex-start; }
.who { flex: 1 1 auto; min-width: 0; }
.clinic { flex: 0 0 auto; text-align: right; font-size: 0.85em; color: #222; max-width: 70mm; }
.clinic img { max-height: 16mm; max-width: 50mm; display: block; margin: 0 0 2pt auto; }
.meta { table-layout: fixed; width: 100%%; border-collapse: collapse; margin: 4pt 0 6pt; font-size: 0.92em; }
.meta th { text-align: left; padding: 1pt 8pt 1pt 0; vertical-align: top; width: 11.5em; }
.meta td { padding: 1pt 0; vertical-align: top; }
.stop-box { border: 2.5pt solid #b00020; border-radius: 6pt; padding: 6pt 9pt; margin: 0 0 10pt;
            break-inside: avoid; page-break-inside: avoid; }
.stop-box > h2 { color: #8b0015; margin-bottom: 3pt; }
.stop-box .now { background: #fdecea; border-radius: 4pt; padding: 4pt 7pt; margin-bottom: 5pt; }
.stop-box .call { padding: 0 7pt; }
.stop-box .phone { font-weight: bold; font-size: 1.1em; white-space: nowrap; }
.exercise { width: 100%%; table-layout: fixed; border-collapse: separate; border-spacing: 0; border: 1px solid #999; border-radius: 5pt;
            margin: 0 0 8pt; break-inside: avoid; page-break-inside: avoid; }
.exercise thead th { text-align: left; padding: 5pt 8pt 2pt; font-weight: normal; }
.exercise td { padding: 1pt 8pt; vertical-align: top; }
.exercise tr { break-inside: avoid; page-break-inside: avoid; }
.exercise tr:last-child td { padding-bottom: 6pt; }
col.n { width: 3.1em; }
.exercise td.n { text-align: right; padding-left: 4pt; padding-right: 4pt; white-space: nowrap; font-weight: bold; }
.exercise td.n + td { padding-left: 2pt; }
.picture img { display: block; width: %(picture)s; max-width: 100%%; height: auto; margin: 2pt 0; }
.dose { font-weight: bold; font-size: 1.08em; background: #eef4fb; padding: 3pt 6pt; border-radius: 4pt; }
.dose.fill-in { background: #fff; border: 1px dashed #555; font-weight: normal; }
.dose.fill-in .label { font-size: 0.8em; color: #333; display: block; }
.care b, .stop b { display: block; margin-top: 3pt; }
.stop { border-left: 4pt solid #b00020; }
.advice { break-inside: avoid; page-break-inside: avoid; margin: 6pt 0; }
.safety { break-inside: avoid; page-break-inside: avoid; border: 1.5pt solid #b00020; padding: 5pt 8pt; margin: 8pt 0; }
.disclaimer { font-size: 0.82em; color: #333; }
.referral { border: 3pt solid #b00020; background: #fdecea; padding: 8pt 10pt; margin: 6pt 0; }
.referral dt { font-weight: bold; margin-top: 4pt; }
.referral dd { margin: 0 0 0 0; }
.for-clinician { font-size: 0.85em; color: #8b0015; font-weight: bold; letter-spacing: 0.03em; }
@media screen { body { padding: 10mm; } }
@media print { .exercise thead { display: table-header-group; } }
"""


def _styles(*, paper: str, patient: str, large_print: bool, compact: bool) -> str:
    width, height = PAPER_SIZES[paper]
    label = f"Patient: {patient}" if patient else "Patient: ____________"
    return _CSS % {
        "paper": f"{width} {height}",
        "patient_label": _css_string(label),
        "body": "15pt" if large_print else "11.5pt",
        "foot": "11pt" if large_print else "8.5pt",
        "picture": ("78%" if large_print else "58%") if compact else "86%",
    }


def _header(prog: ProgrammeView, profile: Mapping[str, Any], title: str) -> list[str]:
    clinic_lines = [profile.get("name"), profile.get("address"), profile.get("phone"), profile.get("email")]
    clinic_html = "<br>".join(f'<span dir="auto">{_e(v)}</span>' for v in clinic_lines if v)
    logo = _logo_uri(profile.get("logo"))
    if logo:
        clinic_html = f'<img src="{logo}" alt="{_e(profile.get("name") or "Clinic")} logo">' + clinic_html
    meta = [
        ("Patient", prog.patient or ""),
        ("Clinic", profile.get("name") or ""),
        ("Clinician", profile.get("clinician") or ""),
        ("Date", _date(prog.created)),
    ]
    if profile.get("next_appointment"):
        meta.append(("Next appointment", _date(profile["next_appointment"])))
    rows = "".join(
        f'<tr><th scope="row">{_e(k)}</th><td dir="auto">{_e(v) or "&nbsp;"}</td></tr>' for k, v in meta
    )
    return [
        '<header class="top">',
        f'<div class="who"><h1>{_e(title)}</h1>',
        f'<table class="meta">{rows}</table></div>',
        f'<div class="clinic">{clinic_html}</div>' if clinic_html else "",
        "</header>",
    ]


def _phone(profile: Mapping[str, Any]) -> str:
    phone = profile.get("phone")
    if phone:
        return f'<span class="phone">{_e(phone)}</span>'
    return '<span class="phone">________________</span>'


def _stop_box(profile: Mapping[str, Any], words=None) -> list[str]:
    words = words or load_wording()
    return [
        '<section class="stop-box" role="alert" aria-labelledby="stop-and-get-help">',
        '<h2 id="stop-and-get-help">Stop and get help</h2>',
        '<div class="now"><h3>Get urgent medical help now (emergency department) if you notice:</h3><ul>',
        *(f"<li>{_e(s)}</li>" for s in words.emergency_signs),
        "</ul></div>",
        f'<div class="call"><h3>Stop the exercises and call us on {_phone(profile)} if:</h3><ul>',
        *(f"<li>{_e(s)}</li>" for s in words.stop_rules),
        "</ul></div>",
        "</section>",
    ]


def _picture(exercise_id: str, name: str, cat) -> str:
    from sciatica_kit.illustrations import exercise_picture

    data, kind, own = exercise_picture(exercise_id, catalog=cat)
    uri = f"data:{kind};base64," + base64.b64encode(data).decode("ascii")
    alt = (
        f"Picture of the exercise {name}, provided by your clinic"
        if own
        else f"Drawing of the exercise {name}: the start position in grey and the end position in orange"
    )
    return f'<img src="{uri}" alt="{_e(alt)}">'


def _exercise(n: int, row: Mapping[str, Any], rec: Mapping[str, Any], cat, pictures: bool) -> list[str]:
    name = row["name"]
    dose, fill_in = dose_text(row)
    out = [
        f'<table class="exercise" id="exercise-{n}"><thead><tr><th colspan="2">'
        f'<h2 dir="auto">{n}. {_e(name)}</h2></th></tr></thead><tbody>'
    ]
    out[0] = out[0].replace("<thead>", '<colgroup><col class="n"><col></colgroup><thead>', 1)
    if pictures:
        out.append(f'<tr class="picture"><td colspan="2">{_picture(row["exercise_id"], name, cat)}</td></tr>')
    if fill_in:
        out.append(
            '<tr><td colspan="2"><p class="dose fill-in"><span class="label">How much (your clinician writes it in):'
            f"</span>{_e(dose)}</p></td></tr>"
        )
    else:
        out.append(f'<tr><td colspan="2"><p class="dose" dir="auto">{_e(dose)}</p></td></tr>')
    for i, step in enumerate(rec.get("steps") or (), start=1):
        out.append(f'<tr class="step"><td class="n">{i}.</td><td dir="auto">{_e(step)}</td></tr>')
    cautions = _lines(row.get("patient_cautions"))
    if cautions:
        out.append(
            '<tr class="care"><td colspan="2"><b>Take care</b><ul>'
            + "".join(f'<li dir="auto">{_e(c)}</li>' for c in cautions)
            + "</ul></td></tr>"
        )
    stops = _lines(row.get("stop_if")) or list(rec.get("stop_if") or ())
    out.append(
        '<tr class="stop"><td colspan="2"><b>Stop and contact us if</b><ul>'
        + "".join(f'<li dir="auto">{_e(s)}</li>' for s in stops)
        + "</ul></td></tr>"
    )
    out.append("</tbody></table>")
    return out


def _referral_note(prog: ProgrammeView) -> list[str]:
    """The clinician's referral note for a blocked programme: who, how urgently, why, the flags."""
    rows = referral_rows(prog.referral, red_flag_names=prog.red_flag_names, screen_status=prog.screen_status)
    out = [
        '<section class="referral" role="alert">',
        '<p class="for-clinician">FOR THE CLINICIAN - NOT A PATIENT HANDOUT</p>',
        "<h2>Referral needed: the exercise programme is not started</h2><dl>",
    ]
    for k, v in rows:
        out.append(f"<dt>{_e(k)}</dt><dd>" + "<br>".join(_e(line) for line in str(v).split("\n")) + "</dd>")
    out.append("</dl></section>")
    return out


def handout_html(prog: ProgrammeView, *, paper: str = "A4", pictures: bool = True, large_print: bool = False,
                 compact: bool = True, clinic: Mapping[str, Any] | str | None = None,
                 settings: Mapping[str, Any] | None = None) -> str:
    """The handout as one self-contained HTML document (the single layout source).

    Parameters
    ----------
    prog
        The programme.  A blocked programme gives a referral note for the clinician.
    paper
        ``"A4"`` or ``"Letter"``.
    pictures
        Include the exercise pictures.
    large_print
        Body text at 15 pt (default 11.5 pt) for patients who need larger print.
    compact
        Smaller pictures so that two exercises share a page when they fit.
    clinic, settings
        See :func:`clinic_profile`.

    Returns
    -------
    str

    Examples
    --------
    >>> from sciatica_kit import build_programme
    >>> text = handout_html(build_programme(["sciatica"], patient="DEMO-001"), pictures=False, settings={})
    >>> text.index("Stop and get help") < text.index('class="exercise"')
    True
    """
    if paper not in PAPER_SIZES:
        raise ValueError(f"Unknown paper size '{paper}'. Valid sizes: {', '.join(PAPER_SIZES)}")
    from sciatica_kit.catalog import load_catalog

    profile = clinic_profile(prog, clinic, settings=settings)
    cat = prog.catalog or load_catalog()
    words = load_wording(cat)
    blocked = bool(getattr(prog, "blocked", False))
    title = "Referral note" if blocked else "Your home exercise programme"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}{' - ' + _e(prog.patient) if prog.patient else ''}</title>",
        f"<style>{_styles(paper=paper, patient=prog.patient or '', large_print=large_print, compact=compact)}</style>",
        "</head><body>",
        *_header(prog, profile, title),
    ]
    if blocked:
        parts += _referral_note(prog)
        parts.append(f'<section class="safety"><b>Safety</b><p>{_e(words.safety_note)}</p></section>')
        parts.append(f'<p class="disclaimer">{_e(words.disclaimer)}</p></body></html>')
        return "\n".join(parts)
    parts += _stop_box(profile, words)
    ex = cat.records["exercises"]
    for n, row in enumerate(prog.table.to_dict("records"), start=1):
        parts += _exercise(n, row, ex[row["exercise_id"]], cat, pictures)
    if prog.advice:
        parts.append('<section class="advice"><h2>Looking after your back</h2><ul>')
        parts.extend(f"<li>{_e(a['text'])}</li>" for a in prog.advice)
        parts.append("</ul></section>")
    parts.append(
        f'<section class="safety"><b>Safety</b><p>{_e(words.safety_note)}</p>'
        f'<p class="disclaimer">{_e(words.disclaimer)}</p></section>'
    )
    parts.append("</body></html>")
    return "\n".join(parts)


# --------------------------------------------------------------------------- writers


def write_html(prog: ProgrammeView, path=None, **kw) -> str | Path:
    """The printable HTML handout; returns the text when ``path`` is None (see :func:`handout_html`).

    Parameters
    ----------
    prog : Programme
        A built programme.
    path : str or path-like, optional
        The file to write; when None the HTML is returned.
    **kw
        Layout options of :func:`handout_html` (paper, pictures, large_print, compact, clinic, settings).

    Returns
    -------
    str or pathlib.Path
        The HTML, or the file written.
    """
    text = handout_html(prog, **kw)
    if path is None:
        return text
    path = Path(path)
    with private_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _weasyprint():
    try:
        import weasyprint
    except (ImportError, OSError) as err:  # OSError: WeasyPrint is there but Pango is not
        raise HandoutError(
            f"PDF handouts need WeasyPrint and the Pango text library, which are not installed here ({err}). "
            f"Install them: pip install weasyprint; {_INSTALL}. The HTML handout prints from any browser meanwhile."
        ) from None
    return weasyprint


_IMAGE_CACHE_LIMIT = 400  # entries: about three per distinct picture (image, its data, its PDF stream)
_image_cache: dict | None = None


def _images(weasyprint) -> dict:
    """WeasyPrint's decoded raster images, kept from one handout to the next.

    The pictures are the same from one handout to the next (files named after their
    content, see :func:`_pictures_as_files`), so WeasyPrint need not decode them again,
    nor encode them again for the PDF (:func:`_encode_once`).  SVG images are not kept:
    they are laid out with the fonts of their own document.
    """
    global _image_cache
    if _image_cache is None or len(_image_cache) > _IMAGE_CACHE_LIMIT:
        svg = weasyprint.images.SVGImage

        class _RasterImages(dict):
            def __setitem__(self, key, value):
                if not isinstance(value, svg):
                    super().__setitem__(key, _encode_once(value))

        _image_cache = _RasterImages()
    return _image_cache


def _encode_once(image):
    """Let a kept raster picture give its PDF image stream from the first encoding.

    WeasyPrint re-encodes a picture's pixels for every PDF it writes (about 10 ms a
    picture).  A picture kept in :func:`_images` is the same for every handout, so its
    stream is made once and copied afterwards.  A stream with a transparency mask or
    resources of its own is made afresh each time: the PDF writer rewrites those entries.
    """
    make = getattr(image, "get_x_object", None)
    if make is None or getattr(make, "encodes_once", False):
        return image  # cached data, or a WeasyPrint without this method: left as it is
    kept: dict = {}

    def get_x_object(*args):
        if args not in kept:
            stream = make(*args)
            if "SMask" in stream.extra or "Resources" in stream.extra:
                return stream
            kept[args] = stream
        stream = kept[args]
        return type(stream)(list(stream.stream), type(stream.extra)(stream.extra), stream.compress)

    get_x_object.encodes_once = True
    image.get_x_object = get_x_object
    return image


_DATA_PICTURE = re.compile(r'src="data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)"')
_picture_files: dict[str, Path] = {}  # hash of a picture's data -> its file
_picture_dir: Path | None = None


def _pictures_as_files(text: str) -> str:
    """Handout HTML with each embedded PNG or JPEG picture swapped for a private file of the same bytes.

    The HTML handout carries its pictures inside (data URIs, about 30 kB each); the PDF
    needs them only as images.  WeasyPrint's HTML parser reads a data URI character by
    character, and keeps decoded images by their address: a short, stable address per
    picture saves the reading and lets every later handout find the decoded picture.
    The files sit in a folder only this user can read, removed when the process ends.
    """

    def as_file(match: re.Match) -> str:
        kind, data = match.group(1), match.group(2)
        key = hashlib.sha256(data.encode("ascii")).hexdigest()
        path = _picture_files.get(key)
        if path is None or not path.exists():  # new, or removed meanwhile (a cleaner of temporary files)
            global _picture_dir
            if _picture_dir is None or not _picture_dir.exists():
                _picture_dir = Path(tempfile.mkdtemp(prefix="sciatica-kit-pictures-"))  # mode 0700
                atexit.register(shutil.rmtree, _picture_dir, True)
            path = _picture_dir / f"{key}.{'png' if kind == 'png' else 'jpg'}"
            with private_path(path) as tmp:
                tmp.write_bytes(base64.b64decode(data))
            _picture_files[key] = path
        return f'src="{path.as_uri()}"'

    return _DATA_PICTURE.sub(as_file, text)


def html_to_pdf(text: str, path, *, title: str = "Home exercise programme") -> Path:
    """Lay out handout HTML as a tagged PDF (WeasyPrint) and write it privately and atomically.

    Parameters
    ----------
    text : str
        A handout's HTML.
    path : str or path-like
        The file to write (owner-readable only, written atomically).
    title : str, optional
        The PDF's title.

    Returns
    -------
    pathlib.Path
        The PDF written.
    """
    weasyprint = _weasyprint()
    path = Path(path)
    with _PDF_LOCK:  # one layout at a time: an app's warm-up may be laying one out in its thread
        document = weasyprint.HTML(string=_pictures_as_files(text), base_url=None).render(cache=_images(weasyprint))
        document.metadata.title = title
        with private_path(path) as tmp:
            document.write_pdf(str(tmp), pdf_tags=True)
    return path


_PDF_LOCK = threading.Lock()


def write_pdf(prog: ProgrammeView, path, **kw) -> Path:
    """The PDF handout: the same layout as :func:`write_html`, laid out by WeasyPrint.

    Keyword arguments are those of :func:`handout_html`.

    Parameters
    ----------
    prog : Programme
        A built programme.
    path : str or path-like
        The file to write (owner-readable only, written atomically).
    **kw
        Layout options of :func:`handout_html`.

    Returns
    -------
    pathlib.Path
        The PDF written.
    """
    text = handout_html(prog, **kw)
    title = "Referral note" if getattr(prog, "blocked", False) else "Home exercise programme"
    return html_to_pdf(text, path, title=title)


@shared_docs
def contact_sheet(path, *, catalog=None, paper: str = "A4") -> Path:
    """Every exercise picture with its id and name, for review, as a PDF contact sheet.

    Parameters
    ----------
    path : str or path-like
        The PDF to write.
    {catalog}
    paper : str, optional
        ``A4`` or ``Letter``.

    Returns
    -------
    pathlib.Path
        The PDF written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = contact_sheet(pathlib.Path(tempfile.mkdtemp()) / "sheet.pdf")
    >>> out.read_bytes()[:4]
    b'%PDF'
    """
    from sciatica_kit.catalog import load_catalog

    if paper not in PAPER_SIZES:
        raise ValueError(f"Unknown paper size '{paper}'. Valid sizes: {', '.join(PAPER_SIZES)}")
    cat = catalog if catalog is not None else load_catalog()
    width, height = PAPER_SIZES[paper]
    cells = []
    for ex_id, rec in cat.records["exercises"].items():
        cells.append(
            f'<figure>{_picture(ex_id, rec["name"], cat)}<figcaption><b dir="auto">{_e(rec["name"])}</b>'
            f"<br><code>{_e(ex_id)}</code></figcaption></figure>"
        )
    text = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Exercise pictures</title><style>'
        f"@page {{ size: {width} {height}; margin: 10mm; @bottom-right {{ content: 'page ' counter(page) ' of ' "
        "counter(pages); font-size: 8pt; } }"
        'html { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; }'
        ".grid { display: grid; grid-template-columns: 1fr 1fr; gap: 4mm; }"
        "figure { margin: 0; border: 1px solid #bbb; padding: 2mm; break-inside: avoid; }"
        "figure img { width: 100%; height: auto; display: block; }"
        "</style></head><body><h1>Exercise pictures</h1>"
        f'<div class="grid">{"".join(cells)}</div></body></html>'
    )
    return html_to_pdf(text, path, title="Exercise pictures")
