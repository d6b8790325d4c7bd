"""Assignment by rules over REST, decided by the rules-of-engagement policy: the relationship beats the
HQ's boundary and the note names both reps, the lookup's why reads it, `by_rule` counts the rules; a large
book (or `Prefer: respond-async`) runs as an operation with the same result, and a cancel keeps nothing."""

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from api.services import assigning
from tests import factories as f
from tests.api.test_operations import poll

EAST = {"rules": [{"field": "region", "op": "eq", "value": "East"}]}
WEST = {"rules": [{"field": "region", "op": "eq", "value": "West"}]}


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def book(client, headers, accounts: int = 4) -> dict:
    """James's East holds every account's HQ; Sarah (West) has 2 meetings on the first one."""
    plan = await f.plan(client, headers)
    james = await f.rep(client, headers, name="James Park")
    sarah = await f.rep(client, headers, name="Sarah Chen")
    await f.territory(client, headers, plan["id"], name="East", primary_rep_id=james["id"], boundary=EAST)
    await f.territory(client, headers, plan["id"], name="West", primary_rep_id=sarah["id"], boundary=WEST)
    prefix = plan["id"][:8]
    rows = [
        {"external_id": f"{prefix}-{i}", "name": f"Globex {i}", "region": "East"} for i in range(accounts)
    ]
    await f.imported(client, headers, rows)
    touches = [
        {
            "external_id": f"T-{prefix}-{i}",
            "account_external_id": f"{prefix}-0",
            "rep_external_id": sarah["external_id"],
            "occurred_at": ago(5 + i),
            "kind": "meeting",
        }
        for i in range(2)
    ]
    await f.imported(client, headers, kind="activities", rows=touches)
    return {"plan": plan, "james": james, "sarah": sarah, "first": f"{prefix}-0", "prefix": prefix}


async def owners(client, headers, plan_id) -> dict:
    items = (await client.get(f"/v1/assignments?plan_id={plan_id}&page_size=500", headers=headers)).json()
    accounts = (await client.get("/v1/accounts?page_size=500", headers=headers)).json()["items"]
    external = {a["id"]: a["external_id"] for a in accounts}
    return {external[a["account_id"]]: (a["rep_id"], a["note"]) for a in items["items"]}


async def test_relationship_beats_hq_location_and_the_note_names_both(client, tenant):
    h = tenant.headers
    b = await book(client, h, accounts=3)
    r = await client.post(f"/v1/plans/{b['plan']['id']}/assign-by-rules", headers=h)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["assigned"], result["by_rule"]) == (3, {"boundary": 2, "existing_relationship": 1})
    placed = await owners(client, h, b["plan"]["id"])
    rep_id, note = placed[b["first"]]
    assert rep_id == b["sarah"]["id"]
    assert note == (
        "existing relationship: Sarah Chen has 2 meaningful touches in the last 90 days; "
        "the boundary of East (James Park) holds its headquarters"
    )
    assert placed[f"{b['prefix']}-1"] == (b["james"]["id"], "boundary of East: region = East")
    # the lookup reads the same sentence once the plan is active
    assert (await client.post(f"/v1/plans/{b['plan']['id']}/activate", headers=h)).status_code == 200
    looked = (await client.get(f"/v1/ownership/{b['first']}", headers=h)).json()
    assert looked["rep"]["id"] == b["sarah"]["id"] and looked["territory"]["name"] == "West"
    assert looked["why"] == {"cause": "rule", "reason": note}


async def test_a_territory_of_record_keeps_its_owner_and_a_departed_rep_gets_nothing(
    client, tenant, monkeypatch
):
    h = tenant.headers
    monkeypatch.setattr(assigning, "CHUNK", 1)  # ends and starts written in batches of their own
    b = await book(client, h, accounts=2)
    plan = b["plan"]["id"]
    # a second territory of the same priority holds every account too: the owner of record keeps them
    ann = await f.rep(client, h, name="Ann Lee")
    await f.territory(client, h, plan, name="East too", primary_rep_id=ann["id"], boundary=EAST)
    accounts = (await client.get("/v1/accounts?page_size=500", headers=h)).json()["items"]
    second = next(a for a in accounts if a["external_id"] == f"{b['prefix']}-1")
    body = {"plan_id": plan, "account_id": second["id"], "rep_id": ann["id"], "role": "AE"}
    assert (await client.post("/v1/assignments", json=body, headers=h)).status_code == 201
    result = (await client.post(f"/v1/plans/{plan}/assign-by-rules", headers=h)).json()
    placed = await owners(client, h, plan)
    rep_id, note = placed[f"{b['prefix']}-1"]
    assert rep_id == ann["id"] and note.startswith("territory of record: Ann Lee owns it now")
    assert result["by_rule"] == {"existing_relationship": 1, "territory_of_record": 1}
    assert result["conflicts"]["count"] == 2
    # Sarah leaves: her relationship no longer takes the account; James and Ann tie, the tiebreak decides
    await client.patch(f"/v1/reps/{b['sarah']['id']}", json={"end_date": "2026-01-31"}, headers=h)
    copy = (await client.post(f"/v1/plans/{plan}/copy", json={"name": "Next"}, headers=h)).json()
    again = (await client.post(f"/v1/plans/{copy['id']}/assign-by-rules", headers=h)).json()
    moved = await owners(client, h, copy["id"])
    assert moved[b["first"]][0] in (b["james"]["id"], ann["id"])
    assert b["sarah"]["id"] not in {rep for rep, _ in moved.values()}
    assert again["by_rule"] == {"territory_of_record": 1, "tiebreak": 1}
    assert (again["moved"], again["unchanged"]) == (1, 1)


async def test_prefer_respond_async_runs_an_operation_with_the_same_result(client, tenant, other_tenant):
    h, other = tenant.headers, other_tenant.headers
    sync_book = await book(client, other)  # the same book in another tenant, assigned at once
    r = await client.post(f"/v1/plans/{sync_book['plan']['id']}/assign-by-rules", headers=other)
    assert r.status_code == 200
    sync = r.json()
    async_book = await book(client, h)
    plan = async_book["plan"]["id"]
    r = await client.post(
        f"/v1/plans/{plan}/assign-by-rules", headers=h | {"Prefer": "respond-async, wait=10"}
    )
    assert r.status_code == 202, r.text
    op = r.json()
    assert r.headers["location"] == f"/v1/operations/{op['id']}"
    assert r.headers["preference-applied"] == "respond-async"
    assert op["kind"] == "assign_by_rules" and op["subject_id"] == plan and op["result"] is None
    done = await poll(client, h, op["id"])
    assert done["state"] == "succeeded" and done["progress"] == 1.0, done
    result = done["result"]
    same = ("accounts", "assigned", "moved", "unchanged", "locked", "by_rule")
    assert {k: result[k] for k in same} == {k: sync[k] for k in same}
    assert result["plan_id"] == plan
    placed = await owners(client, h, plan)
    assert placed[async_book["first"]][0] == async_book["sarah"]["id"] and len(placed) == 4


async def test_a_large_book_answers_202_and_a_cancel_leaves_the_draft_as_it_was(client, tenant, monkeypatch):
    h = tenant.headers
    b = await book(client, h)
    plan = b["plan"]["id"]
    monkeypatch.setattr(assigning, "ASSIGN_BY_RULES_OPERATION_ABOVE", 3)  # 4 accounts: a large book here
    monkeypatch.setattr(assigning, "CHUNK", 1)
    second_chunk, release = threading.Event(), threading.Event()
    decide, calls = assigning.decide_chunk, []

    def held(*args, **kwargs):  # the second chunk waits until the test has asked to cancel
        calls.append(1)
        if len(calls) == 2:
            second_chunk.set()
            release.wait(30)
        return decide(*args, **kwargs)

    monkeypatch.setattr(assigning, "decide_chunk", held)
    r = await client.post(f"/v1/plans/{plan}/assign-by-rules", headers=h)
    assert r.status_code == 202, r.text
    op = r.json()
    assert "preference-applied" not in r.headers
    assert await asyncio.to_thread(second_chunk.wait, 30)
    # the first chunk's progress reaches the caller (the heartbeat writes it within a second or so)
    for _ in range(200):
        running = (await client.get(f"/v1/operations/{op['id']}", headers=h)).json()
        if running["progress"] > 0:
            break
        await asyncio.sleep(0.05)
    assert running["state"] == "running", running
    assert (running["progress"], running["message"]) == (0.2, "1 of 4 accounts decided")
    cancel = await client.post(f"/v1/operations/{op['id']}/cancel", headers=h)
    assert cancel.status_code == 202 and cancel.json()["cancel_requested"] is True
    release.set()
    done = await poll(client, h, op["id"])
    assert done["state"] == "cancelled" and done["result"] is None
    assert await owners(client, h, plan) == {}  # nothing was written: the draft is as it was


async def test_graphql_assign_by_rules_answers_the_operation_when_asked(client, tenant):
    h = tenant.headers
    b = await book(client, h)
    m = """mutation($p: UUID!) { assignByRules(planId: $p, respondAsync: true) { __typename
             ... on Operation { id kind } ... on AssignByRules { assigned } } }"""
    r = await client.post("/graphql", json={"query": m, "variables": {"p": b["plan"]["id"]}}, headers=h)
    op = r.json()["data"]["assignByRules"]
    assert (op["__typename"], op["kind"]) == ("Operation", "assign_by_rules"), r.text
    await poll(client, h, op["id"])
    q = """query($id: UUID!) { operation(id: $id) { state result { weightedMoves }
             assigned { assigned byRule } } }"""
    r = await client.post("/graphql", json={"query": q, "variables": {"id": op["id"]}}, headers=h)
    got = r.json()["data"]["operation"]
    assert got == {
        "state": "SUCCEEDED",
        "result": None,
        "assigned": {"assigned": 4, "byRule": {"boundary": 3, "existing_relationship": 1}},
    }


async def test_the_tenants_own_policy_decides(client, tenant):
    """By default an owner whose boundaries no longer hold the account, and who has no relationship with
    it, is no candidate: the boundary moves it. With a relationship of 3 touches required, 2 meetings no
    longer beat the HQ's boundary."""
    h = tenant.headers
    b = await book(client, h, accounts=2)
    plan = b["plan"]["id"]
    accounts = (await client.get("/v1/accounts?page_size=500", headers=h)).json()["items"]
    second = next(a for a in accounts if a["external_id"] == f"{b['prefix']}-1")
    body = {"plan_id": plan, "account_id": second["id"], "rep_id": b["sarah"]["id"], "role": "AE"}
    assert (await client.post("/v1/assignments", json=body, headers=h)).status_code == 201
    default = (await client.post(f"/v1/plans/{plan}/assign-by-rules", headers=h)).json()
    assert default["by_rule"] == {"existing_relationship": 1, "boundary": 1}
    policy = {
        "rules": [
            {"kind": "named_account"},
            {"kind": "existing_relationship", "min_touches": 3, "window_days": 90},
            {"kind": "boundary", "code": "hq_boundary"},
            {"kind": "territory_of_record"},
        ]
    }
    assert (await client.put("/v1/engagement/policy", json=policy, headers=h)).status_code == 200
    ruled = (await client.post(f"/v1/plans/{plan}/assign-by-rules", headers=h)).json()
    assert ruled["by_rule"] == {"hq_boundary": 2} and ruled["moved"] == 1  # the other moved already
    placed = await owners(client, h, plan)
    assert {rep for rep, _ in placed.values()} == {b["james"]["id"]}
    # Sarah's 2 meetings no longer make her a candidate: James's boundary alone decides both
    assert {note for _, note in placed.values()} == {"boundary of East: region = East"}
