"""``focuslock --verbose``: the command configures logging (library modules only log); INFO
on stderr with it, WARNING and above without; the logger is left as it was found."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from focuslock.cli import main

DATA = Path(__file__).parent / "data" / "focus-stacks"
ROI = "450,300,300,240"


def _hot_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "hot"
    folder.mkdir()
    picture = cv2.resize(cv2.imread(str(DATA / "barcode.jpg")), (1200, 900), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(folder / "IMG_0001.JPG"), picture, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return folder


def test_verbose_says_on_stderr_what_the_session_does_and_a_plain_run_does_not(tmp_path, capsys):
    folder = _hot_folder(tmp_path)
    logger = logging.getLogger("focuslock")
    before = (logger.level, list(logger.handlers))
    assert main(["--verbose", "watch", str(folder), "--roi", ROI, "--coc-px", "6", "--session", str(tmp_path / "a"),
                 "--once"]) == 0
    err = capsys.readouterr().err
    assert "started, reference" in err  # session/opening.py's INFO line
    assert (logger.level, list(logger.handlers)) == before

    assert main(["watch", str(folder), "--roi", ROI, "--coc-px", "6", "--session", str(tmp_path / "b"), "--once"]) == 0
    assert "started, reference" not in capsys.readouterr().err
    assert (logger.level, list(logger.handlers)) == before


def test_a_warning_reaches_stderr_as_one_line_without_verbose(capsys, monkeypatch):
    from focuslock.cli import optics_cmds

    def warn(args) -> int:
        logging.getLogger("focuslock.optics.dof").warning("a plain warning")
        return 0

    monkeypatch.setattr(optics_cmds, "_dof", warn)
    assert main(["dof", "--focal-length", "100", "--f-number", "8", "--distance", "300", "--coc", "0.03"]) == 0
    assert capsys.readouterr().err == "focuslock: a plain warning\n"
