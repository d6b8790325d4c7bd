"""Territories: the rules of a plan's territory tree."""

from tests import factories as f


async def test_territory_rules(client, tenant):
    p1, p2 = await f.plan(client, tenant.headers), await f.plan(client, tenant.headers)
    t1 = await f.territory(client, tenant.headers, p1["id"])
    r = await client.post(
        "/v1/territories",
        json={"plan_id": p2["id"], "name": "x", "parent_id": t1["id"]},
        headers=tenant.headers,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "other_plan"
    t2 = await f.territory(client, tenant.headers, p1["id"], parent_id=t1["id"])
    r = await client.patch(
        f"/v1/territories/{t1['id']}", json={"parent_id": t2["id"]}, headers=tenant.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "parent_cycle"
    r = await client.post(
        "/v1/territories", json={"plan_id": p1["id"], "name": t1["name"]}, headers=tenant.headers
    )
    assert r.status_code == 409 and r.json()["code"] == "duplicate_name"
    owned = await f.owned_account(client, tenant.headers)
    r = await client.delete(f"/v1/territories/{owned['territory']['id']}", headers=tenant.headers)
    assert r.status_code == 409 and r.json()["code"] == "territory_not_empty"
    assert (await client.delete(f"/v1/territories/{t2['id']}", headers=tenant.headers)).status_code == 204
