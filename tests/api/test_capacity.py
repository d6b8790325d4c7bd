"""Capacity: the hours the coverage model needs against the team's, the shortfall and headcount."""

from tests import factories as f


async def test_capacity_shortfall_choices_and_headcount(client, tenant):
    # 10 accounts -> tiers 2 / 3 / 5 after a run; proactive: 2 x 10 h + 3 x 6 h = 38 h a quarter
    rows = [{"external_id": f"C{i}", "name": f"c{i}", "current_arr": 1000.0 * (i + 1)} for i in range(10)]
    await f.imported(client, tenant.headers, rows)
    r = await client.get("/v1/capacity", headers=tenant.headers)
    body = r.json()
    assert r.status_code == 200 and body["scored_accounts"] == 10 and body["active_reps"] == 0
    assert (body["hours_needed"], body["hours_available"], body["shortfall"]) == (38, 0, 38)
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
    assert (body["hours_available"], body["shortfall"], body["choices"]) == (390, 0, [])
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
