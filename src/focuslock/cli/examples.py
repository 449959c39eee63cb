"""The examples at the end of every command's ``--help``: one or two real command lines
each, in one table (``tests/test_cli_examples.py`` parses every one of them with the
parser it is printed by, and checks that every command has some)."""

from __future__ import annotations

import argparse

__all__ = ["EXAMPLES", "add_examples"]

# A command's words after ``focuslock`` -> its examples (paths relative to a clone's root,
# where the repository's photographs are; "sim" is the simulated bench).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "demo": ("focuslock demo",
             "focuslock demo --headless --seconds 20 --out demo-run"),
    "live": ("focuslock live --source gphoto2",
             "focuslock live --source sim --roi auto --lock --headless --seconds 5 --out first"),
    "analyze": ("focuslock analyze tests/data/focus-stacks/pcb --roi auto",
                "focuslock analyze take.mp4 --roi center:200x150 --camera 'EOS R5' --csv take.csv"),
    "cameras": ("focuslock cameras",
                "focuslock cameras --json",
                "focuslock cameras --source folder:tests/data/focus-stacks/pcb"),
    "capture": ("focuslock capture --out shots --count 3",
                "focuslock capture --session day1 --recipe studio/board.toml --sku A123"),
    "dof": ("focuslock dof --lens 'MP-E 65' --camera 'EOS R5' --f-number 4 --magnification 5",),
    "stack-plan": ("focuslock stack-plan --lens 'MP-E 65' --camera 'EOS R5' --f-number 4 --magnification 5 "
                   "--depth 0.5 --step-um 2",),
    "calibrate": ("focuslock calibrate focus-steps --source sim",),
    "calibrate focus-steps": ("focuslock calibrate focus-steps --source sim",
                              "focuslock calibrate focus-steps --source gphoto2 --roi center:200x150 --lens-name 'MP-E 65'"),
    "stack-shoot": ("focuslock stack-shoot --source sim --magnification 2 --capture-width-px 400 --from-mark near "
                    "--to-mark far --no-check --out stack",
                    "focuslock stack-shoot --source sim --magnification 1 --capture-width-px 1024 --rail sim-rail "
                    "--near-um 600 --far-um 600 --live-view-zoom 5 --out rail-stack",
                    "focuslock stack-shoot --source gphoto2 --rail grbl-z --near-um 500 --far-um 2500 --out beetle"),
    "spin": ("focuslock spin --turntable sim-turntable --steps 24 --source sim --magnification 2 --live-view-zoom 5 "
             "--radius-mm 0.2 --roi center:80x80 --out spin",
             "focuslock spin --turntable grbl-turntable --steps 36 --source gphoto2 --roi auto --session product-day"),
    "rail": ("focuslock rail status --rail grbl-z",
             "focuslock rail unlock --rail grbl-z"),
    "rail status": ("focuslock rail status --rail grbl-z",),
    "rail move": ("focuslock rail move --rail grbl-z --by -250",),
    "rail unlock": ("focuslock rail unlock --rail grbl-z",),
    "mark": ("focuslock mark set near --source sim --magnification 2 --roi 400,270,220,70",
             "focuslock mark go near --source sim --magnification 2"),
    "mark set": ("focuslock mark set near --source sim --magnification 2 --roi 400,270,220,70",
                 "focuslock mark set label --source gphoto2 --roi auto"),
    "mark go": ("focuslock mark go near --source sim --magnification 2",),
    "mark drive": ("focuslock mark drive --source sim --magnification 2 --steps -81",),
    "mark list": ("focuslock mark list",),
    "mark delete": ("focuslock mark delete near",),
    "stack-check": ("focuslock stack-check stack --map coverage.png",
                    "focuslock stack-check tests/data/focus-stacks/pcb --json"),
    "watch": ("focuslock watch shoot --recipe studio/board.toml",
              "focuslock watch shoot --roi auto --once"),
    "recipe": ("focuslock recipe save studio/board.toml --reference tests/data/focus-stacks/pcb/pcb_004.jpg "
               "--roi 380,425,200,50 --lens '100 mm macro'",
               "focuslock recipe check studio/board.toml --source gphoto2 --apply"),
    "recipe save": ("focuslock recipe save studio/board.toml --reference tests/data/focus-stacks/pcb/pcb_004.jpg "
                    "--roi 380,425,200,50 --lens '100 mm macro'",),
    "recipe check": ("focuslock recipe check studio/board.toml --source gphoto2 --apply",),
    "report": ("focuslock report shoot",
               "focuslock report shoot --out shoot-report.html"),
    "check-archive": ("focuslock check-archive archive/2025 --recipe studio/board.toml --session checks/2025",
                      "focuslock check-archive archive/2025 --recipe studio/board.toml --session checks/2025 "
                      "--scheduler tcp://studio-dask:8786 --json",
                      "focuslock check-archive archive/2025 --recipe studio/board.toml --session checks/2025 "
                      "--hub postgresql://focuslock@hub.studio.lan/focuslock"),
    "frame": ("focuslock frame sim --out bench.png",
              "focuslock frame tests/data/focus-stacks/pcb --out first.png"),
    "serve": ("focuslock serve --source sim --roi auto",
              "focuslock serve --source gphoto2 --host 0.0.0.0 --session shoot --recipe studio/board.toml"),
    "catalog": ("focuslock catalog bodies",
                "focuslock catalog lenses --json"),
    "hub": ("focuslock hub init postgresql://focuslock@hub.studio.lan/focuslock",
            "focuslock hub status postgresql://focuslock@hub.studio.lan/focuslock --json"),
    "hub init": ("focuslock hub init postgresql://focuslock@hub.studio.lan/focuslock",),
    "hub import-shotlist": ("focuslock hub import-shotlist postgresql://focuslock@hub.studio.lan/focuslock today.csv",
                            "focuslock hub import-shotlist postgresql://focuslock@hub.studio.lan/focuslock list.csv "
                            "--date 2026-12-08"),
    "hub status": ("focuslock hub status postgresql://focuslock@hub.studio.lan/focuslock",
                   "focuslock hub status postgresql://focuslock@hub.studio.lan/focuslock --json"),
    "hub report": ("focuslock hub report postgresql://focuslock@hub.studio.lan/focuslock",
                   "focuslock hub report postgresql://focuslock@hub.studio.lan/focuslock --date 2026-12-07 "
                   "--out reports/day.html --force"),
    "hub serve": ("focuslock hub serve postgresql://focuslock@hub.studio.lan/focuslock --host 0.0.0.0",
                  "focuslock hub serve postgresql://postgres@127.0.0.1:5432/studio --port 8766"),
}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parsers of ``parser``'s sub-commands, by name."""
    for action in parser._actions:  # argparse keeps its sub-parsers here and nowhere public
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def add_examples(parser: argparse.ArgumentParser, words: str = "") -> None:
    """End the ``--help`` of every command under ``parser`` with its examples from
    :data:`EXAMPLES` (a command's own epilog is kept above them)."""
    for name, sub in _subcommands(parser).items():
        path = f"{words} {name}".strip()
        lines = EXAMPLES.get(path)
        if lines:
            text = "examples:\n" + "\n".join(f"  {line}" for line in lines)
            sub.epilog = f"{sub.epilog}\n\n{text}" if sub.epilog else text
            sub.formatter_class = argparse.RawDescriptionHelpFormatter
        add_examples(sub, path)
