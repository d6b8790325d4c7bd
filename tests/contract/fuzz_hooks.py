"""Schemathesis hooks for tests/contract/fuzz.py: the fuzzer sends requests as a client would."""

from __future__ import annotations

import itertools
from typing import Any

import schemathesis

_fresh = itertools.count()


@schemathesis.hook
def map_headers(ctx: Any, headers: dict[str, str] | None) -> dict[str, str] | None:
    """A client sends a new Idempotency-Key with each new request; the fuzzer draws keys from a small pool
    and reuses them with other requests, which the contract answers 422 idempotency_key_reused (or, with
    the same request, the first answer again, naming a resource deleted since). A drawn key (1 to 255
    printable characters) is made unique as it is drawn, keeping its length; an empty or overlong one is
    left as drawn, for the checks that send bad keys on purpose."""
    key = (headers or {}).get("Idempotency-Key", "")
    if headers is not None and 0 < len(key) <= 255 and key.isprintable():
        unique = f"fuzz-{next(_fresh)}-"
        headers["Idempotency-Key"] = (unique + key)[: max(len(key), len(unique))]
    return headers


@schemathesis.hook
def map_query(ctx: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
    """A NUL character in a query string is refused at the edge for every request, 422 nul_character
    (PostgreSQL cannot store it; tests/api/test_limits.py holds it): drawn query text is sent without NUL
    characters, so page tokens and filters are fuzzed with text the contract takes."""
    if not query:
        return query
    return {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in query.items()}
