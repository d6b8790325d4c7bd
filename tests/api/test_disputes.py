"""Disputes over REST: a claim with the engine's own evidence, the policy's proposal, a decision with a
note, applying it as an owner change (lookups, history, events), the states, scopes and tenants apart."""

from datetime import UTC, date, datetime, timedelta

from domain.calendar import BusinessCalendar, business_deadline
from tests import factories as f
from tests.fakes import FixedClock


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def hq_in_james_boundary(client, headers) -> dict:
    """Seed 004's edge case: Globex's HQ is in James's East boundary; Sarah (West) has worked it."""
    plan = await f.plan(client, headers)
    james = await f.rep(client, headers, name="James Okafor")
    sarah = await f.rep(client, headers, name="Sarah Chen")
    east = {"rules": [{"field": "region", "op": "eq", "value": "East"}]}
    west = {"rules": [{"field": "region", "op": "eq", "value": "West"}]}
    await f.territory(client, headers, plan["id"], name="East", primary_rep_id=james["id"], boundary=east)
    await f.territory(client, headers, plan["id"], name="West", primary_rep_id=sarah["id"], boundary=west)
    account = await f.account(client, headers, external_id="GLOBEX", name="Globex", region="East")
    assert (await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=headers)).status_code == 200
    assert (await client.post(f"/v1/plans/{plan['id']}/activate", headers=headers)).status_code == 200
    return {"plan": plan, "james": james, "sarah": sarah, "account": account}


async def touches(client, headers, rep, n: int) -> None:
    rows = [
        {
            "external_id": f"T-{rep['external_id']}-{i}",
            "account_external_id": "GLOBEX",
            "rep_external_id": rep["external_id"],
            "occurred_at": ago(5 + i),
            "kind": "meeting",
        }
        for i in range(n)
    ]
    await f.imported(client, headers, kind="activities", rows=rows)


async def test_the_relationship_wins_the_claim_and_applying_it_changes_the_owner(client, tenant):
    h = tenant.headers
    book = await hq_in_james_boundary(client, h)
    await touches(client, h, book["sarah"], 3)
    claim = {
        "account_id": book["account"]["id"],
        "claimant_rep_id": book["sarah"]["id"],
        "basis": "existing_relationship",
    }
    r = await client.post("/v1/disputes", json=claim, headers=h)
    assert r.status_code == 201 and r.headers["location"] == f"/v1/disputes/{r.json()['id']}"
    dispute = r.json()
    proposal = dispute["proposal"]
    assert dispute["state"] == "open" and dispute["owner_rep_id"] == book["james"]["id"]
    assert proposal["claimant_wins"] and proposal["rule"] == "existing_relationship"
    assert proposal["owner_name"] == "Sarah Chen"
    assert proposal["reason"].startswith("Sarah Chen by existing_relationship: 3 meaningful touches")
    assert "James Okafor: 0 meaningful touches" in proposal["reason"]
    evidence = {e["name"]: e for e in proposal["evidence"]}
    assert (
        evidence["James Okafor"]["owner_of_record"] and evidence["James Okafor"]["territory_name"] == "East"
    )
    assert evidence["Sarah Chen"]["meaningful_touches"] == 3
    opened_on = date.fromisoformat(dispute["opened_at"][:10])
    assert dispute["due_on"] == business_deadline(opened_on, 5, BusinessCalendar()).due_on.isoformat()
    assert not dispute["overdue"]

    r = await client.post(f"/v1/disputes/{dispute['id']}/apply", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "dispute_state"  # decided first
    r = await client.post(
        f"/v1/disputes/{dispute['id']}/decision", json={"note": "Sarah runs the buying group"}, headers=h
    )
    decided = r.json()
    assert decided["state"] == "decided" and decided["decision"]["rule"] == "existing_relationship"
    assert not decided["decision"]["overridden"]

    r = await client.post(f"/v1/disputes/{dispute['id']}/apply", headers=h)
    assert r.status_code == 200 and r.json()["state"] == "applied"
    owner = (await client.get("/v1/ownership/GLOBEX?role=AE", headers=h)).json()
    assert owner["rep"]["name"] == "Sarah Chen" and owner["why"]["cause"] == "dispute"
    assert dispute["id"] in owner["why"]["reason"]
    history = (await client.get(f"/v1/accounts/{book['account']['id']}/ownership-history", headers=h)).json()
    assert "dispute" in str(history)
    types = [e["type"] for e in (await client.get("/v1/events", headers=h)).json()["items"]]
    assert types[-4:] == ["dispute.opened", "dispute.decided", "ownership.changed", "dispute.applied"]
    assert (await client.post(f"/v1/disputes/{dispute['id']}/apply", headers=h)).status_code == 409
    assert (await client.post(f"/v1/disputes/{dispute['id']}/withdraw", headers=h)).status_code == 409


async def test_without_evidence_the_owner_keeps_it_unless_the_decider_overrides(client, tenant):
    h = tenant.headers
    book = await hq_in_james_boundary(client, h)
    claim = {"account_id": book["account"]["id"], "claimant_rep_id": book["sarah"]["id"], "basis": "other"}
    dispute = (await client.post("/v1/disputes", json=claim, headers=h)).json()
    assert not dispute["proposal"]["claimant_wins"]
    assert dispute["proposal"]["owner_rep_id"] == book["james"]["id"]
    assert dispute["proposal"]["rule"] == "territory_of_record"
    again = await client.post("/v1/disputes", json=claim, headers=h)
    assert again.status_code == 409  # one live claim per claimant, account and role
    assert again.json()["code"] == "dispute_exists" and dispute["id"] in again.json()["detail"]
    assert again.json()["errors"][0]["field"] == "claimant_rep_id"
    r = await client.post(
        f"/v1/disputes/{dispute['id']}/decision", json={"note": "ok"}, headers=tenant.read_headers
    )
    assert r.status_code == 403
    stranger = await f.rep(client, h, name="Nobody")
    r = await client.post(
        f"/v1/disputes/{dispute['id']}/decision",
        json={"owner_rep_id": stranger["id"], "note": "x"},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "owner_rep_id"
    r = await client.post(
        f"/v1/disputes/{dispute['id']}/decision",
        json={"owner_rep_id": book["sarah"]["id"], "note": "the VP's call: Sarah sourced the deal"},
        headers=h,
    )
    decision = r.json()["decision"]
    assert (
        decision["overridden"] and decision["rule"] == "override" and decision["owner_name"] == "Sarah Chen"
    )
    assert (await client.post(f"/v1/disputes/{dispute['id']}/withdraw", headers=h)).json()[
        "state"
    ] == "withdrawn"
    owner = (await client.get("/v1/ownership/GLOBEX?role=AE", headers=h)).json()
    assert owner["rep"]["name"] == "James Okafor"  # withdrawn: nothing changed
    listed = (await client.get("/v1/disputes?state=withdrawn", headers=h)).json()
    assert [d["id"] for d in listed["items"]] == [dispute["id"]]
    assert (await client.get("/v1/disputes?overdue=true", headers=h)).json()["items"] == []


async def test_bad_claims_are_named_and_tenants_stay_apart(client, tenant, other_tenant):
    h = tenant.headers
    book = await hq_in_james_boundary(client, h)
    cases = [
        (
            {"account_id": book["account"]["id"], "claimant_rep_id": book["james"]["id"], "basis": "other"},
            "claimant_rep_id",
        ),
        (
            {"account_id": book["plan"]["id"], "claimant_rep_id": book["sarah"]["id"], "basis": "other"},
            "account_id",
        ),
        (
            {"account_id": book["account"]["id"], "claimant_rep_id": book["sarah"]["id"], "basis": "hunch"},
            "basis",
        ),
    ]
    for body, field in cases:
        r = await client.post("/v1/disputes", json=body, headers=h)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.json()
    claim = {"account_id": book["account"]["id"], "claimant_rep_id": book["sarah"]["id"], "basis": "other"}
    dispute = (await client.post("/v1/disputes", json=claim, headers=h)).json()
    assert (
        await client.get(f"/v1/disputes/{dispute['id']}", headers=other_tenant.headers)
    ).status_code == 404
    assert (await client.get("/v1/disputes", headers=other_tenant.headers)).json()["items"] == []
    r = await client.post("/v1/disputes", json=claim, headers=other_tenant.headers)
    assert r.status_code == 422  # their account is not ours


async def test_graphql_opens_decides_and_applies(client, tenant):
    h = tenant.headers
    book = await hq_in_james_boundary(client, h)
    await touches(client, h, book["sarah"], 2)
    opened = """mutation($i: DisputeCreateInput!) { openDispute(input: $i) {
        ... on Dispute { id state dueOn deadline { businessDays reason }
            proposal { rule claimantWins evidence { name meaningfulTouches } } }
        ... on Problem { code } } }"""
    claim = {"accountId": book["account"]["id"], "claimantRepId": book["sarah"]["id"], "basis": "SOURCED_IT"}
    r = await client.post("/graphql", json={"query": opened, "variables": {"i": claim}}, headers=h)
    dispute = r.json()["data"]["openDispute"]
    assert dispute["state"] == "OPEN" and dispute["proposal"]["rule"] == "existing_relationship"
    assert dispute["deadline"]["businessDays"] == 5
    assert dispute["deadline"]["reason"].startswith(f"due {dispute['dueOn']}: 5 business days from ")
    decide = """mutation($id: UUID!) {
        decideDispute(id: $id, input: {note: "agreed"}) { ... on Dispute { state } } }"""
    r = await client.post("/graphql", json={"query": decide, "variables": {"id": dispute["id"]}}, headers=h)
    assert r.json()["data"]["decideDispute"] == {"state": "DECIDED"}
    apply = """mutation($id: UUID!) {
        applyDispute(id: $id) { ... on Dispute { state } ... on Problem { code } } }"""
    r = await client.post("/graphql", json={"query": apply, "variables": {"id": dispute["id"]}}, headers=h)
    assert r.json()["data"]["applyDispute"] == {"state": "APPLIED"}
    r = await client.post("/graphql", json={"query": apply, "variables": {"id": dispute["id"]}}, headers=h)
    assert r.json()["data"]["applyDispute"] == {"code": "dispute_state"}
    listed = "{ disputes(state: APPLIED, first: 10) { nodes { id overdue } pageInfo { hasNextPage } } }"
    r = await client.post("/graphql", json={"query": listed}, headers=h)
    assert r.json()["data"]["disputes"] == {
        "nodes": [{"id": dispute["id"], "overdue": False}],
        "pageInfo": {"hasNextPage": False},
    }


async def test_the_business_calendar_sets_a_new_disputes_deadline_and_overdue_flag(
    app, client, tenant, monkeypatch
):
    """Opened on Monday 2026-12-21: five business days end on Monday 28 without a country, on Tuesday 29
    in the US (Christmas Day); a dispute keeps the deadline it was opened with."""
    h = tenant.headers
    book = await hq_in_james_boundary(client, h)
    other = await f.account(client, h, external_id="INITECH", name="Initech", region="East")
    clock = FixedClock(datetime(2026, 12, 21, 9, tzinfo=UTC))
    monkeypatch.setattr(app.state.ctx, "clock", clock)
    claim = {"account_id": book["account"]["id"], "claimant_rep_id": book["sarah"]["id"], "basis": "other"}
    plain = (await client.post("/v1/disputes", json=claim, headers=h)).json()
    assert plain["due_on"] == "2026-12-28"
    assert (
        plain["deadline"]["reason"] == "due 2026-12-28: 5 business days from 2026-12-21, skipping the weekend"
    )
    calendar = {"calendar": {"country": "US", "holidays": ["2026-12-31"]}}
    assert (await client.put("/v1/settings", json={"overrides": calendar}, headers=h)).status_code == 200
    us = (await client.post("/v1/disputes", json=claim | {"account_id": other["id"]}, headers=h)).json()
    assert us["due_on"] == "2026-12-29"
    assert us["deadline"] == {
        "business_days": 5,
        "holidays": [{"date": "2026-12-25", "name": "Christmas Day"}],
        "weekends": 1,
        "reason": "due 2026-12-29: 5 business days from 2026-12-21, skipping 2026-12-25 Christmas Day and "
        "the weekend",
    }
    clock.at = datetime(2026, 12, 29, 9, tzinfo=UTC)
    assert (await client.get(f"/v1/disputes/{plain['id']}", headers=h)).json()["overdue"]
    assert not (await client.get(f"/v1/disputes/{us['id']}", headers=h)).json()["overdue"]
    overdue = (await client.get("/v1/disputes?overdue=true", headers=h)).json()["items"]
    assert [(d["id"], d["due_on"]) for d in overdue] == [(plain["id"], "2026-12-28")]  # kept as opened
    r = await client.put(
        "/v1/settings",
        json={"overrides": {"calendar": {"country": "Atlantis"}}},
        headers={**h, "If-Match": "*"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "overrides.calendar.country"


async def test_the_dispute_log_measures_decisions_against_their_deadlines(app, client, tenant, monkeypatch):
    """Three claims opened on Monday 2026-12-21 on the US calendar (due Tuesday 29): one decided on
    Wednesday 23 (2 business days, on time), one overridden on Wednesday 30 (6 business days, late), one
    still open then (overdue)."""
    h = tenant.headers
    book = await hq_in_james_boundary(client, h)
    await touches(client, h, book["sarah"], 3)
    initech = await f.account(client, h, external_id="INITECH", name="Initech", region="East")
    umbrella = await f.account(client, h, external_id="UMBRELLA", name="Umbrella", region="East")
    calendar = {"calendar": {"country": "US"}}
    assert (await client.put("/v1/settings", json={"overrides": calendar}, headers=h)).status_code == 200
    clock = FixedClock(datetime(2026, 12, 21, 9, tzinfo=UTC))
    monkeypatch.setattr(app.state.ctx, "clock", clock)
    opened = {}
    for account in (book["account"], initech, umbrella):
        claim = {"account_id": account["id"], "claimant_rep_id": book["sarah"]["id"], "basis": "other"}
        r = await client.post("/v1/disputes", json=claim, headers=h)
        assert r.status_code == 201, r.text
        opened[account["external_id"]] = r.json()
        clock.advance(minutes=1)
    assert opened["GLOBEX"]["proposal"]["rule"] == "existing_relationship"
    assert opened["INITECH"]["proposal"]["rule"] == "boundary"
    clock.at = datetime(2026, 12, 23, 15, tzinfo=UTC)
    r = await client.post(f"/v1/disputes/{opened['GLOBEX']['id']}/decision", json={"note": "ok"}, headers=h)
    assert r.status_code == 200
    clock.at = datetime(2026, 12, 30, 10, tzinfo=UTC)
    override = {"owner_rep_id": book["sarah"]["id"], "note": "Sarah sourced it"}
    r = await client.post(f"/v1/disputes/{opened['INITECH']['id']}/decision", json=override, headers=h)
    assert r.status_code == 200

    log = (await client.get("/v1/reports/dispute-log", headers=h)).json()
    rows = {d["account_external_id"]: d for d in log["disputes"]}
    assert [d["account_external_id"] for d in log["disputes"]] == ["GLOBEX", "INITECH", "UMBRELLA"]
    globex, late, open_ = rows["GLOBEX"], rows["INITECH"], rows["UMBRELLA"]
    assert (globex["timeliness"], globex["business_days_to_decision"], globex["overridden"]) == (
        "on_time",
        2,
        False,
    )
    assert globex["claimant_name"] == "Sarah Chen" and globex["owner_name"] == "James Okafor"
    assert globex["due_on"] == "2026-12-29" and globex["rule"] == "existing_relationship"
    assert (late["timeliness"], late["business_days_to_decision"], late["overridden"]) == ("late", 6, True)
    assert late["rule"] == "boundary" and late["decided_owner_name"] == "Sarah Chen"
    assert late["owner_name"] is None  # nobody owned Initech when it was claimed
    assert (open_["timeliness"], open_["business_days_to_decision"], open_["overridden"]) == (
        "overdue",
        None,
        None,
    )
    assert log["summary"] == {
        "disputes": 3,
        "by_state": {"open": 1, "decided": 2},
        "by_timeliness": {"on_time": 1, "late": 1, "overdue": 1},
        "decided": 2,
        "median_business_days": 4.0,
        "p90_business_days": 6.0,
        "on_time_share": 0.5,
        "overrides": 1,
        "by_rule": [
            {"rule": "boundary", "decisions": 1, "confirmed": 0, "overridden": 1},
            {"rule": "existing_relationship", "decisions": 1, "confirmed": 1, "overridden": 0},
        ],
    }
    assert log["listed"] == 3

    csv = await client.get("/v1/reports/dispute-log?format=csv", headers=h)
    lines = csv.text.strip().splitlines()
    assert csv.headers["content-type"].startswith("text/csv") and len(lines) == 4
    assert lines[0].startswith("dispute_id,account_id,account_external_id") and "timeliness" in lines[0]
    none = (await client.get("/v1/reports/dispute-log?since=2026-12-22", headers=h)).json()
    assert none["summary"]["disputes"] == 0 and none["disputes"] == []
    day = (await client.get("/v1/reports/dispute-log?since=2026-12-21&until=2026-12-21", headers=h)).json()
    assert day["summary"]["disputes"] == 3
    r = await client.get("/v1/reports/dispute-log?since=2026-12-22&until=2026-12-21", headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "until"

    query = """{ disputeLog(until: "2026-12-31") { summary { decided onTimeShare byRule { rule overridden } }
        disputes { accountExternalId timeliness } } }"""
    data = (await client.post("/graphql", json={"query": query}, headers=h)).json()["data"]["disputeLog"]
    assert data["summary"]["decided"] == 2 and data["summary"]["onTimeShare"] == 0.5
    assert data["disputes"][1] == {"accountExternalId": "INITECH", "timeliness": "LATE"}


RECORD_FIRST = {
    "rules": [
        {"kind": "named_account"},
        {"kind": "territory_of_record"},
        {"kind": "existing_relationship", "min_touches": 2, "window_days": 90},
        {"kind": "boundary"},
    ]
}


async def test_a_dry_run_names_the_disputes_a_reordered_policy_rules_differently_and_saves_nothing(
    client, tenant
):
    h = tenant.headers
    book = await hq_in_james_boundary(client, h)
    await touches(client, h, book["sarah"], 3)
    initech = await f.account(client, h, external_id="INITECH", name="Initech", region="East")
    opened = []
    for account in (book["account"], initech):
        claim = {"account_id": account["id"], "claimant_rep_id": book["sarah"]["id"], "basis": "other"}
        opened.append((await client.post("/v1/disputes", json=claim, headers=h)).json())
    assert opened[0]["proposal"]["rule"] == "existing_relationship"

    r = await client.post("/v1/engagement/policy/dry-run", json=RECORD_FIRST, headers=h)
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["policy_version"] == 0 and run["sentences"][1].startswith("2. The territory of record")
    assert run["disputes"]["open"] == 2 and run["disputes"]["changed"] == 1
    (change,) = run["disputes"]["items"]
    assert change["dispute_id"] == opened[0]["id"] and change["account_name"] == "Globex"
    assert change["claimant_name"] == "Sarah Chen" and change["owner_changes"]
    assert (change["now"]["owner_name"], change["now"]["rule"]) == ("Sarah Chen", "existing_relationship")
    assert (change["proposed"]["owner_name"], change["proposed"]["rule"]) == (
        "James Okafor",
        "territory_of_record",
    )
    assert change["proposed"]["sentence"].startswith("The territory of record is the owner of record")
    assert change["now"]["reason"].startswith("Sarah Chen by existing_relationship: 3 meaningful touches")

    policy = (await client.get("/v1/engagement/policy", headers=h)).json()
    assert policy["version"] == 0 and policy["rules"][1]["kind"] == "existing_relationship"  # nothing saved
    same = (await client.post("/v1/engagement/policy/dry-run", json={}, headers=h)).json()
    assert same["disputes"] == {"open": 2, "changed": 0, "items": []}
    bad = await client.post("/v1/engagement/policy/dry-run", json={"rules": [{"kind": "lease"}]}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "rules[0].days"
    denied = await client.post("/v1/engagement/policy/dry-run", json={}, headers=tenant.read_headers)
    assert denied.status_code == 403

    query = """query($p: JSON!) { dryRunEngagementPolicy(policy: $p) {
        ... on PolicyDryRun { disputes { changed items { ownerChanges proposed { rule } } } }
        ... on Problem { code } } }"""
    r = await client.post("/graphql", json={"query": query, "variables": {"p": RECORD_FIRST}}, headers=h)
    assert r.json()["data"]["dryRunEngagementPolicy"]["disputes"] == {
        "changed": 1,
        "items": [{"ownerChanges": True, "proposed": {"rule": "territory_of_record"}}],
    }
    r = await client.post(
        "/graphql", json={"query": query, "variables": {"p": {"tiebreak": ["coin"]}}}, headers=h
    )
    assert r.json()["data"]["dryRunEngagementPolicy"] == {"code": "validation_failed"}


async def test_the_claim_kind_decides_the_role_and_an_sdr_cannot_claim_an_engaged_account(client, tenant):
    h = tenant.headers
    book = await hq_in_james_boundary(client, h)
    sdr = await f.rep(client, h, name="Nia Obi", role="SDR")
    claim = {"account_id": book["account"]["id"], "claimant_rep_id": sdr["id"], "basis": "other"}

    # nobody has engaged Globex: outbound prospecting, the SDR's
    r = await client.post("/v1/disputes", json=claim | {"role": "SDR"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["proposal"]["claim"] == {
        "kind": "outbound",
        "role": "SDR",
        "sentence": "Outbound prospecting into an account nobody has engaged belongs to the SDR "
        "(roles.outbound).",
    }
    await client.post(f"/v1/disputes/{r.json()['id']}/withdraw", headers=h)

    # once Sarah has worked it, a claim on it is new business: the AE's, and the SDR's claim is refused
    await touches(client, h, book["sarah"], 3)
    r = await client.post("/v1/disputes", json=claim | {"role": "SDR"}, headers=h)
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert (error["field"], error["code"]) == ("role", "role_not_for_claim")
    assert error["message"] == (
        "The SDR role has no claim here: the account is cold and engaged (3 meaningful touches in the "
        "relationship window), so a claim on it is new business, which belongs to the AE "
        "(roles.new_business)."
    )
    claim = claim | {"claimant_rep_id": book["sarah"]["id"]}
    r = await client.post("/v1/disputes", json=claim, headers=h)  # the AE role, by default
    assert r.json()["proposal"]["claim"]["kind"] == "new_business"


async def test_post_sale_is_the_csms_and_the_grey_zones_follow_the_policy(client, tenant):
    h = tenant.headers
    book = await hq_in_james_boundary(client, h)
    csm = await f.rep(client, h, name="Ines Duarte", role="CSM")
    account = book["account"]
    await client.patch(f"/v1/accounts/{account['id']}", json={"stage": "customer"}, headers=h)
    as_csm = {"account_id": account["id"], "claimant_rep_id": csm["id"], "basis": "other", "role": "CSM"}
    r = await client.post("/v1/disputes", json=as_csm, headers=h)
    assert r.json()["proposal"]["claim"]["kind"] == "post_sale"
    await client.post(f"/v1/disputes/{r.json()['id']}/withdraw", headers=h)
    as_ae = {"account_id": account["id"], "claimant_rep_id": book["sarah"]["id"], "basis": "other"}
    r = await client.post("/v1/disputes", json=as_ae, headers=h)
    assert r.json()["proposal"]["claim"]["kind"] == "expansion"  # more business in a customer: the AE's
    await client.post(f"/v1/disputes/{r.json()['id']}/withdraw", headers=h)

    # a churned customer won back is the AE's by default; the policy can give it to the CSM
    await client.patch(f"/v1/accounts/{account['id']}", json={"stage": "lapsed"}, headers=h)
    r = await client.post("/v1/disputes", json=as_csm, headers=h)
    assert r.status_code == 422 and "winning back a churned customer" in r.json()["errors"][0]["message"]
    policy = {"roles": {"reengagement": "CSM"}}
    assert (await client.put("/v1/engagement/policy", json=policy, headers=h)).status_code == 200
    r = await client.post("/v1/disputes", json=as_csm, headers=h)
    assert r.status_code == 201 and r.json()["proposal"]["claim"]["kind"] == "reengagement"


async def test_the_dispute_log_takes_the_last_day_there_is(client, tenant):
    """until=9999-12-31 ends the period after the last day a date can hold: the log, not a 500."""
    h = tenant.headers
    book = await hq_in_james_boundary(client, h)
    claim = {"account_id": book["account"]["id"], "claimant_rep_id": book["sarah"]["id"], "basis": "other"}
    assert (await client.post("/v1/disputes", json=claim, headers=h)).status_code == 201
    for params in ({"until": "9999-12-31"}, {"since": "0001-01-01", "until": "9999-12-31", "format": "csv"}):
        r = await client.get("/v1/reports/dispute-log", params=params, headers=h)
        assert r.status_code == 200, r.text
    assert r.text.count("\n") == 2  # the header and the one dispute
    q = '{ disputeLog(until: "9999-12-31") { listed } }'
    r = await client.post("/graphql", json={"query": q}, headers=h)
    assert r.json()["data"]["disputeLog"]["listed"] == 1, r.text


async def test_a_dry_run_names_the_owners_assigning_by_rules_would_change(client, tenant):
    """Globex's HQ is in James's boundary, and James owns it; Sarah has worked it since. The policy in
    force gives it to Sarah (the relationship beats the boundary); a proposal without the relationship
    rule keeps it with James: the dry run names it, with both placements, and moves nothing."""
    h = tenant.headers
    book = await hq_in_james_boundary(client, h)
    await touches(client, h, book["sarah"], 3)
    await f.account(client, h, external_id="INITECH", name="Initech", region="East")  # James's either way
    proposal = {"rules": [{"kind": "named_account"}, {"kind": "boundary"}]}
    run = (await client.post("/v1/engagement/policy/dry-run", json=proposal, headers=h)).json()
    owners = run["owners"]
    assert (owners["plan_id"], owners["role"], owners["accounts"], owners["changed"]) == (
        book["plan"]["id"],
        "AE",
        2,
        1,
    )
    (change,) = owners["items"]
    assert (change["external_id"], change["owner_name"]) == ("GLOBEX", "James Okafor")
    assert (change["now"]["rep_name"], change["now"]["rule"]) == ("Sarah Chen", "existing_relationship")
    assert change["now"]["note"].startswith("existing relationship: Sarah Chen has 3 meaningful touches")
    assert (change["proposed"]["rep_name"], change["proposed"]["rule"]) == ("James Okafor", "boundary")
    same = (await client.post("/v1/engagement/policy/dry-run", json={}, headers=h)).json()
    assert same["owners"]["changed"] == 0 and same["owners"]["items"] == []
    lookup = (await client.get("/v1/ownership/GLOBEX", headers=h)).json()
    assert lookup["rep"]["name"] == "James Okafor"  # nothing moved
    query = """query($p: JSON!) { dryRunEngagementPolicy(policy: $p) {
        ... on PolicyDryRun { owners { changed items { externalId proposed { repName rule } } } } } }"""
    r = await client.post("/graphql", json={"query": query, "variables": {"p": proposal}}, headers=h)
    assert r.json()["data"]["dryRunEngagementPolicy"]["owners"] == {
        "changed": 1,
        "items": [{"externalId": "GLOBEX", "proposed": {"repName": "James Okafor", "rule": "boundary"}}],
    }
