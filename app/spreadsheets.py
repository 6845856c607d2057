"""CSV and XLSX in and out (openpyxl: the maintained reader/writer of Excel files, no Excel needed)."""

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import InvalidFileException

from app.errors import DomainError, InvalidInput

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UnsupportedFile(DomainError):
    status = 415
    title = "Unsupported file type"


def read_table(content: bytes, filename: str = "") -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    """(header, numbered rows) of a CSV or XLSX file, told apart by content; rows are numbered as in the sheet
    (the header is row 1) and blank rows are skipped."""
    if not content.strip():
        raise InvalidInput("The file is empty")
    if content[:4] == b"PK\x03\x04":
        return _xlsx(content)
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
        dialect = csv.excel  # type: ignore[assignment]
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip() for h in next(reader)]
    rows = ((n, row) for n, row in enumerate(reader, 2) if any(cell.strip() for cell in row))
    return header, rows


def _xlsx(content: bytes) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise UnsupportedFile(f"Not a readable .xlsx workbook ({exc})") from None
    sheet = book.worksheets[0]
    cells = sheet.iter_rows(values_only=True)
    first = next(cells, None)
    if first is None:
        raise InvalidInput("The workbook's first sheet is empty")
    header = ["" if h is None else str(h).strip() for h in first]
    rows = ((n, list(row)) for n, row in enumerate(cells, 2) if any(c not in (None, "") for c in row))
    return header, rows


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


def xlsx_row(sheet: Any, row: Sequence[Any]) -> list[WriteOnlyCell]:
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
