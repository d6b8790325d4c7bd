"""Rebalance proposals, rep departures and arrivals: drafts with their moves and reasons, and the rules of
engagement a departure and an arrival apply."""

from datetime import UTC, datetime, timedelta

from tests import factories as f
from tests.factories import count_statements


async def test_rebalance_proposal_fixes_seed_003s_east_heavy_plan_in_a_draft(client, tenant, other_tenant):
    """20 enterprise and 500 SMB accounts, 10 geographic reps; East holds 5 enterprise accounts, West 2."""
    plan, _ = await f.seed_003_plan(client, tenant.headers)
    before = (await client.get(f"/v1/plans/{plan['id']}/equity", headers=tenant.headers)).json()
    assert before["by_rep"]["potential"]["status"] == "rebalance"
    r = await client.post(f"/v1/plans/{plan['id']}/rebalance-proposals", headers=tenant.headers)
    assert r.status_code == 201, r.text
    proposal = r.json()
    assert proposal["violations"] == []
    # the book needs a share of ten ramped reps' hours: said, not churned over; the same share /v1/capacity
    # gives (one definition of a book's workload: tier 3 reactive, tier outreach plus segment visits)
    capacity = (await client.get("/v1/capacity", headers=tenant.headers)).json()
    share = capacity["needed"] / capacity["available"]
    assert f"{share:.0%}" == "55%"
    assert proposal["infeasible"] == [
        f"the book needs {share:.0%} of the team's capacity: not every rep can be within 20% of capacity "
        "(hire, raise the tier threshold, or resize the team)"
    ]
    assert proposal["equity_after"]["by_rep"]["potential"]["status"] in ("fine", "watch")
    assert 0 < proposal["moves"]["count"] <= 60  # few moves, not a reshuffle
    # every reason names the account, both reps and their territories; the ids and figures are fields
    reps = {
        r["id"]: r["name"] for r in (await client.get("/v1/reps", headers=tenant.headers)).json()["items"]
    }
    names = {
        t["id"]: t["name"]
        for t in (
            await client.get(f"/v1/territories?plan_id={proposal['plan_id']}", headers=tenant.headers)
        ).json()["items"]
    }
    for m in proposal["moves"]["accounts"]:
        source, target = reps[m["from_rep"]], reps[m["to_rep"]]
        assert m["reason"].startswith(
            f"Move e from {source}'s territory {names[m['from_territory_id']]} to "
            f"{target}'s territory {names[m['to_territory_id']]}: balance: "
        )
        assert m["from_rep"] not in m["reason"] and m["to_rep"] not in m["reason"]
        assert m["rule"] == "balance" and m["amount"] == m["factors"][0]["amount"] > 0
        first = m["factors"][0]
        assert f"{reps[first['rep_id']]} was {first['amount']:,.0f} " in m["reason"]
    assert proposal["lower_bound"] <= proposal["weighted_moves"]
    # nothing changed in the active plan; the draft holds the moves
    plans = {
        x["id"]: x["state"] for x in (await client.get("/v1/plans", headers=tenant.headers)).json()["items"]
    }
    assert plans[plan["id"]] == "active" and plans[proposal["plan_id"]] == "draft"
    again = (await client.get(f"/v1/plans/{plan['id']}/equity", headers=tenant.headers)).json()
    assert again["by_rep"]["potential"] == before["by_rep"]["potential"]
    diff = (
        await client.get(f"/v1/plans/compare?a={plan['id']}&b={proposal['plan_id']}", headers=tenant.headers)
    ).json()
    assert diff["moves"]["count"] == proposal["moves"]["count"]
    assert (
        await client.post(f"/v1/plans/{plan['id']}/rebalance-proposals", headers=other_tenant.headers)
    ).status_code == 404


async def test_graphql_propose_rebalance(client, tenant):
    owned = await f.owned_account(client, tenant.headers, current_arr=100_000)
    await f.rep(client, tenant.headers)  # a second AE with nothing: the book is out of balance
    await client.post("/v1/scoring/run", headers=tenant.headers)
    m = """mutation($p: UUID!) { proposeRebalance(planId: $p) { __typename
             ... on RebalanceProposal { moves { count } infeasible lowerBound }
             ... on Problem { code } } }"""
    r = await client.post(
        "/graphql", json={"query": m, "variables": {"p": owned["plan"]["id"]}}, headers=tenant.headers
    )
    got = r.json()["data"]["proposeRebalance"]
    # one account cannot be split between two reps: reported, not a crash, by name
    assert got["__typename"] == "RebalanceProposal" and got["infeasible"]
    name = owned["account"]["name"]
    assert got["infeasible"][0].startswith(f"{name}: potential ") and owned["account"]["id"] not in str(got)


async def test_rep_departure_freezes_open_pipeline_and_reassigns_tier_1_first(client, tenant, other_tenant):
    leaving, a, b, interim = [
        await f.rep(client, tenant.headers, name=n) for n in ("Lea", "Ann", "Bo", "Ivy")
    ]
    plan = await f.plan(client, tenant.headers)
    sizes = {"Lea": (leaving, 6), "Ann": (a, 2), "Bo": (b, 2)}
    books = {
        name: (
            rep,
            [{"external_id": f"{name}-{k}", "name": "x", "current_arr": 100_000 * (k + 1)} for k in range(n)],
        )
        for name, (rep, n) in sizes.items()
    }
    await f.named_books(client, tenant.headers, plan["id"], books)
    opp = [{"external_id": "O1", "account_external_id": "Lea-0", "amount": 50_000, "status": "open"}]
    assert (
        await client.post("/v1/opportunities/import", json=opp, headers=tenant.headers)
    ).status_code == 200
    await client.post("/v1/scoring/run", headers=tenant.headers)
    await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=tenant.headers)
    await client.post(f"/v1/plans/{plan['id']}/activate", headers=tenant.headers)

    body = {"date": "2026-12-31", "interim_rep_id": interim["id"]}
    r = await client.post(f"/v1/reps/{leaving['id']}/departure", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    proposal = r.json()
    moves = {m["account_id"]: m for m in proposal["moves"]["accounts"]}
    assert len(moves) == 6 and all(m["from_rep"] == leaving["id"] for m in moves.values())
    lea0 = (await client.get("/v1/accounts/by-external-id/Lea-0", headers=tenant.headers)).json()
    frozen = moves[lea0["id"]]
    assert frozen["to_rep"] == interim["id"] and "interim owner of open pipeline" in frozen["reason"]
    others = [m for k, m in moves.items() if k != lea0["id"]]
    assert {m["to_rep"] for m in others} <= {a["id"], b["id"], interim["id"]}
    assert all(
        m["reason"].startswith("Move x from Lea's territory Lea to ")
        and ": departure: Lea leaves on 2026-12-31" in m["reason"]
        and m["rule"] == "departure"
        for m in others
    )
    # the draft holds it, locked for the interim owner; the end date is set; the active plan is unchanged
    asg = (
        await client.get(
            f"/v1/assignments?plan_id={proposal['plan_id']}&account_id={lea0['id']}", headers=tenant.headers
        )
    ).json()["items"][0]
    assert (asg["rep_id"], asg["locked"], asg["reason"]) == (interim["id"], True, "departure")
    assert (await client.get(f"/v1/reps/{leaving['id']}", headers=tenant.headers)).json()[
        "end_date"
    ] == "2026-12-31"
    assert (await client.get("/v1/ownership/Lea-0", headers=tenant.headers)).json()["rep"]["id"] == leaving[
        "id"
    ]
    bad = await client.post(
        f"/v1/reps/{a['id']}/departure",
        json={"date": "2026-12-31", "interim_rep_id": a["id"]},
        headers=tenant.headers,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "interim_rep_id"
    assert (
        await client.post(f"/v1/reps/{a['id']}/departure", json=body, headers=other_tenant.headers)
    ).status_code == 404


async def test_graphql_rep_departure(client, tenant):
    owned = await f.owned_account(client, tenant.headers, current_arr=1000)
    other = await f.rep(client, tenant.headers)
    m = """mutation($r: UUID!) { repDeparture(repId: $r, date: "2026-12-31") { __typename
             ... on RebalanceProposal { moves { count accounts { toRep reason } } }
             ... on Problem { code } } }"""
    r = await client.post(
        "/graphql", json={"query": m, "variables": {"r": owned["rep"]["id"]}}, headers=tenant.headers
    )
    got = r.json()["data"]["repDeparture"]
    assert got["moves"]["count"] == 1 and got["moves"]["accounts"][0]["toRep"] == other["id"]


async def test_rep_arrival_carves_a_territory_sized_for_ramp(client, tenant):
    a, b = await f.rep(client, tenant.headers, name="Ann"), await f.rep(client, tenant.headers, name="Bo")
    plan = await f.plan(client, tenant.headers)
    books = {
        name: (rep, [{"external_id": f"{name}-{k}", "name": "x", "current_arr": 10_000} for k in range(10)])
        for name, rep in (("Ann", a), ("Bo", b))
    }
    await f.named_books(client, tenant.headers, plan["id"], books, named=False)  # named ones stay (below)
    await client.post("/v1/scoring/run", headers=tenant.headers)
    await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=tenant.headers)
    await client.post(f"/v1/plans/{plan['id']}/activate", headers=tenant.headers)
    new = await f.rep(client, tenant.headers, name="Nia", ramp_status="new_hire")
    r = await client.post(
        f"/v1/reps/{new['id']}/arrival", json={"territory_name": "North"}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    proposal = r.json()
    # shares 1 : 1 : 0.5 (a new hire at 50%) of 200,000 -> 80,000 : 80,000 : 40,000: four accounts move
    assert proposal["moves"]["count"] == 4 and proposal["violations"] == []
    assert all(
        m["to_rep"] == new["id"]
        and m["reason"].startswith("Move x from ")
        and " to Nia's territory North: arrival: carving a book for Nia" in m["reason"]
        and m["rule"] == "arrival"
        for m in proposal["moves"]["accounts"]
    )
    north = [
        t
        for t in (
            await client.get(f"/v1/territories?plan_id={proposal['plan_id']}", headers=tenant.headers)
        ).json()["items"]
        if t["name"] == "North"
    ]
    assert north and north[0]["primary_rep_id"] == new["id"]
    books = {x["key"]: x["accounts"] for x in proposal["equity_after"]["by_rep"]["books"]}
    assert books[new["id"]] == 4


async def _two_books(client, headers, names=("Lea", "Ann"), size=3):
    """An active plan: per name a rep and a named-account territory of that name with `size` accounts."""
    reps = [await f.rep(client, headers, name=n) for n in names]
    plan = await f.plan(client, headers)
    books = {
        name: (
            rep,
            [
                {"external_id": f"{name}-{k}", "name": f"{name} Co {k}", "current_arr": 100_000}
                for k in range(size)
            ],
        )
        for name, rep in zip(names, reps, strict=True)
    }
    await f.named_books(client, headers, plan["id"], books)
    await client.post("/v1/scoring/run", headers=headers)
    await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=headers)
    await client.post(f"/v1/plans/{plan['id']}/activate", headers=headers)
    return plan, reps


async def test_a_departure_vacates_the_reps_territories_so_rules_never_give_the_accounts_back(client, tenant):
    _, (leaving, ann) = await _two_books(client, tenant.headers)
    r = await client.post(
        f"/v1/reps/{leaving['id']}/departure", json={"date": "2026-01-31"}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    proposal = r.json()
    draft = proposal["plan_id"]
    lea_territory = [
        t
        for t in (await client.get(f"/v1/territories?plan_id={draft}", headers=tenant.headers)).json()[
            "items"
        ]
        if t["name"] == "Lea"
    ][0]
    assert proposal["vacated_territories"] == [{"id": lea_territory["id"], "name": "Lea"}]
    assert lea_territory["primary_rep_id"] is None
    assert (await client.post(f"/v1/plans/{draft}/activate", headers=tenant.headers)).status_code == 200
    equity = (await client.get(f"/v1/plans/{draft}/equity", headers=tenant.headers)).json()
    assert equity["territories_without_owner"] == [
        {"id": lea_territory["id"], "name": "Lea", "accounts": 0, "why": "no primary rep"}
    ]
    # the next plan, assigned by rules: Lea's named accounts match her old territory, which has no owner;
    # they stay with Ann (listed by territory name), none goes back to Lea
    copy = (
        await client.post(f"/v1/plans/{draft}/copy", json={"name": "Next"}, headers=tenant.headers)
    ).json()
    ruled = (await client.post(f"/v1/plans/{copy['id']}/assign-by-rules", headers=tenant.headers)).json()
    assert ruled["moved"] == 0 and ruled["territories_without_owner"]["count"] == 3
    assert {a["territory_name"] for a in ruled["territories_without_owner"]["accounts"]} == {"Lea"}
    owners = (await client.get(f"/v1/assignments?plan_id={copy['id']}", headers=tenant.headers)).json()[
        "items"
    ]
    assert {a["rep_id"] for a in owners} == {ann["id"]}


async def test_assigning_by_rules_skips_a_territory_whose_rep_has_left(client, tenant):
    plan, (leaving, _) = await _two_books(client, tenant.headers)
    await client.patch(f"/v1/reps/{leaving['id']}", json={"end_date": "2026-01-31"}, headers=tenant.headers)
    copy = (await client.post(f"/v1/plans/{plan['id']}/copy", headers=tenant.headers)).json()
    ruled = (await client.post(f"/v1/plans/{copy['id']}/assign-by-rules", headers=tenant.headers)).json()
    assert ruled["territories_without_owner"]["count"] == 3 and ruled["unchanged"] == 3
    equity = (await client.get(f"/v1/plans/{copy['id']}/equity", headers=tenant.headers)).json()
    assert [(t["name"], t["why"]) for t in equity["territories_without_owner"]] == [
        ("Lea", "its primary rep Lea left on 2026-01-31")
    ]


async def test_an_arrival_takes_over_a_departed_reps_empty_territory_of_the_same_name(client, tenant):
    _, (leaving, ann) = await _two_books(client, tenant.headers, names=("West", "East"))
    left = await client.post(
        f"/v1/reps/{leaving['id']}/departure", json={"date": "2026-01-31"}, headers=tenant.headers
    )
    await client.post(f"/v1/plans/{left.json()['plan_id']}/activate", headers=tenant.headers)
    new = await f.rep(client, tenant.headers, name="Nia")
    r = await client.post(
        f"/v1/reps/{new['id']}/arrival", json={"territory_name": "West"}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    draft = r.json()["plan_id"]
    west = [
        t
        for t in (await client.get(f"/v1/territories?plan_id={draft}", headers=tenant.headers)).json()[
            "items"
        ]
        if t["name"] == "West"
    ]
    assert [t["primary_rep_id"] for t in west] == [new["id"]]  # the same territory, now Nia's
    moves = r.json()["moves"]["accounts"]
    assert moves and all(m["to_territory_id"] == west[0]["id"] for m in moves)
    # a territory a rep still works (or one holding accounts) is not taken over
    taken = await client.post(
        f"/v1/reps/{new['id']}/arrival", json={"territory_name": "East"}, headers=tenant.headers
    )
    assert taken.status_code == 409 and taken.json()["code"] == "duplicate_name"


async def test_since_is_when_the_owner_took_effect_the_activation_not_the_drafts_creation(client, tenant):
    _, (leaving, ann) = await _two_books(client, tenant.headers)
    draft = (
        await client.post(
            f"/v1/reps/{leaving['id']}/departure", json={"date": "2026-01-31"}, headers=tenant.headers
        )
    ).json()["plan_id"]
    asg = (
        await client.get(f"/v1/assignments?plan_id={draft}&owner_id={ann['id']}", headers=tenant.headers)
    ).json()["items"]
    activated = (await client.post(f"/v1/plans/{draft}/activate", headers=tenant.headers)).json()
    assert all(a["valid_from"] != activated["activated_at"] for a in asg)  # written before activation
    lookup = (await client.get("/v1/ownership/Lea-0", headers=tenant.headers)).json()
    assert (lookup["rep"]["id"], lookup["since"]) == (ann["id"], activated["activated_at"])
    q = """{ accounts(first: 10) { nodes { externalId owner(role: AE) { since rep { name } } } } }"""
    r = (await client.post("/graphql", json={"query": q}, headers=tenant.headers)).json()
    assert "errors" not in r, r
    nodes = {n["externalId"]: n["owner"] for n in r["data"]["accounts"]["nodes"]}
    assert nodes["Lea-0"]["rep"]["name"] == "Ann"
    assert nodes["Lea-0"]["since"].replace("+00:00", "Z") == activated["activated_at"]


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def _region_plan(client, headers, books: dict[str, tuple[dict, int]], named=None, priority=None):
    """An active plan: per name a rep's territory holding region = name, its `size` accounts
    "<name>-<k>" in that region; `named`: territory name -> the external ids it names besides."""
    plan = await f.plan(client, headers)
    rows = []
    for name, (rep, size) in books.items():
        boundary = {"rules": [{"field": "region", "op": "eq", "value": name}]}
        boundary["named_accounts"] = (named or {}).get(name, [])
        await f.territory(
            client,
            headers,
            plan["id"],
            name=name,
            primary_rep_id=rep["id"],
            boundary=boundary,
            priority=(priority or {}).get(name, 0),
        )
        rows += [
            {"external_id": f"{name}-{k}", "name": f"{name} Co {k}", "region": name, "current_arr": 50_000}
            for k in range(size)
        ]
    assert (await client.post("/v1/accounts/import", json=rows, headers=headers)).status_code == 200
    await client.post("/v1/scoring/run", headers=headers)
    assert (await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=headers)).status_code == 200
    assert (await client.post(f"/v1/plans/{plan['id']}/activate", headers=headers)).status_code == 200
    return plan


async def _touches(client, headers, rep, account_external_id, n):
    rows = [
        {
            "external_id": f"T-{rep['external_id']}-{account_external_id}-{i}",
            "account_external_id": account_external_id,
            "rep_external_id": rep["external_id"],
            "occurred_at": _ago(5 + i),
            "kind": "meeting",
        }
        for i in range(n)
    ]
    await f.imported(client, headers, kind="activities", rows=rows)


async def _account_id(client, headers, external_id):
    return (await client.get(f"/v1/accounts/by-external-id/{external_id}", headers=headers)).json()["id"]


async def test_a_departure_gives_accounts_to_the_relationship_rep_and_the_naming_territory(client, tenant):
    h = tenant.headers
    lea, sarah, bo = [await f.rep(client, h, name=n) for n in ("Lea", "Sarah Chen", "Bo")]
    # Bo's territory names Lea-2, which Lea owns (assigning by rules gave it to Bo: a named account beats
    # a rule; it was given to Lea by hand); a rep who has left touched Lea-0 most
    gone = await f.rep(client, h, name="Gil Gone", end_date="2026-01-31")
    plan = await _region_plan(
        client,
        h,
        {"Lea": (lea, 4), "West": (sarah, 2), "East": (bo, 2)},
        named={"East": ["Lea-2"]},
        priority={"Lea": 5},
    )
    territories = (await client.get(f"/v1/territories?plan_id={plan['id']}", headers=h)).json()["items"]
    lea_territory = next(t["id"] for t in territories if t["name"] == "Lea")
    page = f"/v1/assignments?plan_id={plan['id']}&account_id={await _account_id(client, h, 'Lea-2')}"
    (owner,) = (await client.get(page, headers=h)).json()["items"]
    assert owner["rep_id"] == bo["id"]
    given = {"rep_id": lea["id"], "territory_id": lea_territory}
    assert (await client.patch(f"/v1/assignments/{owner['id']}", json=given, headers=h)).status_code == 200
    await _touches(client, h, sarah, "Lea-1", 3)
    await _touches(client, h, bo, "Lea-1", 1)
    await _touches(client, h, gone, "Lea-0", 6)
    r = await client.post(f"/v1/reps/{lea['id']}/departure", json={"date": "2026-12-31"}, headers=h)
    assert r.status_code == 201, r.text
    proposal = r.json()
    moves = {m["account_id"]: m for m in proposal["moves"]["accounts"]}
    ids = {x: await _account_id(client, h, f"Lea-{x}") for x in range(4)}
    assert set(moves) == set(ids.values())
    west = [
        t for t in (await client.get("/v1/territories", headers=h)).json()["items"] if t["name"] == "West"
    ]
    related = moves[ids[1]]
    assert (related["to_rep"], related["rule"]) == (sarah["id"], "existing_relationship")
    assert related["reason"] == (
        "Move Lea Co 1 from Lea's territory Lea to Sarah Chen's territory West: departure: Lea leaves on "
        "2026-12-31; existing relationship: Sarah Chen has 3 meaningful touches in the last 90 days"
    )
    assert related["factors"] == [
        {"rule": "meaningful_touches", "rep_id": sarah["id"], "amount": 3.0, "needs": []}
    ]
    assert related["to_territory_id"] in {t["id"] for t in west}
    named = moves[ids[2]]
    assert (named["to_rep"], named["rule"]) == (bo["id"], "named_account")
    assert named["reason"].endswith("named account: Bo's territory East names the account")
    for x in (0, 3):  # no relationship of a rep who is still here: the rep with room takes it
        m = moves[ids[x]]
        assert m["rule"] == "departure" and m["to_rep"] in {sarah["id"], bo["id"]}
        assert m["reason"].endswith(
            "no rule of the policy gives it to a rep: reassigned, tier-1 accounts first, to a rep with room "
            "in its bands"
        )
    assert gone["id"] not in {m["to_rep"] for m in moves.values()} and proposal["kept"]["count"] == 0
    # activated, the lookup answers the relationship rep, with the move's words as its why
    assert (await client.post(f"/v1/plans/{proposal['plan_id']}/activate", headers=h)).status_code == 200
    lookup = (await client.get("/v1/ownership/Lea-1", headers=h)).json()
    assert lookup["rep"]["id"] == sarah["id"] and lookup["why"]["cause"] == "departure"
    assert "existing relationship: Sarah Chen has 3 meaningful touches" in lookup["why"]["reason"]
    assert (await client.get("/v1/ownership/Lea-2", headers=h)).json()["rep"]["id"] == bo["id"]


async def test_a_departure_follows_the_tenants_policy(client, tenant):
    h = tenant.headers
    lea, sarah, bo = [await f.rep(client, h, name=n) for n in ("Lea", "Sarah Chen", "Bo")]
    await _region_plan(client, h, {"Lea": (lea, 1), "West": (sarah, 3), "East": (bo, 1)})
    await _touches(client, h, sarah, "Lea-0", 1)
    one_touch = {"rules": [{"kind": "existing_relationship", "min_touches": 1, "window_days": 30}]}
    assert (await client.put("/v1/engagement/policy", json=one_touch, headers=h)).status_code == 200
    r = await client.post(f"/v1/reps/{lea['id']}/departure", json={"date": "2026-12-31"}, headers=h)
    (move,) = r.json()["moves"]["accounts"]
    # one touch is a relationship under this policy: Sarah gets it although Bo has more room
    assert (move["to_rep"], move["rule"]) == (sarah["id"], "existing_relationship")
    assert move["reason"].endswith("Sarah Chen has 1 meaningful touch in the last 30 days")


async def test_an_arrival_keeps_named_and_relationship_accounts_with_their_owner(client, tenant):
    h = tenant.headers
    ann, bo = await f.rep(client, h, name="Ann"), await f.rep(client, h, name="Bo")
    await _region_plan(client, h, {"West": (ann, 10), "East": (bo, 10)}, named={"West": ["West-0", "West-1"]})
    await _touches(client, h, bo, "East-0", 3)
    new = await f.rep(client, h, name="Nia", ramp_status="new_hire")
    r = await client.post(f"/v1/reps/{new['id']}/arrival", json={"territory_name": "North"}, headers=h)
    assert r.status_code == 201, r.text
    proposal = r.json()
    kept = {k["account_name"]: k for k in proposal["kept"]["accounts"]}
    assert proposal["kept"]["count"] == 3 and set(kept) == {"West Co 0", "West Co 1", "East Co 0"}
    assert kept["West Co 0"] | {"account_id": None} == {
        "account_id": None,
        "account_name": "West Co 0",
        "owner_rep_id": ann["id"],
        "owner_name": "Ann",
        "rule": "named_account",
        "sentence": "A named account belongs to the territory that names it, whatever the boundary rules "
        "say.",
        "reason": "named account: Ann's territory West names the account",
    }
    assert (kept["East Co 0"]["owner_name"], kept["East Co 0"]["rule"]) == ("Bo", "existing_relationship")
    assert (
        kept["East Co 0"]["reason"]
        == "existing relationship: Bo has 3 meaningful touches in the last 90 days"
    )
    # the carve still gives the new hire its share (four of 50,000 of 20), none of the kept ones
    moved = {m["account_id"] for m in proposal["moves"]["accounts"]}
    assert proposal["moves"]["count"] == 4 and not moved & {k["account_id"] for k in kept.values()}
    # GraphQL reads the same list
    m = """mutation($r: UUID!) { repArrival(repId: $r, territoryName: "South") { __typename
             ... on RebalanceProposal { kept { count accounts { accountName ownerName rule } } } } }"""
    got = (await client.post("/graphql", json={"query": m, "variables": {"r": new["id"]}}, headers=h)).json()[
        "data"
    ]["repArrival"]
    assert got["kept"]["count"] == 3
    assert {(k["accountName"], k["rule"]) for k in got["kept"]["accounts"]} == {
        ("West Co 0", "named_account"),
        ("West Co 1", "named_account"),
        ("East Co 0", "existing_relationship"),
    }


async def test_a_departures_evidence_costs_the_same_statements_for_a_larger_book(
    client, engine, tenant, other_tenant
):
    async def leaving_with(keys, size):
        lea, sarah = [await f.rep(client, keys.headers, name=n) for n in ("Lea", "Sarah Chen")]
        await _region_plan(client, keys.headers, {"Lea": (lea, size), "West": (sarah, 1)})
        for k in range(size):
            await _touches(client, keys.headers, sarah, f"Lea-{k}", 2)
        return lea

    small, large = await leaving_with(tenant, 2), await leaving_with(other_tenant, 12)
    counted = []
    for keys, lea in ((tenant, small), (other_tenant, large)):
        with count_statements(engine) as seen:
            r = await client.post(
                f"/v1/reps/{lea['id']}/departure", json={"date": "2026-12-31"}, headers=keys.headers
            )
        assert {m["rule"] for m in r.json()["moves"]["accounts"]} == {"existing_relationship"}
        counted.append((len(seen), len([s for s in seen if "FROM activities" in s])))
    # the touches of every account in one statement, not one per account, and nothing else grows
    assert counted[0] == counted[1] and counted[0][1] == 1
