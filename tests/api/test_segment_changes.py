"""Segment changes over REST and GraphQL: an account that grows out of its segment keeps its segment of
record and its owner until the review; the review applies the queue in a draft, moving each account to
the territory its new segment puts it in, with the change as the move's reason."""

from datetime import UTC, datetime, timedelta

from domain.engagement import next_quarter_start
from tests import factories as f

SMB = {"rules": [{"field": "segment", "op": "eq", "value": "smb"}]}
MID = {"rules": [{"field": "segment", "op": "eq", "value": "mid_market"}]}


def today():
    return datetime.now(UTC).date()


async def segment_book(client, h) -> dict:
    """Sarah Chen owns the SMB territory, James Park the mid-market one; Acme ($500K) is Sarah's."""
    plan = await f.plan(client, h)
    sarah = await f.rep(client, h, name="Sarah Chen")
    james = await f.rep(client, h, name="James Park")
    smb = await f.territory(client, h, plan["id"], name="SMB", primary_rep_id=sarah["id"], boundary=SMB)
    mid = await f.territory(
        client, h, plan["id"], name="Mid-Market", primary_rep_id=james["id"], boundary=MID
    )
    acme = await f.account(client, h, external_id="ACME", name="Acme", annual_revenue=500_000)
    assert (await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=h)).status_code == 200
    assert (await client.post(f"/v1/plans/{plan['id']}/activate", headers=h)).status_code == 200
    return {"plan": plan, "sarah": sarah, "james": james, "smb": smb, "mid": mid, "acme": acme}


async def owner_name(client, h, external_id="ACME") -> str:
    return (await client.get(f"/v1/ownership/{external_id}?role=AE", headers=h)).json()["rep"]["name"]


async def test_growing_past_the_line_waits_for_the_review_then_moves_in_the_draft(client, tenant):
    h = tenant.headers
    book = await segment_book(client, h)
    acme = book["acme"]
    assert acme["segment"] == "smb"

    r = await client.patch(f"/v1/accounts/{acme['id']}", json={"annual_revenue": 5_000_000}, headers=h)
    assert r.status_code == 200
    assert r.json()["segment"] == "smb"  # the segment of record waits for the review
    due = next_quarter_start(today()).isoformat()
    pending = (await client.get("/v1/segment-changes?state=pending", headers=h)).json()["items"]
    assert len(pending) == 1
    change = pending[0]
    assert (change["account_id"], change["from_segment"], change["to_segment"]) == (
        acme["id"],
        "smb",
        "mid_market",
    )
    assert change["due_on"] == due and change["outcome"] is None
    assert change["reason"] == (
        f"segment change: Acme grew from smb to mid_market on {today().isoformat()}; "
        f"reassigned at the quarterly review of {due}"
    )
    assert await owner_name(client, h) == "Sarah Chen"  # the active plan's owner does not change

    # assigning by rules again in a draft keeps it with Sarah: its segment of record is still smb
    early = (await client.post(f"/v1/plans/{book['plan']['id']}/copy", headers=h)).json()
    assert (await client.post(f"/v1/plans/{early['id']}/assign-by-rules", headers=h)).json()["moved"] == 0

    # the review, in a draft
    r = await client.post("/v1/segment-changes/apply", json={"plan_id": book["plan"]["id"]}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "plan_not_draft"
    draft = (await client.post(f"/v1/plans/{book['plan']['id']}/copy", headers=h)).json()
    r = await client.post("/v1/segment-changes/apply", json={"plan_id": draft["id"]}, headers=h)
    assert r.status_code == 200, r.text
    applied = r.json()
    assert applied["applied"] == 1 and applied["held"] == 0 and applied["outcomes"] == {"moved": 1}
    moved = applied["changes"][0]
    assert moved["state"] == "applied" and moved["plan_id"] == draft["id"]
    territory = (await client.get(f"/v1/territories/{moved['territory_id']}", headers=h)).json()
    assert (territory["name"], territory["plan_id"]) == ("Mid-Market", draft["id"])  # the draft's copy
    assert moved["rep_id"] == book["james"]["id"]
    assert moved["reason"] == change["reason"]

    rows = (await client.get(f"/v1/assignments?plan_id={draft['id']}", headers=h)).json()["items"]
    (asg,) = [a for a in rows if a["account_id"] == acme["id"]]
    assert asg["rep_id"] == book["james"]["id"] and asg["territory_id"] == territory["id"]
    assert asg["note"] == change["reason"]
    assert await owner_name(client, h) == "Sarah Chen"  # until the draft is activated
    assert (await client.get(f"/v1/accounts/{acme['id']}", headers=h)).json()["segment"] == "mid_market"

    listed = (await client.get("/v1/segment-changes?state=applied", headers=h)).json()["items"]
    assert [c["id"] for c in listed] == [change["id"]]
    assert (await client.get("/v1/segment-changes?state=pending", headers=h)).json()["items"] == []

    assert (await client.post(f"/v1/plans/{draft['id']}/activate", headers=h)).status_code == 200
    owner = (await client.get("/v1/ownership/ACME?role=AE", headers=h)).json()
    assert owner["rep"]["name"] == "James Park" and owner["why"]["reason"] == change["reason"]


async def test_a_change_not_due_by_the_review_day_waits_and_one_taken_back_is_cancelled(client, tenant):
    h = tenant.headers
    book = await segment_book(client, h)
    other = await f.account(client, h, external_id="BETA", name="Beta", annual_revenue=200_000)
    # an import counts as well as a PATCH
    rows = [{"external_id": "BETA", "name": "Beta", "annual_revenue": 20_000_000}]
    await f.imported(client, h, rows=rows)
    await client.patch(f"/v1/accounts/{book['acme']['id']}", json={"annual_revenue": 2_000_000}, headers=h)
    pending = (await client.get("/v1/segment-changes?state=pending", headers=h)).json()["items"]
    assert {(c["external_id"], c["to_segment"]) for c in pending} == {
        ("BETA", "enterprise"),
        ("ACME", "mid_market"),
    }
    assert (await client.get(f"/v1/accounts/{other['id']}", headers=h)).json()["segment"] == "smb"
    first = (await client.get("/v1/segment-changes?page_size=1", headers=h)).json()
    token = first["next_page_token"]
    second = (await client.get(f"/v1/segment-changes?page_size=1&page_token={token}", headers=h)).json()
    assert {c["id"] for c in first["items"] + second["items"]} == {c["id"] for c in pending}
    assert second["next_page_token"] is None
    only = (await client.get(f"/v1/segment-changes?account_id={other['id']}", headers=h)).json()["items"]
    assert [c["external_id"] for c in only] == ["BETA"]

    # Acme shrinks back before the review: nothing is left to reassign
    await client.patch(f"/v1/accounts/{book['acme']['id']}", json={"annual_revenue": 900_000}, headers=h)
    cancelled = (await client.get("/v1/segment-changes?state=cancelled", headers=h)).json()["items"]
    assert [c["external_id"] for c in cancelled] == ["ACME"]

    draft = (await client.post(f"/v1/plans/{book['plan']['id']}/copy", headers=h)).json()
    yesterday = (today() - timedelta(days=1)).isoformat()
    r = await client.post(
        "/v1/segment-changes/apply", json={"plan_id": draft["id"], "due_by": yesterday}, headers=h
    )
    assert r.json()["applied"] == 0 and r.json()["held"] == 1
    r = await client.post("/v1/segment-changes/apply", json={"plan_id": draft["id"]}, headers=h)
    # Beta had no owner and no territory holds an enterprise account: listed, never dropped
    assert r.json()["outcomes"] == {"unmatched": 1}
    assert (await client.get(f"/v1/accounts/{other['id']}", headers=h)).json()["segment"] == "enterprise"
    due = (await client.get(f"/v1/segment-changes?due_by={yesterday}", headers=h)).json()["items"]
    assert due == []


async def test_with_the_policy_off_a_segment_change_is_at_once_and_nothing_is_queued(client, tenant):
    h = tenant.headers
    book = await segment_book(client, h)
    r = await client.put("/v1/engagement/policy", json={"segment_change_at_review": False}, headers=h)
    assert r.status_code == 200
    r = await client.patch(
        f"/v1/accounts/{book['acme']['id']}", json={"annual_revenue": 5_000_000}, headers=h
    )
    assert r.json()["segment"] == "mid_market"
    assert (await client.get("/v1/segment-changes", headers=h)).json()["items"] == []
    # a new account takes its segment at once whatever the policy
    assert (await f.account(client, h, annual_revenue=50_000_000))["segment"] == "enterprise"


async def test_graphql_lists_and_applies_the_queue(client, tenant):
    h = tenant.headers
    book = await segment_book(client, h)
    await client.patch(f"/v1/accounts/{book['acme']['id']}", json={"annual_revenue": 5_000_000}, headers=h)
    draft = (await client.post(f"/v1/plans/{book['plan']['id']}/copy", headers=h)).json()
    query = "{ segmentChanges(state: PENDING) { nodes { externalId fromSegment toSegment reason } } }"
    r = await client.post("/graphql", json={"query": query}, headers=h)
    (item,) = r.json()["data"]["segmentChanges"]["nodes"]
    assert (item["externalId"], item["fromSegment"], item["toSegment"]) == ("ACME", "SMB", "MID_MARKET")
    mutation = (
        "mutation($in: SegmentChangeApplyInput!) { applySegmentChanges(input: $in) { "
        "... on SegmentChangeApplied { applied changes { outcome repId } } } }"
    )
    r = await client.post(
        "/graphql", json={"query": mutation, "variables": {"in": {"planId": draft["id"]}}}, headers=h
    )
    applied = r.json()["data"]["applySegmentChanges"]
    assert applied["applied"] == 1 and applied["changes"][0]["outcome"] == "MOVED"
    assert applied["changes"][0]["repId"] == book["james"]["id"]


async def test_tenants_see_only_their_own_queue(client, tenant, other_tenant):
    book = await segment_book(client, tenant.headers)
    await client.patch(
        f"/v1/accounts/{book['acme']['id']}", json={"annual_revenue": 5_000_000}, headers=tenant.headers
    )
    assert (await client.get("/v1/segment-changes", headers=other_tenant.headers)).json()["items"] == []
    r = await client.post(
        "/v1/segment-changes/apply", json={"plan_id": book["plan"]["id"]}, headers=other_tenant.headers
    )
    assert r.status_code == 404


async def test_a_removed_account_leaves_nothing_to_reassign(client, tenant):
    h = tenant.headers
    book = await segment_book(client, h)
    await client.patch(f"/v1/accounts/{book['acme']['id']}", json={"annual_revenue": 5_000_000}, headers=h)
    assert (await client.delete(f"/v1/accounts/{book['acme']['id']}", headers=h)).status_code == 204
    changes = (await client.get("/v1/segment-changes", headers=h)).json()["items"]
    assert [c["state"] for c in changes] == ["cancelled"]
