"""Rate limits per API key, with the IETF RateLimit header fields (docs/http.md, "Rate limits").

Every request made with a valid key spends one unit of that key's budget: one for a REST call, one for a
GraphQL request (however many fields it asks for), one for an ownership lookup. There are two budgets
(policies): `api` for everything, and `lookup`, a higher one, for `GET /v1/ownership/{external_id}`
(the hot path). A request without a valid key spends nothing (it is a 401 anyway); health, docs and the
OpenAPI document take no key and are never limited.

Every answer to a counted request says where the key stands (draft-ietf-httpapi-ratelimit-headers):

    RateLimit-Policy: "api";q=600;w=60
    RateLimit: "api";r=599;t=42

`q` units a window of `w` seconds, `r` of them left, `t` seconds until the window ends. Past the budget the
answer is 429 `rate_limited` with `Retry-After` (the seconds until the window ends), as problem+json over
REST and in GraphQL's shape on /graphql.

The strategy is the fixed window of the `limits` package (its `FixedWindowRateLimiter` does the same
`incr` on the same key): a window starts at a key's first request and lasts `w` seconds, one counter per
key and window. It is chosen because it is the cheapest: one counter read-and-increment per request, O(1)
memory per key on Redis (a moving window keeps one entry per unit: 60,000 list entries per key for the
lookup budget), and its count is exactly the `r` and `t` of the header fields. Its known cost is a burst:
a client may spend a budget at the end of one window and again at the start of the next.

Storage: in this process's memory by default (`Windows`, the same fixed window in a dict); on Redis with
`TERRITORY_RATE_LIMIT_STORAGE_URL=redis://...` through the `limits` package's storage (redis-py's asyncio
client; one round trip a request, a script doing INCRBY and EXPIRE at once), shared by every worker and
host that names the same server and key prefix. When Redis cannot be reached or does not answer within
`REDIS_TIMEOUT` the request is served (fail open) and a warning logged; Redis is then not asked for
`RETRY_AFTER_FAILURE` seconds, so an outage costs a timeout a second, not one a request. Such answers carry
no RateLimit fields.

Lookups on Redis: instead of a round trip per lookup, a process takes a block of units at once (one
script call for 1/`LOOKUP_BLOCKS` of the budget) and spends them from memory; the Redis counter is then
ahead of what was spent by at most one unspent block per process and key, so a key can be refused up to
that many units early, never admitted past its budget.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import math
import time
import uuid
from typing import Any, NamedTuple

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.storage import storage_from_string

from domain.errors import Code, DomainError

log = logging.getLogger("territory")

API = "api"
LOOKUP = "lookup"
RETRY_AFTER_FAILURE = 1.0  # seconds without asking Redis after it failed
REDIS_TIMEOUT = 0.5  # seconds a connect or a command to Redis may take before the request is served anyway
REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://")
LOOKUP_BLOCKS = 100  # on Redis, a process takes a lookup budget in blocks of 1/LOOKUP_BLOCKS of it
MAX_KEYS = 100_000  # keys whose window this process keeps in memory before dropping the expired ones


class RateLimited(DomainError):
    """The key has spent its budget for this window; `Retry-After` says when the next one starts."""

    code = Code.RATE_LIMITED


def parse_rate(text: str) -> RateLimitItem | None:
    """'600/minute', '10 per second', '1000/hour' (the `limits` notation); '' is no limit. ValueError else."""
    if not text.strip():
        return None
    try:
        item = parse(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a rate such as '600/minute': {exc}") from None
    if item.amount < 1:
        raise ValueError(f"{text!r}: a rate allows at least one request")
    return item


class Quota(NamedTuple):
    """Where one key stands in one policy after a request was counted."""

    policy: str
    limit: int
    window: int
    remaining: int
    reset: int  # seconds until the window ends
    allowed: bool

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-policy", _policy_field(self.policy, self.limit, self.window)),
            (b"ratelimit", f'"{self.policy}";r={self.remaining};t={self.reset}'.encode()),
        ]


@functools.cache
def _policy_field(policy: str, limit: int, window: int) -> bytes:
    """The RateLimit-Policy value: the same on every answer of a policy, so made once."""
    return f'"{policy}";q={limit};w={window}'.encode()


# The request being answered: a list that holds its Quota once it was counted (None: counted, nothing to
# say, e.g. storage down). Set by TerritoryApp for every HTTP request; a request authenticates more than
# once (the idempotency layer, then the route) but is counted once.
COUNTED: contextvars.ContextVar[list[Quota | None] | None] = contextvars.ContextVar("counted", default=None)


class Windows:
    """Fixed windows in this process's memory: key -> [count, when the window ends]. O(1) a request; expired
    windows are dropped when the table reaches MAX_KEYS. (The `limits` package's own async memory storage
    schedules a scan of every key after each increment: 50 us a request with one key, 2.6 ms with 10,000,
    measured here; this table does the same fixed window in about a microsecond.)"""

    def __init__(self) -> None:
        self.windows: dict[tuple[str, uuid.UUID], list[float]] = {}

    def incr(self, key: tuple[str, uuid.UUID], expiry: int) -> tuple[int, float]:
        """Count one for the key: (the window's count, when it ends)."""
        now = time.time()
        window = self.windows.get(key)
        if window is None or window[1] <= now:
            if len(self.windows) >= MAX_KEYS:
                self.windows = {k: w for k, w in self.windows.items() if w[1] > now}
            window = self.windows[key] = [0, now + expiry]
        window[0] += 1
        return int(window[0]), window[1]


class _Block:
    """Lookup units this process took from Redis for one key and window, to spend from memory."""

    __slots__ = ("left", "total", "ends", "taking")

    def __init__(self) -> None:
        self.left = 0  # units taken and not yet spent
        self.total = 0  # the shared counter after the last take: units every process took this window
        self.ends = 0.0  # when the window ends (time.time())
        self.taking: asyncio.Future[None] | None = None


class RateLimiter:
    def __init__(self, rate: str, lookup_rate: str, storage_url: str = "", key_prefix: str = "territory"):
        self.items: dict[str, RateLimitItem | None] = {API: parse_rate(rate), LOOKUP: parse_rate(lookup_rate)}
        url = storage_url.strip()
        self.storage: Storage | None = self._storage(url, key_prefix) if url else None  # None: in memory
        self.memory = Windows()
        self._down_until = 0.0
        self._blocks: dict[str, _Block] = {}
        self._ends_at: dict[str, float] = {}  # key -> when its current window ends, as last read

    @staticmethod
    def _storage(url: str, key_prefix: str) -> Storage:
        """`redis://host:port/db` (or rediss://, redis+unix://) as the `limits` package names it."""
        if not url.startswith(REDIS_SCHEMES):
            raise ValueError("the rate limit storage is a redis:// URL (or rediss://, redis+unix://)")
        return storage_from_string(
            "async+" + url,
            implementation="redispy",  # redis-py's asyncio client: a third of coredis's time a command here
            wrap_exceptions=True,
            key_prefix=key_prefix,
            socket_connect_timeout=REDIS_TIMEOUT,
            socket_timeout=REDIS_TIMEOUT,
        )

    async def admit(self, key_id: uuid.UUID, policy: str = API) -> Quota | None:
        """Count this request against the key's budget; raise RateLimited past it. Called by the key check
        (api.services.context.authenticate_header), once per request whatever it is called."""
        counted = COUNTED.get()
        if counted:
            quota = counted[0]
        else:
            quota = await self.count(key_id, policy)
            if counted is not None:
                counted.append(quota)
        if quota is not None and not quota.allowed:
            refused = RateLimited(
                f"this API key has used its {quota.limit} requests of the '{quota.policy}' budget for "
                f"{quota.window} seconds: retry after {quota.reset} seconds"
            )
            refused.retry_after_seconds = quota.reset
            raise refused
        return quota

    async def count(self, key_id: uuid.UUID, policy: str) -> Quota | None:
        """One unit of `policy` for the key; None when the policy is off or the storage cannot be reached."""
        item = self.items.get(policy)
        if item is None:
            return None
        if time.monotonic() < self._down_until:
            return None
        if self.storage is None:
            used, ends = self.memory.incr((policy, key_id), item.get_expiry())
            return self._quota(policy, item, used, ends)
        key = item.key_for(policy, str(key_id))
        try:
            if policy == LOOKUP and item.amount >= LOOKUP_BLOCKS:
                return await self._from_block(self.storage, item, key, policy)
            used = await self.storage.incr(key, item.get_expiry())
            ends = await self._ends(self.storage, key, used, 1, item)
        except Exception as exc:  # Redis down or timing out: serve the request (fail open)
            self._down_until = time.monotonic() + RETRY_AFTER_FAILURE
            log.warning("rate limits: the storage cannot be reached, requests are served unlimited: %r", exc)
            return None
        return self._quota(policy, item, used, ends)

    async def _ends(self, storage: Storage, key: str, used: int, amount: int, item: RateLimitItem) -> float:
        """When the key's window ends. A window's end is fixed when it opens, so it is read from the storage
        (a second round trip on Redis) only the first time this process sees that window."""
        now = time.time()
        if used == amount:  # this request opened the window
            ends = now + item.get_expiry()
        else:
            ends = self._ends_at.get(key, 0.0)
            if ends <= now:
                ends = await storage.get_expiry(key)
        if len(self._ends_at) >= MAX_KEYS:
            self._ends_at.clear()
        self._ends_at[key] = ends
        return ends

    @staticmethod
    def _quota(policy: str, item: RateLimitItem, used: int, ends: float) -> Quota:
        window, amount = item.get_expiry(), item.amount
        reset = min(window, max(1, math.ceil(ends - time.time())))
        return Quota(policy, amount, window, amount - used if used < amount else 0, reset, used <= amount)

    async def _from_block(self, storage: Storage, item: RateLimitItem, key: str, policy: str) -> Quota | None:
        block = self._blocks.get(key)
        if block is None:
            if len(self._blocks) >= MAX_KEYS:
                self._blocks.clear()
            block = self._blocks[key] = _Block()
        while True:
            now = time.time()
            if block.ends <= now:
                block.left, block.total = 0, 0
            if block.left > 0:
                block.left -= 1
                spent = block.total - block.left  # what the counter would read, units taken one by one
                return self._quota(policy, item, spent, block.ends)
            if block.total >= item.amount and block.ends > now:  # the budget is gone for this window
                return self._quota(policy, item, item.amount + 1, block.ends)
            if block.taking is not None:  # another lookup is taking a block: wait for it
                await asyncio.shield(block.taking)
                if time.monotonic() < self._down_until:  # it failed: served, not asked again
                    return None
                continue
            block.taking = asyncio.get_running_loop().create_future()
            try:
                size = item.amount // LOOKUP_BLOCKS
                total = await storage.incr(key, item.get_expiry(), size)
                ends = await self._ends(storage, key, total, size, item)
                block.total, block.ends = total, ends
                block.left = max(0, min(size, item.amount - (total - size)))
            finally:
                block.taking.set_result(None)
                block.taking = None

    async def close(self) -> None:
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()


def make_limiter(settings: Any) -> RateLimiter | None:
    """The app's limiter from its settings; None when both budgets are off (no counting, no headers)."""
    if not settings.rate_limit.strip() and not settings.rate_limit_lookup.strip():
        return None
    return RateLimiter(
        settings.rate_limit,
        settings.rate_limit_lookup,
        settings.rate_limit_storage_url,
        settings.rate_limit_key_prefix,
    )
