"""Camera family profiles: every shipped profile validates, matches its bodies, and its
focus-drive semantics turn "n finest steps, positive = farther" into the right writes."""

from __future__ import annotations

import logging
import shutil

import pytest

from focuslock.core.resources import data_folder
from focuslock.devices.profiles import ProfileError, load_profile, load_profiles, match_profile

FAMILIES = {"canon-eos", "nikon", "sony", "fujifilm", "panasonic", "olympus", "generic-ptp"}

def _warnings(caplog) -> str:
    """The warnings focuslock logged, one a line (as the command line shows them on stderr)."""
    return "".join(f"{r.getMessage()}\n" for r in caplog.records
                   if r.name.startswith("focuslock") and r.levelno >= logging.WARNING)



def _profile(key):
    return next(p for p in load_profiles() if p.key == key)


def test_every_family_has_a_valid_profile_and_the_generic_one_comes_last():
    profiles = load_profiles()
    assert {p.key for p in profiles} == FAMILIES
    assert profiles[-1].key == "generic-ptp" and profiles[-1].fallback


@pytest.mark.parametrize(
    "manufacturer, model, family",
    [
        ("Canon Inc.", "Canon EOS 5D Mark IV", "canon-eos"),
        ("Canon Inc.", "Canon EOS R5", "canon-eos"),
        ("Nikon Corporation", "Nikon Z 8", "nikon"),
        ("Nikon Corporation", "D850", "nikon"),
        ("Sony Corporation", "ILCE-7M4", "sony"),
        ("FUJIFILM", "X-T5", "fujifilm"),
        ("Panasonic", "DC-GH5", "panasonic"),
        ("OLYMPUS", "E-M1MarkIII", "olympus"),
        ("OM Digital Solutions", "OM-1", "olympus"),
        ("Pentax", "K-3 Mark III", "generic-ptp"),
    ],
)
def test_bodies_match_their_family(manufacturer, model, family):
    assert match_profile(manufacturer, model).key == family


def test_canon_radio_uses_coarse_steps_first_and_none_between():
    drive = _profile("canon-eos").focus_drive
    assert drive.writes(3) == ["Far 1", "None"] * 3
    assert drive.writes(-9) == ["Near 2", "None", "Near 1", "None"]
    assert drive.writes(130) == ["Far 3", "None", "Far 3", "None", "Far 1", "None", "Far 1", "None"]
    assert drive.writes(0) == []


def test_nikon_signed_steps_negative_is_nearer_and_limits_hold():
    drive = _profile("nikon").focus_drive
    assert drive.writes(250) == ["250"] and drive.writes(-40) == ["-40"]
    with pytest.raises(ValueError, match="beyond this body's single move"):
        drive.writes(40000)


def test_sony_splits_large_moves_into_chunks_of_seven():
    drive = _profile("sony").focus_drive
    assert drive.writes(16) == ["7", "7", "2"]
    assert drive.writes(-7) == ["-7"]


def test_fujifilm_writes_an_absolute_position():
    drive = _profile("fujifilm").focus_drive
    assert drive.writes(25, current=400) == ["425"]
    assert drive.writes(-25, current=400) == ["375"]
    with pytest.raises(ValueError, match="present position"):
        drive.writes(5)


def test_panasonic_and_olympus_radios():
    panasonic = _profile("panasonic").focus_drive
    assert panasonic.writes(12) == ["Far 2", "None", "Far 1", "None", "Far 1", "None"]
    olympus = _profile("olympus").focus_drive
    assert olympus.writes(-11) == ["Near 2", "Near 1"]  # no reset needed on Olympus


def test_generic_ptp_has_no_focus_drive():
    assert _profile("generic-ptp").focus_drive is None


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('kind = "radio"', 'kind = "dial"', "'focus_drive.kind' is 'dial'"),
        ('far = ["Far 1", "Far 2", "Far 3"]', 'far = ["Far 1"]', "as many 'near' as 'far'"),
        ("[zoom]", "[zoom]\nspeed = 3", "unknown field 'speed' in [zoom]"),
        ('aperture = "aperture"', 'aperture = 7', "'settings.aperture' must be a widget name"),
        ("step_units = [1, 8, 64]", "step_units = [8, 1, 64]", "finest"),
    ],
)
def test_bad_profiles_name_the_file_and_the_field(tmp_path, old, new, message):
    source = data_folder("drivers") / "canon-eos.toml"
    broken = tmp_path / "canon-eos.toml"
    shutil.copy(source, broken)
    text = broken.read_text()
    assert old in text
    broken.write_text(text.replace(old, new, 1))
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace("[", r"\[").replace("]", r"\]")) as error:
        load_profile(broken)
    assert str(error.value).startswith("canon-eos.toml")


def _drivers_copy(tmp_path):
    folder = tmp_path / "drivers"
    shutil.copytree(data_folder("drivers"), folder)
    return folder


def test_one_broken_profile_is_skipped_with_its_line_and_every_other_family_still_works(tmp_path, caplog):
    folder = _drivers_copy(tmp_path)
    sony = folder / "sony.toml"
    sony.write_text(sony.read_text().replace("[focus_drive]", "[focus_drive", 1))  # a syntax error
    load_profiles.cache_clear()
    profiles = load_profiles(folder)
    err = _warnings(caplog)
    assert "sony.toml, line" in err and "(not valid TOML)" in err and "This profile was skipped" in err
    assert "sony" not in [p.key for p in profiles]
    assert match_profile("Canon Inc.", "Canon EOS R5", profiles).key == "canon-eos"
    assert match_profile("Nikon Corporation", "Nikon Z 8", profiles).key == "nikon"
    # A Sony body still gets a profile: the generic one.
    assert match_profile("Sony Corporation", "ILCE-7RM5", profiles).key == "generic-ptp"


@pytest.mark.parametrize("damage, words", [
    (lambda folder: (folder / "fujifilm.toml").write_bytes((folder / "fujifilm.toml").read_bytes() + b"\n# caf\xe9\n"),
     "fujifilm.toml, line"),
    (lambda folder: (folder / "extra.toml").mkdir(), "extra.toml is a folder, not a TOML file"),
    (lambda folder: (folder / "olympus.toml").write_text(
        (folder / "olympus.toml").read_text().replace('name = "', 'fallback = "no"\nname = "', 1)),
     "olympus.toml, line 2: field 'fallback' must be true or false, got 'no'"),
])
def test_bad_bytes_a_folder_and_a_text_for_a_boolean_are_skipped_in_one_sentence(tmp_path, caplog, damage, words):
    folder = _drivers_copy(tmp_path)
    damage(folder)
    load_profiles.cache_clear()
    profiles = load_profiles(folder)
    err = _warnings(caplog)
    assert words in err and err.count("\n") == 1
    assert len(profiles) >= 6


def test_a_users_own_profile_loads_beside_the_shipped_ones(tmp_path, monkeypatch):
    user = tmp_path / "config"
    (user / "drivers").mkdir(parents=True)
    (user / "drivers" / "pentax.toml").write_text(
        'name = "Pentax K"\n[match]\nmanufacturer = ["*PENTAX*", "*Ricoh*"]\nmodel = ["*"]\n'
        '[live_view]\nwidget = ["viewfinder"]\n')
    monkeypatch.setenv("FOCUSLOCK_CONFIG_DIR", str(user))
    load_profiles.cache_clear()
    try:
        profiles = load_profiles()
        assert match_profile("RICOH IMAGING COMPANY, LTD.", "PENTAX K-3 Mark III", profiles).name == "Pentax K"
        assert match_profile("Canon Inc.", "Canon EOS R6", profiles).key == "canon-eos"
    finally:
        load_profiles.cache_clear()
