"""The studio's shot list: a CSV from another machine (a PIM export, a spreadsheet) read
strictly, then written to the hub for one day (``focuslock hub import-shotlist``).

The file is untrusted. It must be UTF-8 (a BOM is allowed), at most 5 MB and 100 000
rows, with a header naming its columns: ``sku`` (required), ``name`` and ``views``
(optional; any case, ``views expected`` too). Each row is checked and every bad one is
named in one sentence with its line number; one bad row refuses the whole file (nothing
written). A SKU is a product code: letters, digits, space, ``. _ / -``, 1 to 200
characters, starting with a letter or digit (never a formula). A name is kept as text,
and one that a spreadsheet would run as a formula is stored as ``io/csv_safe.py`` makes
it safe (a leading ``'``). ``views``: a count (0 to 1000) or view names separated by
``;`` or ``|`` (default 1).

Importing a list makes it the day's list: in one transaction the day's rows are replaced
by the file's, so importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

from focuslock.core.resources import DataFileError, read_user_file
from focuslock.hub.connection import HubError, open_hub
from focuslock.io.csv_safe import safe_cell

__all__ = ["ListedSku", "ShotListError", "import_shot_list", "read_shot_list"]

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 100_000
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/-]{0,199}")
_COLUMNS = {"sku": "sku", "name": "name", "views": "views", "views expected": "views", "views_expected": "views"}
_MAX_SHOWN = 20


class ShotListError(HubError):
    """The shot list cannot be read; one sentence per bad row, each on its line."""


@dataclass(frozen=True)
class ListedSku:
    """One product of the day's list."""

    sku: str
    name: str
    views_expected: int
    view_names: tuple[str, ...] = ()


def _views(cell: str, line: int) -> tuple[int, tuple[str, ...]] | str:
    cell = cell.strip()
    if not cell:
        return 1, ()
    if cell.isdigit():
        count = int(cell)
        return (count, ()) if count <= 1000 else f"line {line}: {count} views expected is more than 1000."
    names = tuple(v.strip() for v in re.split(r"[;|]", cell) if v.strip())
    if not names or len(names) > 1000 or any(not v.isprintable() or len(v) > 100 or safe_cell(v) != v for v in names):
        return f"line {line}: the views {cell[:40]!r} are neither a count nor view names separated by ';'."
    return len(names), names


def read_shot_list(path: Path) -> list[ListedSku]:
    """The products of the CSV at ``path``, or :class:`ShotListError` naming every bad row."""
    try:
        data = read_user_file(path, "shot list", max_bytes=MAX_BYTES)
    except DataFileError as error:
        raise ShotListError(str(error)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ShotListError(f"The shot list {path.name} is not UTF-8 text (byte {error.start}); export it as CSV UTF-8.") from None
    if "\x00" in text:
        raise ShotListError(f"The shot list {path.name} holds NUL bytes: it is not a CSV file.")
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows, None)
    except csv.Error as error:
        raise ShotListError(f"The shot list {path.name} is not CSV ({error}).") from None
    columns = {_COLUMNS.get(cell.strip().lower()): index for index, cell in enumerate(header or [])}
    columns.pop(None, None)
    if "sku" not in columns:
        raise ShotListError(f"The shot list {path.name} has no 'sku' column in its first line (its columns: sku, name, views).")
    products: list[ListedSku] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    try:
        for row in rows:
            line = rows.line_num
            if len(products) + len(problems) >= MAX_ROWS:
                raise ShotListError(f"The shot list {path.name} has more than {MAX_ROWS} rows; split it.")
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            cells = {key: row[index] if index < len(row) else "" for key, index in columns.items()}
            sku, name = cells["sku"].strip(), cells.get("name", "").strip()
            if not _SKU.fullmatch(sku):
                problems.append(f"line {line}: the SKU {sku[:40]!r} is not a product code (letters, digits, space, "
                                ". _ / -, starting with a letter or digit).")
                continue
            if sku in seen:
                problems.append(f"line {line}: the SKU {sku} is listed already on line {seen[sku]}.")
                continue
            if len(name) > 200 or not name.isprintable():
                problems.append(f"line {line}: the name of {sku} is longer than 200 characters or holds control characters.")
                continue
            views = _views(cells.get("views", ""), line)
            if isinstance(views, str):
                problems.append(views)
                continue
            seen[sku] = line
            products.append(ListedSku(sku, str(safe_cell(name)), *views))
    except csv.Error as error:
        problems.append(f"line {rows.line_num}: not CSV ({error}).")
    if problems:
        shown = problems[:_MAX_SHOWN] + ([f"… and {len(problems) - _MAX_SHOWN} more bad rows."]
                                         if len(problems) > _MAX_SHOWN else [])
        raise ShotListError(f"The shot list {path.name} was not imported; nothing was written:\n" + "\n".join(shown))
    return products


def import_shot_list(url: str, path: Path, day: _dt.date) -> tuple[int, int]:
    """Make the file's products ``day``'s list on the hub, in one transaction:
    (products in the list, products that were not in that day's list before)."""
    products = read_shot_list(path)
    import psycopg

    connection = open_hub(url)
    try:
        with connection.transaction():
            before = {row[0] for row in connection.execute("SELECT sku FROM shot_list WHERE list_date = %s", (day,))}
            connection.execute("DELETE FROM shot_list WHERE list_date = %s AND NOT (sku = ANY(%s))",
                               (day, [p.sku for p in products]))
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO shot_list (list_date, sku, name, views_expected, view_names) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (list_date, sku) DO UPDATE SET name = EXCLUDED.name, views_expected = "
                    "EXCLUDED.views_expected, view_names = EXCLUDED.view_names, imported_utc = now() "
                    "WHERE (shot_list.name, shot_list.views_expected, shot_list.view_names) IS DISTINCT FROM "
                    "(EXCLUDED.name, EXCLUDED.views_expected, EXCLUDED.view_names)",
                    [(day, p.sku, p.name, p.views_expected, list(p.view_names)) for p in products])
    except psycopg.Error as error:
        raise HubError(f"The hub refused the shot list ({str(error).strip().splitlines()[0]}).") from None
    finally:
        connection.close()
    return len(products), len({p.sku for p in products} - before)
