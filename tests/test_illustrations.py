"""Drawn exercise pictures: every exercise gets a real, recognisable picture from pose data."""

from __future__ import annotations

import io
import re
import shutil
import time

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.figure import Figure

import sciatica_kit as sk
from sciatica_kit import catalog as catalog_mod
from sciatica_kit import illustrations as il

PACKAGED = sorted(sk.load_catalog().records["exercises"])
MOVEMENTS = [eid for eid in PACKAGED if "start" in il.pose_for(eid)]  # two frames: start and end

CLINIC_TEMPLATE = """
[[exercise]]
id = "{id}"
name = "{name}"
category = "strengthening"
targets = ["thighs"]
position = "{position}"
equipment = ["wall"]
steps = ["Stand with your back to a wall and bend your knees a little."]
sets = "not specified"
reps = "not specified"
hold_s = "not specified"
times_per_day = "not specified"
days_per_week = "not specified"
minutes = "not specified"
distance_km = "not specified"
dose_source = "Clinic protocol 2026"
each_side = false
phases = ["chronic"]
progress_to = []
regress_to = []
cautions = []
stop_if = ["Knee pain."]
sources = ["Clinic protocol 2026"]
"""

INLINE_POSE = """
[exercise.pose]
setting = "standing"
arrow = {{ joint = "near_knee" }}

[exercise.pose.start]
pelvis = [0, 4.7]
trunk = 90
knee = {start_knee}

[exercise.pose.end]
pelvis = [0, 3.6]
trunk = 80
hip = 60
knee = 75
ankle = 15
shoulder = 80
"""


def _clinic_file(tmp_path, *, start_knee="0", with_pose=True):
    text = CLINIC_TEMPLATE.format(id="wall_squat", name="Wall squat", position="standing")
    if with_pose:
        text += INLINE_POSE.format(start_knee=start_knee)
    text += CLINIC_TEMPLATE.format(id="clam_shell", name="Clam shell", position="lying on the side")
    path = tmp_path / "clinic.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _pixels(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return mpimg.imread(io.BytesIO(png), format="png")[..., :3]


def _ink_fraction(img: np.ndarray) -> float:
    return float(np.mean(np.any(img < 0.9, axis=-1)))


def _orange_fraction(img: np.ndarray) -> float:
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return float(np.mean((r > 0.8) & (g > 0.35) & (g < 0.65) & (b < 0.35)))


@pytest.fixture
def catalog_copy(tmp_path, monkeypatch):
    """A private copy of the catalogue folder that catalog_dir() points to."""
    folder = tmp_path / "catalog"
    shutil.copytree(catalog_mod.catalog_dir(), folder)
    monkeypatch.setattr(catalog_mod, "catalog_dir", lambda: folder)
    return folder


# ----------------------------------------------------------------- packaged pictures


def test_every_packaged_exercise_has_a_pose_of_its_own(catalog):
    assert il.missing_pictures() == []
    assert il.missing_pictures(catalog) == []
    assert len(PACKAGED) == 22
    assert len(MOVEMENTS) >= 20  # nearly every exercise shows a start and an end
    for eid in PACKAGED:
        pose = il.pose_for(eid, catalog=catalog)
        assert pose["source"] == "poses.toml", eid
        assert ("hold" in pose) != ("start" in pose and "end" in pose), eid


@pytest.mark.parametrize("exercise_id", PACKAGED)
def test_every_picture_is_a_png_with_a_real_drawing(exercise_id, catalog):
    png = il.exercise_png(exercise_id, catalog=catalog)
    img = _pixels(png)
    h, w = img.shape[:2]
    assert (w, h) == (704, 286)  # 6.4 x 2.6 inches at 110 dpi
    assert 0.04 < _ink_fraction(img) < 0.7, exercise_id
    pose = il.pose_for(exercise_id, catalog=catalog)
    if "start" in pose:
        left, right = img[25:, : w // 2], img[25:, w - w // 2 :]  # the two panels, below the labels
        assert np.mean(np.abs(left - right)) > 0.004, f"{exercise_id}: start and end look the same"
        assert _ink_fraction(left) > 0.02 and _ink_fraction(right) > 0.02
        assert _orange_fraction(right) > _orange_fraction(left) + 0.002, (
            f"{exercise_id}: no highlighted movement"
        )


@pytest.mark.parametrize("exercise_id", MOVEMENTS)
def test_start_and_end_poses_really_move(exercise_id, catalog):
    pose = il.pose_for(exercise_id, catalog=catalog)
    start, end = il._bodies(pose)
    moved = max(float(np.max(np.hypot(*(end.seg[n] - start.seg[n]).T))) for n in start.seg)
    assert moved > 0.3, exercise_id
    assert pose["arrow"], f"{exercise_id}: a movement needs an arrow"


@pytest.mark.parametrize("exercise_id", PACKAGED)
def test_figures_rest_on_the_floor_and_limbs_stay_attached(exercise_id, catalog):
    pose = il.pose_for(exercise_id, catalog=catalog)
    for body in il._bodies(pose):
        if pose["ground"] != "none":
            assert body.lowest() == pytest.approx(0.0, abs=0.02)  # neither floating nor sinking
        for side in ("near", "far"):
            assert np.allclose(body.seg[f"{side}_thigh"][0], body.pts["pelvis"])
            assert np.allclose(body.seg[f"{side}_shin"][0], body.seg[f"{side}_thigh"][-1])
            assert np.allclose(body.seg[f"{side}_forearm"][0], body.seg[f"{side}_upper_arm"][-1])
    for _, frame in il._frames(pose):
        body = il._Body(frame)
        for target, point in (
            ("hand", "hand"),
            ("far_hand", "hand"),
            ("foot", "ankle"),
            ("far_foot", "ankle"),
        ):
            ref = frame.get(target)
            # a hand holding a body part, a foot resting on a knee: it gets there
            if isinstance(ref, str):
                side = "far" if target.startswith("far_") else "near"
                gap = np.hypot(*(body.pts[f"{side}_{point}"] - body.point(ref)))
                assert gap < 0.35, f"{exercise_id}: {target} misses {ref} by {gap:.2f}"


def test_key_exercises_use_the_right_setting(catalog):
    setting = {eid: il.pose_for(eid, catalog=catalog)["setting"] for eid in PACKAGED}
    assert setting["seated_sciatic_nerve_glide"] == setting["seated_forward_bend"] == "chair"
    assert setting["stationary_cycling"] == "bike"
    assert setting["water_exercise"] == "water"
    assert setting["walking"] == "standing"
    assert il.pose_for("supine_hamstring_stretch_strap", catalog=catalog)["strap"]
    assert il.pose_for("abdominal_bracing", catalog=catalog).keys() >= {"hold"}
    glide = il.pose_for("seated_sciatic_nerve_glide", catalog=catalog)
    assert glide["start"]["knee"] == 90 and glide["end"]["knee"] < 30  # the knee straightens


def test_rendering_every_picture_is_fast(catalog):
    t0 = time.perf_counter()
    for eid in PACKAGED:
        fig = il.draw_exercise(eid, catalog=catalog)
        fig.savefig(io.BytesIO(), format="png", dpi=110)
    assert time.perf_counter() - t0 < 8.0


def test_png_is_cached(catalog):
    a = il.exercise_png("bird_dog", catalog=catalog)
    assert il.exercise_png("bird_dog", catalog=catalog) is a
    assert il.exercise_png("bird_dog", catalog=catalog, dpi=60) is not a


# ----------------------------------------------------------------- drawing API


def test_draw_exercise_draws_onto_the_given_axes():
    fig = Figure(figsize=(8, 3))
    ax = fig.add_subplot(1, 1, 1)
    out = il.draw_exercise("floor_bridge", ax=ax)
    assert out is fig
    assert fig.axes == [ax]
    assert len(ax.patches) > 20
    assert [t.get_text() for t in ax.texts] == ["Start", "End"]
    assert not ax.axison


def test_draw_exercise_onto_a_given_figure_and_alone():
    fig = Figure()
    assert il.draw_exercise("walking", fig=fig) is fig
    assert len(fig.axes) == 1
    own = il.draw_exercise("abdominal_bracing")
    assert isinstance(own, Figure)
    assert tuple(own.get_size_inches()) == pytest.approx((6.4, 2.6))
    assert [t.get_text() for t in own.axes[0].texts] == ["Hold"]


def test_unknown_exercise_lists_the_valid_ids(catalog):
    for call in (il.pose_for, il.draw_exercise, il.exercise_png):
        with pytest.raises(ValueError, match=r"Did you mean 'walking'\?.*bird_dog"):
            call("walkng", catalog=catalog)


# ----------------------------------------------------------------- clinic exercises


def test_clinic_exercise_with_an_inline_pose_gets_that_pose(tmp_path):
    cat = sk.load_catalog(extra=_clinic_file(tmp_path, start_knee="5"))
    pose = il.pose_for("wall_squat", catalog=cat)
    assert pose["source"] == "inline"
    assert pose["setting"] == "standing" and pose["start"]["knee"] == 5 and pose["end"]["hip"] == 60
    assert il.missing_pictures(cat) == ["clam_shell"]
    img = _pixels(il.exercise_png("wall_squat", catalog=cat))
    assert _ink_fraction(img) > 0.04 and _orange_fraction(img) > 0.002


def test_clinic_exercise_without_a_pose_gets_the_fallback_card(tmp_path):
    cat = sk.load_catalog(extra=_clinic_file(tmp_path, with_pose=False))
    assert il.missing_pictures(cat) == ["clam_shell", "wall_squat"]
    pose = il.pose_for("clam_shell", catalog=cat)
    assert pose["source"] == "fallback" and pose["view"] == "above"  # lying on the side
    assert il.pose_for("wall_squat", catalog=cat)["setting"] == "standing"
    fig = il.draw_exercise("clam_shell", catalog=cat)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "Clam shell" in texts and "No drawing yet" in texts and "Lying on the side" in texts
    img = _pixels(il.exercise_png("clam_shell", catalog=cat))
    assert _ink_fraction(img) > 0.03


def test_inline_pose_wins_over_poses_toml(tmp_path, catalog_copy):
    with (catalog_copy / "poses.toml").open("a", encoding="utf-8") as fh:
        fh.write(
            '\n[wall_squat]\nsetting = "chair"\n[wall_squat.hold]\npelvis = [0, 2.9]\ntrunk = 90\nhip = 90\nknee = 90\n'
        )
    cat = sk.load_catalog(extra=_clinic_file(tmp_path))
    assert cat.files[0].startswith(str(catalog_copy))
    assert il.pose_for("wall_squat", catalog=cat)["setting"] == "standing"
    (tmp_path / "plain").mkdir()
    cat_no_inline = sk.load_catalog(extra=_clinic_file(tmp_path / "plain", with_pose=False))
    assert il.pose_for("wall_squat", catalog=cat_no_inline)["setting"] == "chair"


def test_malformed_inline_pose_names_the_clinic_file_and_field(tmp_path):
    cat = sk.load_catalog(extra=_clinic_file(tmp_path, start_knee='"bent"'))
    with pytest.raises(
        ValueError,
        match=r"clinic\.toml: exercise 'wall_squat', field 'pose\.start\.knee'.*not a number",
    ):
        il.pose_for("wall_squat", catalog=cat)


# ----------------------------------------------------------------- malformed poses.toml


def _edit(folder, old: str, new: str) -> None:
    path = folder / "poses.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "neck = 20\n",
            'neck = "twenty"\n',
            r"poses\.toml: exercise 'floor_bridge', field 'end\.neck': 'twenty' is not a number",
        ),
        (
            "[walking.end]\n",
            "[walking.finish]\n",
            r"poses\.toml: exercise 'walking', field 'end': missing frame",
        ),
        (
            "[walking]\n",
            '[walkin]\nsetting = "standing"\n[walkin.hold]\npelvis = [0, 4.7]\ntrunk = 90\n\n[walking]\n',
            r"poses\.toml: exercise 'walkin': unknown exercise id \(did you mean 'walking'\?\)",
        ),
        (
            'setting = "bike"',
            'setting = "tandem"',
            r"exercise 'stationary_cycling', field 'setting': unknown setting 'tandem'",
        ),
        (
            "[floor_bridge.start]\n",
            "[floor_bridge.start]\nhips = 10\n",
            r"field 'start\.hips': unknown field",
        ),
        (
            'arrow = { joint = "near_knee" }\n\n[seated_sciatic_nerve_glide.start]',
            'arrow = { joint = "near_toe" }\n\n[seated_sciatic_nerve_glide.start]',
            r"field 'arrow\.joint': unknown joint 'near_toe'",
        ),
    ],
)
def test_malformed_poses_file_raises_naming_file_entry_and_field(catalog_copy, old, new, message):
    _edit(catalog_copy, old, new)
    with pytest.raises(ValueError, match=message):
        il.pose_for("walking")
    with pytest.raises(ValueError, match=message):
        il.missing_pictures()


def test_load_poses_reads_a_given_file(tmp_path):
    path = tmp_path / "poses.toml"
    path.write_text(
        '[x]\nsetting = "floor"\n[x.start]\npelvis = [0, "high"]\ntrunk = 90\n', encoding="utf-8"
    )
    with pytest.raises(ValueError) as err:
        il.load_poses(path)
    msg = str(err.value)
    assert "poses.toml: exercise 'x', field 'start.pelvis'" in msg
    assert "field 'end': missing frame" in msg  # every problem is listed at once
    path.write_text("[x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"poses\.toml: not valid TOML"):
        il.load_poses(path)


def test_the_poses_file_documents_itself():
    text = (catalog_mod.catalog_dir() / il.POSES_FILE).read_text(encoding="utf-8")
    assert re.search(r"^# .*setting", text, re.M)
    assert set(il.load_poses()) == set(PACKAGED)
