"""``recipe save`` without hand-editing (issue 30.6): it makes its folder, and writes
``[naming]`` and ``[xmp]`` with working defaults and commented examples; the saved recipe
loads back, names a shot by its pattern and rates it by its policy, and every commented
example is itself a working value."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import cv2
import pytest

from focuslock.cli import main
from focuslock.session.naming import DEFAULT_PATTERN, NamePattern
from focuslock.session.recipe import Recipe, RecipeError, load_recipe, save_recipe
from focuslock.session.xmp import RatingPolicy
from focuslock.testing.synthetic import degrade

DATA = Path(__file__).parents[1] / "data" / "focus-stacks"


def _reference(tmp_path: Path) -> Path:
    rgb = cv2.cvtColor(cv2.imread(str(DATA / "header_pins.jpg")), cv2.COLOR_BGR2RGB)
    path = tmp_path / "sharp.png"
    cv2.imwrite(str(path), cv2.cvtColor(degrade(rgb, 0.0, 1.0, seed=1), cv2.COLOR_RGB2BGR))
    return path


def _save(capsys, recipe: Path, reference: Path, *extra: str) -> tuple[int, str, str]:
    code = main(["recipe", "save", str(recipe), "--reference", str(reference), "--roi", "120,90,160,120", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_recipe_save_makes_its_folder_and_writes_working_naming_and_ratings(tmp_path, capsys):
    reference = _reference(tmp_path)
    recipe_path = tmp_path / "studio" / "2026" / "bottle-front.toml"
    code, out, err = _save(capsys, recipe_path, reference)
    assert code == 0, err
    assert recipe_path.is_file() and recipe_path.with_suffix(".png").is_file()
    text = recipe_path.read_text()
    data = tomllib.loads(text)
    assert data["naming"] == {"pattern": DEFAULT_PATTERN}
    assert data["xmp"]["rating"] == {"pass": 5, "uncertain": 3, "drift": 2, "soft": 1}
    assert data["xmp"]["label"]["soft"] == "Red"
    # Comments explain each table where it is written.
    naming_part = text[text.index("[naming]"):text.index("[xmp]")]
    assert "{seq:04d}" in naming_part and "# " in naming_part and "Examples" in naming_part
    assert "rejected" in text[text.index("[xmp]"):]

    recipe, _ = load_recipe(recipe_path)
    policy = recipe.rating_policy()
    assert policy.rating("pass") == 5 and policy.label("soft") == "Red"
    name = NamePattern(recipe.naming["pattern"]).render(session="bottles", sequence=42, when=_when(), extension=".JPG",
                                                        sku="4006381333931")
    assert name == "bottles_4006381333931_0042.JPG"


def test_a_session_opened_on_a_saved_recipe_names_and_rates_a_shot(tmp_path, capsys):
    from focuslock.workflows.capture_session import open_capture_session

    reference = _reference(tmp_path)
    recipe_path = tmp_path / "new" / "label.toml"
    assert _save(capsys, recipe_path, reference)[0] == 0
    session = tmp_path / "session"
    log = open_capture_session(session, recipe_path, sku="A123")
    try:
        shot = session / "IMG_0001.png"
        session.mkdir(exist_ok=True)
        shutil.copy(reference, shot)
        result = log([shot], "EOS R5")
    finally:
        log.close()
    named = Path(result["path"])
    assert re.fullmatch(r".+_A123_0001\.png", named.name), named.name
    assert result["verdict"] == "pass", result["text"]
    sidecar = named.with_suffix(".xmp").read_text()
    assert 'xmp:Rating="5"' in sidecar or "<xmp:Rating>5</xmp:Rating>" in sidecar
    assert "Green" in sidecar


def test_every_commented_example_is_a_working_value(tmp_path):
    reference = cv2.imread(str(_reference(tmp_path)))
    path = tmp_path / "r.toml"
    save_recipe(path, Recipe("r", "r.png", ((120.0, 90.0, 160.0, 120.0),)), reference)
    text = path.read_text()
    examples = re.findall(r"^#\s+((?:pattern|rating|label) = .+?)(?:\s+#.*)?$", text, re.M)
    assert len(examples) == 5, examples
    for example in examples:
        value = tomllib.loads(example)
        if "pattern" in value:
            NamePattern(value["pattern"]).render(session="s", sequence=1, when=_when(), extension=".jpg")
        else:
            RatingPolicy.from_mapping(value)
        # The example put in place of the written value, the recipe still loads.
        key = example.split(" = ")[0]
        edited = re.sub(rf"^{key} = .*$", example, text, count=1, flags=re.M)
        path.write_text(edited)
        load_recipe(path)
    path.write_text(text)


def test_a_recipe_folder_that_cannot_be_made_is_one_sentence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    reference = cv2.imread(str(_reference(tmp_path)))
    with pytest.raises(RecipeError, match="part of its path is a file|is a file"):
        save_recipe(blocker / "sub" / "r.toml", Recipe("r", "r.png", ((1.0, 1.0, 20.0, 20.0),)), reference)


def _when():
    from datetime import datetime

    return datetime(2026, 12, 7, 18, 0, 0)
