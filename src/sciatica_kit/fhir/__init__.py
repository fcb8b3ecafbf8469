"""FHIR R4 exchange: programmes as CarePlans, progress logs as Observations, questionnaires.

The resources are built and checked with the ``fhir.resources`` models for
**FHIR R4B (4.3.0)**, imported from ``fhir.resources.R4B`` (wire-compatible with
R4 for the resources used here), and the tests check every resource the kit
writes against the official FHIR R4 JSON schema as well.  Standard codes
(SNOMED CT, LOINC, UCUM units, body sites, answer lists) live in the catalogue
file ``data/catalog/codes.toml``, not in this code.

Modules: :mod:`~sciatica_kit.fhir.observations` (Observations both ways, the
import rules), :mod:`~sciatica_kit.fhir.careplan` (CarePlan both ways),
:mod:`~sciatica_kit.fhir.questionnaires` (ODI, RMDQ, STarT Back, SBI).

Conventions
-----------
* Bundles are ``type: collection``; entries are linked by ``urn:uuid`` full URLs.
* The Patient carries only the clinic's patient identifier (system from the
  settings file, ``[clinic] identifier_system``), no demographics; an id that
  looks like a name is never exported, one that looks like a national number is
  warned about (:class:`IdentityWarning`).
* Kit ids travel as codes of local code systems under
  ``https://sciatica-kit.invalid/CodeSystem/`` next to the standard codes, so
  that back pain and leg pain (both LOINC 72514-3) stay distinguishable.
* Everything a user typed (notes, clinic) is copied as data, never interpreted.
"""

from __future__ import annotations

from pathlib import Path

from sciatica_kit.fhir._base import (
    CONDITION_SYSTEM,
    DOSE_EXTENSION,
    EXERCISE_SYSTEM,
    FINDING_SYSTEM,
    LOINC,
    MEASURE_SYSTEM,
    PATIENT_ID_SYSTEM,
    RED_FLAG_SYSTEM,
    SNOMED,
    UCUM,
    IdentityWarning,
    identity_problem,
    load_codes,
    patient_resource,
    validate_bundle,
)
from sciatica_kit.fhir.careplan import PROGRAMME_EXTENSION, careplan_bundle, read_careplan
from sciatica_kit.fhir.observations import (
    FhirImport,
    import_observations,
    observations_bundle,
    read_observations,
    read_questionnaire_responses,
)
from sciatica_kit.fhir.questionnaires import questionnaire, questionnaire_bundle
from sciatica_kit.files import private_path
from sciatica_kit.log import LOG_COLUMNS

__all__ = [
    "CONDITION_SYSTEM",
    "DOSE_EXTENSION",
    "EXERCISE_SYSTEM",
    "FINDING_SYSTEM",
    "LOG_COLUMNS",
    "LOINC",
    "MEASURE_SYSTEM",
    "PATIENT_ID_SYSTEM",
    "PROGRAMME_EXTENSION",
    "RED_FLAG_SYSTEM",
    "SNOMED",
    "UCUM",
    "FhirImport",
    "IdentityWarning",
    "careplan_bundle",
    "identity_problem",
    "import_observations",
    "load_codes",
    "observations_bundle",
    "patient_resource",
    "questionnaire",
    "questionnaire_bundle",
    "read_careplan",
    "read_observations",
    "read_questionnaire_responses",
    "write_bundle",
]


def write_bundle(bundle: dict, path: str | Path) -> Path:
    """Write a Bundle as JSON, owner-readable only and atomically.

    The bundle is validated first, so a broken bundle is never written.

    Parameters
    ----------
    bundle : dict
        A FHIR Bundle as made by this package.
    path : str or path-like
        The JSON file to write.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib, sciatica_kit as sk
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "plan.json"
    >>> oct(write_bundle(careplan_bundle(sk.build_programme(["sciatica"])), out).stat().st_mode & 0o777)
    '0o600'
    """
    import json

    validate_bundle(bundle)
    path = Path(path)
    with private_path(path) as tmp:
        tmp.write_text(json.dumps(bundle, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
