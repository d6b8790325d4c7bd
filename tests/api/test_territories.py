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


PLAN_FIELDS = {
    "weekly_pipeline_target": 45_000.0,
    "meeting_rate_target": 0.04,
    "quarterly_review_date": "2027-07-01",
    "escalation_policy": "Territory of record = CRM owner field; disputes resolved by VP Sales in 5 days",
}


async def test_a_territory_keeps_seed_004s_plan_fields(client, tenant):
    p = await f.plan(client, tenant.headers)
    backup = await f.rep(client, tenant.headers)
    t = await f.territory(client, tenant.headers, p["id"], backup_rep_id=backup["id"], **PLAN_FIELDS)
    got = (await client.get(f"/v1/territories/{t['id']}", headers=tenant.headers)).json()
    assert {k: got[k] for k in PLAN_FIELDS} == PLAN_FIELDS and got["backup_rep_id"] == backup["id"]
    r = await client.patch(
        f"/v1/territories/{t['id']}", json={"meeting_rate_target": 0.05}, headers=tenant.headers
    )
    assert r.status_code == 200 and r.json()["meeting_rate_target"] == 0.05
    copy = (await client.post(f"/v1/plans/{p['id']}/copy", json={"name": "c"}, headers=tenant.headers)).json()
    (copied,) = (await client.get(f"/v1/territories?plan_id={copy['id']}", headers=tenant.headers)).json()[
        "items"
    ]
    assert copied["weekly_pipeline_target"] == 45_000.0 and copied["escalation_policy"]


async def test_territory_plan_fields_are_validated(client, tenant):
    p = await f.plan(client, tenant.headers)
    for field, value in (
        ("weekly_pipeline_target", -1),
        ("weekly_pipeline_target", "45000"),
        ("meeting_rate_target", 1.5),
        ("meeting_rate_target", -0.1),
        ("quarterly_review_date", "July 1"),
        ("quarterly_review_date", 1700000000),
        ("escalation_policy", "x" * 2001),
    ):
        r = await client.post(
            "/v1/territories", json={"plan_id": p["id"], "name": "T", field: value}, headers=tenant.headers
        )
        assert r.status_code == 422, (field, value, r.text)
        assert r.json()["errors"][0]["field"].endswith(field)
    # a non-finite number cannot be sent as JSON; GraphQL validates the same body
    q = (
        'mutation($p: UUID!) { createTerritory(input: {planId: $p, name: "G", meetingRateTarget: 2}) '
        "{ __typename ... on Problem { errors { field } } } }"
    )
    r = (
        await client.post("/graphql", json={"query": q, "variables": {"p": p["id"]}}, headers=tenant.headers)
    ).json()
    assert r["data"]["createTerritory"]["__typename"] == "Problem"
    assert r["data"]["createTerritory"]["errors"][0]["field"].endswith("meetingRateTarget")
    q = (
        'mutation($p: UUID!) { createTerritory(input: {planId: $p, name: "G", weeklyPipelineTarget: 80000, '
        'quarterlyReviewDate: "2027-10-01"}) '
        "{ ... on Territory { weeklyPipelineTarget quarterlyReviewDate } } }"
    )
    r = (
        await client.post("/graphql", json={"query": q, "variables": {"p": p["id"]}}, headers=tenant.headers)
    ).json()
    assert r["data"]["createTerritory"] == {
        "weeklyPipelineTarget": 80000.0,
        "quarterlyReviewDate": "2027-10-01",
    }
