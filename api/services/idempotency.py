"""Idempotency-Key on POST (docs/http.md), as Stripe does it and the IETF draft names it: the first answer
to a key is stored per tenant and sent again, as it was, to every retry with that key for 24 hours; the
same key with another request is refused; a retry while the first still runs is told so. Nothing is
stored for an answer that did not run the request (it failed validation, authorisation or the server),
so a corrected retry runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from api.services.context import AppContext
from domain.defaults import IDEMPOTENCY_CLAIM_MINUTES, IDEMPOTENCY_HOURS
from domain.errors import Code, Conflict, FieldError, ValidationFailed

HEADER = "Idempotency-Key"


class KeyReused(ValidationFailed):
    code = Code.IDEMPOTENCY_KEY_REUSED


class RequestRunning(Conflict):
    code = Code.IDEMPOTENT_REQUEST_RUNNING
    retry_after_seconds = 1


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str | None
    location: str | None
    body: bytes
    retry: bool = False  # it says "send it again" (Retry-After): a retry must run, not get this back


# the codes of answers that ask for a retry (their errors carry retry_after_seconds): never stored
RETRY_CODES = frozenset({Code.CONCURRENT_CHANGE, Code.IDEMPOTENT_REQUEST_RUNNING})


def check_key(key: str, field: str = HEADER) -> str:
    """The key, or a refusal naming `field` (the header, or GraphQL's idempotencyKey argument)."""
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ValidationFailed(
            f"the {field} is not valid",
            [FieldError(field, Code.INVALID_VALUE, "1 to 255 printable characters")],
        )
    return key


def stored(status: int) -> bool:
    """Whether an answer ran the request and is replayed: a success, or a refusal on the stored data (404,
    409); not a validation, authorisation or server failure."""
    return status < 400 or status in (404, 409)


async def begin(
    ctx: AppContext, tenant_id: UUID, key: str, fingerprint: str, field: str = HEADER
) -> Answer | None:
    """None: this request holds the key and runs (finish it). An Answer: the first one, to send again. The
    key with another fingerprint is refused naming `field`."""
    now = ctx.clock.now()
    async with ctx.uow(tenant_id) as uow:
        row: Any = await uow.idempotency.claim(
            key,
            fingerprint,
            now,
            now - timedelta(hours=IDEMPOTENCY_HOURS),
            now - timedelta(minutes=IDEMPOTENCY_CLAIM_MINUTES),
        )
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise KeyReused(
            f"this {field} was sent with another request; use a new key for a new request",
            [FieldError(field, Code.IDEMPOTENCY_KEY_REUSED, "the key belongs to another request")],
        )
    if row.status_code is None:
        raise RequestRunning(f"the first request with this {field} is still running; retry shortly")
    return Answer(row.status_code, row.content_type, row.location, row.body or b"")


async def finish(ctx: AppContext, tenant_id: UUID, key: str, answer: Answer | None) -> None:
    """Store the answer for the retries, or release the key when there is nothing to replay."""
    async with ctx.uow(tenant_id) as uow:
        if answer is not None and stored(answer.status) and not answer.retry:
            await uow.idempotency.answer(
                key, answer.status, answer.content_type, answer.location, answer.body
            )
        else:
            await uow.idempotency.release(key)
