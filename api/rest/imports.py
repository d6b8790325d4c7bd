"""Bulk import and streaming export of accounts, reps, activities and opportunities."""

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import StreamingResponse

from api.errors import UnsupportedMediaType
from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services.cpu import off_loop, release
from api.services.imports import (
    COLUMNS,
    ImportMode,
    ImportReport,
    export_records,
    import_records,
    needs_rescoring,
    records_from_csv,
    records_from_json,
)
from api.services.scoring import rescore_after_import

router = APIRouter(prefix="/v1", tags=["import"])


def _request_body(kind: str) -> dict:
    columns = COLUMNS[kind]
    row = {
        "type": "object",
        "properties": {
            c.name: {"description": c.kind + (" (required)" if c.required else "")} for c in columns
        },
        "required": [c.name for c in columns if c.required],
        "additionalProperties": False,
    }
    return {
        "requestBody": {
            "required": True,
            "description": f"A JSON array of {kind} or a CSV file with a header row. Columns: "
            + ", ".join(c.name for c in columns)
            + ". Tags and expertise in CSV are ';'-separated.",
            "content": {
                "application/json": {"schema": {"type": "array", "items": row}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    }


def _add(kind: str) -> None:
    async def import_(
        request: Request,
        background: BackgroundTasks,
        p: PrincipalDep,
        ctx: CtxDep,
        mode: Annotated[
            ImportMode, Query(description="atomic: all or nothing; partial: write the valid rows")
        ] = ImportMode.ATOMIC,
    ) -> ImportReport:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        # decoding a large body is CPU work: in a worker thread, so the event loop keeps answering
        if content_type in ("text/csv", "application/csv"):
            header, records = await off_loop(records_from_csv, body)
        elif content_type in ("application/json", ""):
            header, records = None, await off_loop(records_from_json, body)
        else:
            raise UnsupportedMediaType(f"send application/json or text/csv, not {content_type!r}")
        report = await import_records(ctx, p, kind, records, mode, header=header)
        if isinstance(records, list):
            await release(records)
        if needs_rescoring(kind, report):
            background.add_task(rescore_after_import, ctx, p)
            return report.model_copy(update={"scoring": "scheduled"})
        return report

    async def export(
        p: PrincipalDep, ctx: CtxDep, format: Annotated[Literal["csv", "json"], Query()] = "json"
    ) -> StreamingResponse:
        stream = await export_records(ctx, p, kind, format)
        media = "text/csv" if format == "csv" else "application/json"
        headers = {"Content-Disposition": f'attachment; filename="{kind}.{format}"'}
        return StreamingResponse(stream, media_type=media, headers=headers)

    router.add_api_route(
        f"/{kind}/import",
        import_,
        methods=["POST"],
        name=f"import_{kind}",
        response_model=ImportReport,
        summary=f"Import {kind} (upsert by external id) from JSON or CSV",
        description="Every row is validated first. `atomic`: one bad row and nothing is written (422 listing "
        "every row's errors). `partial`: the valid rows are written and the bad ones listed in `errors`.",
        openapi_extra=_request_body(kind),
        responses=problem_responses(400, 413, 415, *AUTH_ERRORS),
    )
    router.add_api_route(
        f"/{kind}/export",
        export,
        methods=["GET"],
        name=f"export_{kind}",
        summary=f"Export every {kind[:-1] if kind != 'activities' else 'activity'} in the import format",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {}}},
            **problem_responses(*AUTH_ERRORS),
        },
    )


for _kind in COLUMNS:
    _add(_kind)
