"""Hostile input, generated: every parser and loader answers with a result or one
sentence — never a traceback, never NaN or Infinity in JSON (hypothesis)."""

from __future__ import annotations

import json
import math
import os
import struct

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from focuslock.cli import main
from focuslock.core.resources import DataFileError, read_toml
from focuslock.devices.base import CorruptFrameError
from focuslock.devices.profiles import ProfileError, load_profile
from focuslock.io.limits import decode_image, header_size
from focuslock.optics.catalog import load_catalog

# Numbers as a user might type them, nonsense included.
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-1", "1e308", "-1e308", "1e-308", "nan", "inf", "-inf", "five", "", "0x10", "1,5"]),
    st.floats(min_value=0.001, max_value=5000).map(lambda v: f"{v:.4g}"),
)
# 60 examples a test in the suite; a longer hunt sets FOCUSLOCK_FUZZ_EXAMPLES (e.g. 5000).
FUZZ = settings(max_examples=int(os.environ.get("FOCUSLOCK_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _strict_json(text: str):
    def refuse(constant: str):
        raise AssertionError(f"{constant} in JSON output")

    return json.loads(text, parse_constant=refuse)


def _one_sentence_or_json(capsys, code: int) -> None:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if code == 0:
        _strict_json(captured.out)
    else:
        assert code in (1, 2)
        message = captured.err.strip().splitlines()[-1]
        assert message.startswith(("focuslock: ", "usage:")) or "error:" in message


@FUZZ
@given(focal=NUMBERS, f_number=NUMBERS, where=st.sampled_from(["--distance", "--magnification"]), value=NUMBERS,
       coc=NUMBERS, pupil=st.one_of(st.none(), NUMBERS), wavelength=st.one_of(st.none(), NUMBERS))
def test_dof_answers_or_refuses_in_one_sentence(capsys, focal, f_number, where, value, coc, pupil, wavelength):
    argv = ["dof", f"--focal-length={focal}", f"--f-number={f_number}", f"{where}={value}", f"--coc={coc}", "--json"]
    if pupil is not None:
        argv.append(f"--pupil-ratio={pupil}")
    if wavelength is not None:
        argv.append(f"--wavelength-nm={wavelength}")
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse refusing an option: one usage line and a sentence
        code = exit_.code
    _one_sentence_or_json(capsys, code)


@FUZZ
@given(focal=NUMBERS, f_number=NUMBERS, near=NUMBERS, depth=NUMBERS, overlap=NUMBERS, step=st.one_of(st.none(), NUMBERS),
       method=st.sampled_from(["rail", "lens"]))
def test_stack_plan_answers_or_refuses_in_one_sentence(capsys, focal, f_number, near, depth, overlap, step, method):
    argv = ["stack-plan", f"--focal-length={focal}", f"--f-number={f_number}", f"--near={near}", f"--depth={depth}",
            f"--overlap={overlap}", "--coc=0.03", f"--method={method}", "--json"]
    if step is not None:
        argv.append(f"--step-um={step}")
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    _one_sentence_or_json(capsys, code)


@FUZZ
@given(data=st.binary(max_size=400))
def test_image_bytes_decode_or_are_refused_in_one_sentence(data):
    try:
        image = decode_image(data, "fuzz.bin")
    except CorruptFrameError as error:
        assert error.user_message.startswith("fuzz.bin") and "\n" not in error.user_message
    else:
        assert image.ndim == 3 and min(image.shape[:2]) >= 16


@FUZZ
@given(width=st.integers(0, 2**32 - 1), height=st.integers(0, 2**32 - 1))
def test_a_png_header_of_any_size_is_read_exactly(width, height):
    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", width, height) + bytes(9)
    assert header_size(head) == (width, height)


@FUZZ
@given(text=st.text(max_size=300), raw=st.binary(max_size=200))
def test_toml_readers_give_a_dict_or_one_sentence_naming_the_file(tmp_path, text, raw):
    for number, content in enumerate((text.encode("utf-8", "surrogatepass"), raw)):
        path = tmp_path / f"fuzz{number}.toml"
        try:
            path.write_bytes(content)
        except ValueError:
            continue
        try:
            assert isinstance(read_toml(path), dict)
        except DataFileError as error:
            assert str(error).startswith(str(path)) and "\n" not in str(error)
        try:
            load_profile(path)
        except ProfileError as error:
            assert str(error).startswith((path.name, str(path))) and "\n" not in str(error)


# Mutations of the shipped files: one field's value replaced by something of another type.
_VALUES = st.sampled_from(['"no"', "0", "-1", "1e999", '""', "[]", "{}", "true", '"x" ', "[1, \"a\"]", "nan", "inf"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line_choice=st.integers(0, 10_000), value=_VALUES, which=st.sampled_from(["sensors.toml", "lenses.toml"]))
def test_a_mutated_catalog_keeps_every_other_entry_working(tmp_path_factory, line_choice, value, which):
    from focuslock.core.resources import data_folder

    folder = tmp_path_factory.mktemp("calibration")
    for name in ("sensors.toml", "lenses.toml"):
        (folder / name).write_text((data_folder("calibration") / name).read_text())
    lines = (folder / which).read_text().splitlines()
    fields = [i for i, line in enumerate(lines) if "=" in line and not line.lstrip().startswith(("#", "name"))]
    index = fields[line_choice % len(fields)]
    key = lines[index].split("=", 1)[0]
    lines[index] = f"{key}= {value}"
    (folder / which).write_text("\n".join(lines) + "\n")
    load_catalog.cache_clear()
    try:
        catalog = load_catalog(folder)
    except Exception as error:  # only a CatalogError sentence is allowed, and only for formats
        from focuslock.optics.catalog import CatalogError

        assert isinstance(error, CatalogError), repr(error)
        return
    finally:
        load_catalog.cache_clear()
    shipped = load_catalog()
    # At most the mutated entry is gone, or a mutated format and the bodies on it.
    lost = len(shipped.lenses) + len(shipped.cameras) - len(catalog.lenses) - len(catalog.cameras)
    bodies_per_format = max(sum(c.sensor.key == key for c in shipped.cameras) for key in shipped.formats)
    assert lost <= (1 if which == "lenses.toml" else bodies_per_format)
    assert len(catalog.formats) >= len(shipped.formats) - 1


def test_a_lens_so_short_that_its_aperture_underflows_is_one_sentence(capsys):
    # Found by the fuzz test above: the numerical aperture's square underflowed to 0.
    code = main(["stack-plan", "--focal-length=1e-300", "--f-number=1.0", "--near=1.0", "--depth=0.0", "--overlap=0.0",
                 "--coc=0.03", "--method=rail", "--json"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err and err.startswith("focuslock: ")


def test_a_distance_inside_four_focal_lengths_is_refused_even_when_the_squares_underflow(capsys):
    # Found by the fuzz test above: d² and 4·d·f both underflowed to 0, so a distance far
    # inside 4f passed as "just focusable" and the magnification came out −1.
    code = main(["stack-plan", "--focal-length=1.6e-258", "--f-number=1.0", "--near=1.9e-277", "--depth=0.0",
                 "--overlap=0.0", "--coc=0.03", "--method=rail", "--json"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err and "cannot focus" in err


# What a hand-edited JSON file may hold, of every type.
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
                     max_leaves=10)


def _saved_recipe(folder):
    """A recipe as `focuslock recipe save` writes it, every table filled."""
    import numpy as np

    from focuslock.session.recipe import Recipe, save_recipe

    recipe = Recipe("bottle front", "bottle.png", ((10.0, 12.0, 40.0, 30.0), (60.0, 20.0, 30.0, 30.0)), "Nikon D750",
                    {"iso": "400", "aperture": "8"}, "AF-S 105 mm macro",
                    {"f_number": 8.0, "magnification": 1.0, "sensor_width_mm": 35.9, "coc_um": 30.0}, ("near",),
                    {"grid": True, "ghost_opacity": 0.5}, {"pattern": "{session}_{sku}_{seq:04d}"},
                    {"rating": {"pass": 5, "soft": 1}, "label": {"pass": "Green"}}, 1.0)
    path = folder / "bottle.toml"
    save_recipe(path, recipe, np.full((120, 160, 3), 128, np.uint8))
    return path


@FUZZ
@given(line_choice=st.integers(0, 10_000), value=_VALUES)
def test_a_mutated_recipe_loads_whole_or_is_one_sentence(tmp_path_factory, line_choice, value):
    from focuslock.overlay.settings import OverlaySettings, with_overlay_choices
    from focuslock.session.naming import NamePattern
    from focuslock.session.recipe import RecipeError, load_recipe

    path = _saved_recipe(tmp_path_factory.mktemp("recipe"))
    lines = path.read_text().splitlines()
    fields = [i for i, line in enumerate(lines) if "=" in line and not line.lstrip().startswith("#")]
    index = fields[line_choice % len(fields)]
    lines[index] = f"{lines[index].split('=', 1)[0]}= {value}"
    path.write_text("\n".join(lines) + "\n")
    try:
        recipe, _ = load_recipe(path)
    except RecipeError as error:
        assert str(error).startswith((path.name, str(path))) and "\n" not in str(error)
        return
    # Loaded: every part of it is what its users take, of the right type.
    policy = recipe.rating_policy()
    for verdict in ("pass", "uncertain", "drift", "soft"):
        stars = policy.rating(verdict)
        assert type(stars) is int and -1 <= stars <= 5
        assert isinstance(policy.label(verdict), str)
    assert all(type(v) is float and v > 0 for v in recipe.optics.values())
    assert all(isinstance(v, str) for v in recipe.camera_settings.values())
    NamePattern(str(recipe.naming.get("pattern", "{session}_{sku}_{seq:04d}")))
    try:
        with_overlay_choices(OverlaySettings(), recipe.overlay)
    except (TypeError, ValueError):
        pass  # the window says so and keeps its overlay


@FUZZ
@given(choices=st.dictionaries(st.sampled_from(["peaking", "grid", "centre_mark", "aspect_guide", "safe_areas",
                                                "ghost_mode", "ghost_opacity", "zebras", "zebra_level", "histogram",
                                                "loupe_zoom", "focus_meter", "other"]), _JSON, max_size=4))
@example(choices={"peaking": None})  # was taken, and peaking read as off
@example(choices={"ghost_mode": "blend", "ghost_opacity": "0.5"})  # was taken; the blend raised in the renderer
def test_overlay_choices_from_a_file_apply_or_are_refused_with_a_reason(choices):
    """The window's remembered overlay (window.json) and a recipe's [overlay] table."""
    from focuslock.overlay.settings import OverlaySettings, overlay_choices, with_overlay_choices

    try:
        applied = with_overlay_choices(OverlaySettings(), choices)
    except (TypeError, ValueError) as error:
        assert str(error) and "\n" not in str(error)
        return
    # What was applied survives being remembered and read back, and draws (with a
    # reference for the ghost): a hand-edited value must not break the renderer.
    assert with_overlay_choices(OverlaySettings(), json.loads(json.dumps(overlay_choices(applied)))) == applied
    import numpy as np

    from focuslock.focus.peaking import PeakingSettings
    from focuslock.overlay.render import OverlayRenderer

    frame = np.full((48, 64, 3), 120, np.uint8)
    drawn = OverlayRenderer().render(frame, None, PeakingSettings(), applied, reference_rgb=frame)
    assert drawn.shape == frame.shape


def _saved_mark(folder):
    """A mark as `focuslock mark set` keeps it: a real reference built from views of a
    real photograph, its arrays and its index entry."""
    import cv2

    from focuslock.focus.parts import FeatureReference
    from focuslock.workflows.marks import Mark, MarkStore
    from tests.focus.test_verdict_truth import DATA

    grey = cv2.cvtColor(cv2.imread(str(DATA / "text_sw1.jpg")), cv2.COLOR_BGR2GRAY)
    roi, margin, coc = (100, 80, 60, 40), 11, 2.0
    x, y, w, h = roi
    views = [grey[y - margin : y + h + margin, x - margin : x + w + margin].copy() for _ in range(2)]
    mark = Mark("near", roi, 120, grey[y : y + h, x : x + w].copy(), FeatureReference.from_views(views, 1.0, coc, margin),
                coc, views, 1.0, "Nikon D750", 1.0)
    store = MarkStore(folder)
    store.save(mark)
    return store


@FUZZ
@given(index=_JSON, raw=st.binary(max_size=60), field=st.sampled_from(["roi_px", "position_steps", "coc_px", "margin_px",
                                                                      "noise_sigma", "camera", "live_view_zoom"]),
       value=_JSON)
@example(index={}, raw=b"", field="coc_px", value=-1)  # each was a traceback from the reference
@example(index={}, raw=b"", field="position_steps", value=None)
@example(index={}, raw=b"", field="coc_px", value=4.49423283715579e+307)  # overflowed (CI, session 16)
def test_a_damaged_marks_file_is_one_sentence(tmp_path_factory, index, raw, field, value):
    from focuslock.workflows.marks import MarkError, MarkStore

    def read_back(store) -> None:
        try:
            for name in store.names():
                mark = store.load(name)
                assert mark.coc_px > 0 and isinstance(mark.position_steps, int)
            assert isinstance(store.drive_position("Nikon D750"), int)
        except MarkError as error:
            assert "\n" not in str(error)

    for content in (json.dumps(index).encode(), raw):
        folder = tmp_path_factory.mktemp("marks")
        (folder / "marks.json").write_bytes(content)
        read_back(MarkStore(folder))
    # One field of a real mark's entry changed by hand.
    store = _saved_mark(tmp_path_factory.mktemp("marks"))
    entries = json.loads(store._index_path.read_text())
    entries["marks"]["near"][field] = value
    store._index_path.write_text(json.dumps(entries))
    read_back(store)


@FUZZ
@given(records=_JSON, line_choice=st.integers(0, 100), value=_VALUES)
def test_a_damaged_drive_calibration_is_one_sentence(tmp_path_factory, records, line_choice, value):
    from focuslock.optics.lens_limits import OpticsError
    from focuslock.optics.stack import load_drive_calibration

    folder = tmp_path_factory.mktemp("calibration")
    good = ('[[focus_drive]]\ncamera = "Nikon D750"\nlens = "AF-S 105 mm macro"\nstep_um = 12.5\n'
            'drive_setting = "manualfocusdrive"\n')
    lines = good.splitlines()
    fields = [i for i, line in enumerate(lines) if "=" in line]
    index = fields[line_choice % len(fields)]
    lines[index] = f"{lines[index].split('=', 1)[0]}= {value}"
    for content in ("\n".join(lines) + "\n", f"focus_drive = {json.dumps(records)}\n"):
        path = folder / "focus-drive.toml"
        path.write_text(content)
        try:
            calibration = load_drive_calibration(path, camera="Nikon")
        except OpticsError as error:
            assert "\n" not in str(error)
            continue
        assert math.isfinite(calibration.step_um) and calibration.step_um > 0


_CELLS = [("session", "name"), ("session", "setup_json"), ("session", "created_utc"), ("shots", "name"),
          ("shots", "reason"), ("shots", "drift_px"), ("shots", "drift_share"), ("shots", "camera_json"),
          ("shots", "optics_json"), ("shots", "logged_utc"), ("shot_files", "path"), ("shot_files", "size_bytes"),
          ("shot_files", "sha256"), ("feature_verdicts", "state"), ("feature_verdicts", "blur_px"),
          ("feature_verdicts", "coc_share"), ("feature_verdicts", "found_x_px"), ("feature_verdicts", "reason")]
_CELL_VALUES = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.floats(), st.text(max_size=12), st.binary(max_size=8),
                         st.sampled_from(["{", "[]", "null", "{\"a\": [1]}", "1e999", "NaN", "-1"]))


@FUZZ
@given(cell=st.sampled_from(_CELLS), value=_CELL_VALUES)
@example(cell=("shots", "drift_px"), value="")  # each was a traceback from `report`
@example(cell=("shots", "drift_share"), value="")
@example(cell=("session", "setup_json"), value="")
@example(cell=("session", "setup_json"), value=0)
@example(cell=("feature_verdicts", "coc_share"), value=1.634266486238469e+308)  # the plot's axis overflowed (session 17)
@example(cell=("feature_verdicts", "coc_share"), value=float("nan"))
def test_a_session_log_edited_by_hand_reports_or_is_one_sentence(tmp_path_factory, capsys, cell, value):
    """A session's SQLite log changed outside focuslock (a cell of any type, as SQLite
    lets any column hold): `focuslock report` writes its page or says why in one sentence."""
    import sqlite3

    from focuslock.session.database import DATABASE_NAME
    from focuslock.session.records import FeatureVerdict, ShotFile, ShotRecord
    from focuslock.session.store import ShotStore

    folder = tmp_path_factory.mktemp("session")
    with ShotStore.open(folder, setup={"reference": "reference.png"}) as store:
        for name, verdict in (("IMG_1", "pass"), ("IMG_2", "soft")):
            store.record_shot(ShotRecord(name, (ShotFile(f"{name}.jpg", "ab" * 32, 1234),), verdict,
                                         None if verdict == "pass" else "feature 1 is soft",
                                         (FeatureVerdict(0, "sharp" if verdict == "pass" else "soft", None, 0.4, 0.1, 2.1,
                                                         0.13, (10.0, 20.0), 1.5),), 1.5, 0.001, {"iso": "100"},
                                         {"f_number": 8}, None))
    table, column = cell
    with sqlite3.connect(folder / DATABASE_NAME) as db:
        try:
            db.execute(f"UPDATE {table} SET {column} = ?", (value,))
        except sqlite3.Error:
            return  # a constraint refused it: SQLite keeps the log as it was
    code = main(["report", str(folder), "--out", str(folder / "report.html"), "--force"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if code == 0:
        assert (folder / "report.html").stat().st_size > 0
    else:
        assert captured.err.startswith("focuslock: ") and captured.err.count("\n") == 1, captured.err


_SETUP_KEYS = st.sampled_from(["reference", "features_px", "coc_px", "coc_um", "sensor_width_mm", "drift_limit_share",
                               "camera", "lens", "optics"])


@settings(FUZZ, max_examples=max(1, FUZZ.max_examples // 4))  # two watch runs an example
@given(key=_SETUP_KEYS, value=_JSON)
@example(key="coc_px", value="six")  # was a traceback
@example(key="features_px", value=[[1, 2]])  # was Python's own error
@example(key="drift_limit_share", value=None)  # found by CI's own draw: a comparison with None
def test_a_session_whose_setup_was_edited_goes_on_or_says_why_in_one_sentence(tmp_path_factory, capsys, key, value):
    """`watch --session` continuing a session whose stored setup (what its shots are
    judged against) was changed outside focuslock: it judges the next shot, or one
    sentence."""
    import sqlite3

    import cv2

    from focuslock.session.database import DATABASE_NAME
    from tests.focus.test_verdict_truth import DATA

    root = tmp_path_factory.mktemp("watch")
    hot, session = root / "hot", root / "session"
    hot.mkdir()
    picture = cv2.imread(str(DATA / "barcode.jpg"))
    cv2.imwrite(str(hot / "IMG_0001.JPG"), picture)
    assert main(["watch", str(hot), "--roi", "100,75,200,150", "--session", str(session), "--once"]) == 0
    with sqlite3.connect(session / DATABASE_NAME) as db:
        setup = json.loads(db.execute("SELECT setup_json FROM session").fetchone()[0])
        setup[key] = value
        db.execute("UPDATE session SET setup_json = ?", (json.dumps(setup),))
    cv2.imwrite(str(hot / "IMG_0002.JPG"), cv2.GaussianBlur(picture, (0, 0), 1.0))
    capsys.readouterr()
    code = main(["watch", str(hot), "--session", str(session), "--once"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert code == 0 or (captured.err.startswith("focuslock: ") and captured.err.count("\n") == 1), captured.err
