"""Red-flag screening: ticked red flags -> a :class:`Referral` (urgency, whom, why), and the recorded screen.

Everything clinical here is data (``data/catalog/red_flags.toml``):

* urgency tiers, most urgent first: ``emergency`` (now: emergency department or
  the on-call spinal team), ``same_day``, ``urgent`` (within about two weeks,
  e.g. a suspected-cancer pathway) and ``routine``;
* each flag's tier, its precedence inside the tier, whom to refer to, its own
  action, and whether it blocks the exercise programme (suspected inflammatory
  back pain refers to rheumatology *alongside* exercise and does not block);
* combinations that mean more together than apart (a history of cancer with a
  progressive deficit, new thoracic pain or sphincter change is suspected
  metastatic spinal cord compression: an emergency, NICE NG234).

The most urgent tier wins, inside a tier the precedence from data decides, and
the result never depends on the order the boxes were ticked.  Every ticked flag
is still listed with its own action.

A :class:`Screen` records the screen itself: each flag present, absent or not
asked, who screened and when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sciatica_kit._docs import shared_docs
from sciatica_kit.catalog import Catalog, load_catalog

__all__ = ["SCREEN_NOT_RECORDED", "SCREEN_STATUSES", "FlagAction", "Referral", "Screen", "record_screen", "referral_rows", "screen"]

SCREEN_STATUSES = ("present", "absent", "not asked")
SCREEN_NOT_RECORDED = "Red-flag screen not recorded"


@dataclass(frozen=True)
class FlagAction:
    """One ticked red flag (or a combination of them) with its own action."""

    id: str
    name: str
    urgency: str
    refer_to: str
    action: str
    blocks: bool
    sources: tuple[str, ...] = ()
    combination_of: tuple[str, ...] = ()

    def line(self, urgency_names: Mapping[str, str]) -> str:
        """The flag as one line for a referral: name, how urgent, whom to refer to, what to do.

        Parameters
        ----------
        urgency_names : mapping of str to str
            Readable names of the urgency tiers (``"emergency"`` -> ``"Emergency: same day"``).

        Returns
        -------
        str
            The line.
        """
        how = urgency_names.get(self.urgency, self.urgency)
        extra = "" if self.blocks else " Does not stop the exercise programme."
        return f"{self.name} ({how}): refer to {self.refer_to}. {self.action}{extra}"


@dataclass(frozen=True)
class Referral:
    """Where a patient with red flags must go, and how fast.

    Attributes
    ----------
    urgency : str
        The tier id of the leading flag: ``emergency``, ``same_day``, ``urgent`` or ``routine``.
    headline : str
        The tier's headline, e.g. "EMERGENCY - refer now: ...".
    refer_to : str
        Whom to refer to for the leading flag (or combination).
    text : str
        A plain message for the clinician: the headline, whom to refer to, then
        every flag with its own action.
    blocking : bool
        True when any ticked flag stops the exercise programme.
    flags : tuple of FlagAction
        Every ticked flag (and any combination it makes), leading one first.
    red_flags : tuple of str
        The ids of every ticked red flag, in the same order.
    """

    urgency: str
    headline: str
    refer_to: str
    text: str
    blocking: bool
    flags: tuple[FlagAction, ...] = ()
    red_flags: tuple[str, ...] = ()

    @property
    def details(self) -> tuple[dict, ...]:
        """The flags as plain dicts (name, urgency, refer_to, action, blocks)."""
        return tuple(
            {"id": f.id, "name": f.name, "urgency": f.urgency, "refer_to": f.refer_to, "action": f.action, "blocks": f.blocks}
            for f in self.flags
        )

    def to_dict(self) -> dict:
        """The referral as plain data (JSON-ready), as stored with a programme.

        Returns
        -------
        dict
            Urgency, headline, whom to refer to, text, whether it blocks, and every flag.
        """
        return {
            "urgency": self.urgency, "headline": self.headline, "refer_to": self.refer_to, "text": self.text,
            "blocking": self.blocking, "red_flags": list(self.red_flags),
            "flags": [{**f.__dict__, "sources": list(f.sources), "combination_of": list(f.combination_of)} for f in self.flags],
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Referral:
        flags = tuple(
            FlagAction(**{**f, "sources": tuple(f.get("sources", ())), "combination_of": tuple(f.get("combination_of", ()))})
            for f in record.get("flags", ())
        )
        return cls(
            urgency=record["urgency"], headline=record["headline"], refer_to=record["refer_to"], text=record["text"],
            blocking=bool(record["blocking"]), flags=flags, red_flags=tuple(record.get("red_flags", ())),
        )

    def _repr_html_(self) -> str:
        from html import escape

        items = "".join(
            f"<li><b>{escape(f.name)}</b> ({escape(f.urgency.replace('_', ' '))}): refer to {escape(f.refer_to)}. "
            f"{escape(f.action)}</li>"
            for f in self.flags
        )
        lead = (
            f"Exercise programme blocked: refer to {escape(self.refer_to)}."
            if self.blocking
            else f"Refer to {escape(self.refer_to)} alongside the exercise programme."
        )
        return (
            f'<div class="sk-referral sk-{escape(self.urgency)}" role="alert">'
            f"<b>{escape(self.headline)}</b><p>{lead}</p><ul>{items}</ul></div>"
        )


def referral_rows(referral: Referral, *, red_flag_names: Iterable[str] | None = None,
                  screen_status: str | None = None) -> list[tuple[str, str]]:
    """The referral as (item, value) rows: the one wording of a referral everywhere it is shown.

    The builder's alert, the referral note that replaces a blocked programme's handout, its CSV
    and its workbook all show these rows, each in its own medium.

    Parameters
    ----------
    referral : Referral
        The referral (see :func:`screen`).
    red_flag_names : iterable of str, optional
        Names of the flags ticked; the row is left out when None.
    screen_status : str, optional
        The recorded screen in one line (see :meth:`Screen.summary`); left out when None.

    Returns
    -------
    list of tuple of str
        ``How urgently``, ``Refer to``, ``Exercise programme`` (whether it may start), ``Why``
        (one line per flag), then the optional rows.

    Examples
    --------
    >>> [item for item, _ in referral_rows(screen(["cauda_equina"]))]
    ['How urgently', 'Refer to', 'Exercise programme', 'Why']
    """
    why = "\n".join(line for line in referral.text.split("\n")[1:] if line.strip()) or referral.text
    programme = ("Do not start it: refer first" if referral.blocking
                 else "May go ahead alongside the referral")
    rows = [("How urgently", referral.headline or referral.urgency), ("Refer to", referral.refer_to),
            ("Exercise programme", programme), ("Why", why)]
    if red_flag_names is not None:
        rows.append(("Red flags ticked", "\n".join(red_flag_names) or "none listed"))
    if screen_status is not None:
        rows.append(("Red-flag screen", screen_status))
    return rows


@shared_docs
def screen(red_flags: Iterable[str], *, catalog: Catalog | None = None) -> Referral | None:
    """Turn ticked red flags into a referral, or None when nothing is ticked.

    Parameters
    ----------
    red_flags
        Red-flag ids (see ``load_catalog().red_flags``), in any order.
    {catalog}

    Returns
    -------
    Referral or None
        The referral of the most urgent flag (with every flag ticked), or None when nothing is ticked.

    Raises
    ------
    ValueError
        For an unknown red-flag id, listing the valid ids and the closest match.

    Examples
    --------
    >>> screen(["cauda_equina"]).urgency
    'emergency'
    >>> screen(["progressive_neuro_deficit", "cancer_history"]).flags[0].name
    'Suspected metastatic spinal cord compression'
    >>> screen(["inflammatory_suspected"]).blocking
    False
    >>> screen([]) is None
    True
    """
    cat = catalog or load_catalog()
    ids = sorted(set(cat.check_ids("red flag", _as_list(red_flags))))
    if not ids:
        return None
    rec = cat.records["red_flags"]
    actions = [
        FlagAction(r["id"], r["name"], r["urgency"], r["refer_to"], r["action"], bool(r["blocks"]), tuple(r["sources"]))
        for r in (rec[i] for i in ids)
    ]
    precedence = {r["id"]: r["precedence"] for r in (rec[i] for i in ids)}
    ticked = set(ids)
    for c in cat.records["combinations"].values():
        if set(c["all_of"]) <= ticked and (not c["any_of"] or ticked & set(c["any_of"])):
            members = tuple(sorted((set(c["all_of"]) | set(c["any_of"])) & ticked))
            actions.append(
                FlagAction(c["id"], c["name"], c["urgency"], c["refer_to"], c["action"], bool(c["blocks"]),
                           tuple(c["sources"]), members)
            )
            precedence[c["id"]] = c["precedence"]
    actions.sort(key=lambda a: (cat.urgency_rank(a.urgency), precedence[a.id], a.id))
    top = actions[0]
    tiers = cat.records["urgency_tiers"]
    blocking = any(a.blocks for a in actions)
    headline = tiers[top.urgency]["headline"]
    if blocking:
        lead = f"{headline}. Do not start the exercise programme: refer to {top.refer_to}."
    else:
        lead = f"{headline}. Refer to {top.refer_to} alongside the exercise programme."
    names = {k: v["name"] for k, v in tiers.items()}
    return Referral(
        urgency=top.urgency,
        headline=headline,
        refer_to=top.refer_to,
        text="\n".join([lead, *(a.line(names) for a in actions)]),
        blocking=blocking,
        flags=tuple(actions),
        red_flags=tuple(a.id for a in actions if not a.combination_of),
    )


def _as_list(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise ValueError(f"Give red flags as a list of ids such as ['cauda_equina'], not {value!r:.80}") from None


# --------------------------------------------------------------------------- the recorded screen


@dataclass(frozen=True)
class Screen:
    """A recorded red-flag screen.

    Attributes
    ----------
    status : dict
        Every red-flag id of the catalogue -> ``"present"``, ``"absent"`` or ``"not asked"``.
    screened_by : str
        Who screened (a clinician's name or initials).
    screened_at : datetime.datetime
        When.
    """

    status: Mapping[str, str]
    screened_by: str
    screened_at: dt.datetime
    notes: str = field(default="")

    @property
    def present(self) -> tuple[str, ...]:
        """Ids of the flags found present."""
        return tuple(k for k, v in self.status.items() if v == "present")

    @property
    def not_asked(self) -> tuple[str, ...]:
        return tuple(k for k, v in self.status.items() if v == "not asked")

    @shared_docs
    def summary(self, catalog: Catalog | None = None) -> str:
        """One line for a clinician's export: who, when, what was present and not asked.

        Parameters
        ----------
        {catalog}

        Returns
        -------
        str
            The line: who screened, when, the flags present and those not asked.
        """
        cat = catalog or load_catalog()
        names = {k: v["name"] for k, v in cat.records["red_flags"].items()}

        def listed(ids):
            return ", ".join(names.get(i, i) for i in ids) or "none"

        return (
            f"Red-flag screen by {self.screened_by} on {self.screened_at:%Y-%m-%d %H:%M}: present: {listed(self.present)}; "
            f"not asked: {listed(self.not_asked)}; every other flag absent."
        )

    def to_dict(self) -> dict:
        """The screen as plain data (JSON-ready).

        Returns
        -------
        dict
            Each flag's status, who screened, when, and the notes.
        """
        return {"status": dict(self.status), "screened_by": self.screened_by,
                "screened_at": self.screened_at.isoformat(timespec="minutes"), "notes": self.notes}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Screen:
        return cls(status=dict(record["status"]), screened_by=str(record["screened_by"]),
                   screened_at=dt.datetime.fromisoformat(str(record["screened_at"])), notes=str(record.get("notes", "")))


@shared_docs
def record_screen(
    present: Iterable[str] = (),
    *,
    absent: Iterable[str] | str = (),
    screened_by: str,
    screened_at: dt.datetime | str | None = None,
    notes: str = "",
    catalog: Catalog | None = None,
) -> Screen:
    """Record a red-flag screen.

    Parameters
    ----------
    present
        Ids of the flags found present.
    absent
        Ids of the flags asked about and found absent, or ``"all others"`` when
        every other flag was asked about and is absent.  Flags in neither list
        are recorded as "not asked".
    screened_by
        Who screened; required.
    screened_at
        When (default: now).
    notes : str, optional
        The clinician's notes on the screen (kept with it, never printed for the patient).
    {catalog}

    Returns
    -------
    Screen
        The recorded screen.

    Raises
    ------
    ValueError
        For an unknown id, a flag both present and absent, or no ``screened_by``.

    Examples
    --------
    >>> s = record_screen(["inflammatory_suspected"], absent="all others", screened_by="AK")
    >>> s.status["inflammatory_suspected"], s.status["cauda_equina"]
    ('present', 'absent')
    """
    cat = catalog or load_catalog()
    if not isinstance(screened_by, str) or not screened_by.strip():
        raise ValueError("Say who did the red-flag screen (screened_by), e.g. the clinician's initials.")
    flags = list(cat.records["red_flags"])
    pres = set(cat.check_ids("red flag", _as_list(present)))
    if isinstance(absent, str) and absent.strip().lower() == "all others":
        abs_ = set(flags) - pres
    else:
        abs_ = set(cat.check_ids("red flag", _as_list(absent)))
    both = pres & abs_
    if both:
        raise ValueError(f"Red flag(s) recorded as both present and absent: {', '.join(sorted(both))}")
    if screened_at is None:
        when = dt.datetime.now().replace(second=0, microsecond=0)
    elif isinstance(screened_at, str):
        when = dt.datetime.fromisoformat(screened_at)
    else:
        when = screened_at
    status = {f: "present" if f in pres else "absent" if f in abs_ else "not asked" for f in flags}
    return Screen(status=status, screened_by=screened_by.strip(), screened_at=when, notes=notes)
