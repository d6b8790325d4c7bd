"""Rate limits per API key (api/ratelimit.py): the RateLimit header fields counting down, 429 with
Retry-After past the budget (problem+json over REST, GraphQL's shape on /graphql), one budget per key, the
lookup's own budget, counters shared through Redis by two app instances, and requests served when Redis
cannot be reached. The Redis tests need Redis on 127.0.0.1:6379 (.ci/run starts it): they fail without it."""

from __future__ import annotations

import logging
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pydantic
import pytest
import redis.asyncio as redis

from api import ratelimit
from api.app import create_app
from api.config import AppSettings
from tests import factories as f

REDIS_URL = "redis://127.0.0.1:6379/0"
RATE = re.compile(r'^"(?P<policy>\w+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


def quota(r: httpx.Response) -> tuple[str, int, int]:
    """(policy, remaining, seconds to reset) from the RateLimit field."""
    found = RATE.match(r.headers["ratelimit"])
    assert found, r.headers["ratelimit"]
    return found["policy"], int(found["r"]), int(found["t"])


@asynccontextmanager
async def limited(engine, **settings) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    app = create_app(AppSettings(database_url=str(engine.url), **settings), engine=engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
    finally:
        ctx = app.state.ctx
        await ctx.ownership.close()
        await ctx.keys.close()
        if ctx.limiter is not None:
            await ctx.limiter.close()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the Redis the tests use, which must answer (never skipped)."""
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2)
    try:
        assert await client.ping()
    except Exception as exc:
        raise RuntimeError(f"Redis is required on 127.0.0.1:6379 (bash .ci/run starts it): {exc!r}") from exc
    prefix = f"territory-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_every_answer_says_the_policy_and_counts_down(engine, tenant):
    async with limited(engine, rate_limit="5/minute") as client:
        seen = []
        for _ in range(3):
            r = await client.get("/v1/accounts", headers=tenant.headers)
            assert r.status_code == 200
            assert r.headers["ratelimit-policy"] == '"api";q=5;w=60'
            policy, remaining, reset = quota(r)
            assert policy == "api" and 1 <= reset <= 60
            seen.append(remaining)
        assert seen == [4, 3, 2]
        # an error answer to a counted request says it too
        r = await client.get(f"/v1/accounts/{uuid.uuid4()}", headers=tenant.headers)
        assert r.status_code == 404 and quota(r)[1] == 1


async def test_past_the_budget_is_429_with_retry_after_and_the_problem(engine, tenant):
    async with limited(engine, rate_limit="3/minute") as client:
        for _ in range(3):
            assert (await client.get("/v1/accounts", headers=tenant.headers)).status_code == 200
        r = await client.get("/v1/accounts", headers=tenant.headers)
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert (body["status"], body["code"], body["title"]) == (429, "rate_limited", "Too many requests")
        assert body["type"].endswith("/rate_limited")
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert quota(r)[1] == 0 and r.headers["ratelimit-policy"] == '"api";q=3;w=60'
        assert int(r.headers["retry-after"]) == quota(r)[2]  # the window's end, in both
        # a write is refused before it runs: nothing was created
        r = await client.post(
            "/v1/accounts", json={"external_id": "rl-1", "name": "No"}, headers=tenant.headers
        )
        assert r.status_code == 429
    async with limited(engine, rate_limit="") as client:
        r = await client.get("/v1/accounts?external_id=rl-1", headers=tenant.headers)
        assert r.json()["items"] == []


async def test_the_next_window_gives_the_whole_budget_again(engine, tenant, monkeypatch):
    clock = {"now": time.time()}

    class Clock:  # the limiter's clock, moved by hand: no test waits for a window to pass
        @staticmethod
        def time() -> float:
            return clock["now"]

        @staticmethod
        def monotonic() -> float:
            return clock["now"]

    monkeypatch.setattr(ratelimit, "time", Clock)
    async with limited(engine, rate_limit="2/minute") as client:
        for _ in range(2):
            assert (await client.get("/v1/accounts", headers=tenant.headers)).status_code == 200
        refused = await client.get("/v1/accounts", headers=tenant.headers)
        assert refused.status_code == 429
        clock["now"] += int(refused.headers["retry-after"])
        r = await client.get("/v1/accounts", headers=tenant.headers)
        assert r.status_code == 200 and quota(r)[1:] == (1, 60)


async def test_each_key_has_its_own_budget(engine, tenant, other_tenant):
    async with limited(engine, rate_limit="2/minute") as client:
        for _ in range(2):
            assert (await client.get("/v1/accounts", headers=tenant.headers)).status_code == 200
        assert (await client.get("/v1/accounts", headers=tenant.headers)).status_code == 429
        # the same tenant's other key, and another tenant's key, are untouched
        for headers in (tenant.read_headers, other_tenant.headers):
            r = await client.get("/v1/accounts", headers=headers)
            assert r.status_code == 200 and quota(r)[1] == 1


async def test_requests_without_a_valid_key_and_health_and_docs_are_not_counted(engine, tenant):
    async with limited(engine, rate_limit="2/minute") as client:
        for headers in ({}, {"Authorization": "Bearer te_not-a-key"}):
            r = await client.get("/v1/accounts", headers=headers)
            assert r.status_code == 401 and "ratelimit" not in r.headers
        for path in ("/healthz", "/readyz", "/openapi.json", "/docs"):
            for _ in range(3):
                r = await client.get(path, headers=tenant.headers)
                assert r.status_code == 200 and "ratelimit" not in r.headers, path
        r = await client.get("/v1/accounts", headers=tenant.headers)
        assert quota(r)[1] == 1  # the key's first counted request


async def test_a_post_with_an_idempotency_key_spends_one_unit_and_so_does_its_replay(engine, tenant):
    async with limited(engine, rate_limit="10/minute") as client:
        headers = {**tenant.headers, "Idempotency-Key": uuid.uuid4().hex}
        body = {"external_id": f.uid(), "name": "Once"}
        first = await client.post("/v1/accounts", json=body, headers=headers)
        assert first.status_code == 201 and quota(first)[1] == 9  # the key checked twice, counted once
        again = await client.post("/v1/accounts", json=body, headers=headers)
        assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
        assert quota(again)[1] == 8


async def test_graphql_counts_one_unit_a_request_and_refuses_in_its_shape(engine, tenant):
    async with limited(engine, rate_limit="2/minute") as client:
        fields = "a: accounts { nodes { id } } b: territories { nodes { id } } c: plans { nodes { id } }"
        query = {"query": "{ " + fields + " }"}
        r = await client.post("/graphql", json=query, headers=tenant.headers)
        assert r.status_code == 200 and "errors" not in r.json(), r.text
        assert quota(r)[:2] == ("api", 1)  # three fields, one request
        assert (await client.get("/v1/accounts", headers=tenant.headers)).status_code == 200
        r = await client.post("/graphql", json=query, headers=tenant.headers)
        assert r.status_code == 429
        assert r.headers["content-type"].startswith("application/json")
        assert 1 <= int(r.headers["retry-after"]) <= 60
        body = r.json()
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "rate_limited"
        assert error["extensions"]["status"] == 429
        assert error["extensions"]["retry_after_seconds"] == int(r.headers["retry-after"])
        assert quota(r)[1] == 0
        # the GraphiQL page itself takes no key and is not counted
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "ratelimit" not in page.headers


async def test_lookups_have_their_own_budget_on_the_fast_path(engine, tenant):
    async with limited(engine, rate_limit="50/minute", rate_limit_lookup="3/minute") as client:
        owned = await f.owned_account(client, tenant.headers)
        external_id = owned["account"]["external_id"]
        remaining = []
        for _ in range(3):
            r = await client.get(f"/v1/ownership/{external_id}", headers=tenant.headers)
            assert r.status_code == 200 and r.json()["status"] == "owned"
            assert r.headers["ratelimit-policy"] == '"lookup";q=3;w=60'
            remaining.append(quota(r)[1])
        assert remaining == [2, 1, 0]
        r = await client.get(f"/v1/ownership/{external_id}", headers=tenant.headers)
        assert (r.status_code, r.json()["code"]) == (429, "rate_limited")
        assert 1 <= int(r.headers["retry-after"]) <= 60 and r.headers["x-request-id"]
        # the api budget is apart: other calls, and a lookup as of a date, still go
        r = await client.get("/v1/accounts", headers=tenant.headers)
        assert r.status_code == 200 and quota(r)[0] == "api"
        r = await client.get(
            f"/v1/ownership/{external_id}", params={"as_of": "2020-01-01T00:00:00Z"}, headers=tenant.headers
        )
        assert r.status_code == 404 and quota(r)[0] == "api"  # it was not there in 2020, and not refused
        batch = {"external_ids": [external_id]}
        r = await client.post("/v1/ownership/lookup", json=batch, headers=tenant.headers)
        assert r.status_code == 200 and quota(r)[0] == "api"  # a batch is one request of the api budget


async def test_turned_off_there_are_no_headers_and_no_limit(engine, tenant):
    async with limited(engine, rate_limit="", rate_limit_lookup="") as client:
        owned = await f.owned_account(client, tenant.headers)
        for _ in range(5):
            r = await client.get("/v1/accounts", headers=tenant.headers)
            assert r.status_code == 200
            assert "ratelimit" not in r.headers and "ratelimit-policy" not in r.headers
            r = await client.get(f"/v1/ownership/{owned['account']['external_id']}", headers=tenant.headers)
            assert r.status_code == 200 and "ratelimit" not in r.headers
    # one budget off, the other still counts
    async with limited(engine, rate_limit="", rate_limit_lookup="5/minute") as client:
        r = await client.get("/v1/accounts", headers=tenant.headers)
        assert "ratelimit" not in r.headers
        r = await client.get(f"/v1/ownership/{owned['account']['external_id']}", headers=tenant.headers)
        assert quota(r)[:2] == ("lookup", 4)


def test_a_rate_that_is_not_one_is_refused_naming_the_setting():
    for field, value in (
        ("rate_limit", "lots"),
        ("rate_limit_lookup", "0/minute"),
        ("rate_limit_storage_url", "memcached://127.0.0.1"),
    ):
        with pytest.raises(pydantic.ValidationError, match=field):
            AppSettings(**{field: value})


async def test_two_app_instances_on_one_redis_share_the_counter(engine, tenant, redis_prefix):
    shared = {
        "rate_limit": "5/minute",
        "rate_limit_storage_url": REDIS_URL,
        "rate_limit_key_prefix": redis_prefix,
    }
    async with limited(engine, **shared) as one, limited(engine, **shared) as two:
        seen = []
        for client in (one, two, one, two, one):
            r = await client.get("/v1/accounts", headers=tenant.headers)
            assert r.status_code == 200
            seen.append(quota(r)[1])
        assert seen == [4, 3, 2, 1, 0]
        for client in (one, two):
            r = await client.get("/v1/accounts", headers=tenant.headers)
            assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    # the counter is on Redis under the prefix, not in either process
    raw = redis.Redis(host="127.0.0.1", port=6379)
    keys = [k async for k in raw.scan_iter(match=f"{redis_prefix}*")]
    await raw.aclose()
    assert len(keys) == 1


async def test_lookups_on_redis_take_blocks_and_never_pass_the_shared_budget(engine, tenant, redis_prefix):
    shared = {
        "rate_limit": "100/minute",
        "rate_limit_lookup": "200/minute",  # blocks of 2 units
        "rate_limit_storage_url": REDIS_URL,
        "rate_limit_key_prefix": redis_prefix,
    }
    async with limited(engine, **shared) as one, limited(engine, **shared) as two:
        owned = await f.owned_account(one, tenant.headers)
        path = f"/v1/ownership/{owned['account']['external_id']}"
        admitted = {"one": 0, "two": 0}
        for i in range(300):
            name, client = ("one", one) if i % 3 else ("two", two)
            r = await client.get(path, headers=tenant.headers)
            assert r.status_code in (200, 429)
            admitted[name] += r.status_code == 200
        assert sum(admitted.values()) == 200 and admitted["two"] > 0
        r = await two.get(path, headers=tenant.headers)
        assert r.status_code == 429 and quota(r)[:2] == ("lookup", 0)


async def test_redis_down_requests_are_served_and_a_warning_logged(engine, tenant, caplog):
    down = f"redis://127.0.0.1:{closed_port()}/0"
    caplog.set_level(logging.WARNING, logger="territory")
    async with limited(engine, rate_limit="1/minute", rate_limit_storage_url=down) as client:
        owned = await f.owned_account(client, tenant.headers)
        for _ in range(3):
            r = await client.get("/v1/accounts", headers=tenant.headers)
            assert r.status_code == 200 and "ratelimit" not in r.headers
            r = await client.get(f"/v1/ownership/{owned['account']['external_id']}", headers=tenant.headers)
            assert r.status_code == 200 and "ratelimit" not in r.headers
            r = await client.post(
                "/graphql", json={"query": "{ plans { nodes { id } } }"}, headers=tenant.headers
            )
            assert r.status_code == 200 and "errors" not in r.json()
    assert any("rate limits" in m and "cannot be reached" in m for m in caplog.messages)


async def test_the_contract_documents_the_429_and_its_headers(client):
    spec = (await client.get("/openapi.json")).json()
    assert set(spec["components"]["headers"]) == {"Retry-After", "RateLimit", "RateLimit-Policy"}
    operations = (("/v1/accounts", "get"), ("/v1/ownership/{external_id}", "get"), ("/v1/plans", "post"))
    for path, method in operations:
        answer = spec["paths"][path][method]["responses"]["429"]
        assert "application/problem+json" in answer["content"]
        assert answer["headers"]["Retry-After"] == {"$ref": "#/components/headers/Retry-After"}
