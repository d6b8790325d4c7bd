"""The change log through the API: one rule for what an ownership change is, indexes kept current by
applying changes (not rebuilt), why an account is owned, and ownership as of any date."""

import asyncio
from datetime import UTC, datetime, timedelta

from api.app import create_app
from api.config import AppSettings
from tests import factories as f


def _worker(engine):
    app = create_app(AppSettings(database_url=str(engine.url)), engine=engine)
    return f.serving(app), app


async def _timeline(client, tenant, ext):
    r = await client.get(f"/v1/ownership/{ext}/timeline", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_a_direct_edit_and_an_activation_record_the_same_territory_only_change(
    client, tenant, other_tenant
):
    """Both former paths go through one rule: a change of territory with the same rep is a change."""
    first = await f.owned_account(client, tenant.headers)
    second = await f.owned_account(client, other_tenant.headers)
    shapes = []
    # path 1: a direct edit in the active plan moves the account to another territory of the same rep
    other = await f.territory(client, tenant.headers, first["plan"]["id"], primary_rep_id=first["rep"]["id"])
    r = await client.patch(
        f"/v1/assignments/{first['assignment']['id']}",
        json={"territory_id": other["id"]},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    shapes.append((await _timeline(client, tenant, first["account"]["external_id"]))[0])
    # path 2 (another tenant): the same edit made in a draft copy, then activated
    tenant = other_tenant
    draft = (await client.post(f"/v1/plans/{second['plan']['id']}/copy", headers=tenant.headers)).json()
    moved = await f.territory(client, tenant.headers, draft["id"], primary_rep_id=second["rep"]["id"])
    (asg,) = (
        await client.get(
            f"/v1/assignments?plan_id={draft['id']}&account_id={second['account']['id']}",
            headers=tenant.headers,
        )
    ).json()["items"]
    await client.patch(
        f"/v1/assignments/{asg['id']}", json={"territory_id": moved["id"]}, headers=tenant.headers
    )
    assert (await client.post(f"/v1/plans/{draft['id']}/activate", headers=tenant.headers)).status_code == 200
    shapes.append((await _timeline(client, tenant, second["account"]["external_id"]))[0])
    for change, owned, to in zip(shapes, (first, second), (other, moved), strict=True):
        assert change["from_rep_id"] == change["to_rep_id"] == owned["rep"]["id"]
        assert (change["from_territory_id"], change["to_territory_id"]) == (
            owned["territory"]["id"],
            to["id"],
        )
        assert change["cause"] == "manual"


async def test_changes_are_applied_to_a_warm_index_without_a_rebuild(client, engine, tenant):
    owned = await f.owned_account(client, tenant.headers)
    ext = owned["account"]["external_id"]
    serving, app = _worker(engine)
    service = app.state.ctx.ownership
    async with serving as w:
        await w.get(f"/v1/ownership/{ext}", headers=tenant.headers)
        await service.wait_for_rebuilds()
        builds, applied = service.builds, service.applied
        current = owned["assignment"]["id"]
        for i in range(4):
            rep = await f.rep(client, tenant.headers, name=f"Rep {i}")
            current = (
                await client.patch(
                    f"/v1/assignments/{current}",
                    json={"rep_id": rep["id"], "note": f"n{i}"},
                    headers=tenant.headers,
                )
            ).json()["id"]
            got = (await w.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json()
            assert (got["rep"]["name"], got["why"]["reason"]) == (f"Rep {i}", f"n{i}")
        await client.patch(
            f"/v1/accounts/{owned['account']['id']}",
            json={"external_id": ext + "-new"},
            headers=tenant.headers,
        )
        assert (await w.get(f"/v1/ownership/{ext}", headers=tenant.headers)).status_code == 404
        assert (await w.get(f"/v1/ownership/{ext}-new", headers=tenant.headers)).json()["rep"][
            "name"
        ] == "Rep 3"
        assert service.builds == builds and service.applied >= applied + 9  # 4 reps, 4 owners, 1 account
        # a plan switch is followed by a whole build
        draft = (await client.post(f"/v1/plans/{owned['plan']['id']}/copy", headers=tenant.headers)).json()
        await client.post(f"/v1/plans/{draft['id']}/activate", headers=tenant.headers)
        assert (await w.get(f"/v1/ownership/{ext}-new", headers=tenant.headers)).json()["plan_id"] == draft[
            "id"
        ]
        await service.wait_for_rebuilds()
        assert service.builds == builds + 1


async def test_rules_say_why_the_rep_owns_the_account(client, tenant):
    rep = await f.rep(client, tenant.headers, name="James Okafor")
    plan = await f.plan(client, tenant.headers)
    await f.territory(
        client,
        tenant.headers,
        plan["id"],
        name="East 2",
        primary_rep_id=rep["id"],
        boundary={"rules": [{"field": "region", "op": "eq", "value": "East"}]},
    )
    account = await f.account(client, tenant.headers, region="East")
    await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=tenant.headers)
    await client.post(f"/v1/plans/{plan['id']}/activate", headers=tenant.headers)
    got = (await client.get(f"/v1/ownership/{account['external_id']}", headers=tenant.headers)).json()
    assert got["why"] == {"cause": "rule", "reason": "boundary of East 2: region = East"}
    (change,) = await _timeline(client, tenant, account["external_id"])
    assert (change["cause"], change["reason"], change["plan_id"]) == (
        "rule",
        got["why"]["reason"],
        plan["id"],
    )


async def test_as_of_answers_what_a_lookup_answered_at_that_time(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    ext = owned["account"]["external_id"]
    seen = []  # (time, answer) after each change
    await asyncio.sleep(0.01)
    seen.append(
        (datetime.now(UTC), (await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json())
    )
    current = owned["assignment"]["id"]
    for i in range(3):
        rep = await f.rep(client, tenant.headers, name=f"Owner {i}")
        current = (
            await client.patch(
                f"/v1/assignments/{current}", json={"rep_id": rep["id"]}, headers=tenant.headers
            )
        ).json()["id"]
        await client.patch(
            f"/v1/accounts/{owned['account']['id']}", json={"name": f"Acme {i}"}, headers=tenant.headers
        )
        await asyncio.sleep(0.01)
        seen.append(
            (datetime.now(UTC), (await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json())
        )
    await client.delete(f"/v1/assignments/{current}", headers=tenant.headers)
    await asyncio.sleep(0.01)
    seen.append(
        (datetime.now(UTC), (await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json())
    )
    for at, answer in seen:
        r = await client.get(f"/v1/ownership/{ext}", params={"as_of": at.isoformat()}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert r.json() == answer
    batch = await client.post(
        "/v1/ownership/lookup",
        json={"external_ids": [ext, "ghost"], "as_of": seen[1][0].isoformat()},
        headers=tenant.headers,
    )
    assert [a["status"] for a in batch.json()["results"]] == ["owned", "not_found"]
    assert batch.json()["results"][0] == seen[1][1]
    before = (seen[0][0] - timedelta(days=1)).isoformat()
    r = await client.get(f"/v1/ownership/{ext}", params={"as_of": before}, headers=tenant.headers)
    assert r.status_code == 404
    bad = await client.get(f"/v1/ownership/{ext}", params={"as_of": "2026-03-31"}, headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "as_of"
    q = """query($e: [String!]!, $t: DateTime) {
             ownership(externalIds: $e, asOf: $t) { repName cause seq } }"""
    gql = await client.post(
        "/graphql",
        json={"query": q, "variables": {"e": [ext], "t": seen[2][0].isoformat()}},
        headers=tenant.headers,
    )
    assert gql.json()["data"]["ownership"] == [
        {"repName": "Owner 1", "cause": "manual", "seq": seen[2][1]["seq"]}
    ]


async def test_the_memory_budget_drops_the_least_recently_used_tenant(client, engine, tenant, other_tenant):
    first = await f.owned_account(client, tenant.headers)
    second = await f.owned_account(client, other_tenant.headers)
    settings = AppSettings(database_url=str(engine.url), ownership_memory_mb=1, ownership_rebuild_interval=0)
    app = create_app(settings, engine=engine)
    service = app.state.ctx.ownership
    async with f.serving(app) as w:
        for owned, keys in ((first, tenant), (second, other_tenant)):
            await w.get(f"/v1/ownership/{owned['account']['external_id']}", headers=keys.headers)
            await service.wait_for_rebuilds()
            # room for one tenant's index, not two (as ownership_memory_mb sets it)
            service.memory_budget = int(service._indexes[keys.tenant_id].nbytes * 1.5)
        assert list(service._indexes) == [other_tenant.tenant_id] and service.evictions == 1
        # the dropped tenant is answered from SQL, rightly, and rebuilt (dropping the other)
        got = await w.get(f"/v1/ownership/{first['account']['external_id']}", headers=tenant.headers)
        assert got.json()["rep"]["id"] == first["rep"]["id"]
        await service.wait_for_rebuilds()
        assert list(service._indexes) == [tenant.tenant_id]
        assert service.memory()["bytes"] <= service.memory()["budget"]


async def test_a_worker_far_behind_builds_anew(client, engine, tenant):
    owned = await f.owned_account(client, tenant.headers)
    ext = owned["account"]["external_id"]
    app = create_app(AppSettings(database_url=str(engine.url), ownership_catch_up_limit=3), engine=engine)
    service = app.state.ctx.ownership
    service.listen = False  # else NOTIFY keeps it current as the changes come
    async with f.serving(app) as w:
        await w.get(f"/v1/ownership/{ext}", headers=tenant.headers)
        await service.wait_for_rebuilds()
        builds = service.builds
        for i in range(5):
            await client.patch(
                f"/v1/accounts/{owned['account']['id']}", json={"name": f"N{i}"}, headers=tenant.headers
            )
        got = (await w.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json()
        assert got["account"]["name"] == "N4"  # answered from SQL meanwhile
        await service.wait_for_rebuilds()
        assert service.builds == builds + 1
