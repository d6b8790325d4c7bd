"""Bulk import and export through REST, on both databases."""

import asyncio
import csv
import io
import threading

import pytest

from tests import factories as f
from tests.factories import count_statements

CSV = {"content-type": "text/csv"}


def counts(response):
    """The report without `scoring` (whether a rescoring was scheduled has its own test)."""
    return {k: v for k, v in response.json().items() if k != "scoring"}


async def post(client, tenant, kind, body, mode="atomic", csv_body=False):
    headers = {**tenant.headers, **(CSV if csv_body else {})}
    kwargs = {"content": body} if csv_body else {"json": body}
    return await client.post(f"/v1/{kind}/import?mode={mode}", headers=headers, **kwargs)


async def test_json_import_creates_then_updates_then_leaves_unchanged(client, tenant):
    rows = [
        {"external_id": "P", "name": "Parent", "annual_revenue": 50_000_000},
        {"external_id": "C", "name": "Child", "parent_external_id": "P", "tags": ["a"]},
    ]
    r = await post(client, tenant, "accounts", rows)
    assert counts(r) == {"created": 2, "updated": 0, "unchanged": 0, "errors": []}
    rows[1]["name"] = "Child Co"
    r = await post(client, tenant, "accounts", rows)
    assert counts(r) == {"created": 0, "updated": 1, "unchanged": 1, "errors": []}
    child = (await client.get("/v1/accounts/by-external-id/C", headers=tenant.headers)).json()
    parent = (await client.get("/v1/accounts/by-external-id/P", headers=tenant.headers)).json()
    assert child["parent_id"] == parent["id"] and child["name"] == "Child Co"
    assert parent["segment"] == "enterprise"


async def test_children_may_come_before_their_parents_in_the_file(client, tenant):
    rows = [
        {"external_id": "G", "name": "g", "parent_external_id": "C"},
        {"external_id": "C", "name": "c", "parent_external_id": "P"},
        {"external_id": "P", "name": "p"},
    ]
    assert (await post(client, tenant, "accounts", rows)).json()["created"] == 3


async def test_atomic_mode_writes_nothing_and_lists_every_error(client, tenant):
    rows = [
        {"external_id": "OK", "name": "fine"},
        {"external_id": "BAD", "name": "x", "employees": -1},
        {"external_id": "A", "name": "a", "parent_external_id": "B"},
        {"external_id": "B", "name": "b", "parent_external_id": "A"},
        {"name": "missing id"},
    ]
    r = await post(client, tenant, "accounts", rows)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "import_failed"
    assert {(e["row"], e["field"], e["code"]) for e in body["errors"]} == {
        (2, "employees", "out_of_range"),
        (3, "parent_external_id", "parent_cycle"),
        (4, "parent_external_id", "parent_cycle"),
        (5, "external_id", "required"),
    }
    assert (await client.get("/v1/accounts", headers=tenant.headers)).json()["items"] == []


@pytest.mark.parametrize("filler", [0, 40])
async def test_a_cycle_through_stored_ancestors_is_found(client, engine, tenant, filler):
    """With filler accounts the import reads only what the file names (and the ancestor chains)."""
    # stored: X -> S1 -> Y; the file makes Y's parent X (and renames X, keeping its stored parent)
    stored = [{"external_id": f"F{i}", "name": "filler"} for i in range(filler)] + [
        {"external_id": "Y", "name": "y"},
        {"external_id": "S1", "name": "s1", "parent_external_id": "Y"},
        {"external_id": "X", "name": "x", "parent_external_id": "S1"},
    ]
    assert (await post(client, tenant, "accounts", stored)).json()["created"] == 3 + filler
    r = await post(
        client,
        tenant,
        "accounts",
        [
            {"external_id": "Y", "name": "y", "parent_external_id": "X"},
            {"external_id": "X", "name": "x renamed"},
        ],
    )
    assert r.status_code == 422
    assert {(e["row"], e["code"]) for e in r.json()["errors"]} == {(1, "parent_cycle"), (2, "parent_cycle")}
    with count_statements(engine) as statements:
        r = await post(
            client, tenant, "accounts", [{"external_id": "Y", "name": "y", "parent_external_id": "X"}]
        )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "parent_cycle"
    narrow = any("RECURSIVE" in s.upper() for s in statements)
    assert narrow == (filler > 0)
    r = await post(
        client,
        tenant,
        "accounts",
        [
            {"external_id": "N", "name": "n", "parent_external_id": "X"},
            {"external_id": "S1", "name": "s1 renamed"},
        ],
    )
    assert counts(r) == {"created": 1, "updated": 1, "unchanged": 0, "errors": []}
    child = (await client.get("/v1/accounts/by-external-id/N", headers=tenant.headers)).json()
    parent = (await client.get("/v1/accounts/by-external-id/X", headers=tenant.headers)).json()
    assert child["parent_id"] == parent["id"]
    r = await post(
        client,
        tenant,
        "activities",
        [
            {"external_id": "act", "account_external_id": "N", "occurred_at": "2026-11-01", "kind": "call"},
            {
                "external_id": "act2",
                "account_external_id": "F-none",
                "occurred_at": "2026-11-01",
                "kind": "call",
            },
        ],
        mode="partial",
    )
    assert r.json()["created"] == 1 and r.json()["errors"][0]["code"] == "unknown_reference"


async def test_partial_mode_writes_valid_rows_and_drops_orphans_of_bad_parents(client, tenant):
    rows = [
        {"external_id": "OK", "name": "fine"},
        {"external_id": "BADP", "name": "x", "employees": "lots"},
        {"external_id": "KID", "name": "k", "parent_external_id": "BADP"},
    ]
    r = await post(client, tenant, "accounts", rows, mode="partial")
    assert r.status_code == 200
    body = r.json()
    assert body["created"] == 1
    assert {(e["row"], e["code"]) for e in body["errors"]} == {
        (2, "invalid_number"),
        (3, "unknown_reference"),
    }
    listed = (await client.get("/v1/accounts", headers=tenant.headers)).json()["items"]
    assert [a["external_id"] for a in listed] == ["OK"]


async def test_csv_import_and_export_round_trip(client, tenant):
    text = (
        "external_id,name,parent_external_id,employees,strategic,stage,tags,annual_revenue\n"
        "E1,Acme,,5000,true,customer,b;a,20000000\n"
        "E2,Acme Sub,E1,50,false,cold,,\n"
    )
    r = await post(client, tenant, "accounts", text.encode(), csv_body=True)
    assert counts(r) == {"created": 2, "updated": 0, "unchanged": 0, "errors": []}
    exported = (await client.get("/v1/accounts/export?format=csv", headers=tenant.headers)).text
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["external_id"], r["parent_external_id"], r["tags"], r["strategic"]) for r in rows] == [
        ("E1", "", "a;b", "true"),
        ("E2", "E1", "", "false"),
    ]
    again = await post(client, tenant, "accounts", exported.encode(), csv_body=True)
    assert counts(again) == {"created": 0, "updated": 0, "unchanged": 2, "errors": []}
    as_json = (await client.get("/v1/accounts/export?format=json", headers=tenant.headers)).json()
    assert [a["external_id"] for a in as_json] == ["E1", "E2"]
    assert (await post(client, tenant, "accounts", as_json)).json()["unchanged"] == 2


async def test_a_csv_export_escapes_cells_a_spreadsheet_would_run_and_reads_them_back(client, tenant):
    names = [
        '=HYPERLINK("https://evil.example")',
        "+1 Co",
        "-Minus Co",
        "@SUM(A1)",
        "-5",
        "'Quoted",
        "Plain",
    ]
    rows = [{"external_id": f"F{i}", "name": n, "annual_revenue": 1000} for i, n in enumerate(names)]
    assert counts(await post(client, tenant, "accounts", rows))["created"] == len(names)
    exported = (await client.get("/v1/accounts/export?format=csv", headers=tenant.headers)).text
    cells = {r["external_id"]: r for r in csv.DictReader(io.StringIO(exported))}
    assert [cells[f"F{i}"]["name"] for i in range(len(names))] == [
        '\'=HYPERLINK("https://evil.example")',
        "'+1 Co",
        "'-Minus Co",
        "'@SUM(A1)",
        "'-5",
        "'Quoted",
        "Plain",
    ]
    assert cells["F0"]["annual_revenue"] == "1000"  # numbers are numbers
    # the exported file imports back to the same names: nothing changes
    again = await post(client, tenant, "accounts", exported.encode(), csv_body=True)
    assert counts(again) == {"created": 0, "updated": 0, "unchanged": len(names), "errors": []}
    as_json = (await client.get("/v1/accounts/export?format=json", headers=tenant.headers)).json()
    assert sorted(a["name"] for a in as_json) == sorted(names)  # JSON is not a spreadsheet: as stored


async def test_csv_header_and_row_shape_errors(client, tenant):
    r = await post(client, tenant, "accounts", b"external_id,nam\nA,b\n", csv_body=True)
    body = r.json()
    assert r.status_code == 422
    assert {(e["row"], e["field"], e["code"]) for e in body["errors"]} == {
        (0, "nam", "unknown_field"),
        (0, "name", "missing_column"),
    }
    r = await post(client, tenant, "accounts", b"external_id,name\nA,b,c\n", csv_body=True)
    assert r.json()["errors"][0]["code"] == "too_many_values"


async def test_reps_activities_and_opportunities_resolve_references(client, tenant):
    await post(client, tenant, "accounts", [{"external_id": "A1", "name": "a"}])
    r = await post(
        client,
        tenant,
        "reps",
        [
            {"external_id": "R1", "name": "Rep", "email": "r@example.com", "start_date": "2025-01-01"},
            {
                "external_id": "R2",
                "name": "Bad",
                "email": "b@example.com",
                "start_date": "2025-01-01",
                "end_date": "2024-01-01",
            },
        ],
        mode="partial",
    )
    assert r.json()["created"] == 1 and r.json()["errors"][0]["code"] == "end_before_start"
    r = await post(
        client,
        tenant,
        "activities",
        [
            {
                "external_id": "X1",
                "account_external_id": "A1",
                "rep_external_id": "R1",
                "occurred_at": "2026-11-01T09:00:00Z",
                "kind": "call",
                "next_step": "demo",
            },
            {
                "external_id": "X2",
                "account_external_id": "NOPE",
                "occurred_at": "2026-11-01",
                "kind": "email",
            },
        ],
        mode="partial",
    )
    assert r.json()["created"] == 1
    assert r.json()["errors"] == [
        {
            "row": 2,
            "field": "account_external_id",
            "code": "unknown_reference",
            "message": "no account with external id 'NOPE'",
        }
    ]
    r = await post(
        client,
        tenant,
        "opportunities",
        [
            {
                "external_id": "O1",
                "account_external_id": "A1",
                "rep_external_id": "R1",
                "amount": 50000,
                "status": "won",
                "created_on": "2026-01-01",
                "closed_on": "2026-03-01",
            }
        ],
    )
    assert r.json()["created"] == 1
    exported = (await client.get("/v1/activities/export", headers=tenant.headers)).json()
    assert exported[0]["account_external_id"] == "A1" and exported[0]["rep_external_id"] == "R1"
    opp = (await client.get("/v1/opportunities/export", headers=tenant.headers)).json()
    assert opp[0]["amount"] == 50000 and opp[0]["status"] == "won"


async def test_a_soft_deleted_account_comes_back_on_import(client, tenant):
    a = await f.account(client, tenant.headers)
    await client.delete(f"/v1/accounts/{a['id']}", headers=tenant.headers)
    r = await post(client, tenant, "accounts", [{"external_id": a["external_id"], "name": "Back"}])
    assert r.json()["updated"] == 1
    back = await client.get(f"/v1/accounts/{a['id']}", headers=tenant.headers)
    assert back.status_code == 200 and back.json()["name"] == "Back"


async def test_the_body_must_be_an_array(client, tenant):
    r = await post(client, tenant, "accounts", {"external_id": "A"})
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"


# on PostgreSQL the same import of 100,000 rows in one request, and its last row found right after, is
# tests/api/test_lookup_during_import.py's (the suite's time: each takes 15-20 s)
@pytest.mark.sqlite_only
async def test_one_hundred_thousand_rows_in_one_request(client, tenant):
    header = "external_id,name,region,employees,annual_revenue,current_arr,stage\n"
    body = header + "".join(
        f"BULK-{i:06d},Company {i},{'East' if i % 2 else 'West'},{i % 900},"
        f"{(i % 50) * 100000},{i % 7 * 1000},cold\n"
        for i in range(100_000)
    )
    r = await post(client, tenant, "accounts", body.encode(), csv_body=True)
    assert r.status_code == 200, r.text[:500]
    assert counts(r) == {"created": 100_000, "updated": 0, "unchanged": 0, "errors": []}
    page = (await client.get("/v1/accounts/by-external-id/BULK-099999", headers=tenant.headers)).json()
    assert page["name"] == "Company 99999" and page["region"] == "East"


async def test_concurrent_imports_of_the_same_ids_take_turns(client, tenant):
    rows = [{"external_id": f"RACE-{i}", "name": f"Race {i}"} for i in range(300)]
    answers = await asyncio.gather(*[post(client, tenant, "accounts", rows) for _ in range(4)])
    assert [r.status_code for r in answers] == [200] * 4, [r.text[:200] for r in answers]
    created = sorted(r.json()["created"] for r in answers)
    assert created == [0, 0, 0, 300]  # the first creates them; the others, waiting their turn, find them
    listed = (await client.get("/v1/accounts?page_size=500", headers=tenant.headers)).json()["items"]
    assert len(listed) == 300


async def test_a_body_is_decoded_parsed_and_checked_off_the_event_loop(client, tenant, monkeypatch):
    from api.rest import imports as routes
    from domain import importing as im

    threads = {}

    def recorded(name, work):
        def run(*args, **kwargs):
            threads[name] = threading.current_thread() is threading.main_thread()
            return work(*args, **kwargs)

        return run

    monkeypatch.setattr(routes, "records_from_csv", recorded("decode", routes.records_from_csv))
    monkeypatch.setattr(im, "parse_rows", recorded("parse", im.parse_rows))
    monkeypatch.setattr(im, "plan_upserts", recorded("plan", im.plan_upserts))
    r = await post(client, tenant, "accounts", b"external_id,name\nT1,Threaded\n", csv_body=True)
    assert counts(r)["created"] == 1
    assert threads == {"decode": False, "parse": False, "plan": False}  # none on the event loop's thread


async def test_a_csv_header_of_thirty_thousand_columns_is_refused_not_a_hang(client, tenant):
    header = ",".join(["external_id", "name"] + [f"x{i}" for i in range(30_000)])
    r = await post(client, tenant, "accounts", (header + "\nA,b\n").encode(), csv_body=True)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "too_many_values"


async def test_a_csv_file_also_goes_to_the_csv_operation_with_the_same_rules(client, tenant):
    """POST /v1/{kind}/import.csv is the CSV operation of a generated client (docs/http.md)."""
    body = "external_id,name,email,role\nR9,Nine,nine@example.com,AE\nR10,Ten,ten@example.com,boss\n"
    headers = {**tenant.headers, **CSV}
    r = await client.post("/v1/reps/import.csv?mode=partial", headers=headers, content=body)
    assert r.status_code == 200
    assert r.json()["created"] == 1
    assert [(e["row"], e["field"], e["code"]) for e in r.json()["errors"]] == [(2, "role", "invalid_choice")]
    r = await client.post("/v1/reps/import.csv", headers=headers, content="external_id,nope\nR11,x\n")
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} >= {"nope", "name"}
    other = await client.get("/v1/reps/export?format=csv", headers=tenant.headers)
    assert "R9,Nine" in other.text and "R10" not in other.text
