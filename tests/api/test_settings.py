"""Tenant settings over REST and GraphQL: admin scope, validation naming the field, versions, isolation."""

from tests import factories as f


async def test_defaults_then_overrides_with_a_version(client, tenant):
    r = await client.get("/v1/settings", headers=tenant.headers)
    body = r.json()
    assert r.status_code == 200 and body["overrides"] == {}
    assert body["effective"]["tiers"]["tier1_share"] == 0.2
    assert body["effective"]["coverage"]["coverage_window_days"] == 90
    first = body["version"]
    r = await client.put(
        "/v1/settings", json={"overrides": {"tiers": {"tier1_share": 0.15}}}, headers=tenant.headers
    )
    body = r.json()
    assert body["version"] == first + 1
    assert (
        body["effective"]["tiers"]["tier1_share"] == 0.15 and body["effective"]["tiers"]["tier2_share"] == 0.3
    )
    assert (await client.get("/v1/settings", headers=tenant.headers)).json() == body


async def test_bad_settings_are_named_and_leave_the_old_in_force(client, tenant):
    good = {"overrides": {"segments": {"enterprise_min_revenue": 20_000_000.0}}}
    kept = (await client.put("/v1/settings", json=good, headers=tenant.headers)).json()
    cases = [
        ({"tiers": {"tier1_share": 0.8, "tier2_share": 0.3}}, "tiers", "tiers_overlap"),
        ({"scoring": {"intent": -1.0}}, "scoring.intent", "negative_weight"),
        ({"coverage": {"coverage_window_days": 60.5}}, "coverage.coverage_window_days", "invalid_type"),
        ({"coverage": {"nope": 1}}, "coverage.nope", "unknown_field"),
        ({"tiers": {"tier1_min_potential": 1000.0}}, "tiers", "incomplete_thresholds"),
        ({"scoring_bands": {"current_arr": [5, 4, 3, 2]}}, "scoring_bands.current_arr", "not_ascending"),
    ]
    for overrides, field, code in cases:
        r = await client.put("/v1/settings", json={"overrides": overrides}, headers=tenant.headers)
        assert r.status_code == 422, overrides
        assert r.headers["content-type"].startswith("application/problem+json")
        assert {"field": f"overrides.{field}", "code": code} in [  # named from the body's root
            {"field": e["field"], "code": e["code"]} for e in r.json()["errors"]
        ]
    assert (await client.get("/v1/settings", headers=tenant.headers)).json() == kept


async def test_settings_need_the_admin_scope_and_stay_in_the_tenant(client, tenant, other_tenant):
    assert (await client.get("/v1/settings", headers=tenant.read_headers)).status_code == 403
    put = {"overrides": {"tiers": {"tier1_share": 0.1}}}
    assert (await client.put("/v1/settings", json=put, headers=tenant.read_headers)).status_code == 403
    await client.put("/v1/settings", json=put, headers=tenant.headers)
    theirs = (await client.get("/v1/settings", headers=other_tenant.headers)).json()
    assert theirs["overrides"] == {} and theirs["effective"]["tiers"]["tier1_share"] == 0.2


async def test_segment_thresholds_apply_to_accounts_written_after_the_change(client, tenant):
    before = await f.account(client, tenant.headers, annual_revenue=15_000_000)
    assert before["segment"] == "enterprise"
    await client.put(
        "/v1/settings",
        json={"overrides": {"segments": {"enterprise_min_revenue": 20_000_000.0}}},
        headers=tenant.headers,
    )
    after = await f.account(client, tenant.headers, annual_revenue=15_000_000)
    assert after["segment"] == "mid_market"
    assert (await client.get(f"/v1/accounts/{before['id']}", headers=tenant.headers)).json()[
        "segment"
    ] == "enterprise"


async def test_graphql_settings_query_and_mutation(client, tenant):
    q = "{ settings { version overrides effective } }"
    r = (await client.post("/graphql", json={"query": q}, headers=tenant.headers)).json()["data"]["settings"]
    assert r["overrides"] == {} and r["effective"]["tiers"]["tier1_share"] == 0.2
    m = """mutation($o: JSON!) { updateSettings(overrides: $o) {
             __typename ... on Settings { version effective }
             ... on Problem { code errors { field code } } } }"""
    ok = await client.post(
        "/graphql",
        json={"query": m, "variables": {"o": {"tiers": {"tier1_share": 0.25}}}},
        headers=tenant.headers,
    )
    ok = ok.json()["data"]["updateSettings"]
    assert ok["__typename"] == "Settings" and ok["version"] == r["version"] + 1
    assert ok["effective"]["tiers"]["tier1_share"] == 0.25
    bad = await client.post(
        "/graphql",
        json={"query": m, "variables": {"o": {"tiers": {"tier1_share": 2.0}}}},
        headers=tenant.headers,
    )
    bad = bad.json()["data"]["updateSettings"]
    assert bad["__typename"] == "Problem" and bad["code"] == "invalid_settings"
    assert {"field": "overrides.tiers.tier1_share", "code": "out_of_range"} in bad["errors"]
    denied = await client.post("/graphql", json={"query": q}, headers=tenant.read_headers)
    assert denied.json()["errors"][0]["extensions"]["code"] == "forbidden"
