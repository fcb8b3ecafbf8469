"""The scene around the figure: colours, layers, the start-position ghost, arrows and
props (floor, mat, chair, bike, pillow, water, strap), as primitives in body units."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from sciatica_kit.illustrations.body import (
    _JOINTS,
    HEAD_R,
    SEGMENTS,
    _ang,
    _Body,
    _capsule,
    _u,
    _wrap,
)

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


