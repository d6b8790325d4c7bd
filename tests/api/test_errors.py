"""Bad input of every kind is a 4xx problem+json, never a 500, and loses nothing already stored."""

import base64
import json

import httpx
from sqlalchemy.exc import DBAPIError, IntegrityError

from api.app import create_app
from api.config import AppSettings
from persistence.accounts import SqlAccountRepository
from tests import factories as f


def assert_problem(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["code"] == code
    assert set(body) >= {"type", "title", "status", "detail", "code", "errors"}
    assert "Traceback" not in r.text
    return body


async def test_malformed_json_is_400(client, tenant):
    r = await client.post(
        "/v1/accounts",
        content=b'{"external_id": "A",',
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert_problem(r, 400, "malformed_json")


async def test_wrong_types_name_the_field(client, tenant):
    r = await client.post(
        "/v1/accounts",
        json={"external_id": "A", "name": "a", "employees": "many", "stage": "hot"},
        headers=tenant.headers,
    )
    body = assert_problem(r, 422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {"employees", "stage"}

    # a position in a list is spelled as the domain's own validation spells it (rules[0].days)
    r = await client.post(
        "/v1/webhook-endpoints",
        json={"url": "https://hooks.example.com/x", "types": ["ownership.changed", 7]},
        headers=tenant.headers,
    )
    body = assert_problem(r, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["types[1]"]


async def test_bad_path_ids_and_unknown_routes(client, tenant):
    assert_problem(
        await client.get("/v1/accounts/not-a-uuid", headers=tenant.headers), 422, "validation_failed"
    )
    assert_problem(await client.get("/v1/nothing", headers=tenant.headers), 404, "not_found")


async def test_oversized_body_is_413_and_nothing_is_lost(engine, tenant):
    app = create_app(AppSettings(database_url=str(engine.url), max_body_bytes=2_000), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        kept = await f.account(client, tenant.headers)
        rows = [{"external_id": f"BIG-{i}", "name": "x" * 50} for i in range(100)]
        r = await client.post("/v1/accounts/import", json=rows, headers=tenant.headers)
        assert_problem(r, 413, "payload_too_large")

        async def chunks():  # no content-length: the limit is enforced while streaming
            for _ in range(10):
                yield b" " * 500

        r = await client.post(
            "/v1/accounts/import",
            content=chunks(),
            headers={**tenant.headers, "content-type": "application/json"},
        )
        assert_problem(r, 413, "payload_too_large")
        assert (await client.get(f"/v1/accounts/{kept['id']}", headers=tenant.headers)).status_code == 200
        listed = (await client.get("/v1/accounts", headers=tenant.headers)).json()["items"]
        assert [a["id"] for a in listed] == [kept["id"]]


async def test_bad_csv_is_400(client, tenant):
    r = await client.post(
        "/v1/accounts/import",
        content=b"\xff\xfe\x00garbage",
        headers={**tenant.headers, "content-type": "text/csv"},
    )
    assert_problem(r, 400, "invalid_csv")
    r = await client.post(
        "/v1/accounts/import", content=b"", headers={**tenant.headers, "content-type": "text/csv"}
    )
    assert_problem(r, 400, "invalid_csv")
    r = await client.post(
        "/v1/accounts/import",
        content=b'external_id,name\n"A,"b\n',
        headers={**tenant.headers, "content-type": "text/csv"},
    )
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith("application/problem+json")


async def test_wrong_content_type_is_415(client, tenant):
    r = await client.post(
        "/v1/accounts/import",
        content=b"<xml/>",
        headers={**tenant.headers, "content-type": "application/xml"},
    )
    assert_problem(r, 415, "unsupported_media_type")
    # a JSON body under another type, as `curl -d` sends it: a 415 that says what to send, nothing written
    for sent in ("application/x-www-form-urlencoded", "text/plain"):
        r = await client.post(
            "/v1/accounts",
            content=b'{"external_id": "F-1", "name": "Form"}',
            headers={**tenant.headers, "content-type": sent},
        )
        assert "Content-Type: application/json" in assert_problem(r, 415, "unsupported_media_type")["detail"]
    ok = {**tenant.headers, "content-type": "application/json; charset=utf-8"}
    assert (
        await client.post("/v1/accounts", content=b'{"external_id": "F-1", "name": "Form"}', headers=ok)
    ).status_code == 201
    assert (await client.get("/v1/accounts?external_id=F-1", headers=tenant.headers)).json()["items"][0][
        "name"
    ] == "Form"


async def test_health(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


async def test_readyz_is_503_when_the_database_is_not_migrated(tmp_path):
    app = create_app(AppSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert_problem(await client.get("/readyz"), 503, "not_ready")
    await app.state.ctx.engine.dispose()


async def test_docs_and_graphiql_render_from_local_assets(client):
    docs = await client.get("/docs")
    assert docs.status_code == 200
    for page, asset in ((docs.text, "/static/swagger/swagger-ui-bundle.js"),):
        assert asset in page and "cdn" not in page and "unpkg" not in page
        assert (await client.get(asset)).status_code == 200
    bundle = (await client.get("/static/swagger/swagger-ui-bundle.js")).text
    assert '"5.' in bundle  # Swagger UI 5 reads OpenAPI 3.1 (4.x shows "Unable to render this definition")
    assert '"persistAuthorization": true' in docs.text  # the key entered under Authorize survives a reload
    ide = await client.get("/graphql", headers={"accept": "text/html"})
    assert ide.status_code == 200 and "unpkg" not in ide.text
    # the missing-key hint, shown until the headers carry a key that is not the placeholder
    assert 'id="key-hint"' in ide.text and "hint.hidden = keyed(" in ide.text
    for asset in (
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ):
        assert f"/static/graphiql/{asset}" in ide.text
        assert (await client.get(f"/static/graphiql/{asset}")).status_code == 200


async def test_random_import_rows_never_give_a_500(client, tenant):
    import json
    import random

    rng = random.Random(11)
    junk = [None, True, -1, 1e308, "", "x" * 300, [], {}, "2026-13-45", "-5", "cold", "yes", "E-1"]
    fields = [
        "external_id",
        "name",
        "parent_external_id",
        "employees",
        "annual_revenue",
        "stage",
        "tags",
        "strategic",
        "latitude",
        "churn_risk",
        "unknown",
    ]
    for _ in range(20):
        rows = [
            {f: rng.choice(junk) for f in rng.sample(fields, rng.randint(0, len(fields)))} for _ in range(5)
        ]
        body = json.dumps(rows, allow_nan=True).encode()
        for mode in ("atomic", "partial"):
            r = await client.post(
                f"/v1/accounts/import?mode={mode}",
                content=body,
                headers={**tenant.headers, "content-type": "application/json"},
            )
            assert r.status_code in (200, 422), r.text
    r = await client.post(
        "/v1/accounts/import",
        content=b'[{"external_id": "A", "name": "a", "employees": NaN}]',
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"


class _Deadlock(Exception):
    sqlstate = "40P01"  # what asyncpg's DeadlockDetectedError carries


async def test_a_deadlock_or_serialization_failure_is_a_409_to_send_again(client, tenant, monkeypatch):
    async def deadlocked(self, entity):
        raise DBAPIError("INSERT INTO accounts ...", {}, _Deadlock("deadlock detected"))

    monkeypatch.setattr(SqlAccountRepository, "add", deadlocked)
    r = await client.post("/v1/accounts", json={"external_id": "DL", "name": "Dead"}, headers=tenant.headers)
    assert_problem(r, 409, "concurrent_change")
    assert r.headers["retry-after"] == "1"


async def test_sqlites_write_lock_held_past_its_timeout_is_a_409_to_send_again(client, tenant, monkeypatch):
    """A long write (a rescoring of a large book) held SQLite's one write lock past the 30 s a writer
    waits: the request that waited is answered 409 concurrent_change, never 500."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    async def locked(self, entity):
        raise OperationalError("INSERT INTO accounts ...", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(SqlAccountRepository, "add", locked)
    r = await client.post(
        "/v1/accounts", json={"external_id": "LK", "name": "Locked"}, headers=tenant.headers
    )
    assert_problem(r, 409, "concurrent_change")
    assert r.headers["retry-after"] == "1" and "send it again" in r.json()["detail"]


async def test_an_answer_that_asks_for_a_retry_is_not_kept_for_the_key(client, tenant, monkeypatch):
    """A 409 concurrent_change says "send it again": a retry with the same Idempotency-Key (GraphQL:
    idempotencyKey) must run, not get the 409 back for a day."""

    async def deadlocked(self, entity):
        raise DBAPIError("INSERT INTO accounts ...", {}, _Deadlock("deadlock detected"))

    body = {"external_id": "RETRY", "name": "Retried"}
    keyed = {**tenant.headers, "Idempotency-Key": "retry-1"}
    mutation = """mutation {
      createAccount(input: {externalId: "RETRY-G", name: "g"}, idempotencyKey: "retry-2") {
      __typename ... on Problem { code status } ... on Account { externalId } } }"""
    with monkeypatch.context() as patched:
        patched.setattr(SqlAccountRepository, "add", deadlocked)
        assert_problem(await client.post("/v1/accounts", json=body, headers=keyed), 409, "concurrent_change")
        r = await client.post("/graphql", json={"query": mutation}, headers=tenant.headers)
        # a database failure in a mutation is the Problem REST answers, not an internal error
        assert r.json()["data"]["createAccount"] == {
            "__typename": "Problem",
            "code": "concurrent_change",
            "status": 409,
        }
    retried = await client.post("/v1/accounts", json=body, headers=keyed)
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
    r = await client.post("/graphql", json={"query": mutation}, headers=tenant.headers)
    assert r.json()["data"]["createAccount"] == {"__typename": "Account", "externalId": "RETRY-G"}


async def test_the_idempotency_key_header_on_graphql_is_refused_not_ignored(client, tenant):
    headers = {**tenant.headers, "Idempotency-Key": "k"}
    r = await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert_problem(r, 400, "bad_request")
    assert "idempotencyKey argument" in r.json()["detail"]


async def test_a_unique_rule_no_use_case_checked_is_a_409_naming_the_field(client, tenant, monkeypatch):
    async def raced(self, entity):
        message = "UNIQUE constraint failed: accounts.tenant_id, accounts.external_id"
        raise IntegrityError("INSERT INTO accounts ...", {}, Exception(message))

    monkeypatch.setattr(SqlAccountRepository, "add", raced)
    r = await client.post("/v1/accounts", json={"external_id": "UQ", "name": "Raced"}, headers=tenant.headers)
    assert_problem(r, 409, "duplicate_external_id")
    assert r.json()["errors"][0]["field"] == "external_id"


async def test_a_forged_but_well_formed_page_token_is_refused_on_every_list(client, tenant):
    def token(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    nil = "00000000-0000-0000-0000-000000000001"
    forged = [{"v": 1, "after": 123}, {"v": 1, "after": [1]}, {"after": nil}, {"v": 2, "after": nil}, [nil]]
    lists = ["/v1/accounts", "/v1/reps", "/v1/plans", "/v1/operations", "/v1/coverage/accounts"]
    lists += ["/v1/coverage/overlaps", "/v1/webhook-endpoints", f"/v1/webhook-endpoints/{nil}/attempts"]
    for path in lists:
        for data in forged:
            r = await client.get(path, params={"page_token": token(data)}, headers=tenant.headers)
            assert r.status_code in (400, 404), (path, data, r.status_code)
            if r.status_code == 400:
                assert r.json()["code"] == "invalid_page_token", (path, data)


async def test_a_body_nested_thousands_deep_is_a_400(client, tenant):
    deep = '{"a":' * 5000 + "null" + "}" * 5000
    query = json.dumps("mutation($o: JSON!) { updateSettings(overrides: $o) { __typename } }")
    body = '{"query": ' + query + ', "variables": {"o": ' + deep + "}}"
    headers = {**tenant.headers, "content-type": "application/json"}
    r = await client.post("/graphql", content=body, headers=headers)
    assert_problem(r, 400, "bad_request")
    r = await client.put("/v1/settings", content='{"overrides": ' + deep + "}", headers=headers)
    assert r.status_code == 400
