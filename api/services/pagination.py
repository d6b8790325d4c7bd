"""Opaque keyset page tokens, used by every list."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from domain.defaults import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from domain.errors import DomainError, FieldError

T = TypeVar("T")


class InvalidPageToken(DomainError):
    code = "invalid_page_token"


def encode_cursor(**fields: str) -> str:
    """An opaque page token holding the keyset position after which the next page starts."""
    raw = json.dumps({"v": 1, **fields}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None, parse: Callable[[dict[str, Any]], T]) -> T | None:
    """The position in a token made by `encode_cursor`, read by `parse`; a token that is not one is an
    InvalidPageToken naming `page_token`."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        return parse(json.loads(base64.urlsafe_b64decode(padded.encode())))
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidPageToken(
            "the page token is not valid",
            [FieldError("page_token", "invalid_page_token", "use a next_page_token from a previous page")],
        )


def encode_token(last_id: UUID) -> str:
    return encode_cursor(after=str(last_id))


def decode_token(token: str | None) -> UUID | None:
    return decode_cursor(token, lambda data: UUID(data["after"]))


def check_page_size(page_size: int | None) -> int:
    size = DEFAULT_PAGE_SIZE if page_size is None else page_size
    if not 1 <= size <= MAX_PAGE_SIZE:
        from domain.errors import ValidationFailed

        raise ValidationFailed(
            "invalid page size",
            [FieldError("page_size", "out_of_range", f"page_size must be between 1 and {MAX_PAGE_SIZE}")],
        )
    return size


async def fetch_page(
    repo: Any, filters: dict[str, Any], page_token: str | None, page_size: int | None
) -> dict:
    """One page of `repo` plus the token of the next, reading one extra row to know if there is more."""
    size = check_page_size(page_size)
    after = decode_token(page_token)
    items: Sequence[Any] = await repo.list(filters, after, size + 1)
    next_token = encode_token(items[size - 1].id) if len(items) > size else None
    return {"items": list(items[:size]), "next_page_token": next_token}
