"""CSV and XLSX in and out (openpyxl: the maintained reader/writer of Excel files, no Excel needed)."""

import csv
import io
import lzma
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import InvalidFileException

from schemas.errors import InvalidInput, PayloadTooLarge, UnsupportedFile

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


#: what reading an archive or a sheet can raise on a damaged, truncated or hostile file
_UNREADABLE = (
    InvalidFileException,
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    KeyError,
    ValueError,
    TypeError,
    SyntaxError,  # XML parse errors (ElementTree's and lxml's) derive from it
    NotImplementedError,  # an unsupported compression method
    RuntimeError,  # an encrypted member
)


@dataclass(frozen=True)
class Limits:
    """How far a workbook may unpack: in all, and per member against its packed size (members of 1 MiB or less
    are not held to the ratio)."""

    unpacked_bytes: int
    ratio: int


def read_table(content: bytes, filename: str, limits: Limits) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    """(header, numbered rows) of a CSV or XLSX file, told apart by content; rows are numbered as in the sheet
    (the header is row 1) and blank rows are skipped. Synchronous and CPU-bound: run it off the event loop. The
    rows raise InvalidInput (or UnsupportedFile) naming the row where the file stops being readable."""
    if not content.strip():
        raise InvalidInput("The file is empty")
    if content[:4] == b"PK\x03\x04":
        return _xlsx(content, limits)
    if filename.lower().endswith((".xlsx", ".xls", ".ods")) or b"\x00" in content[:4096]:
        raise UnsupportedFile("Send a CSV file or an Excel .xlsx workbook")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnsupportedFile("A CSV file must be UTF-8 text") from None
    return _csv(text)


def _csv(text: str) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    lines = _csv_rows(csv.reader(io.StringIO(text), dialect))
    first = next(lines, None)
    if first is None:
        raise InvalidInput("The file is empty")
    return [h.strip() for h in first[1]], ((n, row) for n, row in lines if any(cell.strip() for cell in row))


def _csv_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """The reader's rows numbered from 1; the csv module's errors (which come row by row) as a 422 naming the
    row."""
    number = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(f"Row {number} is not readable CSV: {_csv_problem(exc)}") from None
        yield number, row
        number += 1


def _csv_problem(exc: csv.Error) -> str:
    message = str(exc)
    if "field larger than field limit" in message:
        return f"a cell is over the {csv.field_size_limit():,}-character limit"
    if "new-line character seen in unquoted field" in message:
        return "a line break inside a cell that is not quoted (put the cell in double quotes)"
    return message


def _check_archive(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse a zip bomb before parsing: by the sizes the archive declares, then by what its members really
    unpack to (read through zipfile, which stops at a member's declared size and checks its CRC)."""
    too_large = f"The workbook unpacks to more than the {limits.unpacked_bytes:,}-byte limit of this service"
    members = archive.infolist()
    if sum(m.file_size for m in members) > limits.unpacked_bytes:
        raise PayloadTooLarge(too_large)
    for member in members:
        if member.file_size > max(1 << 20, limits.ratio * member.compress_size):
            raise PayloadTooLarge(f"`{member.filename}` unpacks over {limits.ratio} times its packed size")
    total = 0
    try:
        for member in members:
            with archive.open(member) as unpacked:
                while chunk := unpacked.read(1 << 20):
                    total += len(chunk)
                    if total > limits.unpacked_bytes:
                        raise PayloadTooLarge(too_large)
    except _UNREADABLE as exc:
        raise InvalidInput(f"The workbook's archive is damaged or lies about its contents ({exc})") from None


def _xlsx(content: bytes, limits: Limits) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except _UNREADABLE as exc:
        raise UnsupportedFile(f"Not a readable .xlsx workbook ({exc})") from None
    _check_archive(archive, limits)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except _UNREADABLE as exc:
        raise UnsupportedFile(f"Not a readable .xlsx workbook ({exc})") from None
    if not book.worksheets:
        raise UnsupportedFile("The workbook has no worksheet")
    cells = _xlsx_rows(book.worksheets[0].iter_rows(values_only=True))
    first = next(cells, None)
    if first is None:
        raise InvalidInput("The workbook's first sheet is empty")
    header = ["" if h is None else str(h).strip() for h in first[1]]
    return header, ((n, row) for n, row in cells if any(c not in (None, "") for c in row))


def _xlsx_rows(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, list[Any]]]:
    """The sheet's rows numbered from 1; a sheet that stops being readable as a 415 naming the row."""
    number = 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except _UNREADABLE as exc:
            raise UnsupportedFile(f"Row {number} of the workbook is not readable ({exc})") from None
        yield number, list(row)
        number += 1


#: what a spreadsheet program may read as the start of a formula (OWASP, "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: Any) -> str | int | float | Decimal | None:
    """Numbers (and None) as they are; anything else as its text."""
    return value if value is None or isinstance(value, int | float | Decimal) else str(value)


def neutral(value: Any) -> str | int | float | Decimal | None:
    """A value as a CSV cell may hold it: numbers as numbers, text that could start a formula behind a ``'``."""
    value = _text(value)
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _csv_writer(out: io.StringIO) -> Any:
    """Every text field quoted (numbers not), so that no locale's separator can start a cell inside one."""
    return csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)


def csv_line(row: Sequence[Any]) -> bytes:
    """One CSV line (None as empty), formulas neutralised."""
    out = io.StringIO()
    _csv_writer(out).writerow([neutral(v) for v in row])
    return out.getvalue().encode()


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """A whole CSV file, formulas neutralised."""
    return b"".join(csv_line(row) for row in [header, *rows])


def xlsx_row(sheet: Any, row: Sequence[Any]) -> list[Cell]:
    """A write-only sheet's row: numbers as numbers and text as text, never a formula (openpyxl would write a
    string starting with ``=`` as one); text that could start a formula carries Excel's own leading-apostrophe
    mark (``quotePrefix``), so that editing the cell keeps it text; characters XML cannot hold become U+FFFD."""
    cells = []
    for value in row:
        value = _text(value)
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        cell = WriteOnlyCell(sheet, value)
        if isinstance(value, str):
            cell.data_type = "s"
            if value.startswith(FORMULA_STARTS):
                cell.quotePrefix = True
        cells.append(cell)
    return cells


def xlsx_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "Samples") -> bytes:
    """A whole workbook of one sheet, formulas neutralised."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    for row in [header, *rows]:
        sheet.append(xlsx_row(sheet, row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
