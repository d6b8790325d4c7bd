"""Long-running operations: optimise runs as one (202, poll, result in a draft), progress and cancel reach
the caller, failures are recorded with their code, a worker that died is reported, tenants are apart."""

import asyncio
import uuid
from datetime import timedelta

import pytest

from api.services import operations, runner
from api.services.context import Principal
from domain.errors import ValidationFailed
from domain.optimiser import Cancelled
from tests import factories as f


async def start_with(ctx, p, work):
    """Queue an operation of a kind made for the test, run by `work(reporter)` in the worker."""
    kind = f"test-{uuid.uuid4().hex[:8]}"
    runner.HANDLERS[kind] = lambda _ctx, _p, _subject, _request, reporter: work(reporter)
    return await operations.get_operation(ctx, p, await runner.start(ctx, p, kind, None, {}))


async def poll(client, headers, op_id, until=("succeeded", "failed", "cancelled"), seconds=60.0):
    for _ in range(int(seconds / 0.05)):
        r = await client.get(f"/v1/operations/{op_id}", headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["state"] in until:
            return r.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"operation {op_id} still {r.json()['state']}")


async def test_optimize_is_an_operation_whose_result_is_a_draft_at_the_bound(client, tenant, other_tenant):
    plan, _ = await f.seed_003_plan(client, tenant.headers)
    body = {"name": "Optimised", "potential_band": 0.10, "keep_families": True}
    r = await client.post(f"/v1/plans/{plan['id']}/optimize", json=body, headers=tenant.headers)
    assert r.status_code == 202, r.text
    op = r.json()
    assert r.headers["location"] == f"/v1/operations/{op['id']}"
    assert op["kind"] == "optimize" and op["subject_id"] == plan["id"] and op["result"] is None
    done = await poll(client, tenant.headers, op["id"])
    assert done["state"] == "succeeded" and done["progress"] == 1.0 and done["error"] is None
    result = done["result"]
    assert result["violations"] == [] and result["source_plan_id"] == plan["id"]
    assert result["equity_before"]["by_rep"]["potential"]["status"] == "rebalance"
    assert result["equity_after"]["by_rep"]["potential"]["status"] in ("fine", "watch")
    assert 0 < result["moves"]["count"] <= 60
    assert all(m["reason"] for m in result["moves"]["accounts"])
    assert 0 <= result["lower_bound"] <= result["weighted_moves"] and result["gap"] is not None
    plans = {x["id"]: x for x in (await client.get("/v1/plans", headers=tenant.headers)).json()["items"]}
    assert plans[plan["id"]]["state"] == "active"  # nothing changes until the draft is activated
    assert plans[result["plan_id"]]["state"] == "draft" and plans[result["plan_id"]]["name"] == "Optimised"
    listed = (await client.get("/v1/operations?state=succeeded", headers=tenant.headers)).json()
    assert [o["id"] for o in listed["items"]] == [op["id"]]
    assert (await client.get(f"/v1/operations/{op['id']}", headers=other_tenant.headers)).status_code == 404
    assert (await client.get("/v1/operations", headers=other_tenant.headers)).json()["items"] == []
    assert (
        await client.post(f"/v1/plans/{plan['id']}/optimize", headers=other_tenant.headers)
    ).status_code == 404
    # a finished operation cannot be cancelled
    r = await client.post(f"/v1/operations/{op['id']}/cancel", headers=tenant.headers)
    assert r.status_code == 409 and r.json()["code"] == "operation_finished"


async def test_optimize_refuses_bad_bands_naming_the_field(client, tenant):
    plan = await f.plan(client, tenant.headers)
    r = await client.post(
        f"/v1/plans/{plan['id']}/optimize", json={"potential_band": 0}, headers=tenant.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "potential_band"
    r = await client.post(f"/v1/plans/{plan['id']}/optimize", json={"speed": "max"}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "speed"
    assert (await client.get("/v1/operations", headers=tenant.headers)).json()["items"] == []
    r = await client.get("/v1/operations?page_token=nope", headers=tenant.headers)
    assert r.status_code == 400 and r.json()["code"] == "invalid_page_token"


async def test_progress_is_written_and_a_cancel_stops_the_work(app, client, tenant):
    ctx = app.state.ctx
    p = Principal(tenant.tenant_id, frozenset({"read", "write"}))
    halfway = asyncio.Event()

    async def work(reporter):
        reporter.progress(0.5, "halfway")
        halfway.set()
        await asyncio.to_thread(reporter.stop.wait)  # as the optimiser does: its thread checks the flag
        raise Cancelled

    op = await start_with(ctx, p, work)
    await halfway.wait()
    running = await poll(client, tenant.headers, op.id, until=("running",))
    for _ in range(100):  # the heartbeat writes the progress within a second or so
        running = (await client.get(f"/v1/operations/{op.id}", headers=tenant.headers)).json()
        if running["progress"] == 0.5:
            break
        await asyncio.sleep(0.05)
    assert running["progress"] == 0.5 and running["message"] == "halfway"
    r = await client.post(f"/v1/operations/{op.id}/cancel", headers=tenant.headers)
    assert r.status_code == 202 and r.json()["cancel_requested"] is True
    done = await poll(client, tenant.headers, op.id)
    assert done["state"] == "cancelled" and done["progress"] == 0.5


async def test_a_cancel_from_another_worker_arrives_through_the_row(app, client, tenant):
    ctx = app.state.ctx
    p = Principal(tenant.tenant_id, frozenset({"read", "write"}))

    async def work(reporter):
        await asyncio.to_thread(reporter.stop.wait)  # as the optimiser does: its thread checks the flag
        raise Cancelled

    op = await start_with(ctx, p, work)
    # another worker only has the database: it flags the row, and this worker's heartbeat reads it
    async with ctx.uow(tenant.tenant_id) as uow:
        assert await uow.operations.request_cancel(op.id, ["queued", "running"])
        await uow.commit()
    done = await poll(client, tenant.headers, op.id, seconds=10)
    assert done["state"] == "cancelled"


async def test_failures_are_recorded_with_their_code(app, client, tenant):
    ctx = app.state.ctx
    p = Principal(tenant.tenant_id, frozenset({"read", "write"}))

    async def refused(reporter):
        raise ValidationFailed("no", [])

    async def broken(reporter):
        raise RuntimeError("bug")

    a = await start_with(ctx, p, refused)
    b = await start_with(ctx, p, broken)
    done_a = await poll(client, tenant.headers, a.id)
    done_b = await poll(client, tenant.headers, b.id)
    assert done_a["state"] == "failed" and done_a["error"]["code"] == "validation_failed"
    assert done_b["state"] == "failed" and done_b["error"]["code"] == "internal_error"
    assert "bug" not in done_b["error"]["detail"]  # internals stay in the log
    first = (await client.get("/v1/operations?page_size=1", headers=tenant.headers)).json()
    token = first["next_page_token"]
    second = (
        await client.get(f"/v1/operations?page_size=1&page_token={token}", headers=tenant.headers)
    ).json()
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {str(a.id), str(b.id)}


async def test_an_end_the_database_refuses_for_a_moment_is_written_again(app, client, tenant, monkeypatch):
    """The work has committed; the write of how it ended meets SQLite's write lock held past its timeout
    (a rescoring's long transaction): it is written again a moment later, never left to read as lost."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from persistence import operations as store

    ctx = app.state.ctx
    p = Principal(tenant.tenant_id, frozenset({"read", "write"}))
    real, refused = store.update, []

    async def update(engine, tenant_id, op_id, events=(), **values):
        if "finished_at" in values and not refused:
            refused.append(op_id)
            raise OperationalError("UPDATE operations", {}, sqlite3.OperationalError("database is locked"))
        return await real(engine, tenant_id, op_id, events, **values)

    monkeypatch.setattr(store, "update", update)

    async def work(reporter):
        return None

    op = await start_with(ctx, p, work)
    done = await poll(client, tenant.headers, op.id)
    assert refused == [op.id] and done["state"] == "succeeded", done


async def test_an_operation_whose_worker_died_reads_as_lost(app, client, tenant):
    ctx = app.state.ctx
    long_ago = ctx.clock.now() - timedelta(minutes=10)
    op_id = uuid.uuid4()
    async with ctx.uow(tenant.tenant_id) as uow:
        await uow.operations.add(
            {
                "id": op_id, "kind": "optimize", "state": "running",
                "progress": 0.3, "message": "repairing", "request": {}, "cancel_requested": False,
                "created_at": long_ago, "heartbeat_at": long_ago,
            },
        )  # fmt: skip
        await uow.commit()
    got = (await client.get(f"/v1/operations/{op_id}", headers=tenant.headers)).json()
    assert got["state"] == "failed" and got["error"]["code"] == "operation_lost"


async def test_graphql_optimize_plan_and_operation(client, tenant):
    owned = await f.owned_account(client, tenant.headers, current_arr=100_000)
    await client.post("/v1/scoring/run", headers=tenant.headers)
    m = """mutation($p: UUID!) { optimizePlan(planId: $p, input: {potentialBand: 0.2}) { __typename
             ... on Operation { id state kind } ... on Problem { code } } }"""
    r = await client.post(
        "/graphql", json={"query": m, "variables": {"p": owned["plan"]["id"]}}, headers=tenant.headers
    )
    got = r.json()["data"]["optimizePlan"]
    assert got["__typename"] == "Operation" and got["kind"] == "optimize"
    await poll(client, tenant.headers, got["id"])
    q = """query($id: UUID!) { operation(id: $id) { state result { moves { count } lowerBound } }
             operations(state: SUCCEEDED) { nodes { id } } }"""
    data = (
        await client.post(
            "/graphql", json={"query": q, "variables": {"id": got["id"]}}, headers=tenant.headers
        )
    ).json()["data"]
    assert data["operation"]["state"] == "SUCCEEDED"
    assert data["operation"]["result"]["moves"]["count"] == 0  # one rep, one account: nothing to move
    assert data["operations"]["nodes"] == [{"id": got["id"]}]
    bad = """mutation($p: UUID!) { optimizePlan(planId: $p, input: {potentialBand: 5}) { __typename
             ... on Problem { code errors { field } } } }"""
    r = await client.post(
        "/graphql", json={"query": bad, "variables": {"p": owned["plan"]["id"]}}, headers=tenant.headers
    )
    assert r.json()["data"]["optimizePlan"] == {
        "__typename": "Problem", "code": "validation_failed", "errors": [{"field": "potentialBand"}]
    }  # fmt: skip


async def test_geography_keeps_accounts_in_their_regions_and_expertise_is_a_setting(client, tenant):
    """Two east reps (one holding all of the east) and one west rep: with geography, the east rebalances
    between the east reps only; healthcare accounts go only to a rep with that expertise."""
    overrides = {"overrides": {"equity": {"expertise_industries": ["Healthcare"]}}}
    r = await client.put("/v1/settings", json=overrides, headers=tenant.headers)
    assert r.status_code == 200, r.text
    east_a = await f.rep(client, tenant.headers, name="East A")
    east_b = await f.rep(client, tenant.headers, name="East B", expertise=["healthcare"])
    west = await f.rep(client, tenant.headers, name="West")
    plan = await f.plan(client, tenant.headers)
    east = [
        {"external_id": f"E{i}", "name": "e", "region": "east", "current_arr": 50_000,
         "industry": "healthcare" if i < 4 else "retail"}
        for i in range(12)
    ]  # fmt: skip
    west_rows = [
        {"external_id": f"W{i}", "name": "w", "region": "west", "current_arr": 50_000} for i in range(6)
    ]
    books = {"East A": (east_a, east[:11]), "East B": (east_b, east[11:]), "West": (west, west_rows)}
    await f.named_books(client, tenant.headers, plan["id"], books)
    await client.post("/v1/scoring/run", headers=tenant.headers)
    await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=tenant.headers)
    body = {"geography": True, "potential_band": 0.5, "capacity_band": 1.0}
    op = (await client.post(f"/v1/plans/{plan['id']}/optimize", json=body, headers=tenant.headers)).json()
    result = (await poll(client, tenant.headers, op["id"]))["result"]
    moves = result["moves"]["accounts"]
    assert moves and all(m["to_rep"] == east_b["id"] for m in moves)  # only east accounts, only to East B
    by_id = {
        a["id"]: a
        for a in (await client.get("/v1/accounts?page_size=100", headers=tenant.headers)).json()["items"]
    }
    assert all(by_id[m["account_id"]]["region"] == "east" for m in moves)
    # East A's healthcare accounts had to leave it: it lacks the expertise
    healthcare = {a["id"] for a in by_id.values() if a["industry"] == "healthcare"}
    assert healthcare <= {m["account_id"] for m in moves}
    assert all(
        ": expertise: " in m["reason"]
        and m["rule"] == "expertise"
        and m["factors"][0]["needs"] == ["healthcare"]
        for m in moves
        if m["account_id"] in healthcare
    )


@pytest.mark.pg_only
async def test_workers_share_queued_operations_and_run_each_once(app, client, tenant):
    ctx = app.state.ctx
    p = Principal(tenant.tenant_id, frozenset({"read", "write"}))
    runs: list[str] = []

    async def work(reporter):
        await asyncio.sleep(0.05)
        runs.append(reporter.message)

    others = [runner.Runner(concurrency=2, poll_seconds=0.05) for _ in range(2)]
    tasks = [asyncio.create_task(r.run(ctx)) for r in others]
    try:
        ops = [await start_with(ctx, p, work) for _ in range(8)]
        done = [await poll(client, tenant.headers, op.id) for op in ops]
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert [d["state"] for d in done] == ["succeeded"] * 8 and len(runs) == 8
    async with ctx.uow(tenant.tenant_id) as uow:
        workers = {(await uow.operations.get(op.id)).worker for op in ops}
    assert len(workers) >= 2  # the in-process worker and the two others took turns


async def test_graphql_operations_page_with_first_and_after(app, client, tenant):
    p = Principal(tenant.tenant_id, frozenset({"read", "write"}))

    async def done(reporter):
        return None

    made = [str((await start_with(app.state.ctx, p, done)).id) for _ in range(5)]
    for op_id in made:
        await poll(client, tenant.headers, op_id)
    q = """query($after: String) { operations(first: 2, after: $after) {
             nodes { id } pageInfo { hasNextPage endCursor } } }"""
    seen, after = [], None
    while True:
        body = {"query": q, "variables": {"after": after}}
        page = (await client.post("/graphql", json=body, headers=tenant.headers)).json()["data"]["operations"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == made[::-1]  # newest first, each once


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
async def test_a_worker_takes_a_rescoring_only_when_nothing_else_waits(database, tmp_path):
    """Oldest first, but a background rescoring (queued by an import) after any other kind: an assignment
    queued behind a steady sync's rescorings is taken first. A database of its own: no other worker
    takes them."""
    import uuid as _uuid
    from datetime import UTC, datetime, timedelta

    from api.services import runner
    from api.services.context import AppContext, Principal
    from persistence.db import make_engine, make_session_factory, upgrade
    from persistence.operations import claim_queued
    from tests.conftest import create_pg_database, drop_pg_database, make_tenant

    url = (
        await create_pg_database("territory_claims")
        if database == "postgres"
        else f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
    )
    engine = make_engine(url)
    try:
        await upgrade(engine)
        tenant = (await make_tenant(engine)).tenant_id
        ctx = AppContext(engine=engine, session_factory=make_session_factory(engine))
        p = Principal(tenant, frozenset({"read", "write"}))
        started = datetime.now(UTC)
        ids = {}
        for k, kind in enumerate(["scoring", "assign_by_rules", "scoring", "optimize"]):
            ctx.clock.now = lambda k=k: started + timedelta(seconds=k)  # type: ignore[method-assign]
            ids[k] = await runner.start(ctx, p, kind, _uuid.uuid4(), {})
        taken = [(await claim_queued(engine, "w", started)).id for _ in range(4)]
        assert taken == [ids[1], ids[3], ids[0], ids[2]]
        assert await claim_queued(engine, "w", started) is None
    finally:
        await engine.dispose()
        if database == "postgres":
            await drop_pg_database(url)


async def test_the_list_filters_by_a_known_kind_and_names_an_unknown_one(client, tenant):
    r = await client.get("/v1/operations?kind=optimise", headers=tenant.headers)
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"
    assert [e["field"] for e in r.json()["errors"]] == ["kind"]
    assert (
        await client.get("/v1/operations?kind=assign_by_rules", headers=tenant.headers)
    ).status_code == 200
    q = "{ operations(kind: SCORING) { nodes { kind } } }"
    data = (await client.post("/graphql", json={"query": q}, headers=tenant.headers)).json()
    assert "errors" not in data and all(n["kind"] == "scoring" for n in data["data"]["operations"]["nodes"])
