"""Auth and tenant isolation, for every resource, in REST and GraphQL."""

import uuid

import pytest

from tests import factories as f


async def _world(client, headers):
    owned = await f.owned_account(client, headers)
    return {
        "accounts": owned["account"]["id"],
        "reps": owned["rep"]["id"],
        "territories": owned["territory"]["id"],
        "plans": owned["plan"]["id"],
        "assignments": owned["assignment"]["id"],
        "external_id": owned["account"]["external_id"],
    }


RESOURCES = ["accounts", "reps", "territories", "plans", "assignments"]


async def test_no_key_or_a_bad_key_is_401(client):
    for headers in ({}, {"Authorization": "Bearer te_not_a_key"}, {"Authorization": "Basic abc"}):
        r = await client.get("/v1/accounts", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "unauthorized"


async def test_read_key_cannot_write_403(client, tenant):
    r = await client.post("/v1/accounts", json={"external_id": "A", "name": "a"}, headers=tenant.read_headers)
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert (await client.get("/v1/accounts", headers=tenant.read_headers)).status_code == 200


async def test_revoked_key_is_401_at_once(client, engine, tenant):
    from persistence.keys import create_key, revoke_key

    key_id, key = await create_key(engine, tenant.tenant_id, ["read"])
    headers = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/v1/plans", headers=headers)).status_code == 200
    await revoke_key(engine, key_id)
    assert (await client.get("/v1/plans", headers=headers)).status_code == 401


@pytest.mark.parametrize("resource", RESOURCES)
async def test_another_tenants_object_is_404_for_every_verb(client, tenant, other_tenant, resource):
    theirs = await _world(client, other_tenant.headers)
    missing = await client.get(f"/v1/{resource}/{uuid.uuid4()}", headers=tenant.headers)
    for method, body in (("GET", None), ("PATCH", {}), ("DELETE", None)):
        r = await client.request(
            method, f"/v1/{resource}/{theirs[resource]}", json=body, headers=tenant.headers
        )
        assert r.status_code == 404, (method, r.text)
        assert r.json()["code"] == missing.json()["code"] == "not_found"
    # and their object is untouched
    r = await client.get(f"/v1/{resource}/{theirs[resource]}", headers=other_tenant.headers)
    assert r.status_code == 200


async def test_lists_lookups_and_exports_never_show_another_tenant(client, tenant, other_tenant):
    theirs = await _world(client, other_tenant.headers)
    for resource in RESOURCES:
        r = await client.get(f"/v1/{resource}", headers=tenant.headers)
        assert r.json()["items"] == [], resource
    r = await client.get(f"/v1/ownership/{theirs['external_id']}", headers=tenant.headers)
    assert r.status_code == 404
    r = await client.get(f"/v1/accounts/by-external-id/{theirs['external_id']}", headers=tenant.headers)
    assert r.status_code == 404
    r = await client.get("/v1/accounts/export?format=json", headers=tenant.headers)
    assert r.json() == []


async def test_references_to_another_tenants_objects_are_refused(client, tenant, other_tenant):
    theirs = await _world(client, other_tenant.headers)
    mine = await f.plan(client, tenant.headers)
    r = await client.post(
        "/v1/accounts",
        json={"external_id": "A", "name": "a", "parent_id": theirs["accounts"]},
        headers=tenant.headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "parent_id"
    r = await client.post(
        "/v1/territories",
        json={"plan_id": mine["id"], "name": "x", "primary_rep_id": theirs["reps"]},
        headers=tenant.headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "primary_rep_id"


GQL_BY_ID = {
    "accounts": "query($id: UUID!) { account(id: $id) { id } }",
    "reps": "query($id: UUID!) { rep(id: $id) { id } }",
    "territories": "query($id: UUID!) { territory(id: $id) { id } }",
}


@pytest.mark.parametrize("authorization", [None, "Bearer te_not_a_key", "Basic abc"])
async def test_graphql_needs_a_key_and_says_so_in_graphql_shape(client, authorization):
    headers = {"authorization": authorization} if authorization else {}
    r = await client.post("/graphql", json={"query": "{ plans { id } }"}, headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    body = r.json()
    assert body["data"] is None and "code" not in body  # a GraphQL answer, not a REST problem
    [error] = body["errors"]
    assert error["extensions"]["code"] == "unauthorized" and error["extensions"]["status"] == 401
    assert "API key" in error["message"]
    # REST keeps its problem+json
    rest = await client.get("/v1/plans", headers=headers)
    assert rest.status_code == 401 and rest.json()["code"] == "unauthorized"


@pytest.mark.parametrize("resource", sorted(GQL_BY_ID))
async def test_graphql_another_tenants_object_is_not_found(client, tenant, other_tenant, resource):
    theirs = await _world(client, other_tenant.headers)
    r = await client.post(
        "/graphql",
        json={"query": GQL_BY_ID[resource], "variables": {"id": theirs[resource]}},
        headers=tenant.headers,
    )
    body = r.json()
    assert not any((body["data"] or {}).values())
    assert body["errors"][0]["extensions"]["code"] == "not_found"
    mine = await client.post(
        "/graphql",
        json={"query": GQL_BY_ID[resource], "variables": {"id": theirs[resource]}},
        headers=other_tenant.headers,
    )
    assert all(mine.json()["data"].values())


async def test_graphql_lists_and_mutations_stay_inside_the_tenant(client, tenant, other_tenant):
    theirs = await _world(client, other_tenant.headers)
    r = await client.post(
        "/graphql",
        json={"query": "{ plans { nodes { id } } accounts { nodes { id } } territories { nodes { id } } }"},
        headers=tenant.headers,
    )
    data = r.json()["data"]
    assert data == {"plans": {"nodes": []}, "accounts": {"nodes": []}, "territories": {"nodes": []}}
    m = """mutation($id: UUID!) { updateAccount(id: $id, input: {name: "stolen"}) {
             __typename ... on Problem { code status } } }"""
    r = await client.post(
        "/graphql", json={"query": m, "variables": {"id": theirs["accounts"]}}, headers=tenant.headers
    )
    assert r.json()["data"]["updateAccount"] == {"__typename": "Problem", "code": "not_found", "status": 404}
    r = await client.post(
        "/graphql",
        json={
            "query": "query($e: [String!]!) { ownership(externalIds: $e) { status } }",
            "variables": {"e": [theirs["external_id"]]},
        },
        headers=tenant.headers,
    )
    assert r.json()["data"]["ownership"] == [{"status": "not_found"}]


async def test_graphql_read_key_cannot_mutate(client, tenant):
    m = 'mutation { createPlan(input: {name: "x"}) { __typename ... on Problem { code status } } }'
    r = await client.post("/graphql", json={"query": m}, headers=tenant.read_headers)
    assert r.json()["data"]["createPlan"] == {"__typename": "Problem", "code": "forbidden", "status": 403}


GQL_MUTATIONS = {
    "accounts": 'updateAccount(id: $id, input: {name: "x"})',
    "reps": 'updateRep(id: $id, input: {name: "x"})',
    "territories": 'updateTerritory(id: $id, input: {name: "x"})',
    "plans": 'updatePlan(id: $id, input: {name: "x"})',
    "assignments": 'updateAssignment(id: $id, input: {note: "x"})',
}


@pytest.mark.parametrize("resource", sorted(GQL_MUTATIONS))
async def test_graphql_mutations_on_another_tenants_ids_are_not_found(client, tenant, other_tenant, resource):
    theirs = await _world(client, other_tenant.headers)
    fields = "{ __typename ... on Problem { code status } }"
    m = f"mutation($id: UUID!) {{ {GQL_MUTATIONS[resource]} {fields} }}"
    r = await client.post(
        "/graphql", json={"query": m, "variables": {"id": theirs[resource]}}, headers=tenant.headers
    )
    (answer,) = r.json()["data"].values()
    assert answer == {"__typename": "Problem", "code": "not_found", "status": 404}
    r = await client.get(f"/v1/{resource}/{theirs[resource]}", headers=other_tenant.headers)
    assert r.status_code == 200 and r.json().get("name") != "x" and r.json().get("note") != "x"
    activate = "mutation($id: UUID!) { activatePlan(id: $id) { ... on Problem { code } } }"
    body = {"query": activate, "variables": {"id": theirs["plans"]}}
    act = await client.post("/graphql", json=body, headers=tenant.headers)
    assert act.json()["data"]["activatePlan"] == {"code": "not_found"}
