"""Drawing: lay the scenes out side by side on matplotlib axes, and the cached PNG (or
the clinic's own picture file) that a handout prints."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import tempfile
import textwrap
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from sciatica_kit import catalog as _catalog
from sciatica_kit._docs import shared_docs
from sciatica_kit.illustrations.body import _bodies, _frames
from sciatica_kit.illustrations.poses import _exercise, _poses_path, _resolve_catalog, pose_for
from sciatica_kit.illustrations.scene import (
    ARROW,
    LABEL,
    MAT_EDGE,
    _add_ground,
    _add_water,
    _panel,
    _rounded_rect,
    _Scene,
)

if TYPE_CHECKING:  # matplotlib is imported when a picture is drawn, not to read a cached one
    from matplotlib.figure import Figure

FIGSIZE = (6.4, 2.6)


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
    from matplotlib.patches import FancyArrowPatch, Polygon
    from matplotlib.path import Path as MplPath

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


@shared_docs
def draw_exercise(exercise_id: str, *, ax=None, fig=None, catalog=None) -> Figure:
    """Draw an exercise's picture and return the figure.

    Never touches pyplot's global state.

    Parameters
    ----------
    exercise_id : str
        An exercise id of the catalogue.
    ax : matplotlib.axes.Axes, optional
        Draw onto these axes.
    fig : matplotlib.figure.Figure, optional
        Without ``ax``: draw onto new axes filling this figure.  Without either, onto
        a new figure of 6.4 x 2.6 inches.
    {catalog}

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Examples
    --------
    >>> fig = draw_exercise("walking")
    >>> fig.get_size_inches().tolist()
    [6.4, 2.6]
    """
    pose = pose_for(exercise_id, catalog=catalog)
    if ax is None:
        if fig is None:
            from matplotlib.figure import Figure

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


# Pictures kept on disk between sessions (each Voila session is a new kernel), keyed by
# everything the drawing depends on: the exercise's pose data (its name and position for
# the generic card), the dpi, this package's code and matplotlib's and Pillow's versions.
# They are drawn in matplotlib's default style, whatever style a notebook has set.
_CODE_FILES = ("poses.py", "body.py", "scene.py", "drawing.py")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CACHE_FILES = 600  # about 20 kB each; the oldest go first (left by earlier versions of the kit)


def _cache_folder() -> Path:
    """``$XDG_CACHE_HOME/sciatica-kit/pictures`` (default ``~/.cache/sciatica-kit/pictures``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sciatica-kit" / "pictures"


@functools.cache
def _code_version() -> str:
    digest = hashlib.sha256(f"matplotlib {version('matplotlib')} Pillow {version('pillow')}".encode())
    for name in _CODE_FILES:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


def _picture_key(exercise_id: str, catalog, dpi: int) -> str:
    pose = pose_for(exercise_id, catalog=catalog)
    payload = json.dumps([exercise_id, pose, dpi, _code_version()], sort_keys=True, default=repr)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _read_cached(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if data.startswith(_PNG_SIGNATURE) else None


def _write_cached(path: Path, data: bytes) -> None:
    """Keep a picture for the next session; a folder that cannot be written is no error."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return
    with contextlib.suppress(OSError):
        kept = sorted(path.parent.glob("*.png"), key=lambda p: p.stat().st_mtime_ns)
        for old in kept[:-_CACHE_FILES]:
            old.unlink(missing_ok=True)


def _draw_png(exercise_id: str, catalog, dpi: int) -> bytes:
    import matplotlib.style
    from PIL import Image

    buf = io.BytesIO()
    with matplotlib.style.context("default"):
        fig = draw_exercise(exercise_id, catalog=catalog)
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    # opaque RGB: the picture has a white background anyway, and a PDF then needs no
    # separate transparency mask (half the image work when a handout is laid out)
    out = io.BytesIO()
    Image.open(io.BytesIO(buf.getvalue())).convert("RGB").save(out, format="png", optimize=False)
    return out.getvalue()


@functools.lru_cache(maxsize=256)
def _png_cached(exercise_id: str, catalog, dpi: int, _stamp) -> bytes:
    path = _cache_folder() / f"{_picture_key(exercise_id, catalog, dpi)}.png"
    data = _read_cached(path)
    if data is None:
        data = _draw_png(exercise_id, catalog, dpi)
        _write_cached(path, data)
    return data


@shared_docs
def exercise_png(exercise_id: str, *, catalog=None, dpi: int = 110) -> bytes:
    """The exercise's picture as PNG bytes (cached per exercise, catalogue and dpi).

    A picture is drawn once: it is kept in memory for the session and on disk (in
    ``$XDG_CACHE_HOME/sciatica-kit/pictures``, default ``~/.cache/...``) for the next
    ones, under a key made of everything the drawing depends on (the pose data, the
    dpi, the drawing code and matplotlib's version).  It is drawn in matplotlib's
    default style, whatever style a notebook has set.

    Parameters
    ----------
    exercise_id : str
        An exercise id of the catalogue.
    {catalog}
    dpi : int, default 110
        Resolution of the picture (6.4 x 2.6 inches).

    Returns
    -------
    bytes
        An opaque RGB PNG image.

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


@shared_docs
def picture_file(exercise_id: str, *, catalog=None) -> Path | None:
    """The clinic's own picture file for an exercise (field ``picture`` of its entry), or None.

    A relative path is read from the folder of the catalogue file that holds the entry.

    Parameters
    ----------
    exercise_id : str
        An exercise id of the catalogue.
    {catalog}

    Returns
    -------
    Path or None
        The file, or None when the exercise has no picture file of its own.

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


@shared_docs
def exercise_picture(exercise_id: str, *, catalog=None, dpi: int = 110) -> tuple[bytes, str, bool]:
    """The picture a handout prints for an exercise: ``(data, media type, clinic's own)``.

    The clinic's own picture file (PNG or SVG, field ``picture``) wins over the
    drawing; both are cached (a changed file is read again).

    Parameters
    ----------
    exercise_id : str
        An exercise id of the catalogue.
    {catalog}
    dpi : int, default 110
        Resolution of a drawn picture.

    Returns
    -------
    tuple of (bytes, str, bool)
        The image, its media type (``"image/png"`` or ``"image/svg+xml"``) and whether
        it is the clinic's own file.

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
