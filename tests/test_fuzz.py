"""Hostile input, generated: every parser and loader answers with a result or one
sentence — never a traceback, never NaN or Infinity in JSON (hypothesis)."""

from __future__ import annotations

import json
import os
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from focuslock.camera.base import CorruptFrameError
from focuslock.camera.limits import decode_image, header_size
from focuslock.camera.profiles import ProfileError, load_profile
from focuslock.cli import main
from focuslock.optics.catalog import load_catalog
from focuslock.resources import DataFileError, read_toml

# Numbers as a user might type them, nonsense included.
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-1", "1e308", "-1e308", "1e-308", "nan", "inf", "-inf", "five", "", "0x10", "1,5"]),
    st.floats(min_value=0.001, max_value=5000).map(lambda v: f"{v:.4g}"),
)
# 60 examples a test in the suite; a longer hunt sets FOCUSLOCK_FUZZ_EXAMPLES (e.g. 5000).
FUZZ = settings(max_examples=int(os.environ.get("FOCUSLOCK_FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


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
    from focuslock.resources import data_folder

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
    except Exception as error:  # noqa: BLE001 - only a CatalogError sentence is allowed, and only for formats
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
