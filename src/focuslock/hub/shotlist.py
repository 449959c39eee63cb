"""The studio's shot list: a CSV from another machine (a PIM export, a spreadsheet) read
strictly, then written to the hub for one day (``focuslock hub import-shotlist``).

The file is untrusted. It must be UTF-8 (a BOM is allowed), at most 5 MB and 100 000
rows, with a header naming its columns: ``sku`` (required), ``name`` and ``views``
(optional; any case, ``views expected`` too); an unknown or repeated column is refused
(a misspelt ``veiws`` would otherwise be a list of one view each). Each row is checked
and every bad one is named in one sentence with its line number; one bad row refuses
the whole file (nothing written). A row with more fields than the header is bad (an
unquoted comma split it). A SKU is a product code: letters, digits and ``/ -``, 1 to
200 characters, starting with a letter or digit (never a formula) — no ``_``, ``.`` or
space, at which a file name is split to find its SKU (``hub/queries.py``). A name is
kept as text, stored as given: a spreadsheet sees it only through a CSV focuslock
writes, which makes it safe there (``io/csv_safe.py``). ``views``: a whole number of
views from 1 to 1000, or view names separated by ``;`` (or ``|``) (default 1).

Importing a list makes it the day's list: in one transaction the day's rows are replaced
by the file's, so importing the same file again changes nothing; the SKUs of the day's
earlier list that the file drops are said.
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

__all__ = ["ImportedList", "ListedSku", "ShotListError", "import_shot_list", "read_shot_list"]

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 100_000
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9/-]{0,199}")
_COLUMNS = {"sku": "sku", "name": "name", "views": "views", "views expected": "views", "views_expected": "views"}
_KNOWN = "sku, name, views (or views expected)"
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")
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


@dataclass(frozen=True)
class ImportedList:
    """What an import did: the products in the list, those new to the day, the day's earlier ones it dropped."""

    count: int
    new: int
    dropped: tuple[str, ...]


def _views(cell: str, line: int) -> tuple[int, tuple[str, ...]] | str:
    cell = cell.strip()
    if not cell:
        return 1, ()
    if _NUMBER.fullmatch(cell):
        if cell.isdigit() and int(cell) > 1000:
            return f"line {line}: {int(cell)} views expected is more than 1000."
        if not cell.isdigit() or int(cell) < 1:
            return f"line {line}: views {cell!r} is not a whole number of views from 1 to 1000."
        return int(cell), ()
    names = tuple(v.strip() for v in re.split(r"[;|]", cell) if v.strip())
    if not names or len(names) > 1000 or any(not v.isprintable() or len(v) > 100 or safe_cell(v) != v for v in names):
        return f"line {line}: the views {cell[:40]!r} are neither a count nor view names separated by ';'."
    if len({v.lower() for v in names}) < len(names):
        return f"line {line}: the views {cell[:40]!r} name a view twice."
    return len(names), names


def _first_line(text: str) -> str:
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        return "its first line is empty" if text.strip() else "it is empty"
    said = f"its first line is {first[:80]!r}"
    return said + (" (separated by ';': export it comma-separated)" if ";" in first and "," not in first else "")


def _header(header: list[str], name: str, text: str) -> dict[str, int]:
    """The header's columns by their meaning; one sentence naming every unknown or repeated one."""
    columns: dict[str, int] = {}
    unknown, repeated = [], []
    for index, cell in enumerate(header):
        label = cell.strip().lower()
        if not label:
            continue  # an unnamed column: its cells must be empty (checked per row)
        meaning = _COLUMNS.get(label)
        if meaning is None:
            unknown.append(cell.strip()[:40])
        elif meaning in columns:
            repeated.append(cell.strip()[:40])
        else:
            columns[meaning] = index
    if "sku" not in columns:
        raise ShotListError(f"The shot list {name} has no 'sku' column in its header: {_first_line(text)} "
                            f"(the known columns: {_KNOWN}).")
    if unknown or repeated:
        said = "; ".join(part for part in (
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}" if unknown else "",
            f"column{'s' if len(repeated) > 1 else ''} {', '.join(map(repr, repeated))} given twice" if repeated else "")
            if part)
        raise ShotListError(f"The shot list {name} was not imported: its header has {said} (the known ones: {_KNOWN}).")
    return columns


def _row(row: list[str], width: int, columns: dict[str, int], line: int, seen: dict[str, int]) -> ListedSku | str:
    """The row's product, or one sentence of what is wrong with it."""
    if len(row) > width:
        return (f"line {line}: {len(row)} fields where the header has {width} columns "
                "(a comma in a name must be inside double quotes).")
    named = set(columns.values())
    if any(cell.strip() for index, cell in enumerate(row) if index not in named):
        return f"line {line}: a value in a column the header does not name."
    cells = {key: row[index] if index < len(row) else "" for key, index in columns.items()}
    sku, name = cells["sku"].strip(), cells.get("name", "").strip()
    if not _SKU.fullmatch(sku):
        if sku and any(c in sku for c in "_. "):
            return (f"line {line}: the SKU {sku[:40]!r} holds '_', '.' or a space, at which a file name is split: "
                    "it could never be found in a file's name.")
        return (f"line {line}: the SKU {sku[:40]!r} is not a product code (letters, digits, / and -, "
                "starting with a letter or digit).")
    if sku in seen:
        return f"line {line}: the SKU {sku} is listed already on line {seen[sku]}."
    if len(name) > 200 or not name.isprintable():
        return f"line {line}: the name of {sku} is longer than 200 characters or holds control characters."
    views = _views(cells.get("views", ""), line)
    if isinstance(views, str):
        return views
    seen[sku] = line
    return ListedSku(sku, name, *views)


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
        header = next(rows, None) or []
    except csv.Error as error:
        raise ShotListError(f"The shot list {path.name} is not CSV ({error}).") from None
    columns = _header(header, path.name, text)
    products: list[ListedSku] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    try:
        for row in rows:
            if len(products) + len(problems) >= MAX_ROWS:
                raise ShotListError(f"The shot list {path.name} has more than {MAX_ROWS} rows; split it.")
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            found = _row(row, len(header), columns, rows.line_num, seen)
            if isinstance(found, str):
                problems.append(found)
            else:
                products.append(found)
    except csv.Error as error:
        problems.append(f"line {rows.line_num}: not CSV ({error}).")
    if problems:
        shown = problems[:_MAX_SHOWN] + ([f"… and {len(problems) - _MAX_SHOWN} more bad rows."]
                                         if len(problems) > _MAX_SHOWN else [])
        raise ShotListError(f"The shot list {path.name} was not imported; nothing was written:\n" + "\n".join(shown))
    return products


def import_shot_list(url: str, path: Path, day: _dt.date) -> ImportedList:
    """Make the file's products ``day``'s list on the hub, in one transaction."""
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
    skus = {p.sku for p in products}
    return ImportedList(len(products), len(skus - before), tuple(sorted(before - skus)))
