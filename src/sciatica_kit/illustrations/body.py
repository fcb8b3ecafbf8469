"""The figure: body dimensions, the skeleton's named points and segments, and the forward
kinematics that turns one pose frame into drawable limb outlines."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np

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

