"""One router factory for the create/read/update/delete/list routes every resource shares.

No `from __future__ import annotations` here: FastAPI reads the closures' annotations at runtime.
"""

from types import SimpleNamespace
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.rest.deps import (
    AUTH_ERRORS,
    NOT_MODIFIED,
    PRECONDITION_ERRORS,
    CtxDep,
    IfMatchDep,
    IfNoneMatchDep,
    PrincipalDep,
    created,
    located,
    problem_responses,
    unchanged,
    versioned,
    with_etag,
)
from domain.defaults import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


class ListQuery(BaseModel):
    """The page request of every list: page_size and the page_token of the previous page."""

    model_config = ConfigDict(extra="forbid")
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    page_token: str | None = Field(None, description="next_page_token of the previous page")


def crud_service(module: object, singular: str, plural: str, delete: str) -> SimpleNamespace:
    """A feature's use cases by the names the routes call: create_x, get_x, update_x, list_xs, delete."""
    return SimpleNamespace(
        create=getattr(module, f"create_{singular}"),
        get=getattr(module, f"get_{singular}"),
        update=getattr(module, f"update_{singular}"),
        delete=getattr(module, delete),
        list=getattr(module, f"list_{plural}"),
    )


def add_crud_routes(
    router: APIRouter,
    *,
    singular: str,
    plural: str,
    create_model: type[BaseModel],
    update_model: type[BaseModel],
    read_model: type[BaseModel],
    page_model: type[BaseModel],
    query_model: type[BaseModel],
    service: SimpleNamespace,
    delete_doc: str,
    delete_returns_entity: bool = False,
    tags: list[str] | None = None,
) -> None:
    path = f"/{plural}"
    article = "an" if singular[0] in "aeiou" else "a"
    EntityId = Annotated[UUID, Path(alias=f"{singular}_id")]
    item = f"/{plural}/{{{singular}_id}}"

    async def create(body: create_model, p: PrincipalDep, ctx: CtxDep, response: Response) -> Any:  # type: ignore
        entity = read_model.model_validate(await service.create(ctx, p, body))
        located(response, f"/v1/{plural}/{entity.id}", entity)
        return versioned(response, entity.version, entity)

    async def get(
        entity_id: EntityId, held: IfNoneMatchDep, p: PrincipalDep, ctx: CtxDep, response: Response
    ) -> Any:
        entity = read_model.model_validate(await service.get(ctx, p, entity_id))
        return unchanged(held, entity.version) or versioned(response, entity.version, entity)

    async def update(
        entity_id: EntityId,
        body: update_model,  # type: ignore
        precondition: IfMatchDep,
        p: PrincipalDep,
        ctx: CtxDep,
        response: Response,
    ) -> Any:
        entity = read_model.model_validate(await service.update(ctx, p, entity_id, body, precondition))
        return versioned(response, entity.version, entity)

    async def delete(entity_id: EntityId, precondition: IfMatchDep, p: PrincipalDep, ctx: CtxDep) -> Any:
        result = await service.delete(ctx, p, entity_id, precondition)
        if delete_returns_entity:
            return read_model.model_validate(result)
        return Response(status_code=204)

    async def list_(q: Annotated[query_model, Query()], p: PrincipalDep, ctx: CtxDep) -> Any:  # type: ignore
        filters = q.model_dump(exclude={"page_size", "page_token"})
        page = await service.list(ctx, p, filters, q.page_token, q.page_size)
        return page_model.model_validate(page, from_attributes=True)

    item_errors = problem_responses(404, *AUTH_ERRORS)
    change_errors = problem_responses(404, 409, *PRECONDITION_ERRORS, *AUTH_ERRORS)
    router.add_api_route(
        path,
        list_,
        tags=tags,
        methods=["GET"],
        name=f"list_{plural}",
        response_model=page_model,
        summary=f"List {plural}",
        responses=problem_responses(400, *AUTH_ERRORS),
    )
    router.add_api_route(
        path,
        create,
        tags=tags,
        methods=["POST"],
        name=f"create_{singular}",
        response_model=read_model,
        status_code=201,
        summary=f"Create {article} {singular}",
        responses=problem_responses(409, *AUTH_ERRORS) | created(what=f"the new {singular}", versioned=True),
    )
    router.add_api_route(
        item,
        get,
        tags=tags,
        methods=["GET"],
        name=f"get_{singular}",
        response_model=read_model,
        summary=f"Get {article} {singular}",
        responses=item_errors | with_etag() | NOT_MODIFIED,
    )
    router.add_api_route(
        item,
        update,
        tags=tags,
        methods=["PATCH"],
        name=f"update_{singular}",
        response_model=read_model,
        summary=f"Update {article} {singular} (only the fields sent)",
        responses=change_errors | with_etag(),
    )
    router.add_api_route(
        item,
        delete,
        tags=tags,
        methods=["DELETE"],
        name=f"delete_{singular}",
        response_model=read_model if delete_returns_entity else None,
        status_code=200 if delete_returns_entity else 204,
        summary=f"Delete {article} {singular}",
        description=delete_doc,
        responses=change_errors,
    )
