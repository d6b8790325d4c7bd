"""Scoring runs over REST: scores, potential, tiers by potential, explanations, settings version."""

import asyncio
import random

import httpx
import pytest
import sqlalchemy as sa

from api.app import create_app
from api.config import AppSettings
from api.services.worker import Worker
from persistence.db import make_engine, upgrade
from tests import factories as f
from tests.conftest import create_pg_database, drop_pg_database, make_tenant


async def test_run_scores_tiers_by_potential_and_explains(client, tenant):
    rows = [
        {
            "external_id": f"A{i}",
            "name": f"a{i}",
            "current_arr": 10_000.0 * i,
            "expansion_estimate": 0.0,
            "growth_rate": 0.1,
            "engagement": 50,
        }
        for i in range(10)
    ]
    # the growth account: little ARR, big whitespace: the highest potential
    rows.append(
        {
            "external_id": "GROW",
            "name": "grow",
            "current_arr": 50_000.0,
            "expansion_estimate": 2_000_000.0,
            "growth_rate": 0.4,
            "engagement": 90,
        }
    )
    await f.imported(client, tenant.headers, rows)
    r = await client.post("/v1/scoring/run", headers=tenant.headers)
    assert r.status_code == 200, r.text
    run = r.json()
    # 11 accounts: tier 1 = round(11 x 20%) = 2; tiers 1 and 2 = round(11 x 50%) = 6, so tier 2 = 4
    assert run["scored"] == 11 and run["tiers"] == {"1": 2, "2": 4, "3": 5}
    assert run["win_rates"]["smb"]["source"] == "default"
    grow = (await client.get("/v1/accounts/by-external-id/GROW", headers=tenant.headers)).json()
    score = (await client.get(f"/v1/accounts/{grow['id']}/score", headers=tenant.headers)).json()
    assert score["tier"] == 1
    assert score["potential"] == pytest.approx(50_000 + 2_000_000 * 0.2)
    assert score["settings_version"] == run["settings_version"]
    assert sum(fac["contribution"] for fac in score["factors"]) == pytest.approx(score["score"])
    assert 1 <= score["score"] <= 5
    by = {fac["factor"]: fac for fac in score["factors"]}
    assert by["whitespace"]["source_fields"] == ["expansion_estimate"] and by["whitespace"]["value"] == 5
    # seed 003's matrix: $50K ARR is the SMB band; whitespace 5 is high growth
    assert score["matrix"] == {
        "revenue_band": "smb",
        "growth": "high",
        "rep_type": "SDR / Inside Sales",
        "strategy": "Volume model, digital engagement",
    }
    low = (await client.get("/v1/accounts/by-external-id/A1", headers=tenant.headers)).json()
    assert (await client.get(f"/v1/accounts/{low['id']}/score", headers=tenant.headers)).json()["tier"] == 3


async def test_missing_data_lowers_confidence_and_is_listed(client, tenant):
    a = await f.account(client, tenant.headers, current_arr=600_000)
    await client.post("/v1/scoring/run", headers=tenant.headers)
    score = (await client.get(f"/v1/accounts/{a['id']}/score", headers=tenant.headers)).json()
    assert score["confidence"] == pytest.approx(0.25)
    assert set(score["missing_fields"]) == {"engagement", "growth_rate", "expansion_estimate"}


async def test_results_say_which_settings_made_them(client, tenant):
    a = await f.account(client, tenant.headers, current_arr=600_000, engagement=10)
    first = (await client.post("/v1/scoring/run", headers=tenant.headers)).json()
    put = {"overrides": {"scoring": {"expansion": 0.0}}}
    version = (await client.put("/v1/settings", json=put, headers=tenant.headers)).json()["version"]
    second = (await client.post("/v1/scoring/run", headers=tenant.headers)).json()
    assert second["settings_version"] == version == first["settings_version"] + 1
    score = (await client.get(f"/v1/accounts/{a['id']}/score", headers=tenant.headers)).json()
    assert score["settings_version"] == version and "expansion" not in {x["factor"] for x in score["factors"]}


def _six_won_of_twenty(account_external_id: str) -> list[dict]:
    return [
        {
            "external_id": f"O{i}",
            "account_external_id": account_external_id,
            "amount": 1000.0,
            "status": "won" if i < 6 else "lost",
        }
        for i in range(20)
    ]


async def test_win_rates_come_from_the_tenants_closed_opportunities(client, tenant):
    await f.imported(client, tenant.headers, [{"external_id": "S", "name": "s", "annual_revenue": 500_000.0}])
    opps = _six_won_of_twenty("S")
    r = await client.post("/v1/opportunities/import", json=opps, headers=tenant.headers)
    assert r.json()["created"] == 20
    run = (await client.post("/v1/scoring/run", headers=tenant.headers)).json()
    assert run["win_rates"]["smb"] == {"rate": 0.3, "won": 6, "lost": 14, "source": "history"}


async def test_score_errors_and_isolation(client, tenant, other_tenant):
    a = await f.account(client, tenant.headers)
    r = await client.get(f"/v1/accounts/{a['id']}/score", headers=tenant.headers)
    assert r.status_code == 404 and r.json()["code"] == "not_scored"
    await client.post("/v1/scoring/run", headers=tenant.headers)
    assert (
        await client.get(f"/v1/accounts/{a['id']}/score", headers=other_tenant.headers)
    ).status_code == 404
    theirs = (await client.post("/v1/scoring/run", headers=other_tenant.headers)).json()
    assert theirs["scored"] == 0
    assert (await client.post("/v1/scoring/run", headers=tenant.read_headers)).status_code == 403
    assert (await client.get(f"/v1/accounts/{a['id']}/score", headers=tenant.headers)).status_code == 200


async def test_graphql_run_scoring_and_account_scores_are_batched(client, engine, tenant):
    from tests.factories import count_statements

    rows = [
        {"external_id": f"G{i}", "name": f"g{i}", "current_arr": 1000.0 * i, "growth_rate": 0.2}
        for i in range(6)
    ]
    await f.imported(client, tenant.headers, rows)
    m = "mutation { runScoring { __typename ... on ScoringRun { scored tiers winRates } } }"
    run = (await client.post("/graphql", json={"query": m}, headers=tenant.headers)).json()["data"][
        "runScoring"
    ]
    assert run["scored"] == 6 and sum(run["tiers"].values()) == 6
    # the win rates are JSON as REST has them (they were a 500: models inside a JSON field)
    rest = (await client.post("/v1/scoring/run", headers=tenant.headers)).json()
    assert run["winRates"] == rest["win_rates"] and run["winRates"]["unknown"]["source"] == "default"
    q = """{ accounts(first: 6) { nodes { externalId
             score { score tier settingsVersion factors { factor value }
             matrix { revenueBand repType } } } } }"""
    with count_statements(engine) as statements:
        data = (await client.post("/graphql", json={"query": q}, headers=tenant.headers)).json()["data"]
    nodes = data["accounts"]["nodes"]
    assert len(nodes) == 6 and all(n["score"]["factors"] for n in nodes)
    assert sorted(n["score"]["tier"] for n in nodes) == [1, 2, 2, 3, 3, 3]
    assert {n["score"]["matrix"]["revenueBand"] for n in nodes} == {"smb"}  # at most $5K ARR
    assert sum("account_scores" in s for s in statements) == 1  # one batched read for all six
    denied = await client.post("/graphql", json={"query": m}, headers=tenant.read_headers)
    assert denied.json()["data"]["runScoring"]["__typename"] == "Problem"
    both = """mutation { some: runScoring { ... on ScoringRun { full rescored reason } }
                         every: runScoring(full: true) { ... on ScoringRun { full rescored reason } } }"""
    runs = (await client.post("/graphql", json={"query": both}, headers=tenant.headers)).json()["data"]
    assert (runs["some"]["full"], runs["some"]["rescored"]) == (False, 0)
    assert runs["every"] == {"full": True, "rescored": 6, "reason": "a full run was asked for"}


async def test_a_failed_write_surfaces_and_keeps_the_previous_scores(client, tenant, monkeypatch):
    from persistence import scoring as store

    a = await f.account(client, tenant.headers, current_arr=1000)
    await client.post("/v1/scoring/run", headers=tenant.headers)
    before = (await client.get(f"/v1/accounts/{a['id']}/score", headers=tenant.headers)).json()

    async def broken(conn, rows):
        raise OSError("disk full")

    monkeypatch.setattr(store, "write_scores", broken)
    r = await client.post("/v1/scoring/run?full=true", headers=tenant.headers)
    assert r.status_code == 500 and r.json()["code"] == "internal_error"
    after = (await client.get(f"/v1/accounts/{a['id']}/score", headers=tenant.headers)).json()
    assert after == before


async def test_an_import_rescores_after_answering(client, tenant):
    rows = [{"external_id": f"I{i}", "name": f"i{i}", "current_arr": 1000.0 * i} for i in range(5)]
    r = await client.post("/v1/accounts/import", json=rows, headers=tenant.headers)
    assert r.json()["scoring"] == "scheduled"
    acc = (await client.get("/v1/accounts/by-external-id/I4", headers=tenant.headers)).json()
    first = (await client.get(f"/v1/accounts/{acc['id']}/score", headers=tenant.headers)).json()
    assert first["tier"] == 1
    again = await client.post("/v1/accounts/import", json=rows, headers=tenant.headers)
    assert again.json()["unchanged"] == 5 and again.json()["scoring"] is None  # nothing changed: no rerun
    rows[0]["current_arr"] = 1_000_000.0
    await client.post("/v1/accounts/import", json=rows, headers=tenant.headers)
    top = (await client.get("/v1/accounts/by-external-id/I0", headers=tenant.headers)).json()
    assert (await client.get(f"/v1/accounts/{top['id']}/score", headers=tenant.headers)).json()["tier"] == 1


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
async def test_without_a_worker_in_the_api_process_an_import_queues_one_rescoring_for_the_workers(
    database, tmp_path
):
    """worker_in_process off (separate `territory worker` processes): the API process rescores nothing
    itself; each import that needs it queues a scoring operation unless one is still waiting, and a worker
    runs it. Three imports in a row make one operation; the scores come when the worker has run it. A
    database of its own: the shared app's worker would take the queued operations."""
    if database == "postgres":
        url = await create_pg_database("territory_rescoring")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    try:
        await _queued_rescoring(engine, (await make_tenant(engine)).headers)
    finally:
        await engine.dispose()
        if database == "postgres":
            await drop_pg_database(url)


async def _queued_rescoring(engine, h):  # noqa: ANN001
    settings = AppSettings(
        database_url=str(engine.url), rate_limit="", rate_limit_lookup="", worker_in_process=False
    )
    app = create_app(settings, engine=engine)
    ctx = app.state.ctx
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        rows = [{"external_id": f"Q{i}", "name": f"q{i}", "current_arr": 1000.0 * i} for i in range(5)]
        for k in range(3):
            rows[0]["current_arr"] = 10.0 * (k + 1)
            r = await c.post("/v1/accounts/import", json=rows, headers=h)
            assert r.status_code == 200 and r.json()["scoring"] == "scheduled", r.text
        queued = (await c.get("/v1/operations?kind=scoring", headers=h)).json()["items"]
        assert [(o["kind"], o["state"]) for o in queued] == [("scoring", "queued")]
        acc = (await c.get("/v1/accounts/by-external-id/Q4", headers=h)).json()
        assert (await c.get(f"/v1/accounts/{acc['id']}/score", headers=h)).status_code == 404  # not yet
        worker = Worker(ctx, webhooks=False)
        worker.start()
        try:
            for _ in range(200):
                op = (await c.get(f"/v1/operations/{queued[0]['id']}", headers=h)).json()
                if op["state"] not in ("queued", "running"):
                    break
                await asyncio.sleep(0.05)
        finally:
            await worker.stop()
            await ctx.operations.close()
            await ctx.ownership.close()
        assert op["state"] == "succeeded" and op["result"]["scored"] == 5, op
        score = (await c.get(f"/v1/accounts/{acc['id']}/score", headers=h)).json()
        assert score["tier"] == 1
        # the queued one taken, the next import queues a new one
        rows[0]["current_arr"] = 99.0
        assert (await c.post("/v1/accounts/import", json=rows, headers=h)).json()["scoring"] == "scheduled"
        states = [o["state"] for o in (await c.get("/v1/operations?kind=scoring", headers=h)).json()["items"]]
        assert states == ["queued", "succeeded"]


async def test_concurrent_scoring_runs_take_turns(client, tenant):
    rows = [{"external_id": f"SR-{i}", "name": f"Run {i}", "current_arr": 1000 * i} for i in range(50)]
    await f.imported(client, tenant.headers, rows)
    answers = await asyncio.gather(
        *[client.post("/v1/scoring/run", headers=tenant.headers) for _ in range(3)]
    )
    assert [r.status_code for r in answers] == [200] * 3, [r.text[:200] for r in answers]
    assert {r.json()["scored"] for r in answers} == {50}


async def test_requests_while_a_run_is_in_flight_join_the_next_run_never_a_stale_one(
    client, tenant, monkeypatch
):
    """Single flight: five requests during a run make one more run, not five, and that run starts after
    they were asked, so it scores the account written meanwhile."""
    from api.services import scoring

    await f.account(client, tenant.headers, current_arr=10_000)
    started, release, runs, real = asyncio.Event(), asyncio.Event(), [], scoring.score_book

    async def held(ctx, p, full):
        runs.append(len(runs))
        started.set()
        if len(runs) == 1:
            await release.wait()
        return await real(ctx, p, full)

    monkeypatch.setattr(scoring, "score_book", held)
    first = asyncio.ensure_future(client.post("/v1/scoring/run", headers=tenant.headers))
    await started.wait()
    late = await f.account(client, tenant.headers, current_arr=20_000)  # written during the first run
    joiners = [
        asyncio.ensure_future(client.post("/v1/scoring/run", headers=tenant.headers)) for _ in range(5)
    ]
    await asyncio.sleep(0.05)
    assert len(runs) == 1  # the joiners wait for the next run; it has not started
    release.set()
    answers = await asyncio.gather(first, *joiners)
    assert [r.status_code for r in answers] == [200] * 6
    assert len(runs) == 2
    assert {r.json()["scored"] for r in answers[1:]} == {2}  # one run answered them all, with the late one
    score = await client.get(f"/v1/accounts/{late['id']}/score", headers=tenant.headers)
    assert score.status_code == 200


async def test_seed_001_growth_account_tiers_above_the_mature_one_from_its_growth_signals(client, tenant):
    rows = [
        {
            "external_id": "GROW",
            "name": "Growing",
            "current_arr": 50_000,
            "growth_rate": 0.4,
            "whitespace_units": 3,
        },
        {"external_id": "MATURE", "name": "Mature", "current_arr": 200_000, "growth_rate": 0.05},
        *({"external_id": f"O{i}", "name": f"o{i}", "current_arr": 20_000} for i in range(8)),
    ]
    await f.imported(client, tenant.headers, rows)
    put = {"overrides": {"tiers": {"tier1_share": 0.1, "tier2_share": 0.3}}}
    assert (await client.put("/v1/settings", json=put, headers=tenant.headers)).status_code == 200
    assert (await client.post("/v1/scoring/run", headers=tenant.headers)).status_code == 200
    scores = {}
    for ext in ("GROW", "MATURE"):
        account = (await client.get(f"/v1/accounts/by-external-id/{ext}", headers=tenant.headers)).json()
        scores[ext] = (await client.get(f"/v1/accounts/{account['id']}/score", headers=tenant.headers)).json()
    grow, mature = scores["GROW"], scores["MATURE"]
    assert (grow["tier"], mature["tier"]) == (1, 2), (grow, mature)
    assert grow["potential"] == pytest.approx(255_129.6) and grow["expansion_derived"] is True
    assert grow["potential_basis"] == (
        "potential $255,130 = current ARR $50,000 + expansion estimate $1,025,648 (derived: $50,000 x "
        "(1 + 3 whitespace units) x (1 + 40% a year)^5 years - $50,000) x win probability 20%"
    )
    other = (await client.get("/v1/accounts/by-external-id/O1", headers=tenant.headers)).json()
    plain = (await client.get(f"/v1/accounts/{other['id']}/score", headers=tenant.headers)).json()
    assert plain["expansion_derived"] is False and "none given, no growth signals" in plain["potential_basis"]


def _book(rng: random.Random, n: int, prefix: str = "B") -> list[dict]:
    """Accounts with every kind of scoring input, some missing, in three segments."""
    rows = []
    for i in range(n):
        row = {
            "external_id": f"{prefix}{i}",
            "name": f"{prefix.lower()}{i}",
            "current_arr": float(rng.choice([0, 5_000, 40_000, 120_000, 700_000])) + i,
            "annual_revenue": rng.choice([None, 200_000.0, 5_000_000.0, 50_000_000.0]),
            "growth_rate": rng.choice([None, 0.05, 0.3, 0.9]),
            "engagement": rng.choice([None, 10, 60, 95]),
            "whitespace_units": rng.choice([None, 0, 2]),
        }
        if rng.random() < 0.3:
            row["expansion_estimate"] = float(rng.choice([0, 50_000, 900_000]))
        rows.append({k: v for k, v in row.items() if v is not None})
    return rows


async def _stored(engine, tenant_id) -> dict:  # noqa: ANN001
    """The tenant's score rows as stored, but for when they were computed."""
    from persistence.scoring import SCORES

    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(SCORES).where(SCORES.c.tenant_id == tenant_id))).mappings()
        return {r["account_id"]: {k: v for k, v in r.items() if k != "computed_at"} for r in rows}


async def _run(client, headers, full: bool = False) -> dict:  # noqa: ANN001
    r = await client.post(f"/v1/scoring/run?full={str(full).lower()}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_run_rescores_only_what_changed_and_stores_what_a_full_run_would(client, engine, tenant):
    """Accounts changed (PATCH), new (POST) and deleted, in rounds, with no import to rescore them: each
    run rescores exactly those, removes the deleted ones' scores, moves the tiers the new boundaries move,
    and leaves the stored rows equal, field for field, to what a full run then writes."""
    rng, h = random.Random(14), tenant.headers
    await f.imported(client, h, _book(rng, 40))  # the import's own rescoring scores the book
    first = await _run(client, h)
    assert (first["full"], first["rescored"], first["scored"]) == (False, 0, 40)
    live = {a["id"] for a in (await client.get("/v1/accounts?page_size=100", headers=h)).json()["items"]}
    assert len(live) == 40
    for round_ in range(3):
        before = await _stored(engine, tenant.tenant_id)
        changed = rng.sample(sorted(live), 5)
        for account_id in changed:
            patch = {"current_arr": float(rng.choice([1_000, 2_000_000, 9_000_000])), "engagement": 99}
            r = await client.patch(f"/v1/accounts/{account_id}", json=patch, headers=h)
            assert r.status_code == 200, r.text
        new = [(await f.account(client, h, **row))["id"] for row in _book(rng, 3, prefix=f"N{round_}-")]
        gone = rng.sample(sorted(live - set(changed)), 2)
        for account_id in gone:
            assert (await client.delete(f"/v1/accounts/{account_id}", headers=h)).status_code in (200, 204)
        live = (live | set(new)) - set(gone)
        run = await _run(client, h)
        assert (
            run["full"] is False
            and run["reason"] == "only the accounts new or changed since the last run (8)"
        )
        assert (run["rescored"], run["removed"], run["scored"]) == (8, 2, len(live))
        after = await _stored(engine, tenant.tenant_id)
        assert {str(k) for k in after} == live
        unchanged = [k for k in after if str(k) not in {*changed, *new}]
        assert run["retiered"] == sum(after[k]["tier"] != before[k]["tier"] for k in unchanged)
        # an unchanged account's row is untouched but for its tier
        assert {k: after[k] for k in unchanged} == {
            k: before[k] | {"tier": after[k]["tier"]} for k in unchanged
        }
        full = await _run(client, h, full=True)
        assert (
            full["full"] is True
            and full["reason"] == "a full run was asked for"
            and full["rescored"] == len(live)
        )
        assert await _stored(engine, tenant.tenant_id) == after
        assert (full["tiers"], full["icp_fit"]) == (run["tiers"], run["icp_fit"])


async def test_new_accounts_at_the_top_move_the_others_down_a_tier(client, tenant):
    h = tenant.headers
    rows = [{"external_id": f"T{i}", "name": f"t{i}", "current_arr": 1000.0 * (i + 1)} for i in range(10)]
    await f.imported(client, h, rows)
    assert (await _run(client, h))["tiers"] == {"1": 2, "2": 3, "3": 5}  # T9-T8, T7-T5, T4-T0
    for i in range(5):
        await f.account(client, h, current_arr=5_000_000.0 + i)
    run = await _run(client, h)
    # 15 accounts: tier 1 = round(3.0) = 3 (new), tiers 1-2 = round(7.5) = 8: the other two new, then
    # T9-T7 in tier 2; T6 and T5 drop to tier 3, T9 and T8 to tier 2
    assert run["tiers"] == {"1": 3, "2": 5, "3": 7} and (run["rescored"], run["retiered"]) == (5, 4)
    tiers = {}
    for i in (9, 8, 7, 6, 5, 4):
        acc = (await client.get(f"/v1/accounts/by-external-id/T{i}", headers=h)).json()
        tiers[i] = (await client.get(f"/v1/accounts/{acc['id']}/score", headers=h)).json()["tier"]
    assert tiers == {9: 2, 8: 2, 7: 2, 6: 3, 5: 3, 4: 3}


async def test_a_settings_change_rescores_every_account_and_moved_win_rates_revalue_potentials(
    client, engine, tenant, monkeypatch
):
    from api.rest import imports

    h = tenant.headers
    smb = [
        {
            "external_id": f"S{i}",
            "name": f"s{i}",
            "annual_revenue": 500_000.0,
            "current_arr": 1000.0 * i,
            "expansion_estimate": 10_000.0 * i,
        }
        for i in range(4)
    ]
    await f.imported(
        client, h, smb + [{"external_id": f"X{i}", "name": f"x{i}", "current_arr": 99.0} for i in range(3)]
    )
    put = {"overrides": {"scoring": {"expansion": 0.0}}}
    version = (await client.put("/v1/settings", json=put, headers=h)).json()["version"]
    run = await _run(client, h)
    assert run["full"] is True and run["rescored"] == 7
    assert run["reason"] == f"the settings changed (version {version - 1} -> {version})"

    async def not_now(ctx, p):  # noqa: ANN001
        pass

    monkeypatch.setattr(imports, "rescore_after_import", not_now)  # the run below is the import's
    opps = _six_won_of_twenty("S1")
    assert (await client.post("/v1/opportunities/import", json=opps, headers=h)).status_code == 200
    run = await _run(client, h)
    assert (run["full"], run["rescored"], run["revalued"]) == (False, 0, 4)
    assert run["reason"] == (
        "only the accounts new or changed since the last run (0); the win rates moved (smb 20.0% -> 30.0%): "
        "4 potentials revalued"
    )
    assert run["win_rates"]["smb"]["rate"] == 0.3
    revalued = await _stored(engine, tenant.tenant_id)
    s3 = next(v for v in revalued.values() if v["expansion_estimate"] == 30_000.0)
    assert (s3["win_probability"], s3["potential"]) == (0.3, 3000.0 + 30_000.0 * 0.3)
    assert (await _run(client, h, full=True))["tiers"] == run["tiers"]
    assert await _stored(engine, tenant.tenant_id) == revalued  # what rescoring them would have stored
    assert (await _run(client, h))["revalued"] == 0


async def test_rows_made_before_the_lock_never_replace_a_newer_score(client, engine, tenant, monkeypatch):
    """A run scores the changed accounts before it takes the lock. If another run stores a later
    version's score in between, the rows made ahead do not overwrite it; an account deleted in between
    loses its score; and what is stored equals what a full run stores."""
    from api.services import scoring

    h = tenant.headers
    a = await f.account(client, h, current_arr=1_000.0)
    b = await f.account(client, h, current_arr=2_000.0)
    await _run(client, h)
    for account in (a, b):
        r = await client.patch(f"/v1/accounts/{account['id']}", json={"current_arr": 5_000.0}, headers=h)
        assert r.status_code == 200
    real, seen = scoring._score_changes_ahead, {}

    async def ahead_then_another_run(ctx, p):  # noqa: ANN001
        made = await real(ctx, p)
        seen["rows"] = len(made.rows)
        # meanwhile: a changes again and another run (a full one) scores it; b is deleted
        r = await client.patch(f"/v1/accounts/{a['id']}", json={"current_arr": 900_000.0}, headers=h)
        assert r.status_code == 200
        await scoring.score_book(ctx, p, True)
        assert (await client.delete(f"/v1/accounts/{b['id']}", headers=h)).status_code in (200, 204)
        return made

    monkeypatch.setattr(scoring, "_score_changes_ahead", ahead_then_another_run)
    run = await _run(client, h)
    monkeypatch.undo()
    assert seen["rows"] == 2  # a and b were scored ahead, at 5,000
    assert (run["rescored"], run["removed"]) == (0, 1)  # a's later score kept; b's score gone
    score = (await client.get(f"/v1/accounts/{a['id']}/score", headers=h)).json()
    assert score["potential"] == 900_000.0
    stored = await _stored(engine, tenant.tenant_id)
    assert (await _run(client, h, full=True))["scored"] == 1
    assert await _stored(engine, tenant.tenant_id) == stored
