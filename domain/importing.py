"""Bulk import rules: column specs, per-row coercion with field errors, upsert planning, references.

Rows are numbered from 1 (the first data row); problems with the file itself (a CSV header) use row 0.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from domain.defaults import INT32, MAX_CSV_COLUMNS, MAX_IMPORT_ROWS, MAX_MONEY, MAX_WHITESPACE_UNITS
from domain.errors import Code, FieldError, ValidationFailed
from domain.model import (
    ActivityDirection,
    ActivityKind,
    ActivityPath,
    ChurnRisk,
    OpportunityStatus,
    RampStatus,
    RepRole,
    Stage,
)
from domain.rules import find_parent_cycles


class _Bad(Exception):
    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # str | int | float | bool | date | datetime | enum | tags
    required: bool = False
    enum: type[enum.StrEnum] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 255
    default: Any = None


_ENUM_VALUES: dict[type, dict[str, enum.Enum]] = {}
# a spreadsheet reads a cell that begins with one of these as a formula (OWASP's CSV injection rule)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(text: str) -> str:
    """A text cell as a CSV export writes it: one that a spreadsheet would run as a formula gets a leading
    apostrophe, which spreadsheets show as text (numbers are written as numbers and never escaped)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unescape_cell(text: str) -> str:
    """What escape_cell wrote, read back: an import of an exported file gets the original text."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def _coerce_str(col: Column, value: Any) -> Any:
    if type(value) is not str:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad(Code.INVALID_TYPE, "expected a string")
        value = str(value)
    value = value.strip()
    if "\x00" in value:
        raise _Bad(Code.NUL_CHARACTER, "text cannot hold a NUL character")
    if len(value) > col.max_length:
        raise _Bad(Code.TOO_LONG, f"at most {col.max_length} characters")
    return value


def _check_range(col: Column, number: float) -> None:
    if col.minimum is not None and number < col.minimum:
        raise _Bad(Code.OUT_OF_RANGE, f"must be at least {col.minimum:g}")
    if col.maximum is not None and number > col.maximum:
        raise _Bad(Code.OUT_OF_RANGE, f"must be at most {col.maximum:g}")


def _coerce_float(col: Column, value: Any) -> Any:
    kind = type(value)
    if kind is str:
        try:
            number = float(value)
        except ValueError:
            try:
                number = float(value.replace(",", ""))
            except ValueError:
                raise _Bad(Code.INVALID_NUMBER, f"{value!r} is not a valid number")
    elif kind is float or kind is int:
        number = float(value)
    else:
        raise _Bad(Code.INVALID_TYPE, f"expected a number, got {value!r}")
    if number != number or number in (_INF, -_INF):
        raise _Bad(Code.INVALID_NUMBER, "expected a finite number")
    _check_range(col, number)
    return number


def _coerce_int(col: Column, value: Any) -> Any:
    kind = type(value)
    if kind is str:
        try:
            number = int(value)
        except ValueError:
            raise _Bad(Code.INVALID_NUMBER, f"{value!r} is not a valid integer")
    elif kind is int:
        number = value
    elif kind is float:
        if value != value or value in (_INF, -_INF) or value != int(value):
            raise _Bad(Code.INVALID_NUMBER, "expected a whole number")
        number = int(value)
    else:
        raise _Bad(Code.INVALID_TYPE, f"expected a number, got {value!r}")
    _check_range(col, number)
    return number


def _coerce_bool(col: Column, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Bad(Code.INVALID_BOOLEAN, f"{value!r} is not true or false")


def _coerce_enum(col: Column, value: Any) -> Any:
    assert col.enum is not None
    members = _ENUM_VALUES.get(col.enum)
    if members is None:
        members = _ENUM_VALUES[col.enum] = {m.value: m for m in col.enum}
    member = members.get(value) if type(value) is str else None
    if member is None:
        member = members.get(str(value).strip())
    if member is None:
        raise _Bad(Code.INVALID_CHOICE, f"{value!r} is not one of: {', '.join(members)}")
    return member


def _coerce_date(col: Column, value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise _Bad(Code.INVALID_DATE, f"{value!r} is not an ISO date (YYYY-MM-DD)")


def _coerce_datetime(col: Column, value: Any) -> Any:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise _Bad(Code.INVALID_DATETIME, f"{value!r} is not an ISO date-time")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _coerce_tags(col: Column, value: Any) -> Any:
    if isinstance(value, str):
        items = [t.strip() for t in value.split(";")]
    elif isinstance(value, list):
        items = [str(t).strip() for t in value]
    else:
        raise _Bad(Code.INVALID_TYPE, "expected a list of strings or a ';'-separated string")
    if any("\x00" in t for t in items):
        raise _Bad(Code.NUL_CHARACTER, "text cannot hold a NUL character")
    return sorted({t for t in items if t})


_INF = float("inf")
COERCE: dict[str, Callable[[Column, Any], Any]] = {
    "str": _coerce_str,
    "int": _coerce_int,
    "float": _coerce_float,
    "bool": _coerce_bool,
    "enum": _coerce_enum,
    "date": _coerce_date,
    "datetime": _coerce_datetime,
    "tags": _coerce_tags,
}


ACCOUNT_COLUMNS: tuple[Column, ...] = (
    Column("external_id", "str", required=True),
    Column("name", "str", required=True),
    Column("parent_external_id", "str"),
    Column("industry", "str"),
    Column("country", "str", max_length=64),
    Column("region", "str", max_length=64),
    Column("postal_code", "str", max_length=32),
    Column("latitude", "float", minimum=-90, maximum=90),
    Column("longitude", "float", minimum=-180, maximum=180),
    Column("employees", "int", minimum=0, maximum=INT32),
    Column("annual_revenue", "float", minimum=0, maximum=MAX_MONEY),
    Column("current_arr", "float", minimum=0, maximum=MAX_MONEY, default=0.0),
    Column("expansion_estimate", "float", minimum=0, maximum=MAX_MONEY),
    Column("whitespace_units", "int", minimum=0, maximum=MAX_WHITESPACE_UNITS),
    Column("growth_rate", "float", minimum=-1, maximum=100),
    Column("strategic", "bool", default=False),
    Column("churn_risk", "enum", enum=ChurnRisk),
    Column("stage", "enum", enum=Stage, default=Stage.COLD),
    Column("intent", "float", minimum=0, maximum=100),
    Column("engagement", "float", minimum=0, maximum=100),
    Column("relationship", "float", minimum=0, maximum=100),
    Column("competitive", "float", minimum=0, maximum=100),
    Column("tags", "tags", default=()),
)

REP_COLUMNS: tuple[Column, ...] = (
    Column("external_id", "str", required=True),
    Column("name", "str", required=True),
    Column("email", "str", required=True, max_length=320),
    Column("role", "enum", enum=RepRole, default=RepRole.AE),
    Column("ramp_status", "enum", enum=RampStatus, default=RampStatus.RAMPED),
    Column("capacity", "float", minimum=0, maximum=1e6),
    Column("expertise", "tags", default=()),
    Column("home_region", "str", max_length=64),
    Column("start_date", "date"),
    Column("end_date", "date"),
    Column("quota", "float", minimum=0, maximum=MAX_MONEY),
)

ACTIVITY_COLUMNS: tuple[Column, ...] = (
    Column("external_id", "str", required=True),
    Column("account_external_id", "str", required=True),
    Column("rep_external_id", "str"),
    Column("occurred_at", "datetime", required=True),
    Column("kind", "enum", enum=ActivityKind, required=True),
    Column("next_step", "str", max_length=2000),
    Column("contact", "str"),
    Column("direction", "enum", enum=ActivityDirection, default=ActivityDirection.OUTBOUND),
    Column("path", "enum", enum=ActivityPath),
)

OPPORTUNITY_COLUMNS: tuple[Column, ...] = (
    Column("external_id", "str", required=True),
    Column("account_external_id", "str", required=True),
    Column("rep_external_id", "str"),
    Column("amount", "float", required=True, minimum=0, maximum=MAX_MONEY),
    Column("status", "enum", enum=OpportunityStatus, default=OpportunityStatus.OPEN),
    Column("stage", "str", max_length=64),
    Column("created_on", "date"),
    Column("closed_on", "date"),
)


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]


@dataclass
class ParseResult:
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)

    def bad_rows(self) -> set[int]:
        return {e.row for e in self.errors if e.row is not None}


def check_header(header: Sequence[str], columns: Sequence[Column]) -> list[FieldError]:
    """A CSV header's problems, in one pass over it (a header of any width costs linear time); one that is
    wider than any kind's is refused at once."""
    if len(header) > MAX_CSV_COLUMNS:
        return [FieldError("", Code.TOO_MANY_VALUES, f"at most {MAX_CSV_COLUMNS} columns", row=0)]
    names = {c.name for c in columns}
    errors = [
        FieldError(h, Code.UNKNOWN_FIELD, f"unknown column {h!r}", row=0) for h in header if h not in names
    ]
    counts = Counter(header)
    for dup in sorted(h for h, n in counts.items() if n > 1):
        errors.append(FieldError(dup, Code.DUPLICATE_COLUMN, f"column {dup!r} appears twice", row=0))
    for col in columns:
        if col.required and col.name not in header:
            errors.append(
                FieldError(col.name, Code.MISSING_COLUMN, f"required column {col.name!r} is missing", row=0)
            )
    return errors


def parse_rows(
    records: Iterable[Any], columns: Sequence[Column], *, empty_is_null: bool = False
) -> ParseResult:
    """Coerce every record; collect every field error of every row; flag duplicate external ids."""
    by_name = {c.name: (c, COERCE[c.kind]) for c in columns}
    required = [c for c in columns if c.required]
    result = ParseResult()
    seen: dict[str, int] = {}
    for index, record in enumerate(records, start=1):
        if index > MAX_IMPORT_ROWS:
            raise ValidationFailed(
                f"at most {MAX_IMPORT_ROWS:,} rows a request; split the file",
                [FieldError("", Code.TOO_MANY_ROWS, f"at most {MAX_IMPORT_ROWS:,} rows", row=index)],
                code=Code.IMPORT_FAILED,
            )
        if not isinstance(record, Mapping):
            result.errors.append(FieldError("", Code.INVALID_ROW, "each row must be an object", row=index))
            continue
        values: dict[str, Any] = {}
        row_errors: list[FieldError] = []
        for key, raw in record.items():
            spec = by_name.get(key)
            if key is None:  # CSV values beyond the header
                row_errors.append(
                    FieldError(
                        "",
                        Code.TOO_MANY_VALUES,
                        "the row has more values than the header has columns",
                        row=index,
                    )
                )
                continue
            if spec is None:
                row_errors.append(
                    FieldError(str(key), Code.UNKNOWN_FIELD, f"unknown field {key!r}", row=index)
                )
                continue
            if raw is None or (empty_is_null and raw == ""):
                values[key] = spec[0].default
                continue
            try:
                values[key] = spec[1](spec[0], raw)
            except _Bad as bad:
                row_errors.append(FieldError(key, bad.code, bad.message, row=index))
        for col in required:
            if values.get(col.name) in (None, "") and not any(e.field == col.name for e in row_errors):
                row_errors.append(FieldError(col.name, Code.REQUIRED, f"{col.name} is required", row=index))
        ext = values.get("external_id")
        if ext:
            if ext in seen:
                row_errors.append(
                    FieldError("external_id", Code.DUPLICATE_IN_FILE, f"also on row {seen[ext]}", row=index)
                )
            else:
                seen[ext] = index
        if row_errors:
            result.errors.extend(row_errors)
        else:
            if "tags" in values and isinstance(values["tags"], tuple):
                values["tags"] = list(values["tags"])
            result.rows.append(ParsedRow(index, values))
    return result


def check_references(
    rows: Iterable[ParsedRow], field_name: str, known: Mapping[str, Any] | set[str], what: str
) -> list[FieldError]:
    """Rows whose reference (account_external_id, rep_external_id) names nothing known."""
    return [
        FieldError(
            field_name,
            Code.UNKNOWN_REFERENCE,
            f"no {what} with external id {r.values[field_name]!r}",
            row=r.row,
        )
        for r in rows
        if r.values.get(field_name) and r.values[field_name] not in known
    ]


def check_parent_references(
    rows: Sequence[ParsedRow], existing_parents: Mapping[str, str | None]
) -> list[FieldError]:
    """Parents named in the file must exist (in the file or stored), and no cycle may form."""
    in_file = {r.values["external_id"]: r for r in rows}
    errors: list[FieldError] = []
    parents: dict[str, str | None] = dict(existing_parents)
    for r in rows:
        ext = r.values["external_id"]
        if "parent_external_id" in r.values:
            parent = r.values["parent_external_id"] or None
            if parent is not None and parent not in in_file and parent not in existing_parents:
                errors.append(
                    FieldError(
                        "parent_external_id", Code.UNKNOWN_REFERENCE, f"no account {parent!r}", row=r.row
                    )
                )
                parent = None
            parents[ext] = parent
        else:
            parents.setdefault(ext, None)
    for cycle in find_parent_cycles(parents, starts=list(in_file)):
        chain = " -> ".join(cycle + [cycle[0]])
        for ext in cycle:
            if ext in in_file:
                errors.append(
                    FieldError(
                        "parent_external_id", Code.PARENT_CYCLE, f"parent cycle {chain}", row=in_file[ext].row
                    )
                )
    return errors


@dataclass
class UpsertPlan:
    creates: list[ParsedRow] = field(default_factory=list)
    updates: list[tuple[ParsedRow, dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0


def plan_upserts(rows: Iterable[ParsedRow], existing: Mapping[str, Mapping[str, Any]]) -> UpsertPlan:
    """Split rows into creates, updates (only the changed fields) and unchanged, by external id."""
    plan = UpsertPlan()
    for r in rows:
        current = existing.get(r.values["external_id"])
        if current is None:
            plan.creates.append(r)
            continue
        changes = {k: v for k, v in r.values.items() if k != "external_id" and current.get(k) != v}
        if changes:
            plan.updates.append((r, changes))
        else:
            plan.unchanged += 1
    return plan


def defaults_for(columns: Sequence[Column]) -> dict[str, Any]:
    return {
        c.name: (list(c.default) if isinstance(c.default, tuple) else c.default)
        for c in columns
        if c.name != "external_id"
    }
