"""Every command's --help ends with one or two real examples (issue 30), and each example
parses: its words after ``focuslock`` go back through the parser that printed it."""

from __future__ import annotations

import argparse
import shlex

import pytest

from focuslock.cli.examples import EXAMPLES, _subcommands
from focuslock.cli.parser import build_parser


def _commands(parser: argparse.ArgumentParser, words: str = "") -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for name, sub in _subcommands(parser).items():
        path = f"{words} {name}".strip()
        found.append((path, sub))
        found += _commands(sub, path)
    return found


COMMANDS = _commands(build_parser())


def test_every_command_is_found_and_every_example_names_one():
    names = {path for path, _ in COMMANDS}
    assert {"demo", "live", "analyze", "mark set", "recipe save", "calibrate focus-steps", "frame", "catalog"} <= names
    assert set(EXAMPLES) <= names, set(EXAMPLES) - names


@pytest.mark.parametrize(("path", "sub"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_every_help_ends_with_examples_that_parse(path, sub, capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*path.split(), "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "\nexamples:\n" in text, f"focuslock {path} --help has no examples (add them to cli/examples.py)"
    tail = text.rsplit("\nexamples:\n", 1)[1]
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 3 and all(line.startswith(f"focuslock {path}") for line in lines), lines
    for line in lines:
        argv = shlex.split(line)[1:]
        parsed = build_parser().parse_args(argv)  # exits 2 (fails the test) on an example that does not parse
        assert callable(getattr(parsed, "run", None)), line
