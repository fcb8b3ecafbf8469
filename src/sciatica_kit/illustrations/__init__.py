"""Drawn exercise pictures: one generic stick-figure renderer driven by pose data.

Every exercise picture is drawn by the kit with matplotlib; no image files are
shipped.  Poses are *data*: ``data/catalog/poses.toml`` holds, per exercise id,
the setting and the joint angles of each frame (see :mod:`.poses` for the
conventions).  A clinic can give any exercise its own picture file instead.

The package follows the way a picture is made:

- :mod:`.poses`: read and check the pose data of an exercise (``poses.toml``, a
  clinic's inline ``pose``, or the generic card of its position);
- :mod:`.body`: the figure, i.e. its dimensions, named points and segments, and
  the kinematics that turn a pose frame into limb outlines;
- :mod:`.scene`: colours, the start-position ghost, arrows and props (floor, mat,
  chair, bike, pillow, water, strap) around the figure;
- :mod:`.drawing`: frames laid out on matplotlib axes, the cached PNG and the
  clinic's own picture files that a handout prints.
"""

from sciatica_kit.illustrations.body import SEGMENTS
from sciatica_kit.illustrations.drawing import (
    FIGSIZE,
    draw_exercise,
    exercise_picture,
    exercise_png,
    picture_file,
)
from sciatica_kit.illustrations.poses import (
    GROUNDS,
    POSES_FILE,
    SETTINGS,
    VIEWS,
    load_poses,
    missing_pictures,
    pose_for,
)

__all__ = [
    "FIGSIZE",
    "GROUNDS",
    "POSES_FILE",
    "SEGMENTS",
    "SETTINGS",
    "VIEWS",
    "draw_exercise",
    "exercise_picture",
    "exercise_png",
    "load_poses",
    "missing_pictures",
    "picture_file",
    "pose_for",
]
