"""Reports over REST, JSON and CSV: coverage review (seed 000), weekly metrics (seed 004), territory plan
(seed 003), each scoped to the caller's tenant."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from tests import factories as f
from tests.api.test_coverage import _book


async def test_coverage_review_is_seed_000s_artifact(client, tenant):
    book = await _book(client, tenant)
    r = await client.get("/v1/reports/coverage-review", headers=tenant.headers)
    assert r.status_code == 200, r.text
    review = r.json()
    assert review["overview"] == {
        "total_named_accounts": 5,
        "active_in_pipeline": 0,
        "customers": 1,
        "prospected_not_active": 1,
        "cold": 3,
        "lapsed": 0,
        "whitespace": review["overview"]["whitespace"],
    }
    (rep,) = review["coverage_by_rep"]
    assert rep["rep_id"] == book["rep"]["id"] and rep["accounts"] == 5 and rep["covered"] == 1
    assert rep["by_stage"]["customer"] == 1 and sum(rep["by_tier"].values()) == 5
    assert rep["lists"]["dormant"] == 1
    questions = {q["name"]: q for q in review["monthly_questions"]}
    assert [a["external_id"] for a in questions["dormant"]["accounts"]] == ["COV-2"]
    assert questions["dormant"]["accounts"][0]["rep_name"] == book["rep"]["name"]
    assert review["expansion_pipeline"]["accounts"] == 0
    text = (await client.get("/v1/reports/coverage-review?format=csv", headers=tenant.headers)).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {"section": "overview", "item": "", "metric": "customers", "value": "1"} in rows
    assert any(r["section"] == "monthly_questions" and r["item"].startswith("dormant") for r in rows)


async def test_expansion_pipeline_lists_customers_with_expansion_potential(client, tenant):
    await f.imported(
        client,
        tenant.headers,
        kind="accounts",
        rows=[
            {"external_id": "X1", "name": "big", "stage": "customer", "expansion_estimate": 90_000},
            {"external_id": "X2", "name": "small", "stage": "customer", "expansion_estimate": 10_000},
            {"external_id": "X3", "name": "prospect", "stage": "cold", "expansion_estimate": 500_000},
        ],
    )
    review = (await client.get("/v1/reports/coverage-review", headers=tenant.headers)).json()
    pipeline = review["expansion_pipeline"]
    assert pipeline["accounts"] == 2 and pipeline["expansion_estimate"] == 100_000
    assert [a["external_id"] for a in pipeline["top"]] == ["X1", "X2"]


async def test_expansion_entries_say_when_and_by_whom_the_account_was_last_worked(client, tenant):
    h = tenant.headers
    await f.imported(
        client,
        h,
        kind="accounts",
        rows=[
            {"external_id": "E1", "name": "worked", "stage": "customer", "expansion_estimate": 90_000},
            {"external_id": "E2", "name": "drifting", "stage": "customer", "expansion_estimate": 50_000},
            {"external_id": "E3", "name": "never", "stage": "customer", "expansion_estimate": 10_000},
        ],
    )
    ana = await f.rep(client, h, name="Ana", external_id="R-ANA")
    await f.rep(client, h, name="Ben", external_id="R-BEN")

    def ago(days: int) -> str:
        return (datetime.now(UTC) - timedelta(days=days)).isoformat()

    await f.imported(
        client,
        h,
        kind="activities",
        rows=[
            {
                "external_id": "W1",
                "account_external_id": "E1",
                "rep_external_id": "R-ANA",
                "kind": "call",
                "occurred_at": ago(10),
            },
            # an email is a touch, not meaningful work: Ben's later email does not make him the last worker
            {
                "external_id": "W2",
                "account_external_id": "E1",
                "rep_external_id": "R-BEN",
                "kind": "email",
                "occurred_at": ago(2),
            },
            {
                "external_id": "W3",
                "account_external_id": "E2",
                "rep_external_id": "R-BEN",
                "kind": "meeting",
                "occurred_at": ago(50),
            },
        ],
    )
    review = (await client.get("/v1/reports/coverage-review", headers=h)).json()
    pipeline = review["expansion_pipeline"]
    assert pipeline["managed_window_days"] == 30
    top = {a["external_id"]: a for a in pipeline["top"]}
    assert (top["E1"]["last_worked_by"], top["E1"]["last_worked_by_rep_id"]) == ("Ana", ana["id"])
    assert top["E1"]["actively_managed"] is True
    assert top["E2"]["last_worked_by"] == "Ben" and top["E2"]["actively_managed"] is False
    assert top["E3"]["last_worked_at"] is None and top["E3"]["actively_managed"] is False
    r = await client.put(
        "/v1/settings", json={"overrides": {"coverage": {"expansion_managed_days": 60}}}, headers=h
    )
    assert r.status_code == 200
    review = (await client.get("/v1/reports/coverage-review", headers=h)).json()
    top = {a["external_id"]: a for a in review["expansion_pipeline"]["top"]}
    assert top["E2"]["actively_managed"] is True


async def test_weekly_metrics_by_rep_and_tier(client, tenant):
    book = await _book(client, tenant)
    now = datetime.now(UTC)
    monday = (now - timedelta(days=now.weekday())).date()
    rep_ext = book["rep"]["external_id"]
    # this week: COV-4 gets 2 touches and a reply, COV-5 a meeting; one opportunity created this week
    at = datetime(monday.year, monday.month, monday.day, 9, tzinfo=UTC)
    await f.imported(
        client,
        tenant.headers,
        kind="activities",
        rows=[
            {
                "external_id": "W1",
                "account_external_id": "COV-4",
                "rep_external_id": rep_ext,
                "occurred_at": at.isoformat(),
                "kind": "email",
            },
            {
                "external_id": "W2",
                "account_external_id": "COV-4",
                "rep_external_id": rep_ext,
                "occurred_at": (at + timedelta(minutes=5)).isoformat(),
                "kind": "email",
                "direction": "inbound",
            },
            {
                "external_id": "W3",
                "account_external_id": "COV-5",
                "rep_external_id": rep_ext,
                "occurred_at": (at + timedelta(minutes=9)).isoformat(),
                "kind": "meeting",
            },
        ],
    )
    await f.imported(
        client,
        tenant.headers,
        kind="opportunities",
        rows=[
            {
                "external_id": "OP1",
                "account_external_id": "COV-5",
                "amount": 40_000,
                "created_on": str(monday),
            }
        ],
    )
    r = await client.get(f"/v1/reports/weekly-metrics?week_start={monday}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    report = r.json()
    rows = report["rows"]
    assert report["week_start"] == str(monday) and {x["rep_id"] for x in rows} == {book["rep"]["id"]}
    assert sum(x["accounts"] for x in rows) == 5
    by_account_tier = {x["tier"]: x for x in rows}
    worked = sum(x["accounts_worked"] for x in rows)
    # the week also holds the earlier activities dated within it (COV-1 5 days ago, COV-3 3 days ago) when
    # they fall after Monday; count what the import put in this week
    in_week = {"COV-4", "COV-5"}
    for ext, days in (("COV-1", 10), ("COV-1", 5), ("COV-3", 3)):
        if (now - timedelta(days=days)).date() >= monday:
            in_week.add(ext)
    assert worked == len(in_week)
    assert sum(x["pipeline_created"] for x in rows) == 40_000
    replied = sum((x["reply_rate"] or 0) * x["accounts_worked"] for x in rows)
    assert replied == pytest.approx(1)
    assert all(x["sequence_target"] == {1: 8, 2: 5, 3: 2}[x["tier"]] for x in by_account_tier.values())
    text = (
        await client.get(f"/v1/reports/weekly-metrics?week_start={monday}&format=csv", headers=tenant.headers)
    ).text
    assert sum(int(r["accounts"]) for r in csv.DictReader(io.StringIO(text))) == 5
    last_year = await client.get("/v1/reports/weekly-metrics?week_start=2025-01-06", headers=tenant.headers)
    assert all(x["accounts_worked"] == 0 and x["reply_rate"] is None for x in last_year.json()["rows"])


async def test_territory_plan_segmentation_and_capacity(client, tenant):
    await f.imported(
        client,
        tenant.headers,
        kind="accounts",
        rows=[
            {
                "external_id": f"E{i}",
                "name": "e",
                "annual_revenue": 50e6,
                "current_arr": 600_000,
                "intent": 90,
                "expansion_estimate": 1e6,
                "growth_rate": 0.4,
                "engagement": 90,
            }
            for i in range(3)
        ]
        + [
            {"external_id": f"S{i}", "name": "s", "annual_revenue": 1e5, "current_arr": 1_000}
            for i in range(5)
        ],
    )
    await f.imported(
        client,
        tenant.headers,
        kind="opportunities",
        rows=[{"external_id": "WON", "account_external_id": "E0", "amount": 250_000, "status": "won"}],
    )
    await client.post("/v1/scoring/run", headers=tenant.headers)
    r = await client.get("/v1/reports/territory-plan", headers=tenant.headers)
    assert r.status_code == 200, r.text
    plan = r.json()
    segments = {s["segment"]: s for s in plan["segmentation"]["segments"]}
    ent, smb = segments["enterprise"], segments["smb"]
    assert (ent["accounts"], smb["accounts"]) == (3, 5)
    assert ent["average_deal_size"] == 250_000 and ent["win_rate_source"] == "default"
    # seed 001: TAP = ICP-fit accounts x average deal x win rate
    assert ent["tap"] == pytest.approx(ent["icp_fit_accounts"] * 250_000 * ent["win_rate"])
    assert smb["tap"] is None  # no won deal in the segment: no average deal size
    assert plan["capacity"]["scored_accounts"] == 8
    assert "pending_sections" not in plan
    assert plan["assignments"] == [] and plan["equity_metrics"] is None  # no active plan yet
    assert plan["header"]["total_addressable_market"] == pytest.approx(
        sum(s["tam"] for s in segments.values())
    )
    text = (await client.get("/v1/reports/territory-plan?format=csv", headers=tenant.headers)).text
    assert any(
        r["section"] == "segmentation" and r["metric"] == "tap" for r in csv.DictReader(io.StringIO(text))
    )


async def test_reports_see_only_the_callers_tenant(client, tenant, other_tenant):
    await _book(client, tenant)
    review = (await client.get("/v1/reports/coverage-review", headers=other_tenant.headers)).json()
    assert review["overview"]["total_named_accounts"] == 0 and review["coverage_by_rep"] == []
    weekly = (await client.get("/v1/reports/weekly-metrics", headers=other_tenant.headers)).json()
    assert weekly["rows"] == []
    plan = (await client.get("/v1/reports/territory-plan", headers=other_tenant.headers)).json()
    assert plan["segmentation"]["segments"] == []


async def test_a_bad_week_is_a_422_naming_the_field(client, tenant):
    r = await client.get("/v1/reports/weekly-metrics?week_start=nope", headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("week_start")


async def test_territory_plan_has_tap_and_tam_per_territory(client, tenant):
    owned = await f.owned_account(
        client,
        tenant.headers,
        annual_revenue=50e6,
        current_arr=600_000,
        intent=90,
        expansion_estimate=1e6,
        growth_rate=0.4,
        engagement=90,
    )
    await f.imported(
        client,
        tenant.headers,
        kind="opportunities",
        rows=[
            {
                "external_id": "W",
                "account_external_id": owned["account"]["external_id"],
                "amount": 80_000,
                "status": "won",
            }
        ],
    )
    await client.post("/v1/scoring/run", headers=tenant.headers)
    plan = (await client.get("/v1/reports/territory-plan", headers=tenant.headers)).json()
    (territory,) = plan["segmentation"]["territories"]
    assert territory["territory_name"] == owned["territory"]["name"] and territory["accounts"] == 1
    score = (await client.get(f"/v1/accounts/{owned['account']['id']}/score", headers=tenant.headers)).json()
    assert territory["tam"] == pytest.approx(score["potential"])
    assert score["icp_fit"] and territory["icp_fit_accounts"] == 1
    expected = 80_000 * plan["segmentation"]["segments"][0]["win_rate"]  # 1 ICP-fit account x deal x rate
    assert territory["tap"] == pytest.approx(expected) and territory["tap_missing_segments"] == []


async def _quarter_book(client, h):
    the_plan = await f.plan(client, h, state="active")
    ana = await f.rep(client, h, name="Ana", external_id="Q-ANA", quota=400_000)
    ter = await f.territory(client, h, the_plan["id"], name="North", primary_rep_id=ana["id"], quota=800_000)
    acct = await f.account(client, h, external_id="Q-1", name="won one")
    await f.create(
        client,
        h,
        "assignments",
        plan_id=the_plan["id"],
        account_id=acct["id"],
        rep_id=ana["id"],
        territory_id=ter["id"],
        role="AE",
    )

    def opp(ext, amount, status, created, closed=None):
        return {
            "external_id": ext,
            "account_external_id": "Q-1",
            "rep_external_id": "Q-ANA",
            "amount": amount,
            "status": status,
            "created_on": created,
            "closed_on": closed,
        }

    await f.imported(
        client,
        h,
        kind="opportunities",
        rows=[
            opp("O-1", 60_000, "won", "2026-07-05", "2026-08-10"),  # opened and won in Q3
            opp("O-2", 20_000, "won", "2026-05-01", "2026-09-01"),  # opened in Q2, won in Q3
            opp("O-3", 30_000, "lost", "2026-07-20", "2026-08-20"),  # opened in Q3, lost
            opp("O-4", 50_000, "open", "2026-08-01"),  # opened in Q3, open
            opp("O-5", 99_000, "won", "2026-07-01", "2026-10-05"),  # opened in Q3, won in Q4
        ],
    )
    return ana, ter


async def test_quarterly_review_reports_target_achieved_attainment_and_conversion(client, tenant):
    h = tenant.headers
    ana, ter = await _quarter_book(client, h)
    r = await client.get("/v1/reports/quarterly-review?quarter=2026-Q3", headers=h)
    assert r.status_code == 200, r.text
    review = r.json()
    assert (review["quarter"], review["quarter_start"], review["quarter_end"]) == (
        "2026-Q3",
        "2026-07-01",
        "2026-10-01",
    )
    assert review["quota_period"] == "annual"
    (rep,) = review["by_rep"]
    assert rep["id"] == ana["id"] and rep["name"] == "Ana"
    # an annual quota of 400,000 is a quarter's target of 100,000; 80,000 won closed in the quarter
    assert (rep["target"], rep["achieved"], rep["attainment"], rep["gap"]) == (100_000, 80_000, 0.8, 20_000)
    # four opened in the quarter, two of them won (one after it); two won in the quarter
    assert (rep["opportunities_opened"], rep["opportunities_won"]) == (4, 2)
    assert rep["conversion_rate"] == 0.5
    assert any(w.startswith("missed the quarter's target") for w in rep["why"])
    assert any(w.startswith("conversion: 2 of 4") for w in rep["why"])
    (territory,) = review["by_territory"]
    assert (territory["id"], territory["target"], territory["attainment"]) == (ter["id"], 200_000, 0.4)
    assert review["total"]["achieved"] == 80_000
    text = (await client.get("/v1/reports/quarterly-review?quarter=2026-Q3&format=csv", headers=h)).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["dimension"] for r in rows] == ["total", "rep", "territory"]
    assert rows[1]["attainment"] == "0.8" and rows[2]["name"] == "North"
    query = '{ quarterlyReview(quarter: "2026-Q3") { byRep { name attainment why } } }'
    answer = (await client.post("/graphql", json={"query": query}, headers=h)).json()
    assert answer["data"]["quarterlyReview"]["byRep"][0]["attainment"] == 0.8
    # a quarterly quota is the quarter's target itself
    r = await client.put(
        "/v1/settings", json={"overrides": {"equity": {"quota_period": "quarterly"}}}, headers=h
    )
    assert r.status_code == 200
    review = (await client.get("/v1/reports/quarterly-review?quarter=2026-Q3", headers=h)).json()
    assert (review["by_rep"][0]["target"], review["by_rep"][0]["attainment"]) == (400_000, 0.2)


async def test_quarterly_review_refuses_a_quarter_it_cannot_read(client, tenant):
    r = await client.get("/v1/reports/quarterly-review?quarter=2026-Q5", headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "quarter"
    assert r.headers["content-type"].startswith("application/problem+json")
    bad = await client.put(
        "/v1/settings", json={"overrides": {"equity": {"quota_period": "monthly"}}}, headers=tenant.headers
    )
    assert bad.status_code == 422 and "equity.quota_period" in bad.text


async def _two_books(client, headers) -> dict:
    """An active plan of two named-account territories: East (Sarah, backup James) holds the big accounts,
    West (James) the small ones; quotas and seed 004's plan fields on East."""
    sarah = await f.rep(client, headers, name="Sarah Chen", quota=1_200_000)
    james = await f.rep(client, headers, name="James Park", quota=1_000_000)
    plan = await f.plan(client, headers)
    await f.named_books(
        client,
        headers,
        plan["id"],
        {
            "East": (
                sarah,
                [{"external_id": f"BIG-{i}", "name": f"Big {i}", "current_arr": 600_000} for i in range(3)],
            ),
            "West": (
                james,
                [{"external_id": f"SML-{i}", "name": f"Small {i}", "current_arr": 20_000} for i in range(4)],
            ),
        },
    )
    territories = {
        t["name"]: t
        for t in (await client.get(f"/v1/territories?plan_id={plan['id']}", headers=headers)).json()["items"]
    }
    east = territories["East"]
    r = await client.patch(
        f"/v1/territories/{east['id']}",
        json={
            "backup_rep_id": james["id"],
            "quota": 1_200_000,
            "weekly_pipeline_target": 45_000,
            "meeting_rate_target": 0.04,
            "quarterly_review_date": "2027-07-01",
            "escalation_policy": "Territory of record = CRM owner field",
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    await client.post("/v1/scoring/run", headers=headers)
    await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=headers)
    await client.post(f"/v1/plans/{plan['id']}/activate", headers=headers)
    return {"plan": plan, "sarah": sarah, "james": james, "east": east, "west": territories["West"]}


async def test_territory_plan_has_every_section_of_seed_003(client, tenant):
    books = await _two_books(client, tenant.headers)
    plan = (await client.get("/v1/reports/territory-plan", headers=tenant.headers)).json()
    assert "pending_sections" not in plan
    assert plan["header"]["plan_id"] == books["plan"]["id"] and plan["header"]["total_sales_team"] == 2
    east, west = plan["assignments"]
    assert (east["name"], west["name"]) == ("East", "West")
    # seed 004's template in one entry: boundary, tier counts, owner and backup, targets, review, policy
    assert east["boundary"] == {"named_accounts": ["BIG-0", "BIG-1", "BIG-2"]}
    assert east["accounts"] == 3 and sum(east["tiers"].values()) == 3 and east["tiers"]["1"] >= 1
    assert east["owner"]["name"] == "Sarah Chen" and east["backup"]["name"] == "James Park"
    assert west["backup"] is None and west["quota"] is None
    assert (east["weekly_pipeline_target"], east["meeting_rate_target"]) == (45_000, 0.04)
    assert east["quarterly_review_date"] == east["next_review_date"] == "2027-07-01"
    assert east["escalation_policy"] == "Territory of record = CRM owner field"
    schedule = plan["rebalancing_schedule"]
    assert west["next_review_date"] == schedule["reviews"][0]["review_date"]
    # the equity lines are the equity endpoint's, not a second computation
    equity = (await client.get(f"/v1/plans/{books['plan']['id']}/equity", headers=tenant.headers)).json()
    metrics = plan["equity_metrics"]
    by_rep = equity["by_rep"]
    assert metrics["average_potential_per_rep"] == pytest.approx(by_rep["potential"]["mean"])
    assert (metrics["potential_low"], metrics["potential_high"]) == (
        pytest.approx(by_rep["potential"]["lowest"]),
        pytest.approx(by_rep["potential"]["highest"]),
    )
    assert metrics["average_quota_per_rep"] == pytest.approx(1_100_000)
    assert metrics["quota_spread"] == pytest.approx(0.2)
    books_by_name = {b["name"]: b for b in equity["by_territory"]["books"]}
    assert east["potential"] == pytest.approx(books_by_name["East"]["potential"])
    assert metrics["highest_territory"]["name"] == "East" and metrics["lowest_territory"]["name"] == "West"
    assert metrics["rebalancing_needed"] and metrics["actions"]
    assert {r["rep_name"]: r["in_band"] for r in metrics["per_rep"]} == {
        "James Park": False,
        "Sarah Chen": False,
    }
    # the schedule: the next year of quarterly reviews, each checking equity, seed 003's action per quarter
    assert schedule["cadence"] == "quarterly" and len(schedule["reviews"]) == 4
    quarters = {r["period"].split()[1]: r["actions"][-1] for r in schedule["reviews"]}
    assert quarters["Q1"] == "Check capacity utilization"
    assert quarters["Q4"] == "Implement the annual rebalance and set next year's quotas"
    # seed 004's touches are one sequence across weeks, not per quarter
    assert plan["coverage_model"]["tier_touches_per_sequence"]["1"] == [8, 12]
    assert "tier_touches_per_quarter" not in plan["coverage_model"]
    assert east["tier1_target_activity"] == "8-12 touches across 28 days (one sequence)"


async def test_the_review_cadence_sets_the_rebalancing_schedule(client, tenant):
    overrides = {"reviews": {"cadence": "monthly", "fiscal_year_start_month": 4}}
    assert (
        await client.put("/v1/settings", json={"overrides": overrides}, headers=tenant.headers)
    ).status_code == 200
    schedule = (await client.get("/v1/reports/territory-plan", headers=tenant.headers)).json()[
        "rebalancing_schedule"
    ]
    assert len(schedule["reviews"]) == 12 and schedule["fiscal_year_start_month"] == 4
    closing = [r for r in schedule["reviews"] if r["period_end"][5:7] in ("06", "09", "12", "03")]
    assert all(len(r["actions"]) == 2 for r in closing) and len(closing) == 4
    # the review of the fiscal year's last month (March, for an April year) sets next year's quotas
    march = next(r for r in schedule["reviews"] if r["period_end"][5:7] == "03")
    assert march["actions"][-1] == "Implement the annual rebalance and set next year's quotas"
    for bad, field in (
        ({"cadence": "weekly"}, "overrides.reviews.cadence"),
        ({"fiscal_year_start_month": 13}, "overrides.reviews.fiscal_year_start_month"),
    ):
        r = await client.put(
            "/v1/settings", json={"overrides": {"reviews": bad}}, headers={**tenant.headers, "If-Match": "*"}
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text


async def test_territory_plan_as_csv_with_readable_labels_and_as_a_printable_page(client, tenant):
    await _two_books(client, tenant.headers)
    r = await client.get("/v1/reports/territory-plan?format=csv", headers=tenant.headers)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    east = [x for x in rows if x["section"] == "assignments" and x["item"] == "East"]
    labels = {x["label"]: x["value"] for x in east}
    assert labels["Assignments / East / Weekly pipeline target"] == "45000.0"
    assert labels["Assignments / East / Backup / Name"] == "James Park"
    plan = (await client.get("/v1/reports/territory-plan", headers=tenant.headers)).json()
    assert labels["Assignments / East / Tiers / Tier 1"] == str(plan["assignments"][0]["tiers"]["1"])
    assert any(x["label"] == "Equity metrics / Average quota per rep" for x in rows)
    assert any(x["label"] == "Segmentation / Territories / West / TAP" for x in rows)
    page = await client.get("/v1/reports/territory-plan?format=html", headers=tenant.headers)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for heading in (
        "Market segmentation",
        "Coverage model",
        "Territory assignments",
        "Equity metrics",
        "Rebalancing schedule",
    ):
        assert f">{heading}</h2>" in html
    assert "Sarah Chen" in html and "James Park" in html and "<svg" in html
    assert "http://" not in html and "https://" not in html  # nothing fetched from elsewhere


async def test_territory_plan_over_graphql_answers_what_rest_answers(client, tenant):
    await _two_books(client, tenant.headers)
    q = """{ territoryPlan {
        header { totalSalesTeam planName }
        assignments { name owner { name } backup { name } tiers weeklyPipelineTarget meetingRateTarget
                      quarterlyReviewDate nextReviewDate escalationPolicy }
        equityMetrics { rebalancingNeeded averageQuotaPerRep highestTerritory { name }
                        perRep { repName inBand } }
        rebalancingSchedule { cadence reviews { period reviewDate actions } }
        coverageModel { tierTouchesPerSequence sequenceWindowDays }
    } }"""
    answer = (await client.post("/graphql", json={"query": q}, headers=tenant.headers)).json()
    assert "errors" not in answer, answer
    gql = answer["data"]["territoryPlan"]
    rest = (await client.get("/v1/reports/territory-plan", headers=tenant.headers)).json()
    east = gql["assignments"][0]
    assert east["owner"] == {"name": "Sarah Chen"} and east["backup"] == {"name": "James Park"}
    assert east["tiers"] == rest["assignments"][0]["tiers"] and east["weeklyPipelineTarget"] == 45_000
    assert east["quarterlyReviewDate"] == east["nextReviewDate"] == "2027-07-01"
    metrics = gql["equityMetrics"]
    assert metrics["averageQuotaPerRep"] == rest["equity_metrics"]["average_quota_per_rep"]
    assert metrics["highestTerritory"] == {"name": "East"} and metrics["rebalancingNeeded"]
    reviews = rest["rebalancing_schedule"]["reviews"]
    assert [r["reviewDate"] for r in gql["rebalancingSchedule"]["reviews"]] == [
        r["review_date"] for r in reviews
    ]
    assert gql["coverageModel"]["tierTouchesPerSequence"]["1"] == [8, 12]


async def test_quarters_at_the_ends_of_the_calendar(client, tenant):
    """Found by the fuzzer: year 0 was a 500 (no such date), and 9999-Q4 ends after the last date."""
    for quarter, status in (("0000-Q1", 422), ("9999-Q4", 200), ("1000-Q1", 200)):
        r = await client.get(f"/v1/reports/quarterly-review?quarter={quarter}", headers=tenant.headers)
        assert r.status_code == status, (quarter, r.text)


async def test_each_csv_and_html_answer_has_its_own_operation_answering_as_format_does(client, tenant, app):
    """For generated clients (docs/http.md, "Generated clients"): GET path.csv is GET path?format=csv."""
    await client.post(
        "/v1/accounts",
        headers=tenant.headers,
        json={"external_id": "T-1", "name": "Twin Co", "employees": 40},
    )
    spec = app.openapi()
    twins = [p for p, ops in spec["paths"].items() if p.endswith((".csv", ".html")) and "get" in ops]
    twins = [p for p in twins if "{" not in p]
    assert {"/v1/reports/coverage-review.csv", "/v1/reports/territory-plan.html", "/v1/coverage.csv"} <= set(
        twins
    )
    for path in twins:
        base, fmt = path.rsplit(".", 1)
        op = spec["paths"][path]["get"]
        assert list(op["responses"]["200"]["content"]) == [f"text/{fmt}"]
        assert op["operationId"] == spec["paths"][base]["get"]["operationId"] + "_" + fmt
        twin = await client.get(path, headers=tenant.headers)
        formatted = await client.get(base, params={"format": fmt}, headers=tenant.headers)
        assert twin.status_code == formatted.status_code == 200, path
        assert twin.headers["content-type"] == formatted.headers["content-type"]
        assert twin.headers["content-type"].startswith(f"text/{fmt}")
        if fmt == "csv":
            assert twin.text.splitlines()[0] == formatted.text.splitlines()[0]
            assert len(twin.text.splitlines()) == len(formatted.text.splitlines())
    bad = await client.get("/v1/reports/coverage-review.csv?limit=0", headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "limit"


async def test_coverage_review_has_coverage_by_tier_against_the_tenants_targets(client, tenant):
    await _book(client, tenant)
    review = (await client.get("/v1/reports/coverage-review", headers=tenant.headers)).json()
    report = (await client.get("/v1/coverage", headers=tenant.headers)).json()
    by_tier = {t["tier"]: t for t in report["by_tier"]}
    assert [t["tier"] for t in review["coverage_by_tier"]] == [1, 2, 3]
    for t in review["coverage_by_tier"]:  # the same rule and the same reasons as /v1/coverage
        assert t == by_tier.get(t["tier"], t | {"accounts": 0, "covered": 0})
    assert sum(t["accounts"] for t in review["coverage_by_tier"]) == 5
    assert sum(t["covered"] for t in review["coverage_by_tier"]) == 1
    assert [t["target"] for t in review["coverage_by_tier"]] == [0.9, 0.6, None]
    r = await client.put(
        "/v1/settings", json={"overrides": {"coverage": {"tier1_target": 0.35}}}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    review = (await client.get("/v1/reports/coverage-review", headers=tenant.headers)).json()
    assert review["coverage_by_tier"][0]["target"] == 0.35
    page = (await client.get("/v1/reports/coverage-review?format=html", headers=tenant.headers)).text
    assert "Tier 1 target (coverage.tier1_target)</dt><dd>35%" in page


async def test_coverage_review_as_a_printable_page_with_its_chart_and_names_escaped(client, tenant):
    h = tenant.headers
    owned = await f.owned_account(client, h, external_id="ESC-1", current_arr=500_000)
    evil = "<script>alert('x')</script> & Co"
    r = await client.patch(f"/v1/reps/{owned['rep']['id']}", json={"name": evil}, headers=h)
    assert r.status_code == 200, r.text
    await f.imported(
        client,
        h,
        kind="accounts",
        rows=[{"external_id": "ESC-2", "name": "<img src=x onerror=alert(1)>", "stage": "cold"}],
    )
    page = await client.get("/v1/reports/coverage-review?format=html", headers=h)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Co" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    for heading in (
        "Territory overview",
        "Coverage by tier",
        "Coverage by rep",
        "Monthly review questions",
        "Expansion pipeline",
    ):
        assert f">{heading}</h2>" in html
    assert html.count('<svg class=chart data-chart="coverage"') == 1
    assert html.count("<rect class=bar") == 3 and html.count("<rect class=target") == 2  # tier 3: none
    assert "@media print" in html and "http://" not in html and "https://" not in html
    plan = (await client.get("/v1/reports/territory-plan?format=html", headers=h)).text
    assert "<script" not in plan and "&lt;script&gt;" in plan and 'data-chart="potential"' in plan
    csv_text = (await client.get("/v1/reports/coverage-review?format=csv", headers=h)).text
    assert "coverage_by_tier" in csv_text


async def test_printable_reports_declare_html_in_the_contract(client):
    """Each media type an operation: the JSON one answers JSON only (a generated client parses an answer
    with its operation's one type), the .csv and .html ones their text; `?format=` is not in the contract."""
    spec = (await client.get("/openapi.json")).json()
    for path in ("/v1/reports/coverage-review", "/v1/reports/territory-plan"):
        op = spec["paths"][path]["get"]
        assert set(op["responses"]["200"]["content"]) == {"application/json"}, path
        assert "format" not in {x["name"] for x in op.get("parameters", [])}, path
        for suffix, media in ((".csv", "text/csv"), (".html", "text/html")):
            assert set(spec["paths"][path + suffix]["get"]["responses"]["200"]["content"]) == {media}
    for path, item in spec["paths"].items():
        for op in item.values():
            assert "format" not in {x["name"] for x in op.get("parameters", [])} or "/export" in path, path


async def test_an_empty_tenants_printable_pages_say_there_is_nothing_yet(client, tenant):
    page = await client.get("/v1/reports/coverage-review?format=html", headers=tenant.headers)
    assert page.status_code == 200
    assert "No accounts in scope." in page.text and page.text.count("no accounts") == 3
    assert page.text.count("<rect class=bar") == 3  # every tier has its row, an empty bar
    plan = await client.get("/v1/reports/territory-plan?format=html", headers=tenant.headers)
    assert plan.status_code == 200 and "No active plan" in plan.text and "<svg" not in plan.text
