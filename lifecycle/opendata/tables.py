"""Spreadsheets for people who work in Excel or LibreOffice: CSV (UTF-8 with a byte-order mark,
so that Excel reads the accents right) and XLSX.

Money stays exact: in the CSV as the log's decimal strings ("12500000.00"); in the XLSX as
numbers built from those strings with Decimal (never through a float), formatted with two
decimals. The caller gives the headers already in the reader's language.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from openpyxl import Workbook

BOM = "\ufeff"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    money: bool = False  # a decimal string: a number with two decimals in the XLSX


def csv_bytes(columns: Sequence[Column], rows: Iterable[dict]) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow(["" if row.get(c.key) is None else row.get(c.key) for c in columns])
    return out.getvalue().encode("utf-8")


def _money(value):
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return value


def xlsx_bytes(columns: Sequence[Column], rows: Iterable[dict], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]  # Excel's limit for a sheet name
    sheet.append([c.header for c in columns])
    for row in rows:
        values = []
        for column in columns:
            value = row.get(column.key)
            if column.money and value not in (None, ""):
                value = _money(value)
            values.append(value)
        sheet.append(values)
    for index, column in enumerate(columns, start=1):
        if column.money:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "#,##0.00"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
