"""Drawn exercise pictures: every exercise gets a real, recognisable picture from pose data."""

from __future__ import annotations

import io
import re
import shutil

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.figure import Figure

import sciatica_kit as sk
from sciatica_kit import catalog as catalog_mod
from sciatica_kit import illustrations as il
from sciatica_kit.illustrations import body as il_body

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
    start, end = il_body._bodies(pose)
    moved = max(float(np.max(np.hypot(*(end.seg[n] - start.seg[n]).T))) for n in start.seg)
    assert moved > 0.3, exercise_id
    assert pose["arrow"], f"{exercise_id}: a movement needs an arrow"


@pytest.mark.parametrize("exercise_id", PACKAGED)
def test_figures_rest_on_the_floor_and_limbs_stay_attached(exercise_id, catalog):
    pose = il.pose_for(exercise_id, catalog=catalog)
    for body in il_body._bodies(pose):
        if pose["ground"] != "none":
            assert body.lowest() == pytest.approx(0.0, abs=0.02)  # neither floating nor sinking
        for side in ("near", "far"):
            assert np.allclose(body.seg[f"{side}_thigh"][0], body.pts["pelvis"])
            assert np.allclose(body.seg[f"{side}_shin"][0], body.seg[f"{side}_thigh"][-1])
            assert np.allclose(body.seg[f"{side}_forearm"][0], body.seg[f"{side}_upper_arm"][-1])
    for _, frame in il_body._frames(pose):
        body = il_body._Body(frame)
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


def test_every_picture_renders_to_a_png(catalog):
    # how long this takes is measured by `make bench` (figure "handout"), not asserted here
    for eid in PACKAGED:
        fig = il.draw_exercise(eid, catalog=catalog)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        assert _ink_fraction(_pixels(buf.getvalue())) > 0.03, eid


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


# --------------------------------------------------------------------------- the redrawn pictures


def _grounded(exercise_id):
    pose = il.pose_for(exercise_id)
    return pose, il_body._bodies(pose)


def test_mckenzie_extension_starts_with_the_hands_under_the_shoulders_and_presses_up():
    _, (start, end) = _grounded("mckenzie_repeated_extension")
    hand, shoulder, elbow = start.pts["near_hand"], start.pts["shoulder"], start.pts["near_elbow"]
    assert abs(hand[0] - shoulder[0]) < 0.5, "start: the hands are not under the shoulders"
    assert hand[1] < 0.4 and elbow[1] > shoulder[1] + 0.5, "start: palms on the mat, elbows up"
    assert start.pts["pelvis"][1] < 0.9 and end.pts["pelvis"][1] < start.pts["pelvis"][1] + 0.3, "the hips stay on the mat"
    assert end.pts["shoulder"][1] > start.pts["shoulder"][1] + 1.2, "end: the arms press the chest up"
    assert end.pts["near_hand"][1] < 0.4, "end: the hands stay on the mat"


def test_press_up_on_forearms_starts_lying_with_the_forearms_on_the_mat():
    _, (start, end) = _grounded("prone_press_up_on_forearms")
    assert start.pts["near_hand"][1] < 0.4, "start: the hands rest on the mat"
    assert start.pts["near_elbow"][1] < start.pts["shoulder"][1] + 0.6, "start: the arm is down, not held up"
    assert start.pts["near_hand"][0] > start.pts["shoulder"][0], "start: the hands are in front of the shoulders"
    assert end.pts["shoulder"][1] > start.pts["shoulder"][1] + 0.5


def test_bird_dog_reaches_the_arm_forward_at_shoulder_height():
    _, (_, end) = _grounded("bird_dog")
    hand, shoulder, head = end.pts["near_hand"], end.pts["shoulder"], end.pts["head"]
    assert abs(hand[1] - shoulder[1]) < 0.6, "the reaching arm is not level with the shoulder"
    assert hand[0] > head[0], "the reaching hand does not reach past the head"
    far_foot = end.pts["far_ankle"]
    assert abs(far_foot[1] - end.pts["pelvis"][1]) < 0.8 and far_foot[0] < end.pts["pelvis"][0] - 3, \
        "the opposite leg is not stretched out behind"
    assert end.pts["far_hand"][1] < 0.4, "the other hand stays on the mat"


def test_bridge_keeps_the_arms_on_the_mat():
    _, bodies = _grounded("floor_bridge")
    for body in bodies:
        assert body.pts["near_hand"][1] < 0.45, "the hands float above the mat"
    assert bodies[1].pts["pelvis"][1] > bodies[0].pts["pelvis"][1] + 1.0


def test_figure_4_end_pose_rests_the_ankle_on_the_other_thigh_pulled_to_the_chest():
    pose, (_, end) = _grounded("supine_glute_stretch")
    frame = pose["end"]
    assert frame["foot"].startswith("far_thigh") and frame["hand"].startswith("far_thigh")
    thigh = end.seg["far_thigh"]
    assert thigh[-1][1] - thigh[0][1] > 1.8, "the pulled thigh is not lifted towards the chest"
    assert np.hypot(*(end.pts["near_ankle"] - end.point(frame["foot"]))) < 0.35, "the ankle is not on the thigh"
    assert np.hypot(*(end.pts["near_hand"] - end.point(frame["hand"]))) < 0.35, "the hands do not hold the thigh"


@pytest.mark.parametrize("exercise_id", ["side_lying_femoral_nerve_glide", "side_lying_femoral_nerve_slider"])
def test_side_lying_femoral_pictures_show_the_top_leg_held_back_and_the_head_moving(exercise_id):
    pose, (start, end) = _grounded(exercise_id)
    assert pose["view"] == "above" and pose["pillow"]
    for body, frame in ((start, pose["start"]), (end, pose["end"])):
        assert frame["hip"] <= 0, "the top hip must be straight or taken back, never bent forward"
        assert frame["knee"] >= 135, "the heel comes towards the buttock"
        assert frame.get("far_hip", 0) >= 40, "the bottom knee is bent forward for balance"
        assert np.hypot(*(body.pts["near_hand"] - body.point(frame["hand"]))) < 0.35, "the hand holds the ankle"
    assert abs(pose["end"]["neck"] - pose["start"]["neck"]) >= 40, "the head nods"


# --------------------------------------------------------------------------- contact sheet, clinic pictures


def test_pictures_command_draws_a_contact_sheet_of_every_exercise(tmp_path):
    import subprocess
    import sys

    from pypdf import PdfReader

    out = tmp_path / "sheet.pdf"
    proc = subprocess.run([sys.executable, "-m", "sciatica_kit", "pictures", "--sheet", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "22 exercise pictures" in proc.stdout or f"{len(PACKAGED)} exercise pictures" in proc.stdout
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(out).pages)
    for eid in PACKAGED:
        assert eid in text, f"{eid} missing from the contact sheet"
    bad = subprocess.run([sys.executable, "-m", "sciatica_kit", "pictures", "--sheet", str(out), "--catalog",
                          str(tmp_path / "missing.toml")], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "missing.toml" in bad.stderr


SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#0a0"/></svg>'


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_a_clinic_can_give_an_exercise_its_own_picture(tmp_path, kind):
    import base64

    pic = tmp_path / "pictures" / f"wall.{kind}"
    pic.parent.mkdir()
    if kind == "png":
        pic.write_bytes(il.exercise_png("walking", dpi=40))
    else:
        pic.write_text(SVG, encoding="utf-8")
    text = CLINIC_TEMPLATE.format(id="wall_squat", name="Wall squat", position="standing")
    path = tmp_path / "clinic.toml"
    path.write_text(text + f'picture = "pictures/wall.{kind}"\n', encoding="utf-8")
    cat = sk.load_catalog(extra=path)
    data, media, own = il.exercise_picture("wall_squat", catalog=cat)
    assert own and data == pic.read_bytes() and media == ("image/png" if kind == "png" else "image/svg+xml")
    prog = sk.build_programme(["sciatica"], include=["wall_squat"], catalog=cat)
    html = prog.to_html(settings={})
    assert base64.b64encode(pic.read_bytes()).decode("ascii") in html
    assert "Picture of the exercise Wall squat, provided by your clinic" in html
    pdf = prog.to_pdf(tmp_path / "h.pdf", settings={})
    assert pdf.read_bytes()[:4] == b"%PDF"


def test_a_clinic_picture_that_is_missing_or_not_an_image_is_named(tmp_path):
    text = CLINIC_TEMPLATE.format(id="wall_squat", name="Wall squat", position="standing")
    path = tmp_path / "clinic.toml"
    path.write_text(text + 'picture = "nowhere.png"\n', encoding="utf-8")
    cat = sk.load_catalog(extra=path)
    with pytest.raises(ValueError, match=r"clinic.toml: exercise 'wall_squat', field 'picture'.*cannot be found"):
        il.exercise_picture("wall_squat", catalog=cat)
    path.write_text(text + 'picture = "wall.gif"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="must be a PNG or SVG file"):
        il.exercise_picture("wall_squat", catalog=sk.load_catalog(extra=path))


def test_pictures_are_cached_and_a_changed_clinic_picture_is_read_again(tmp_path):
    import os

    assert il.exercise_png("bird_dog") is il.exercise_png("bird_dog")  # drawn once
    pic = tmp_path / "wall.svg"
    pic.write_text(SVG, encoding="utf-8")
    path = tmp_path / "clinic.toml"
    path.write_text(CLINIC_TEMPLATE.format(id="wall_squat", name="Wall squat", position="standing")
                    + f'picture = "{pic}"\n', encoding="utf-8")
    cat = sk.load_catalog(extra=path)
    first = il.exercise_picture("wall_squat", catalog=cat)[0]
    assert il.exercise_picture("wall_squat", catalog=cat)[0] is first
    pic.write_text(SVG.replace("#0a0", "#a00"), encoding="utf-8")
    st = pic.stat()
    os.utime(pic, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    assert b"#a00" in il.exercise_picture("wall_squat", catalog=cat)[0]
