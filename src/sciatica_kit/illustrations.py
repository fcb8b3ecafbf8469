"""Drawn exercise pictures: one generic stick-figure renderer driven by pose data.

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
import io
import math
import re
import textwrap
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Polygon
from matplotlib.path import Path as MplPath

from sciatica_kit import catalog as _catalog

__all__ = [
    "POSES_FILE",
    "SETTINGS",
    "draw_exercise",
    "exercise_picture",
    "exercise_png",
    "load_poses",
    "missing_pictures",
    "picture_file",
    "pose_for",
]

POSES_FILE = "poses.toml"
SETTINGS = ("floor", "mat", "chair", "bike", "water", "standing")
VIEWS = ("side", "above")
GROUNDS = ("each", "first", "none")
FIGSIZE = (6.4, 2.6)

# ----------------------------------------------------------------- body model
# Lengths in "body units" (standing height is about 9.6 units).
TORSO_LOW, TORSO_UP, SHOULDER_DROP = 1.45, 1.75, 0.38
NECK, HEAD_R = 0.28, 0.58
UPPER_ARM, FOREARM = 1.5, 1.6  # forearm to the middle of the hand
THIGH, SHIN, FOOT, HEEL, BALL = 2.35, 2.25, 0.85, 0.12, 0.55
HALF = {  # half widths of the rounded limbs at their two ends (the trunk: along its length)
    "trunk": ((0.0, 0.42, 0.8, 1.0), (0.44, 0.42, 0.5, 0.45)),
    "neck": (0.2, 0.2),
    "upper_arm": (0.26, 0.21),
    "forearm": (0.21, 0.19),
    "thigh": (0.4, 0.28),
    "shin": (0.28, 0.2),
    "foot": (0.18, 0.15),
}
HEAD_FORWARD = 0.1  # the head sits a little in front of the spine

# ----------------------------------------------------------------- style
INK = "#3b4a5c"  # the figure
FAR = "#9aa8b8"  # far-side limbs
HI = "#e8761e"  # moving limbs in the end frame
HI_FAR = "#f5bd8c"
GHOST = "#d5dce4"  # start position behind the end frame
ARROW = "#c8560c"
PROP = "#8e97a2"
PROP_FILL = "#e7eaee"
FLOOR = "#b4bcc6"
FLOOR_FILL = "#eef0f3"
MAT = "#cfe6e1"
MAT_EDGE = "#8abcb3"
WATER = "#7cc3ee"
WATER_EDGE = "#2f8dca"
STRAP = "#7a5c3e"
LABEL = "#2b3440"
EDGE_LW = 1.1  # white outline of body parts, points

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
_SIDES = ("near", "far")
_LIMBS = ("upper_arm", "forearm", "thigh", "shin", "foot")
SEGMENTS = ("trunk", "neck", "head", *(f"{s}_{limb}" for s in _SIDES for limb in _LIMBS))
_POINTS = (
    "pelvis",
    "waist",
    "neck",
    "shoulder",
    "head",
    "nose",
    "crank",
    *(
        f"{s}_{p}"
        for s in _SIDES
        for p in ("elbow", "hand", "knee", "ankle", "heel", "ball", "toe")
    ),
)
# joint -> (centre point, moving point)
_JOINTS = {
    "neck": ("neck", "head"),
    "trunk": ("pelvis", "head"),
    **{f"{s}_hip": ("pelvis", f"{s}_knee") for s in _SIDES},
    **{f"{s}_knee": (f"{s}_knee", f"{s}_ankle") for s in _SIDES},
    **{f"{s}_ankle": (f"{s}_ankle", f"{s}_toe") for s in _SIDES},
    **{f"{s}_shoulder": ("shoulder", f"{s}_elbow") for s in _SIDES},
    **{f"{s}_elbow": (f"{s}_elbow", f"{s}_hand") for s in _SIDES},
}
_SEG_RE = re.compile(r"^(trunk|(?:near|far)_(?:upper_arm|forearm|thigh|shin|foot)):(\d*\.?\d+)$")


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


def pose_for(exercise_id: str, *, catalog=None) -> dict:
    """The validated pose data of an exercise.

    The exercise's inline ``pose`` (clinic entries) wins over ``poses.toml``;
    an exercise with neither gets the generic pose of its position, marked
    ``source = "fallback"``.  The returned dict is a copy: changing it changes
    nothing.

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


def missing_pictures(catalog=None) -> list[str]:
    """Ids of the exercises that have no pose of their own (they get the generic card)."""
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


# =============================================================== kinematics


def _u(deg: float) -> np.ndarray:
    r = math.radians(deg)
    return np.array([math.cos(r), math.sin(r)])


def _ang(v) -> float:
    return math.degrees(math.atan2(v[1], v[0]))


def _wrap(a: float) -> float:
    return (a + 180.0) % 360.0 - 180.0


def _ik(
    root: np.ndarray, target: np.ndarray, l1: float, l2: float, ccw_first: bool
) -> tuple[float, float]:
    """Two-link reach: (angle of the first link, angle of the second link)."""
    d_vec = target - root
    d = float(np.hypot(*d_vec))
    d = min(max(d, abs(l1 - l2) + 1e-6, 1e-6), l1 + l2 - 1e-9)
    phi = _ang(d_vec)
    cos_a = (l1 * l1 + d * d - l2 * l2) / (2 * l1 * d)
    alpha = math.degrees(math.acos(max(-1.0, min(1.0, cos_a))))
    first = phi + alpha if ccw_first else phi - alpha
    joint = root + l1 * _u(first)
    second = _ang(target - joint) if float(np.hypot(*(target - joint))) > 1e-9 else first
    return first, second


class _Body:
    """Forward kinematics of one frame: named points and drawable segments."""

    def __init__(self, frame: Mapping):
        self.frame = frame
        self.pts: dict[str, np.ndarray] = {}
        self.seg: dict[str, np.ndarray] = {}
        f = frame
        pel = np.array(f["pelvis"], float)
        t = f["trunk"]
        upper = t - f.get("spine", 0.0)
        waist = pel + TORSO_LOW * _u(t)
        neck = waist + TORSO_UP * _u(upper)
        shoulder = waist + (TORSO_UP - SHOULDER_DROP) * _u(upper)
        head_dir = upper - f.get("neck", 0.0)
        head = neck + (NECK + HEAD_R) * _u(head_dir) + HEAD_FORWARD * _u(head_dir - 90)
        self.pts.update(pelvis=pel, waist=waist, neck=neck, shoulder=shoulder, head=head)
        self.pts["nose"] = head + HEAD_R * _u(head_dir - 90)
        self.pts["nose_tip"] = head + (HEAD_R + 0.2) * _u(head_dir - 105)
        self.head_dir = head_dir
        # torso: quadratic Bezier through the waist
        ctrl = 2 * waist - 0.5 * (pel + neck)
        s = np.linspace(0, 1, 14)[:, None]
        self.seg["trunk"] = (1 - s) ** 2 * pel + 2 * (1 - s) * s * ctrl + s**2 * neck
        self.seg["neck"] = np.array([neck, neck + (NECK + 0.2) * _u(head_dir)])
        self.resolved: dict[str, float] = {}
        near_foot = frame.get("foot")
        legs = (
            ("far", "near")
            if isinstance(near_foot, str) and near_foot.startswith("far_")
            else _SIDES
        )
        for side in legs:
            self._leg(side, pel, t + 180)
        for side in _SIDES:
            self._arm(side, shoulder, upper + 180)
        self.pts["crank"] = 0.5 * (self.pts["near_ball"] + self.pts["far_ball"])
        self.outline = {n: _capsule(pts, _halfwidths(n, len(pts))) for n, pts in self.seg.items()}

    # a field of the far side defaults to the near side's (resolved) value
    def _get(self, side: str, name: str):
        if side == "near":
            return self.frame.get(name)
        return self.frame.get(f"far_{name}")

    def _leg(self, side: str, pel: np.ndarray, down: float) -> None:
        f, p = self.frame, f"{side}_"
        target = self._get(side, "foot")
        hip, knee = self._get(side, "hip"), self._get(side, "knee")
        ankle, foot_abs = self._get(side, "ankle"), self._get(side, "foot_angle")
        if side == "far":
            explicit = any(k in f for k in ("far_foot", "far_hip", "far_knee"))
            if "near_hip" not in self.resolved and not explicit:
                raise ValueError(
                    "the near foot reaches a far-leg point, so give the far leg its own angles"
                )
            if not explicit:
                target, hip, knee = None, self.resolved["near_hip"], self.resolved["near_knee"]
            else:
                hip = (
                    hip
                    if hip is not None
                    else (self.resolved["near_hip"] if target is None else None)
                )
                knee = (
                    knee
                    if knee is not None
                    else (self.resolved["near_knee"] if target is None else None)
                )
            if ankle is None and foot_abs is None:
                ankle = self.resolved.get("near_ankle", 0.0)
        hip = 0.0 if hip is None else hip
        knee = 0.0 if knee is None else knee
        ankle = 0.0 if ankle is None else ankle
        scale = self._get(side, "thigh_scale")
        if side == "far" and not any(
            k in f for k in ("far_foot", "far_hip", "far_knee", "far_thigh_scale")
        ):
            scale = f.get("thigh_scale")
        thigh_len = THIGH * (1.0 if scale is None else scale)
        if target is not None:
            flip = bool(self._get(side, "flip_knee"))
            thigh_a, shin_a = _ik(pel, self.point(target), thigh_len, SHIN, not flip)
        else:
            thigh_a = down + hip
            shin_a = thigh_a - knee
        foot_a = foot_abs if foot_abs is not None else shin_a + 90 + ankle
        knee_pt = pel + thigh_len * _u(thigh_a)
        ank = knee_pt + SHIN * _u(shin_a)
        self.resolved[p + "hip"] = _wrap(thigh_a - down)
        self.resolved[p + "knee"] = _wrap(thigh_a - shin_a)
        self.resolved[p + "ankle"] = _wrap(foot_a - shin_a - 90)
        fu = _u(foot_a)
        self.pts.update(
            {
                p + "knee": knee_pt,
                p + "ankle": ank,
                p + "heel": ank - HEEL * fu,
                p + "ball": ank + BALL * FOOT * fu,
                p + "toe": ank + FOOT * fu,
            }
        )
        self.seg[p + "thigh"] = np.array([pel, knee_pt])
        self.seg[p + "shin"] = np.array([knee_pt, ank])
        self.seg[p + "foot"] = np.array([ank - HEEL * fu, ank + FOOT * fu])

    def _arm(self, side: str, sh: np.ndarray, down: float) -> None:
        f, p = self.frame, f"{side}_"
        target = self._get(side, "hand")
        shoulder, elbow = self._get(side, "shoulder"), self._get(side, "elbow")
        if side == "far" and not any(k in f for k in ("far_hand", "far_shoulder", "far_elbow")):
            target, shoulder, elbow = (
                None,
                self.resolved["near_shoulder"],
                self.resolved["near_elbow"],
            )
        elif side == "far" and target is None:
            shoulder = shoulder if shoulder is not None else self.resolved["near_shoulder"]
            elbow = elbow if elbow is not None else self.resolved["near_elbow"]
        scale = self._get(side, "upper_arm_scale")
        if side == "far" and not any(
            k in f for k in ("far_hand", "far_shoulder", "far_elbow", "far_upper_arm_scale")
        ):
            scale = f.get("upper_arm_scale")
        upper_len = UPPER_ARM * (1.0 if scale is None else scale)
        if target is not None:
            flip = bool(self._get(side, "flip_elbow"))
            upper_a, fore_a = _ik(sh, self.point(target), upper_len, FOREARM, flip)
        else:
            upper_a = down + (shoulder or 0.0)
            fore_a = upper_a + (elbow or 0.0)
        self.resolved[p + "shoulder"] = _wrap(upper_a - down)
        self.resolved[p + "elbow"] = _wrap(fore_a - upper_a)
        el = sh + upper_len * _u(upper_a)
        hand = el + FOREARM * _u(fore_a)
        self.pts.update({p + "elbow": el, p + "hand": hand})
        self.seg[p + "upper_arm"] = np.array([sh, el])
        self.seg[p + "forearm"] = np.array([el, hand])

    def point(self, ref) -> np.ndarray:
        if isinstance(ref, list | tuple | np.ndarray):
            return np.array(ref, float)
        if ref in self.pts:
            return self.pts[ref].copy()
        m = _SEG_RE.match(ref)
        if m:
            name, frac = m.group(1), float(m.group(2))
            pts = self.seg.get(name)
            if pts is None:
                raise ValueError(
                    f"body point '{ref}' is used before it is placed (arms may reach legs, not the reverse)"
                )
            a, b = (pts[0], pts[-1])
            return a + frac * (b - a)
        raise ValueError(
            f"body point '{ref}' is used before it is placed (arms may reach legs, not the reverse)"
        )

    def lowest(self) -> float:
        ys = [float(np.min(o[:, 1])) for o in self.outline.values()]
        ys.append(float(self.pts["head"][1]) - HEAD_R)
        ys.append(float(self.pts["nose_tip"][1]))
        return min(ys)

    def shift(self, dy: float) -> None:
        d = np.array([0.0, dy])
        for k in self.pts:
            self.pts[k] = self.pts[k] + d
        for k in self.seg:
            self.seg[k] = self.seg[k] + d
            self.outline[k] = self.outline[k] + d


def _halfwidths(seg_name: str, n: int) -> np.ndarray:
    kind = _kind(seg_name)
    if kind == "trunk":
        at, hw = HALF["trunk"]
        return np.interp(np.linspace(0.0, 1.0, n), at, hw)
    return np.linspace(*HALF[kind], n)


def _kind(seg_name: str) -> str:
    for limb in _LIMBS:
        if seg_name.endswith(limb):
            return limb
    return seg_name


# =============================================================== scene


class _Scene:
    """Drawable primitives in data units; mirrored / moved as a whole."""

    def __init__(self):
        self.items: list[dict] = []

    def add(self, kind: str, xy, **style) -> None:
        self.items.append({"kind": kind, "xy": np.atleast_2d(np.asarray(xy, float)), **style})

    def transform(self, mirror: bool, dx: float) -> None:
        for it in self.items:
            xy = it["xy"].copy()
            if mirror:
                xy[:, 0] = -xy[:, 0]
            xy[:, 0] += dx
            it["xy"] = xy

    def bounds(self) -> tuple[float, float, float, float]:
        xs, ys = [], []
        for it in self.items:
            if it.get("nobounds"):
                continue
            pad = it.get("pad", 0.0)
            xs += [it["xy"][:, 0].min() - pad, it["xy"][:, 0].max() + pad]
            ys += [it["xy"][:, 1].min() - pad, it["xy"][:, 1].max() + pad]
        return min(xs), max(xs), min(ys), max(ys)


def _capsule(points: np.ndarray, half, n_cap: int = 10) -> np.ndarray:
    """Outline of a thick line with round ends along ``points`` (``half``: one or per-point half widths)."""
    pts = np.asarray(points, float)
    hw = np.broadcast_to(np.asarray(half, float), (len(pts),)).copy()
    d = np.diff(pts, axis=0)
    keep = np.concatenate([[True], np.hypot(d[:, 0], d[:, 1]) > 1e-9])
    pts, hw = pts[keep], hw[keep]
    if len(pts) < 2:
        t = np.linspace(0, 2 * np.pi, 2 * n_cap, endpoint=False)
        return pts[0] + hw[0] * np.column_stack([np.cos(t), np.sin(t)])
    d = np.diff(pts, axis=0)
    d = d / np.hypot(d[:, 0], d[:, 1])[:, None]
    nrm = np.column_stack([-d[:, 1], d[:, 0]])
    vn = np.vstack([nrm[:1], nrm[:-1] + nrm[1:], nrm[-1:]])
    vn = vn / np.hypot(vn[:, 0], vn[:, 1])[:, None]
    left = pts + hw[:, None] * vn
    right = pts - hw[:, None] * vn
    a_end = math.atan2(nrm[-1, 1], nrm[-1, 0])
    a_start = math.atan2(-nrm[0, 1], -nrm[0, 0])
    t = np.linspace(0, -np.pi, n_cap + 2)[1:-1]
    cap_end = pts[-1] + hw[-1] * np.column_stack([np.cos(a_end + t), np.sin(a_end + t)])
    cap_start = pts[0] + hw[0] * np.column_stack([np.cos(a_start + t), np.sin(a_start + t)])
    return np.vstack([left, cap_end, right[::-1], cap_start])


_LAYER = {
    "far_leg": 3.0,
    "far_arm": 3.2,
    "trunk": 4.0,
    "neck": 4.1,
    "head": 4.2,
    "near_leg": 5.0,
    "near_arm": 6.0,
}


def _layer(seg: str) -> float:
    if seg in ("trunk", "neck", "head"):
        return _LAYER[seg]
    side = seg.split("_")[0]
    limb = "arm" if seg.endswith(("upper_arm", "forearm")) else "leg"
    return _LAYER[f"{side}_{limb}"]


def _add_body(
    scene: _Scene, body: _Body, colours: Mapping[str, str], z_off: float = 0.0, ghost: bool = False
) -> None:
    """Add the body parts named in ``colours`` (segment -> colour)."""
    for name in body.seg:
        if name not in colours:
            continue
        z = _layer(name) + z_off
        scene.add(
            "poly",
            body.outline[name],
            fc=colours[name],
            ec="white",
            lw=0.0 if ghost else EDGE_LW,
            z=z,
        )
    if "head" in colours:
        c = colours["head"]
        h = body.pts["head"]
        circ = h + HEAD_R * np.column_stack(
            [np.cos(np.linspace(0, 2 * np.pi, 40)), np.sin(np.linspace(0, 2 * np.pi, 40))]
        )
        scene.add(
            "poly", circ, fc=c, ec="white", lw=0.0 if ghost else EDGE_LW, z=_layer("head") + z_off
        )
        # a small nose shows which way the face points
        hd = body.head_dir
        base = h + 0.78 * HEAD_R * _u(hd - 90)
        nose = np.array([base + 0.22 * _u(hd), body.pts["nose_tip"], base - 0.22 * _u(hd)])
        scene.add("poly", nose, fc=c, ec=c, lw=0.8, z=_layer("head") + z_off - 0.01)


def _moved(b0: _Body, b1: _Body, tol: float = 0.3) -> set[str]:
    out = set()
    for name in b1.seg:
        p0, p1 = b0.seg[name], b1.seg[name]
        if np.max(np.hypot(*(p1 - p0).T)) > tol:
            out.add(name)
    if (
        np.hypot(*(b1.pts["head"] - b0.pts["head"])) > tol
        or abs(_wrap(b1.head_dir - b0.head_dir)) > 8
    ):
        out.add("head")
    return out


def _arc(center: np.ndarray, radius: float, a0: float, a1: float) -> np.ndarray:
    n = max(8, int(abs(a1 - a0) / 4))
    t = np.radians(np.linspace(a0, a1, n))
    return center + radius * np.column_stack([np.cos(t), np.sin(t)])


def _add_arrow(scene: _Scene, spec: Mapping, b0: _Body | None, b1: _Body) -> None:
    off = np.array(spec.get("offset", [0.0, 0.0]))
    both = spec.get("both", False)
    if "joint" in spec:
        c_name, m_name = _JOINTS[spec["joint"]]
        c1, m1 = b1.point(c_name), b1.point(m_name)
        a1 = _ang(m1 - c1)
        if b0 is not None:
            a0 = a1 - _wrap(a1 - _ang(b0.point(m_name) - b0.point(c_name)))
        else:
            a0 = a1 - spec["sweep"]
        dist = float(np.hypot(*(m1 - c1)))
        # arcs about the neck or the hips run outside the head; limb arcs inside the limb
        default_r = dist + HEAD_R + 0.45 if spec["joint"] in ("neck", "trunk") else 0.62 * dist
        r = spec.get("radius", default_r)
        # leave a little gap at both ends so the arrow does not touch the limbs
        trim = math.degrees(0.35 / r) if abs(a1 - a0) > 3 * math.degrees(0.35 / r) else 0.0
        step = trim if a1 > a0 else -trim
        path = _arc(c1 + off, r, a0 + step, a1 - step)
    elif "center" in spec:
        c = b1.point(spec["center"]) + off
        path = _arc(c, spec["radius"], spec["start"], spec["end"])
    else:
        p1 = b1.point(spec["point"]) + off
        if "vector" in spec:
            path = np.array([p1, p1 + np.array(spec["vector"])])
        else:
            p0 = b0.point(spec["point"]) + off if b0 is not None else p1
            path = np.array([p0, p1])
    scene.add("arrow", path, both=both, z=9.0)


# ----------------------------------------------------------------- settings / props


def _rounded_rect(x0: float, y0: float, x1: float, y1: float, r: float) -> np.ndarray:
    r = min(r, (x1 - x0) / 2, (y1 - y0) / 2)
    out = []
    for cx, cy, a0 in (
        (x1 - r, y1 - r, 0),
        (x0 + r, y1 - r, 90),
        (x0 + r, y0 + r, 180),
        (x1 - r, y0 + r, 270),
    ):
        t = np.radians(np.linspace(a0, a0 + 90, 7))
        out.append(np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)]))
    return np.vstack(out)


def _add_ground(scene: _Scene, x0: float, x1: float, mat: tuple[float, float] | None) -> None:
    if mat is not None:
        m0, m1 = mat
        scene.add(
            "poly",
            [[m0, -0.32], [m1, -0.32], [m1, 0.0], [m0, 0.0]],
            fc=MAT,
            ec=MAT_EDGE,
            lw=1.0,
            z=1.2,
            nobounds=True,
        )
        base = -0.32
    else:
        base = 0.0
    scene.add(
        "poly",
        [[x0, base - 0.45], [x1, base - 0.45], [x1, base], [x0, base]],
        fc=FLOOR_FILL,
        ec="none",
        lw=0,
        z=0.5,
        nobounds=True,
    )
    scene.add("line", [[x0, base], [x1, base]], color=FLOOR, lw=2.0, z=0.6, nobounds=True)


def _add_chair(scene: _Scene, body: _Body) -> None:
    pel = body.pts["pelvis"]
    seat = float(pel[1]) - 0.42
    back_x = float(pel[0]) - 0.95
    front_x = float(pel[0]) + 1.65
    kw = {"color": PROP, "lw": 3.0, "z": 1.5}
    scene.add(
        "poly",
        [[back_x, seat - 0.28], [front_x, seat - 0.28], [front_x, seat], [back_x, seat]],
        fc=PROP_FILL,
        ec=PROP,
        lw=1.5,
        z=1.6,
    )
    scene.add("line", [[back_x + 0.15, seat - 0.28], [back_x + 0.15, 0.0]], **kw)
    scene.add("line", [[front_x - 0.15, seat - 0.28], [front_x - 0.15, 0.0]], **kw)
    scene.add("line", [[back_x + 0.05, seat], [back_x - 0.3, seat + 3.2]], **kw)


def _add_bike(scene: _Scene, body: _Body) -> None:
    """An exercise bike built around the rider: saddle under the pelvis, crank
    between the feet, handlebar at the hands."""
    pel, crank, hand = body.pts["pelvis"], body.pts["crank"], body.pts["near_hand"]
    kw = {"color": PROP, "lw": 3.2, "z": 1.5}
    saddle = np.array([pel[0] - 0.1, pel[1] - 0.5])
    scene.add(
        "poly",
        [
            [saddle[0] - 0.75, saddle[1] - 0.2],
            [saddle[0] + 0.6, saddle[1] - 0.12],
            [saddle[0] + 0.6, saddle[1] + 0.02],
            [saddle[0] - 0.8, saddle[1] + 0.06],
        ],
        fc=PROP,
        ec=PROP,
        lw=1,
        z=1.6,
    )
    bar = np.array([hand[0] - 0.15, hand[1] - 0.25])
    post_foot = np.array([bar[0] + 0.9, 0.18])
    rear_foot = np.array([saddle[0] - 1.0, 0.18])
    seat_down = saddle + 1.25 * (crank - saddle)
    scene.add("line", [[saddle[0], saddle[1] - 0.1], seat_down], **kw)
    scene.add("line", [seat_down, rear_foot], **kw)
    scene.add(
        "line", [[rear_foot[0] - 0.8, 0.18], [rear_foot[0] + 0.7, 0.18]], color=PROP, lw=4.0, z=1.5
    )
    scene.add("line", [bar, post_foot], **kw)
    scene.add(
        "line", [[post_foot[0] - 0.7, 0.18], [post_foot[0] + 0.7, 0.18]], color=PROP, lw=4.0, z=1.5
    )
    t_mid = (crank[1] + 0.5 - bar[1]) / (post_foot[1] - bar[1])
    joint = bar + t_mid * (post_foot - bar)
    scene.add("line", [crank, joint], **kw)
    scene.add(
        "line",
        [[hand[0] - 0.55, hand[1] - 0.12], [hand[0] + 0.3, hand[1] - 0.12]],
        color=PROP,
        lw=5.0,
        z=1.6,
    )
    fly_c = bar + 0.82 * (post_foot - bar) + np.array([0.45, 0.35])
    t = np.linspace(0, 2 * np.pi, 50)
    scene.add(
        "poly",
        fly_c + 0.85 * np.column_stack([np.cos(t), np.sin(t)]),
        fc=PROP_FILL,
        ec=PROP,
        lw=1.8,
        z=1.4,
    )


def _add_crank(scene: _Scene, body: _Body) -> None:
    c = body.pts["crank"]
    for side, z in (("far", 2.9), ("near", 5.4)):
        ball = body.pts[f"{side}_ball"]
        scene.add("line", [c, ball], color=PROP, lw=3.0, z=z)
        scene.add("line", [ball - [0.3, 0.0], ball + [0.3, 0.0]], color=PROP, lw=4.0, z=z)
    t = np.linspace(0, 2 * np.pi, 24)
    scene.add(
        "poly", c + 0.28 * np.column_stack([np.cos(t), np.sin(t)]), fc=PROP, ec=PROP, lw=1, z=2.95
    )


def _add_pillow(scene: _Scene, body: _Body, above: bool) -> None:
    h = body.pts["head"]
    if above:
        scene.add(
            "poly",
            _capsule(np.array([h - [0.9, 0.0], h + [0.3, 0.0]]), 0.85),
            fc="#f1ede4",
            ec="#cbc3b2",
            lw=1.0,
            z=1.8,
        )
        return
    top = max(float(h[1]) - HEAD_R + 0.08, 0.3)
    x0, x1 = float(h[0]) - 1.2, float(h[0]) + 0.9
    scene.add(
        "poly",
        _capsule(np.array([[x0 + top / 2, top / 2], [x1 - top / 2, top / 2]]), top / 2),
        fc="#f1ede4",
        ec="#cbc3b2",
        lw=1.0,
        z=1.8,
    )


def _add_water(scene: _Scene, x0: float, x1: float, level: float) -> None:
    xs = np.linspace(x0, x1, 80)
    wave = level + 0.12 * np.sin(xs * 2.4)
    poly = np.vstack([np.column_stack([xs, wave]), [[x1, 0.0], [x0, 0.0]]])
    # the water fills in behind the figure; its surface line crosses in front
    scene.add("poly", poly, fc=WATER, ec="none", lw=0, z=0.9, alpha=0.35, nobounds=True)
    scene.add("poly", poly, fc=WATER, ec="none", lw=0, z=8.0, alpha=0.1, nobounds=True)
    scene.add("line", np.column_stack([xs, wave]), color=WATER_EDGE, lw=1.6, z=8.1, nobounds=True)


def _add_strap(scene: _Scene, body: _Body, strap) -> None:
    a, b = body.point(strap[0]), body.point(strap[1])
    side = str(strap[1]).split("_")[0]
    foot = body.seg.get(f"{side}_foot")
    if foot is not None and str(strap[1]).endswith(("_ball", "_toe", "_heel", "_ankle")):
        # a loop around the sole of the foot
        fd = (foot[-1] - foot[0]) / max(float(np.hypot(*(foot[-1] - foot[0]))), 1e-9)
        sole = np.array([fd[1], -fd[0]])  # the sole is clockwise of the toes' direction
        p1 = b + 0.3 * sole - 0.22 * fd
        p2 = b + 0.3 * sole + 0.22 * fd
        scene.add("line", [a, p1, p2, a], color=STRAP, lw=2.4, z=5.8)
    else:
        scene.add("line", [a, b], color=STRAP, lw=2.4, z=5.8)


# =============================================================== composition


def _frames(pose: Mapping) -> list[tuple[str, Mapping]]:
    if "hold" in pose:
        return [("Hold", pose["hold"])]
    return [("Start", pose["start"]), ("End", pose["end"])]


def _bodies(pose: Mapping) -> list[_Body]:
    bodies = [_Body(f) for _, f in _frames(pose)]
    ground = pose["ground"]
    if ground == "each":
        for b in bodies:
            b.shift(-b.lowest())
    elif ground == "first":
        dy = -bodies[0].lowest()
        for b in bodies:
            b.shift(dy)
    return bodies


def _panel(pose: Mapping, bodies: list[_Body], i: int) -> _Scene:
    """The figure (and its props) of frame ``i``, before mirroring and layout."""
    scene = _Scene()
    body = bodies[i]
    two = len(bodies) == 2
    end = two and i == 1
    setting, above = pose["setting"], pose["view"] == "above"
    colours = {n: (FAR if n.startswith("far_") else INK) for n in SEGMENTS}
    if end:
        moved = set(pose["highlight"]) if pose["highlight"] is not None else _moved(bodies[0], body)
        ghost = {n: GHOST for n in moved}
        _add_body(scene, bodies[0], ghost, z_off=-2.6, ghost=True)
        for n in moved:
            colours[n] = HI_FAR if n.startswith("far_") else HI
    elif not two and pose["highlight"]:
        for n in pose["highlight"]:
            colours[n] = HI_FAR if n.startswith("far_") else HI
    _add_body(scene, body, colours)
    if pose["strap"]:
        _add_strap(scene, body, pose["strap"])
    if pose["pillow"]:
        _add_pillow(scene, body, above)
    if setting == "chair":
        _add_chair(scene, bodies[0])
    elif setting == "bike":
        _add_bike(scene, bodies[0])
        _add_crank(scene, body)
    if end or not two:
        for spec in pose["arrow"]:
            _add_arrow(scene, spec, bodies[0] if end else None, body)
    return scene


def _render(ax, pose: Mapping, *, title: str | None = None) -> None:
    bodies = _bodies(pose)
    labels = [f.get("label", lab) for lab, f in _frames(pose)]
    scenes = [_panel(pose, bodies, i) for i in range(len(bodies))]
    mirror = pose["mirror"]
    for sc in scenes:
        sc.transform(mirror, 0.0)
    bounds = [sc.bounds() for sc in scenes]
    setting, above = pose["setting"], pose["view"] == "above"
    margin = 0.7
    content_w = max(b[1] - b[0] for b in bounds) + 2 * margin
    content_w = max(content_w, 11.0)
    y_lo = min(min(b[2] for b in bounds), 0.0 if not above else min(b[2] for b in bounds)) - 0.8
    y_hi = max(b[3] for b in bounds) + 0.5
    label_h = 1.35
    text_w = 11.0 if title is not None else 0.0
    n = len(scenes)
    pos = ax.get_position()
    fig = ax.figure
    box_aspect = (pos.width * fig.get_figwidth()) / max(pos.height * fig.get_figheight(), 1e-9)
    height = max(y_hi - y_lo + label_h, 8.6)
    total_w = n * content_w + text_w
    if total_w / height < box_aspect:
        content_w += (box_aspect * height - total_w) / n
        total_w = n * content_w + text_w
    else:
        height = total_w / box_aspect
    extra = height - (y_hi - y_lo + label_h)
    y0 = y_lo - extra * 0.45
    y1 = y0 + height
    for i, (sc, b) in enumerate(zip(scenes, bounds, strict=True)):
        left = i * content_w
        sc.transform(False, left + content_w / 2 - (b[0] + b[1]) / 2)
        cx0, cx1 = left + 0.35, left + content_w - 0.35
        if n == 1:  # a single picture: the floor runs a little past the figure only
            mid = left + content_w / 2
            half_w = (b[1] - b[0]) / 2 + 2.5
            cx0, cx1 = max(cx0, mid - half_w), min(cx1, mid + half_w)
        fig_x0, fig_x1, _, _ = sc.bounds()
        if above:
            rect = _rounded_rect(
                max(fig_x0 - 0.45, cx0), b[2] - 0.45, min(fig_x1 + 0.45, cx1), b[3] + 0.45, 0.6
            )
            sc.add("poly", rect, fc="#eef6f4", ec=MAT_EDGE, lw=1.0, z=0.8, nobounds=True)
        else:
            mat = (fig_x0 - 0.4, fig_x1 + 0.4) if setting == "mat" else None
            _add_ground(sc, cx0, cx1, mat)
        if setting == "water":
            level = pose["water_level"] if pose["water_level"] is not None else 6.3
            _add_water(sc, cx0, cx1, level)
        _draw_scene(ax, sc)
        ax.text(
            left + 0.45,
            y1 - 0.35,
            labels[i],
            ha="left",
            va="top",
            fontsize=11,
            fontweight="bold",
            color=LABEL,
            zorder=10,
        )
        if i:
            ax.plot([left, left], [y0 + 0.4, y1 - 0.4], color="#d9dde2", lw=1.0, zorder=0.2)
    if title is not None:
        x = n * content_w + 0.4
        wrapped = textwrap.fill(title, 24)
        ax.text(
            x,
            y1 - 1.2,
            wrapped,
            ha="left",
            va="top",
            fontsize=12,
            fontweight="bold",
            color=LABEL,
            zorder=10,
        )
        lines = wrapped.count("\n") + 1
        ax.text(
            x,
            y1 - 1.6 - 0.95 * lines * 1.25,
            "No drawing yet:\nfollow the written steps.",
            ha="left",
            va="top",
            fontsize=9.5,
            color="#5b6673",
            zorder=10,
        )
    ax.set_xlim(0, total_w)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _draw_scene(ax, scene: _Scene) -> None:
    for it in scene.items:
        kind, xy = it["kind"], it["xy"]
        if kind == "poly":
            ax.add_patch(
                Polygon(
                    xy,
                    closed=True,
                    facecolor=it["fc"],
                    edgecolor=it["ec"],
                    linewidth=it["lw"],
                    joinstyle="round",
                    zorder=it["z"],
                    alpha=it.get("alpha"),
                )
            )
        elif kind == "line":
            ax.plot(
                xy[:, 0],
                xy[:, 1],
                color=it["color"],
                lw=it["lw"],
                zorder=it["z"],
                solid_capstyle="round",
                solid_joinstyle="round",
            )
        elif kind == "arrow":
            style = "<|-|>" if it["both"] else "-|>"
            codes = [MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 1)
            ax.add_patch(
                FancyArrowPatch(
                    path=MplPath(xy, codes),
                    arrowstyle=f"{style},head_length=0.55,head_width=0.32",
                    mutation_scale=14,
                    color=ARROW,
                    lw=2.2,
                    zorder=it["z"],
                    shrinkA=0,
                    shrinkB=0,
                    joinstyle="round",
                    capstyle="round",
                )
            )


# =============================================================== public drawing API


def draw_exercise(exercise_id: str, *, ax=None, fig=None, catalog=None) -> Figure:
    """Draw an exercise's picture and return the figure.

    Draws onto ``ax`` when given (its figure is returned), else onto a new
    axes filling ``fig``, else onto a new :class:`matplotlib.figure.Figure`
    of 6.4 x 2.6 inches.  Never touches pyplot's global state.

    Examples
    --------
    >>> fig = draw_exercise("walking")
    >>> fig.get_size_inches().tolist()
    [6.4, 2.6]
    """
    pose = pose_for(exercise_id, catalog=catalog)
    if ax is None:
        if fig is None:
            fig = Figure(figsize=FIGSIZE, facecolor="white")
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_facecolor("white")
    if pose["source"] == "fallback":
        pose = dict(pose)
        for k in ("hold",):
            pose[k] = dict(pose[k], label=(pose.get("position") or "").capitalize() or "Position")
        _render(ax, pose, title=pose.get("name") or exercise_id)
    else:
        _render(ax, pose)
    return ax.figure


def _poses_stamp(catalog) -> int | None:
    path, _ = _poses_path(catalog, True)
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


@functools.lru_cache(maxsize=256)
def _png_cached(exercise_id: str, catalog, dpi: int, _stamp) -> bytes:
    from PIL import Image

    fig = draw_exercise(exercise_id, catalog=catalog)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    # opaque RGB: the picture has a white background anyway, and a PDF then needs no
    # separate transparency mask (half the image work when a handout is laid out)
    out = io.BytesIO()
    Image.open(io.BytesIO(buf.getvalue())).convert("RGB").save(out, format="png", optimize=False)
    return out.getvalue()


def exercise_png(exercise_id: str, *, catalog=None, dpi: int = 110) -> bytes:
    """The exercise's picture as PNG bytes (cached per exercise, catalogue and dpi).

    Examples
    --------
    >>> exercise_png("bird_dog")[:4]
    b'\\x89PNG'
    """
    catalog = _resolve_catalog(catalog)
    _exercise(exercise_id, catalog)  # unknown ids fail here, not inside the cache
    return _png_cached(exercise_id, catalog, int(dpi), _poses_stamp(catalog))


# =============================================================== a clinic's own picture files

_PICTURE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}


def picture_file(exercise_id: str, *, catalog=None) -> Path | None:
    """The clinic's own picture file for an exercise (field ``picture`` of its entry), or None.

    A relative path is read from the folder of the catalogue file that holds the entry.

    Raises
    ------
    ValueError
        When the file is not a PNG or SVG file or cannot be found, naming the entry.
    """
    catalog = _resolve_catalog(catalog)
    rec = _exercise(exercise_id, catalog)
    given = rec.get("picture")
    if not given:
        return None
    path = Path(str(given)).expanduser()
    if not path.is_absolute():
        home = next((Path(f).parent for f in getattr(catalog, "files", ()) if Path(f).name == rec.get("file")), None)
        path = (home or Path.cwd()) / path
    where = f"{rec.get('file', 'catalogue')}: exercise '{exercise_id}', field 'picture'"
    if path.suffix.lower() not in _PICTURE_TYPES:
        raise _catalog.CatalogError([f"{where}: '{given}' must be a PNG or SVG file"])
    if not path.is_file():
        raise _catalog.CatalogError([f"{where}: the file {path} cannot be found"])
    return path


@functools.lru_cache(maxsize=64)
def _file_cached(path: str, _stamp: int) -> bytes:
    data = Path(path).read_bytes()
    if path.lower().endswith(".png") and data[:8] != b"\x89PNG\r\n\x1a\n":
        raise _catalog.CatalogError([f"The picture file {path} is not a PNG image"])
    return data


def exercise_picture(exercise_id: str, *, catalog=None, dpi: int = 110) -> tuple[bytes, str, bool]:
    """The picture a handout prints for an exercise: ``(data, media type, clinic's own)``.

    The clinic's own picture file (PNG or SVG, field ``picture``) wins over the
    drawing; both are cached (a changed file is read again).

    Examples
    --------
    >>> data, kind, own = exercise_picture("walking")
    >>> kind, own
    ('image/png', False)
    """
    catalog = _resolve_catalog(catalog)
    path = picture_file(exercise_id, catalog=catalog)
    if path is None:
        return exercise_png(exercise_id, catalog=catalog, dpi=dpi), "image/png", False
    return _file_cached(str(path), path.stat().st_mtime_ns), _PICTURE_TYPES[path.suffix.lower()], True
