"""The kit's fixed sentences come from the catalogue's wording.toml: one place, ready for translation."""

from __future__ import annotations

import shutil

import pytest

import sciatica_kit as sk
from sciatica_kit.catalog import CatalogError, catalog_dir
from sciatica_kit.wording import load_wording


@pytest.fixture
def folder(tmp_path):
    target = tmp_path / "catalog"
    shutil.copytree(catalog_dir(), target)
    return target


def test_a_translated_wording_file_reaches_the_handout_and_exports(folder, tmp_path):
    text = (folder / "wording.toml").read_text(encoding="utf-8")
    text = text.replace("Weakness in both legs.", "Schwäche in beiden Beinen.")
    text = text.replace("Sciatica Kit supports your clinician's judgement", "Sciatica Kit unterstützt Ihre Therapeutin")
    text = text.replace("No dose set yet: set it with the patient", "Noch keine Dosis: mit dem Patienten festlegen")
    (folder / "wording.toml").write_text(text, encoding="utf-8")
    cat = sk.load_catalog(path=folder)
    prog = sk.build_programme(["sciatica"], catalog=cat, patient="P-0042")
    page = prog.to_html(settings={}, pictures=False)
    assert "Schwäche in beiden Beinen." in page and "Sciatica Kit unterstützt Ihre Therapeutin" in page
    assert "Weakness in both legs." not in page
    assert "Sciatica Kit unterstützt Ihre Therapeutin" in prog._repr_html_()
    assert load_wording(cat).no_dose == "Noch keine Dosis: mit dem Patienten festlegen"
    assert "Noch keine Dosis: mit dem Patienten festlegen" in list(prog.table["dose"])
    assert load_wording().no_dose == "No dose set yet: set it with the patient"  # the packaged file is untouched


def test_a_wording_file_missing_a_sentence_is_refused_with_its_name(folder):
    text = (folder / "wording.toml").read_text(encoding="utf-8")
    start = text.index("disclaimer =")
    (folder / "wording.toml").write_text(text[:start] + text[text.index("\n", start) + 1:] + 'extra = "x"\n',
                                         encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_wording(sk.load_catalog(path=folder))
    assert "wording.toml: [wording] 'disclaimer' is missing" in str(err.value)
    assert "'extra' is not a known sentence" in str(err.value)


def test_a_catalogue_folder_without_wording_uses_the_packaged_one(folder):
    (folder / "wording.toml").unlink()
    assert load_wording(sk.load_catalog(path=folder)) == load_wording()
