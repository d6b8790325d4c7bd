"""What input may be, the same on both databases: the extremes validation lets through are stored and read
back everywhere (REST, GraphQL, exports, scoring, reports); past them is a 422 naming the field, and
nothing is stored."""

from __future__ import annotations

import csv
import io
import json

from domain.defaults import INT32, MAX_MONEY
from tests import factories as f

NUL = "\x00"


def _fields(r) -> set[str]:
    assert r.status_code == 422, (r.status_code, r.text)
    return {e["field"].split(".")[-1] for e in r.json()["errors"]}


async def test_the_extremes_are_stored_and_read_back_everywhere(client, tenant):
    h = tenant.headers
    owned = await f.owned_account(
        client,
        h,
        external_id="X" * 255,
        name="ü" * 255,
        current_arr=MAX_MONEY,
        annual_revenue=MAX_MONEY,
        expansion_estimate=MAX_MONEY,
        employees=INT32,
        growth_rate=100,
        latitude=90,
        longitude=-180,
        intent=100,
    )
    account = owned["account"]
    assert (account["employees"], account["current_arr"]) == (INT32, MAX_MONEY)
    r = await client.patch(
        f"/v1/reps/{owned['rep']['id']}", json={"quota": MAX_MONEY, "capacity": 1e6}, headers=h
    )
    assert r.status_code == 200
    plan = owned["plan"]["id"]
    for priority in (INT32, -INT32 - 1):
        await f.territory(client, h, plan, priority=priority)
    assert (await client.post("/v1/scoring/run", headers=h)).status_code == 200
    for path in (
        f"/v1/accounts/{account['id']}",
        "/v1/accounts?page_size=500",
        f"/v1/accounts/{account['id']}/score",
        f"/v1/ownership/{account['external_id']}",
        "/v1/territories?page_size=500",
        "/v1/capacity?target_revenue=1000000000000000&quota_per_rep=1",
        "/v1/coverage",
        "/v1/coverage/accounts",
        "/v1/reports/coverage-review",
        "/v1/reports/weekly-metrics",
        "/v1/reports/territory-plan",
        f"/v1/plans/{plan}/equity",
        "/v1/accounts/export?format=json",
    ):
        r = await client.get(path, headers=h)
        assert r.status_code == 200, (path, r.text[:300])
    exported = (await client.get("/v1/accounts/export?format=csv", headers=h)).text
    (row,) = list(csv.DictReader(io.StringIO(exported)))
    assert (row["name"], row["employees"]) == ("ü" * 255, str(INT32))
    q = "{ accounts(first: 500) { nodes { name employees currentArr score { potential tier } "
    q += "owner { rep { name } } } } }"
    r = await client.post("/graphql", json={"query": q}, headers=h)
    assert "errors" not in r.json(), r.text
    (node,) = r.json()["data"]["accounts"]["nodes"]
    assert (node["employees"], node["currentArr"]) == (INT32, MAX_MONEY)


async def test_past_the_extremes_is_a_422_naming_the_field_and_nothing_is_stored(client, tenant):
    h = tenant.headers
    raw = {**h, "content-type": "application/json"}
    cases = [
        ({"employees": INT32 + 1}, "employees"),
        ({"current_arr": MAX_MONEY * 10}, "current_arr"),
        ({"name": f"Ac{NUL}me"}, "name"),
        ({"tags": ["ok", f"b{NUL}d"]}, "tags"),
    ]
    for extra, field in cases:
        body = {"external_id": f"LIM-{field}", "name": "Limits", **extra}
        assert field in _fields(await client.post("/v1/accounts", json=body, headers=h))
    for number in ("1e999", "-1e999", "NaN", "Infinity"):
        body = '{"external_id": "LIM-n", "name": "Limits", "current_arr": ' + number + "}"
        assert "current_arr" in _fields(await client.post("/v1/accounts", content=body, headers=raw))
    territory = {"name": "T", "priority": INT32 + 1}
    plan = await f.plan(client, h)
    r = await client.post("/v1/territories", json={**territory, "plan_id": plan["id"]}, headers=h)
    assert "priority" in _fields(r)
    # imports: a row past the limits is a row error; the whole file is refused (atomic)
    rows = [
        {"external_id": "I1", "name": f"N{NUL}ul"},
        {"external_id": "I2", "name": "Big", "employees": INT32 + 1},
        {"external_id": "I3", "name": "Rich", "current_arr": "1e999"},
    ]
    r = await client.post("/v1/accounts/import", json=rows, headers=h)
    assert r.status_code == 422
    assert {(e["row"], e["field"], e["code"]) for e in r.json()["errors"]} == {
        (1, "name", "nul_character"),
        (2, "employees", "out_of_range"),
        (3, "current_arr", "invalid_number"),
    }
    # settings that would break a later read are refused, and the old ones stay in force
    before = (await client.get("/v1/settings", headers=h)).json()
    for overrides, field in [
        ('{"coverage": {"coverage_window_days": 1000000000}}', "coverage_window_days"),
        ('{"coverage": {"tier1_target": NaN}}', "tier1_target"),
        ('{"capacity": {"selling_hours_per_quarter": 1e999}}', "selling_hours_per_quarter"),
        (json.dumps({"coverage": {"meaningful_kinds": ["call"] * 1000}}), "meaningful_kinds"),
        (json.dumps({"coverage": {"meaningful_kinds": [f"ca{NUL}ll"]}}), "overrides"),
    ]:
        r = await client.put("/v1/settings", content='{"overrides": ' + overrides + "}", headers=raw)
        assert field in _fields(r), overrides
    assert (await client.get("/v1/settings", headers=h)).json() == before
    # queries and paths
    assert "quota_per_rep" in _fields(
        await client.get("/v1/capacity?target_revenue=1e6&quota_per_rep=1e-300", headers=h)
    )
    assert "target_revenue" in _fields(await client.get("/v1/capacity?target_revenue=inf", headers=h))
    assert _fields(await client.get("/v1/ownership/a%00b", headers=h)) == {"path"}
    assert _fields(await client.get("/v1/accounts?external_id=a%00b", headers=h)) == {"query"}
    assert (await client.get("/v1/accounts", headers=h)).json()["items"] == []


async def test_json_types_are_taken_as_the_contract_states_them(client, tenant):
    h = tenant.headers
    for extra, field in [
        ({"employees": False}, "employees"),
        ({"current_arr": True}, "current_arr"),
        ({"employees": "5000"}, "employees"),
    ]:
        body = {"external_id": "TYPES", "name": "Types", **extra}
        r = await client.post("/v1/accounts", json=body, headers=h)
        assert _fields(r) == {field} and r.json()["errors"][0]["code"] == "invalid_type"
    rep = {"external_id": "R-T", "name": "Rep", "email": "rep@example.com", "start_date": 1700000000}
    assert _fields(await client.post("/v1/reps", json=rep, headers=h)) == {"start_date"}
    ok = await client.post("/v1/reps", json={**rep, "start_date": "2026-01-05"}, headers=h)
    assert ok.status_code == 201 and ok.json()["start_date"] == "2026-01-05"
    assert (await client.get("/v1/accounts", headers=h)).json()["items"] == []


async def test_flags_are_true_or_false_and_dates_in_queries_are_iso_text(client, tenant):
    h = tenant.headers
    hook = await client.post("/v1/webhook-endpoints", json={"url": "https://hooks.example.com/x"}, headers=h)
    r = await client.patch(f"/v1/webhook-endpoints/{hook.json()['id']}", json={"enabled": 0}, headers=h)
    assert _fields(r) == {"enabled"}
    for path, field in [
        ("/v1/reports/movement?until=0.5", "until"),
        ("/v1/reports/weekly-metrics?week_start=0", "week_start"),
        ("/v1/ownership/ACME?as_of=1700000000", "as_of"),
    ]:
        assert _fields(await client.get(path, headers=h)) == {field}, path
    assert (
        await client.get("/v1/reports/weekly-metrics?week_start=2026-11-30", headers=h)
    ).status_code == 200
    assert (await client.get("/v1/reports/movement?until=2026-12-01T00:00:00Z", headers=h)).status_code == 200
