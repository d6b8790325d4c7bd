"""The HTTP edge: 405 with Allow for a method a path does not take, HEAD as GET without the body, gzip above
a size (streamed exports too), and CORS for the configured origins only."""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app
from api.config import AppSettings
from tests import factories as f

UI = "https://territories.example.com"


@pytest.fixture
async def cors_client(engine):
    app = create_app(AppSettings(database_url=str(engine.url), cors_origins=[UI]), engine=engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
    await app.state.ctx.ownership.close()
    await app.state.ctx.keys.close()


async def test_a_method_the_path_does_not_take_is_405_naming_the_ones_it_does(client, tenant):
    cases = [
        ("TRACE", "/v1/accounts", "GET, HEAD, POST"),
        ("PUT", "/v1/accounts", "GET, HEAD, POST"),
        ("PATCH", "/v1/accounts/import", "POST"),  # not the {account_id} of its neighbour
        ("DELETE", "/v1/reports/movement", "GET, HEAD"),
        ("OPTIONS", "/v1/plans", "GET, HEAD, POST"),
    ]
    for method, path, allow in cases:
        r = await client.request(method, path, headers=tenant.headers)
        assert (r.status_code, r.headers.get("allow"), r.json()["code"]) == (405, allow, "method_not_allowed")
    # an id that is not one is still the id's problem, and a path nothing serves is still a 404
    r = await client.patch("/v1/accounts/not-an-id", json={}, headers=tenant.headers)
    assert r.status_code == 422
    assert (await client.get("/v1/nothing-here", headers=tenant.headers)).status_code == 404
    # an external id that reads like a sub-path is still an external id
    assert (await client.get("/v1/ownership/lookup", headers=tenant.headers)).status_code == 404


async def test_head_answers_as_get_without_the_body(client, tenant):
    account = await f.account(client, tenant.headers)
    get = await client.get(f"/v1/accounts/{account['id']}", headers=tenant.headers)
    head = await client.head(f"/v1/accounts/{account['id']}", headers=tenant.headers)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
    missing = await client.head("/v1/accounts/00000000-0000-0000-0000-000000000001", headers=tenant.headers)
    assert (missing.status_code, missing.content) == (404, b"")


async def test_large_answers_and_streamed_exports_are_gzipped_for_clients_that_ask(client, tenant):
    rows = [{"external_id": f"gz-{i}", "name": f"Gzip Account {i}"} for i in range(40)]
    assert (await client.post("/v1/accounts/import", json=rows, headers=tenant.headers)).status_code == 200
    plain = await client.get(
        "/v1/accounts?page_size=40", headers={**tenant.headers, "accept-encoding": "identity"}
    )
    packed = await client.get(
        "/v1/accounts?page_size=40", headers={**tenant.headers, "accept-encoding": "gzip"}
    )
    assert "content-encoding" not in plain.headers and packed.headers["content-encoding"] == "gzip"
    assert packed.json() == plain.json()  # httpx undoes the encoding
    assert int(packed.headers["content-length"]) < len(plain.content) / 3
    export = await client.get(
        "/v1/accounts/export?format=csv", headers={**tenant.headers, "accept-encoding": "gzip"}
    )
    assert export.headers["content-encoding"] == "gzip" and export.text.count("gz-") == 40
    small = await client.get("/healthz", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers


async def test_cors_answers_the_configured_origin_only(client, cors_client, tenant):
    preflight = {
        "origin": UI,
        "access-control-request-method": "PATCH",
        "access-control-request-headers": "authorization",
    }
    r = await cors_client.options("/v1/accounts/00000000-0000-0000-0000-000000000001", headers=preflight)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == UI
    assert "PATCH" in r.headers["access-control-allow-methods"]
    r = await cors_client.options("/graphql", headers={**preflight, "access-control-request-method": "POST"})
    assert r.headers["access-control-allow-origin"] == UI
    other = await cors_client.options("/v1/accounts", headers={**preflight, "origin": "https://evil.example"})
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    # a browser's requests carry the header, the lookup's hot path too; the request id can be read
    account = (await f.owned_account(client, tenant.headers))["account"]
    r = await cors_client.get(
        f"/v1/ownership/{account['external_id']}", headers={**tenant.headers, "origin": UI}
    )
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == UI
    assert "x-request-id" in r.headers["access-control-expose-headers"]
    # without configured origins there is no CORS at all: the preflight is a method the path does not take
    r = await client.options("/v1/accounts", headers=preflight)
    assert r.status_code == 405 and "access-control-allow-origin" not in r.headers


async def test_created_answers_say_where_the_new_resource_is(client, tenant):
    r = await client.post(
        "/v1/accounts", json={"external_id": "loc-1", "name": "Located"}, headers=tenant.headers
    )
    assert r.status_code == 201 and r.headers["location"] == f"/v1/accounts/{r.json()['id']}"
    assert (await client.get(r.headers["location"], headers=tenant.headers)).json()["external_id"] == "loc-1"
    owned = await f.owned_account(client, tenant.headers)
    copy = await client.post(f"/v1/plans/{owned['plan']['id']}/copy", headers=tenant.headers)
    assert copy.status_code == 201 and copy.headers["location"] == f"/v1/plans/{copy.json()['id']}"
    hook = await client.post(
        "/v1/webhook-endpoints", json={"url": "https://hooks.example.com/t"}, headers=tenant.headers
    )
    assert (
        hook.status_code == 201 and hook.headers["location"] == f"/v1/webhook-endpoints/{hook.json()['id']}"
    )
    proposal = await client.post(
        f"/v1/plans/{owned['plan']['id']}/rebalance-proposals", headers=tenant.headers
    )
    assert (
        proposal.status_code == 201
        and proposal.headers["location"] == f"/v1/plans/{proposal.json()['plan_id']}"
    )
