"""Capacity: what the coverage model asks of the book against what the team can carry (hours or accounts),
the shortfall, the team the ratios call for, and headcount; the same workload the equity report counts."""

from tests import factories as f


async def test_capacity_shortfall_choices_and_headcount(client, tenant):
    # 10 accounts -> tiers 2 / 3 / 5 after a run; proactive: 2 x 10.625 h + 3 x 6.625 h = 41.125 h a quarter
    # (the tier's outreach plus an SMB account's visits, 2.5 a year: no revenue given, no segment)
    rows = [{"external_id": f"C{i}", "name": f"c{i}", "current_arr": 1000.0 * (i + 1)} for i in range(10)]
    await f.imported(client, tenant.headers, rows)
    r = await client.get("/v1/capacity", headers=tenant.headers)
    body = r.json()
    assert r.status_code == 200 and body["scored_accounts"] == 10 and body["active_reps"] == 0
    assert body["unit"] == "hours"
    assert (body["needed"], body["available"], body["shortfall"]) == (41.125, 0, 41.125)
    assert body["hours_needed"] == 41.125
    assert [c["kind"] for c in body["choices"]] == ["hire", "raise_threshold", "accept_gap"]
    assert body["choices"][0]["figures"]["ramped_reps"] == 1
    await f.rep(client, tenant.headers, ramp_status="ramped")
    body = (
        await client.get(
            "/v1/capacity",
            headers=tenant.headers,
            params={"target_revenue": 10_000_000, "quota_per_rep": 1_000_000},
        )
    ).json()
    assert (body["available"], body["shortfall"], body["choices"]) == (390, 0, [])
    # 10 reps at full productivity; 1 ramped rep gives 0.95 after attrition; (10 - 0.95) / 0.8125 -> 12 hires
    assert body["headcount"]["hires"] == 12
    bad = await client.get("/v1/capacity", headers=tenant.headers, params={"target_revenue": 5})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "quota_per_rep"


async def test_graphql_capacity(client, tenant):
    await f.imported(client, tenant.headers, [{"external_id": "Q", "name": "q", "current_arr": 5000.0}])
    q = """{ capacity(targetRevenue: 2000000, quotaPerRep: 1000000) {
             hoursNeeded shortfall needs { tier accounts hours } choices { kind figures }
             headcount { hires explanation } } }"""
    data = (await client.post("/graphql", json={"query": q}, headers=tenant.headers)).json()["data"][
        "capacity"
    ]
    assert data["needs"] == [
        {"tier": 3, "accounts": 1, "hours": 0.0}
    ]  # one account: round(0.2) = 0 in tier 1
    assert data["shortfall"] == 0 and data["choices"] == []
    assert data["headcount"]["hires"] == 3  # 2 reps at full productivity / 0.8125 a new hire -> 3


async def test_capacity_and_equity_count_one_workload_and_the_reps_own_capacity(client, tenant):
    """Item 7: /v1/capacity and the equity report give one book one workload (tier 3 counts nothing in
    both); the rep's own capacity is what it can carry; in accounts, seed 003's counts by ramp."""
    rows = [{"external_id": f"W{i}", "name": f"w{i}", "current_arr": 1000.0 * (i + 1)} for i in range(10)]
    await f.imported(client, tenant.headers, rows)
    plan = await f.plan(client, tenant.headers, state="active")
    rep = await f.rep(client, tenant.headers, ramp_status="new_hire", capacity=60)
    for row in rows:
        account = (
            await client.get(f"/v1/accounts/by-external-id/{row['external_id']}", headers=tenant.headers)
        ).json()
        await f.create(
            client,
            tenant.headers,
            "assignments",
            plan_id=plan["id"],
            account_id=account["id"],
            rep_id=rep["id"],
        )
    capacity = (await client.get("/v1/capacity", headers=tenant.headers)).json()
    equity = (await client.get(f"/v1/plans/{plan['id']}/equity", headers=tenant.headers)).json()
    book = equity["by_rep"]["books"][0]
    assert book["workload"] == capacity["needed"] == 41.125
    assert book["capacity"] == capacity["available"] == 60  # its own, not a new hire's 195 hours
    assert book["load_flag"] == "under"  # 41.1 of 60 hours: 69%, below 1 - 20%
    put = {"overrides": {"capacity": {"unit": "accounts"}}}
    assert (await client.put("/v1/settings", json=put, headers=tenant.headers)).status_code == 200
    await client.patch(f"/v1/reps/{rep['id']}", json={"capacity": None}, headers=tenant.headers)
    capacity = (await client.get("/v1/capacity", headers=tenant.headers)).json()
    equity = (await client.get(f"/v1/plans/{plan['id']}/equity", headers=tenant.headers)).json()
    book = equity["by_rep"]["books"][0]
    # 5 proactive accounts (tiers 1 and 2) against a new hire's 6
    assert (capacity["unit"], capacity["needed"], capacity["available"]) == ("accounts", 5, 6)
    assert (equity["by_rep"]["unit"], book["workload"], book["capacity"]) == ("accounts", 5, 6)
    bad = await client.put(
        "/v1/settings", json={"overrides": {"capacity": {"unit": "days"}}}, headers=tenant.headers
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "overrides.capacity.unit"
