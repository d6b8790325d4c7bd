"""Idempotency-Key on POST, on both databases: a retry gets the first answer again and changes nothing; the
key with another request is refused; a twin still running is told so; a refused request stores nothing."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from tests import factories as f


async def _plans(client, tenant) -> list[str]:
    return [p["name"] for p in (await client.get("/v1/plans", headers=tenant.headers)).json()["items"]]


async def test_a_retry_gets_the_first_answer_and_changes_nothing(client, tenant):
    headers = {**tenant.headers, "Idempotency-Key": "plan-1"}
    first = await client.post("/v1/plans", json={"name": "Once"}, headers=headers)
    again = await client.post("/v1/plans", json={"name": "Once"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content and again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert await _plans(client, tenant) == ["Once"]


async def test_concurrent_twins_make_one_plan(client, tenant):
    headers = {**tenant.headers, "Idempotency-Key": "plan-twins"}
    answers = await asyncio.gather(
        *[client.post("/v1/plans", json={"name": "Twin"}, headers=headers) for _ in range(5)]
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, statuses
    running = [r for r in answers if r.status_code == 409]
    assert all(r.json()["code"] == "idempotent_request_running" for r in running)
    assert all(r.headers["retry-after"] == "1" for r in running)
    assert await _plans(client, tenant) == ["Twin"]


async def test_the_key_with_another_request_is_refused(client, tenant):
    headers = {**tenant.headers, "Idempotency-Key": "plan-2"}
    assert (await client.post("/v1/plans", json={"name": "A"}, headers=headers)).status_code == 201
    r = await client.post("/v1/plans", json={"name": "B"}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await _plans(client, tenant) == ["A"]


async def test_a_refused_request_stores_nothing_and_a_corrected_retry_runs(client, tenant):
    headers = {**tenant.headers, "Idempotency-Key": "acct-1"}
    bad = await client.post("/v1/accounts", json={"external_id": "IK"}, headers=headers)
    assert bad.status_code == 422
    # the same request again is refused again (it is run, not replayed), and a corrected one runs
    again = await client.post("/v1/accounts", json={"external_id": "IK"}, headers=headers)
    assert again.status_code == 422 and "idempotent-replayed" not in again.headers
    good = await client.post("/v1/accounts", json={"external_id": "IK", "name": "Keyed"}, headers=headers)
    assert good.status_code == 201


async def test_keys_belong_to_their_tenant(client, tenant, other_tenant):
    for t in (tenant, other_tenant):
        r = await client.post(
            "/v1/plans", json={"name": "Mine"}, headers={**t.headers, "Idempotency-Key": "k"}
        )
        assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert await _plans(client, other_tenant) == ["Mine"]


async def test_a_conflict_is_replayed_and_a_bad_key_is_refused(client, tenant):
    account = await f.account(client, tenant.headers, external_id="DUP-IK")
    headers = {**tenant.headers, "Idempotency-Key": "dup"}
    body = {"external_id": account["external_id"], "name": "Again"}
    first = await client.post("/v1/accounts", json=body, headers=headers)
    again = await client.post("/v1/accounts", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (409, 409) and again.headers[
        "idempotent-replayed"
    ] == "true"
    r = await client.post(
        "/v1/plans", json={"name": "x"}, headers={**tenant.headers, "Idempotency-Key": "a" * 256}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_an_empty_key_is_refused_and_changes_nothing(client, tenant):
    """The fuzzer found it: an empty Idempotency-Key was taken as no key and the plan was made."""
    r = await client.post(
        "/v1/plans", json={"name": "Empty key"}, headers={**tenant.headers, "Idempotency-Key": ""}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert "Empty key" not in await _plans(client, tenant)


async def _claim_made_at(
    app, tenant, key: str, minutes_ago: float, status: int | None = None, fingerprint: str = "x" * 64
) -> None:
    """A key claimed `minutes_ago` (as a request that died before answering leaves it, or answered)."""
    from persistence.idempotency import KEYS

    made = app.state.ctx.clock.now() - timedelta(minutes=minutes_ago)
    async with app.state.ctx.engine.begin() as conn:
        await conn.execute(
            KEYS.insert().values(
                tenant_id=tenant.tenant_id,
                key=key,
                fingerprint=fingerprint,
                status_code=status,
                created_at=made,
            )
        )


async def test_a_claim_whose_request_died_is_taken_over_after_ten_minutes(client, tenant, app):
    body = b'{"name": "Ran"}'
    same = hashlib.sha256(b"/v1/plans\n\n" + body).hexdigest()  # the fingerprint of the POST below
    await _claim_made_at(app, tenant, "died-long-ago", minutes_ago=11, fingerprint=same)
    await _claim_made_at(app, tenant, "still-running", minutes_ago=2, fingerprint=same)

    async def post(key):
        headers = {**tenant.headers, "Idempotency-Key": key, "content-type": "application/json"}
        return await client.post("/v1/plans", content=body, headers=headers)

    assert (await post("died-long-ago")).status_code == 201
    running = await post("still-running")
    assert running.status_code == 409 and running.json()["code"] == "idempotent_request_running"


async def test_expired_keys_are_purged(app, tenant):
    from persistence.idempotency import KEYS, purge_expired

    await _claim_made_at(app, tenant, "old", minutes_ago=25 * 60, status=201)
    await _claim_made_at(app, tenant, "fresh", minutes_ago=1, status=201)
    before = app.state.ctx.clock.now() - timedelta(hours=24)
    assert await purge_expired(app.state.ctx.engine, before) >= 1
    async with app.state.ctx.engine.connect() as conn:
        left = {r.key for r in await conn.execute(KEYS.select().where(KEYS.c.tenant_id == tenant.tenant_id))}
    assert left == {"fresh"}


async def test_get_on_the_batch_lookup_is_405_naming_post(client, tenant):
    """The fuzzer found it: GET /v1/ownership/lookup advertised GET (the path of one account's lookup)."""
    r = await client.request("OPTIONS", "/v1/ownership/lookup", headers=tenant.headers)
    assert r.status_code == 405 and r.headers["allow"] == "POST"
