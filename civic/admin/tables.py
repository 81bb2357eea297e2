"""Spreadsheets as rows: XLSX (the values Excel saved; a formula is never
evaluated) and CSV in UTF-8 or GBK (what Excel writes in China), each row with
the number the spreadsheet shows (the header is row 1)."""
import csv
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

MAX_BYTES = 10 * 2**20
MAX_ROWS = 20_000


class TableError(ValueError):
    """The file cannot be read as a table: said in words for the person who sent it."""


def header_columns(header, known):
    """The header's cells as the names in `known` (a dict of lower-case spellings,
    English and Chinese, to column names), None for a cell it does not know."""
    return [known.get(unicodedata.normalize("NFKC", cell).strip().lower()) for cell in header]


@dataclass
class RowPlan:
    """What importing a table would do, row by row (each row has an `action`: create,
    update, unchanged or invalid), and what is wrong with the file as a whole. The
    people, category and routing imports each check their rows into one."""

    rows: list
    problems: list = field(default_factory=list)  # about the file as a whole

    def count(self, action):
        return sum(1 for row in self.rows if row.action == action)

    @property
    def invalid(self):
        return [row for row in self.rows if row.action == "invalid"]

    def summary(self):
        return (f"{self.count('create')} created, {self.count('update')} updated, "
                f"{self.count('unchanged')} unchanged, {self.count('invalid')} invalid")

    def refuse_unless_valid(self, *, skip_invalid=False):
        """All or nothing: ImportRefused while the file, or a row (unless skipped), is invalid."""
        if self.problems:
            raise ImportRefused(self.problems[0])
        if self.invalid and not skip_invalid:
            raise ImportRefused(f"{len(self.invalid)} rows are invalid; nothing was applied.")


class ImportRefused(ValueError):
    """Applying was asked for while rows are invalid (and skipping them was not)."""


def read_rows(data, filename):
    """[(row number, [cell text, …]), …] of the first sheet, blank rows left out."""
    if len(data) > MAX_BYTES:
        raise TableError(f"The file is {len(data) // 2**20} MB; at most {MAX_BYTES // 2**20} MB.")
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        rows = _xlsx_rows(data)
    elif name.endswith((".csv", ".txt")) or not name:
        rows = _csv_rows(data)
    else:
        raise TableError("Send an XLSX or CSV file.")
    out = []
    for number, cells in rows:
        texts = [_text(cell) for cell in cells]
        if any(texts):
            out.append((number, texts))
        if len(out) > MAX_ROWS:
            raise TableError(f"More than {MAX_ROWS} rows; split the file.")
    if not out:
        raise TableError("The file has no rows.")
    return out


def _xlsx_rows(data):
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise TableError("The file is protected with a password (or is an old .xls): save it again as .xlsx "
                         "without a password.")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)  # data_only: saved values
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise TableError(f"The file is not a readable XLSX workbook ({exc.__class__.__name__}).") from None
    sheet = book.worksheets[0]
    return [(number, list(row)) for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)]


def _csv_rows(data):
    for encoding in ("utf-8-sig", "gb18030"):  # GB18030 reads GBK and GB2312 too
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise TableError("The CSV file is neither UTF-8 nor GBK text.")
    if "\x00" in text:
        raise TableError("The file is not a CSV text file.")
    try:
        return list(enumerate(csv.reader(io.StringIO(text)), start=1))
    except csv.Error as exc:
        raise TableError(f"The CSV file cannot be read: {exc}.") from None


def _text(cell):
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)  # a phone number Excel saved as a number: 13800001234.0
    text = str(cell).strip()
    # A CSV cell starting with "=" stays text: it is never evaluated, here or later.
    return text


def safe_cell(value):
    """A cell for a file people open in a spreadsheet: text that a spreadsheet would
    take for a formula (=, +, -, @ first) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
