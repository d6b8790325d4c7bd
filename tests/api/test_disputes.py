"""Disputes over REST: a claim with the engine's own evidence, the policy's proposal, a decision with a
note, applying it as an owner change (lookups, history, events), the states, scopes and tenants apart."""

from datetime import UTC, date, datetime, timedelta

from domain.engagement import business_deadline
from tests import factories as f


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
    assert (
        dispute["due_on"] == business_deadline(date.fromisoformat(dispute["opened_at"][:10]), 5).isoformat()
    )
    assert not dispute["overdue"]

    r = await client.post(f"/v1/disputes/{dispute['id']}/apply", headers=h)
    assert r.status_code == 409  # decided first
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
        ... on Dispute { id state proposal { rule claimantWins evidence { name meaningfulTouches } } }
        ... on Problem { code } } }"""
    claim = {"accountId": book["account"]["id"], "claimantRepId": book["sarah"]["id"], "basis": "SOURCED_IT"}
    r = await client.post("/graphql", json={"query": opened, "variables": {"i": claim}}, headers=h)
    dispute = r.json()["data"]["openDispute"]
    assert dispute["state"] == "OPEN" and dispute["proposal"]["rule"] == "existing_relationship"
    decide = """mutation($id: UUID!) {
        decideDispute(id: $id, input: {note: "agreed"}) { ... on Dispute { state } } }"""
    r = await client.post("/graphql", json={"query": decide, "variables": {"id": dispute["id"]}}, headers=h)
    assert r.json()["data"]["decideDispute"] == {"state": "DECIDED"}
    apply = """mutation($id: UUID!) {
        applyDispute(id: $id) { ... on Dispute { state } ... on Problem { code } } }"""
    r = await client.post("/graphql", json={"query": apply, "variables": {"id": dispute["id"]}}, headers=h)
    assert r.json()["data"]["applyDispute"] == {"state": "APPLIED"}
    r = await client.post("/graphql", json={"query": apply, "variables": {"id": dispute["id"]}}, headers=h)
    assert r.json()["data"]["applyDispute"] == {"code": "conflict"}
    listed = "{ disputes(state: APPLIED) { items { id overdue } } }"
    r = await client.post("/graphql", json={"query": listed}, headers=h)
    assert r.json()["data"]["disputes"]["items"] == [{"id": dispute["id"], "overdue": False}]


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
