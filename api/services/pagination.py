"""Opaque keyset page tokens, used by every list."""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from domain.defaults import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from domain.errors import Code, DomainError, FieldError

T = TypeVar("T")


@dataclass(frozen=True)
class Listed(Generic[T]):
    """A page of a resource's entities (the domain objects, which GraphQL resolves further) and the token of
    the next page (None on the last one): the fields of `api.services.common.Page`, whose subclass REST
    validates it into (from attributes)."""

    items: list[T]
    next_page_token: str | None


class InvalidPageToken(DomainError):
    code = Code.INVALID_PAGE_TOKEN


@dataclass(frozen=True)
class PageArguments:
    """How the caller's interface names a list's page size and page token, for the errors that refuse them."""

    size: str = "page_size"
    token: str = "page_token"
    token_source: str = "next_page_token"


REST_PAGES = PageArguments()
GRAPHQL_PAGES = PageArguments("first", "after", "endCursor")
_ARGUMENTS: ContextVar[PageArguments] = ContextVar("page_arguments", default=REST_PAGES)


@contextmanager
def page_arguments(names: PageArguments) -> Iterator[None]:
    """Within it, a refused page size or page token names `names`' arguments (REST's outside)."""
    reset = _ARGUMENTS.set(names)
    try:
        yield
    finally:
        _ARGUMENTS.reset(reset)


def encode_cursor(**fields: str) -> str:
    """An opaque page token holding the keyset position after which the next page starts."""
    raw = json.dumps({"v": 1, **fields}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None, parse: Callable[[dict[str, Any]], T]) -> T | None:
    """The position in a token made by `encode_cursor`, read by `parse`; a token that is not one is an
    InvalidPageToken naming the page token argument (`page_token`, or as `page_arguments` says)."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        # a token holds {"v": 1, name: text...}, as encode_cursor writes it: anything else is forged
        if not isinstance(data, dict) or data.get("v") != 1:
            raise ValueError("not a page token")
        if not all(isinstance(v, str) and len(v) <= 100 for k, v in data.items() if k != "v"):
            raise ValueError("not a page token")
        return parse(data)
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        names = _ARGUMENTS.get()
        raise InvalidPageToken(
            "the page token is not valid",
            [
                FieldError(
                    names.token,
                    Code.INVALID_PAGE_TOKEN,
                    f"pass back the {names.token_source} of a previous page",
                )
            ],
        )


def encode_token(last_id: UUID) -> str:
    return encode_cursor(after=str(last_id))


def decode_token(token: str | None) -> UUID | None:
    return decode_cursor(token, lambda data: UUID(data["after"]))


def check_page_size(page_size: int | None) -> int:
    """The page size asked for (the default when none), or a ValidationFailed naming the page size argument
    (`page_size`, or as `page_arguments` says): every list's one limit."""
    size = DEFAULT_PAGE_SIZE if page_size is None else page_size
    if not 1 <= size <= MAX_PAGE_SIZE:
        from domain.errors import ValidationFailed

        name = _ARGUMENTS.get().size
        raise ValidationFailed(
            "invalid page size",
            [FieldError(name, Code.OUT_OF_RANGE, f"{name} must be between 1 and {MAX_PAGE_SIZE}")],
        )
    return size


def page_of(items: Sequence[T], size: int) -> Listed[T]:
    """A page from up to `size` + 1 items in keyset order: the first `size`, and the next page's token when
    there was one more."""
    next_token = encode_token(items[size - 1].id) if len(items) > size else None
    return Listed(list(items[:size]), next_token)


async def fetch_page(
    repo: Any, filters: dict[str, Any], page_token: str | None, page_size: int | None
) -> Listed[Any]:
    """One page of `repo` plus the token of the next, reading one extra row to know if there is more."""
    size = check_page_size(page_size)
    after = decode_token(page_token)
    return page_of(await repo.list(filters, after, size + 1), size)


async def fetch_pages(
    keys: Sequence[tuple[Any, ...]],
    read: Callable[..., Awaitable[Mapping[Hashable, Sequence[Any]]]],
) -> list[Listed[Any]]:
    """Pages of many owners' lists at once, in the order asked. A key is (owner, *arguments, page size,
    page token); `read(owners, *arguments, after, limit)` answers up to `limit` items of each owner, in id
    order after `after`, in one query for all the owners that share the arguments and page."""
    checked = [(*key[:-2], check_page_size(key[-2]), key[-1]) for key in keys]
    groups: dict[tuple, list[Any]] = defaultdict(list)
    for owner, *rest in checked:
        groups[tuple(rest)].append(owner)
    pages: dict[tuple, Listed[Any]] = {}
    for (*arguments, size, token), owners in groups.items():
        found = await read(owners, *arguments, decode_token(token), size + 1)
        for owner in owners:
            pages[(owner, *arguments, size, token)] = page_of(found.get(owner, []), size)
    return [pages[key] for key in checked]
