"""CSV answers (`format=csv`) for lists and reports: one header row, then one row per item."""

from __future__ import annotations

import csv
import enum
import inspect
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Response
from fastapi.routing import APIRoute

from domain.importing import escape_cell


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
    if isinstance(value, str):
        return escape_cell(value)
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
HTML_CONTENT = {"text/html": {"schema": {"type": "string"}}}


class TextResponse(Response):
    """A CSV or HTML answer: its media type is the answer's own (csv_response, HTMLResponse)."""

    media_type = None


def add_format_route(
    router: APIRouter, endpoint: Callable[..., Any], fmt: str, content: dict[str, Any]
) -> None:
    """`endpoint`'s answer with `format=fmt`, at its path + `.fmt`, as an operation of its own
    (`name_fmt`): a generated client reads one media type an operation, so it reads this one as text and
    the JSON one as its model (docs/http.md, "Generated clients"). The route takes the endpoint's other
    parameters; `?format=` on the JSON operation stays as it is."""
    route = next(r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is endpoint)
    signature = inspect.signature(endpoint, eval_str=True)
    kind = type(signature.parameters["format"].default)

    async def formatted(**kwargs: Any) -> Any:
        return await endpoint(**kwargs, format=kind(fmt))

    formatted.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for name, p in signature.parameters.items() if name != "format"]
    )
    responses = {status: r for status, r in route.responses.items() if str(status) != "200"}
    router.add_api_route(
        route.path.removeprefix(router.prefix) + "." + fmt,
        formatted,
        methods=["GET"],
        name=f"{route.name}_{fmt}",
        summary=f"{route.summary} ({fmt.upper()})",
        response_class=TextResponse,
        responses={200: {"description": f"the answer as {fmt.upper()}", "content": content}, **responses},
    )


# words a label writes in capitals
ACRONYMS = {"tam": "TAM", "tap": "TAP", "icp": "ICP", "id": "ID", "arr": "ARR", "smb": "SMB", "acv": "ACV"}


def readable(key: str, parent: str = "") -> str:
    """A field name as a reader says it: `icp_fit_accounts` -> "ICP fit accounts"; a tier's number under a
    tier field -> "Tier 1"."""
    if key.isdigit() and parent.startswith("tier"):
        return f"Tier {key}"
    words = [ACRONYMS.get(w, w) for w in key.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def flatten(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A nested report as (section, item, metric, value) rows: lists of objects become one item per
    element (named by its name, id or position), nested objects extend the metric path. `label` says the
    row in words: the section, items and fields, "Equity metrics / Average quota per rep"."""
    rows: list[dict[str, Any]] = []

    def label(obj: dict[str, Any], index: int) -> str:
        for key in (
            "name",
            "territory_name",
            "external_id",
            "rep_name",
            "segment",
            "period",
            "rep_id",
            "tier",
        ):
            if obj.get(key) is not None:
                return str(obj[key])
        return str(index)

    def walk(section: str, item: str, path: str, value: Any, words: list[str]) -> None:
        if isinstance(value, dict):
            parent = path.rsplit(".", 1)[-1]
            for k, v in value.items():
                walk(section, item, f"{path}.{k}" if path else k, v, [*words, readable(str(k), parent)])
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            prefix = "/".join(x for x in (item, path) if x)
            for i, v in enumerate(value):
                name = label(v, i)
                walk(section, f"{prefix}/{name}" if prefix else name, "", v, [*words, name])
        else:
            rows.append(
                {"section": section, "item": item, "metric": path, "label": " / ".join(words), "value": value}
            )

    for key, value in report.items():
        if isinstance(value, dict | list):
            walk(key, "", "", value, [readable(key)])
        else:
            rows.append(
                {"section": "report", "item": "", "metric": key, "label": readable(key), "value": value}
            )
    return rows
