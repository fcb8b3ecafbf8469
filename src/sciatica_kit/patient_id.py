"""One rule for patient ids, used by the programme builder, the visit logger and file imports.

A patient id is the clinic's short identifier (a clinic number such as ``P-0042``),
never a name or a date of birth: ids appear on handouts, file names and charts.

- 1 to 32 characters;
- letters, digits, hyphen ``-``, underscore ``_`` and full stop ``.`` only
  (no spaces, no slashes);
- an id that looks like a person's name (letters only, no digit) or contains a
  date (``12/03/1975``, ``1975-03-12``) is accepted with a warning that ids
  should be clinic numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_LENGTH", "PatientIdError", "check_patient_id", "patient_id_rule", "patient_id_warning", "valid_patient_id"]

MAX_LENGTH = 32
_ALLOWED = re.compile(r"[A-Za-z0-9._-]+")
_DATE = re.compile(
    r"(?<!\d)(\d{1,2}[./-]\d{1,2}[./-](\d{4}|\d{2})|(19|20)\d{2}[./-]\d{1,2}[./-]\d{1,2})(?!\d)"
)


class PatientIdError(ValueError):
    """The text cannot be a patient id; the message says why, in clinic words."""


def patient_id_rule() -> str:
    """The id rule in one sentence, for hints beside id boxes.

    Returns
    -------
    str
        The rule, for a hint beside an id box.
    """
    return (f"A patient id is the clinic number: 1 to {MAX_LENGTH} letters, digits, '-', '_' or '.', "
            "no spaces (e.g. P-0042). Never a name or a date of birth.")


@dataclass(frozen=True)
class PatientIdCheck:
    """The outcome of :func:`check_patient_id`: the cleaned id, an error or a warning (or neither)."""

    patient_id: str
    error: str = ""
    warning: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def patient_id_warning(patient_id: str) -> str:
    """A warning when a valid id looks like a name or a date of birth, else ``""``.

    Parameters
    ----------
    patient_id : str
        An id that passed :func:`valid_patient_id`.

    Returns
    -------
    str
        The warning, or an empty string.

    Examples
    --------
    >>> patient_id_warning("P-0042")
    ''
    >>> patient_id_warning("Smith") != ""
    True
    >>> patient_id_warning("12.03.1975") != ""
    True
    """
    pid = str(patient_id).strip()
    if _DATE.search(pid):
        return (f"'{pid}' looks like a date of birth. Patient ids should be clinic numbers "
                "(e.g. P-0042): a date of birth identifies the patient on every handout and file.")
    if pid and not any(ch.isdigit() for ch in pid) and sum(ch.isalpha() for ch in pid) >= 3:
        return (f"'{pid}' looks like a name. Patient ids should be clinic numbers (e.g. P-0042): "
                "a name identifies the patient on every handout and file.")
    return ""


def check_patient_id(text: object) -> PatientIdCheck:
    """Check a typed patient id against the rule.

    Parameters
    ----------
    text
        What was typed or read from a file; surrounding spaces are removed.

    Returns
    -------
    PatientIdCheck
        ``.patient_id`` (stripped), ``.error`` (the id is refused) and ``.warning``
        (accepted, but it looks like a name or a date of birth).

    Examples
    --------
    >>> check_patient_id(" P-0042 ").patient_id
    'P-0042'
    >>> check_patient_id("P 42").ok
    False
    """
    pid = "" if text is None else str(text).strip()
    if not pid:
        return PatientIdCheck(pid, error="Enter the patient id (the clinic number, e.g. P-0042).")
    if len(pid) > MAX_LENGTH:
        return PatientIdCheck(pid, error=f"The patient id '{pid[:MAX_LENGTH]}...' is {len(pid)} characters long; "
                                         f"use at most {MAX_LENGTH} (the clinic number, e.g. P-0042).")
    if not _ALLOWED.fullmatch(pid):
        bad = sorted({ch for ch in pid if not _ALLOWED.fullmatch(ch)})
        shown = ", ".join("a space" if ch == " " else f"'{ch}'" for ch in bad)
        return PatientIdCheck(pid, error=f"The patient id '{pid}' contains {shown}. Use only letters, digits, "
                                         "'-', '_' or '.' (e.g. P-0042).")
    return PatientIdCheck(pid, warning=patient_id_warning(pid))


def valid_patient_id(text: object) -> str:
    """The cleaned id, or :class:`PatientIdError` with the reason.

    Parameters
    ----------
    text : object
        What was typed or read from a file.

    Returns
    -------
    str
        The id without surrounding spaces.

    Examples
    --------
    >>> valid_patient_id("DEMO-001")
    'DEMO-001'
    """
    check = check_patient_id(text)
    if check.error:
        raise PatientIdError(check.error)
    return check.patient_id
