#!/usr/bin/env python3
"""Dump a connected camera's whole config tree and write a draft focuslock profile.

Usage: ``python scripts/probe_camera.py [--camera MODEL_OR_PORT] [--out DIR]``

Writes ``DIR/config.txt`` (every widget: path, type, value, choices, read-only) and
``DIR/draft.toml``, a profile for drivers/ with the widgets it recognised. Read the
draft before using it: the direction and size of focus-drive steps must be checked on
the body (drivers/README.md says how to add a body).

This reads the whole tree once (it can take seconds on some bodies); focuslock itself
only ever reads single widgets.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Widgets focuslock knows, by the names libgphoto2's drivers give them.
KNOWN_SETTINGS = {
    "aperture": ("aperture", "f-number", "fnumber"),
    "shutterspeed": ("shutterspeed", "shutterspeed2", "eosshutterspeed"),
    "iso": ("iso", "isospeed"),
    "exposurecompensation": ("exposurecompensation", "exposurecompensation2"),
    "capturetarget": ("capturetarget",),
    "focal_length": ("focallength",),
}
LIVE_VIEW_TOGGLES = ("viewfinder", "eosviewfinder")
FOCUS_DRIVES = ("manualfocusdrive", "manualfocus")


def walk(widget, path: str = ""):
    """Every leaf widget of a config tree with its path."""
    import gphoto2 as gp

    for index in range(widget.count_children()):
        child = widget.get_child(index)
        child_path = f"{path}/{child.get_name()}"
        if child.get_type() in (gp.GP_WIDGET_SECTION, gp.GP_WIDGET_WINDOW):
            yield from walk(child, child_path)
        else:
            yield child_path, child


def describe(widget) -> dict:
    import gphoto2 as gp

    names = {gp.GP_WIDGET_TEXT: "text", gp.GP_WIDGET_RANGE: "range", gp.GP_WIDGET_TOGGLE: "toggle",
             gp.GP_WIDGET_RADIO: "radio", gp.GP_WIDGET_MENU: "menu", gp.GP_WIDGET_BUTTON: "button",
             gp.GP_WIDGET_DATE: "date"}
    kind = names.get(widget.get_type(), str(widget.get_type()))
    entry = {"name": widget.get_name(), "label": widget.get_label(), "type": kind, "read_only": bool(widget.get_readonly())}
    try:
        entry["value"] = widget.get_value()
    except Exception as error:  # write-only widgets (Canon eoszoom) cannot be read
        entry["value"] = f"<unreadable: {error}>"
    if kind in ("radio", "menu"):
        entry["choices"] = [widget.get_choice(i) for i in range(widget.count_choices())]
    if kind == "range":
        entry["range"] = list(widget.get_range())
    return entry


def draft_profile(summary: str, model: str, widgets: dict[str, dict]) -> str:
    manufacturer = next((line.split(":", 1)[1].strip() for line in summary.splitlines() if line.startswith("Manufacturer:")), "")
    lines = [
        f"# Draft written by scripts/probe_camera.py for {model}. Check before use:",
        "# focus-drive direction and step sizes must be tried on the body.",
        f'name = "{model}"',
        "",
        "[match]",
        f'manufacturer = ["{manufacturer or "*"}*"]',
        f'model = ["*{model.split()[-1] if model else ""}*"]',
        "",
        "[live_view]",
    ]
    toggle = next((name for name in LIVE_VIEW_TOGGLES if name in widgets), None)
    if toggle:
        lines += [f'widget = ["{toggle}"]', 'on = "1"', 'off = "0"']
    if "liveviewsize" in widgets:
        lines.append('size_widget = "liveviewsize"')
    drive = next((name for name in FOCUS_DRIVES if name in widgets), None)
    if drive:
        entry = widgets[drive]
        lines += ["", "[focus_drive]", f'widget = "{drive}"']
        if entry["type"] in ("radio", "menu"):
            near = [c for c in entry.get("choices", []) if c.lower().startswith("near")]
            far = [c for c in entry.get("choices", []) if c.lower().startswith("far")]
            none = next((c for c in entry.get("choices", []) if c.lower() == "none"), "None")
            lines += ['kind = "radio"', f"near = {near!r}".replace("'", '"'), f"far = {far!r}".replace("'", '"'),
                      f'none = "{none}"', "reset_between = true"]
        elif entry["type"] == "range":
            low, high = int(entry["range"][0]), int(entry["range"][1])
            kind = "chunked-range" if high < 100 else "range"
            lines += [f'kind = "{kind}"', f"minimum = {low}", f"maximum = {high}", "near_sign = -1"]
    if "capturetarget" in widgets:
        choices = widgets["capturetarget"].get("choices", [])
        card = next((c for c in choices if "card" in c.lower()), None)
        ram = next((c for c in choices if "ram" in c.lower()), None)
        lines += ["", "[capture]", 'target_widget = "capturetarget"']
        if card:
            lines.append(f'target_card = "{card}"')
        if ram:
            lines.append(f'target_ram = "{ram}"')
    lines += ["", "[settings]"]
    for setting, candidates in KNOWN_SETTINGS.items():
        found = next((name for name in candidates if name in widgets), None)
        if found:
            lines.append(f'{setting} = "{found}"')
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--camera", help="model (or part of it) or port")
    parser.add_argument("--out", type=Path, default=Path("probe"))
    args = parser.parse_args(argv)
    try:
        import gphoto2 as gp
    except ImportError:
        print("probe_camera: the gphoto2 Python package is not installed.", file=sys.stderr)
        return 1
    detected = gp.Camera.autodetect()
    cameras = [(detected.get_name(i), detected.get_value(i)) for i in range(detected.count())]
    if args.camera:
        cameras = [c for c in cameras if args.camera.lower() in c[0].lower() or args.camera == c[1]]
    if not cameras:
        print("probe_camera: no camera found; check the cable and that the body is on.", file=sys.stderr)
        return 1
    model, port = cameras[0]
    camera = gp.Camera()
    ports = gp.PortInfoList()
    ports.load()
    abilities = gp.CameraAbilitiesList()
    abilities.load()
    camera.set_port_info(ports[ports.lookup_path(port)])
    camera.set_abilities(abilities[abilities.lookup_model(model)])
    try:
        camera.init()
        summary = camera.get_summary().text
        widgets = {}
        dump = [f"# {model} on {port}", summary, ""]
        for path, widget in walk(camera.get_config()):
            entry = describe(widget)
            widgets[entry["name"]] = entry
            extra = f" choices={entry['choices']}" if "choices" in entry else (f" range={entry['range']}" if "range" in entry else "")
            dump.append(f"{path}  [{entry['type']}{', read-only' if entry['read_only'] else ''}] = {entry['value']!r}{extra}")
    finally:
        camera.exit()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "config.txt").write_text("\n".join(dump) + "\n")
    (args.out / "draft.toml").write_text(draft_profile(summary, model, widgets))
    print(f"wrote {args.out / 'config.txt'} ({len(widgets)} widgets) and {args.out / 'draft.toml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
