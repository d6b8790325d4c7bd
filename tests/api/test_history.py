"""Ownership history: activation records every owner it changes with the reason; changes in the active plan
are recorded; drafts are not; the movement rate counts them. Activation is atomic under concurrent lookups."""

from tests import factories as f


async def test_activation_and_active_plan_changes_enter_the_history(client, tenant, other_tenant):
    owned = await f.owned_account(client, tenant.headers)
    account, rep, plan = owned["account"], owned["rep"], owned["plan"]
    (first,) = await f.ownership_history(client, tenant.headers, account["id"])
    assert (first["from_rep_id"], first["to_rep_id"], first["cause"]) == (None, rep["id"], "manual")
    assert first["actor"] and first["request_id"] and first["seq"] >= 1
    # a draft changes nothing in the history until it is activated
    other = await f.rep(client, tenant.headers)
    draft = (await client.post(f"/v1/plans/{plan['id']}/copy", headers=tenant.headers)).json()
    asg = (await client.get(f"/v1/assignments?plan_id={draft['id']}", headers=tenant.headers)).json()[
        "items"
    ][0]
    await client.patch(
        f"/v1/assignments/{asg['id']}",
        json={"rep_id": other["id"], "reason": "rebalance", "note": "balance potential"},
        headers=tenant.headers,
    )
    unowned = await f.account(client, tenant.headers)  # owned in the old plan only
    await f.create(
        client,
        tenant.headers,
        "assignments",
        plan_id=plan["id"],
        account_id=unowned["id"],
        rep_id=rep["id"],
        role="AE",
    )
    assert len(await f.ownership_history(client, tenant.headers, account["id"])) == 1
    assert (await client.post(f"/v1/plans/{draft['id']}/activate", headers=tenant.headers)).status_code == 200
    latest = (await f.ownership_history(client, tenant.headers, account["id"]))[0]
    assert (latest["from_rep_id"], latest["to_rep_id"], latest["cause"], latest["reason"]) == (
        rep["id"],
        other["id"],
        "rebalance",
        "balance potential",
    )
    assert latest["plan_id"] == draft["id"]
    dropped = (await f.ownership_history(client, tenant.headers, unowned["id"]))[0]
    assert (dropped["to_rep_id"], dropped["cause"]) == (None, "activation")
    # ending an assignment in the active plan is a change too
    current = (await client.get(f"/v1/assignments?plan_id={draft['id']}", headers=tenant.headers)).json()[
        "items"
    ][0]
    await client.delete(f"/v1/assignments/{current['id']}", headers=tenant.headers)
    assert (await f.ownership_history(client, tenant.headers, account["id"]))[0]["to_rep_id"] is None
    # pagination, newest first
    page = (
        await client.get(
            f"/v1/accounts/{account['id']}/ownership-history?page_size=2", headers=tenant.headers
        )
    ).json()
    rest = (
        await client.get(
            f"/v1/accounts/{account['id']}/ownership-history?page_size=2&page_token={page['next_page_token']}",
            headers=tenant.headers,
        )
    ).json()
    assert [e["seq"] for e in page["items"] + rest["items"]] == sorted(
        (e["seq"] for e in page["items"] + rest["items"]), reverse=True
    )
    assert len(page["items"] + rest["items"]) == 3
    # the token is the one cursor format every list gives out: a forged one is refused as anywhere else
    for forged in ("12", "eyJ2IjoxfQ"):
        r = await client.get(
            f"/v1/accounts/{account['id']}/ownership-history?page_token={forged}", headers=tenant.headers
        )
        assert (r.status_code, r.json()["code"], r.json()["errors"][0]["field"]) == (
            400,
            "invalid_page_token",
            "page_token",
        )
    r = await client.get(f"/v1/accounts/{account['id']}/ownership-history", headers=other_tenant.headers)
    assert r.status_code == 404


async def test_movement_rate(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    for _ in range(3):
        await f.account(client, tenant.headers)  # 4 live accounts
    first = (await client.get("/v1/reports/movement", headers=tenant.headers)).json()
    assert (first["moved"], first["accounts"]) == (0, 4)  # a first owner is not a change of hands
    other = await f.rep(client, tenant.headers)
    moved = await client.patch(
        f"/v1/assignments/{owned['assignment']['id']}", json={"rep_id": other["id"]}, headers=tenant.headers
    )
    assert moved.status_code == 200
    m = (await client.get("/v1/reports/movement", headers=tenant.headers)).json()
    assert (m["moved"], m["accounts"], m["rate"]) == (1, 4, 0.25)
    assert m["status"] == "churn"  # 25% in a quarter
    bad = await client.get(
        "/v1/reports/movement?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", headers=tenant.headers
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"


async def test_graphql_history_and_movement(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    q = """query($a: UUID!) {
             ownershipHistory(accountId: $a) { nodes { toRepId cause } pageInfo { hasNextPage } }
             movement { moved accounts status } }"""
    r = await client.post(
        "/graphql", json={"query": q, "variables": {"a": owned["account"]["id"]}}, headers=tenant.headers
    )
    data = r.json()["data"]
    assert data["ownershipHistory"]["nodes"] == [{"toRepId": owned["rep"]["id"], "cause": "manual"}]
    assert data["movement"] == {"moved": 0, "accounts": 1, "status": "static"}  # its first owner


async def test_a_plan_that_gives_first_owners_moves_nothing_and_a_later_one_moves_what_it_moves(
    client, tenant
):
    """The issue's case: a plan gives ten accounts their first owner (not a move), then a copy moves two
    of them (two moves, not ten); an owner ended and another given later is one move."""
    plan = await f.plan(client, tenant.headers, state="active")
    sarah, james = await f.rep(client, tenant.headers), await f.rep(client, tenant.headers, name="James Park")
    accounts = [await f.account(client, tenant.headers) for _ in range(10)]
    for a in accounts:
        await f.create(
            client, tenant.headers, "assignments", plan_id=plan["id"], account_id=a["id"], rep_id=sarah["id"]
        )

    async def moved():
        return (await client.get("/v1/reports/movement", headers=tenant.headers)).json()["moved"]

    assert await moved() == 0
    draft = (await client.post(f"/v1/plans/{plan['id']}/copy", headers=tenant.headers)).json()
    items = (await client.get(f"/v1/assignments?plan_id={draft['id']}", headers=tenant.headers)).json()[
        "items"
    ]
    for asg in items[:2]:
        r = await client.patch(
            f"/v1/assignments/{asg['id']}", json={"rep_id": james["id"]}, headers=tenant.headers
        )
        assert r.status_code == 200
    assert (await client.post(f"/v1/plans/{draft['id']}/activate", headers=tenant.headers)).status_code == 200
    assert await moved() == 2
    # a third account: its owner ended, then (later) a new one given: one change of hands
    third = next(a for a in items[2:])
    current = (
        await client.get(
            f"/v1/assignments?plan_id={draft['id']}&account_id={third['account_id']}", headers=tenant.headers
        )
    ).json()["items"]
    live = next(a for a in current if a["valid_to"] is None)
    assert (await client.delete(f"/v1/assignments/{live['id']}", headers=tenant.headers)).status_code == 204
    assert await moved() == 2  # ended with no successor: not a move
    await f.create(
        client,
        tenant.headers,
        "assignments",
        plan_id=draft["id"],
        account_id=third["account_id"],
        rep_id=james["id"],
    )
    assert await moved() == 3
