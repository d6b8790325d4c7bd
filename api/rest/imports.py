"""Bulk import and streaming export of accounts, reps, activities and opportunities."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import StreamingResponse
from pydantic.json_schema import models_json_schema

from api.errors import UnsupportedMediaType
from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services.cpu import off_loop, release
from api.services.imports import (
    COLUMNS,
    ROW_MODEL_NAMES,
    ROW_MODELS,
    ImportMode,
    ImportReport,
    export_records,
    import_records,
    needs_rescoring,
    records_from_csv,
    records_from_json,
)
from api.services.scoring import queue_rescoring, rescore_after_import
from domain.defaults import MAX_IMPORT_ROWS

router = APIRouter(prefix="/v1", tags=["import"])


def row_schemas() -> dict[str, Any]:
    """The import rows' schemas (and their enums), for the contract's components: the route reads its body
    itself (fast, and also from CSV), so FastAPI does not see them."""
    _, top = models_json_schema(
        [(m, "validation") for m in ROW_MODELS.values()], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = top["$defs"]
    for name in ROW_MODEL_NAMES.values():
        for prop in schemas[name]["properties"].values():
            # a field left out is kept as it is on an update: a client must not send a default for it
            prop.pop("default", None)
    return schemas


def _columns(kind: str) -> str:
    return ", ".join(c.name for c in COLUMNS[kind])


def _json_body(kind: str) -> dict:
    return {
        "requestBody": {
            "required": True,
            "description": f"A JSON array of {kind}. Values may also come as a spreadsheet writes them "
            "(numbers as text, booleans as yes/no, tags as one ';'-separated string). A CSV file is taken "
            f"here too (Content-Type text/csv), as at /v1/{kind}/import.csv.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"$ref": f"#/components/schemas/{ROW_MODEL_NAMES[kind]}"},
                        "maxItems": MAX_IMPORT_ROWS,
                    }
                }
            },
        }
    }


def _csv_body(kind: str) -> dict:
    return {
        "requestBody": {
            "required": True,
            "description": f"A CSV file with a header row naming some of: {_columns(kind)} (external_id "
            "and the other required columns always). Tags and expertise are ';'-separated.",
            # bytes, as a file is sent (a generated client takes a File)
            "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
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
            if ctx.runs_worker:
                background.add_task(rescore_after_import, ctx, p)
            else:
                await queue_rescoring(ctx, p)
            return report.model_copy(update={"scoring": "scheduled"})
        return report

    async def export(
        p: PrincipalDep, ctx: CtxDep, format: Annotated[Literal["csv", "json"], Query()] = "json"
    ) -> StreamingResponse:
        stream = await export_records(ctx, p, kind, format)
        media = "text/csv" if format == "csv" else "application/json"
        headers = {"Content-Disposition": f'attachment; filename="{kind}.{format}"'}
        return StreamingResponse(stream, media_type=media, headers=headers)

    description = (
        "Every row is validated first. `atomic`: one bad row and nothing is written (422 listing every "
        "row's errors). `partial`: the valid rows are written and the bad ones listed in `errors`."
    )
    # one operation a media type: a generated client types each body (docs/http.md, "Generated clients")
    for path, name, extra, what in (
        (f"/{kind}/import", f"import_{kind}", _json_body(kind), "JSON"),
        (f"/{kind}/import.csv", f"import_{kind}_csv", _csv_body(kind), "a CSV file"),
    ):
        router.add_api_route(
            path,
            import_,
            methods=["POST"],
            name=name,
            response_model=ImportReport,
            summary=f"Import {kind} (upsert by external id) from {what}",
            description=description,
            openapi_extra=extra,
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
