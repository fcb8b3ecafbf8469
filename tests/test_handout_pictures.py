"""Handout pictures are drawn once: kept in memory for the session and on disk for the next.

Counted by the drawings made (never timed: the handout's speed is the ``handout`` figure
of ``make bench``).
"""

from __future__ import annotations

import pytest
from pypdf import PdfReader

import sciatica_kit as sk
from sciatica_kit.handout import handout_html
from sciatica_kit.illustrations import drawing

CLINIC = {"name": "Demo Physio", "phone": "01234 567890", "clinician": "A. Clinician"}


@pytest.fixture
def drawn(tmp_path, monkeypatch):
    """Ids of the pictures drawn during the test, with empty caches (memory and disk) at its start."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    drawing._png_cached.cache_clear()
    ids: list[str] = []
    real = drawing.draw_exercise

    def counting(exercise_id, **kw):
        ids.append(exercise_id)
        return real(exercise_id, **kw)

    monkeypatch.setattr(drawing, "draw_exercise", counting)
    yield ids
    drawing._png_cached.cache_clear()  # later tests draw into their own cache folder


@pytest.fixture
def programme():
    return sk.build_programme(["herniated_disc"], phase="subacute", patient="DEMO-001")


def _images(path) -> set[bytes]:
    """The distinct pictures of a PDF, as decoded pixels (each page lists the images it may use)."""
    return {img.image.tobytes() for page in PdfReader(path).pages for img in page.images}


def test_a_second_pdf_handout_draws_no_picture_and_prints_the_same(tmp_path, drawn, programme):
    first = programme.to_pdf(tmp_path / "first.pdf", clinic=CLINIC)
    ids = list(programme.table["exercise_id"])
    assert sorted(drawn) == sorted(ids)  # each picture drawn exactly once
    drawn.clear()
    second = programme.to_pdf(tmp_path / "second.pdf", clinic=CLINIC)
    assert drawn == []
    # WeasyPrint's decoded images are kept between handouts too: the same pictures print
    assert len(_images(first)) == len(ids)
    assert _images(second) == _images(first)
    assert [p.extract_text() for p in PdfReader(second).pages] == [p.extract_text() for p in PdfReader(first).pages]


def test_a_rebuilt_programme_and_other_layouts_draw_no_picture(drawn, programme):
    handout_html(programme, settings={})
    drawn.clear()
    again = sk.build_programme(["herniated_disc"], phase="subacute", patient="DEMO-002")
    handout_html(again, settings={}, large_print=True)
    handout_html(again, settings={}, compact=False, paper="Letter")
    assert drawn == []


def test_pictures_of_an_earlier_session_are_read_from_disk(drawn):
    first = drawing.exercise_png("bird_dog")
    assert drawn == ["bird_dog"]
    drawing._png_cached.cache_clear()  # a new session: nothing in memory
    again = drawing.exercise_png("bird_dog")
    assert drawn == ["bird_dog"] and again == first
    assert drawing.exercise_png("bird_dog", dpi=60) != first  # another size is another picture
    assert drawn == ["bird_dog", "bird_dog"]


def test_a_damaged_cached_picture_is_drawn_again(drawn):
    first = drawing.exercise_png("walking")
    files = list(drawing._cache_folder().glob("*.png"))
    assert len(files) == 1
    files[0].write_bytes(b"not a picture")
    drawing._png_cached.cache_clear()
    assert drawing.exercise_png("walking") == first
    assert drawn == ["walking", "walking"]
    assert files[0].read_bytes() == first  # and kept again


def test_a_changed_pose_is_drawn_again(drawn, monkeypatch):
    before = drawing.exercise_png("walking")
    real = drawing.pose_for

    def bent_knee(exercise_id, **kw):
        pose = real(exercise_id, **kw)
        pose["end"]["knee"] = 60
        return pose

    monkeypatch.setattr(drawing, "pose_for", bent_knee)
    drawing._png_cached.cache_clear()
    after = drawing.exercise_png("walking")
    assert drawn == ["walking", "walking"] and after != before


def test_a_cache_folder_that_cannot_be_written_is_no_error(tmp_path, drawn, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert drawing.exercise_png("walking")[:4] == b"\x89PNG"
    assert drawn == ["walking"]
    assert list(tmp_path.glob("**/*.part")) == []


def test_a_notebook_style_does_not_reach_the_handout_picture(drawn):
    import matplotlib as mpl

    plain = drawing.exercise_png("abdominal_bracing")
    drawing._png_cached.cache_clear()
    for path in drawing._cache_folder().glob("*.png"):
        path.unlink()
    with mpl.style.context("dark_background"), mpl.rc_context({"font.family": "serif", "lines.linewidth": 5}):
        styled = drawing.exercise_png("abdominal_bracing")
    assert drawn == ["abdominal_bracing", "abdominal_bracing"]
    assert styled == plain


def test_reading_a_cached_picture_needs_no_matplotlib(drawn):
    import subprocess
    import sys

    drawing.exercise_png("walking")
    code = (
        "import sys\n"
        "from sciatica_kit.illustrations import exercise_png\n"
        "assert exercise_png('walking')[:4] == b'\\x89PNG'\n"
        "print('matplotlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_disk_cache_keeps_the_newest_pictures_only(drawn, monkeypatch):
    import os
    import time

    monkeypatch.setattr(drawing, "_CACHE_FILES", 2)
    for age, eid in ((200, "walking"), (100, "bird_dog"), (0, "dead_bug")):
        before = set(drawing._cache_folder().glob("*.png"))
        drawing.exercise_png(eid)
        (new,) = set(drawing._cache_folder().glob("*.png")) - before
        os.utime(new, (time.time() - age, time.time() - age))  # written in this order, whatever the clock's grain
    assert len(list(drawing._cache_folder().glob("*.png"))) == 2
    drawing._png_cached.cache_clear()
    drawing.exercise_png("dead_bug")  # among the newest two: read, not drawn
    assert drawn == ["walking", "bird_dog", "dead_bug"]


def test_a_second_pdf_handout_encodes_no_picture_again_and_embeds_the_same_images(tmp_path, programme, monkeypatch):
    """WeasyPrint re-encodes every picture's pixels for each PDF; a kept picture is encoded once."""
    import weasyprint.images

    from sciatica_kit import handout

    monkeypatch.setattr(handout, "_image_cache", None)  # WeasyPrint's kept images start empty
    encoded: list[tuple] = []
    real = weasyprint.images.RasterImage._get_png_data

    def counting(pillow_image):
        encoded.append(pillow_image.size)
        return real(pillow_image)

    monkeypatch.setattr(weasyprint.images.RasterImage, "_get_png_data", staticmethod(counting))
    first = programme.to_pdf(tmp_path / "first.pdf", clinic=CLINIC)
    n = len(programme.table)
    assert len(encoded) == n  # each picture once (RGB drawings: no transparency mask)
    encoded.clear()
    second = programme.to_pdf(tmp_path / "second.pdf", clinic=CLINIC)
    other = sk.build_programme(["piriformis_syndrome", "sciatica"], patient="DEMO-002")
    new = set(other.table["exercise_id"]) - set(programme.table["exercise_id"])
    third = other.to_pdf(tmp_path / "third.pdf", clinic=CLINIC)
    assert new and len(encoded) == len(new)  # only the pictures new in the third handout
    assert len(_images(second)) == n and _images(second) == _images(first)
    assert len(_images(third)) == len(other.table)


def test_pdf_pictures_are_read_from_private_files_named_by_their_content(tmp_path, monkeypatch):
    import base64
    import stat

    from sciatica_kit import handout

    monkeypatch.setattr(handout, "_picture_files", {})
    monkeypatch.setattr(handout, "_picture_dir", None)
    png = base64.b64encode(b"\x89PNG not really").decode()
    text = f'<p>a</p><img src="data:image/png;base64,{png}" alt="x"><img src="data:image/png;base64,{png}">' \
           f'<img src="data:image/svg+xml;base64,{png}">'
    swapped = handout._pictures_as_files(text)
    uris = [part.split('"', 1)[0] for part in swapped.split('src="')[1:]]
    assert uris[0] == uris[1] and uris[0].startswith("file://") and uris[2].startswith("data:image/svg+xml")
    path = handout.Path(uris[0].removeprefix("file://"))
    assert path.read_bytes() == b"\x89PNG not really"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.unlink()  # removed meanwhile (a cleaner of temporary files): written again
    assert handout._pictures_as_files(text) == swapped and path.read_bytes() == b"\x89PNG not really"
