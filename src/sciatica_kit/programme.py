"""Build a safe, explained home-exercise programme from conditions and findings.

Rules (all driven by the catalogue data):

1. Red flags refer (:mod:`sciatica_kit.screening`).  A *blocking* flag stops the
   programme (empty table and a referral); a flag that does not block (suspected
   inflammatory back pain) refers alongside the programme.
2. Exercises indicated by the chosen conditions, findings and phase are merged
   without duplicates; each row's ``reason`` names every condition or finding
   that put it there, with readable references.
3. Exclusions (condition, finding, population, phase) win over indications;
   every excluded exercise is listed in ``excluded`` with its reason.  An
   exclusion that a finding lifts (stenosis + extension preference) becomes a
   caution.
4. Directional exercises (press-ups, repeated extension or flexion) enter only
   with an assessed directional preference in their direction; otherwise they
   are kept out: "assess directional preference first".  Both preferences at
   once are refused.
5. Nerve load: in the acute phase tensioner nerve glides are swapped for their
   slider; at most one tensioner per nerve; severe nerve damage (a marked but
   stable deficit) drops every tensioner and glide.
6. Doses reach the patient as the sources word them: ranges stay ranges,
   "up to" and "at least" survive, nothing is interpolated.  The numeric dose
   columns hold the lowest source figure (NA where no source gives one) in
   every phase; the phase's dose guidance is for the clinician.  A clinic's own
   default doses fill fields no source gives, labelled "clinic default".
7. A clinic-settable ceiling (``[programme] max_exercises``, default 8) keeps
   the exercises with the most indications; the rest are kept out for size.
8. Clinician overrides (include, exclude, dose edits) are recorded in the
   row's reason and in ``overrides``; forcing an excluded exercise records what
   it overrides.
9. A programme remembers what was issued: :meth:`Programme.to_dict` is a
   snapshot that :meth:`Programme.from_dict` gives back unchanged, even after
   the catalogue changes; :meth:`Programme.rebuild` rebuilds under today's
   catalogue and :func:`diff_programmes` says what changed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from sciatica_kit._docs import shared_docs
from sciatica_kit.catalog import (
    DOSE_FIELDS,
    PHASE_IDS,
    WHOLE_DOSE_FIELDS,
    Catalog,
    load_catalog,
    unknown_id_error,
)
from sciatica_kit.screening import SCREEN_NOT_RECORDED, Referral, Screen, screen
from sciatica_kit.wording import load_wording

__all__ = [
    "DISCLAIMER",
    "SAFETY_NOTE",
    "TABLE_COLUMNS",
    "DEFAULT_MAX_EXERCISES",
    "Programme",
    "ProgrammeRequest",
    "build_programme",
    "diff_programmes",
    "dose_in_words",
]

# The packaged wording (data/catalog/wording.toml), under the names notebooks and tests use;
# renderers read the wording of the catalogue in use (sciatica_kit.wording.load_wording).
DISCLAIMER = load_wording().disclaimer
SAFETY_NOTE = load_wording().safety_note
NO_DOSE = load_wording().no_dose

DEFAULT_MAX_EXERCISES = 8
START_BACK_RISKS = ("low", "medium", "high")
SNAPSHOT_VERSION = 3  # 3: dose edits carry the clinician's reason (dose_reasons); 2 and older read the same way
CLINIC_DEFAULT = " (clinic default)"
MAX_DOSE = 10_000  # no dose field reaches this; larger numbers are typing slips (and overflow a table column)
TABLE_COLUMNS = (
    "exercise_id",
    "name",
    "category",
    *DOSE_FIELDS,
    "each_side",
    "dose",
    "reason",
    "indicated_by",
    "cautions",
    "patient_cautions",
    "stop_if",
    "dose_source",
    "sources",
)


# --------------------------------------------------------------------------- dose helpers

_DASH = "\u2013"  # en dash: "15-20" reads as "15 to 20"
KM_PER_MILE = 1.609344


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _as_range(value: Any) -> tuple[float, float] | None:
    """A number, a ``(low, high)`` range or None/NA -> a range or None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, tuple):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else (f, f)


def _range_words(rng: tuple[float, float]) -> str:
    low, high = rng
    if math.isnan(low):
        return f"up to {_fmt(high)}"
    if math.isinf(high):
        return f"at least {_fmt(low)}"
    return _fmt(low) if low == high else f"{_fmt(low)}{_DASH}{_fmt(high)}"


def _single(rng: tuple[float, float]) -> float | None:
    low, high = rng
    return low if low == high else None


def _times_a_day(rng: tuple[float, float]) -> str:
    low, high = rng
    words = {1: "once", 2: "twice"}
    one = _single(rng)
    if one is not None and one in words:
        return f"{words[int(one)]} a day"
    if math.isinf(high) and low in words:
        return f"at least {words[int(low)]} a day"
    return f"{_range_words(rng)} times a day"


def dose_in_words(row: Mapping[str, Any], *, labels: Mapping[str, str] | None = None, no_dose: str | None = None) -> str:
    """Say a dose in plain words for the patient, as the source words it.

    Each dose field may be a number (one figure, e.g. the clinician's pick) or a
    ``(low, high)`` range from the catalogue (``(nan, N)`` = "up to N",
    ``(N, inf)`` = "at least N").  Ranges stay ranges; nothing is interpolated.

    Parameters
    ----------
    row
        Dose fields (``hold_s``, ``reps`` ...) and ``each_side``.
    labels
        Optional ``{field: label}`` appended after that part, e.g. ``" (clinic default)"``.
    no_dose
        The text for a row without any dose (default: ``no_dose`` of the packaged ``wording.toml``).

    Returns
    -------
    str

    Examples
    --------
    >>> dose_in_words({"hold_s": 15, "reps": 2, "each_side": True, "times_per_day": 2})
    'Hold 15 seconds, repeat 2 times each side, twice a day'
    >>> dose_in_words({"hold_s": (15, 20), "reps": (2, 2), "each_side": True})
    'Hold 15\u201320 seconds, repeat 2 times each side'
    >>> dose_in_words({"reps": (15, 15), "times_per_day": (float("nan"), 5)})
    'Repeat 15 times, up to 5 times a day'
    >>> dose_in_words({"times_per_day": (2, float("inf"))})
    'At least twice a day'
    >>> dose_in_words({})
    'No dose set yet: set it with the patient'
    """
    labels = labels or {}

    def get(name):
        return _as_range(row.get(name))

    def lab(name):
        return labels.get(name, "")

    parts: list[str] = []
    if (h := get("hold_s")) is not None:
        plural = "" if _single(h) == 1 else "s"
        parts.append(f"Hold {_range_words(h)} second{plural}{lab('hold_s')}")
    if (d := get("distance_km")) is not None:
        miles = [v / KM_PER_MILE for v in d]
        shown = tuple(math.nan if math.isnan(v) else math.inf if math.isinf(v) else round(v * 2) / 2 for v in miles)
        verb = "Build up to " if math.isnan(d[0]) else ""
        text = _range_words(d).removeprefix("up to ")
        mtext = _range_words(shown).removeprefix("up to ")
        parts.append(f"{verb}{text} km ({mtext} mile{'s' if _single(shown) != 1 else ''}){lab('distance_km')}")
    if (m := get("minutes")) is not None:
        parts.append(f"{_range_words(m)} minute{'' if _single(m) == 1 else 's'}{lab('minutes')}")
    reps = get("reps")
    side = " each side" if row.get("each_side") is True else ""
    if reps is not None:
        verb = "repeat" if parts else "Repeat"
        parts.append(f"{verb} {_range_words(reps)} time{'' if _single(reps) == 1 else 's'}{side}{lab('reps')}")
    elif side and parts:
        parts[-1] += side
    if (s := get("sets")) is not None:
        parts.append(f"{_range_words(s)} set{'' if _single(s) == 1 else 's'}{lab('sets')}")
    if (t := get("times_per_day")) is not None:
        parts.append(_times_a_day(t) + lab("times_per_day"))
    if (w := get("days_per_week")) is not None:
        parts.append(("every day" if _single(w) == 7 else f"{_range_words(w)} days a week") + lab("days_per_week"))
    if not parts:
        return NO_DOSE if no_dose is None else no_dose
    text = ", ".join(parts)
    return text[0].upper() + text[1:]


def _start_figure(rng: tuple[float, float] | None) -> float | None:
    """The number for a numeric dose column: the lowest figure the source gives (its only one for "up to")."""
    if rng is None:
        return None
    low, high = rng
    return high if math.isnan(low) else low


# --------------------------------------------------------------------------- Programme


@dataclass(frozen=True)
class ProgrammeRequest:
    """What the clinician asked for: every input of :func:`build_programme`, held once.

    A :class:`Programme` keeps its request and what the rules made of it (table,
    excluded, referral ...).  The request is the only place the inputs live, so a
    rebuild, an edit and a saved record can never disagree about them.  Change it
    through the programme's methods (:meth:`Programme.add`, :meth:`Programme.remove`,
    :meth:`Programme.set_dose`, :meth:`Programme.with_details`,
    :meth:`Programme.rebuild`), which rebuild whatever depends on it.

    Attributes
    ----------
    red_flags : tuple of str
        The red flags ticked (the recorded screen's present flags are added on build).
    exclude, include : dict
        Clinician overrides: exercise id -> the clinician's reason.
    dose_edits : dict
        ``{exercise_id: {"reps": 12, ...}}`` doses picked by the clinician.
    dose_reasons : dict
        ``{exercise_id: reason}`` the clinician's reason for that exercise's dose edits.
    max_exercises : int or None
        The size ceiling asked for (None: the clinic setting).
    patient, clinic, created
        Details printed on exports; they do not change the table.
    catalog : Catalog or None
        The catalogue to build with (None: the packaged one); never saved.
    """

    conditions: tuple[str, ...] = ()
    phase: str = "subacute"
    red_flags: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()
    population: tuple[str, ...] = ()
    weeks_since_surgery: float | None = None
    start_back_risk: str | None = None
    screen: Screen | None = None
    exclude: Mapping[str, str] = field(default_factory=dict)
    include: Mapping[str, str] = field(default_factory=dict)
    dose_edits: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    dose_reasons: Mapping[str, str] = field(default_factory=dict)
    max_exercises: int | None = None
    patient: str | None = None
    clinic: str | None = None
    created: dt.date = field(default_factory=dt.date.today)
    catalog: Catalog | None = field(default=None, compare=False, repr=False)

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`build_programme` that build this request.

        Returns
        -------
        dict
            A fresh dict (changing it does not change the request).
        """
        return {
            "conditions": tuple(self.conditions),
            "phase": self.phase,
            "red_flags": tuple(self.red_flags),
            "findings": tuple(self.findings),
            "population": tuple(self.population),
            "weeks_since_surgery": self.weeks_since_surgery,
            "start_back_risk": self.start_back_risk,
            "screen": self.screen,
            "exclude": dict(self.exclude),
            "include": dict(self.include),
            "dose_edits": {k: dict(v) for k, v in self.dose_edits.items()},
            "dose_reasons": dict(self.dose_reasons),
            "max_exercises": self.max_exercises,
            "patient": self.patient,
            "clinic": self.clinic,
            "created": self.created,
            "catalog": self.catalog,
        }

    def to_dict(self) -> dict[str, Any]:
        """The request as JSON-able data (without the catalogue).

        Returns
        -------
        dict
        """
        return {
            "conditions": list(self.conditions),
            "phase": self.phase,
            "red_flags": list(self.red_flags),
            "findings": list(self.findings),
            "population": list(self.population),
            "weeks_since_surgery": self.weeks_since_surgery,
            "start_back_risk": self.start_back_risk,
            "screen": None if self.screen is None else self.screen.to_dict(),
            "exclude": dict(self.exclude),
            "include": dict(self.include),
            "dose_edits": {k: dict(v) for k, v in self.dose_edits.items()},
            "dose_reasons": dict(self.dose_reasons),
            "max_exercises": self.max_exercises,
            "patient": self.patient,
            "clinic": self.clinic,
            "created": self.created.isoformat(),
        }

    @classmethod
    @shared_docs
    def from_record(cls, record: Mapping[str, Any], catalog: Catalog | None = None) -> ProgrammeRequest:
        """The request held in a saved record (:meth:`Programme.to_dict`, any snapshot version).

        Parameters
        ----------
        record
            The saved record.
        {catalog}

        Returns
        -------
        ProgrammeRequest
        """
        scr = record.get("screen")
        created = record.get("created")
        return cls(
            conditions=tuple(record.get("conditions", ())),
            phase=record.get("phase", "subacute"),
            red_flags=tuple(record.get("red_flags", ())),
            findings=tuple(record.get("findings", ())),
            population=tuple(record.get("population", ())),
            weeks_since_surgery=record.get("weeks_since_surgery"),
            start_back_risk=record.get("start_back_risk"),
            screen=None if scr is None else Screen.from_dict(scr),
            exclude=dict(record.get("exclude", {})),
            include=dict(record.get("include", {})),
            dose_edits={k: dict(v) for k, v in record.get("dose_edits", {}).items()},
            dose_reasons=dict(record.get("dose_reasons", {})),
            max_exercises=record.get("max_exercises"),
            patient=record.get("patient"),
            clinic=record.get("clinic"),
            created=dt.date.fromisoformat(created) if created else dt.date.today(),
            catalog=catalog,
        )


DETAILS = ("patient", "clinic", "created")  # request fields that do not change the table


@dataclass(frozen=True, eq=False)
class Programme:
    """A home-exercise programme: the table, what was kept out and why, any referral.

    Build one with :func:`build_programme`.  Editing methods (:meth:`add`,
    :meth:`remove`, :meth:`set_dose`) return a new programme with the change
    recorded in the rows' reasons.

    The clinician's inputs live once, in :attr:`request`; ``conditions``, ``phase``,
    ``patient`` and the other inputs are read from it.  The remaining attributes are
    what the rules made of the request (or, for a saved snapshot, what was issued).
    Change a detail with :meth:`with_details`, never with ``dataclasses.replace``.

    Attributes
    ----------
    request : ProgrammeRequest
        The inputs.
    table, excluded : DataFrame
        The exercises, and what was kept out with its reason.
    referral : Referral or None
        The referral for the ticked red flags; it may sit on an unblocked
        programme (a flag that refers alongside exercise).
    overrides : tuple of dict
        The clinician's changes (added, forced, removed, dose), each with its reason.
    clinician_notes : tuple of str
        Programme-level notes for the clinician (phase dose guidance, populations,
        STarT Back, what the kit does not cover).  Never printed on a patient handout.
    kept_out_for_size : tuple of str
        Exercise ids kept out by the programme-size ceiling (each also in ``excluded``).
    max_exercises : int
        The programme-size ceiling that was applied.
    """

    table: pd.DataFrame
    excluded: pd.DataFrame
    referral: Referral | None
    request: ProgrammeRequest
    advice: tuple[dict, ...] = ()
    overrides: tuple[dict, ...] = ()
    clinician_notes: tuple[str, ...] = ()
    kept_out_for_size: tuple[str, ...] = ()
    max_exercises: int = DEFAULT_MAX_EXERCISES

    # ---- the inputs, read from the request ----------------------------------------
    conditions = property(lambda self: self.request.conditions, doc="Condition ids.")
    phase = property(lambda self: self.request.phase, doc="``acute``, ``subacute`` or ``chronic``.")
    findings = property(lambda self: self.request.findings, doc="Finding ids.")
    population = property(lambda self: self.request.population, doc="Population ids.")
    weeks_since_surgery = property(lambda self: self.request.weeks_since_surgery, doc="Weeks since spinal surgery.")
    start_back_risk = property(lambda self: self.request.start_back_risk, doc="STarT Back risk group, if known.")
    screen = property(lambda self: self.request.screen, doc="The recorded red-flag screen, or None.")
    patient = property(lambda self: self.request.patient, doc="Patient id printed on exports.")
    clinic = property(lambda self: self.request.clinic, doc="Clinic name printed on exports.")
    created = property(lambda self: self.request.created, doc="The programme's date.")
    catalog = property(lambda self: self.request.catalog, doc="The catalogue it was built with (None: packaged).")

    @property
    def red_flags(self) -> tuple[str, ...]:
        """Red flags present: those ticked and those the recorded screen found present."""
        present = self.screen.present if self.screen is not None else ()
        return tuple(dict.fromkeys([*self.request.red_flags, *present]))

    @property
    def inputs(self) -> dict[str, Any]:
        """The request as :func:`build_programme` keyword arguments (a fresh copy; read-only view)."""
        return self.request.arguments()

    @property
    def blocked(self) -> bool:
        """True when a blocking red flag stops the programme (the table is then empty)."""
        return self.referral is not None and self.referral.blocking

    @property
    def screen_status(self) -> str:
        """One line for clinician exports: the recorded screen, or "Red-flag screen not recorded"."""
        if self.screen is None:
            return SCREEN_NOT_RECORDED
        return self.screen.summary(self.catalog)

    @property
    def red_flag_names(self) -> list[str]:
        """The red flags behind the referral (combinations included) in clinic words, else the present flags' names."""
        if self.referral is not None and self.referral.flags:
            return [f.name for f in self.referral.flags]
        cat = self.catalog or load_catalog()
        return [cat.records["red_flags"].get(f, {}).get("name", f) for f in self.red_flags]

    @property
    def cautions(self) -> list[str]:
        """Every caution in the programme, once each, in table order."""
        seen: dict[str, None] = {}
        for items in self.table["cautions"]:
            for c in items.split("\n") if items else []:
                seen.setdefault(c, None)
        return list(seen)

    def exercise_name(self, exercise_id: str) -> str:
        """An exercise's name in clinic words (its id only when the catalogue no longer has it).

        Parameters
        ----------
        exercise_id
            An exercise id, in the programme or kept out of it.

        Returns
        -------
        str
        """
        for frame in (self.table, self.excluded):
            hit = frame.loc[frame["exercise_id"] == exercise_id, "name"] if "name" in frame else ()
            if len(hit):
                return str(hit.iloc[0])
        cat = self.catalog or load_catalog()
        return cat.records["exercises"].get(exercise_id, {}).get("name", exercise_id)

    # ---- editing ----------------------------------------------------------------
    def _rebuild(self, **changes) -> Programme:
        """Build again from the request with ``changes``; an edit is dated today."""
        args = {**self.request.arguments(), "created": None}
        args.update(changes)
        return build_programme(**args)

    def add(self, exercise_id: str, reason: str = "") -> Programme:
        """Return the programme with ``exercise_id`` added by the clinician (forced if excluded).

        Parameters
        ----------
        exercise_id
            The exercise to add.
        reason
            Why; recorded in the row's reason and in ``overrides``.

        Returns
        -------
        Programme
        """
        include = dict(self.request.include)
        include[exercise_id] = reason
        exclude = {k: v for k, v in self.request.exclude.items() if k != exercise_id}
        return self._rebuild(include=include, exclude=exclude)

    def remove(self, exercise_id: str, reason: str = "") -> Programme:
        """Return the programme with ``exercise_id`` removed by the clinician.

        Parameters
        ----------
        exercise_id
            The exercise to remove.
        reason
            Why; recorded in ``excluded`` and in ``overrides``.

        Returns
        -------
        Programme
        """
        exclude = dict(self.request.exclude)
        exclude[exercise_id] = reason
        include = {k: v for k, v in self.request.include.items() if k != exercise_id}
        return self._rebuild(include=include, exclude=exclude)

    def set_dose(self, exercise_id: str, reason: str = "", **dose: float | None) -> Programme:
        """Return the programme with a clinician-picked dose for one exercise.

        The change and the clinician's reason are recorded in the row's reason, in
        ``overrides`` and in :meth:`to_dict`.

        Parameters
        ----------
        exercise_id
            The exercise in the programme.
        reason
            Why the clinician changed the dose (kept with the edit; later reasons for the
            same exercise are added after earlier ones).
        **dose
            Dose fields, e.g. ``reps=10``; None clears the field.

        Returns
        -------
        Programme

        Examples
        --------
        >>> p = build_programme(["sciatica"]).set_dose("walking", reason="builds up slowly", days_per_week=5)
        >>> int(p.table.set_index("exercise_id").loc["walking", "days_per_week"])
        5
        >>> "builds up slowly" in p.table.set_index("exercise_id").loc["walking", "reason"]
        True
        """
        for key in dose:
            if key not in DOSE_FIELDS:
                raise ValueError(f"Unknown dose field '{key}'. Valid dose fields: {', '.join(DOSE_FIELDS)}")
        edits = {k: dict(v) for k, v in self.request.dose_edits.items()}
        edits.setdefault(exercise_id, {}).update(dose)
        reasons = dict(self.request.dose_reasons)
        reason = (reason or "").strip()
        if reason:
            earlier = [r for r in reasons.get(exercise_id, "").split("; ") if r]
            reasons[exercise_id] = "; ".join(dict.fromkeys([*earlier, reason]))
        return self._rebuild(dose_edits=edits, dose_reasons=reasons)

    def with_details(self, **details: Any) -> Programme:
        """Return a copy with ``patient``, ``clinic`` or ``created`` changed (the table does not depend on them).

        Parameters
        ----------
        **details
            ``patient`` (str or None), ``clinic`` (str or None), ``created`` (a date).

        Returns
        -------
        Programme

        Raises
        ------
        ValueError
            For any other name: an input that shapes the table needs a rebuild.

        Examples
        --------
        >>> p = build_programme(["sciatica"]).with_details(patient="P-0042")
        >>> p.patient, p.rebuild().patient, p.to_dict()["patient"]
        ('P-0042', 'P-0042', 'P-0042')
        """
        unknown = sorted(set(details) - set(DETAILS))
        if unknown:
            raise ValueError(
                f"with_details changes only {', '.join(DETAILS)}, not {', '.join(unknown)}; "
                "to change an input, build the programme again (or use add, remove, set_dose)."
            )
        if "created" in details and not isinstance(details["created"], dt.date):
            raise ValueError(f"created must be a date, not {details['created']!r:.40}")
        return replace(self, request=replace(self.request, **details))

    @shared_docs
    def rebuild(self, *, catalog: Catalog | None = None) -> Programme:
        """Rebuild from the same request under today's catalogue (explicit; see :func:`diff_programmes`).

        Parameters
        ----------
        {catalog}

        Returns
        -------
        Programme
            Same request (patient, clinic and date included), today's rules.

        Examples
        --------
        >>> p = build_programme(["sciatica"])
        >>> diff_programmes(p, p.rebuild())
        'No changes.'
        """
        return build_programme(**{**self.request.arguments(), "catalog": catalog})

    rebuild_under_current_catalogue = rebuild

    # ---- export -----------------------------------------------------------------
    # Thin façades over the spreadsheet and handout writers, which import this module only for type
    # hints: the calls go one way.  FHIR has no façade here, because sciatica_kit.fhir reads care plans
    # back into Programmes: sciatica_kit.fhir.careplan_bundle(prog) writes one.
    def to_frame(self) -> pd.DataFrame:
        """The table with list-like text joined for spreadsheets.

        Returns
        -------
        pandas.DataFrame
            See :func:`sciatica_kit.export.programme_frame`.
        """
        from sciatica_kit.export import programme_frame

        return programme_frame(self)

    def to_csv(self, path) -> Any:
        """Write the programme as CSV (see :func:`sciatica_kit.export.write_csv`).

        Parameters
        ----------
        path : str or path-like
            The file to write (owner-readable only, written atomically).

        Returns
        -------
        pathlib.Path
            The file written.
        """
        from sciatica_kit.export import write_csv

        return write_csv(self, path)

    def to_excel(self, path) -> Any:
        """Write a formatted workbook (see :func:`sciatica_kit.export.write_excel`).

        Parameters
        ----------
        path : str or path-like
            The file to write (owner-readable only, written atomically).

        Returns
        -------
        pathlib.Path
            The workbook written.
        """
        from sciatica_kit.export import write_excel

        return write_excel(self, path)

    def to_html(self, path=None, **kw) -> Any:
        """The printable HTML handout (see :func:`sciatica_kit.handout.write_html`).

        Parameters
        ----------
        path : str or path-like, optional
            The file to write; when None the HTML is returned.
        **kw
            Layout options (see :func:`sciatica_kit.handout.handout_html`).

        Returns
        -------
        str or pathlib.Path
            The HTML, or the file written.
        """
        from sciatica_kit.handout import write_html

        return write_html(self, path, **kw)

    def to_pdf(self, path, **kw) -> Any:
        """The PDF handout (see :func:`sciatica_kit.handout.write_pdf`).

        Parameters
        ----------
        path : str or path-like
            The file to write (owner-readable only, written atomically).
        **kw
            Layout options (see :func:`sciatica_kit.handout.handout_html`).

        Returns
        -------
        pathlib.Path
            The PDF written.
        """
        from sciatica_kit.handout import write_pdf

        return write_pdf(self, path, **kw)

    def to_dict(self) -> dict:
        """A JSON-able snapshot of the programme as issued (see :meth:`from_dict`).

        Holds the request (so the programme can be rebuilt on purpose), and what the
        patient received: every row of the table with its doses, texts and references,
        what was kept out and why, the referral, the clinician's notes and the advice.

        Returns
        -------
        dict
            JSON-able; ``snapshot_version`` says its layout (older versions read the same way).
        """
        return {
            "snapshot_version": SNAPSHOT_VERSION,
            **self.request.to_dict(),
            "red_flags": list(self.red_flags),
            "max_exercises": self.max_exercises,
            "exercise_ids": list(self.table["exercise_id"]),
            "referral": None if self.referral is None else self.referral.to_dict(),
            "table": [_jsonable_row(r) for r in self.table.to_dict("records")],
            "excluded": [{k: str(v) for k, v in r.items()} for r in self.excluded.to_dict("records")],
            "clinician_notes": list(self.clinician_notes),
            "kept_out_for_size": list(self.kept_out_for_size),
            "advice": [dict(a) for a in self.advice],
            "overrides": [_jsonable_override(o) for o in self.overrides],
        }

    @classmethod
    @shared_docs
    def from_dict(cls, record: Mapping[str, Any], *, catalog: Catalog | None = None) -> Programme:
        """The programme as issued, from :meth:`to_dict`.

        A snapshot (``"table"`` present) comes back exactly as it was saved, even if the
        catalogue has changed since; use :meth:`rebuild` to rebuild it under today's
        catalogue.  An old record holding only the inputs is rebuilt from them.

        Parameters
        ----------
        record
            A record from :meth:`to_dict` (any snapshot version).
        {catalog}

        Returns
        -------
        Programme
        """
        if "table" not in record:
            return _rebuild_from_inputs(record, catalog)
        ref = record.get("referral")
        return cls(
            table=_table_from_rows(record["table"]),
            excluded=_excluded_frame(record.get("excluded", [])),
            referral=None if ref is None else Referral.from_dict(ref),
            request=ProgrammeRequest.from_record(record, catalog),
            advice=tuple(dict(a) for a in record.get("advice", ())),
            overrides=tuple(dict(o) for o in record.get("overrides", ())),
            clinician_notes=tuple(record.get("clinician_notes", ())),
            kept_out_for_size=tuple(record.get("kept_out_for_size", ())),
            max_exercises=int(record.get("max_exercises") or DEFAULT_MAX_EXERCISES),
        )

    # ---- display ----------------------------------------------------------------
    def __repr__(self) -> str:
        if self.blocked:
            return f"<Programme BLOCKED: {self.referral.urgency} referral to {self.referral.refer_to}>"
        ref = f"; referral ({self.referral.urgency}) to {self.referral.refer_to}" if self.referral else ""
        return (
            f"<Programme: {len(self.table)} exercises for {', '.join(self.conditions) or 'no condition'}"
            f" ({self.phase}); {len(self.excluded)} kept out{ref}>"
        )

    def _repr_html_(self) -> str:
        from sciatica_kit.export import programme_html_fragment

        return programme_html_fragment(self)


def _jsonable_row(row: Mapping[str, Any]) -> dict:
    out = {}
    for k, v in row.items():
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            out[k] = None
        elif isinstance(v, (bool, np.bool_)):
            out[k] = bool(v)
        elif isinstance(v, (int, np.integer)):
            out[k] = int(v)
        elif isinstance(v, (float, np.floating)):
            out[k] = float(v)
        else:
            out[k] = str(v)
    return out


def _jsonable_override(o: Mapping[str, Any]) -> dict:
    return {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in o.items()}


EXCLUDED_COLUMNS = ("exercise_id", "name", "reason")


def _excluded_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """What was kept out: one text column each for id, name and reason (the same dtypes however it was made)."""
    rows = list(rows)
    return pd.DataFrame({
        name: pd.array(["" if r.get(name) is None else str(r.get(name)) for r in rows], dtype="str")
        for name in EXCLUDED_COLUMNS
    })


def _table_from_rows(rows: list[Mapping[str, Any]]) -> pd.DataFrame:
    if not rows:
        return _empty_table()
    columns: dict[str, Any] = {}
    names = list(TABLE_COLUMNS) + [c for c in rows[0] if c not in TABLE_COLUMNS]
    for name in names:
        values = [r.get(name) for r in rows]
        if name in DOSE_FIELDS:
            dtype = "Int64" if name in WHOLE_DOSE_FIELDS else "Float64"
            columns[name] = pd.array([pd.NA if v is None else v for v in values], dtype=dtype)
        elif name == "each_side":
            columns[name] = np.array([bool(v) for v in values], dtype=bool)
        else:
            columns[name] = pd.array(["" if v is None else str(v) for v in values], dtype="str")
    return pd.DataFrame(columns)


def _rebuild_from_inputs(record: Mapping[str, Any], catalog: Catalog | None) -> Programme:
    args = ProgrammeRequest.from_record(record, catalog).arguments()
    args["red_flags"] = [f for f in args["red_flags"] if catalog is None or f in catalog.records["red_flags"]]
    if not record.get("created"):
        args["created"] = None
    return build_programme(**args)


def diff_programmes(old: Programme, new: Programme) -> str:
    """Say in plain words what changed between two programmes (e.g. issued -> rebuilt).

    Parameters
    ----------
    old : Programme
        The programme as saved.
    new : Programme
        The same inputs rebuilt (see :meth:`Programme.rebuild`).

    Returns
    -------
    str
        What changed, one line per change, or a line saying nothing did.

    Examples
    --------
    >>> old = build_programme(["sciatica"])
    >>> new = old.add("bird_dog")
    >>> diff_programmes(old, new)
    'Added: Bird dog.'
    """
    a = {r["exercise_id"]: r for r in old.table.to_dict("records")}
    b = {r["exercise_id"]: r for r in new.table.to_dict("records")}
    lines = []
    added = [b[k]["name"] for k in b if k not in a]
    removed = [a[k]["name"] for k in a if k not in b]
    if added:
        lines.append("Added: " + ", ".join(added) + ".")
    for k in a:
        if k in b and a[k]["dose"] != b[k]["dose"]:
            lines.append(f"{a[k]['name']}: {a[k]['dose']} \u2192 {b[k]['dose']}.")
    for k in a:
        if k in b and a[k]["patient_cautions"] != b[k]["patient_cautions"]:
            lines.append(f"{a[k]['name']}: the cautions for the patient changed.")
    if removed:
        lines.append("Removed: " + ", ".join(removed) + ".")
    if (old.referral and old.referral.text) != (new.referral and new.referral.text):
        lines.append("Referral: " + (new.referral.headline if new.referral else "none") + ".")
    if old.blocked != new.blocked:
        lines.append("The programme is now " + ("blocked by a red flag." if new.blocked else "no longer blocked."))
    return " ".join(lines) or "No changes."


# --------------------------------------------------------------------------- builder


def _as_overrides(value: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {value: ""}
    if isinstance(value, Mapping):
        return {str(k): ("" if v is None else str(v)) for k, v in value.items()}
    try:
        return {str(v): "" for v in value}
    except TypeError:  # not a list of ids (e.g. a number)
        raise ValueError(f"Give exercise ids as a list or a mapping of id to reason, not {value!r:.80}") from None


def _as_ids(value: Iterable[str] | str | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return list(dict.fromkeys(value))
    except TypeError:  # a number, or lists inside the list
        raise ValueError(f"Give ids as a list of text ids such as ['sciatica'], not {value!r:.80}") from None


def max_exercises_setting() -> int:
    """The clinic's programme-size ceiling: ``[programme] max_exercises`` in the settings file, default 8."""
    from sciatica_kit.settings import load_settings

    value = load_settings().get("programme", {}).get("max_exercises", DEFAULT_MAX_EXERCISES)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"The settings file's [programme] max_exercises must be a whole number of at least 1, not {value!r}."
        )
    return value


@shared_docs
def build_programme(
    conditions: Iterable[str] | str,
    *,
    phase: str = "subacute",
    red_flags: Iterable[str] = (),
    findings: Iterable[str] = (),
    population: Iterable[str] | str = (),
    weeks_since_surgery: float | None = None,
    start_back_risk: str | None = None,
    screen: Screen | Mapping[str, Any] | None = None,
    exclude: Iterable[str] | Mapping[str, str] = (),
    include: Iterable[str] | Mapping[str, str] = (),
    dose_edits: Mapping[str, Mapping[str, float | None]] | None = None,
    dose_reasons: Mapping[str, str] | None = None,
    max_exercises: int | None = None,
    patient: str | None = None,
    clinic: str | None = None,
    created: dt.date | None = None,
    catalog: Catalog | None = None,
) -> Programme:
    """Build a home-exercise programme.

    Parameters
    ----------
    conditions
        Condition ids, e.g. ``["herniated_disc", "piriformis_syndrome"]``.
    phase
        ``"acute"``, ``"subacute"`` (default) or ``"chronic"``.
    red_flags
        Red-flag ids found present at screening.  A blocking flag stops the programme;
        a flag that does not block (``inflammatory_suspected``) refers alongside it.
    findings
        Finding ids, e.g. ``"severe_nerve_damage"`` (a marked but stable deficit),
        ``"extension_preference"`` or ``"flexion_preference"`` (assessed; not both).
    population
        Population ids from ``populations.toml``: ``"pregnancy"``,
        ``"after_spinal_surgery"`` (needs ``weeks_since_surgery``), ``"osteoporosis"``.
    weeks_since_surgery
        Weeks since spinal surgery, required with ``"after_spinal_surgery"``.
    start_back_risk
        The STarT Back risk group when known: ``"low"``, ``"medium"`` or ``"high"``
        (see :func:`~sciatica_kit.measures.score_start_back`).  Stored with the
        programme; high risk adds NICE NG59's advice for the clinician.
    screen
        The recorded red-flag screen (:func:`~sciatica_kit.screening.record_screen`,
        or its ``to_dict()``).  Its present flags are added to ``red_flags``.  Without
        one the programme says "Red-flag screen not recorded" on clinician exports.
    exclude, include
        Clinician overrides: exercise ids, or a mapping of id to the clinician's reason.
        ``include`` forces an exercise in even when a rule keeps it out; the override
        and what it overrides are recorded in the row's reason and in ``overrides``.
    dose_edits
        ``{exercise_id: {"reps": 12, ...}}`` doses picked by the clinician.
    dose_reasons
        ``{exercise_id: reason}`` the clinician's reason for those dose edits, recorded
        with the change (see :meth:`Programme.set_dose`).
    max_exercises
        Programme-size ceiling (default: the settings file's ``[programme] max_exercises``, else 8).
    patient, clinic
        Printed on exports.
    created
        The programme's date (default: today).
    {catalog}

    Returns
    -------
    Programme

    Raises
    ------
    ValueError
        For unknown ids (listing the valid ids and the closest match), both directional
        preferences at once, a red flag both ticked and recorded absent, or missing
        weeks since surgery.

    Examples
    --------
    >>> prog = build_programme(["piriformis_syndrome"])
    >>> "floor_bridge" in set(prog.table["exercise_id"])
    True
    >>> build_programme(["sciatica"], red_flags=["cauda_equina"]).blocked
    True
    >>> prog = build_programme(["sciatica"], red_flags=["inflammatory_suspected"])
    >>> prog.blocked, prog.referral.refer_to
    (False, 'rheumatology')
    """
    cat = catalog or load_catalog()
    cond_ids = cat.check_ids("condition", _as_ids(conditions))
    if phase not in PHASE_IDS:
        raise unknown_id_error("phase", phase, PHASE_IDS)
    flag_ids = cat.check_ids("red flag", _as_ids(red_flags))
    finding_ids = cat.check_ids("finding", _as_ids(findings))
    pop_ids = cat.check_ids("population", _as_ids(population))
    prefs = {cat.records["findings"][f]["directional_preference"] for f in finding_ids} - {None}
    if len(prefs) > 1:
        raise ValueError(
            "Both an extension and a flexion directional preference were ticked. A patient has one preferred "
            "direction (or none): re-assess with repeated movements and tick only the one that centralises the pain."
        )
    if start_back_risk is not None and start_back_risk not in START_BACK_RISKS:
        raise ValueError(f"STarT Back risk must be one of {', '.join(START_BACK_RISKS)} (or left empty), not {start_back_risk!r}")
    needs_weeks = [p for p in pop_ids if cat.records["populations"][p]["needs_weeks_since_surgery"]]
    if needs_weeks:
        if weeks_since_surgery is None or isinstance(weeks_since_surgery, bool) or not _non_negative(weeks_since_surgery):
            raise ValueError("After spinal surgery: give the weeks since surgery (weeks_since_surgery), e.g. 6.")
        weeks_since_surgery = float(weeks_since_surgery)
    else:
        weeks_since_surgery = None
    scr = _as_screen(screen, cat)
    if scr is not None:
        absent = [f for f in flag_ids if scr.status.get(f) == "absent"]
        if absent:
            raise ValueError(
                f"Red flag(s) {', '.join(absent)} ticked but recorded as absent in the screen; correct one of the two."
            )
        flag_ids = list(dict.fromkeys([*flag_ids, *scr.present]))
    limit = max_exercises_setting() if max_exercises is None else max_exercises
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"max_exercises must be a whole number of at least 1, not {limit!r}")
    exclude_map = _as_overrides(exclude)
    include_map = _as_overrides(include)
    cat.check_ids("exercise", exclude_map)
    cat.check_ids("exercise", include_map)
    both = set(exclude_map) & set(include_map)
    if both:
        raise ValueError(f"Exercise(s) both included and excluded by the clinician: {', '.join(sorted(both))}")
    try:
        edits = {k: dict(v) for k, v in (dose_edits or {}).items()}
    except (AttributeError, TypeError, ValueError):
        raise ValueError("dose_edits must map exercise ids to doses, e.g. {'walking': {'minutes': 20}}") from None
    cat.check_ids("exercise", edits)
    for ex_id, d in edits.items():
        for key, value in d.items():
            if key not in DOSE_FIELDS:
                raise ValueError(f"Unknown dose field '{key}' for {ex_id}. Valid dose fields: {', '.join(DOSE_FIELDS)}")
            if value is not None and not _valid_number(value):
                raise ValueError(f"Dose {key} for {ex_id} must be a positive number up to {MAX_DOSE} or empty, not {value!r:.80}")
            if value is not None and key in WHOLE_DOSE_FIELDS and not float(value).is_integer():
                raise ValueError(f"Dose {key} for {ex_id} must be a whole number, not {value!r}")
    try:
        reasons = {str(k): "" if v is None else str(v) for k, v in (dose_reasons or {}).items()}
    except (AttributeError, TypeError):
        raise ValueError("dose_reasons must map exercise ids to the clinician's reason, e.g. {'walking': 'builds up slowly'}") from None
    cat.check_ids("exercise", reasons)
    if created is not None and not isinstance(created, dt.date):
        raise ValueError(f"created must be a date, not {created!r:.40}")

    request = ProgrammeRequest(
        conditions=tuple(cond_ids),
        phase=phase,
        red_flags=tuple(_as_ids(red_flags)),
        findings=tuple(finding_ids),
        population=tuple(pop_ids),
        weeks_since_surgery=weeks_since_surgery,
        start_back_risk=start_back_risk,
        screen=scr,
        exclude=exclude_map,
        include=include_map,
        dose_edits=edits,
        dose_reasons={k: v for k, v in reasons.items() if v and k in edits},
        max_exercises=max_exercises,
        patient=patient,
        clinic=clinic,
        created=created or dt.date.today(),
        catalog=catalog,
    )
    referral = screen_flags(flag_ids, catalog=cat)
    notes = _clinician_notes(cat, phase, pop_ids, weeks_since_surgery, start_back_risk, scr, referral)
    common = dict(request=request, referral=referral, advice=cat.advice, clinician_notes=notes, max_exercises=limit)
    if referral is not None and referral.blocking:
        return Programme(table=_empty_table(), excluded=_excluded_frame([]), **common)

    rows, excluded, overrides, size_out = _select(cat, cond_ids, phase, finding_ids, pop_ids, exclude_map, include_map, limit)
    table, dose_overrides = _table(cat, rows, edits, request.dose_reasons)
    excl = _excluded_frame(
        {"exercise_id": k, "name": cat.records["exercises"][k]["name"], "reason": "; ".join(v)} for k, v in excluded.items()
    )
    return Programme(table=table, excluded=excl, overrides=tuple(overrides + dose_overrides),
                     kept_out_for_size=tuple(size_out), **common)


screen_flags = screen  # the screening function, under a name the ``screen=`` keyword does not hide


def _non_negative(v) -> bool:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return False
    return math.isfinite(f) and f >= 0


def _as_screen(value, cat: Catalog) -> Screen | None:
    if value is None or isinstance(value, Screen):
        return value
    if isinstance(value, Mapping):
        try:
            scr = Screen.from_dict(value)
        except (KeyError, TypeError, ValueError):
            raise ValueError("screen must come from record_screen(...) or its to_dict()") from None
        cat.check_ids("red flag", scr.status)
        return scr
    raise ValueError("screen must come from record_screen(...) or its to_dict()")


def _clinician_notes(cat, phase, pop_ids, weeks, risk, scr, referral) -> tuple[str, ...]:
    notes: list[str] = []
    ph = cat.records["phases"][phase]
    notes.append(f"Dose guidance ({ph['name']}): {ph['dose_guidance']} [{ph.get('dose_guidance_source', 'Sciatica Kit rule')}]")
    for p in pop_ids:
        rec = cat.records["populations"][p]
        if rec["needs_weeks_since_surgery"]:
            notes.append(f"{rec['name']}: {_fmt(weeks)} weeks since surgery.")
        for n in rec["notes"]:
            notes.append(f"{n['text']} [{n['source']}]")
        if rec["not_covered"]:
            notes.append(f"Not covered by the kit ({rec['name']}): {rec['not_covered']}")
    if risk is not None:
        line = f"STarT Back risk group: {risk}."
        if risk == "high":
            line += (" NICE NG59: offer a psychologically informed approach (e.g. cognitive behavioural) alongside"
                     " the exercise programme, not instead of it. [NICE NG59 (2016, updated 2020)]")
        notes.append(line)
    if referral is not None and not referral.blocking:
        notes.append(f"Referral alongside the programme: {referral.text.splitlines()[0]}")
    if scr is None:
        notes.append(SCREEN_NOT_RECORDED + ".")
    return tuple(notes)


def _valid_number(v: object) -> bool:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    return math.isfinite(f) and 0 < f <= MAX_DOSE and not isinstance(v, bool)


def _new_row() -> dict:
    return {"reasons": [], "by": [], "cautions": [], "clinician_cautions": []}


def _select(cat: Catalog, cond_ids, phase, finding_ids, pop_ids, exclude_map, include_map, limit):
    ex = cat.records["exercises"]
    conds = cat.records["conditions"]
    finds = cat.records["findings"]
    pops = cat.records["populations"]
    ph = cat.records["phases"][phase]
    kit = cat.cite("kit")

    rows: dict[str, dict] = {}

    def indicate(ex_id: str, who: str, why: str, source: str) -> None:
        row = rows.setdefault(ex_id, _new_row())
        row["reasons"].append(f"{why} [{source}]")
        if who not in row["by"]:
            row["by"].append(who)

    for c in cond_ids:
        for item in conds[c]["indicates"]:
            indicate(item["exercise"], c, f"{conds[c]['name']}: {item['why']}", item["source"])
    for f in finding_ids:
        for item in finds[f]["adds"]:
            indicate(item["exercise"], f, f"{finds[f]['name']}: {item['why']}", item["source"])
    for item in ph.get("adds", []):
        indicate(item["exercise"], f"phase:{phase}", f"{ph['name']}: {item['why']}", item["source"])

    excluded: dict[str, list[str]] = {}

    def exclude(ex_id: str, reason: str) -> None:
        lst = excluded.setdefault(ex_id, [])
        if reason not in lst:
            lst.append(reason)

    # Phase: swap tensioners for sliders, drop what waits for pain to settle.
    for ex_id in list(rows):
        rec = ex[ex_id]
        if phase in rec["phases"]:
            continue
        slider = None
        if ph["swap_tensioners_for_sliders"] and rec["category"] == "nerve glide tensioner":
            slider = next((r for r in rec["regress_to"] if ex[r]["category"] == "nerve glide slider"), None)
        moved = rows.pop(ex_id)
        if slider:
            exclude(ex_id, f"{ph['name']}: replaced by the gentler slider '{ex[slider]['name']}' "
                           f"[{cat.cite('kit; coppieters_butler_2008')}]")
            target = rows.setdefault(slider, _new_row())
            target["reasons"].extend(
                f"{r} (as a slider instead of '{rec['name']}' in the acute phase)" for r in moved["reasons"]
            )
            target["by"].extend(b for b in moved["by"] if b not in target["by"])
        else:
            note = rec.get("phase_note") or f"Not used in the {phase} phase."
            exclude(ex_id, f"{ph['name']}: {note} [{rec['phase_source']}]")

    def candidates() -> list[str]:
        return list(dict.fromkeys([*rows, *include_map, *excluded]))

    # Condition, finding and population exclusions (they win over indications).
    for c in cond_ids:
        for item in conds[c]["excludes"]:
            lifted_by = [f for f in item.get("unless_findings", []) if f in finding_ids]
            if lifted_by:
                if item["exercise"] in rows:
                    rows[item["exercise"]]["clinician_cautions"].append(item["caution_if_lifted"])
                continue
            exclude(item["exercise"], f"{conds[c]['name']}: {item['why']} [{item['source']}]")
    for f in finding_ids:
        for item in finds[f]["excludes"]:
            exclude(item["exercise"], f"{finds[f]['name']}: {item['why']} [{item['source']}]")
        for item in finds[f]["excludes_categories"]:
            for ex_id in candidates():
                if ex[ex_id]["category"] == item["category"]:
                    exclude(ex_id, f"{finds[f]['name']}: {item['why']} [{item['source']}]")
        for item in finds[f].get("excludes_tensioners", []):
            for ex_id in candidates():
                if ex[ex_id]["nerve_tensioner"] == item["nerve"]:
                    exclude(ex_id, f"{finds[f]['name']}: {item['why']} [{item['source']}]")
    for p in pop_ids:
        for item in pops[p]["excludes"]:
            exclude(item["exercise"], f"{pops[p]['name']}: {item['why']} [{item['source']}]")
        for item in pops[p]["excludes_where"]:
            for ex_id in candidates():
                if ex[ex_id].get(item["field"]) == item["value"]:
                    exclude(ex_id, f"{item['why']} [{item['source']}]")
    # Directional exercises follow an assessed directional preference.
    prefs = {finds[f]["directional_preference"] for f in finding_ids} - {None}
    for ex_id in candidates():
        rec = ex[ex_id]
        if rec["directional"] and not prefs:
            exclude(ex_id, f"Assess directional preference first: {rec['name']} follows an assessed "
                           f"{rec['direction']} preference [{cat.cite('kit; long_2004')}]")
        elif rec["directional"] and rec["direction"] not in prefs:
            exclude(ex_id, f"Opposite to the assessed {'/'.join(sorted(prefs))} preference: {rec['name']} loads "
                           f"{rec['direction']} [{cat.cite('kit; long_2004')}]")

    for ex_id, reason in exclude_map.items():
        exclude(ex_id, "Removed by the clinician" + (f": {reason}" if reason else ""))

    for ex_id in excluded:
        rows.pop(ex_id, None)

    # One tensioner per nerve: keep the one with the most indications.
    order = {c: i for i, c in enumerate(cat.category_order)}
    position = {k: i for i, k in enumerate(ex)}

    def rank(k):
        return (-len(rows[k]["by"]), order.get(ex[k]["category"], len(order)), position[k])

    for nerve in {ex[k]["nerve_tensioner"] for k in rows} - {None}:
        tensioners = sorted((k for k in rows if ex[k]["nerve_tensioner"] == nerve), key=rank)
        keep = next((k for k in tensioners if k not in include_map), tensioners[0])
        for k in tensioners:
            if k == keep:
                continue
            if k not in include_map:  # a clinician's include stays, recorded as overriding this rule
                rows.pop(k)
            exclude(k, f"One {nerve}-nerve tensioner at a time: '{ex[keep]['name']}' already loads the "
                       f"{nerve} nerve [{cat.cite('kit; coppieters_butler_2008')}]")

    overrides: list[dict] = []
    for ex_id, reason in include_map.items():
        row = rows.setdefault(ex_id, _new_row())
        why = f": {reason}" if reason else ""
        if ex_id in excluded:
            overridden = excluded.pop(ex_id)
            row["reasons"].append(f"Forced in by the clinician{why} (overrides: {'; '.join(overridden)})")
            row["clinician_cautions"].append(
                "Clinician override: this exercise is normally kept out - " + "; ".join(overridden)
            )
            overrides.append({"exercise_id": ex_id, "action": "forced", "reason": reason, "overrides": overridden})
        else:
            row["reasons"].append(f"Added by the clinician{why}")
            overrides.append({"exercise_id": ex_id, "action": "added", "reason": reason, "overrides": []})
        if "clinician" not in row["by"]:
            row["by"].append("clinician")
    for ex_id, reason in exclude_map.items():
        overrides.append({"exercise_id": ex_id, "action": "removed", "reason": reason, "overrides": []})

    # Programme size: keep the exercises with the most indications; the clinician's own always stay.
    size_out: list[str] = []
    if len(rows) > limit:
        free = sorted((k for k in rows if k not in include_map), key=rank)
        room = max(limit - sum(1 for k in rows if k in include_map), 0)
        for k in free[room:]:
            rows.pop(k)
            size_out.append(k)
            exclude(k, f"Kept out for size: this programme holds at most {limit} exercises (clinic setting "
                       f"[programme] max_exercises) and the ones kept have more indications; add it back if "
                       f"you want it [{kit}]")

    # Cautions for exercises that made it in.
    def caution(ex_id: str, item: Mapping[str, Any]) -> None:
        key = "cautions" if item.get("audience") == "patient" else "clinician_cautions"
        text = item["text"] if key == "cautions" else f"{item['text']} [{item['source']}]"
        rows[ex_id][key].append(text)

    for c in cond_ids:
        for item in conds[c]["cautions"]:
            if item["exercise"] in rows:
                caution(item["exercise"], item)
        for item in conds[c].get("direction_cautions", []):
            for ex_id in rows:
                if ex[ex_id]["direction"] == item["direction"]:
                    caution(ex_id, item)
    for f in finding_ids:
        for item in finds[f]["cautions"]:
            if item["exercise"] in rows:
                caution(item["exercise"], item)
    for p in pop_ids:
        for item in pops[p]["cautions_where"]:
            for ex_id in rows:
                if ex[ex_id].get(item["field"]) == item["value"]:
                    caution(ex_id, item)
    return rows, excluded, overrides, size_out


def _empty_table() -> pd.DataFrame:
    columns: dict[str, Any] = {}
    for name in TABLE_COLUMNS:
        if name in DOSE_FIELDS:
            columns[name] = pd.array([], dtype="Int64" if name in WHOLE_DOSE_FIELDS else "Float64")
        elif name == "each_side":
            columns[name] = np.array([], dtype=bool)
        else:
            columns[name] = pd.array([], dtype="str")
    return pd.DataFrame(columns)


def _table(cat: Catalog, rows: dict[str, dict], edits: dict, dose_reasons: Mapping[str, str]) -> tuple[pd.DataFrame, list[dict]]:
    ex = cat.records["exercises"]
    defaults = cat.records.get("dose_defaults", {})
    no_dose = load_wording(cat).no_dose
    order = {c: i for i, c in enumerate(cat.category_order)}
    position = {k: i for i, k in enumerate(ex)}
    ids = sorted(rows, key=lambda k: (order.get(ex[k]["category"], len(order)), position[k]))
    records = []
    dose_overrides: list[dict] = []
    for ex_id in ids:
        rec, row = ex[ex_id], rows[ex_id]
        out: dict[str, Any] = {"exercise_id": ex_id, "name": rec["name"], "category": rec["category"]}
        words: dict[str, Any] = {"each_side": bool(rec["each_side"])}
        labels: dict[str, str] = {}
        clinic_fields = []
        for name in DOSE_FIELDS:
            rng = rec["doses"].get(name)
            if rng is None and ex_id in defaults and name in defaults[ex_id]["doses"]:
                rng = defaults[ex_id]["doses"][name]
                labels[name] = CLINIC_DEFAULT
                clinic_fields.append(name)
            out[name] = _start_figure(rng)
            words[name] = rng
        reasons = list(row["reasons"])
        patient_cautions = list(dict.fromkeys([*rec["cautions"], *row["cautions"]]))
        cautions = [*patient_cautions, *dict.fromkeys(row["clinician_cautions"])]
        if ex_id in edits:
            changes = []
            for name, value in edits[ex_id].items():
                new = None if value is None else float(value)
                rng = rec["doses"].get(name)
                was = "none" if words[name] is None else _range_words(words[name])
                changes.append(f"{name} {was} -> {_show(new)}")
                if new is not None and (rng is None or new > rng[1] or (not math.isnan(rng[0]) and new < rng[0])):
                    span = "no source dose" if rng is None else f"source {_range_words(rng)}"
                    cautions.append(f"Dose edited by the clinician: {name} {_show(new)} is outside the source range ({span}).")
                out[name] = new
                words[name] = None if new is None else (new, new)
                labels.pop(name, None)
                if name in clinic_fields:
                    clinic_fields.remove(name)
            why = dose_reasons.get(ex_id, "")
            reasons.append("Dose edited by the clinician: " + ", ".join(changes) + (f" (reason: {why})" if why else ""))
            dose_overrides.append({"exercise_id": ex_id, "action": "dose", "reason": why, "changes": ", ".join(changes),
                                   "overrides": []})
        out["each_side"] = bool(rec["each_side"])
        out["dose"] = dose_in_words(words, labels=labels, no_dose=no_dose)
        out["reason"] = "\n".join(reasons)
        out["indicated_by"] = ", ".join(row["by"])
        out["cautions"] = "\n".join(cautions)  # everything, for the clinician
        out["patient_cautions"] = "\n".join(patient_cautions)  # what the handout tells the patient
        out["stop_if"] = "\n".join(rec["stop_if"])
        dose_source = rec["dose_source"] + (f" ({rec['dose_note']})" if rec.get("dose_note") else "")
        if clinic_fields:
            dose_source += f"; {', '.join(clinic_fields)}: clinic default ({defaults[ex_id]['clinic']})"
        out["dose_source"] = dose_source
        out["sources"] = "; ".join(rec["sources"])
        records.append(out)
    if not records:
        return _empty_table(), dose_overrides
    columns: dict[str, Any] = {}
    for name in TABLE_COLUMNS:
        values = [r[name] for r in records]
        if name in DOSE_FIELDS:
            dtype = "Int64" if name in WHOLE_DOSE_FIELDS else "Float64"
            values = [pd.NA if v is None else (round(v) if name in WHOLE_DOSE_FIELDS else v) for v in values]
            columns[name] = pd.array(values, dtype=dtype)
        elif name == "each_side":
            columns[name] = np.array(values, dtype=bool)
        else:
            columns[name] = pd.array(values, dtype="str")
    return pd.DataFrame(columns), dose_overrides


def _show(v) -> str:
    return "none" if v is None or (isinstance(v, float) and math.isnan(v)) else _fmt(float(v))
