"""Reading an import file into rows of our columns (storefront/catalog/imports/format.py).

`open_source(path)` opens what an import reads: a CSV or JSON file, or a ZIP holding one
of them and the image files it names. `read_rows(source, options)` yields `Row`s: the cells
of one variant (or of a product alone) under our column names, numbered as the file's data
rows are (1 = the first row after the header; a JSON file's records from 1), in the file's
order. The whole file is never held in memory for CSV (JSON is parsed whole: a JSON file
costs several times its size in memory, see docs/import.md).

Errors: FileError for a file that cannot be read at all (not UTF-8, not JSON, a ZIP without
a catalog file, a mapping naming a column the file lacks); a row that cannot be read (a
stray line with fewer cells than the header, an XML fragment) comes out as a Row with
`problem` set, so that the import reports it at its row and goes on.
"""

import csv
import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from storefront.catalog.imports.format import ALL_COLUMNS, COLUMNS, VARIANT_COLUMNS

# The longest cell a CSV row may hold (the csv module's default limit is 128 KiB).
MAX_CELL_CHARACTERS = 1_000_000
csv.field_size_limit(MAX_CELL_CHARACTERS)


class FileError(Exception):
    """The file cannot be imported at all; the message says why, for the import's report."""


@dataclass(frozen=True)
class Options:
    """How to read and apply a file (docs/import.md, "Options").

    `columns`: ours -> theirs, where theirs is a header name (compared ignoring case and
    surrounding spaces), a JSON key, or with `no_header` a 1-based position. Without a
    mapping, a column is read from the header (or key) of its own name, and a file without
    a header holds COLUMNS in order. `records`: the key of the list of records in a JSON
    object such as {"products": [...]}. `skip_invalid`: apply the good products and report
    the rest (default: all or nothing). `create_categories`: create missing levels of
    category paths (default), or report an unknown path as a row error.
    """

    columns: dict[str, str] = field(default_factory=dict)
    no_header: bool = False
    records: str = ""
    skip_invalid: bool = False
    create_categories: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "no_header": self.no_header,
            "records": self.records,
            "skip_invalid": self.skip_invalid,
            "create_categories": self.create_categories,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Options":
        """Options from `data` (as_json's, or a form's cleaned data): its keys that are
        options; others are ignored."""
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


def parse_columns(text: str, *, no_header: bool = False) -> dict[str, str]:
    """`--columns` as given: "ours=theirs" pairs separated by commas, e.g.
    "name=Title,sku=Variant SKU" or, with `no_header`, "name=4,sku=3". Raises ValueError
    naming an unknown column of ours, a pair without "=", a column mapped twice, or (with
    `no_header`) a position that is not a whole number from 1."""
    columns: dict[str, str] = {}
    for pair in (part for part in text.split(",") if part.strip()):
        ours, equals, theirs = pair.partition("=")
        ours, theirs = ours.strip().lower(), theirs.strip()
        if not equals or not ours or not theirs:
            raise ValueError(f'Write the mapping as "ours=theirs" pairs, not {pair.strip()!r}.')
        if ours not in ALL_COLUMNS:
            raise ValueError(f"No column {ours!r} of ours (docs/import.md lists them).")
        if ours in columns:
            raise ValueError(f"Column {ours!r} is mapped twice.")
        if no_header and not (theirs.isdigit() and int(theirs) >= 1):
            raise ValueError(f"Without a header, {ours!r} needs a position from 1, not {theirs!r}.")
        columns[ours] = theirs
    return columns


@dataclass(frozen=True)
class Row:
    """One row of the file: `values` maps our column names to the cells (text from CSV,
    any JSON value from JSON); `labels` maps them to the file's own names for those
    columns, as errors name them. `problem`: why the row could not be read, if it could
    not (then `values` is empty)."""

    number: int
    values: dict[str, Any]
    labels: dict[str, str]
    problem: str = ""


@dataclass
class Source:
    """An opened import: the catalog file's text stream or parsed JSON, and the ZIP it came
    in (for its images), if any. Close it when done."""

    name: str
    kind: str  # "csv" or "json"
    stream: IO[bytes]
    archive: zipfile.ZipFile | None = None
    members: dict[str, str] = field(default_factory=dict)

    def image_bytes(self, name: str, *, max_bytes: int) -> bytes:
        """The bytes of image file `name` in the ZIP (matched without regard to folders when
        the name alone is unique). Raises LookupError if absent, ValueError if larger than
        `max_bytes`."""
        if self.archive is None:
            raise LookupError(f"No image file {name!r}: upload a ZIP holding the file and it.")
        member = self.members.get(name) or self.members.get(Path(name).name)
        if member is None:
            raise LookupError(f"No file {name!r} in the ZIP.")
        if self.archive.getinfo(member).file_size > max_bytes:
            raise ValueError(f"The image {name!r} is larger than the {max_bytes} bytes allowed.")
        with self.archive.open(member) as file:
            return file.read(max_bytes + 1)

    def close(self) -> None:
        self.stream.close()
        if self.archive is not None:
            self.archive.close()


def open_source(path: Path | str, *, name: str = "") -> Source:
    """Open the import file at `path` (`name`: its original name, for its extension). A ZIP
    must hold exactly one .csv or .json file (outside __MACOSX/); its other files are the
    images the rows may name. Raises FileError."""
    path = Path(path)
    name = name or path.name
    if zipfile.is_zipfile(path):
        return _open_zip(path, name=name)
    kind = "json" if name.lower().endswith(".json") else "csv"
    return Source(name=name, kind=kind, stream=path.open("rb"))


def _open_zip(path: Path, *, name: str) -> Source:
    try:
        archive = zipfile.ZipFile(path)
        files = [
            info.filename
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileError(f"The ZIP file cannot be read: {exc}.") from exc
    catalogs = [member for member in files if member.lower().endswith((".csv", ".json"))]
    if len(catalogs) != 1:
        archive.close()
        found = ", ".join(catalogs[:5]) or "none"
        raise FileError(f"A ZIP must hold exactly one .csv or .json file (found: {found}).")
    members = {member: member for member in files if member not in catalogs}
    # Images named without their folder, where the file name alone is unique.
    base_names: dict[str, list[str]] = {}
    for member in members:
        base_names.setdefault(Path(member).name, []).append(member)
    for base, found in base_names.items():
        if len(found) == 1:
            members.setdefault(base, found[0])
    catalog = catalogs[0]
    kind = "json" if catalog.lower().endswith(".json") else "csv"
    return Source(
        name=f"{name}:{catalog}",
        kind=kind,
        stream=archive.open(catalog),
        archive=archive,
        members=members,
    )


def read_rows(source: Source, options: Options) -> Iterator[Row]:
    """The rows of `source` under our column names (see the module docstring). Raises
    FileError, also part way through (a byte that is not UTF-8 at some row)."""
    if source.kind == "json":
        yield from _json_rows(source.stream, options)
    else:
        yield from _csv_rows(source.stream, options)


# --- CSV -----------------------------------------------------------------------------------


def _csv_rows(stream: IO[bytes], options: Options) -> Iterator[Row]:
    # utf-8-sig drops a byte order mark; newline="" lets the csv module read quoted
    # newlines inside cells.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="", errors="strict")
    try:
        sample = text.read(64 * 1024)
    except UnicodeDecodeError as exc:
        raise FileError(_not_utf8(exc)) from exc
    if not sample.strip():
        raise FileError("The file is empty.")
    delimiter = _delimiter(sample)
    reader = csv.reader(_chain(sample, text), delimiter=delimiter, strict=False)
    try:
        if options.no_header:
            header: list[str] = []
            positions = _positions_without_header(options.columns)
        else:
            header = next(reader)
            positions = _positions_from_header(header, options.columns)
        width = max(len(header), *(position + 1 for position in positions.values()))
        number = 0
        for cells in reader:
            if not cells or not any(cell.strip() for cell in cells):
                continue  # a blank line
            number += 1
            yield _csv_row(number, cells, positions, header, width)
    except UnicodeDecodeError as exc:
        raise FileError(_not_utf8(exc)) from exc
    except csv.Error as exc:
        raise FileError(f"The CSV cannot be read after data row {number}: {exc}.") from exc


def _csv_row(
    number: int, cells: list[str], positions: dict[str, int], header: list[str], width: int
) -> Row:
    if len(cells) < width:
        found = len(cells)
        fragment = ",".join(cells)[:60]
        return Row(
            number,
            {},
            {},
            problem=f"This row has {found} cell{'s' if found != 1 else ''} where the file has "
            f"{width} columns: a stray line? It starts {fragment!r}.",
        )
    labels = {
        ours: header[position] if position < len(header) else str(position + 1)
        for ours, position in positions.items()
    }
    return Row(number, {ours: cells[position] for ours, position in positions.items()}, labels)


def _chain(sample: str, rest: IO[str]) -> Iterator[str]:
    """The lines of `sample` then of `rest`, split as the csv module wants them (keeping
    line ends)."""
    pending = ""
    for chunk in _chunks(sample, rest):
        lines = (pending + chunk).splitlines(keepends=True)
        pending = lines.pop() if lines and not lines[-1].endswith(("\n", "\r")) else ""
        yield from lines
    if pending:
        yield pending


def _chunks(sample: str, rest: IO[str]) -> Iterator[str]:
    yield sample
    while chunk := rest.read(64 * 1024):
        yield chunk


def _delimiter(sample: str) -> str:
    """Comma or semicolon (or tab): the one of the header line that splits it into more
    cells outside quotes."""
    first_line = sample.splitlines()[0] if sample else ""
    counts = {}
    for candidate in (",", ";", "\t"):
        counts[candidate] = len(next(csv.reader([first_line], delimiter=candidate), []))
    return max(counts, key=lambda candidate: (counts[candidate], candidate == ","))


def _positions_from_header(header: list[str], columns: dict[str, str]) -> dict[str, int]:
    by_name: dict[str, int] = {}
    for position, name in enumerate(header):
        by_name.setdefault(name.strip().lower(), position)
    positions: dict[str, int] = {}
    for ours, theirs in columns.items():
        key = theirs.strip().lower()
        if key.isdigit() and key not in by_name and 1 <= int(key) <= len(header):
            positions[ours] = int(key) - 1
            continue
        if key not in by_name:
            raise FileError(f"The mapping names {theirs!r}, which is not a column of the file.")
        positions[ours] = by_name[key]
    taken = set(positions.values())
    for ours in ALL_COLUMNS:
        if ours not in positions and ours in by_name and by_name[ours] not in taken:
            positions[ours] = by_name[ours]
    if not positions:
        raise FileError(
            "No column of the header is one of ours; map them with --columns "
            "(docs/import.md gives examples)."
        )
    return positions


def _positions_without_header(columns: dict[str, str]) -> dict[str, int]:
    if not columns:
        return {ours: position for position, ours in enumerate(COLUMNS)}
    for ours, theirs in columns.items():
        if not theirs.isdigit() or int(theirs) < 1:
            raise FileError(f"Without a header, {ours!r} needs a position from 1, not {theirs!r}.")
    return {ours: int(theirs) - 1 for ours, theirs in columns.items()}


def _not_utf8(exc: UnicodeDecodeError) -> str:
    return (
        f"The file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save it as "
        "UTF-8 (Excel: CSV UTF-8) and upload it again."
    )


# --- JSON ----------------------------------------------------------------------------------


def _json_rows(stream: IO[bytes], options: Options) -> Iterator[Row]:
    try:
        data = json.load(io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict"))
    except UnicodeDecodeError as exc:
        raise FileError(_not_utf8(exc)) from exc
    except json.JSONDecodeError as exc:
        raise FileError(f"The file is not JSON: {exc.msg} (line {exc.lineno}).") from exc
    records = _records(data, options.records)
    keys = {ours: theirs for ours, theirs in options.columns.items()}
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            yield Row(number, {}, {}, problem="A record must be an object.")
            continue
        nested = _lookup(record, "variants")
        product = {
            ours: (label, value)
            for ours, (label, value) in _mapped(record, keys).items()
            if ours not in VARIANT_COLUMNS or nested is None
        }
        if nested is None:
            yield _json_row(number, product)
            continue
        if not isinstance(nested, list) or not nested:
            yield Row(number, {}, {}, problem='"variants" must be a list of variant objects.')
            continue
        for index, variant in enumerate(nested):
            if not isinstance(variant, dict):
                yield Row(number, {}, {}, problem=f"variants[{index}] is not an object.")
                continue
            cells = dict(product)
            for ours, (label, value) in _mapped(variant, keys).items():
                if ours in VARIANT_COLUMNS or ours.startswith("attribute"):
                    cells[ours] = (f"variants[{index}].{label}", value)
            yield _json_row(number, cells)


def _json_row(number: int, cells: dict[str, tuple[str, Any]]) -> Row:
    return Row(
        number,
        {ours: value for ours, (_, value) in cells.items()},
        {ours: label for ours, (label, _) in cells.items()},
    )


def _records(data: Any, key: str) -> list[Any]:
    if key:
        if not isinstance(data, dict) or key not in data:
            raise FileError(f"The file has no list under the key {key!r}.")
        data = data[key]
    elif isinstance(data, dict):
        lists = sorted(name for name, value in data.items() if isinstance(value, list))
        hint = f" (keys holding lists: {', '.join(lists[:5])})" if lists else ""
        raise FileError(f"The file holds an object: name its list of records with --records{hint}.")
    if not isinstance(data, list):
        raise FileError("The file must hold a list of records.")
    return data


def _mapped(record: dict[str, Any], keys: dict[str, str]) -> dict[str, tuple[str, Any]]:
    """Our columns found in `record`: mapped keys first, then keys named as ours."""
    lowered = {str(name).strip().lower(): name for name in record}
    cells: dict[str, tuple[str, Any]] = {}
    for ours, theirs in keys.items():
        name = lowered.get(theirs.strip().lower())
        if name is not None:
            cells[ours] = (name, record[name])
    taken = {label for label, _ in cells.values()}
    for ours in ALL_COLUMNS:
        name = lowered.get(ours)
        if ours not in cells and name is not None and name not in taken:
            cells[ours] = (name, record[name])
    return cells


def _lookup(record: dict[str, Any], name: str) -> Any:
    for key, value in record.items():
        if str(key).strip().lower() == name:
            return value
    return None
