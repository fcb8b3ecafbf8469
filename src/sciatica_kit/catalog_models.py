"""Typed models of every catalogue file, checked once when the catalogue loads.

Each model names its fields and their types; pydantic checks every entry of
every file (the packaged files, a clinic's own file and ``poses.toml``) and each
problem becomes one line naming the file, the entry and the field, so a bad
entry in a clinic's own file fails at load, never later when someone presses
Print.  The rules that need the whole catalogue (an exercise id that must
exist, an urgency tier that must be defined) stay in :mod:`sciatica_kit.catalog`.

Every text field says who reads it: ``audience="patient"`` text reaches the
patient's handout, ``audience="clinician"`` text only the clinician's exports.
:func:`text_fields` lists them; a test walks every entry through every export
and checks that no clinician text reaches a handout.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["MODELS", "text_fields", "validate_documents"]

Dose = str | list[float] | dict[str, float]


def _text(audience: Literal["patient", "clinician"], **kw) -> Any:
    return Field(json_schema_extra={"audience": audience}, **kw)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ExerciseModel(_Strict):
    id: str
    name: str = _text("patient")
    category: str
    targets: list[str] = _text("patient")
    position: str = _text("patient")
    equipment: list[str] = _text("patient")
    steps: list[str] = _text("patient")
    sets: Dose
    reps: Dose
    hold_s: Dose
    times_per_day: Dose
    days_per_week: Dose
    minutes: Dose
    distance_km: Dose
    dose_source: str = _text("clinician")
    dose_note: str = _text("clinician", default="")
    each_side: bool
    phases: list[str]
    phase_note: str = _text("clinician", default="")
    phase_source: str = "kit"
    progress_to: list[str]
    regress_to: list[str]
    cautions: list[str] = _text("patient")
    stop_if: list[str] = _text("patient")
    sources: list[str] = Field(min_length=1)
    direction: Literal["extension", "flexion"] | None = None
    directional: bool = False
    nerve_tensioner: Literal["sciatic", "femoral"] | None = None
    loaded_flexion: bool = False
    pose: dict[str, Any] | None = None
    picture: str | None = None  # the clinic's own PNG or SVG file (a path, not prose)


class _Indicates(_Strict):
    exercise: str
    why: str = _text("clinician")
    source: str


class _Excludes(_Indicates):
    unless_findings: list[str] = []
    caution_if_lifted: str = _text("clinician", default="")


class _Caution(_Strict):
    exercise: str
    text: str = _text("clinician")  # the item's own `audience` decides; clinician unless it says patient
    audience: Literal["patient", "clinician"]
    source: str


class _DirectionCaution(_Strict):
    direction: Literal["extension", "flexion"]
    text: str = _text("clinician")
    audience: Literal["patient", "clinician"]
    source: str


class ConditionModel(_Strict):
    id: str
    name: str = _text("clinician")
    description: str = _text("clinician")
    sources: list[str] = Field(min_length=1)
    snomed: str | None = None
    indicates: list[_Indicates] = Field(min_length=1)
    excludes: list[_Excludes] = []
    cautions: list[_Caution] = []
    direction_cautions: list[_DirectionCaution] = []


class _CategoryExclusion(_Strict):
    category: str
    why: str = _text("clinician")
    source: str


class _TensionerExclusion(_Strict):
    nerve: Literal["sciatic", "femoral"]
    why: str = _text("clinician")
    source: str


class FindingModel(_Strict):
    id: str
    name: str = _text("clinician")
    description: str = _text("clinician")
    sources: list[str] = Field(min_length=1)
    directional_preference: Literal["extension", "flexion"] | None = None
    adds: list[_Indicates] = []
    excludes: list[_Indicates] = []
    excludes_categories: list[_CategoryExclusion] = []
    excludes_tensioners: list[_TensionerExclusion] = []
    cautions: list[_Caution] = []


class UrgencyModel(_Strict):
    id: str
    rank: int
    name: str = _text("clinician")
    headline: str = _text("clinician")


class RedFlagModel(_Strict):
    id: str
    name: str = _text("clinician")
    signs: list[str] = _text("clinician", min_length=1)
    urgency: str
    precedence: int
    blocks: bool
    refer_to: str = _text("clinician")
    action: str = _text("clinician")
    sources: list[str] = Field(min_length=1)


class CombinationModel(_Strict):
    id: str
    name: str = _text("clinician")
    all_of: list[str] = Field(min_length=1)
    any_of: list[str] = []
    urgency: str
    precedence: int = 0
    blocks: bool = True
    refer_to: str = _text("clinician")
    action: str = _text("clinician")
    sources: list[str] = Field(min_length=1)


class _PhaseAdd(_Indicates):
    pass


class PhaseModel(_Strict):
    id: str
    name: str = _text("clinician")
    description: str = _text("clinician")
    dose_guidance: str = _text("clinician")
    dose_guidance_source: str = "kit"
    swap_tensioners_for_sliders: bool
    sources: list[str] = Field(min_length=1)
    adds: list[_PhaseAdd] = []


class _Zone(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = _text("clinician")
    low: float
    high: float


class MeasureModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    short: str = _text("clinician")
    name: str = _text("clinician")
    unit: str
    units_accepted: list[str] = []
    min: float
    max: float
    better: Literal["lower", "higher"]
    sided: bool
    integer: bool = False
    mcid_points: float | str = "not specified"
    mcid_percent: float | str = "not specified"
    mdc: float | str = "not specified"
    mdc_note: str = _text("clinician", default="")
    sem: float | str = "not specified"
    loinc: str = ""
    ucum: str = ""
    visit_form: bool = True
    overview: bool = False
    sources: list[str] = Field(min_length=1)
    zones: list[_Zone] = []


class SourceModel(_Strict):
    id: str
    author: str = _text("clinician")
    title: str = _text("clinician")
    year: str
    kind: Literal["article", "guideline", "paper", "manual", "kit", "clinic"]
    short: str = _text("clinician")


class _WhereRule(_Strict):
    field: Literal["position", "category", "direction", "loaded_flexion", "directional", "nerve_tensioner"]
    value: str | bool
    why: str = _text("clinician", default="")
    text: str = _text("clinician", default="")
    audience: Literal["patient", "clinician"] = "clinician"
    source: str


class _Note(_Strict):
    text: str = _text("clinician")
    source: str


class PopulationModel(_Strict):
    id: str
    name: str = _text("clinician")
    description: str = _text("clinician")
    sources: list[str] = Field(min_length=1)
    not_covered: str = _text("clinician", default="")
    excludes: list[_Indicates] = []
    excludes_where: list[_WhereRule] = []
    cautions_where: list[_WhereRule] = []
    notes: list[_Note] = []
    needs_weeks_since_surgery: bool = False


class DoseDefaultModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exercise: str
    sets: Dose | None = None
    reps: Dose | None = None
    hold_s: Dose | None = None
    times_per_day: Dose | None = None
    days_per_week: Dose | None = None
    minutes: Dose | None = None
    distance_km: Dose | None = None


class AdviceItemModel(_Strict):
    text: str = _text("patient")
    source: str


class _Advice(_Strict):
    items: list[AdviceItemModel]


class _Categories(_Strict):
    order: list[str]


class _Frame(BaseModel):
    """One pose frame: known fields are typed; the illustration module checks the rest."""

    model_config = ConfigDict(extra="allow")
    pelvis: list[float] | None = None
    trunk: float | None = None


class PoseModel(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    # the values themselves (which settings exist...) are checked by sciatica_kit.illustrations
    setting: str | None = None
    view: str | None = None
    pillow: bool | None = None
    start: _Frame | None = None
    end: _Frame | None = None
    hold: _Frame | None = None


MODELS: dict[str, tuple[str, type[BaseModel]]] = {
    # file -> (array-of-tables key, model); clinic files use the same models
    "exercise": ("exercise", ExerciseModel),
    "condition": ("condition", ConditionModel),
    "finding": ("finding", FindingModel),
    "red_flag": ("red flag", RedFlagModel),
    "urgency": ("urgency", UrgencyModel),
    "combination": ("combination", CombinationModel),
    "phase": ("phase", PhaseModel),
    "measure": ("measure", MeasureModel),
    "source": ("source", SourceModel),
    "population": ("population", PopulationModel),
    "dose_default": ("dose_default", DoseDefaultModel),
}


def text_fields(model: type[BaseModel]) -> dict[str, str]:
    """``{field: "patient" | "clinician"}`` for the text fields of a model.

    Parameters
    ----------
    model : pydantic model class
        A catalogue entry model.

    Returns
    -------
    dict of str to str
        Each text field's name and who reads it (patient or clinician).
    """
    out = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra or {}
        if isinstance(extra, dict) and "audience" in extra:
            out[name] = str(extra["audience"])
    return out


def _message(err: dict, model: type[BaseModel]) -> tuple[str, str]:
    loc = [str(p) for p in err["loc"]]
    field = loc[0] if loc else ""
    rest = "".join(f" item {int(p) + 1}" if p.isdigit() else f".{p}" for p in loc[1:])
    kind = err["type"]
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return field, f"unknown field{hint}" if len(loc) == 1 else f"{rest.strip()}: unknown field{hint}"
    if kind == "missing":
        return field, ("missing; add it" if len(loc) == 1 else f"{rest.strip()} is missing; add it")
    if kind == "too_short" and field == "sources":
        return field, "missing source; cite a source id from bibliography.toml"
    if kind == "too_short":
        return field, "must not be empty"
    return field, f"{rest.strip() + ': ' if rest else ''}{err['msg']} (got {err.get('input')!r:.60})"


def validate_documents(docs: dict[str, dict], problems: list[str]) -> set[tuple]:
    """Check every entry of every parsed file against its model.

    Appends one problem per field to ``problems`` and returns the entries that
    failed as ``(file, id, position)`` so later checks can skip them.

    Parameters
    ----------
    docs : dict
        Each catalogue file's parsed TOML, by file name.
    problems : list of str
        Problems found are appended here, each naming file, entry and field.

    Returns
    -------
    set of tuple
        The entries that failed, as ``(file, id, position)``.
    """
    failed: set[tuple] = set()
    for fname, doc in docs.items():
        if fname == "poses.toml":
            _validate_poses(doc, problems)
            continue
        for key, model in (("advice", _Advice), ("categories", _Categories)):
            if key in doc:
                try:
                    model.model_validate(doc[key])
                except ValidationError as exc:
                    for err in exc.errors():
                        loc = "".join(f" item {int(p) + 1}" if isinstance(p, int) else f" {p}" for p in err["loc"])
                        problems.append(f"{fname}: [{key}],{loc}: {err['msg']}")
        for key, (kind, model) in MODELS.items():
            items = doc.get(key)
            if not isinstance(items, list):
                continue
            for n, item in enumerate(items, start=1):
                if not isinstance(item, dict):
                    continue
                try:
                    model.model_validate(item)
                except ValidationError as exc:
                    ident = item.get("id") or item.get("exercise")
                    ident = ident if isinstance(ident, str) else None  # a list or number as the id: name it by position
                    label = f"{kind} '{ident}'" if ident else f"{kind} number {n}"
                    for err in exc.errors():
                        field, msg = _message(err, model)
                        problems.append(f"{fname}: {label}, field '{field}': {msg}")
                    failed.add((fname, ident if item.get("id") == ident else None, n))
    return failed


def _validate_poses(doc: dict, problems: list[str]) -> None:
    for ident, entry in doc.items():
        if not isinstance(entry, dict):
            problems.append(f"poses.toml: exercise '{ident}': should be a table [{ident}]")
            continue
        try:
            PoseModel.model_validate(entry)
        except ValidationError as exc:
            for err in exc.errors():
                field, msg = _message(err, PoseModel)
                problems.append(f"poses.toml: exercise '{ident}', field '{field}': {msg}")
