"""`idempotencyKey` on every mutation (docs/http.md): REST's Idempotency-Key with the same store and rules
(api.services.idempotency), kept per mutation rather than per HTTP request, since one document may hold
several mutations.

The first result of a key (the object, or its Problem) is stored per tenant with a fingerprint of the
mutation (its name and every other argument) and answered again, as it was, to every retry with that key
for 24 hours; the retry's selection set then reads it as it reads a first answer (the result's own fields
are the first answer's; relations such as an account's `owner` are read at the retry). The key with
another mutation or other arguments answers the Problem `idempotency_key_reused`, a retry while the first
still runs `idempotent_request_running`. Only results that ran the mutation are kept (success, 404, 409),
so a corrected retry runs. Keys are the tenant's, shared with REST: a fingerprint here never equals a REST
request's, so a key sent to both faces is `idempotency_key_reused` on the second, never a replay in the
other face's shape."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions.field_extension import AsyncExtensionResolver, FieldExtension
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import StrawberryOptional, has_object_definition
from strawberry.types.field import StrawberryField
from strawberry.types.union import StrawberryUnion

from api.graphql.common import FieldProblem, Problem, model_of, problem_of
from api.services import idempotency
from domain.defaults import IDEMPOTENCY_HOURS
from domain.errors import DomainError

ARGUMENT = "idempotencyKey"
log = logging.getLogger("territory")
_PYTHON_NAME = "idempotency_key"
_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class _Codec:
    """How one result type is kept for a replay: to JSON and back to a value its GraphQL type takes."""

    dump: Any
    load: Any


def _model_codec(model_cls: Any) -> _Codec:
    return _Codec(
        dump=lambda value: json.loads(
            model_cls.model_validate(value, from_attributes=True).model_dump_json()
        ),
        load=lambda data: model_cls.model_validate_json(json.dumps(data)),
    )


_PROBLEM = _Codec(
    dump=dataclasses.asdict,
    load=lambda data: Problem(**{**data, "errors": [FieldProblem(**e) for e in data["errors"]]}),
)
_PLAIN = (int, float, str, bool, JSON)


def _plain_codec(cls: Any) -> _Codec | None:
    """A type written by hand whose fields all hold JSON values (Settings): kept field by field."""
    fields = cls.__strawberry_definition__.fields
    for f in fields:
        t = f.type.of_type if isinstance(f.type, StrawberryOptional) else f.type
        if f.base_resolver is not None or t not in _PLAIN:
            return None
    names = [f.python_name for f in fields]
    return _Codec(dump=lambda value: {n: getattr(value, n) for n in names}, load=lambda data: cls(**data))


def _codec(cls: Any) -> _Codec | None:
    if cls is Problem:
        return _PROBLEM
    if not has_object_definition(cls):
        return None
    model_cls = model_of(cls)
    return _model_codec(model_cls) if model_cls is not None else _plain_codec(cls)


def _codecs(field: StrawberryField) -> dict[str, tuple[type, _Codec]]:
    """The result types of a mutation by GraphQL name, each with its codec; a type that cannot be kept is
    refused when the schema is built, not at the first retry."""
    members = field.type.types if isinstance(field.type, StrawberryUnion) else (field.type,)
    found: dict[str, tuple[type, _Codec]] = {}
    for cls in members:
        codec = _codec(cls)
        if codec is None:
            raise TypeError(f"mutation {field.python_name} answers {cls!r}, which a replay cannot keep")
        found[cls.__strawberry_definition__.name] = (cls, codec)
    return found


def _plain(value: Any) -> Any:
    """An argument as JSON for the fingerprint: inputs as their fields sent (an omitted field is not a
    null one), enums as their values, ids and dates as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not strawberry.UNSET
        }
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"an argument of type {type(value).__name__} has no fingerprint")


def fingerprint(mutation: str, arguments: dict[str, Any]) -> str:
    """The mutation and its arguments; its text begins with `graphql`, never with a REST path."""
    text = json.dumps([mutation, _plain(arguments)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(b"graphql\n" + text.encode()).hexdigest()


class Idempotent(FieldExtension):
    """Adds `idempotencyKey: String = null` to a mutation and keeps its result for the key's retries."""

    def apply(self, field: StrawberryField) -> None:
        self.codecs = _codecs(field)
        if all(a.python_name != _PYTHON_NAME for a in field.arguments):
            key = StrawberryArgument(
                python_name=_PYTHON_NAME,
                graphql_name=None,
                type_annotation=StrawberryAnnotation(str | None),
                default=None,
                description=f"a retry with this key gets the first result again ({IDEMPOTENCY_HOURS} hours), "
                "not a second run",
            )
            field.arguments = [*field.arguments, key]

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        key = kwargs.pop(_PYTHON_NAME, None)
        if key is None:
            return await next_(source, info, **kwargs)
        c = info.context
        try:
            tenant_id = c.principal.tenant_id
            key = idempotency.check_key(key, ARGUMENT)
            first = await idempotency.begin(
                c.ctx, tenant_id, key, fingerprint(info.field_name, kwargs), ARGUMENT
            )
        except DomainError as exc:
            return problem_of(exc)
        if first is not None:
            return self._load(first)
        answer = None
        try:
            found = await next_(source, info, **kwargs)
            try:
                answer = self._dump(found)
            except Exception:  # the mutation ran: answer it; only its retries will run it again
                log.exception("%s's result cannot be kept for its idempotencyKey", info.field_name)
            return found
        finally:
            await idempotency.finish(c.ctx, tenant_id, key, answer)

    def _dump(self, found: Any) -> idempotency.Answer:
        name, codec = next((n, k) for n, (cls, k) in self.codecs.items() if _accepts(cls, found))
        status = found.status if isinstance(found, Problem) else 200
        retry = isinstance(found, Problem) and found.code in idempotency.RETRY_CODES
        body = json.dumps({"type": name, "value": codec.dump(found)}).encode()
        return idempotency.Answer(status, _CONTENT_TYPE, None, body, retry=retry)

    def _load(self, first: idempotency.Answer) -> Any:
        stored = json.loads(first.body)
        _, codec = self.codecs[stored["type"]]
        return codec.load(stored["value"])


def _accepts(cls: Any, value: Any) -> bool:
    """Whether the GraphQL type takes the value, as the union resolving the result decides."""
    is_type_of = getattr(cls, "is_type_of", None)
    return is_type_of(value, None) if is_type_of is not None else isinstance(value, cls)


def idempotent(mutation: type, secret: frozenset[str] = frozenset()) -> type:
    """The Mutation type with every field taking `idempotencyKey` (new mutations too: nothing to add), but
    those named in `secret` (Python names): their result holds a secret, which is never stored."""
    for field in mutation.__strawberry_definition__.fields:
        if field.python_name not in secret:
            field.extensions = [*field.extensions, Idempotent()]
    return mutation
