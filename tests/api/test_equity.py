"""Plan equity (seed 003) and two plans compared."""

from tests import factories as f


def rule(field, op, value):
    return {"field": field, "op": op, "value": value}


async def test_plan_equity_flags_seed_003s_east_and_west(client, tenant, other_tenant):
    """Seed 003: 20 enterprise and 500 SMB accounts; East holds 5 enterprise accounts, West 2."""
    east_rep = await f.rep(client, tenant.headers, quota=1_000_000)
    west_rep = await f.rep(client, tenant.headers, quota=1_000_000, ramp_status="new_hire")
    plan = await f.plan(client, tenant.headers)
    for name, rep, region in (("East", east_rep, "east"), ("West", west_rep, "west")):
        await f.territory(
            client,
            tenant.headers,
            plan["id"],
            name=name,
            primary_rep_id=rep["id"],
            quota=1e6,
            boundary={"rules": [rule("region", "eq", region)]},
        )
    rows = [
        {"external_id": f"ENT-E{i}", "name": "e", "region": "east", "current_arr": 600_000} for i in range(5)
    ]
    rows += [
        {"external_id": f"ENT-W{i}", "name": "w", "region": "west", "current_arr": 600_000} for i in range(2)
    ]
    rows += [
        {"external_id": f"SMB-{i}", "name": "s", "region": "east" if i % 2 else "west", "current_arr": 5_000}
        for i in range(40)
    ]
    await f.imported(client, tenant.headers, rows)
    await client.post("/v1/scoring/run", headers=tenant.headers)
    await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=tenant.headers)
    r = await client.get(f"/v1/plans/{plan['id']}/equity", headers=tenant.headers)
    assert r.status_code == 200, r.text
    eq = r.json()
    books = {b["name"]: b for b in eq["by_territory"]["books"]}
    assert (books["East"]["accounts"], books["West"]["accounts"]) == (25, 22)
    assert books["East"]["potential"] == 5 * 600_000 + 20 * 5_000
    assert eq["by_territory"]["potential"]["status"] == "rebalance"
    assert any(flag.startswith("potential: the highest book is") for flag in eq["by_territory"]["flags"])
    reps = {b["key"]: b for b in eq["by_rep"]["books"]}
    assert reps[west_rep["id"]]["capacity"] == 195  # a new hire: half of 390 selling hours
    assert reps[east_rep["id"]]["suggested_quota"] == [0.7 * 3_100_000, 0.8 * 3_100_000]
    assert (
        await client.get(f"/v1/plans/{plan['id']}/equity", headers=other_tenant.headers)
    ).status_code == 404


async def test_copy_change_compare_then_activate(client, tenant, other_tenant):
    owned = await f.owned_account(client, tenant.headers, current_arr=500_000)
    active, rep, territory = owned["plan"], owned["rep"], owned["territory"]
    other_rep = await f.rep(client, tenant.headers)
    r = await client.post(
        f"/v1/plans/{active['id']}/copy", json={"name": "FY27 scenario"}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    draft = r.json()
    assert (draft["state"], draft["source_plan_id"], draft["name"]) == (
        "draft",
        active["id"],
        "FY27 scenario",
    )
    copied = (await client.get(f"/v1/territories?plan_id={draft['id']}", headers=tenant.headers)).json()[
        "items"
    ]
    assert [t["name"] for t in copied] == [territory["name"]] and copied[0]["id"] != territory["id"]
    same = (
        await client.get(f"/v1/plans/compare?a={active['id']}&b={draft['id']}", headers=tenant.headers)
    ).json()
    assert same["moves"]["count"] == 0
    # move the account to another rep in the draft
    asg = (await client.get(f"/v1/assignments?plan_id={draft['id']}", headers=tenant.headers)).json()[
        "items"
    ][0]
    await client.patch(
        f"/v1/assignments/{asg['id']}",
        json={"rep_id": other_rep["id"], "reason": "rebalance"},
        headers=tenant.headers,
    )
    r = await client.get(f"/v1/plans/compare?a={active['id']}&b={draft['id']}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    diff = r.json()
    assert diff["moves"]["count"] == 1 and diff["moves"]["movement_rate"] == 1.0
    (move,) = diff["moves"]["accounts"]
    assert (move["from_rep"], move["to_rep"], move["to_reason"]) == (rep["id"], other_rep["id"], "rebalance")
    assert [b["key"] for b in diff["equity_b"]["by_rep"]["books"]] == [other_rep["id"]]
    # the lookup follows the draft once it is activated
    ext = owned["account"]["external_id"]
    assert (await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json()["rep"]["id"] == rep["id"]
    await client.post(f"/v1/plans/{draft['id']}/activate", headers=tenant.headers)
    assert (await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json()["rep"][
        "id"
    ] == other_rep["id"]
    r = await client.post(f"/v1/plans/{active['id']}/copy", headers=other_tenant.headers)
    assert r.status_code == 404


async def test_graphql_copy_compare_and_equity(client, tenant):
    owned = await f.owned_account(client, tenant.headers, current_arr=500_000)
    m = 'mutation($id: UUID!) { copyPlan(id: $id, name: "B") { __typename ... on Plan { id state } } }'
    r = await client.post(
        "/graphql", json={"query": m, "variables": {"id": owned["plan"]["id"]}}, headers=tenant.headers
    )
    copy = r.json()["data"]["copyPlan"]
    assert copy["state"] == "DRAFT"
    q = """query($a: UUID!, $b: UUID!) { comparePlans(a: $a, b: $b) { moves { count }
             equityB { byRep { books { key accounts } potential { status } } } }
           planEquity(planId: $a) { byTerritory { books { name accounts } } } }"""
    r = await client.post(
        "/graphql",
        json={"query": q, "variables": {"a": owned["plan"]["id"], "b": copy["id"]}},
        headers=tenant.headers,
    )
    data = r.json()["data"]
    assert data["comparePlans"]["moves"]["count"] == 0
    assert data["comparePlans"]["equityB"]["byRep"]["books"] == [{"key": owned["rep"]["id"], "accounts": 1}]
    assert data["planEquity"]["byTerritory"]["books"] == [{"name": owned["territory"]["name"], "accounts": 1}]
