"""Coverage tracking over REST: facts kept current on import, the report, failing accounts and why,
overlaps, whitespace, a rep's monthly review, CSV, and tenants kept apart."""

import csv
import io
from datetime import UTC, datetime, timedelta

from tests import factories as f


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def _book(client, tenant):
    """Five accounts owned by one AE; a second AE and an SDR who also touch some of them."""
    owned = await f.owned_account(client, tenant.headers, external_id="COV-1", current_arr=900_000)
    plan, rep, territory = owned["plan"], owned["rep"], owned["territory"]
    other = await f.rep(client, tenant.headers, external_id="AE-2")
    await f.rep(client, tenant.headers, external_id="SDR-1", role="SDR")
    await f.imported(
        client,
        tenant.headers,
        kind="reps",
        rows=[{"external_id": "AE-1", "name": "x", "email": "x@example.com"}],
    )
    accounts = [
        {"external_id": "COV-2", "name": "stale", "current_arr": 800_000, "stage": "customer"},
        {"external_id": "COV-3", "name": "no step", "current_arr": 700_000, "tags": ["partner"]},
        {"external_id": "COV-4", "name": "prospect", "current_arr": 1_000, "stage": "prospected"},
        {"external_id": "COV-5", "name": "fit", "current_arr": 0, "expansion_estimate": 3e6, "intent": 100},
    ]
    await f.imported(client, tenant.headers, kind="accounts", rows=accounts)
    for ext in ("COV-2", "COV-3", "COV-4", "COV-5"):
        a = (await client.get(f"/v1/accounts/by-external-id/{ext}", headers=tenant.headers)).json()
        await f.create(
            client,
            tenant.headers,
            "assignments",
            plan_id=plan["id"],
            account_id=a["id"],
            rep_id=rep["id"],
            territory_id=territory["id"],
            role="AE",
        )
    rep_ext = rep["external_id"]
    activities = [
        # COV-1: covered (call 10 days ago with a contact and a next step), touched by a second AE too
        {
            "external_id": "ACT-1",
            "account_external_id": "COV-1",
            "rep_external_id": rep_ext,
            "occurred_at": ago(10),
            "kind": "call",
            "contact": "CFO",
            "next_step": "proposal",
        },
        {
            "external_id": "ACT-2",
            "account_external_id": "COV-1",
            "rep_external_id": "AE-2",
            "occurred_at": ago(5),
            "kind": "email",
            "next_step": "send deck",
        },
        # COV-2: last touch 120 days ago: no meaningful touch, no active contact; dormant customer
        {
            "external_id": "ACT-3",
            "account_external_id": "COV-2",
            "rep_external_id": rep_ext,
            "occurred_at": ago(120),
            "kind": "meeting",
            "contact": "CEO",
            "next_step": "renewal",
        },
        # COV-3: recent meeting with a contact, no next step; a meeting planned next week
        {
            "external_id": "ACT-4",
            "account_external_id": "COV-3",
            "rep_external_id": rep_ext,
            "occurred_at": ago(3),
            "kind": "meeting",
            "contact": "VP",
        },
        {
            "external_id": "ACT-5",
            "account_external_id": "COV-3",
            "rep_external_id": rep_ext,
            "occurred_at": ago(-7),
            "kind": "meeting",
            "contact": "VP",
            "next_step": "workshop",
        },
    ]
    await f.imported(client, tenant.headers, kind="activities", rows=activities)
    await client.post("/v1/scoring/run", headers=tenant.headers)
    return {"plan": plan, "rep": rep, "other": other, "territory": territory}


async def test_coverage_report_by_tier_rep_and_territory_with_reasons(client, tenant):
    book = await _book(client, tenant)
    r = await client.get("/v1/coverage", headers=tenant.headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["total"]["accounts"] == 5 and report["total"]["covered"] == 1
    assert report["total"]["failing"] == {"no_meaningful_touch": 3, "no_next_step": 3, "no_active_contact": 3}
    assert [x["code"] for x in report["rules"]] == [
        "no_meaningful_touch",
        "no_next_step",
        "no_active_contact",
    ]
    (by_rep,) = report["by_rep"]
    assert by_rep["rep_id"] == book["rep"]["id"] and by_rep["rate"] == 0.2
    assert report["by_territory"][0]["territory_name"] == book["territory"]["name"]
    tiers = {t["tier"]: t for t in report["by_tier"]}
    assert sum(t["accounts"] for t in tiers.values()) == 5
    assert tiers[1]["target"] == 0.9 and tiers[2]["target"] == 0.6 and tiers[3]["target"] is None
    csv_text = (await client.get("/v1/coverage?format=csv", headers=tenant.headers)).text
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert rows[0]["dimension"] == "total" and rows[0]["covered"] == "1"
    assert {r["dimension"] for r in rows} == {"total", "tier", "rep", "territory"}


async def test_failing_accounts_say_why_and_filters_narrow_them(client, tenant):
    await _book(client, tenant)
    page = (await client.get("/v1/coverage/accounts?covered=false", headers=tenant.headers)).json()
    by_ext = {i["external_id"]: i for i in page["items"]}
    assert set(by_ext) == {"COV-2", "COV-3", "COV-4", "COV-5"}
    assert [x["code"] for x in by_ext["COV-3"]["reasons"]] == ["no_next_step"]
    assert [x["code"] for x in by_ext["COV-2"]["reasons"]] == ["no_meaningful_touch", "no_active_contact"]
    assert "next_step" not in by_ext["COV-3"] or by_ext["COV-3"]["next_step"] is None
    assert by_ext["COV-3"]["next_meeting_at"] is not None
    only = (await client.get("/v1/coverage/accounts?reason=no_next_step", headers=tenant.headers)).json()
    assert {i["external_id"] for i in only["items"]} == {"COV-3", "COV-4", "COV-5"}
    covered = (await client.get("/v1/coverage/accounts?covered=true", headers=tenant.headers)).json()
    assert [i["external_id"] for i in covered["items"]] == ["COV-1"]
    # pagination walks every account once
    seen, token = [], None
    while True:
        url = "/v1/coverage/accounts?page_size=2" + (f"&page_token={token}" if token else "")
        page = (await client.get(url, headers=tenant.headers)).json()
        seen += [i["external_id"] for i in page["items"]]
        if not (token := page["next_page_token"]):
            break
    assert sorted(seen) == ["COV-1", "COV-2", "COV-3", "COV-4", "COV-5"]
    bad = await client.get("/v1/coverage/accounts?reason=nope", headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason"
    text = (await client.get("/v1/coverage/accounts?covered=false&format=csv", headers=tenant.headers)).text
    assert {r["external_id"] for r in csv.DictReader(io.StringIO(text))} == {
        "COV-2",
        "COV-3",
        "COV-4",
        "COV-5",
    }


async def test_an_activity_import_keeps_the_facts_current(client, tenant):
    await _book(client, tenant)
    a = (await client.get("/v1/accounts/by-external-id/COV-3", headers=tenant.headers)).json()
    before = (await client.get(f"/v1/accounts/{a['id']}/coverage", headers=tenant.headers)).json()
    assert not before["covered"]
    # the same activity, updated: now it documents a next step
    await f.imported(
        client,
        tenant.headers,
        kind="activities",
        rows=[
            {
                "external_id": "ACT-4",
                "account_external_id": "COV-3",
                "occurred_at": ago(3),
                "kind": "meeting",
                "contact": "VP",
                "next_step": "pilot",
            }
        ],
    )
    after = (await client.get(f"/v1/accounts/{a['id']}/coverage", headers=tenant.headers)).json()
    assert after["covered"] and after["next_step"] == "pilot"
    assert after["touched_by"][0]["touches"] == 1


async def test_overlap_whitespace_and_account_detail(client, tenant):
    book = await _book(client, tenant)
    r = await client.get("/v1/coverage/overlaps", headers=tenant.headers)
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["external_id"] == "COV-1"
    (overlap,) = item["overlaps"]
    assert overlap["role"] == "AE"
    assert {x["rep_id"] for x in overlap["reps"]} == {book["rep"]["id"], book["other"]["id"]}
    assert (await client.get("/v1/coverage/overlaps?role=SDR", headers=tenant.headers)).json()["items"] == []
    ws = (await client.get("/v1/coverage/whitespace", headers=tenant.headers)).json()
    fits = {i["external_id"] for i in ws["items"]}
    assert "COV-5" in fits and "COV-2" not in fits  # COV-2 is a customer


async def test_rep_monthly_review_lists(client, tenant):
    book = await _book(client, tenant)
    r = await client.get(f"/v1/reps/{book['rep']['id']}/review", headers=tenant.headers)
    assert r.status_code == 200, r.text
    review = r.json()
    lists = {x["name"]: [a["external_id"] for a in x["accounts"]] for x in review["lists"]}
    assert lists["touched_recently"] == ["COV-1", "COV-3"]
    assert lists["meetings_next_two_weeks"] == ["COV-3"]
    assert lists["dormant"] == ["COV-2"]
    assert lists["prospected_not_contacted"] == ["COV-4"]
    assert lists["partner_path_unused"] == ["COV-3"]
    assert lists["at_risk"] == ["COV-2"]
    assert review["accounts"] == 5 and review["coverage_rate"] == 0.2
    text = (await client.get(f"/v1/reps/{book['rep']['id']}/review?format=csv", headers=tenant.headers)).text
    assert ("dormant", "COV-2") in {(r["list"], r["external_id"]) for r in csv.DictReader(io.StringIO(text))}


async def test_tenants_never_see_each_others_coverage(client, tenant, other_tenant):
    book = await _book(client, tenant)
    a = (await client.get("/v1/accounts/by-external-id/COV-1", headers=tenant.headers)).json()
    assert (
        await client.get(f"/v1/accounts/{a['id']}/coverage", headers=other_tenant.headers)
    ).status_code == 404
    review = await client.get(f"/v1/reps/{book['rep']['id']}/review", headers=other_tenant.headers)
    assert review.status_code == 404
    report = (await client.get("/v1/coverage", headers=other_tenant.headers)).json()
    assert report["total"]["accounts"] == 0
    assert (await client.get("/v1/coverage/overlaps", headers=other_tenant.headers)).json()["items"] == []


async def test_changed_settings_apply_to_the_next_report_and_say_their_version(client, tenant):
    await _book(client, tenant)
    before = (await client.get("/v1/coverage", headers=tenant.headers)).json()
    put = {"overrides": {"coverage": {"coverage_window_days": 7}}}
    assert (await client.put("/v1/settings", json=put, headers=tenant.headers)).status_code == 200
    after = (await client.get("/v1/coverage", headers=tenant.headers)).json()
    assert after["settings_version"] == before["settings_version"] + 1
    # COV-1's call was 10 days ago: outside a 7-day window
    assert (before["total"]["covered"], after["total"]["covered"]) == (1, 0)
    assert after["rules"][0]["message"].endswith("in the last 7 days")


async def test_refresh_rebuilds_the_facts_and_needs_admin(client, tenant, engine):
    await _book(client, tenant)
    from persistence.coverage import COVERAGE

    async with engine.begin() as conn:  # as after upgrading a database that had activities before facts
        await conn.execute(COVERAGE.delete().where(COVERAGE.c.tenant_id == tenant.tenant_id))
    assert (await client.get("/v1/coverage", headers=tenant.headers)).json()["total"]["covered"] == 0
    assert (await client.post("/v1/coverage/refresh", headers=tenant.read_headers)).status_code == 403
    r = await client.post("/v1/coverage/refresh", headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert r.json()["accounts_with_facts"] == 3  # COV-1, COV-2 and COV-3 have activities
    assert (await client.get("/v1/coverage", headers=tenant.headers)).json()["total"]["covered"] == 1


async def test_a_report_csv_escapes_names_a_spreadsheet_would_run(client, tenant):
    await f.owned_account(client, tenant.headers, external_id="=EXT", name="=HYPERLINK(1)")
    text = (await client.get("/v1/coverage/accounts?format=csv", headers=tenant.headers)).text
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert (row["external_id"], row["name"]) == ("'=EXT", "'=HYPERLINK(1)")


async def test_each_account_answers_its_path_with_a_reason_in_json_csv_and_graphql(client, tenant):
    h = tenant.headers
    await f.imported(
        client,
        h,
        kind="accounts",
        rows=[
            {"external_id": "P-CUST", "name": "customer", "stage": "customer"},
            {"external_id": "P-PART", "name": "partnered", "stage": "prospected"},
            {"external_id": "P-EVT", "name": "met at a fair", "stage": "prospected"},
            {"external_id": "P-MKT", "name": "hot", "stage": "cold", "intent": 85},
            {"external_id": "P-COLD", "name": "cold", "stage": "cold", "intent": 10},
        ],
    )
    await f.imported(
        client,
        h,
        kind="activities",
        rows=[
            {
                "external_id": "PA-1",
                "account_external_id": "P-PART",
                "kind": "email",
                "path": "referral",
                "occurred_at": ago(12),
            },
            {
                "external_id": "PA-2",
                "account_external_id": "P-EVT",
                "kind": "meeting",
                "path": "event",
                "occurred_at": ago(30),
            },
        ],
    )
    page = (await client.get("/v1/coverage/accounts?page_size=100", headers=h)).json()
    paths = {i["external_id"]: (i["path"], i["path_reason"]) for i in page["items"]}
    assert {k: v[0] for k, v in paths.items()} == {
        "P-CUST": "existing_relationship",
        "P-PART": "partner_referral",
        "P-EVT": "event",
        "P-MKT": "marketing_sourced",
        "P-COLD": "direct_outbound",
    }
    assert "85 >= 70" in paths["P-MKT"][1] and "partner or referral" in paths["P-PART"][1]
    text = (await client.get("/v1/coverage/accounts?format=csv", headers=h)).text
    rows = {r["external_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["P-EVT"]["path"] == "event" and rows["P-EVT"]["path_reason"]
    query = "{ coverageAccounts(first: 100) { nodes { externalId path pathReason } } }"
    answer = (await client.post("/graphql", json={"query": query}, headers=h)).json()
    nodes = {n["externalId"]: n["path"] for n in answer["data"]["coverageAccounts"]["nodes"]}
    assert nodes["P-PART"] == "partner_referral" and nodes["P-COLD"] == "direct_outbound"
    # the threshold is a setting: with intent 90 required, the hot account is worked by direct outbound
    r = await client.put(
        "/v1/settings", json={"overrides": {"coverage": {"path_marketing_min_intent": 90}}}, headers=h
    )
    assert r.status_code == 200
    page = (await client.get("/v1/coverage/accounts?page_size=100", headers=h)).json()
    assert {i["external_id"]: i["path"] for i in page["items"]}["P-MKT"] == "direct_outbound"
