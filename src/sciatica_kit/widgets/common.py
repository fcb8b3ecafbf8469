"""Small pieces shared by the widget apps: messages, downloads, figures as images."""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import ipywidgets as w
import pandas as pd

__all__ = ["APP_STYLE", "Message", "StoreBacked", "download_link", "exports_dir", "figure_png", "problems_html", "section_title"]

_APPS = (".sk-programme-builder", ".sk-progress-logger", ".sk-clinic-overview")


def _each(selector: str) -> str:
    return ", ".join(f"{app} {selector}" for app in _APPS)


# Prepended to each app's heading.  ipywidgets gives HTML widgets its 28px row height as
# line-height (tables and wrapped hints become double-spaced) and buttons a fixed width
# that cuts labels ("Build program..."); these rules, scoped to the apps, fix both.
APP_STYLE = (
    "<style>"
    f"{_each('.widget-html-content')} {{line-height: 1.45}}"
    f"{_each('.widget-button')} {{width: fit-content; min-width: 110px; flex-shrink: 0}}"
    f"{_each('.widget-hbox')} {{flex-wrap: wrap}}"
    ".sk-problems th, .sk-problems td {padding: 2px 8px; text-align: left; vertical-align: top}"
    ".sk-clinic-overview table {font-size: 92%}"
    ".sk-clinic-overview td, .sk-clinic-overview th {padding: 2px 4px}"
    ".sk-clinic-overview td:nth-child(1), .sk-clinic-overview td:nth-child(3) {white-space: nowrap}"
    ".sk-programme-builder .widget-hbox > .widget-checkbox {margin-right: 18px}"
    "</style>"
)

_COLOURS = {
    "info": ("#0b3d91", "#e8f0fe"),
    "success": ("#1b5e20", "#e8f5e9"),
    "warning": ("#7a4f01", "#fff4e5"),
    "error": ("#8b0015", "#fdecea"),
}


class StoreBacked:
    """The store an app works on: given, or the default one opened on first use."""

    _store = None

    @property
    def store(self):
        if self._store is None:
            from sciatica_kit.store import Store

            self._store = Store()
        return self._store

    def _patient_ids(self) -> list[str]:
        """Patients in the store; an unreadable store is reported in the app and gives no patients."""
        try:
            return list(self.store.patients()["patient_id"])
        except Exception as exc:  # no store yet, or it is damaged: the app still opens
            message = getattr(self, "message", None)
            if message is not None:
                message.show(f"The store could not be opened: {exc}", "error")
            return []


def exports_dir() -> Path:
    """Where exports are written: ``$SCIATICA_KIT_EXPORTS`` or ``./exports`` beside the notebook."""
    return Path(os.environ.get("SCIATICA_KIT_EXPORTS") or "exports")


def section_title(text: str, hint: str = "") -> w.HTML:
    sub = f'<div style="color:#555;font-size:90%">{html.escape(hint)}</div>' if hint else ""
    return w.HTML(f'<h3 style="margin:10px 0 2px">{html.escape(text)}</h3>{sub}')


class Message(w.HTML):
    """A coloured message line inside an app (errors appear here, never as tracebacks)."""

    def show(self, text: str, kind: str = "info", *, raw_html: bool = False) -> None:
        fg, bg = _COLOURS[kind]
        body = text if raw_html else html.escape(text).replace("\n", "<br>")
        self.value = (
            f'<div class="sk-message sk-{kind}" role="{"alert" if kind == "error" else "status"}" '
            f'style="color:{fg};background:{bg};padding:6px 10px;border-radius:4px;margin:4px 0">{body}</div>'
        )
        self.kind = kind
        self.text = text

    def clear(self) -> None:
        self.value = ""
        self.kind = ""
        self.text = ""


def download_link(path: Path, label: str | None = None) -> str:
    """An HTML link that offers the file for download (works in JupyterLab and Voila)."""
    data = Path(path).read_bytes()
    mime = {
        ".csv": "text/csv",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".pdf": "application/pdf",
        ".html": "text/html",
        ".json": "application/fhir+json",
    }.get(Path(path).suffix.lower(), "application/octet-stream")
    b64 = base64.b64encode(data).decode("ascii")
    name = html.escape(Path(path).name)
    return (
        f'<a class="sk-download" download="{name}" href="data:{mime};base64,{b64}" '
        f'style="font-weight:bold">{html.escape(label or "Download " + Path(path).name)}</a>'
        f' <span style="color:#555">(saved as {html.escape(str(path))})</span>'
    )


def figure_png(fig, dpi: int = 90) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def problems_html(table: pd.DataFrame, limit: int = 200) -> str:
    """Every validation problem as a readable table (row, column, problem, fix)."""
    rows = []
    for r in table.head(limit).itertuples(index=False):
        row = "" if pd.isna(r.row) else str(int(r.row))
        rows.append(
            "<tr>" + "".join(f'<td style="padding:2px 8px;vertical-align:top">{html.escape(str(v))}</td>'
                             for v in (row, r.column or "", r.problem, r.fix)) + "</tr>"
        )
    more = f"<p>... and {len(table) - limit} more.</p>" if len(table) > limit else ""
    return (
        '<table class="sk-problems" style="border-collapse:collapse;font-size:90%">'
        '<thead><tr><th align="left">Row</th><th align="left">Column</th><th align="left">Problem</th>'
        '<th align="left">How to fix it</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>" + more
    )
