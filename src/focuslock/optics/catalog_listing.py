"""The catalog listed for a user looking for the exact name to pass to ``--camera``,
``--lens`` or ``--sensor`` (``focuslock catalog bodies|lenses|sensors``): one row per
entry, its name, its sensor and its key figures."""

from __future__ import annotations

from typing import Any

from focuslock.optics.catalog import Camera, Catalog, Lens, SensorFormat

__all__ = ["CATALOG_KINDS", "catalog_lines", "catalog_rows"]

CATALOG_KINDS = ("bodies", "lenses", "sensors")


def catalog_rows(catalog: Catalog, kind: str) -> list[dict[str, Any]]:
    """Every entry of one ``kind`` (see :data:`CATALOG_KINDS`) as a plain mapping, in the
    catalog's order."""
    if kind == "bodies":
        return [_body(camera) for camera in catalog.cameras]
    if kind == "lenses":
        return [_lens(lens) for lens in catalog.lenses]
    if kind == "sensors":
        return [_sensor(sensor) for sensor in catalog.formats.values()]
    raise ValueError(f"The catalog lists {', '.join(CATALOG_KINDS)}, not {kind!r}.")


def catalog_lines(catalog: Catalog, kind: str) -> list[str]:
    """One line per entry: the name to pass first, then what it is."""
    rows = catalog_rows(catalog, kind)
    lines = []
    for row in rows:
        if kind == "bodies":
            lines.append(f"{row['name']} — {row['sensor']}, {row['width_px']}×{row['height_px']} px, "
                         f"{row['pixel_pitch_um']:.2f} µm pixels, CoC {row['coc_um']:.1f} µm")
        elif kind == "lenses":
            focal = (f"{row['focal_length_min_mm']:g}–{row['focal_length_mm']:g} mm" if row["focal_length_min_mm"]
                     else f"{row['focal_length_mm']:g} mm")
            text = (f"{row['name']} — {focal}, f/{row['f_number_min']:g}–{row['f_number_max']:g}, "
                    f"closest focus {row['min_focus_mm']:g} mm, up to {row['max_magnification']:g}×")
            if row["min_magnification"]:
                text += f" (from {row['min_magnification']:g}×)"
            if row["working_distance_mm"] is not None:
                text += f", working distance {row['working_distance_mm']:g} mm"
            lines.append(text)
        else:
            lines.append(f"{row['key']} — {row['name']}, {row['width_mm']:g}×{row['height_mm']:g} mm, "
                         f"CoC {row['coc_um']:.1f} µm")
    return lines


def _sensor(sensor: SensorFormat) -> dict[str, Any]:
    return {"key": sensor.key, "name": sensor.name, "width_mm": sensor.width_mm, "height_mm": sensor.height_mm,
            "coc_um": round(sensor.coc_mm * 1000.0, 3)}


def _body(camera: Camera) -> dict[str, Any]:
    return {"name": camera.name, "sensor": camera.sensor.name, "sensor_key": camera.sensor.key,
            "width_px": camera.width_px, "height_px": camera.height_px,
            "pixel_pitch_um": round(camera.pixel_pitch_um, 3), "coc_um": round(camera.sensor.coc_mm * 1000.0, 3)}


def _lens(lens: Lens) -> dict[str, Any]:
    return {"name": lens.name, "focal_length_mm": lens.focal_length_mm, "focal_length_min_mm": lens.focal_length_min_mm,
            "f_number_min": lens.f_number_min, "f_number_max": lens.f_number_max, "min_focus_mm": lens.min_focus_mm,
            "max_magnification": lens.max_magnification, "min_magnification": lens.min_magnification,
            "working_distance_mm": lens.working_distance_mm}
