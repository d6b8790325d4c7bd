"""Small helpers every use case shares: 404s and body references that name the field."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from domain.errors import Conflict, FieldError, NotFound, ValidationFailed

T = TypeVar("T")

NIL = UUID(int=0)


def found(entity: T | None, what: str, entity_id: Any) -> T:
    """A path id that names nothing of this tenant: 404, exactly as if it did not exist anywhere."""
    if entity is None:
        raise NotFound(f"{what} {entity_id} not found")
    return entity


async def referenced(repo: Any, entity_id: UUID | None, field: str, what: str) -> Any:
    """A body reference that names nothing of this tenant: 422 naming the field."""
    if entity_id is None:
        return None
    entity = await repo.get(entity_id)
    if entity is None:
        raise ValidationFailed(
            f"{field} does not name a {what}",
            [FieldError(field, "unknown_reference", f"no {what} {entity_id}")],
        )
    return entity


def duplicate_external_id(what: str, external_id: str) -> Conflict:
    return Conflict(
        f"another {what} already has external id {external_id!r}",
        [FieldError("external_id", "duplicate_external_id", "external id already in use")],
        code="duplicate_external_id",
    )
