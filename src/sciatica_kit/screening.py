"""Red-flag screening: ticked red flags -> a :class:`Referral` (urgency, whom, why).

A red flag always blocks the exercise programme.  When several are ticked the
referral takes the most urgent one and lists them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sciatica_kit.catalog import URGENCIES, Catalog, load_catalog

__all__ = ["Referral", "screen"]

_URGENCY_WORDS = {
    "emergency": "EMERGENCY - refer now, the same day",
    "urgent": "URGENT - refer the same day or within days",
    "soon": "SOON - routine referral, within weeks",
}


@dataclass(frozen=True)
class Referral:
    """Where a patient with red flags must go, and how fast.

    Attributes
    ----------
    urgency : {"emergency", "urgent", "soon"}
        The most urgent level among the ticked red flags.
    text : str
        A plain message for the clinician: whom to refer to, how urgently, why.
    refer_to : str
        Whom to refer to for the most urgent red flag.
    red_flags : tuple of str
        The ids of every ticked red flag, most urgent first.
    """

    urgency: str
    text: str
    refer_to: str
    red_flags: tuple[str, ...] = field(default_factory=tuple)
    details: tuple[dict, ...] = field(default_factory=tuple, repr=False)

    @property
    def headline(self) -> str:
        return _URGENCY_WORDS[self.urgency]

    def _repr_html_(self) -> str:
        from html import escape

        items = "".join(
            f"<li><b>{escape(d['name'])}</b> ({escape(d['urgency'])}): refer to {escape(d['refer_to'])}. "
            f"{escape(d['action'])}</li>"
            for d in self.details
        )
        return (
            f'<div class="sk-referral sk-{escape(self.urgency)}" role="alert">'
            f"<b>{escape(self.headline)}</b><p>Exercise programme blocked: refer to "
            f"{escape(self.refer_to)}.</p><ul>{items}</ul></div>"
        )


def screen(red_flags: Iterable[str], *, catalog: Catalog | None = None) -> Referral | None:
    """Turn ticked red flags into a referral, or None when nothing is ticked.

    Parameters
    ----------
    red_flags
        Red-flag ids (see ``load_catalog().red_flags``).
    catalog
        Catalogue to use (default: the packaged one).

    Raises
    ------
    ValueError
        For an unknown red-flag id, listing the valid ids and the closest match.

    Examples
    --------
    >>> screen(["cauda_equina"]).urgency
    'emergency'
    >>> screen([]) is None
    True
    """
    cat = catalog or load_catalog()
    ids = list(dict.fromkeys(cat.check_ids("red flag", red_flags)))
    if not ids:
        return None
    recs = sorted((cat.records["red_flags"][i] for i in ids), key=lambda r: URGENCIES.index(r["urgency"]))
    top = recs[0]
    lines = [
        f"{_URGENCY_WORDS[top['urgency']]}. Do not start the exercise programme: refer to {top['refer_to']}.",
    ]
    for r in recs:
        lines.append(f"{r['name']} ({r['urgency']}): refer to {r['refer_to']}. {r['action']}")
    return Referral(
        urgency=top["urgency"],
        text="\n".join(lines),
        refer_to=top["refer_to"],
        red_flags=tuple(r["id"] for r in recs),
        details=tuple(recs),
    )
