"""API key lifecycle over the admin API: list, create, revoke, rotate, expiry and last use (REST, GraphQL)."""

import uuid
from datetime import UTC, datetime, timedelta

from persistence.keys import create_key
from tests.factories import count_statements


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def _new_key(client, tenant, **body) -> dict:
    r = await client.post(
        "/v1/keys", json={"name": "svc", "scopes": ["read"], **body}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _keys(client, tenant) -> dict[str, dict]:
    r = await client.get("/v1/keys", headers=tenant.headers, params={"page_size": 500})
    assert r.status_code == 200, r.text
    return {k["id"]: k for k in r.json()["items"]}


async def test_list_shows_every_key_with_status_and_never_a_secret_or_hash(client, tenant):
    r = await client.get("/v1/keys", headers=tenant.headers)
    assert r.status_code == 200
    items = r.json()["items"]
    assert sorted(k["scopes"] for k in items) == [["admin", "read", "write"], ["read"]]
    assert {k["status"] for k in items} == {"active"}
    assert all(k["revoked_at"] is None and k["expires_at"] is None for k in items)
    assert all(tenant.key.startswith(k["prefix"]) or tenant.read_key.startswith(k["prefix"]) for k in items)
    text = r.text
    assert tenant.key not in text and tenant.read_key not in text
    assert "hash" not in text and "secret" not in text

    first = await client.get("/v1/keys", headers=tenant.headers, params={"page_size": 1})
    token = first.json()["next_page_token"]
    second = await client.get(
        "/v1/keys", headers=tenant.headers, params={"page_size": 1, "page_token": token}
    )
    assert [k["id"] for k in first.json()["items"] + second.json()["items"]] == sorted(k["id"] for k in items)
    assert second.json()["next_page_token"] is None


async def test_a_key_without_admin_scope_cannot_manage_keys(client, tenant):
    some = (await _keys(client, tenant)).popitem()[0]
    for method, path, body in (
        ("GET", "/v1/keys", None),
        ("GET", f"/v1/keys/{some}", None),
        ("POST", "/v1/keys", {"name": "x", "scopes": ["admin"]}),
        ("POST", f"/v1/keys/{some}/revoke", None),
        ("POST", f"/v1/keys/{some}/rotate", None),
    ):
        r = await client.request(method, path, json=body, headers=tenant.read_headers)
        assert r.status_code == 403, (method, path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "forbidden"


async def test_a_created_key_works_with_its_scopes_and_its_secret_is_shown_once(client, tenant):
    r = await client.post("/v1/keys", json={"name": "lookup", "scopes": ["read"]}, headers=tenant.headers)
    assert r.status_code == 201
    created = r.json()
    assert r.headers["location"] == f"/v1/keys/{created['id']}"
    assert r.headers["cache-control"] == "no-store"
    assert created["secret"].startswith(created["prefix"]) and created["status"] == "active"
    assert (await client.get("/v1/plans", headers=bearer(created["secret"]))).status_code == 200
    write = await client.post(
        "/v1/accounts", json={"external_id": "K", "name": "k"}, headers=bearer(created["secret"])
    )
    assert write.status_code == 403
    again = await client.get(f"/v1/keys/{created['id']}", headers=tenant.headers)
    assert again.status_code == 200 and "secret" not in again.json()
    assert again.json()["name"] == "lookup" and again.json()["scopes"] == ["read"]


async def test_bad_key_bodies_are_422_naming_the_field(client, tenant):
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for body, field in (
        ({"name": "x", "scopes": ["root"]}, "scopes[0]"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "", "scopes": ["read"]}, "name"),
        ({"name": "x", "scopes": ["read"], "expires_at": past}, "expires_at"),
        ({"name": "x", "scopes": ["read"], "expires_at": "2030-01-01T00:00:00"}, "expires_at"),  # no zone
        ({"name": "x", "scopes": ["read"], "expires_at": "9999-12-31T23:59:00-14:00"}, "expires_at"),
        ({"name": "x", "scopes": ["read"], "key_hash": "00"}, "key_hash"),
    ):
        r = await client.post("/v1/keys", json=body, headers=tenant.headers)
        assert r.status_code == 422, (body, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], r.text
    r = await client.post(
        f"/v1/keys/{uuid.uuid4()}/rotate", json={"overlap_seconds": -1}, headers=tenant.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "overlap_seconds"


async def test_an_expired_key_is_401_like_an_unknown_one_and_listed_as_expired(client, engine, tenant):
    gone_id, gone = await create_key(
        engine, tenant.tenant_id, ["read"], "old", expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    later = await _new_key(client, tenant, expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    r = await client.get("/v1/plans", headers=bearer(gone))
    unknown = await client.get("/v1/plans", headers=bearer("te_not_a_key"))
    assert r.status_code == unknown.status_code == 401
    assert r.json()["code"] == unknown.json()["code"] == "unauthorized"
    assert r.json()["detail"] == unknown.json()["detail"]  # says nothing about the key beyond "not accepted"
    assert (await client.get("/v1/plans", headers=bearer(later["secret"]))).status_code == 200
    listed = await _keys(client, tenant)
    assert listed[str(gone_id)]["status"] == "expired"
    assert listed[later["id"]]["status"] == "expiring"


async def test_a_revoked_key_is_refused_on_its_next_request(client, tenant):
    key = await _new_key(client, tenant)
    assert (await client.get("/v1/plans", headers=bearer(key["secret"]))).status_code == 200
    r = await client.post(f"/v1/keys/{key['id']}/revoke", headers=tenant.headers)
    assert r.status_code == 200 and r.json()["status"] == "revoked" and r.json()["revoked_at"]
    assert (await client.get("/v1/plans", headers=bearer(key["secret"]))).status_code == 401
    again = await client.post(f"/v1/keys/{key['id']}/revoke", headers=tenant.headers)
    assert again.status_code == 200 and again.json()["revoked_at"] == r.json()["revoked_at"]


async def test_the_last_live_admin_key_cannot_be_revoked_but_another_can_take_over(client, tenant):
    mine = next(k for k in (await _keys(client, tenant)).values() if "admin" in k["scopes"])
    r = await client.post(f"/v1/keys/{mine['id']}/revoke", headers=tenant.headers)
    assert r.status_code == 409 and r.json()["code"] == "last_admin_key"
    assert (await client.get("/v1/keys", headers=tenant.headers)).status_code == 200  # still works

    successor = await _new_key(client, tenant, name="admin-2", scopes=["admin"])
    r = await client.post(f"/v1/keys/{mine['id']}/revoke", headers=tenant.headers)  # a key revokes itself
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert (await client.get("/v1/keys", headers=tenant.headers)).status_code == 401
    assert (await client.get("/v1/keys", headers=bearer(successor["secret"]))).status_code == 200
    r = await client.post(f"/v1/keys/{successor['id']}/revoke", headers=bearer(successor["secret"]))
    assert r.status_code == 409 and r.json()["code"] == "last_admin_key"


async def test_rotation_makes_a_twin_key_and_the_old_one_works_for_the_overlap(client, tenant):
    old = await _new_key(client, tenant, name="crm-sync", scopes=["read", "write"])
    r = await client.post(
        f"/v1/keys/{old['id']}/rotate", json={"overlap_seconds": 3600}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    rotated = r.json()
    new, before = rotated["key"], rotated["rotated"]
    assert r.headers["location"] == f"/v1/keys/{new['id']}" and r.headers["cache-control"] == "no-store"
    assert (new["name"], new["scopes"], new["rotated_from"]) == ("crm-sync", ["read", "write"], old["id"])
    assert new["status"] == "active" and new["secret"] != old["secret"]
    assert before["id"] == old["id"] and before["status"] == "expiring"
    assert datetime.fromisoformat(before["expires_at"]) > datetime.now(UTC)
    for secret in (old["secret"], new["secret"]):  # both work during the overlap
        assert (await client.get("/v1/plans", headers=bearer(secret))).status_code == 200

    r = await client.post(f"/v1/keys/{new['id']}/rotate", json={"overlap_seconds": 0}, headers=tenant.headers)
    assert r.status_code == 201
    assert (await client.get("/v1/plans", headers=bearer(new["secret"]))).status_code == 401  # at once
    assert (await client.get("/v1/plans", headers=bearer(r.json()["key"]["secret"]))).status_code == 200
    again = await client.post(f"/v1/keys/{new['id']}/rotate", headers=tenant.headers)
    assert again.status_code == 409 and again.json()["code"] == "key_state"


async def test_a_key_made_to_expire_is_rotated_into_one_with_the_same_lifetime(client, tenant):
    ends = (datetime.now(UTC) + timedelta(days=90)).replace(microsecond=0)
    old = await _new_key(client, tenant, expires_at=ends.isoformat())
    r = await client.post(f"/v1/keys/{old['id']}/rotate", headers=tenant.headers)
    assert r.status_code == 201, r.text
    new = r.json()["key"]
    assert new["status"] == "expiring"  # not a key that never expires
    lifetime = datetime.fromisoformat(new["expires_at"]) - datetime.fromisoformat(new["created_at"])
    assert abs(lifetime - (ends - datetime.fromisoformat(old["created_at"]))) < timedelta(seconds=2)


async def test_rotation_without_a_body_takes_the_default_overlap(client, tenant):
    old = await _new_key(client, tenant)
    r = await client.post(f"/v1/keys/{old['id']}/rotate", headers=tenant.headers)
    assert r.status_code == 201
    ends = datetime.fromisoformat(r.json()["rotated"]["expires_at"])
    assert ends > datetime.now(UTC) + timedelta(hours=23)  # the default: 24 hours (domain/defaults.py)
    assert (await client.get("/v1/plans", headers=bearer(old["secret"]))).status_code == 200


async def test_another_tenants_key_is_404_and_untouched(client, tenant, other_tenant):
    theirs = await _new_key(client, other_tenant)
    for method, path in (
        ("GET", f"/v1/keys/{theirs['id']}"),
        ("POST", f"/v1/keys/{theirs['id']}/revoke"),
        ("POST", f"/v1/keys/{theirs['id']}/rotate"),
    ):
        r = await client.request(method, path, headers=tenant.headers)
        assert r.status_code == 404 and r.json()["code"] == "not_found", (method, path, r.text)
    assert theirs["id"] not in await _keys(client, tenant)
    assert (await _keys(client, other_tenant))[theirs["id"]]["status"] == "active"
    assert (await client.get("/v1/plans", headers=bearer(theirs["secret"]))).status_code == 200


async def test_last_use_is_written_in_a_batch_not_by_the_request(client, app, engine, tenant):
    used = await _new_key(client, tenant)
    idle = await _new_key(client, tenant, name="idle")
    with count_statements(engine) as statements:
        for _ in range(3):
            assert (await client.get("/v1/plans", headers=bearer(used["secret"]))).status_code == 200
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    await app.state.ctx.keys.flush_used()  # what the timer does, at most once a minute
    listed = await _keys(client, tenant)
    last = datetime.fromisoformat(listed[used["id"]]["last_used_at"])
    assert last.second == 0 and last.microsecond == 0  # to the minute
    assert listed[idle["id"]]["last_used_at"] is None


async def test_a_secret_is_never_kept_for_an_idempotency_replay(client, tenant):
    r = await client.post(
        "/v1/keys",
        json={"name": "x", "scopes": ["read"]},
        headers={**tenant.headers, "Idempotency-Key": "k1"},
    )
    assert r.status_code == 400 and r.json()["code"] == "bad_request"
    assert "x" not in {k["name"] for k in (await _keys(client, tenant)).values()}


async def gql(client, headers, query, **variables):
    r = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_graphql_lists_creates_rotates_and_revokes_keys(client, tenant):
    made = await gql(
        client,
        tenant.headers,
        """mutation { createKey(input: {name: "bi", scopes: [READ]}) {
             ... on ApiKeyCreated { id secret status scopes } ... on Problem { code } } }""",
    )
    created = made["data"]["createKey"]
    assert created["status"] == "ACTIVE" and created["scopes"] == ["READ"] and created["secret"]
    rotated = await gql(
        client,
        tenant.headers,
        """mutation($id: UUID!) { rotateKey(id: $id, input: {overlapSeconds: 60}) {
             ... on ApiKeyRotated { key { id secret rotatedFrom } rotated { status } } } }""",
        id=created["id"],
    )
    assert rotated["data"]["rotateKey"]["key"]["rotatedFrom"] == created["id"]
    assert rotated["data"]["rotateKey"]["rotated"]["status"] == "EXPIRING"
    new_id = rotated["data"]["rotateKey"]["key"]["id"]
    revoked = await gql(
        client,
        tenant.headers,
        "mutation($id: UUID!) { revokeKey(id: $id) { ... on ApiKey { status } ... on Problem { code } } }",
        id=new_id,
    )
    assert revoked["data"]["revokeKey"] == {"status": "REVOKED"}
    listed = await gql(
        client, tenant.headers, "{ keys(first: 10) { nodes { id status scopes } pageInfo { hasNextPage } } }"
    )
    nodes = listed["data"]["keys"]["nodes"]
    statuses = {n["id"]: n["status"] for n in nodes}
    assert statuses[new_id] == "REVOKED" and statuses[created["id"]] == "EXPIRING"
    assert len(statuses) == 4 and listed["data"]["keys"]["pageInfo"] == {"hasNextPage": False}

    denied = await gql(client, tenant.read_headers, "{ keys { nodes { id } } }")
    assert denied["errors"][0]["extensions"]["code"] == "forbidden"
    admin = next(n["id"] for n in nodes if "ADMIN" in n["scopes"])
    last = await gql(
        client,
        tenant.headers,
        "mutation($id: UUID!) { revokeKey(id: $id) { ... on Problem { code status } } }",
        id=admin,
    )
    assert last["data"]["revokeKey"] == {"code": "last_admin_key", "status": 409}


async def test_graphql_key_mutations_with_a_secret_take_no_idempotency_key(client, tenant):
    r = await gql(
        client,
        tenant.headers,
        'mutation { createKey(input: {name: "x", scopes: [READ]}, idempotencyKey: "k") { __typename } }',
    )
    assert "idempotencyKey" in r["errors"][0]["message"]


async def test_the_demo_reuses_a_kept_key_only_while_it_is_live(client, engine, tenant):
    from persistence.keys import key_is_live

    assert await key_is_live(engine, tenant.tenant_id, tenant.key)
    _, expired = await create_key(
        engine, tenant.tenant_id, ["admin"], "demo", expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert not await key_is_live(engine, tenant.tenant_id, expired)
    key = await _new_key(client, tenant)
    await client.post(f"/v1/keys/{key['id']}/revoke", headers=tenant.headers)
    assert not await key_is_live(engine, tenant.tenant_id, key["secret"])


async def test_every_key_change_is_an_event_naming_who_made_it_and_never_its_secret(client, tenant):
    """Created, rotated and revoked keys are key.* events in the tenant's log (and so its webhooks),
    each with the key's name, prefix, scopes and expiry, the admin key that acted as its actor, and no
    secret or hash; revoking a revoked key changes nothing and tells nothing."""
    before = (await client.get("/v1/events", headers=tenant.headers)).json()["items"]
    after = before[-1]["seq"] if before else 0
    made = await _new_key(client, tenant, name="crm-sync", scopes=["read", "write"])
    r = await client.post(
        f"/v1/keys/{made['id']}/rotate", json={"overlap_seconds": 60}, headers=tenant.headers
    )
    new = r.json()["key"]
    assert (await client.post(f"/v1/keys/{new['id']}/revoke", headers=tenant.headers)).status_code == 200
    assert (await client.post(f"/v1/keys/{new['id']}/revoke", headers=tenant.headers)).status_code == 200
    r = await client.get(
        "/v1/events",
        params={"after": after, "types": ["key.created", "key.rotated", "key.revoked"]},
        headers=tenant.headers,
    )
    events = r.json()["items"]
    assert [(e["type"], e["data"]["key_id"]) for e in events] == [
        ("key.created", made["id"]),
        ("key.rotated", new["id"]),
        ("key.revoked", new["id"]),
    ]
    admin = next(k for k in (await _keys(client, tenant)).values() if tenant.key.startswith(k["prefix"]))
    for e in events:
        data = e["data"]
        assert data["actor"] == admin["id"] and data["name"] == "crm-sync"
        assert data["scopes"] == ["read", "write"]
        assert made["secret"] not in str(e) and new["secret"] not in str(e) and "hash" not in str(data)
    assert events[0]["data"]["prefix"] == made["prefix"] and events[1]["data"]["prefix"] == new["prefix"]
    assert events[1]["data"]["rotated_from"] == made["id"] and events[0]["data"]["rotated_from"] is None
    assert events[1]["data"]["expires_at"] is None  # the old key had no expiry, so neither has the new one
