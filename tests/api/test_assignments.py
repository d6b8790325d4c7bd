"""Assignments over REST and GraphQL: one owner per account, role and plan, with history; assignment by
boundary rules (highest priority wins, locked owners kept, history kept, other tenants untouched)."""

from tests import factories as f


def rule(field, op, value):
    return {"field": field, "op": op, "value": value}


async def test_bad_boundaries_are_refused_naming_the_rule(client, tenant):
    plan = await f.plan(client, tenant.headers)
    body = {"plan_id": plan["id"], "name": "X", "boundary": {"rules": [rule("employees", "prefix", "1")]}}
    r = await client.post("/v1/territories", json=body, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["code"] == "invalid_boundary"
    assert r.json()["errors"][0]["field"] == "boundary.rules[0].op"
    t = await f.territory(client, tenant.headers, plan["id"])
    bad = {"boundary": {"rules": [rule("planet", "eq", "mars")]}}
    r = await client.patch(f"/v1/territories/{t['id']}", json=bad, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "boundary.rules[0].field"


async def test_assign_by_rules_places_lists_and_keeps_history(client, tenant, other_tenant):
    east_rep, west_rep, key_rep = [await f.rep(client, tenant.headers) for _ in range(3)]
    plan = await f.plan(client, tenant.headers)
    mk = f.territory
    east = await mk(
        client,
        tenant.headers,
        plan["id"],
        name="East",
        primary_rep_id=east_rep["id"],
        boundary={"rules": [rule("region", "eq", "east")]},
    )
    west = await mk(
        client,
        tenant.headers,
        plan["id"],
        name="West",
        primary_rep_id=west_rep["id"],
        boundary={"rules": [rule("region", "eq", "west"), rule("employees", "between", [0, 5000])]},
    )
    await mk(
        client,
        tenant.headers,
        plan["id"],
        name="Finance",
        primary_rep_id=key_rep["id"],
        boundary={"rules": [rule("industry", "eq", "finance")]},
    )
    key = await mk(
        client,
        tenant.headers,
        plan["id"],
        name="Key",
        primary_rep_id=key_rep["id"],
        priority=5,
        boundary={"named_accounts": ["K1"]},
    )
    await mk(
        client,
        tenant.headers,
        plan["id"],
        name="Vacant",
        priority=9,
        boundary={"rules": [rule("postal_code", "prefix", ["99"])]},
    )
    await f.imported(
        client,
        tenant.headers,
        [
            {"external_id": "E1", "name": "e1", "region": "east"},
            {"external_id": "W1", "name": "w1", "region": "west", "employees": 300},
            {"external_id": "W2", "name": "w2", "region": "west", "employees": 9000},  # too big for West
            {"external_id": "K1", "name": "k1", "region": "east"},  # named: Key wins on priority
            {"external_id": "C1", "name": "c1", "region": "east", "industry": "finance"},  # East vs Finance
            {"external_id": "V1", "name": "v1", "region": "east", "postal_code": "99001"},
        ],
    )
    await f.imported(
        client, other_tenant.headers, [{"external_id": "E1", "name": "theirs", "region": "east"}]
    )
    r = await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=tenant.headers)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["accounts"], result["assigned"], result["moved"]) == (6, 4, 0)
    # the tie between East and Finance is decided by the policy's tiebreak, never left without an owner
    assert result["by_rule"] == {"boundary": 2, "named_account": 1, "tiebreak": 1}
    assert [a["external_id"] for a in result["unmatched"]["accounts"]] == ["W2"]
    (conflict,) = result["conflicts"]["accounts"]
    assert conflict["external_id"] == "C1"
    assert {t["name"] for t in conflict["territories"]} == {"East", "Finance"}
    assert [a["external_id"] for a in result["territories_without_owner"]["accounts"]] == ["V1"]

    async def owner(ext):
        acc = (await client.get(f"/v1/accounts/by-external-id/{ext}", headers=tenant.headers)).json()
        page = (
            await client.get(
                f"/v1/assignments?plan_id={plan['id']}&account_id={acc['id']}", headers=tenant.headers
            )
        ).json()
        return [(a["territory_id"], a["rep_id"], a["reason"]) for a in page["items"]]

    assert await owner("E1") == [(east["id"], east_rep["id"], "rule")]
    assert await owner("W1") == [(west["id"], west_rep["id"], "rule")]
    assert await owner("K1") == [(key["id"], key_rep["id"], "rule")]
    # run again: nothing moves
    again = (await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=tenant.headers)).json()
    assert (again["assigned"], again["moved"], again["unchanged"]) == (0, 0, 4)
    # a boundary change moves W1 to East; a locked assignment stays
    e1 = (await client.get("/v1/accounts/by-external-id/E1", headers=tenant.headers)).json()
    current = (
        await client.get(
            f"/v1/assignments?plan_id={plan['id']}&account_id={e1['id']}", headers=tenant.headers
        )
    ).json()
    await client.patch(
        f"/v1/assignments/{current['items'][0]['id']}", json={"locked": True}, headers=tenant.headers
    )
    await client.patch(
        f"/v1/territories/{east['id']}",
        json={
            "priority": 1,
            "boundary": {"rules": [rule("region", "in", ["east", "west"])]},
            "primary_rep_id": west_rep["id"],
        },
        headers=tenant.headers,
    )
    third = (await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=tenant.headers)).json()
    assert third["locked"] == 1 and third["moved"] >= 1
    assert await owner("W1") == [(east["id"], west_rep["id"], "rule")]
    assert (await owner("E1"))[0][1] == east_rep["id"]  # locked: still the old owner
    # the other tenant's account with the same external id was never touched
    theirs = (await client.get("/v1/accounts/by-external-id/E1", headers=other_tenant.headers)).json()
    mine = (
        await client.get(f"/v1/assignments?account_id={theirs['id']}", headers=other_tenant.headers)
    ).json()
    assert mine["items"] == []


async def test_only_a_draft_plan_is_assigned_by_rules(client, tenant, other_tenant):
    plan = await f.plan(client, tenant.headers, state="active")
    r = await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=tenant.headers)
    assert r.status_code == 409 and r.json()["code"] == "plan_not_draft"
    draft = await f.plan(client, tenant.headers)
    r = await client.post(f"/v1/plans/{draft['id']}/assign-by-rules", headers=other_tenant.headers)
    assert r.status_code == 404
    r = await client.post(f"/v1/plans/{draft['id']}/assign-by-rules", headers=tenant.read_headers)
    assert r.status_code == 403


async def test_graphql_assign_by_rules(client, tenant):
    rep = await f.rep(client, tenant.headers)
    plan = await f.plan(client, tenant.headers)
    await f.territory(
        client,
        tenant.headers,
        plan["id"],
        primary_rep_id=rep["id"],
        boundary={"rules": [rule("country", "in", ["US"])]},
    )
    await f.imported(
        client,
        tenant.headers,
        [
            {"external_id": "U1", "name": "u", "country": "US"},
            {"external_id": "F1", "name": "f", "country": "FR"},
        ],
    )
    m = """mutation($p: UUID!) { assignByRules(planId: $p) { __typename
             ... on AssignByRules { assigned unmatched { count accounts { externalId } } }
             ... on Problem { code } } }"""
    r = await client.post(
        "/graphql", json={"query": m, "variables": {"p": plan["id"]}}, headers=tenant.headers
    )
    got = r.json()["data"]["assignByRules"]
    assert got["assigned"] == 1 and got["unmatched"] == {"count": 1, "accounts": [{"externalId": "F1"}]}
    r = await client.post(
        "/graphql", json={"query": m, "variables": {"p": plan["id"]}}, headers=tenant.read_headers
    )
    assert r.json()["data"]["assignByRules"] == {"__typename": "Problem", "code": "forbidden"}


async def test_one_owner_per_account_role_and_plan_with_history(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    second = await f.rep(client, tenant.headers)
    body = {
        "plan_id": owned["plan"]["id"],
        "account_id": owned["account"]["id"],
        "rep_id": second["id"],
        "role": "AE",
    }
    r = await client.post("/v1/assignments", json=body, headers=tenant.headers)
    assert r.status_code == 409 and r.json()["code"] == "owner_exists"
    csm = await client.post("/v1/assignments", json={**body, "role": "CSM"}, headers=tenant.headers)
    assert csm.status_code == 201
    old_id = owned["assignment"]["id"]
    r = await client.patch(
        f"/v1/assignments/{old_id}",
        json={"rep_id": second["id"], "reason": "rebalance"},
        headers=tenant.headers,
    )
    successor = r.json()
    assert (
        successor["id"] != old_id
        and successor["rep_id"] == second["id"]
        and successor["reason"] == "rebalance"
    )
    assert successor["territory_id"] == owned["territory"]["id"]
    ended = (await client.get(f"/v1/assignments/{old_id}", headers=tenant.headers)).json()
    assert ended["valid_to"] is not None
    history = (
        await client.get(
            "/v1/assignments",
            params={"account_id": owned["account"]["id"], "role": "AE", "current": "false"},
            headers=tenant.headers,
        )
    ).json()
    assert {a["id"] for a in history["items"]} == {old_id, successor["id"]}
    r = await client.patch(f"/v1/assignments/{old_id}", json={"note": "x"}, headers=tenant.headers)
    assert r.status_code == 409 and r.json()["code"] == "assignment_ended"
