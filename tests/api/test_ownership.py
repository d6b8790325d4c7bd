"""Ownership lookup: answers, batch order, and freshness across workers (separate app instances)."""

import asyncio
from datetime import UTC, datetime

from api.app import create_app
from api.config import AppSettings
from tests import factories as f


def worker(engine, snapshots=True):
    """A second app on the same database, as a second uvicorn worker would be."""
    app = create_app(AppSettings(database_url=str(engine.url), ownership_snapshots=snapshots), engine=engine)
    return f.serving(app), app


async def test_single_lookup_answers_owner_territory_plan_and_since(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    ext = owned["account"]["external_id"]
    r = await client.get(f"/v1/ownership/{ext}", params={"role": "AE"}, headers=tenant.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "owned"
    assert body["account"] == {"id": owned["account"]["id"], "external_id": ext, "name": "Acme"}
    assert body["rep"] == {k: owned["rep"][k] for k in ("id", "name", "email", "end_date")}
    assert body["why"] == {"cause": "manual", "reason": None} and body["seq"] >= 1
    assert r.headers["ownership-seq"] == str(body["seq"]) and r.headers["ownership-age"] == "0"
    assert body["territory"] == {"id": owned["territory"]["id"], "name": owned["territory"]["name"]}
    assert body["plan_id"] == owned["plan"]["id"]
    assert body["since"] == owned["assignment"]["valid_from"]
    r = await client.get(f"/v1/ownership/{ext}", params={"role": "CSM"}, headers=tenant.headers)
    assert r.json()["status"] == "unassigned" and r.json()["rep"] is None
    r = await client.get("/v1/ownership/NOPE", headers=tenant.headers)
    assert r.status_code == 404 and r.json()["code"] == "not_found"


async def test_batch_answers_in_order_and_marks_unknown_ids(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    lone = await f.account(client, tenant.headers)
    ids = ["ghost", owned["account"]["external_id"], lone["external_id"], owned["account"]["external_id"]]
    r = await client.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
    results = r.json()["results"]
    assert [x["external_id"] for x in results] == ids
    assert [x["status"] for x in results] == ["not_found", "owned", "unassigned", "owned"]
    too_many = {"external_ids": [str(i) for i in range(1001)]}
    r = await client.post("/v1/ownership/lookup", json=too_many, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "external_ids"


async def test_a_change_shows_on_the_next_lookup_on_every_worker(client, engine, tenant):
    owned = await f.owned_account(client, tenant.headers)
    ext = owned["account"]["external_id"]
    other_rep = await f.rep(client, tenant.headers, name="James Okafor")
    serving, app2 = worker(engine)
    async with serving as w2:
        for c in (client, w2):  # warm both workers' snapshots
            for _ in range(3):
                await c.get(f"/v1/ownership/{ext}", headers=tenant.headers)
            await c.app.state.ctx.ownership.wait_for_rebuilds() if hasattr(c, "app") else None
        await app2.state.ctx.ownership.wait_for_rebuilds()
        assert (await w2.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json()["rep"]["id"] == owned[
            "rep"
        ]["id"]
        # the change goes through worker 1; worker 2 answers the next lookup with it
        r = await client.patch(
            f"/v1/assignments/{owned['assignment']['id']}",
            json={"rep_id": other_rep["id"]},
            headers=tenant.headers,
        )
        assert r.status_code == 200
        for c in (w2, client):
            got = (await c.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json()
            assert got["rep"]["name"] == "James Okafor"
        # a rep rename and an account rename are seen at once too
        await client.patch(f"/v1/reps/{other_rep['id']}", json={"name": "J. Okafor"}, headers=tenant.headers)
        await client.patch(
            f"/v1/accounts/{owned['account']['id']}", json={"name": "Acme 2"}, headers=tenant.headers
        )
        got = (await w2.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json()
        assert (got["rep"]["name"], got["account"]["name"]) == ("J. Okafor", "Acme 2")


async def test_snapshot_is_used_once_built_and_matches_sql(client, engine, tenant):
    owned = await f.owned_account(client, tenant.headers)
    more = [await f.account(client, tenant.headers) for _ in range(3)]
    ids = [owned["account"]["external_id"], *(a["external_id"] for a in more), "ghost"]
    plain_serving, plain_app = worker(engine, snapshots=False)
    snap_serving, snap_app = worker(engine, snapshots=True)
    async with plain_serving as plain, snap_serving as snap:
        answer = await plain.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
        want = answer.json()
        assert answer.headers["ownership-source"] == "database"
        first = await snap.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
        assert first.headers["ownership-source"] == "database"  # the index is being built
        await snap_app.state.ctx.ownership.wait_for_rebuilds()
        builds = snap_app.state.ctx.ownership.builds
        assert builds >= 1
        answer = await snap.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
        got = answer.json()
        assert got == want and answer.headers["ownership-source"] == "index"
        one = await snap.get(f"/v1/ownership/{ids[0]}", headers=tenant.headers)  # the hot path says it too
        assert one.headers["ownership-source"] == "index"
        assert first.headers["ownership-seq"] == answer.headers["ownership-seq"]
        assert tenant.tenant_id in snap_app.state.ctx.ownership._indexes
        assert snap_app.state.ctx.ownership.builds == builds  # answered from the index
    assert plain_app.state.ctx.ownership.builds == 0


async def test_plan_activation_switches_lookups_at_once(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    ext = owned["account"]["external_id"]
    draft = await f.plan(client, tenant.headers, name="next")
    new_rep = await f.rep(client, tenant.headers, name="New Owner")
    await f.create(
        client,
        tenant.headers,
        "assignments",
        plan_id=draft["id"],
        account_id=owned["account"]["id"],
        rep_id=new_rep["id"],
    )
    assert (await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json()["rep"][
        "name"
    ] == "Sarah Chen"
    await client.post(f"/v1/plans/{draft['id']}/activate", headers=tenant.headers)
    got = (await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json()
    assert (got["rep"]["name"], got["plan_id"]) == ("New Owner", draft["id"])


async def test_concurrent_lookups_during_changes_never_fail(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    ext = owned["account"]["external_id"]
    reps = [await f.rep(client, tenant.headers, name=f"Rep {i}") for i in range(3)]

    async def lookups():
        for _ in range(20):
            r = await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)
            assert r.status_code == 200 and r.json()["status"] == "owned"

    async def changes():
        current = owned["assignment"]["id"]
        for r in reps:
            current = (
                await client.patch(
                    f"/v1/assignments/{current}", json={"rep_id": r["id"]}, headers=tenant.headers
                )
            ).json()["id"]

    await asyncio.gather(lookups(), lookups(), changes())
    final = (await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)).json()
    assert final["rep"]["name"] == "Rep 2"


async def test_the_hot_path_answers_every_edge_as_the_documented_route_does(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    ext = owned["account"]["external_id"]
    r = await client.get(f"/v1/ownership/{ext}", headers={**tenant.headers, "X-Request-Id": "trace-1"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-1"
    assert r.headers["content-type"] == "application/json" and r.json()["status"] == "owned"
    r = await client.get(f"/v1/ownership/{ext}", headers=tenant.headers)
    assert len(r.headers["x-request-id"]) == 32  # a new one when the caller sends none
    r = await client.get(f"/v1/ownership/{ext}", params={"role": "Boss"}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "role"
    r = await client.get(f"/v1/ownership/{'x' * 256}", headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "external_id"
    r = await client.get(f"/v1/ownership/{ext}", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"] == "application/problem+json" and "x-request-id" in r.headers
    r = await client.get(f"/v1/ownership/{ext}")
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = await client.get("/v1/ownership/NOPE", headers={**tenant.headers, "X-Request-Id": "trace-2"})
    assert r.status_code == 404 and r.headers["x-request-id"] == "trace-2"
    r = await client.get(f"/v1/ownership/{ext}", params={"as_of": "2026-03-31"}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "as_of"
    r = await client.get(f"/v1/ownership/{ext}/timeline", headers=tenant.headers)
    assert r.status_code == 200 and r.json()["items"]
    r = await client.post(f"/v1/ownership/{ext}", headers=tenant.headers)
    assert r.status_code == 405


async def test_a_workers_own_commits_are_applied_without_reading_them_back(engine, tenant, monkeypatch):
    from api.services import ownership as service

    serving, app = worker(engine)
    # no LISTEN (PostgreSQL): a commit's NOTIFY can arrive before the commit returns, and the reader it
    # starts would take these changes first (correct too, but not what this test is about)
    app.state.ctx.ownership.listen = False
    async with serving as client:
        owned = await f.owned_account(client, tenant.headers)
        more = [await f.account(client, tenant.headers) for _ in range(2)]
        ids = [owned["account"]["external_id"], *(a["external_id"] for a in more)]
        await client.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
        ownership = app.state.ctx.ownership
        await ownership.wait_for_rebuilds()
        reads = []
        real = service.queries.changes_after
        monkeypatch.setattr(
            service.queries, "changes_after", lambda *a, **k: reads.append(a) or real(*a, **k)
        )
        later = await f.rep(client, tenant.headers, name="James Okafor", end_date="2027-01-31")
        r = await client.patch(
            f"/v1/assignments/{owned['assignment']['id']}",
            json={"rep_id": later["id"], "reason": "departure", "note": "handover to James"},
            headers=tenant.headers,
        )
        assert r.status_code == 200, r.text
        await client.patch(
            f"/v1/accounts/{more[0]['id']}", json={"name": "Zeta GmbH"}, headers=tenant.headers
        )
        await client.delete(f"/v1/accounts/{more[1]['id']}", headers=tenant.headers)
        mine = await client.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
        assert ownership._indexes[tenant.tenant_id].seq == int(mine.headers["ownership-seq"])
        assert reads == [] and ownership.builds == 1  # applied as committed: neither read back nor rebuilt
    mine = mine.json()["results"]
    assert mine[0]["rep"]["name"] == "James Okafor" and mine[1]["account"]["name"] == "Zeta GmbH"
    assert mine[2]["status"] == "not_found"
    fresh_serving, fresh_app = worker(engine)  # builds the index from the database
    async with fresh_serving as fresh:
        await fresh.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
        await fresh_app.state.ctx.ownership.wait_for_rebuilds()
        built = await fresh.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
        assert fresh_app.state.ctx.ownership.builds == 1
        assert built.json()["results"] == mine


async def test_an_external_id_with_a_slash_is_looked_up_by_path(client, tenant):
    owned = await f.owned_account(client, tenant.headers, external_id="ACME/EU/1")
    for path in ("ACME/EU/1", "ACME%2FEU%2F1"):
        r = await client.get(f"/v1/ownership/{path}", headers=tenant.headers)
        assert r.status_code == 200 and r.json()["rep"]["id"] == owned["rep"]["id"], r.text
        r = await client.get(f"/v1/ownership/{path}/timeline", headers=tenant.headers)
        assert r.status_code == 200 and r.json()["items"], r.text
        r = await client.get(f"/v1/accounts/by-external-id/{path}", headers=tenant.headers)
        assert r.status_code == 200 and r.json()["id"] == owned["account"]["id"]
    assert (await client.get("/v1/ownership/ACME/EU", headers=tenant.headers)).status_code == 404


async def test_an_empty_as_of_or_role_is_refused_not_taken_as_absent(client, tenant):
    """The fuzzer found it: `?as_of=` was dropped by the fast path and answered the current owner."""
    owned = await f.owned_account(client, tenant.headers)
    ext = owned["account"]["external_id"]
    for query in ("as_of=", "role="):
        r = await client.get(f"/v1/ownership/{ext}?{query}", headers=tenant.headers)
        assert r.status_code == 422, query
        assert r.json()["errors"][0]["field"].endswith(query.rstrip("=")), r.json()


async def _lea_and_sam(client, headers):
    """An active plan: Lea Martin's named accounts LEA-0..2 and Sam Ortiz's SAM-0..2."""
    lea, sam = [await f.rep(client, headers, name=n) for n in ("Lea Martin", "Sam Ortiz")]
    plan = await f.plan(client, headers)
    books = {
        name: (
            rep,
            [
                {"external_id": f"{name}-{k}", "name": f"{name} Co {k}", "current_arr": 100_000}
                for k in range(3)
            ],
        )
        for name, rep in (("LEA", lea), ("SAM", sam))
    }
    await f.named_books(client, headers, plan["id"], books)
    await client.post("/v1/scoring/run", headers=headers)
    await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=headers)
    await client.post(f"/v1/plans/{plan['id']}/activate", headers=headers)
    return lea, sam


def _gql(client, headers, query, **variables):
    return client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


FREEZE_SENTENCE = (
    "Lea Martin leaves on 2026-12-31: outbound is frozen until the reassignment is activated; open pipeline "
    "goes to Sam Ortiz"
)


async def test_a_departure_freezes_the_leaving_reps_accounts_until_the_reassignment_is_activated(
    client, engine, tenant
):
    lea, sam = await _lea_and_sam(client, tenant.headers)
    before = datetime.now(UTC)
    assert (await client.get("/v1/ownership/LEA-0", headers=tenant.headers)).json()["frozen"] is None
    body = {"date": "2026-12-31", "interim_rep_id": sam["id"]}
    r = await client.post(f"/v1/reps/{lea['id']}/departure", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    draft = r.json()["plan_id"]
    got = (await client.get("/v1/ownership/LEA-0", headers=tenant.headers)).json()
    assert got["rep"]["id"] == lea["id"] and got["rep"]["end_date"] == "2026-12-31"
    frozen = got["frozen"]
    assert (frozen["outbound"], frozen["last_day"], frozen["sentence"]) == (
        True,
        "2026-12-31",
        FREEZE_SENTENCE,
    )
    assert frozen["interim_rep"] == {"id": sam["id"], "name": "Sam Ortiz"}
    assert datetime.fromisoformat(frozen["since"]) >= before
    ids = ["LEA-1", "SAM-0", "ghost"]
    batch = (
        await client.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
    ).json()
    assert [x["frozen"] and x["frozen"]["sentence"] for x in batch["results"]] == [
        FREEZE_SENTENCE,
        None,
        None,
    ]
    q = (
        "query($e: [String!]!) { ownership(externalIds: $e) { frozen { outbound lastDay interimRepId "
        'interimRepName sentence } } account(externalId: "LEA-0") '
        "{ owner { frozen { sentence } } } }"
    )
    data = (await _gql(client, tenant.headers, q, e=["LEA-0", "SAM-0"])).json()["data"]
    assert data["ownership"][0]["frozen"] == {
        "outbound": True,
        "lastDay": "2026-12-31",
        "interimRepId": sam["id"],
        "interimRepName": "Sam Ortiz",
        "sentence": FREEZE_SENTENCE,
    }
    assert data["ownership"][1]["frozen"] is None
    assert data["account"]["owner"]["frozen"]["sentence"] == FREEZE_SENTENCE
    serving, app2 = worker(engine)  # a worker that builds its index from the database answers the same
    async with serving as w2:
        await w2.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
        await app2.state.ctx.ownership.wait_for_rebuilds()
        built = (
            await w2.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
        ).json()
        assert app2.state.ctx.ownership.builds >= 1
        assert [x["frozen"] for x in built["results"]] == [x["frozen"] for x in batch["results"]]
    frozen_at = datetime.now(UTC)
    r = await client.post(f"/v1/plans/{draft}/activate", headers=tenant.headers)
    assert r.status_code == 200, r.text
    after = (await client.get("/v1/ownership/LEA-0", headers=tenant.headers)).json()
    assert after["rep"]["id"] != lea["id"] and after["frozen"] is None
    then = {"external_ids": ["LEA-0"], "as_of": frozen_at.isoformat()}
    past = (await client.post("/v1/ownership/lookup", json=then, headers=tenant.headers)).json()["results"][0]
    assert past["rep"]["id"] == lea["id"] and past["frozen"]["sentence"] == FREEZE_SENTENCE
    earlier = {"external_ids": ["LEA-0"], "as_of": before.isoformat()}
    past = (await client.post("/v1/ownership/lookup", json=earlier, headers=tenant.headers)).json()[
        "results"
    ][0]
    assert past["rep"]["id"] == lea["id"] and past["frozen"] is None


async def test_clearing_the_leaving_reps_end_date_withdraws_the_departure_and_lifts_the_freeze(
    client, engine, tenant
):
    lea, _ = await _lea_and_sam(client, tenant.headers)
    r = await client.post(
        f"/v1/reps/{lea['id']}/departure", json={"date": "2026-12-31"}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    frozen = (await client.get("/v1/ownership/LEA-0", headers=tenant.headers)).json()["frozen"]
    assert frozen["interim_rep"] is None and frozen["sentence"].endswith(
        "no interim owner of open pipeline was named"
    )
    r = await client.patch(f"/v1/reps/{lea['id']}", json={"end_date": None}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert (await client.get("/v1/ownership/LEA-0", headers=tenant.headers)).json()["frozen"] is None
    await client.patch(f"/v1/reps/{lea['id']}", json={"end_date": "2026-12-31"}, headers=tenant.headers)
    serving, app2 = worker(engine)  # a plain end date again is no departure, in the log or the tables
    async with serving as w2:
        for c in (client, w2):
            await c.get("/v1/ownership/LEA-0", headers=tenant.headers)
            await app2.state.ctx.ownership.wait_for_rebuilds()
            assert (await c.get("/v1/ownership/LEA-0", headers=tenant.headers)).json()["frozen"] is None


ACCOUNTABLE = (
    "Deals of $100,000 or more anywhere in the Acme Holdings family are Sarah Chen's, owner of Acme Holdings"
)


async def test_a_subsidiarys_lookup_names_the_family_top_accounts_owner(client, engine, tenant):
    top = await f.owned_account(client, tenant.headers, name="Acme Holdings")
    holdings = top["account"]
    europe = await f.account(client, tenant.headers, name="Acme Europe", parent_id=holdings["id"])
    paris = await f.account(client, tenant.headers, name="Acme Paris", parent_id=europe["id"])
    own = await f.rep(client, tenant.headers, name="Ana Diaz")
    await f.create(
        client,
        tenant.headers,
        "assignments",
        plan_id=top["plan"]["id"],
        account_id=paris["id"],
        rep_id=own["id"],
    )
    ids = [paris["external_id"], europe["external_id"], holdings["external_id"]]
    before = datetime.now(UTC)
    got = (await client.get(f"/v1/ownership/{paris['external_id']}", headers=tenant.headers)).json()
    assert got["rep"]["name"] == "Ana Diaz"
    assert got["accountable"] == {
        "rep": {"id": top["rep"]["id"], "name": "Sarah Chen"},
        "account": {"id": holdings["id"], "external_id": holdings["external_id"], "name": "Acme Holdings"},
        "threshold": 100_000.0,
        "sentence": ACCOUNTABLE,
    }
    batch = (
        await client.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
    ).json()
    found = [x["accountable"] and x["accountable"]["rep"]["name"] for x in batch["results"]]
    assert found == ["Sarah Chen", "Sarah Chen", None]  # Europe has no owner of its own: unassigned
    assert batch["results"][1]["status"] == "unassigned"
    plain_serving, _ = worker(engine, snapshots=False)  # answered from SQL: the same
    async with plain_serving as plain:
        sql = (
            await plain.post("/v1/ownership/lookup", json={"external_ids": ids}, headers=tenant.headers)
        ).json()
        assert [x["accountable"] for x in sql["results"]] == [x["accountable"] for x in batch["results"]]
    r = await client.put(
        "/v1/engagement/policy", json={"parent_deal_threshold": 250_000}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    got = (await client.get(f"/v1/ownership/{paris['external_id']}", headers=tenant.headers)).json()
    assert got["accountable"]["threshold"] == 250_000 and got["accountable"]["sentence"].startswith(
        "Deals of $250,000"
    )
    q = (
        "query($e: [String!]!, $a: UUID!) { ownership(externalIds: $e) { accountable { repName accountName "
        "threshold } } account(id: $a) { owner { accountable { repId sentence } } } }"
    )
    data = (await _gql(client, tenant.headers, q, e=ids[:1], a=paris["id"])).json()["data"]
    assert data["ownership"][0]["accountable"] == {
        "repName": "Sarah Chen",
        "accountName": "Acme Holdings",
        "threshold": 250_000.0,
    }
    assert data["account"]["owner"]["accountable"]["repId"] == top["rep"]["id"]
    moved = datetime.now(UTC)
    r = await client.patch(f"/v1/accounts/{paris['id']}", json={"parent_id": None}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert (await client.get(f"/v1/ownership/{paris['external_id']}", headers=tenant.headers)).json()[
        "accountable"
    ] is None
    then = {"external_ids": ids[:1], "as_of": moved.isoformat()}
    past = (await client.post("/v1/ownership/lookup", json=then, headers=tenant.headers)).json()["results"][0]
    assert past["accountable"]["rep"]["name"] == "Sarah Chen" and past["accountable"]["threshold"] == 250_000
    then = {"external_ids": ids[:1], "as_of": before.isoformat()}
    past = (await client.post("/v1/ownership/lookup", json=then, headers=tenant.headers)).json()["results"][0]
    assert past["accountable"]["sentence"] == ACCOUNTABLE  # the threshold of that time


async def test_an_as_of_that_utc_cannot_hold_is_named(client, tenant):
    """0001-01-01T00:00+14:00 is in year 0 in UTC: a 422 on as_of, single, batch and GraphQL, not a 500."""
    owned = await f.owned_account(client, tenant.headers)
    ext, early = owned["account"]["external_id"], "0001-01-01T00:00:00+14:00"
    r = await client.get(f"/v1/ownership/{ext}", params={"as_of": early}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0] == {
        "field": "as_of",
        "code": "out_of_range",
        "message": "a time from year 1 to 9999, in UTC",
    }
    body = {"external_ids": [ext], "as_of": early}
    r = await client.post("/v1/ownership/lookup", json=body, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "as_of"
    q = "query($e: [String!]!, $t: DateTime!) { ownership(externalIds: $e, asOf: $t) { status } }"
    variables = {"e": [ext], "t": early}
    r = await client.post("/graphql", json={"query": q, "variables": variables}, headers=tenant.headers)
    assert r.json()["errors"][0]["extensions"]["code"] == "validation_failed", r.text
    late = await client.get(
        f"/v1/ownership/{ext}", params={"as_of": "9999-12-31T23:59:59Z"}, headers=tenant.headers
    )
    assert late.status_code == 200 and late.json()["rep"]["id"] == owned["rep"]["id"]
