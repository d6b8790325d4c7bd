"""Versions over REST and GraphQL: every single-resource answer carries a strong ETag from the resource's
version; If-Match refuses a change made against an older version (412) and writes nothing; If-None-Match
answers 304; a tenant can require a version on every change (428); concurrent changes made against one
version never both win."""

import asyncio

from tests import factories as f
from tests.conftest import make_tenant


async def _resources(client, headers) -> dict[str, tuple[str, dict]]:
    """One resource of each kind a client can change: its path and a PATCH body that changes it."""
    owned = await f.owned_account(client, headers)
    hook = await f.create(client, headers, "webhook-endpoints", url="https://hooks.example.com/v")
    return {
        "account": (f"/v1/accounts/{owned['account']['id']}", {"name": "Renamed"}),
        "rep": (f"/v1/reps/{owned['rep']['id']}", {"name": "James Park"}),
        "plan": (f"/v1/plans/{owned['plan']['id']}", {"name": "FY28"}),
        "territory": (f"/v1/territories/{owned['territory']['id']}", {"quota": 1_000_000}),
        "assignment": (f"/v1/assignments/{owned['assignment']['id']}", {"note": "kept"}),
        "webhook endpoint": (f"/v1/webhook-endpoints/{hook['id']}", {"description": "crm sync"}),
    }


async def test_every_single_resource_answer_carries_its_version_as_a_strong_etag(client, tenant):
    for what, (path, change) in (await _resources(client, tenant.headers)).items():
        read = await client.get(path, headers=tenant.headers)
        assert read.headers["etag"] == f'"{read.json()["version"]}"', what
        changed = await client.patch(path, json=change, headers=tenant.headers)
        assert changed.status_code == 200, (what, changed.text)
        if what == "assignment":  # a change ends it and starts its successor, a new resource at 1
            assert changed.json()["version"] == 1 and changed.json()["id"] not in path
            continue
        assert changed.json()["version"] == read.json()["version"] + 1, what
        assert changed.headers["etag"] == f'"{changed.json()["version"]}"', what


async def test_a_change_made_against_an_older_version_is_412_and_writes_nothing(client, tenant):
    for what, (path, change) in (await _resources(client, tenant.headers)).items():
        before = (await client.get(path, headers=tenant.headers)).json()
        stale = f'"{before["version"] - 1}", W/"{before["version"]}", "abc"'  # weak tags never match
        refused = await client.patch(path, json=change, headers={**tenant.headers, "If-Match": stale})
        assert refused.status_code == 412, (what, refused.text)
        assert refused.json()["code"] == "precondition_failed"
        assert f"at version {before['version']}" in refused.json()["detail"]
        assert (await client.get(path, headers=tenant.headers)).json() == before, what
        current = {**tenant.headers, "If-Match": f'"{before["version"] + 5}", "{before["version"]}"'}
        assert (await client.patch(path, json=change, headers=current)).status_code == 200, what


async def test_if_match_star_and_deletes_with_a_stale_version(client, tenant):
    resources = await _resources(client, tenant.headers)
    path, change = resources["account"]
    assert (
        await client.patch(path, json=change, headers={**tenant.headers, "If-Match": "*"})
    ).status_code == 200
    version = (await client.get(path, headers=tenant.headers)).json()["version"]
    plan = await f.plan(client, tenant.headers)
    for doomed in (path, f"/v1/plans/{plan['id']}", resources["webhook endpoint"][0]):
        stale = {**tenant.headers, "If-Match": '"999"'}
        r = await client.delete(doomed, headers=stale)
        assert r.status_code == 412 and r.json()["code"] == "precondition_failed", doomed
        assert (await client.get(doomed, headers=tenant.headers)).status_code == 200, doomed
    current = {**tenant.headers, "If-Match": f'"{version}"'}
    assert (await client.delete(path, headers=current)).status_code == 204
    assert (await client.get(path, headers=tenant.headers)).status_code == 404


async def test_if_none_match_answers_304_until_the_resource_changes(client, tenant):
    path, change = (await _resources(client, tenant.headers))["territory"]
    first = await client.get(path, headers=tenant.headers)
    held = {**tenant.headers, "If-None-Match": first.headers["etag"]}
    again = await client.get(path, headers=held)
    assert (
        again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
    )
    weak = await client.get(path, headers={**tenant.headers, "If-None-Match": f"W/{first.headers['etag']}"})
    assert weak.status_code == 304  # If-None-Match compares weakly
    await client.patch(path, json=change, headers=tenant.headers)
    changed = await client.get(path, headers=held)
    assert changed.status_code == 200 and changed.json()["quota"] == 1_000_000


async def test_settings_carry_their_version(client, tenant):
    read = await client.get("/v1/settings", headers=tenant.headers)
    etag = read.headers["etag"]  # compressed (the client takes gzip): If-Match takes it as it is
    assert etag == f'"{read.json()["version"]}-gzip"'
    assert (
        await client.get("/v1/settings", headers={**tenant.headers, "If-None-Match": etag})
    ).status_code == 304
    body = {"overrides": {"tiers": {"tier1_share": 0.15}}}
    put = await client.put("/v1/settings", json=body, headers={**tenant.headers, "If-Match": etag})
    assert put.status_code == 200 and put.headers["etag"] == f'"{read.json()["version"] + 1}-gzip"'
    stale = await client.put(
        "/v1/settings", json={"overrides": {}}, headers={**tenant.headers, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert (await client.get("/v1/settings", headers=tenant.headers)).json()["overrides"] == body["overrides"]


async def test_an_import_moves_the_version_so_an_edit_made_before_it_is_refused(client, tenant):
    a = await f.account(client, tenant.headers)
    etag = (await client.get(f"/v1/accounts/{a['id']}", headers=tenant.headers)).headers["etag"]
    rows = [{"external_id": a["external_id"], "name": "Acme from the CRM"}]
    await f.imported(client, tenant.headers, rows)
    after = (await client.get(f"/v1/accounts/{a['id']}", headers=tenant.headers)).json()
    assert after["version"] == a["version"] + 1 and after["name"] == "Acme from the CRM"
    r = await client.patch(
        f"/v1/accounts/{a['id']}", json={"name": "Mine"}, headers={**tenant.headers, "If-Match": etag}
    )
    assert r.status_code == 412


async def test_a_tenant_can_require_a_version_on_every_change(client, engine):
    strict = await make_tenant(engine, {"writes": {"require_if_match": True}})
    a = await f.account(client, strict.headers)  # creating needs no version
    path = f"/v1/accounts/{a['id']}"
    for method, body in (("PATCH", {"name": "b"}), ("DELETE", None)):
        r = await client.request(method, path, json=body, headers=strict.headers)
        assert r.status_code == 428 and r.json()["code"] == "precondition_required", method
        assert '"1"' in r.json()["detail"]
    put = await client.put("/v1/settings", json={"overrides": {}}, headers=strict.headers)
    assert put.status_code == 428
    ok = await client.patch(path, json={"name": "b"}, headers={**strict.headers, "If-Match": '"1"'})
    assert ok.status_code == 200


async def test_graphql_updates_take_the_expected_version(client, engine):
    strict = await make_tenant(engine, {"writes": {"require_if_match": True}})
    r = await f.rep(client, strict.headers)
    mutation = """mutation($id: UUID!, $v: Int) {
      updateRep(id: $id, input: {name: "James Park"}, expectedVersion: $v) {
        __typename ... on Rep { name version } ... on Problem { code status }
      }
    }"""

    async def update(version):
        body = {"query": mutation, "variables": {"id": r["id"], "v": version}}
        answer = await client.post("/graphql", json=body, headers=strict.headers)
        return answer.json()["data"]["updateRep"]

    assert await update(None) == {"__typename": "Problem", "code": "precondition_required", "status": 428}
    assert await update(7) == {"__typename": "Problem", "code": "precondition_failed", "status": 412}
    assert await update(1) == {"__typename": "Rep", "name": "James Park", "version": 2}
    settings = """mutation($v: Int) { updateSettings(overrides: {}, expectedVersion: $v) {
      __typename ... on Problem { code } ... on Settings { version } } }"""
    answer = await client.post(
        "/graphql", json={"query": settings, "variables": {"v": 0}}, headers=strict.headers
    )
    assert answer.json()["data"]["updateSettings"] == {"__typename": "Problem", "code": "precondition_failed"}


async def test_concurrent_changes_against_one_version_never_both_win(client, tenant):
    a = await f.account(client, tenant.headers)
    path = f"/v1/accounts/{a['id']}"
    headers = {**tenant.headers, "If-Match": '"1"'}
    answers = await asyncio.gather(
        *(client.patch(path, json={"name": f"writer {i}"}, headers=headers) for i in range(6))
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(200) == 1, [r.text for r in answers]
    assert set(statuses) <= {200, 409, 412}  # 409 concurrent_change: lost the race at the write itself
    winner = next(r.json() for r in answers if r.status_code == 200)
    stored = (await client.get(path, headers=tenant.headers)).json()
    assert stored["name"] == winner["name"] and stored["version"] == 2


async def test_without_if_match_concurrent_changes_are_each_applied_or_refused_never_lost(client, tenant):
    """No precondition: each change is applied on top of the last, or refused as a concurrent change to
    send again; the version counts exactly the changes applied."""
    a = await f.account(client, tenant.headers)
    path = f"/v1/accounts/{a['id']}"
    answers = await asyncio.gather(
        *(client.patch(path, json={"industry": f"i{i}"}, headers=tenant.headers) for i in range(6))
    )
    assert {r.status_code for r in answers} <= {200, 409}
    applied = sum(r.status_code == 200 for r in answers)
    assert (await client.get(path, headers=tenant.headers)).json()["version"] == 1 + applied


async def test_a_compressed_answer_names_its_encoding_in_the_etag_and_if_match_takes_it(client, tenant):
    a = await f.account(client, tenant.headers, tags=[f"tag-{i:03d}-" + "x" * 50 for i in range(100)])
    path = f"/v1/accounts/{a['id']}"
    r = await client.get(path, headers={**tenant.headers, "Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and r.headers["etag"] == '"1-gzip"'
    plain = await client.get(path, headers={**tenant.headers, "Accept-Encoding": "identity"})
    assert plain.headers["etag"] == '"1"'
    ok = await client.patch(
        path, json={"name": "b"}, headers={**tenant.headers, "If-Match": r.headers["etag"]}
    )
    assert ok.status_code == 200
