"""Small helpers every use case shares: 404s and body references that name the field."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Collection, Hashable, Sequence
from copy import copy
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from domain.changes import Cause
from domain.defaults import INT32, MAX_MONEY, apply_overrides
from domain.errors import Code, Conflict, FieldError, NotFound, ValidationFailed
from domain.model import PlanState, RampStatus, RepRole, Scope, TerritoryType
from domain.preconditions import Precondition, check_precondition

if TYPE_CHECKING:
    from api.services.context import AppContext, Principal

ExternalId = Annotated[str, Field(min_length=1, max_length=255)]


# A domain enum's values as a Literal, for a response field: the contract lists them (a generated client
# gets an enum) while GraphQL keeps such a field a String, as it was (api/graphql/common.py, _gql_type).
RepRoleValue = Literal[tuple(r.value for r in RepRole)]  # type: ignore[valid-type]
RampStatusValue = Literal[tuple(r.value for r in RampStatus)]  # type: ignore[valid-type]
PlanStateValue = Literal[tuple(s.value for s in PlanState)]  # type: ignore[valid-type]
TerritoryTypeValue = Literal[tuple(t.value for t in TerritoryType)]  # type: ignore[valid-type]
CauseValue = Literal[tuple(c.value for c in Cause)]  # type: ignore[valid-type]


Name = Annotated[str, Field(min_length=1, max_length=255)]


Money = Annotated[float, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)]
Int32 = Annotated[int, Field(ge=-INT32 - 1, le=INT32)]
Rate = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, description="a share, 0-1")]


Version = Annotated[
    int,
    Field(
        description="1 when created, one more with every change; the ETag names it, and If-Match (GraphQL: "
        "expectedVersion) takes it to refuse a change made against an older one"
    ),
]


Signal = Annotated[float, Field(ge=0, le=100, description="0-100")]


@functools.cache
def _leaf_types(annotation: Any) -> frozenset[Any]:
    """The plain types a field's annotation allows at its top level (through Optional, unions and
    Annotated; not inside lists)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return frozenset().union(*(_leaf_types(a) for a in typing.get_args(annotation)))
    return frozenset({annotation}) if isinstance(annotation, type) else frozenset()


def _iso_only(value: Any) -> Any:
    """A date or a time given as ISO 8601 text: a number (epoch seconds, or text that reads as one) is
    refused, where pydantic's lax mode would take it."""
    text = value if isinstance(value, str) else None
    if (isinstance(value, int | float) and not isinstance(value, bool)) or (text and _reads_as_number(text)):
        raise PydanticCustomError(Code.INVALID_TYPE, "expected an ISO 8601 date or time, not a number")
    return value


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# dates and times in queries (Input holds bodies to the same rule)
IsoDate = Annotated[date, BeforeValidator(_iso_only)]
IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]
IsoAwareDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]


def holds_nul(value: Any) -> bool:
    """Whether a value (or any text inside it) holds a NUL character, which PostgreSQL cannot store."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(holds_nul(v) for v in value)
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    return False


class Input(BaseModel):
    """Bodies reject unknown and read-only fields instead of ignoring them, numbers that are not finite,
    and text holding a NUL character (each named by its field)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_coercion(cls, value: Any, info: ValidationInfo) -> Any:
        """JSON's types as the contract states them: no true or false for a number, no number for a date,
        no text for a number (pydantic's lax mode would take each)."""
        kinds = _leaf_types(cls.model_fields[info.field_name].annotation) if info.field_name else set()
        numbers = kinds & {int, float}
        if isinstance(value, bool) and numbers and bool not in kinds:
            raise PydanticCustomError(Code.INVALID_TYPE, "expected a number, not true or false")
        if kinds & {date, datetime} and not numbers:
            _iso_only(value)
        if isinstance(value, str) and numbers and str not in kinds:
            raise PydanticCustomError(Code.INVALID_TYPE, "expected a number, not text")
        flags_only = bool in kinds and not numbers and str not in kinds
        if flags_only and not isinstance(value, bool) and isinstance(value, int | float | str):
            raise PydanticCustomError(Code.INVALID_TYPE, "expected true or false")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if holds_nul(value):
            raise PydanticCustomError(Code.NUL_CHARACTER, "text cannot hold a NUL character")
        return value


def drop_null(schema: dict[str, Any]) -> None:
    """A PATCH field that may be left out but not sent as null: the contract says so (the body's model
    takes None as "not sent", which would otherwise show as null allowed)."""
    alternatives = schema.get("anyOf")
    if alternatives:
        kept = [a for a in alternatives if a.get("type") != "null"]
        del schema["anyOf"]
        if len(kept) == 1:
            schema.update(kept[0])
        else:
            schema["anyOf"] = kept
    schema.pop("default", None)


def not_null(**constraints: Any) -> Any:
    """A PATCH field left out when not sent and refused as null (with null_not_allowed)."""
    return Field(None, json_schema_extra=drop_null, **constraints)


def optional_model(name: str, create: type[BaseModel], exclude: Collection[str] = ()) -> type[BaseModel]:
    """The PATCH body of a resource: every field of its create body, optional, same constraints.

    Only the fields sent are changed; null is refused where the create body does not allow it.
    """
    fields: dict[str, Any] = {}
    for field_name, info in create.model_fields.items():
        if field_name in exclude:
            continue
        optional = copy(info)
        optional.default, optional.default_factory = None, None
        if type(None) not in typing.get_args(info.annotation):
            optional.json_schema_extra = drop_null  # null is refused (changes_from)
        fields[field_name] = (info.annotation | None, optional)
    model = create_model(name, __base__=Input, **fields)
    model.__doc__ = "Only the fields sent are changed."
    return model


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """Every list's page: its items and the token of the next page (null on the last one)."""

    items: list[T]
    next_page_token: str | None = Field(description="pass as page_token for the next page; null at the end")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AccountRef(BaseModel):
    id: UUID
    external_id: str
    name: str


class RepRef(BaseModel):
    id: UUID
    name: str
    email: str
    end_date: date | None = Field(None, description="set when the rep leaves")


class TerritoryRef(BaseModel):
    id: UUID
    name: str


class FieldProblem(BaseModel):
    field: str
    code: str
    message: str
    row: int | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable code and per-field errors."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldProblem] = Field(default_factory=list)


class PlanRef(BaseModel):
    plan_id: UUID
    name: str
    state: PlanStateValue


Day = date


NIL = UUID(int=0)


async def plan_or_active(uow: Any, plan_id: UUID | None) -> UUID | None:
    """The plan a request names, else the tenant's active plan; None when it names none and none is active.
    Every "in the active plan unless one is named" reads it here."""
    if plan_id is not None:
        return plan_id
    active = await uow.plans.active()
    return active.id if active is not None else None


def found(entity: T | None, what: str, entity_id: Any) -> T:
    """A path id that names nothing of this tenant: 404, exactly as if it did not exist anywhere."""
    if entity is None:
        raise NotFound(f"{what} {entity_id} not found")
    return entity


async def check_version(uow: Any, precondition: Precondition | None, version: int, what: str) -> None:
    """A change's precondition (If-Match, expectedVersion) against the version just read; a change that
    names none is refused when the tenant requires one (writes.require_if_match). The write itself then
    checks the version again, atomically, so a change made in between is never overwritten."""
    required = precondition is None and apply_overrides(await uow.tenant_settings()).writes.require_if_match
    check_precondition(precondition, version, what, required)


async def referenced(repo: Any, entity_id: UUID | None, field: str, what: str) -> Any:
    """A body reference that names nothing of this tenant: 422 naming the field."""
    if entity_id is None:
        return None
    entity = await repo.get(entity_id)
    if entity is None:
        raise ValidationFailed(
            f"{field} does not name a {what}",
            [FieldError(field, Code.UNKNOWN_REFERENCE, f"no {what} {entity_id}")],
        )
    return entity


def duplicate_external_id(what: str, external_id: str) -> Conflict:
    return Conflict(
        f"another {what} already has external id {external_id!r}",
        [FieldError("external_id", Code.DUPLICATE_EXTERNAL_ID, "external id already in use")],
        code=Code.DUPLICATE_EXTERNAL_ID,
    )


def in_order(found: Sequence[Any], keys: Sequence[Hashable], key: Callable[[Any], Hashable]) -> list[Any]:
    """What a batch read found, one answer a key in the order asked (None where nothing was found)."""
    by_key = {key(e): e for e in found}
    return [by_key.get(k) for k in keys]


async def get_many_of(ctx: AppContext, p: Principal, repository: str, ids: Sequence[UUID]) -> list[Any]:
    """Entities of one of the unit of work's repositories by id, in the order asked (None for an id that
    names none of this tenant's): one query for them all."""
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return in_order(await getattr(uow, repository).get_many(ids), ids, lambda e: e.id)
