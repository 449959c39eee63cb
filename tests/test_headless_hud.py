"""A headless recording draws the window's HUD (issue 30, round two): the photographer's
three plain lines by default, the engineer's whole HUD with --details (the window's I)."""

from __future__ import annotations

import re

import pytest

from focuslock.cli import main

ENGINEERS_WORDS = re.compile(r"CoC|σ|\bpx\b|live-view|sub-pixel|% of the way")


def _recorded_huds(monkeypatch, tmp_path, *extra: str) -> list[list[str]]:
    import focuslock.runtime.headless as headless

    drawn: list[list[str]] = []
    draw = headless.draw_text_panel

    def spy(image, lines):
        drawn.append(list(lines))
        return draw(image, lines)

    monkeypatch.setattr(headless, "draw_text_panel", spy)
    code = main(["live", "--source", "sim", "--roi", "center:96x64", "--lock", "--headless",
                 "--seconds", "4", "--out", str(tmp_path), *extra])
    assert code == 0
    assert drawn
    return drawn


def test_a_headless_recording_shows_the_windows_three_plain_lines(monkeypatch, tmp_path, capsys):
    huds = _recorded_huds(monkeypatch, tmp_path)
    for lines in huds:
        assert len(lines) == 3, lines
        assert not ENGINEERS_WORDS.search("\n".join(lines)), lines
    # The lock's state in plain words, the depth of field, the frame's age without the window's key.
    assert any(lines[0].startswith(("In focus", "Cannot tell", "Softening", "Out of focus")) for lines in huds), huds[-1]
    assert any(lines[1].startswith("Depth of field") for lines in huds), huds[-1]
    # No key or mouse is offered in a recording.
    assert not any(re.search(r"I: details|press L|drag a box", line) for lines in huds for line in lines)


@pytest.mark.parametrize("command", ["live", "demo"])
def test_details_records_the_engineers_whole_hud(monkeypatch, tmp_path, command):
    if command == "demo":
        import focuslock.runtime.headless as headless

        drawn: list[list[str]] = []
        draw = headless.draw_text_panel
        monkeypatch.setattr(headless, "draw_text_panel", lambda image, lines: drawn.append(list(lines)) or draw(image, lines))
        assert main(["demo", "--headless", "--seconds", "1", "--size", "512x340", "--out", str(tmp_path), "--details"]) == 0
    else:
        drawn = _recorded_huds(monkeypatch, tmp_path, "--details")
    assert any(any(line.startswith("Circle of confusion") for line in lines) for lines in drawn), drawn[-1]
