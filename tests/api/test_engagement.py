"""The rules of engagement over REST: the defaults in words, versions, validation naming every field,
preconditions, scopes and tenants apart; deals in flight beside the account's owner."""

import asyncio
from datetime import UTC, datetime, timedelta

from tests import factories as f


def version_of(response) -> int:
    """The version an ETag names ("3", or "3-gzip" when the answer was compressed)."""
    return int(response.headers["etag"].strip('"').split("-")[0])


async def test_the_default_policy_reads_in_order(client, tenant):
    r = await client.get("/v1/engagement/policy", headers=tenant.read_headers)
    body = r.json()
    assert r.status_code == 200 and body["version"] == 0 and body["saved_at"] is None
    assert [rule["code"] for rule in body["rules"]] == [
        "named_account",
        "existing_relationship",
        "territory_of_record",
        "boundary",
    ]
    relationship = body["rules"][1]
    assert (relationship["min_touches"], relationship["window_days"]) == (2, 90)
    assert "over the rep whose boundary holds its headquarters" in relationship["sentence"]
    assert body["roles"] == {
        "new_business": "AE",
        "outbound": "SDR",
        "post_sale": "CSM",
        "reengagement": "AE",
        "expansion": "AE",
    }
    assert body["dispute_business_days"] == 5 and body["parent_deal_threshold"] == 100_000
    assert body["sentences"][0].startswith("1. A named account") and len(body["sentences"]) == 5
    assert version_of(r) == 0


async def test_saving_makes_a_version_and_the_old_stays_readable(client, tenant):
    policy = {
        "rules": [
            {"kind": "territory_of_record"},
            {"kind": "existing_relationship", "min_touches": 3, "window_days": 60, "sourced_counts": False},
            {"kind": "lease", "days": 120},
        ],
        "tiebreak": ["longest_tenure", "rep_name"],
        "roles": {"expansion": "CSM"},
        "dispute_business_days": 3,
        "note": "record first: continuity",
    }
    r = await client.put("/v1/engagement/policy", json=policy, headers=tenant.headers)
    body = r.json()
    assert r.status_code == 200 and body["version"] == 1 and version_of(r) == 1
    assert [x["kind"] for x in body["rules"]] == ["territory_of_record", "existing_relationship", "lease"]
    assert "at least 3 meaningful touches in the last 60 days" in body["rules"][1]["sentence"]
    assert "sourced" not in body["rules"][1]["sentence"]
    assert body["roles"]["expansion"] == "CSM" and body["roles"]["post_sale"] == "CSM"
    assert body["note"] == "record first: continuity" and body["dispute_business_days"] == 3
    assert (await client.get("/v1/engagement/policy", headers=tenant.headers)).json() == body
    # a whole policy: what is not given takes the default again
    r = await client.put("/v1/engagement/policy", json={"dispute_business_days": 7}, headers=tenant.headers)
    assert r.json()["version"] == 2 and [x["code"] for x in r.json()["rules"]][0] == "named_account"
    old = await client.get("/v1/engagement/policy/versions/1", headers=tenant.headers)
    assert old.status_code == 200 and old.json() == body
    defaults = await client.get("/v1/engagement/policy/versions/0", headers=tenant.headers)
    assert defaults.json()["version"] == 0
    missing = await client.get("/v1/engagement/policy/versions/9", headers=tenant.headers)
    assert missing.status_code == 404


async def test_a_bad_policy_names_every_broken_part_and_keeps_the_old(client, tenant):
    await client.put("/v1/engagement/policy", json={"dispute_business_days": 4}, headers=tenant.headers)
    cases = [
        ({"rules": [{"kind": "boundary"}, {"kind": "boundary"}]}, "rules[1].code", "duplicate_name"),
        ({"rules": [{"kind": "lease"}]}, "rules[0].days", "required"),
        ({"rules": [{"kind": "boundary", "days": 3}]}, "rules[0].days", "unknown_field"),
        ({"tiebreak": ["rep_name", "rep_name"]}, "tiebreak", "invalid_value"),
    ]
    for policy, field, code in cases:
        r = await client.put("/v1/engagement/policy", json=policy, headers=tenant.headers)
        assert r.status_code == 422, policy
        assert {"field": field, "code": code} in [
            {"field": e["field"], "code": e["code"]} for e in r.json()["errors"]
        ], r.json()
    for policy in (
        {"rules": [{"kind": "telepathy"}]},
        {"rules": []},
        {"frozen": True},
        {"roles": {"x": "AE"}},
    ):
        r = await client.put("/v1/engagement/policy", json=policy, headers=tenant.headers)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    kept = (await client.get("/v1/engagement/policy", headers=tenant.headers)).json()
    assert kept["version"] == 1 and kept["dispute_business_days"] == 4


async def test_if_match_and_concurrent_saves(client, tenant):
    r = await client.put("/v1/engagement/policy", json={}, headers=tenant.headers | {"If-Match": '"5"'})
    assert r.status_code == 412 and r.json()["code"] == "precondition_failed"
    r = await client.put("/v1/engagement/policy", json={}, headers=tenant.headers | {"If-Match": '"0"'})
    assert r.status_code == 200 and r.json()["version"] == 1
    answers = await asyncio.gather(
        *(client.put("/v1/engagement/policy", json={}, headers=tenant.headers) for _ in range(4))
    )
    codes = sorted(a.status_code for a in answers)
    assert set(codes) <= {200, 409} and 200 in codes
    final = (await client.get("/v1/engagement/policy", headers=tenant.headers)).json()["version"]
    assert final == 1 + codes.count(200)  # every save that answered 200 is a version; no version lost


async def test_writes_need_admin_and_tenants_stay_apart(client, tenant, other_tenant):
    r = await client.put("/v1/engagement/policy", json={}, headers=tenant.read_headers)
    assert r.status_code == 403
    await client.put("/v1/engagement/policy", json={"dispute_business_days": 9}, headers=tenant.headers)
    theirs = (await client.get("/v1/engagement/policy", headers=other_tenant.headers)).json()
    assert theirs["version"] == 0 and theirs["dispute_business_days"] == 5
    r = await client.get("/v1/engagement/policy/versions/1", headers=other_tenant.headers)
    assert r.status_code == 404


async def test_graphql_reads_and_saves_the_policy(client, tenant):
    query = "{ engagementPolicy { version rules { kind code sentence } tiebreak roles sentences } }"
    r = await client.post("/graphql", json={"query": query}, headers=tenant.headers)
    policy = r.json()["data"]["engagementPolicy"]
    assert policy["version"] == 0 and policy["rules"][0]["kind"] == "NAMED_ACCOUNT"
    assert policy["tiebreak"][0] == "MOST_TOUCHES" and policy["roles"]["outbound"] == "SDR"
    save = """mutation($p: JSON!, $v: Int) { replaceEngagementPolicy(policy: $p, expectedVersion: $v) {
        __typename ... on EngagementPolicy { version rules { code } }
        ... on Problem { code errors { field code } } } }"""
    ok = {"rules": [{"kind": "boundary", "code": "hq"}], "note": "boundary only"}
    r = await client.post(
        "/graphql", json={"query": save, "variables": {"p": ok, "v": 0}}, headers=tenant.headers
    )
    saved = r.json()["data"]["replaceEngagementPolicy"]
    assert saved == {"__typename": "EngagementPolicy", "version": 1, "rules": [{"code": "hq"}]}
    bad = {"rules": [{"kind": "lease"}]}
    r = await client.post("/graphql", json={"query": save, "variables": {"p": bad}}, headers=tenant.headers)
    problem = r.json()["data"]["replaceEngagementPolicy"]
    assert problem["code"] == "validation_failed"
    assert {"field": "rules[0].days", "code": "required"} in problem["errors"]
    stale = await client.post(
        "/graphql", json={"query": save, "variables": {"p": ok, "v": 0}}, headers=tenant.headers
    )
    assert stale.json()["data"]["replaceEngagementPolicy"]["code"] == "precondition_failed"
    old = "{ engagementPolicy(version: 1) { version note } }"
    r = await client.post("/graphql", json={"query": old}, headers=tenant.headers)
    assert r.json()["data"]["engagementPolicy"] == {"version": 1, "note": "boundary only"}


async def _deal_of_sarah_on_an_account_moving_to_james(client, h) -> dict:
    """Sarah Chen owns Acme and works its open $80K deal; a draft gives Acme to James Park."""
    owned = await f.owned_account(client, h, external_id="ACME-DEAL", name="Acme")
    sarah = owned["rep"]
    await client.patch(f"/v1/reps/{sarah['id']}", json={"name": "Sarah Chen"}, headers=h)
    deal = {
        "external_id": "OPP-ACME",
        "account_external_id": "ACME-DEAL",
        "rep_external_id": sarah["external_id"],
        "amount": 80_000,
        "stage": "proposal",
    }
    await f.imported(client, h, kind="opportunities", rows=[deal])
    james, draft = await f.draft_giving_it_to_a_new_rep(client, h, owned)
    await client.patch(f"/v1/reps/{james['id']}", json={"name": "James Park"}, headers=h)
    return owned | {"sarah": sarah, "james": james, "draft": draft}


async def _deal_rep(client, h) -> str:
    rows = (await client.get("/v1/opportunities/export?format=json", headers=h)).json()
    return next(r["rep_external_id"] for r in rows if r["external_id"] == "OPP-ACME")


async def test_an_in_flight_deal_stays_with_its_rep_when_the_account_moves(client, tenant):
    h = tenant.headers
    book = await _deal_of_sarah_on_an_account_moving_to_james(client, h)
    account_id = book["account"]["id"]
    before = (await client.get(f"/v1/accounts/{account_id}/open-pipeline", headers=h)).json()
    assert before["owner_name"] == "Sarah Chen" and before["deals"][0]["note"] is None

    # activation moves the account; a manual assignment in the active plan moves it back and forth
    assert (await client.post(f"/v1/plans/{book['draft']['id']}/activate", headers=h)).status_code == 200
    assert await _deal_rep(client, h) == book["sarah"]["external_id"]  # the opportunity keeps its rep
    pipeline = (await client.get(f"/v1/accounts/{account_id}/open-pipeline", headers=h)).json()
    assert pipeline["owner_name"] == "James Park" and pipeline["in_flight_deals_stay"]
    assert pipeline["open_amount"] == 80_000
    (deal,) = pipeline["deals"]
    assert (deal["rep_name"], deal["works_it_name"]) == ("Sarah Chen", "Sarah Chen")
    assert deal["note"] == "in-flight deal stays with Sarah Chen (policy: in_flight_deals_stay)"
    asg = (await client.get(f"/v1/assignments?plan_id={book['draft']['id']}", headers=h)).json()["items"][0]
    third = await f.rep(client, h, name="Lea Roy")
    assert (
        await client.patch(f"/v1/assignments/{asg['id']}", json={"rep_id": third["id"]}, headers=h)
    ).status_code == 200
    assert await _deal_rep(client, h) == book["sarah"]["external_id"]

    q = "query($id: UUID!) { account(id: $id) { openPipeline { ownerName deals { repName note } } } }"
    r = await client.post("/graphql", json={"query": q, "variables": {"id": account_id}}, headers=h)
    shown = r.json()["data"]["account"]["openPipeline"]
    assert shown["ownerName"] == "Lea Roy"
    assert shown["deals"] == [
        {
            "repName": "Sarah Chen",
            "note": "in-flight deal stays with Sarah Chen (policy: in_flight_deals_stay)",
        }
    ]


async def test_with_the_policy_off_the_deal_follows_the_owner_but_keeps_its_rep_of_record(client, tenant):
    h = tenant.headers
    book = await _deal_of_sarah_on_an_account_moving_to_james(client, h)
    assert (
        await client.put("/v1/engagement/policy", json={"in_flight_deals_stay": False}, headers=h)
    ).status_code == 200
    await client.post(f"/v1/plans/{book['draft']['id']}/activate", headers=h)
    pipeline = (await client.get(f"/v1/accounts/{book['account']['id']}/open-pipeline", headers=h)).json()
    (deal,) = pipeline["deals"]
    assert not pipeline["in_flight_deals_stay"]
    assert (deal["rep_name"], deal["works_it_name"]) == ("Sarah Chen", "James Park")
    assert deal["note"] == (
        "in-flight deal follows the account owner James Park (policy: in_flight_deals_stay off); "
        "its rep of record stays Sarah Chen"
    )
    assert await _deal_rep(client, h) == book["sarah"]["external_id"]
    missing = await client.get(f"/v1/accounts/{book['plan']['id']}/open-pipeline", headers=h)
    assert missing.status_code == 404


async def test_a_deal_of_a_rep_who_left_is_worked_by_the_interim_owner_and_keeps_its_rep(client, tenant):
    h = tenant.headers
    book = await _deal_of_sarah_on_an_account_moving_to_james(client, h)
    last_day = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    body = {"date": last_day, "interim_rep_id": book["james"]["id"]}
    r = await client.post(f"/v1/reps/{book['sarah']['id']}/departure", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert (await client.post(f"/v1/plans/{r.json()['plan_id']}/activate", headers=h)).status_code == 200
    pipeline = (await client.get(f"/v1/accounts/{book['account']['id']}/open-pipeline", headers=h)).json()
    (deal,) = pipeline["deals"]
    assert pipeline["owner_name"] == "James Park"
    assert (deal["rep_name"], deal["works_it_name"]) == ("Sarah Chen", "James Park")
    assert deal["note"] == "Sarah Chen has left: the account owner James Park works the in-flight deal"
    assert await _deal_rep(client, h) == book["sarah"]["external_id"]


async def test_graphql_takes_back_the_policy_as_it_reads_it(client, tenant):
    """Read in the schema's spelling (camelCase fields, EXISTING_RELATIONSHIP, MOST_TOUCHES), changed and
    sent back as it is: saved as if sent in REST's spelling. A read-only field is still refused."""
    query = """{ engagementPolicy { rules { kind code minTouches windowDays sourcedCounts days }
        tiebreak roles parentDealThreshold inFlightDealsStay segmentChangeAtReview disputeBusinessDays } }"""
    r = await client.post("/graphql", json={"query": query}, headers=tenant.headers)
    policy = r.json()["data"]["engagementPolicy"]
    policy["rules"] = [{k: v for k, v in rule.items() if v is not None} for rule in policy["rules"]]
    policy["tiebreak"] = list(reversed(policy["tiebreak"]))
    policy["parentDealThreshold"] = 250_000
    save = """mutation($p: JSON!) { replaceEngagementPolicy(policy: $p) {
        ... on EngagementPolicy { version } ... on Problem { code errors { field code } } } }"""
    r = await client.post(
        "/graphql", json={"query": save, "variables": {"p": policy}}, headers=tenant.headers
    )
    assert r.json()["data"]["replaceEngagementPolicy"] == {"version": 1}, r.text
    rest = (await client.get("/v1/engagement/policy", headers=tenant.headers)).json()
    assert rest["parent_deal_threshold"] == 250_000
    assert rest["tiebreak"][0] == policy["tiebreak"][0].lower()
    assert [r["kind"] for r in rest["rules"]] == [r["kind"].lower() for r in policy["rules"]]
    read_only = {**policy, "sentences": ["1. ..."]}
    r = await client.post(
        "/graphql", json={"query": save, "variables": {"p": read_only}}, headers=tenant.headers
    )
    assert r.json()["data"]["replaceEngagementPolicy"]["code"] == "validation_failed"
