"""Shared pieces of the FHIR exchange: code systems, the codes file, identity, validation."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import tomllib
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pydantic

from sciatica_kit.catalog import catalog_dir
from sciatica_kit.log import LogProblem

_BASE = "https://sciatica-kit.invalid"
CONDITION_SYSTEM = f"{_BASE}/CodeSystem/condition"
RED_FLAG_SYSTEM = f"{_BASE}/CodeSystem/red-flag"
FINDING_SYSTEM = f"{_BASE}/CodeSystem/finding"
EXERCISE_SYSTEM = f"{_BASE}/CodeSystem/exercise"
MEASURE_SYSTEM = f"{_BASE}/CodeSystem/measure"
PATIENT_ID_SYSTEM = f"{_BASE}/NamingSystem/patient-id"
DOSE_EXTENSION = f"{_BASE}/StructureDefinition/exercise-dose"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


class IdentityWarning(UserWarning):
    """A patient id looks like a name or a national number (see :func:`patient_resource`)."""


# --------------------------------------------------------------------------- codes file


@functools.lru_cache(maxsize=4)
def _codes_cached(path: str, _stamp: float) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def load_codes(path: str | Path | None = None) -> dict:
    """The standard codes the kit uses in FHIR, from ``data/catalog/codes.toml``.

    Examples
    --------
    >>> load_codes()["measure"]["pain"]["loinc"]
    '72514-3'
    """
    file = Path(path) if path is not None else catalog_dir() / "codes.toml"
    try:
        return _codes_cached(str(file), file.stat().st_mtime)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"The codes file {file} cannot be read ({exc}). Reinstall sciatica-kit or fix the file.") from None


def side_codes(codes: Mapping | None = None) -> dict[str, str]:
    """SNOMED code -> side ('left'/'right'): body structures and laterality qualifiers."""
    codes = codes or load_codes()
    out = {}
    for side, rec in codes.get("side", {}).items():
        out[rec["snomed"]] = side
        for alt in rec.get("also", []):
            out[alt["snomed"]] = side
    return out


# --------------------------------------------------------------------------- small helpers


def uuid_url() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def coding(system: str, code: str, display: str | None = None) -> dict:
    out = {"system": system, "code": str(code)}
    if display:
        out["display"] = display
    return out


def number(value: Any) -> float | None:
    """A cell as a number, or None when not specified (NA / NaN / None)."""
    if value is None or value is pd.NA:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def lines(value: Any) -> list[str]:
    return [line for line in text(value).split("\n") if line.strip()]


def fhir_datetime(value: Any) -> str:
    """A log date as FHIR: the day alone, or the local date-time with its UTC offset when a time is set."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        return ts.isoformat()
    if (ts.hour, ts.minute, ts.second, ts.microsecond) == (0, 0, 0, 0):
        return ts.date().isoformat()
    local = ts.to_pydatetime().replace(microsecond=0).astimezone()  # the clinic computer's offset on that day
    return local.isoformat()


_FHIR_DT = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:T(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?P<tz>Z|[+-]\d{2}:\d{2})?)?$"
)


def parse_fhir_datetime(value: Any) -> pd.Timestamp | None:
    """A FHIR date/dateTime/instant as the local wall-clock time it names (offset dropped), or None.

    Partial dates (``2025`` or ``2025-03``) give None: they do not name a day.
    """
    m = _FHIR_DT.match(str(value or "").strip())
    if not m:
        return None
    try:
        day = dt.date.fromisoformat(m["date"])
    except ValueError:
        return None
    if not m["time"]:
        return pd.Timestamp(day)
    hms = (m["time"] + ":00")[:8] if len(m["time"]) == 5 else m["time"][:8]
    try:
        t = dt.time.fromisoformat(hms)
    except ValueError:
        return None
    return pd.Timestamp(dt.datetime.combine(day, t))


# --------------------------------------------------------------------------- identity

_NAME_LIKE = re.compile(r"^[^\W\d_]+(?:[ ,.'\-]+[^\W\d_]+)*\.?$")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")


def _nhs_number(digits: str) -> bool:
    if len(digits) != 10:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def identity_problem(patient_id: str) -> str | None:
    """Why ``patient_id`` should not travel as an identifier ('name' / 'national number'), or None."""
    value = str(patient_id).strip()
    if not value:
        return None
    if _NAME_LIKE.match(value) and not any(ch.isdigit() for ch in value):
        return "name"
    digits = re.sub(r"[\s\-]", "", value)
    if digits.isdigit() and (_nhs_number(digits) or _SSN.match(value) or len(digits) >= 9):
        return "national number"
    return None


def identifier_system(settings: Mapping | None = None) -> str:
    """The clinic's patient-identifier system: settings ``[clinic] identifier_system``, else the kit's."""
    if settings is None:
        from sciatica_kit.settings import load_settings

        settings = load_settings()
    value = (settings.get("clinic") or {}).get("identifier_system")
    return str(value).strip() if value and str(value).strip() else PATIENT_ID_SYSTEM


def patient_resource(patient_id: Any, *, system: str | None = None) -> dict:
    """A Patient with only the clinic's identifier (no demographics).

    An id that looks like a person's name is never put in ``identifier`` (the
    Patient is then sent without one); an id that looks like a national number
    is sent but warned about.  Both raise :class:`IdentityWarning`.
    """
    resource: dict[str, Any] = {"resourceType": "Patient"}
    value = text(patient_id).strip()
    if not value:
        return resource
    problem = identity_problem(value)
    if problem == "name":
        warnings.warn(
            "The patient id looks like a person's name, so it was left out of the FHIR export. "
            "Use the clinic's patient number instead (for example P-0012).",
            IdentityWarning,
            stacklevel=3,
        )
        return resource
    if problem == "national number":
        warnings.warn(
            "The patient id looks like a national or insurance number. Exports should carry the "
            "clinic's own patient number; check before sending.",
            IdentityWarning,
            stacklevel=3,
        )
    resource["identifier"] = [{"system": system or identifier_system(), "value": value}]
    return resource


def patient_identifier(res: Mapping, *, system: str | None = None) -> str | None:
    """The identifier value the kit uses for a Patient resource, or None."""
    idents = [i for i in res.get("identifier") or [] if isinstance(i, Mapping) and text(i.get("value")).strip()]
    preferred = [system or identifier_system(), PATIENT_ID_SYSTEM]
    for sys in preferred:
        for ident in idents:
            if ident.get("system") == sys:
                return text(ident["value"]).strip()
    for ident in idents:
        codes = [c.get("code") for c in ((ident.get("type") or {}).get("coding") or [])]
        if "MR" in codes:
            return text(ident["value"]).strip()
    plain = [i for i in idents if identity_problem(text(i["value"])) is None]  # a national number last
    return text((plain or idents)[0]["value"]).strip() if idents else None


# --------------------------------------------------------------------------- validation


def model_class(resource_type: str):
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


_PLAIN = {
    "json_invalid": "should be an object with fields, not a single value",
    "model_type": "should be an object with fields",
    "model_validation_format": "has the wrong shape (an object or a list where the other is expected)",
    "list_type": "should be a list",
    "string_type": "should be text",
    "string_unicode": "has a damaged character",
    "missing": "is missing",
    "extra_forbidden": "is not a FHIR R4 field here",
}


def _plain(err: Mapping) -> str:
    """A validation message in plain words (the model's own words when there is no better one)."""
    if err["type"] in _PLAIN:
        return _PLAIN[err["type"]]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if "does not match spec regex" in msg:
        kind = msg.split(" value string")[0]
        return f"is not a valid FHIR {kind.lower()}"
    return msg


def describe(exc: pydantic.ValidationError, where: str = "Bundle") -> str:
    problems = []
    for err in exc.errors(include_url=False)[:5]:
        loc = list(err["loc"])
        here = where
        if len(loc) >= 2 and loc[0] == "entry" and isinstance(loc[1], int):
            here, loc = f"entry {loc[1]}", loc[2:]
            if loc[:1] == ["resource"]:
                loc = loc[1:]
        fld = ".".join(str(p) for p in loc if p != "root") or "(whole resource)"
        problems.append(f"{here}, field {fld}: {_plain(err)}")
    more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return "; ".join(problems) + more


def validate_bundle(bundle: Any):
    """Validate a Bundle with the R4B models; a ValueError names the entry and field of each problem."""
    from fhir.resources.R4B.bundle import Bundle

    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        kind = bundle.get("resourceType") if isinstance(bundle, Mapping) else type(bundle).__name__
        raise ValueError(
            f"Not a FHIR Bundle (resourceType is {kind!r}). "
            "Pass the whole Bundle JSON, as written by observations_bundle or write_bundle."
        )
    try:
        return Bundle.model_validate(bundle)
    except pydantic.ValidationError as exc:
        raise ValueError(
            "The bundle is not valid FHIR R4: " + describe(exc) + ". Fix these fields so they follow the FHIR R4 specification."
        ) from None


def validated(entries: list[tuple[str, dict]], kind: str = "collection") -> dict:
    """Wrap (fullUrl, resource) pairs in a Bundle, validate it, return JSON-able."""
    bundle = {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [{"fullUrl": url, "resource": res} for url, res in entries],
    }
    plain = json.loads(json.dumps(bundle, allow_nan=False))  # JSON-able, a copy the caller may change
    validate_bundle(plain)
    return plain


def resource_problem(res: Mapping) -> str | None:
    """None when ``res`` is a valid R4 resource of its type, else what is wrong."""
    try:
        model_class(res["resourceType"]).model_validate(res)
    except pydantic.ValidationError as exc:
        return describe(exc, where="")
    except (KeyError, ValueError) as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------- reading


def load_json(source: Any) -> Any:
    """A dict as given; JSON or NDJSON text; or the path of such a file (one JSON value, or a list for NDJSON)."""
    if isinstance(source, (Mapping, list)):
        return source
    if not isinstance(source, (str, bytes, Path)):
        raise ValueError(f"Not FHIR JSON (got {type(source).__name__}). Pass a Bundle or resource, JSON text or a file path.")
    if isinstance(source, bytes):
        source = source.decode("utf-8-sig", errors="replace")
    if isinstance(source, str) and source.lstrip()[:1] in ("{", "["):
        raw = source
    else:
        try:
            raw = Path(source).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"The FHIR file cannot be read ({exc}). Export it again as FHIR JSON.") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        rows = [line for line in raw.splitlines() if line.strip()]
        if len(rows) > 1:
            try:
                return [json.loads(line) for line in rows]  # NDJSON (bulk export): one resource a line
            except json.JSONDecodeError:
                pass
        raise ValueError(f"The bundle is not valid JSON ({exc}). Export it again as FHIR JSON.") from None


READ_BUNDLE_TYPES = ("collection", "searchset", "transaction", "batch", "transaction-response", "batch-response", "document", "message")


@dataclass
class Entry:
    """One resource of the input with the names used to find it and to report on it."""

    index: int | None
    resource: dict
    full_url: str | None = None
    method: str | None = None
    keys: list[str] = field(default_factory=list)
    label: str | None = None

    @property
    def kind(self) -> str:
        return str(self.resource.get("resourceType") or "resource")

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        rid = self.resource.get("id")
        where = f" (entry {self.index})" if self.index is not None else ""
        return f"{self.kind} '{rid}'{where}" if rid else f"{self.kind}{where or ' (no id)'}"


def entries_of(data: Any) -> list[Entry]:
    """The resources of a Bundle (any read type), a single resource, or an NDJSON list."""
    if isinstance(data, list):
        items = [(i, {"resource": r}) for i, r in enumerate(data)]
    elif isinstance(data, Mapping) and data.get("resourceType") == "Bundle":
        if data.get("type") not in READ_BUNDLE_TYPES:
            raise ValueError(
                f"A Bundle of type {data.get('type')!r} cannot be read; use a collection, searchset, "
                "transaction or batch Bundle."
            )
        items = list(enumerate(data.get("entry") or []))
    elif isinstance(data, Mapping) and isinstance(data.get("resourceType"), str) and data["resourceType"]:
        items = [(None, {"resource": data})]
    else:
        kind = type(data).__name__
        raise ValueError(f"Not a FHIR resource or Bundle (got {kind}). Pass FHIR JSON: a Bundle or one resource.")
    out = []
    for i, item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("resource"), Mapping):
            continue
        res = dict(item["resource"])
        full = item.get("fullUrl")
        method = ((item.get("request") or {}).get("method") or "").upper() or None
        e = Entry(i, res, full, method)
        if full:
            e.keys.append(str(full))
        if res.get("id"):
            e.keys.append(f"{e.kind}/{res['id']}")
        out.append(e)
    return out


def resolve(reference: str | None, entries: Iterable[Entry]) -> Entry | None:
    """The entry a reference points to: by fullUrl, ``Type/id``, or an absolute URL ending in ``Type/id``."""
    if not reference:
        return None
    ref = str(reference).split("/_history/")[0]
    for e in entries:
        if ref in e.keys:
            return e
    for e in entries:
        for k in e.keys:
            if not k.startswith("urn:") and "/" in k and (ref.endswith("/" + k) or k.endswith("/" + ref)):
                return e
    return None


class Problems:
    """What is wrong in a bundle, each naming its resource and field, collected before anything is imported."""

    def __init__(self):
        self.items: list[LogProblem] = []

    def add(self, entry: Entry, fld: str | None, problem: str, fix: str) -> None:
        where = f"{entry.name}, {fld}" if fld else entry.name
        self.items.append(LogProblem(None, None, f"{where}: {problem}", fix))


def patient_of(entry: Entry, entries: list[Entry], patient_id: str | None, problems: Problems) -> tuple[str | None, str | None]:
    """(patient id, unresolved reference) for a resource's subject."""
    subject = entry.resource.get("subject") or {}
    ref = subject.get("reference")
    target = resolve(ref, entries) if ref else None
    if target is not None and target.kind == "Patient":
        pid = patient_identifier(target.resource)
        if pid:
            return pid, None
        problems.add(target, "identifier", "the Patient has no identifier", "Give the Patient the clinic's patient number as an identifier")
        return None, None
    ident = text((subject.get("identifier") or {}).get("value")).strip()
    if ident:
        return ident, None
    if patient_id is not None:
        return str(patient_id), ref or "(none)"
    if ref:
        problems.add(entry, "subject", f"the patient {ref!r} is not in this bundle",
                     "Include the Patient resource, or import with patient_id= naming the patient")
    else:
        problems.add(entry, "subject", "no patient", "Give subject.reference to a Patient with an identifier")
    return None, None
