"""Pose data: the joint angles of each frame of an exercise picture, read and checked.

Every exercise picture is drawn by the kit with matplotlib; no image files are
shipped.  Poses are *data*: ``data/catalog/poses.toml`` holds, per exercise id,
the setting (floor, mat, chair, bike, water, standing) and the joint angles of
each frame (``start`` and ``end``, or a single ``hold``).  A clinic exercise can
carry the same table inline as the field ``pose`` of its catalogue entry; the
inline pose wins over ``poses.toml``.  An exercise without any pose still gets
a picture: a generic card showing a figure in the exercise's position and the
exercise's name.

Conventions of a pose frame (all angles in degrees):

``pelvis = [x, y]``
    Hip joint position; with ``ground = "each"`` (the default on the floor)
    the figure is then lowered or raised so it rests on the floor line.
``trunk``
    Direction of the lower trunk (pelvis to waist), counter-clockwise from
    the +x axis: 90 is upright, 180 lying with the head to the left.  The
    figure's front is clockwise of the trunk, so lying on the back is drawn
    head-left and lying on the front head-right (``mirror = true`` flips a
    picture left-right).
``spine``, ``neck``
    Flexion (+) / extension (-) of the upper trunk and of the head.
``hip``, ``knee``, ``ankle``, ``shoulder``, ``elbow``
    Near-side joint angles, flexion positive (``ankle``: 0 is a right angle
    between foot and shin, + pulls the toes up).  ``far_hip`` etc. give the
    far side; each defaults to the near side's value.
``foot_angle``
    Absolute foot direction instead of ``ankle`` (0 = foot flat, toes to +x).
``foot``, ``hand`` (and ``far_foot``, ``far_hand``)
    Instead of angles, a target the ball of the foot / the hand reaches:
    ``[x, y]`` or a body point such as ``"near_knee"`` or ``"near_thigh:0.7"``
    (70 % down the near thigh).  Hips, knees, shoulders and elbows then bend
    the anatomical way to reach it (``flip_knee`` / ``flip_elbow`` bend the
    other way, for a limb turned out of the picture's plane).
``thigh_scale``, ``upper_arm_scale`` (and ``far_...``)
    Draw a limb that points towards the viewer shorter (0.05 to 1.5).

Entry fields: ``setting``, optional ``view`` ("side", or "above" for side
lying seen from above), ``mirror``, ``ground`` ("each" / "first" / "none"),
``pillow``, ``strap = [point, point]``, ``water_level``, ``highlight`` (segment
names) and ``arrow`` (a table or a list of tables): ``{ joint = "near_knee" }``
draws a curved arrow at that joint from its start to its end angle;
``{ point = "pelvis" }`` a straight arrow from the point's start to its end
position; ``{ point = ..., vector = [dx, dy] }`` a fixed straight arrow;
``{ center = "crank", radius = r, start = a0, end = a1 }`` an arc about a
point.  ``both = true`` puts heads on both ends (rocking movements),
``offset = [dx, dy]`` moves an arrow, ``radius`` sizes an arc and ``sweep``
gives the arc of a ``hold`` picture.
"""

from __future__ import annotations

import copy
import difflib
import functools
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sciatica_kit import catalog as _catalog
from sciatica_kit._docs import shared_docs
from sciatica_kit.illustrations.body import _JOINTS, _POINTS, _SEG_RE, SEGMENTS

POSES_FILE = "poses.toml"
SETTINGS = ("floor", "mat", "chair", "bike", "water", "standing")
VIEWS = ("side", "above")
GROUNDS = ("each", "first", "none")

_FRAME_NUMBERS = (
    "trunk",
    "spine",
    "neck",
    "hip",
    "knee",
    "ankle",
    "shoulder",
    "elbow",
    "foot_angle",
    "thigh_scale",
    "upper_arm_scale",
    "far_hip",
    "far_knee",
    "far_ankle",
    "far_shoulder",
    "far_elbow",
    "far_foot_angle",
    "far_thigh_scale",
    "far_upper_arm_scale",
)
_FRAME_TARGETS = ("hand", "far_hand", "foot", "far_foot")
_FRAME_FLAGS = ("flip_knee", "far_flip_knee", "flip_elbow", "far_flip_elbow")
_FRAME_FIELDS = {"pelvis", "label", *_FRAME_NUMBERS, *_FRAME_TARGETS, *_FRAME_FLAGS}
_ENTRY_FIELDS = {
    "setting",
    "view",
    "mirror",
    "ground",
    "pillow",
    "strap",
    "water_level",
    "highlight",
    "arrow",
    "start",
    "end",
    "hold",
}
_ARROW_FIELDS = {
    "joint",
    "point",
    "center",
    "radius",
    "start",
    "end",
    "sweep",
    "offset",
    "vector",
    "both",
}


# =============================================================== validation


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_point_name(v: object) -> bool:
    if not isinstance(v, str):
        return False
    m = _SEG_RE.match(v)
    return v in _POINTS or (m is not None and 0.0 <= float(m.group(2)) <= 1.0)


def _is_xy(v: object) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v)


def _check_frame(raw: object, where: str, prefix: str, problems: list[str]) -> dict | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}, field '{prefix}': should be a table of joint angles")
        return None
    out: dict[str, Any] = {}
    for key in sorted(set(raw) - _FRAME_FIELDS):
        problems.append(
            f"{where}, field '{prefix}.{key}': unknown field; valid fields: {', '.join(sorted(_FRAME_FIELDS))}"
        )
    for key in ("pelvis", "trunk"):
        if key not in raw:
            problems.append(f"{where}, field '{prefix}.{key}': missing")
    if "pelvis" in raw:
        if _is_xy(raw["pelvis"]):
            out["pelvis"] = [float(x) for x in raw["pelvis"]]
        else:
            problems.append(
                f"{where}, field '{prefix}.pelvis': {raw['pelvis']!r} should be [x, y] (two numbers)"
            )
    for key in _FRAME_NUMBERS:
        if key in raw:
            if _is_number(raw[key]):
                out[key] = float(raw[key])
            else:
                problems.append(
                    f"{where}, field '{prefix}.{key}': {raw[key]!r} is not a number of degrees"
                )
    for key in _FRAME_TARGETS:
        if key in raw:
            v = raw[key]
            if _is_xy(v):
                out[key] = [float(x) for x in v]
            elif _is_point_name(v):
                out[key] = v
            else:
                problems.append(
                    f"{where}, field '{prefix}.{key}': {v!r} should be [x, y] or a body point "
                    f"such as 'near_knee' or 'near_thigh:0.7'"
                )
    for key in _FRAME_FLAGS:
        if key in raw:
            if isinstance(raw[key], bool):
                out[key] = raw[key]
            else:
                problems.append(f"{where}, field '{prefix}.{key}': should be true or false")
    for key in ("thigh_scale", "far_thigh_scale", "upper_arm_scale", "far_upper_arm_scale"):
        if key in out and not 0.05 <= out[key] <= 1.5:
            problems.append(
                f"{where}, field '{prefix}.{key}': {out[key]:g} should be between 0.05 and 1.5"
            )
    if "label" in raw:
        if isinstance(raw["label"], str):
            out["label"] = raw["label"]
        else:
            problems.append(f"{where}, field '{prefix}.label': should be text")
    for side, limb, angles, target in (
        ("", "leg", ("hip", "knee"), "foot"),
        ("", "arm", ("shoulder", "elbow"), "hand"),
        ("far_", "leg", ("far_hip", "far_knee"), "far_foot"),
        ("far_", "arm", ("far_shoulder", "far_elbow"), "far_hand"),
    ):
        if target in raw and any(a in raw for a in angles):
            problems.append(
                f"{where}, field '{prefix}.{target}': give either the {side}{limb} angles or a target, not both"
            )
    for a, b in (("ankle", "foot_angle"), ("far_ankle", "far_foot_angle")):
        if a in raw and b in raw:
            problems.append(f"{where}, field '{prefix}.{b}': give either '{a}' or '{b}', not both")
    return out


def _check_arrow(raw: object, where: str, field_name: str, problems: list[str]) -> dict | None:
    if not isinstance(raw, Mapping):
        problems.append(
            f"{where}, field '{field_name}': should be a table such as {{ joint = \"near_knee\" }}"
        )
        return None
    out: dict[str, Any] = {}
    for key in sorted(set(raw) - _ARROW_FIELDS):
        problems.append(
            f"{where}, field '{field_name}.{key}': unknown field; valid fields: {', '.join(sorted(_ARROW_FIELDS))}"
        )
    kinds = [k for k in ("joint", "point", "center") if k in raw]
    if len(kinds) != 1:
        problems.append(
            f"{where}, field '{field_name}': give exactly one of 'joint', 'point' or 'center'"
        )
        return None
    kind = kinds[0]
    v = raw[kind]
    if kind == "joint" and v not in _JOINTS:
        problems.append(
            f"{where}, field '{field_name}.joint': unknown joint {v!r}; valid: {', '.join(_JOINTS)}"
        )
    elif kind == "point" and not _is_point_name(v):
        problems.append(
            f"{where}, field '{field_name}.point': unknown body point {v!r}; valid: {', '.join(_POINTS)}"
        )
    elif kind == "center" and not (_is_point_name(v) or _is_xy(v)):
        problems.append(
            f"{where}, field '{field_name}.center': {v!r} should be [x, y] or a body point"
        )
    out[kind] = [float(x) for x in v] if isinstance(v, list) and _is_xy(v) else v
    for key in ("radius", "start", "end", "sweep"):
        if key in raw:
            if _is_number(raw[key]):
                out[key] = float(raw[key])
            else:
                problems.append(
                    f"{where}, field '{field_name}.{key}': {raw[key]!r} is not a number"
                )
    for key in ("offset", "vector"):
        if key in raw:
            if _is_xy(raw[key]):
                out[key] = [float(x) for x in raw[key]]
            else:
                problems.append(
                    f"{where}, field '{field_name}.{key}': {raw[key]!r} should be [dx, dy]"
                )
    if "both" in raw:
        if isinstance(raw["both"], bool):
            out["both"] = raw["both"]
        else:
            problems.append(f"{where}, field '{field_name}.both': should be true or false")
    if kind == "center" and not all(k in out for k in ("radius", "start", "end")):
        problems.append(
            f"{where}, field '{field_name}': an arc about a centre needs 'radius', 'start' and 'end'"
        )
    return out


def _check_pose(raw: object, where: str, prefix: str, problems: list[str]) -> dict | None:
    """Validate one pose table; problems name ``where`` and the field (``prefix`` + name)."""
    if not isinstance(raw, Mapping):
        problems.append(f"{where}, field '{prefix or 'pose'}': should be a table")
        return None
    n_before = len(problems)
    pose: dict[str, Any] = {}
    for key in sorted(set(raw) - _ENTRY_FIELDS):
        problems.append(
            f"{where}, field '{prefix}{key}': unknown field; valid fields: {', '.join(sorted(_ENTRY_FIELDS))}"
        )
    setting = raw.get("setting")
    if setting is None:
        problems.append(f"{where}, field '{prefix}setting': missing; one of {', '.join(SETTINGS)}")
    elif setting not in SETTINGS:
        problems.append(
            f"{where}, field '{prefix}setting': unknown setting {setting!r}; valid: {', '.join(SETTINGS)}"
        )
    pose["setting"] = setting
    for key, valid, default in (("view", VIEWS, "side"), ("ground", GROUNDS, None)):
        v = raw.get(key, default)
        if v is not None and v not in valid:
            problems.append(
                f"{where}, field '{prefix}{key}': {v!r} should be one of {', '.join(valid)}"
            )
        pose[key] = v
    if pose["ground"] is None:
        pose["ground"] = (
            "none"
            if pose["view"] == "above" or setting == "bike"
            else "first"
            if setting == "chair"
            else "each"
        )
    for key in ("mirror", "pillow"):
        v = raw.get(key, False)
        if not isinstance(v, bool):
            problems.append(f"{where}, field '{prefix}{key}': should be true or false")
        pose[key] = v
    if "water_level" in raw and not _is_number(raw["water_level"]):
        problems.append(
            f"{where}, field '{prefix}water_level': {raw['water_level']!r} is not a number"
        )
    pose["water_level"] = raw.get("water_level")
    strap = raw.get("strap")
    if strap is not None and not (
        isinstance(strap, list) and len(strap) == 2 and all(_is_point_name(p) for p in strap)
    ):
        problems.append(
            f'{where}, field \'{prefix}strap\': should be two body points, e.g. ["near_hand", "near_ball"]'
        )
    pose["strap"] = strap
    hl = raw.get("highlight")
    if hl is not None and not (isinstance(hl, list) and all(h in SEGMENTS for h in hl)):
        problems.append(
            f"{where}, field '{prefix}highlight': should list body segments from {', '.join(SEGMENTS)}"
        )
    pose["highlight"] = hl
    arrows = raw.get("arrow", [])
    if isinstance(arrows, Mapping):
        arrows = [arrows]
    if not isinstance(arrows, list):
        problems.append(f"{where}, field '{prefix}arrow': should be a table or a list of tables")
        arrows = []
    pose["arrow"] = []
    for i, a in enumerate(arrows, start=1):
        name = f"{prefix}arrow" if len(arrows) == 1 else f"{prefix}arrow[{i}]"
        checked = _check_arrow(a, where, name, problems)
        if checked is not None:
            pose["arrow"].append(checked)
    has = [k for k in ("start", "end", "hold") if k in raw]
    if "hold" in raw and ("start" in raw or "end" in raw):
        problems.append(
            f"{where}, field '{prefix}hold': give either a 'hold' frame or 'start' and 'end', not both"
        )
    elif not has:
        problems.append(
            f"{where}, field '{prefix}start': missing frame; give 'start' and 'end' frames, or one 'hold' frame"
        )
    elif "hold" not in raw:
        for k in ("start", "end"):
            if k not in raw:
                problems.append(
                    f"{where}, field '{prefix}{k}': missing frame; give both 'start' and 'end', or one 'hold'"
                )
    for k in has:
        frame = _check_frame(raw[k], where, f"{prefix}{k}", problems)
        if frame is not None:
            pose[k] = frame
    if "hold" in pose:
        for i, a in enumerate(pose["arrow"], start=1):
            if "joint" in a and "sweep" not in a:
                problems.append(
                    f"{where}, field '{prefix}arrow': a curved arrow on a 'hold' picture needs 'sweep' (item {i})"
                )
            if "point" in a and "vector" not in a:
                problems.append(
                    f"{where}, field '{prefix}arrow': a straight arrow on a 'hold' picture needs 'vector' (item {i})"
                )
    return pose if len(problems) == n_before else None


def load_poses(path: str | Path | None = None, *, exercise_ids=None) -> dict[str, dict]:
    """Read and validate a poses file (default: ``poses.toml`` in the catalogue folder).

    Parameters
    ----------
    path : str or Path, optional
        The poses file; default ``poses.toml`` in the catalogue folder.
    exercise_ids : iterable of str, optional
        The catalogue's exercise ids; an entry for any other id is a problem.

    Returns
    -------
    dict
        Exercise id -> validated pose (a copy: changing it changes nothing).

    Raises
    ------
    ValueError
        (:class:`~sciatica_kit.catalog.CatalogError`) naming the file, the entry
        and the field of every problem: an exercise id not in ``exercise_ids``,
        a missing frame, a non-numeric angle, an unknown field...
    """
    p = Path(path) if path is not None else _catalog.catalog_dir() / POSES_FILE
    try:
        stamp = p.stat().st_mtime_ns
    except OSError:
        stamp = None
    ids = frozenset(exercise_ids) if exercise_ids is not None else None
    return copy.deepcopy(_load_poses_cached(str(p), stamp, ids))


@functools.lru_cache(maxsize=16)
def _load_poses_cached(path: str, _stamp, ids: frozenset | None) -> dict[str, dict]:
    p = Path(path)
    try:
        with p.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise _catalog.CatalogError([f"{p.name}: file is missing ({p})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise _catalog.CatalogError(
            [f"{p.name}: not valid TOML ({exc}); check quotes, commas and brackets"]
        ) from None
    problems: list[str] = []
    out: dict[str, dict] = {}
    for eid, entry in raw.items():
        where = f"{p.name}: exercise '{eid}'"
        if ids is not None and eid not in ids:
            close = difflib.get_close_matches(eid, sorted(ids), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(
                f"{where}: unknown exercise id{hint}; every entry must be an exercise of the catalogue"
            )
            continue
        pose = _check_pose(entry, where, "", problems)
        if pose is not None:
            pose["source"] = p.name
            out[eid] = pose
    if problems:
        raise _catalog.CatalogError(problems)
    return out


# =============================================================== lookup


def _resolve_catalog(catalog):
    return catalog if catalog is not None else _catalog.load_catalog()


def _poses_path(catalog, explicit: bool) -> tuple[Path, bool]:
    """The poses file for ``catalog`` and whether it belongs to the catalogue's own folder."""
    default = _catalog.catalog_dir() / POSES_FILE
    if not explicit or not getattr(catalog, "files", ()):
        return default, True
    own = Path(catalog.files[0]).parent / POSES_FILE
    if own.exists():
        return own, True
    return default, False


def _file_poses(catalog, explicit: bool) -> dict[str, dict]:
    path, own = _poses_path(catalog, explicit)
    if not path.exists():
        return {}
    ids = catalog.records["exercises"].keys()
    if own:
        return load_poses(path, exercise_ids=ids)
    return {k: v for k, v in load_poses(path).items() if k in ids}


def _exercise(exercise_id: str, catalog) -> dict:
    ex = catalog.records["exercises"]
    if exercise_id not in ex:
        raise _catalog.unknown_id_error("exercise", exercise_id, ex)
    return ex[exercise_id]


def _own_pose(exercise_id: str, catalog, explicit: bool) -> dict | None:
    rec = _exercise(exercise_id, catalog)
    inline = rec.get("pose")
    if inline is not None:
        problems: list[str] = []
        where = f"{rec.get('file', 'catalogue')}: exercise '{exercise_id}'"
        pose = _check_pose(inline, where, "pose.", problems)
        if problems:
            raise _catalog.CatalogError(problems)
        pose["source"] = "inline"
        return pose
    pose = _file_poses(catalog, explicit).get(exercise_id)
    return pose


@shared_docs
def pose_for(exercise_id: str, *, catalog=None) -> dict:
    """The validated pose data of an exercise.

    The exercise's inline ``pose`` (clinic entries) wins over ``poses.toml``;
    an exercise with neither gets the generic pose of its position, marked
    ``source = "fallback"``.

    Parameters
    ----------
    exercise_id : str
        An exercise id of the catalogue.
    {catalog}

    Returns
    -------
    dict
        The pose (setting, view, frames, arrows...), a copy: changing it changes nothing.

    Raises
    ------
    ValueError
        For an unknown exercise id (listing the valid ids), or a malformed pose.

    Examples
    --------
    >>> pose_for("floor_bridge")["setting"]
    'mat'
    """
    explicit = catalog is not None
    catalog = _resolve_catalog(catalog)
    pose = _own_pose(exercise_id, catalog, explicit)
    if pose is None:
        pose = _fallback_pose(_exercise(exercise_id, catalog))
    return copy.deepcopy(pose)


@shared_docs
def missing_pictures(catalog=None) -> list[str]:
    """Ids of the exercises that have no pose of their own (they get the generic card).

    Parameters
    ----------
    {catalog}

    Returns
    -------
    list of str
        Sorted exercise ids.
    """
    explicit = catalog is not None
    catalog = _resolve_catalog(catalog)
    have = _file_poses(catalog, explicit)
    return sorted(
        eid
        for eid, rec in catalog.records["exercises"].items()
        if rec.get("pose") is None and eid not in have
    )


# ----------------------------------------------------------------- fallback poses (by position)

_FALLBACK = {
    "sitting": {
        "setting": "chair",
        "hold": {
            "pelvis": [0, 2.8],
            "trunk": 90,
            "hip": 90,
            "knee": 90,
            "shoulder": 10,
            "elbow": 60,
        },
    },
    "back": {
        "setting": "mat",
        "hold": {
            "pelvis": [0, 0.5],
            "trunk": 180,
            "hip": 50,
            "knee": 100,
            "foot_angle": 0,
            "shoulder": 20,
            "elbow": 10,
        },
    },
    "front": {
        "setting": "mat",
        "mirror": True,
        "hold": {
            "pelvis": [0, 0.45],
            "trunk": 0,
            "neck": -10,
            "ankle": -75,
            "shoulder": 90,
            "elbow": 90,
            "upper_arm_scale": 0.15,
        },
    },
    "side": {
        "setting": "mat",
        "view": "above",
        "pillow": True,
        "hold": {
            "pelvis": [0, 0],
            "trunk": 180,
            "hip": 40,
            "knee": 70,
            "shoulder": 40,
            "elbow": 60,
        },
    },
    "all_fours": {
        "setting": "mat",
        "mirror": True,
        "hold": {
            "pelvis": [0, 2.6],
            "trunk": 6,
            "hip": 90,
            "knee": 96,
            "foot_angle": 180,
            "hand": [2.95, 0.21],
        },
    },
    "bike": {
        "setting": "bike",
        "hold": {
            "pelvis": [0, 5.2],
            "trunk": 70,
            "foot": [1.4, 2.2],
            "far_foot": [2.4, 1.2],
            "foot_angle": 0,
            "hand": [2.6, 6.2],
        },
    },
    "water": {
        "setting": "water",
        "hold": {"pelvis": [0, 4.7], "trunk": 90, "shoulder": 20, "far_shoulder": -20, "elbow": 20},
    },
    "standing": {
        "setting": "standing",
        "hold": {"pelvis": [0, 4.7], "trunk": 90, "shoulder": 5, "elbow": 10},
    },
}


def _position_key(position: str) -> str:
    p = (position or "").lower()
    for words, key in (
        (("bike", "cycle"), "bike"),
        (("water", "pool"), "water"),
        (("sit",), "sitting"),
        (("front", "prone", "stomach", "tummy"), "front"),
        (("side",), "side"),
        (("back", "supine", "lying"), "back"),
        (("hands and knees", "all fours", "kneel"), "all_fours"),
    ):
        if any(w in p for w in words):
            return key
    return "standing"


def _fallback_pose(rec: Mapping) -> dict:
    key = _position_key(rec.get("position", ""))
    problems: list[str] = []
    pose = _check_pose(_FALLBACK[key], "built-in fallback", "", problems)
    assert pose is not None, problems
    pose["source"] = "fallback"
    pose["position"] = rec.get("position", "")
    pose["name"] = rec.get("name", "")
    return pose

