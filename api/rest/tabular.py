"""CSV answers (`format=csv`) for lists and reports: one header row, then one row per item."""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from fastapi import Response


class Format(enum.StrEnum):
    JSON = "json"
    CSV = "csv"


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(cell(v) for v in value)
    if isinstance(value, dict):
        return ";".join(f"{k}={cell(v)}" for k, v in value.items())
    return str(value)


def csv_response(columns: Sequence[str], rows: Iterable[dict[str, Any]], filename: str) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}.csv"'},
    )


CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}
