"""idempotencyKey on GraphQL mutations, on both databases: a retry gets the first result again and changes
nothing; the key with another mutation or other arguments is refused; a twin still running is told so; a
refused input stores nothing; keys are the tenant's and never replay across REST and GraphQL."""

from __future__ import annotations

import asyncio
import uuid

from tests import factories as f
from tests.api.test_graphql import gql
from tests.api.test_operations import poll

PROBLEM = "... on Problem { code status errors { field code } }"
CREATE_PLAN = (
    "mutation($name: String!, $key: String) { createPlan(input: {name: $name}, idempotencyKey: $key) {"
    " __typename ... on Plan { id name state } " + PROBLEM + " } }"
)


async def _create_plan(client, tenant, name: str, key: str | None) -> dict:
    body = await gql(client, tenant, CREATE_PLAN, name=name, key=key)
    assert "errors" not in body, body["errors"]
    return body["data"]["createPlan"]


async def _plans(client, tenant) -> list[str]:
    return [p["name"] for p in (await client.get("/v1/plans", headers=tenant.headers)).json()["items"]]


async def test_every_mutation_takes_an_idempotency_key(client, tenant):
    """But those whose result holds a new key's secret, which is never stored (tests/api/test_keys.py)."""
    q = "{ __schema { mutationType { fields { name args { name type { name kind } } } } } }"
    fields = (await gql(client, tenant, q))["data"]["__schema"]["mutationType"]["fields"]
    assert len(fields) > 15
    for field in fields:
        keys = [a for a in field["args"] if a["name"] == "idempotencyKey"]
        if field["name"] in ("createKey", "rotateKey"):
            assert keys == [], field
        else:
            assert keys == [{"name": "idempotencyKey", "type": {"name": "String", "kind": "SCALAR"}}], field


async def test_a_retry_gets_the_first_result_and_creates_nothing(client, tenant):
    first = await _create_plan(client, tenant, "Once", "plan-1")
    again = await _create_plan(client, tenant, "Once", "plan-1")
    assert first["__typename"] == "Plan" and again == first
    assert await _plans(client, tenant) == ["Once"]
    # a retry asking for other fields reads them from the first result, and two mutations of one document
    # with one key run once
    twins = "".join(
        f'{alias}: createPlan(input: {{name: "Twice"}}, idempotencyKey: "plan-2") {{ ... on Plan {{ id }} }} '
        for alias in ("b", "c")
    )
    q = (
        'mutation { a: createPlan(input: {name: "Once"}, idempotencyKey: "plan-1") {'
        " ... on Plan { id createdAt } } " + twins + "}"
    )
    data = (await gql(client, tenant, q))["data"]
    assert data["a"]["id"] == first["id"] and data["a"]["createdAt"]
    assert data["b"] == data["c"] and data["b"]["id"] != first["id"]
    assert sorted(await _plans(client, tenant)) == ["Once", "Twice"]


async def test_without_a_key_each_mutation_runs(client, tenant):
    a = await _create_plan(client, tenant, "Same", None)
    b = await _create_plan(client, tenant, "Same", None)
    assert a["id"] != b["id"] and await _plans(client, tenant) == ["Same", "Same"]


async def test_concurrent_twins_make_one_plan(client, tenant):
    answers = await asyncio.gather(*[_create_plan(client, tenant, "Twin", "plan-twins") for _ in range(5)])
    made = [a for a in answers if a["__typename"] == "Plan"]
    running = [a for a in answers if a["__typename"] == "Problem"]
    assert made and len({a["id"] for a in made}) == 1, answers
    assert all((a["code"], a["status"]) == ("idempotent_request_running", 409) for a in running), answers
    assert await _plans(client, tenant) == ["Twin"]


async def test_the_key_with_other_arguments_or_another_mutation_is_refused(client, tenant):
    await _create_plan(client, tenant, "A", "plan-3")
    refused = await _create_plan(client, tenant, "B", "plan-3")
    assert (refused["code"], refused["status"]) == ("idempotency_key_reused", 422)
    assert refused["errors"] == [{"field": "idempotencyKey", "code": "idempotency_key_reused"}]
    q = """mutation { createRep(input: {externalId: "R-IK", name: "R", email: "r@example.com",
             role: AE, startDate: "2026-01-05"}, idempotencyKey: "plan-3") {
             __typename ... on Problem { code } } }"""
    assert (await gql(client, tenant, q))["data"]["createRep"] == {
        "__typename": "Problem",
        "code": "idempotency_key_reused",
    }
    assert await _plans(client, tenant) == ["A"]
    reps = (await client.get("/v1/reps", headers=tenant.headers)).json()["items"]
    assert reps == []


CREATE_ACCOUNT = (
    """mutation($input: AccountCreateInput!, $key: String) {
    createAccount(input: $input, idempotencyKey: $key) { __typename
      ... on Account { id externalId name parent { externalId } } """
    + PROBLEM
    + " } }"
)


async def test_a_refused_input_stores_nothing_and_a_corrected_retry_runs(client, tenant):
    bad = {"externalId": "IK-G", "name": "Keyed", "annualRevenue": -1}
    for _ in range(2):  # run, not replayed, each time
        refused = (await gql(client, tenant, CREATE_ACCOUNT, input=bad, key="acct-g"))["data"]
        assert refused["createAccount"]["code"] == "validation_failed"
    good = {"externalId": "IK-G", "name": "Keyed"}
    made = (await gql(client, tenant, CREATE_ACCOUNT, input=good, key="acct-g"))["data"]["createAccount"]
    assert made["__typename"] == "Account" and made["name"] == "Keyed"
    # a document that is not valid GraphQL (a wrong type) does not reach the mutation: the key stays free
    body = await gql(client, tenant, CREATE_PLAN, name=5, key="plan-bad")
    assert body["errors"] and body.get("data") is None
    assert (await _create_plan(client, tenant, "Fixed", "plan-bad"))["name"] == "Fixed"


async def test_a_result_that_ran_is_kept_even_a_problem(client, tenant):
    q = """mutation($id: UUID!, $name: String!) { updateAccount(id: $id, input: {name: $name},
             idempotencyKey: "upd") { __typename ... on Problem { code status } } }"""
    missing = str(uuid.uuid4())
    first = (await gql(client, tenant, q, id=missing, name="X"))["data"]["updateAccount"]
    assert first == {"__typename": "Problem", "code": "not_found", "status": 404}
    assert (await gql(client, tenant, q, id=missing, name="X"))["data"]["updateAccount"] == first
    # kept: the key is no longer free for another request
    other = (await gql(client, tenant, q, id=missing, name="Y"))["data"]["updateAccount"]
    assert other["code"] == "idempotency_key_reused"


async def test_a_replayed_object_reads_its_relations(client, tenant):
    parent = await f.account(client, tenant.headers)
    child = {"externalId": "IK-CHILD", "name": "Child", "parentId": parent["id"]}
    first = (await gql(client, tenant, CREATE_ACCOUNT, input=child, key="child"))["data"]["createAccount"]
    again = (await gql(client, tenant, CREATE_ACCOUNT, input=child, key="child"))["data"]["createAccount"]
    assert first == again and again["parent"] == {"externalId": parent["external_id"]}
    listed = (await client.get("/v1/accounts?external_id=IK-CHILD", headers=tenant.headers)).json()
    assert [a["id"] for a in listed["items"]] == [first["id"]]


async def test_keys_belong_to_their_tenant(client, tenant, other_tenant):
    mine = await _create_plan(client, tenant, "Mine", "k")
    theirs = await _create_plan(client, other_tenant, "Mine", "k")
    assert mine["__typename"] == theirs["__typename"] == "Plan" and mine["id"] != theirs["id"]
    assert await _plans(client, tenant) == await _plans(client, other_tenant) == ["Mine"]


async def test_a_key_is_never_replayed_across_rest_and_graphql(client, tenant):
    headers = {**tenant.headers, "Idempotency-Key": "shared"}
    assert (await client.post("/v1/plans", json={"name": "Rest"}, headers=headers)).status_code == 201
    refused = await _create_plan(client, tenant, "Rest", "shared")
    assert refused["code"] == "idempotency_key_reused"
    assert (await _create_plan(client, tenant, "Gql", "shared-2"))["__typename"] == "Plan"
    headers = {**tenant.headers, "Idempotency-Key": "shared-2"}
    r = await client.post("/v1/plans", json={"name": "Gql"}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    assert sorted(await _plans(client, tenant)) == ["Gql", "Rest"]


async def test_a_retried_optimisation_is_the_same_operation(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    q = """mutation($plan: UUID!) { optimizePlan(planId: $plan, input: {name: "Balanced"},
             idempotencyKey: "opt") { __typename ... on Operation { id kind } } }"""
    first = (await gql(client, tenant, q, plan=owned["plan"]["id"]))["data"]["optimizePlan"]
    again = (await gql(client, tenant, q, plan=owned["plan"]["id"]))["data"]["optimizePlan"]
    assert first["__typename"] == "Operation" and again == first
    listed = (await client.get("/v1/operations?kind=optimize", headers=tenant.headers)).json()["items"]
    assert [o["id"] for o in listed] == [first["id"]]
    await poll(client, tenant.headers, first["id"])  # it runs once, to its end


async def test_a_retried_settings_change_raises_the_version_once(client, tenant):
    q = """mutation($key: String) { updateSettings(overrides: {tiers: {tier1_share: 0.15}},
             idempotencyKey: $key) { ... on Settings { version overrides } } }"""
    first = (await gql(client, tenant, q, key="settings"))["data"]["updateSettings"]
    again = (await gql(client, tenant, q, key="settings"))["data"]["updateSettings"]
    assert again == first and first["overrides"] == {"tiers": {"tier1_share": 0.15}}
    assert (await client.get("/v1/settings", headers=tenant.headers)).json()["version"] == first["version"]


async def test_a_key_that_is_not_one_is_refused_naming_the_argument(client, tenant):
    for key in ("", "a" * 256, "tab\tkey"):
        refused = await _create_plan(client, tenant, "Never", key)
        assert refused["code"] == "validation_failed", key
        assert refused["errors"] == [{"field": "idempotencyKey", "code": "invalid_value"}]
    assert await _plans(client, tenant) == []


_TYPE = "kind name ofType { kind name ofType { kind name ofType { kind name } } }"
_TYPES = "{ __schema { types { name kind fields { name args { name } type { " + _TYPE + " } } } } }"


def _named(t: dict) -> dict:
    while t.get("ofType"):
        t = t["ofType"]
    return t


def _selection(types: dict[str, dict], name: str, depth: int = 3) -> str:
    """Every field of the type without arguments, objects `depth` deep (a relation such as `parent` too)."""
    chosen = []
    for field in types[name]["fields"]:
        inner = _named(field["type"])
        if field["args"] or inner["kind"] in ("UNION", "INTERFACE"):
            continue
        if inner["kind"] != "OBJECT":
            chosen.append(field["name"])
        elif depth > 0:
            chosen.append(f"{field['name']} {{ {_selection(types, inner['name'], depth - 1)} }}")
    return " ".join(chosen) or "__typename"


async def test_every_kind_of_result_is_replayed_whole(client, tenant):
    schema = (await gql(client, tenant, _TYPES))["data"]["__schema"]["types"]
    types = {t["name"]: t for t in schema if t["kind"] == "OBJECT"}
    owned = await f.owned_account(client, tenant.headers, current_arr=1000)
    plan, rep, parent = (f'"{owned[k]["id"]}"' for k in ("plan", "rep", "account"))

    async def twice(mutation: str, result: str, arguments: str = "") -> dict:
        """The mutation run with a key and retried: the same result, with every field of its type."""
        key = f'idempotencyKey: "{mutation}"'
        q = (
            f"mutation {{ {mutation}({arguments}{', ' if arguments else ''}{key}) {{ __typename "
            f"... on {result} {{ {_selection(types, result)} }} {PROBLEM} }} }}"
        )
        first, again = [await gql(client, tenant, q) for _ in range(2)]
        assert "errors" not in first, first["errors"]
        assert first["data"][mutation]["__typename"] == result, first
        assert again == first
        return first["data"][mutation]

    def ref(found: dict) -> str:
        return f'"{found["id"]}"'

    await twice("runScoring", "ScoringRun")
    await twice("updateSettings", "Settings", "overrides: {coverage: {coverage_window_days: 60}}")
    made = await twice(
        "createAccount", "Account", f'input: {{externalId: "IK-ALL", name: "A", parentId: {parent}}}'
    )
    await twice("updateAccount", "Account", f'id: {ref(made)}, input: {{name: "A 2"}}')
    new = 'input: {externalId: "R-ALL", name: "New", email: "new@example.com", startDate: "2026-01-05"}'
    newcomer = await twice("createRep", "Rep", new)
    await twice("updateRep", "Rep", f'id: {ref(newcomer)}, input: {{name: "New 2"}}')
    territory = await twice(
        "createTerritory",
        "Territory",
        f'input: {{planId: {plan}, name: "T-ALL", primaryRepId: {ref(newcomer)}}}',
    )
    await twice("updateTerritory", "Territory", f"id: {ref(territory)}, input: {{priority: 3}}")
    assignment = await twice(
        "createAssignment",
        "Assignment",
        f"input: {{planId: {plan}, accountId: {ref(made)}, repId: {ref(newcomer)}, "
        f"territoryId: {ref(territory)}}}",
    )
    await twice("updateAssignment", "Assignment", f"id: {ref(assignment)}, input: {{locked: true}}")
    draft = await twice("copyPlan", "Plan", f'id: {plan}, name: "Draft"')
    await twice("updatePlan", "Plan", f'id: {ref(draft)}, input: {{name: "Draft 2"}}')
    await twice("assignByRules", "AssignByRules", f"planId: {ref(draft)}")
    await twice("proposeRebalance", "RebalanceProposal", f"planId: {plan}")
    await twice("repArrival", "RebalanceProposal", f"repId: {ref(newcomer)}")
    await twice("repDeparture", "RebalanceProposal", f'repId: {rep}, date: "2026-12-31"')
    operation = await twice("optimizePlan", "Operation", f"planId: {plan}")
    await twice("cancelOperation", "Operation", f"id: {ref(operation)}")
    await twice("activatePlan", "Plan", f"id: {ref(draft)}")
    await poll(client, tenant.headers, operation["id"])
