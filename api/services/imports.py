"""Bulk import (upsert by external id, atomic or partial) and streaming export, in the same format."""

from __future__ import annotations

import csv
import enum
import io
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import aclosing
from datetime import date, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, create_model

from api.services.context import AppContext, Principal
from api.services.cpu import collector_paused, off_loop, release
from api.services.segment_changes import segments_of_record
from domain import importing as im
from domain.changes import KEEP, Change, ChangeKind, account_change, rep_change, shows_differently
from domain.defaults import apply_overrides
from domain.errors import Code, DomainError, FieldError, RuleViolation, ValidationFailed
from domain.model import (
    Scope,
)
from domain.ports import SetBasedUnitOfWork
from domain.rules import check_rep_dates, segment_for


class ImportRowError(BaseModel):
    row: int = Field(description="1 = the first data row; 0 = the file itself (a CSV header)")
    field: str
    code: str
    message: str


class ImportReport(BaseModel):
    created: int
    updated: int
    unchanged: int
    errors: list[ImportRowError]
    scoring: Literal["scheduled"] | None = Field(
        None,
        description="'scheduled': the import changed what scores depend on; scores, potentials and tiers "
        "are recomputed right after this answer",
    )


COLUMNS: dict[str, tuple[im.Column, ...]] = {
    "accounts": im.ACCOUNT_COLUMNS,
    "reps": im.REP_COLUMNS,
    "activities": im.ACTIVITY_COLUMNS,
    "opportunities": im.OPPORTUNITY_COLUMNS,
}


# a column's kind -> the JSON type a client sends (the rows are still read by im.parse_rows, which also
# takes what a spreadsheet writes: numbers as text, booleans as yes/no, tags as one ';'-separated string)
_JSON_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "date": date,
    "datetime": datetime,
    "tags": list[str],
}
ROW_MODEL_NAMES = {
    "accounts": "AccountImportRow",
    "reps": "RepImportRow",
    "activities": "ActivityImportRow",
    "opportunities": "OpportunityImportRow",
}


def _column_field(col: im.Column) -> tuple[Any, Any]:
    kind = col.enum if col.kind == "enum" else _JSON_TYPES[col.kind]
    limits: dict[str, Any] = {}
    if col.kind == "str":
        limits = {"max_length": col.max_length, "min_length": 1 if col.required else None}
    if col.minimum is not None:
        limits["ge"] = int(col.minimum) if col.kind == "int" else col.minimum
    if col.maximum is not None:
        limits["le"] = int(col.maximum) if col.kind == "int" else col.maximum
    if col.required:
        return kind, Field(..., **limits)
    default = col.default.value if isinstance(col.default, enum.Enum) else col.default
    if isinstance(default, tuple):
        default = ", ".join(default) or "none"
    elif isinstance(default, float):
        default = f"{default:g}"
    description = None if default is None else f"a new row without it, or null: {str(default).lower()}"
    return kind | None, Field(None, description=description, **limits)


def _row_model(kind: str) -> type[BaseModel]:
    """One import row of `kind`, as its columns say (for the contract: the route reads the body itself)."""
    return create_model(  # type: ignore[call-overload, no-any-return]
        ROW_MODEL_NAMES[kind],
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"One row of an import of {kind}: a field left out keeps its value on an update; null "
        "gives it its default (see the field)",
        **{c.name: _column_field(c) for c in COLUMNS[kind]},
    )


ROW_MODELS: dict[str, type[BaseModel]] = {kind: _row_model(kind) for kind in COLUMNS}


# accounts carry the scored fields; opportunities move the win rates that potential depends on
RESCORED_AFTER = ("accounts", "opportunities")


def needs_rescoring(kind: str, report: ImportReport) -> bool:
    """Whether an import changed what scores, potentials and tiers depend on."""
    return kind in RESCORED_AFTER and bool(report.created or report.updated)


# activities and opportunities are what coverage facts are made of
FACTS_FROM = ("activities", "opportunities")


async def _refresh_coverage(
    uow: SetBasedUnitOfWork,
    ctx: AppContext,
    p: Principal,
    plan: im.UpsertPlan,
    existing: dict[str, dict[str, Any]],
    refs: dict[str, Any],
) -> None:
    """Keep the coverage facts of every account the import touched current, in the import's transaction
    (an updated activity may have moved from one account to another: both are recomputed)."""
    named = {r.values["account_external_id"] for r in plan.creates}
    for r, changes in plan.updates:
        named.add(existing[r.values["external_id"]]["account_external_id"])
        named.add(
            changes.get("account_external_id") or existing[r.values["external_id"]]["account_external_id"]
        )
    ids = {refs["accounts"][ext] for ext in named if ext in refs["accounts"]}
    missing = {ext for ext in named if ext not in refs["accounts"]}
    if missing:
        ids |= set((await uow.imports.id_map("accounts", missing)).values())
    await uow.coverage.refresh_facts(ctx.clock.now(), ids)


class ImportMode(enum.StrEnum):
    ATOMIC = "atomic"
    PARTIAL = "partial"


class InvalidFile(DomainError):
    code = Code.INVALID_FILE


def records_from_csv(body: bytes) -> tuple[list[str], Iterable[dict[str, Any]]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidFile(f"the CSV is not UTF-8 (byte {exc.start})", code=Code.INVALID_CSV)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise InvalidFile("the CSV is empty: a header row is required", code=Code.INVALID_CSV)
        header = [h.strip() for h in header]
        # row by row, not list(reader): that is one C call, holding the GIL for 130 ms at 100,000 rows
        rows = [values for values in reader]
    except csv.Error as exc:
        raise InvalidFile(f"the CSV cannot be read: {exc}", code=Code.INVALID_CSV)
    width = len(header)
    rows.reverse()  # consumed from the end, so that each row is freed as soon as it is read

    def records() -> Iterable[dict[str, Any]]:
        while rows:
            values = rows.pop()
            record: dict[Any, Any] = dict(zip(header, map(im.unescape_cell, values), strict=False))
            if len(values) > width:
                record[None] = values[width:]  # as csv.DictReader does: values with no column
            yield record

    return header, records()


JSON_PIECE = 1 << 18  # bytes parsed by one orjson call (about 2 ms) while a large body is read
JSON_PIECE_TRIES = 8  # cuts tried per piece before the body is parsed whole


def _json_in_pieces(body: bytes) -> list[Any] | None:
    """A JSON array parsed a piece of about `JSON_PIECE` bytes at a time: one orjson call over a 20 MB
    body holds the GIL for 150-270 ms, so the event loop (the lookups) with it. A piece ends at a `},` and
    is parsed as `[piece]`. A cut that does not fall between two elements of the array (inside a string,
    or inside a nested value) never makes a valid piece: the piece then runs on to the next `},`, a few
    times at most. None when the body does not split so (it is then parsed whole, which also gives an
    error its true position)."""
    start = body.find(b"[")
    if start < 0 or body[:start].strip():
        return None
    out: list[Any] = []
    pos = start + 1
    while True:
        cut = body.find(b"},", pos + JSON_PIECE)
        for _ in range(JSON_PIECE_TRIES):
            try:
                items = orjson.loads(b"[" + body[pos:] if cut < 0 else b"[" + body[pos : cut + 1] + b"]")
                break
            except orjson.JSONDecodeError:
                if cut < 0:
                    return None
                cut = body.find(b"},", cut + 2)
        else:
            return None
        if not isinstance(items, list):
            return None
        out += items
        if cut < 0:
            return out
        pos = cut + 2


def records_from_json(body: bytes) -> list[Any]:
    if len(body) > 2 * JSON_PIECE:
        pieces = _json_in_pieces(body)
        if pieces is not None:
            return pieces
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidFile(f"the body is not valid JSON: {exc}", code=Code.MALFORMED_JSON)
    if not isinstance(data, list):
        raise InvalidFile("the body must be a JSON array of rows", code=Code.MALFORMED_JSON)
    return data


def _row_check_errors(
    kind: str, rows: list[im.ParsedRow], refs: dict[str, Any], existing: dict
) -> list[FieldError]:
    """Cross-row and reference checks of the domain, per kind."""
    if kind == "accounts":
        if not any(r.values.get("parent_external_id") for r in rows):
            return []  # no row sets a parent: no reference to check, and clearing one makes no cycle
        parents = {ext: v.get("parent_external_id") for ext, v in existing.items()} | refs["ancestry"]
        return im.check_parent_references(rows, parents)
    if kind == "reps":
        errors = []
        for r in rows:
            current = existing.get(r.values["external_id"], {})
            try:
                check_rep_dates(
                    r.values.get("start_date", current.get("start_date")),
                    r.values.get("end_date", current.get("end_date")),
                )
            except RuleViolation as exc:
                errors.extend(FieldError(e.field, e.code, e.message, row=r.row) for e in exc.errors)
        return errors
    return im.check_references(
        rows, "account_external_id", refs["accounts"], "account"
    ) + im.check_references(rows, "rep_external_id", refs["reps"], "rep")


def _depth_order(rows: list[im.ParsedRow]) -> list[im.ParsedRow]:
    """Parents before children, so each insert finds its parent row (no cycles reach here)."""
    by_ext = {r.values["external_id"]: r for r in rows}
    depth: dict[str, int] = {}

    def depth_of(ext: str) -> int:
        chain = []
        node: str | None = ext
        while node is not None and node in by_ext and node not in depth:
            chain.append(node)
            node = by_ext[node].values.get("parent_external_id")
        base = depth.get(node, -1) if node is not None else -1
        for n in reversed(chain):
            base += 1
            depth[n] = base
        return depth[ext]

    return sorted(rows, key=lambda r: depth_of(r.values["external_id"]))


def _parse(kind: str, records: Iterable[Any], header: list[str] | None) -> im.ParseResult:
    columns = COLUMNS[kind]
    header_errors = im.check_header(header, columns) if header is not None else []
    if header_errors:
        raise ValidationFailed(
            "the CSV header is not valid; nothing was written", header_errors, code=Code.IMPORT_FAILED
        )
    return im.parse_rows(records, columns, empty_is_null=header is not None)


def _plan(
    kind: str, parsed: im.ParseResult, refs: dict[str, Any], existing: dict, mode: ImportMode
) -> tuple[list[FieldError], list[im.ParsedRow], im.UpsertPlan]:
    """The rows' cross-row and reference checks, and what to create and update (atomic: any error refuses
    the whole file)."""
    errors = list(parsed.errors)
    rows = parsed.rows
    while True:  # in partial mode, dropping a bad parent can orphan a child: check until stable
        found = _row_check_errors(kind, rows, refs, existing)
        errors.extend(found)
        bad = {e.row for e in found}
        rows = [r for r in rows if r.row not in bad]
        if not found or mode == ImportMode.ATOMIC:
            break
    errors.sort(key=lambda e: (e.row or 0, e.field))
    if errors and mode == ImportMode.ATOMIC:
        raise ValidationFailed(
            f"{len({e.row for e in errors})} row(s) have errors; nothing was written",
            errors,
            code=Code.IMPORT_FAILED,
        )
    plan = im.plan_upserts(rows, existing)
    if kind == "accounts":  # a soft-deleted account named again comes back, with every field sent
        revived = {
            r.values["external_id"]
            for r in rows
            if existing.get(r.values["external_id"], {}).get("_deleted_at")
        }
        if revived:
            plan.updates = [u for u in plan.updates if u[0].values["external_id"] not in revived] + [
                (r, {k: v for k, v in r.values.items() if k != "external_id"})
                for r in rows
                if r.values["external_id"] in revived
            ]
            plan.unchanged = len(rows) - len(plan.creates) - len(plan.updates)
    return errors, rows, plan


async def import_records(
    ctx: AppContext,
    p: Principal,
    kind: str,
    records: Iterable[Any],
    mode: ImportMode = ImportMode.ATOMIC,
    header: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    p.require(Scope.WRITE)
    with collector_paused():  # until it commits: its rows would make every collection scan millions
        return await _import(ctx, p, kind, records, mode, header, progress)


async def _import(
    ctx: AppContext,
    p: Principal,
    kind: str,
    records: Iterable[Any],
    mode: ImportMode,
    header: list[str] | None,
    progress: Callable[[int], None] | None,
) -> ImportReport:
    # parsing and checking every row is CPU work: in a worker thread, so the event loop keeps answering
    parsed = await off_loop(_parse, kind, records, header)
    names = [c.name for c in COLUMNS[kind]]
    async with ctx.uow(p.tenant_id) as uow:
        # one import of a kind at a time per tenant: the next waits, then reads what this one wrote
        await uow.imports.exclusive(f"import:{kind}")
        # Only what the file names is read: its rows, the accounts and reps it refers to, and the stored
        # ancestors of its rows and of the parents it names (any new cycle runs through those).
        named, wanted = await off_loop(_named, kind, parsed.rows)
        refs: dict[str, Any] = {}
        existing, refs["ancestry"] = await uow.imports.load_named(kind, names, named)
        if kind in ("activities", "opportunities"):
            refs["accounts"] = await uow.imports.id_map("accounts", wanted["accounts"])
            refs["reps"] = await uow.imports.id_map("reps", wanted["reps"])
        errors, rows, plan = await off_loop(_plan, kind, parsed, refs, existing, mode)
        changes = await _write(uow, ctx, p, kind, plan, existing, refs, progress)
        if kind in FACTS_FROM and (plan.creates or plan.updates):
            await _refresh_coverage(uow, ctx, p, plan, existing, refs)
        await uow.imports.append_changes(changes)
        await uow.imports.analyze_if_large(kind, len(plan.creates) + len(plan.updates))
        await uow.commit()
    report = ImportReport.model_validate(
        {
            "created": len(plan.creates),
            "updated": len(plan.updates),
            "unchanged": plan.unchanged,
            "errors": [e.as_dict() for e in errors],
        }
    )
    await release(changes, plan.creates, plan.updates, rows, parsed.rows)
    return report


def _named(kind: str, rows: list[im.ParsedRow]) -> tuple[set[str], dict[str, set[str]]]:
    """The external ids the file names: its rows' (and the parents they name), and the accounts and reps
    its activities and opportunities refer to."""
    named = {r.values["external_id"] for r in rows}
    if kind == "accounts":
        named |= {r.values.get("parent_external_id") for r in rows} - {None}
    wanted = {
        field: {r.values.get(f"{field[:-1]}_external_id") for r in rows} - {None}
        for field in ("accounts", "reps")
        if kind in ("activities", "opportunities")
    }
    return named, wanted


async def _write(
    uow: SetBasedUnitOfWork,
    ctx: AppContext,
    p: Principal,
    kind: str,
    plan: im.UpsertPlan,
    existing: dict[str, dict[str, Any]],
    refs: dict[str, Any],
    progress: Callable[[int], None] | None,
) -> list[Change]:
    """Writes the rows; answers the changes a lookup will show (accounts' and reps' names, ids, dates).
    The rows are made in a worker thread (100,000 of them held the event loop for a second)."""
    settings = apply_overrides(await uow.tenant_settings()) if kind == "accounts" else None
    now = ctx.clock.now()
    create_rows, update_rows, changes = await off_loop(
        _table_rows, kind, plan, existing, refs, settings, now, p.tenant_id
    )
    if kind == "accounts":
        await _hold_segment_changes(uow, update_rows, settings, now)
    await uow.imports.insert_many(kind, create_rows, progress)
    await uow.imports.update_many(kind, update_rows, progress)
    await release(create_rows, update_rows)
    if progress:
        progress(plan.unchanged)
    return changes


async def _hold_segment_changes(uow: Any, rows: list[dict[str, Any]], settings: Any, now: datetime) -> None:
    """An updated account whose derived segment changed keeps its segment of record until the review, as
    the engagement policy says (docs/domain.md, "Rules of engagement", Segment changes)."""
    rows = [r for r in rows if "segment" in r]
    if not rows:
        return
    of_record = await uow.segment_changes.segments([r["_id"] for r in rows])
    kept = await segments_of_record(
        uow, [(r["_id"], of_record.get(r["_id"]), r["segment"]) for r in rows], now, settings
    )
    for r in rows:
        r["segment"] = kept[r["_id"]]


def _table_rows(
    kind: str,
    plan: im.UpsertPlan,
    existing: dict[str, dict[str, Any]],
    refs: dict[str, Any],
    settings: Any,
    now: datetime,
    tenant_id: uuid.UUID,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Change]]:
    """The rows to insert and to update, in table values, and the changes a lookup will show."""
    defaults = im.defaults_for(COLUMNS[kind])
    with_parents = kind == "accounts" and any(r.values.get("parent_external_id") for r in plan.creates)
    creates = _depth_order(plan.creates) if with_parents else plan.creates
    new_ids = dict(zip((r.values["external_id"] for r in creates), _new_ids(len(creates)), strict=True))
    ids = {ext: v["_id"] for ext, v in existing.items()} | new_ids

    def to_table(out: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        """Import values (a fresh dict, changed in place) -> table values."""
        if kind == "accounts":
            if "parent_external_id" in out:
                parent = out.pop("parent_external_id")
                out["parent_id"] = ids[parent] if parent else None
            if not current or "annual_revenue" in out or "employees" in out:
                merged = {**current, **out} if current else out
                out["segment"] = segment_for(
                    merged.get("annual_revenue"), merged.get("employees"), settings.segments
                )
            out["updated_at"] = now
            out["deleted_at"] = None
        elif kind == "reps":
            out["updated_at"] = now
        else:
            for ref, target in (("account_external_id", "account_id"), ("rep_external_id", "rep_id")):
                if ref in out:
                    ext = out.pop(ref)
                    out[target] = refs[target.replace("_id", "s")][ext] if ext else None
        return out

    create_rows = []
    for r in creates:
        row = to_table({**defaults, **r.values}, {})
        row["id"] = new_ids[r.values["external_id"]]
        row["tenant_id"] = tenant_id
        row["created_at"] = now
        create_rows.append(row)
    update_rows = []
    for r, changes in plan.updates:
        current = existing[r.values["external_id"]]
        row = to_table(dict(changes), current)
        row["_id"] = current["_id"]
        update_rows.append(row)
    shown = ChangeKind.ACCOUNT if kind == "accounts" else ChangeKind.REP if kind == "reps" else None
    if shown is None:
        return create_rows, update_rows, []
    visible = [(row, {}) for row in create_rows] + [
        (row, existing[r.values["external_id"]])
        for row, (r, _) in zip(update_rows, plan.updates, strict=True)
        if shows_differently({k for k in row if k != "deleted_at"}, shown)
        or existing[r.values["external_id"]].get("_deleted_at")  # a removed account comes back
    ]
    if shown == ChangeKind.ACCOUNT:

        def make(row: dict[str, Any], current: dict[str, Any]) -> Change:
            # a new account's parent is the row's; an update names it only when the row sets it
            parent = row.get("parent_id") if "parent_id" in row or not current else KEEP
            ext, name = (row.get(k, current.get(k)) for k in ("external_id", "name"))
            return account_change(row.get("id", row.get("_id")), now, ext, name, parent_id=parent)
    else:

        def make(row: dict[str, Any], current: dict[str, Any]) -> Change:
            fields = (row.get(k, current.get(k)) for k in ("name", "email", "end_date"))
            return rep_change(row.get("id", row.get("_id")), now, *fields)

    return create_rows, update_rows, [make(row, current) for row, current in visible]


def _new_ids(n: int) -> list[uuid.UUID]:
    """n random (version 4) UUIDs from one read of the system's randomness."""
    pool = os.urandom(16 * n)
    return [uuid.UUID(bytes=pool[i : i + 16], version=4) for i in range(0, 16 * n, 16)]


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    if isinstance(value, str):
        return im.escape_cell(value)
    return str(value)


async def export_records(ctx: AppContext, p: Principal, kind: str, fmt: str) -> AsyncIterator[bytes]:
    """Every row of `kind` in the import format, streamed: CSV with a header, or one JSON array."""
    p.require(Scope.READ)
    names = [c.name for c in COLUMNS[kind]]

    async def stream() -> AsyncIterator[bytes]:
        async with ctx.uow(p.tenant_id) as uow, aclosing(uow.imports.stream_export(kind, names)) as rows:
            if fmt == "csv":
                buf = io.StringIO()
                writer = csv.writer(buf, lineterminator="\n")
                writer.writerow(names)
                count = 0
                async for row in rows:
                    writer.writerow([_csv_value(row[n]) for n in names])
                    count += 1
                    if count % 1000 == 0:
                        yield buf.getvalue().encode()
                        buf.seek(0)
                        buf.truncate()
                yield buf.getvalue().encode()
            else:
                yield b"["
                first = True
                async for row in rows:
                    yield (b"" if first else b",") + orjson.dumps(row)
                    first = False
                yield b"]"

    return stream()
