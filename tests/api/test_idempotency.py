"""Idempotency-Key on POST, on both databases: a retry gets the first answer again and changes nothing; the
key with another request is refused; a twin still running is told so; a refused request stores nothing."""

from __future__ import annotations

import asyncio

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
