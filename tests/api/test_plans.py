"""Plans: one active plan, activation archives the old one, atomically under lookups and all or nothing."""

import asyncio

import pytest

from tests import factories as f


async def test_one_active_plan_and_activation_archives_the_old(client, tenant):
    first = await f.plan(client, tenant.headers, state="active")
    r = await client.post("/v1/plans", json={"name": "second", "state": "active"}, headers=tenant.headers)
    assert r.status_code == 409 and r.json()["code"] == "active_plan_exists"
    draft = await f.plan(client, tenant.headers)
    r = await client.post(f"/v1/plans/{draft['id']}/activate", headers=tenant.headers)
    assert r.json()["state"] == "active"
    old = (await client.get(f"/v1/plans/{first['id']}", headers=tenant.headers)).json()
    assert old["state"] == "archived" and old["archived_at"] is not None
    r = await client.delete(f"/v1/plans/{first['id']}", headers=tenant.headers)
    assert r.status_code == 409 and r.json()["code"] == "plan_not_draft"
    r = await client.post(f"/v1/plans/{first['id']}/activate", headers=tenant.headers)
    assert r.status_code == 409 and r.json()["code"] == "plan_archived"


@pytest.mark.pg_only
async def test_activation_is_atomic_under_concurrent_lookups(client, tenant, engine):
    """Lookups running while a plan is activated see the old owner or the new one, never none; a failed
    activation leaves the old plan active and records nothing."""
    owned = await f.owned_account(client, tenant.headers)
    ext, old_rep = owned["account"]["external_id"], owned["rep"]["id"]
    new_rep, draft = await f.draft_giving_it_to_a_new_rep(client, tenant.headers, owned)
    seen, after_activation = [], []
    stop, activated, answered = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def look():
        while not stop.is_set():
            asked_after = activated.is_set()  # a lookup asked before the answer may still see the old owner
            r = await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)
            owner = r.json().get("rep", {}).get("id") if r.status_code == 200 else r.status_code
            (after_activation if asked_after else seen).append(owner)
            if len(after_activation) >= 4:
                answered.set()

    lookers = [asyncio.create_task(look()) for _ in range(4)]
    await asyncio.sleep(0.05)
    assert (await client.post(f"/v1/plans/{draft['id']}/activate", headers=tenant.headers)).status_code == 200
    activated.set()
    async with asyncio.timeout(30):  # until some lookups were asked after the answer (slow under load)
        await answered.wait()
    stop.set()
    await asyncio.gather(*lookers)
    assert set(seen) <= {old_rep, new_rep["id"]}
    assert after_activation and set(after_activation) == {new_rep["id"]}
    after = (await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json()
    assert after["rep"]["id"] == new_rep["id"]


async def test_a_failed_activation_changes_nothing(client, tenant, monkeypatch):
    owned = await f.owned_account(client, tenant.headers)
    new_rep, draft = await f.draft_giving_it_to_a_new_rep(client, tenant.headers, owned)
    from persistence import history

    async def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(history, "plan_owners", broken)
    r = await client.post(f"/v1/plans/{draft['id']}/activate", headers=tenant.headers)
    assert r.status_code == 500 and r.json()["code"] == "internal_error"
    plans = {
        p["id"]: p["state"] for p in (await client.get("/v1/plans", headers=tenant.headers)).json()["items"]
    }
    assert plans[owned["plan"]["id"]] == "active" and plans[draft["id"]] == "draft"
    ext = owned["account"]["external_id"]
    assert (await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json()["rep"]["id"] == owned[
        "rep"
    ]["id"]
    assert len(await f.ownership_history(client, tenant.headers, owned["account"]["id"])) == 1
