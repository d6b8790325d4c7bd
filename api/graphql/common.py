"""What every feature's GraphQL module shares: the request context, errors as the REST codes, Strawberry types
generated from the service models, `Problem`, and the one list contract (connections)."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import strawberry
from fastapi import Request
from graphql import GraphQLError
from pydantic import AwareDatetime, BaseModel, EmailStr
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import to_jsonable_python
from strawberry.fastapi import BaseContext
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from api.errors import database_error, field_errors_from_pydantic, status_for
from api.graphql.loaders import Loaders
from api.services import common
from api.services.common import NIL
from api.services.context import AppContext, Principal, Unauthorized, authenticate_header
from api.services.pagination import GRAPHQL_PAGES, Listed, page_arguments
from domain import model
from domain.errors import Code, DomainError, FieldError, ValidationFailed
from domain.preconditions import Precondition

for _enum in (
    model.Role,
    model.RepRole,
    model.RampStatus,
    model.Stage,
    model.ChurnRisk,
    model.Segment,
    model.PlanState,
    model.TerritoryType,
    model.AssignmentReason,
):
    strawberry.enum(_enum)

T = TypeVar("T")


# ---------------------------------------------------------------- context


class Context(BaseContext):
    def __init__(self, request: Request, ctx: AppContext, principal: Principal | None):
        super().__init__()
        self.request = request
        self.ctx = ctx
        self._principal = principal
        self.loaders = Loaders(ctx, principal) if principal else None

    @property
    def principal(self) -> Principal:
        if self._principal is None:
            raise Unauthorized("send an API key as 'Authorization: Bearer KEY'")
        return self._principal


async def get_context(request: Request) -> Context:
    ctx: AppContext = request.app.state.ctx
    if request.method == "GET" and "query" not in request.query_params:
        return Context(request, ctx, None)  # the GraphiQL page itself needs no key
    principal = await authenticate_header(ctx, request.headers.get("authorization"))
    return Context(request, ctx, principal)


async def plan_or_active(info: Info, plan_id: UUID | None) -> UUID:
    """The plan the query names, else the active plan, read once per request (NIL when there is none:
    nothing is owned in it)."""
    if plan_id is not None:
        return plan_id
    return await call(info.context.loaders.active_plan_id()) or NIL


# ---------------------------------------------------------------- errors


def graphql_error(exc: DomainError) -> GraphQLError:
    status, _ = status_for(exc)
    return GraphQLError(
        exc.detail,
        original_error=exc,
        extensions={
            "code": exc.code,
            "status": status,
            "errors": [e.as_dict() | {"field": schema_spelling(e.field)} for e in exc.errors],
        },
    )


async def call(coro: Awaitable[T]) -> T:
    """Run a use case in a query resolver; domain errors carry the REST code in `extensions`, and a refused
    page size or token names `first` or `after`."""
    try:
        with page_arguments(GRAPHQL_PAGES):
            return await coro
    except DomainError as exc:
        raise graphql_error(exc)


def refuse(detail: str) -> GraphQLError:
    """A query's argument that no use case checks, refused with the REST code of a ValidationFailed."""
    return graphql_error(ValidationFailed(detail))


@strawberry.type
class FieldProblem:
    field: str
    code: str
    message: str


@strawberry.type(description="An expected failure, with the same code as the REST problem+json")
class Problem:
    code: str
    status: int
    detail: str
    errors: list[FieldProblem]


_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def schema_spelling(field: str) -> str:
    """A field path in the schema's spelling (`external_id` -> `externalId`, `rules[0].min_touches` ->
    `rules[0].minTouches`): the use cases name fields as REST does."""
    return _SNAKE.sub(lambda m: to_camel_case(m.group()), field)


def problem_of(exc: DomainError, schema_names: bool = True) -> Problem:
    """The Problem of a mutation; with `schema_names=False` (inputs that are JSON, such as settings
    overrides and a policy) field paths keep the keys as they were sent."""
    status, _ = status_for(exc)
    name = schema_spelling if schema_names else str
    return Problem(
        code=exc.code,
        status=status,
        detail=exc.detail,
        errors=[FieldProblem(field=name(e.field), code=e.code, message=e.message) for e in exc.errors],
    )


async def attempt(coro: Awaitable[Any], schema_names: bool = True) -> Any:
    """Run a use case in a mutation: its answer, or the Problem it raised; a database failure is the Problem
    REST answers for it (409 concurrent_change, 503 database_unavailable, ...), not an internal error."""
    try:
        with page_arguments(GRAPHQL_PAGES):
            return await coro
    except DomainError as exc:
        return problem_of(exc, schema_names)
    except Exception as exc:
        meant = database_error(exc)
        if meant is None:
            raise
        return problem_of(meant, schema_names)


ExpectedVersion = Annotated[
    int | None,
    strawberry.argument(
        description="the version this change was made against (the object's `version`): if it has changed "
        "since, the answer is a Problem `precondition_failed` and nothing is written"
    ),
]


def expected(version: int | None) -> Precondition | None:
    """An update's expectedVersion as the precondition REST's If-Match gives."""
    return None if version is None else Precondition.exactly(version)


def update_mutation(use_case: Callable, model_cls: type[BaseModel], input_cls: Any, result_cls: Any) -> Any:
    """The update mutation of a resource: `(id, input, expectedVersion)` to the use case, the input
    validated as `model_cls`, expectedVersion as the precondition (If-Match's meaning)."""

    async def update(self: Any, info: Info, id: UUID, input: Any, expected_version: Any = None) -> Any:
        change = mutate(use_case, model_cls)
        return await change(info, id, input, precondition=expected(expected_version))

    # real types, not the strings this module's annotations are: Strawberry reads them to build the field
    update.__annotations__ = {
        "info": Info,
        "id": UUID,
        "input": input_cls,
        "expected_version": ExpectedVersion,
        "return": result_cls,
    }
    return strawberry.mutation(resolver=update)


def mutate(use_case: Callable, model_cls: type[BaseModel] | None = None) -> Callable:
    """A mutation resolver's body: the use case with the arguments, the last positional one (the input)
    validated as `model_cls` the same way REST validates its body; keywords go to the use case as given."""

    async def run(info: Info, *args: Any, **options: Any) -> Any:
        c = info.context

        async def go() -> Any:
            values = list(args)
            if model_cls is not None:
                values[-1] = to_model(values[-1], model_cls)
            return await use_case(c.ctx, c.principal, *values, **options)

        return await attempt(go())

    return run


def result(cls: Any, name: str) -> Any:
    """A mutation's answer: the object or a Problem."""
    return Annotated[cls | Problem, strawberry.union(name)]


# ---------------------------------------------------------------- types from the service models


def _gql_type(annotation: Any) -> Any:
    """The pydantic field annotation as a Strawberry annotation (dict -> JSON)."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        args = [_gql_type(a) for a in typing.get_args(annotation) if a is not type(None)]
        inner = args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
        return inner | None if type(None) in typing.get_args(annotation) else inner
    if origin is Annotated:
        return _gql_type(typing.get_args(annotation)[0])
    if origin is typing.Literal:  # a response field's fixed values (api/services/common.py): a String
        return str
    if origin is list:
        return list[_gql_type(typing.get_args(annotation)[0])]
    if origin is dict or annotation is dict:
        return JSON
    if annotation is EmailStr:
        return str
    if annotation is AwareDatetime:
        return datetime
    return _GENERATED.get(annotation, annotation)


def _as_json(name: str, annotation: Any) -> Callable:
    """A JSON field's value as JSON has it: a dict of the model may hold models (a scoring run's win
    rates), which the JSON scalar would hand on as they are."""

    def resolve(root: Any) -> Any:
        return to_jsonable_python(getattr(root, name))

    resolve.__annotations__ = {"root": Any, "return": annotation}
    return resolve


# service model -> its generated Strawberry type, for nested fields: a model's nested models are generated
# first (by the module that owns them, imported before)
_GENERATED: dict[Any, type] = {common.FieldProblem: FieldProblem}


def output_type(
    model_cls: type[BaseModel],
    name: str,
    domain_cls: type | None = None,
    extra: dict[str, Any] | None = None,
    skip: tuple[str, ...] = (),
) -> type:
    """A Strawberry type whose values are the domain dataclasses the use cases answer (or the model's own
    instances, without a domain class); `skip`: fields `extra` resolves instead."""
    annotations = {n: _gql_type(f.annotation) for n, f in model_cls.model_fields.items() if n not in skip}
    namespace: dict[str, Any] = {"__annotations__": annotations, **(extra or {})}
    for n, t in annotations.items():
        if JSON in (t, *typing.get_args(t)):
            namespace[n] = strawberry.field(resolver=_as_json(n, t))
    # the model's own instances too: an idempotent replay answers the stored one (api/graphql/idempotency.py)
    accepted = model_cls if domain_cls is None else model_cls | domain_cls
    namespace["is_type_of"] = classmethod(lambda cls, obj, _info: isinstance(obj, cls | accepted))
    generated = strawberry.type(type(name, (), namespace), description=model_cls.__doc__)
    _GENERATED[model_cls] = generated
    return generated


def model_of(generated: type) -> type[BaseModel] | None:
    """The service model an output_type was generated from (None for a type written by hand)."""
    return next((m for m, g in _GENERATED.items() if g is generated and issubclass(m, BaseModel)), None)


def input_type(model_cls: type[BaseModel], name: str) -> type:
    """Every field optional and UNSET by default, so an update knows what was sent; pydantic validates."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for n, f in model_cls.model_fields.items():
        t = _gql_type(f.annotation)
        annotations[n] = (
            t if f.is_required() else (t | None if typing.get_origin(t) is not types.UnionType else t)
        )
        if not f.is_required():
            namespace[n] = strawberry.UNSET
    namespace["__annotations__"] = annotations
    return strawberry.input(type(name, (), namespace))


def to_model(data: Any, model_cls: type[BaseModel]) -> BaseModel:
    """A GraphQL input (or a JSON argument's object) as the use case's pydantic body: the fields sent,
    validated the same way as REST."""
    if isinstance(data, dict):
        values = data
    elif hasattr(data, "__dict__"):
        values = {k: v for k, v in vars(data).items() if v is not strawberry.UNSET}
    else:
        raise ValidationFailed(
            "expected an object", [FieldError("input", Code.INVALID_TYPE, "expected an object")]
        )
    try:
        return model_cls.model_validate(values)
    except PydanticValidationError as exc:
        raise ValidationFailed(
            "the input has invalid fields",
            [
                FieldError(e["field"], e["code"], e["message"])
                for e in field_errors_from_pydantic(exc.errors())
            ],
        )


# ---------------------------------------------------------------- lists


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Connection(Generic[T]):
    # every list that can grow: `first` items `after` a cursor (an endCursor: the REST page token)
    nodes: list[T]
    page_info: PageInfo


def _page_info(token: str | None) -> PageInfo:
    return PageInfo(has_next_page=token is not None, end_cursor=token)


def connection(page: Listed[Any] | common.Page[Any]) -> Connection:
    """A service page (a resource's Listed entities, or a Page model) as a connection."""
    return Connection(nodes=page.items, page_info=_page_info(page.next_page_token))


_PAGE_FIELDS = ("items", "next_page_token")


def page_type(model_cls: type[BaseModel], name: str) -> type:
    """A named page model (one that says more than its items: when it was read, under which settings) as a
    connection: nodes and pageInfo, then the model's other fields."""
    annotations = {"nodes": _gql_type(model_cls.model_fields["items"].annotation), "page_info": PageInfo}
    for n, f in model_cls.model_fields.items():
        if n not in _PAGE_FIELDS:
            annotations[n] = _gql_type(f.annotation)
    generated = strawberry.type(
        type(name, (), {"__annotations__": annotations}), description=model_cls.__doc__
    )
    _PAGE_MODELS[generated] = model_cls
    return generated


_PAGE_MODELS: dict[type, type[BaseModel]] = {}  # a page_type -> its page model


def page_of(page: common.Page[Any], page_cls: type) -> Any:
    """A service page (an instance of the page model `page_cls` was made from) as that page_type."""
    model_cls = _PAGE_MODELS[page_cls]
    extra = {n: getattr(page, n) for n in model_cls.model_fields if n not in _PAGE_FIELDS}
    return page_cls(nodes=page.items, page_info=_page_info(page.next_page_token), **extra)
