"""GraphQL over the same use cases: queries, mutations with typed problems, and batched loading."""

from tests import factories as f
from tests.factories import count_statements


async def gql(client, tenant, query, **variables):
    r = await client.post("/graphql", json={"query": query, "variables": variables}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_account_by_external_id_with_owner_and_parent(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    child = await f.account(client, tenant.headers, parent_id=owned["account"]["id"])
    q = """query($e: String!) { account(externalId: $e) { id parent { externalId }
             owner(role: AE) { rep { name email } territory { name } since } } }"""
    data = (await gql(client, tenant, q, e=child["external_id"]))["data"]["account"]
    assert data["parent"] == {"externalId": owned["account"]["external_id"]}
    assert data["owner"] is None
    data = (await gql(client, tenant, q, e=owned["account"]["external_id"]))["data"]["account"]
    assert data["owner"]["rep"]["name"] == "Sarah Chen"
    assert data["owner"]["territory"]["name"] == owned["territory"]["name"]


async def walk(client, tenant, query, *path, **variables):
    """The ids of every node of the connection at `path`, following endCursor as `$after` page by page."""
    seen, after, pages = [], None, 0
    while True:
        body = await gql(client, tenant, query, after=after, **variables)
        assert "errors" not in body, body["errors"]
        page = body["data"]
        for key in path:
            page = page[key]
        seen += [n["id"] for n in page["nodes"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            assert page["pageInfo"]["endCursor"] is None
            return seen, pages
        after = page["pageInfo"]["endCursor"]


async def test_accounts_connection_pages_with_filters(client, tenant):
    for _ in range(5):
        await f.account(client, tenant.headers, stage="pipeline")
    q = """query($after: String) { accounts(filter: {stage: PIPELINE}, first: 2, after: $after) {
             nodes { id } pageInfo { hasNextPage endCursor } } }"""
    seen, _ = await walk(client, tenant, q, "accounts")
    assert len(seen) == len(set(seen)) == 5


async def test_plans_and_a_territorys_or_reps_accounts_page_with_first_and_after(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    plan_id, rep_id, territory_id = owned["plan"]["id"], owned["rep"]["id"], owned["territory"]["id"]
    made = [owned["account"]["id"]]
    for _ in range(4):
        a = await f.account(client, tenant.headers)
        made.append(a["id"])
        body = {"plan_id": plan_id, "account_id": a["id"], "rep_id": rep_id, "territory_id": territory_id}
        await f.create(client, tenant.headers, "assignments", **body)
    await f.account(client, tenant.headers)  # nobody's
    plans = [plan_id] + [(await f.plan(client, tenant.headers, name=f"P{i}"))["id"] for i in range(4)]
    page = "first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } }"
    seen, pages = await walk(client, tenant, "query($after: String) { plans(" + page + " }", "plans")
    assert sorted(seen) == sorted(plans) and pages == 3
    q = "query($t: UUID!, $after: String) { territory(id: $t) { accounts(" + page + " } }"
    seen, pages = await walk(client, tenant, q, "territory", "accounts", t=territory_id)
    assert sorted(seen) == sorted(made) and pages == 3
    q = "query($r: UUID!, $after: String) { rep(id: $r) { accounts(role: AE, " + page + " } }"
    seen, pages = await walk(client, tenant, q, "rep", "accounts", r=rep_id)
    assert sorted(seen) == sorted(made) and pages == 3


async def test_a_first_out_of_range_or_a_bad_after_is_refused_like_rest_page_size(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    rest = await client.get("/v1/plans?page_size=501", headers=tenant.headers)
    assert rest.status_code == 422 and rest.json()["errors"][0]["field"] == "page_size"
    nodes = "{ nodes { id } }"
    for query in (
        "{ plans(first: 501) " + nodes + " }",
        "{ plans(first: 0) " + nodes + " }",
        "{ accounts(first: 501) " + nodes + " }",
        "{ territories(first: 1000) " + nodes + " }",
        "{ operations(first: 501) " + nodes + " }",
        "{ coverageAccounts(first: 501) { nodes { accountId } } }",
        "query($a: UUID!) { ownershipHistory(accountId: $a, first: 501) { nodes { cause } } }",
        "{ overlaps(first: 501) { nodes { accountId } } }",
        "query($t: UUID!) { territory(id: $t) { accounts(first: 501) { nodes { id } } } }",
        "query($r: UUID!) { rep(id: $r) { accounts(first: -1) { nodes { id } } } }",
    ):
        ids = {"t": owned["territory"]["id"], "r": owned["rep"]["id"], "a": owned["account"]["id"]}
        body = await gql(client, tenant, query, **ids)
        error = body["errors"][0]["extensions"]
        assert error["code"] == rest.json()["code"] == "validation_failed", query
        assert error["status"] == 422 and error["errors"][0]["field"] == "first", query
    for query in (
        '{ plans(after: "garbage!") ' + nodes + " }",
        'query($t: UUID!) { territory(id: $t) { accounts(after: "garbage!") { nodes { id } } } }',
    ):
        body = await gql(client, tenant, query, t=owned["territory"]["id"])
        error = body["errors"][0]["extensions"]
        assert error["code"] == "invalid_page_token" and error["errors"][0]["field"] == "after", query
    # REST still names its own parameters
    rest = await client.get("/v1/plans?page_token=garbage!", headers=tenant.headers)
    assert rest.json()["errors"][0]["field"] == "page_token"


async def test_mutations_return_objects_or_problems_with_rest_codes(client, tenant):
    m = """mutation($i: AccountCreateInput!) { createAccount(input: $i) {
             __typename ... on Account { id externalId segment }
             ... on Problem { code status errors { field code } } } }"""
    ok = (await gql(client, tenant, m, i={"externalId": "G1", "name": "Acme", "annualRevenue": 5e6}))["data"]
    assert ok["createAccount"]["__typename"] == "Account" and ok["createAccount"]["segment"] == "MID_MARKET"
    dup = (await gql(client, tenant, m, i={"externalId": "G1", "name": "Again"}))["data"]["createAccount"]
    assert dup == {
        "__typename": "Problem",
        "code": "duplicate_external_id",
        "status": 409,
        "errors": [{"field": "externalId", "code": "duplicate_external_id"}],  # the schema's spelling
    }
    bad = (await gql(client, tenant, m, i={"externalId": "G2", "name": "x", "employees": -5}))["data"]
    assert bad["createAccount"]["code"] == "validation_failed"
    assert bad["createAccount"]["errors"][0]["field"] == "employees"
    bad = (await gql(client, tenant, m, i={"externalId": "G3", "name": "x", "annualRevenue": -1}))["data"]
    assert bad["createAccount"]["errors"][0]["field"] == "annualRevenue"
    u = """mutation($id: UUID!) { updateAccount(id: $id, input: {name: "Renamed"}) {
             ... on Account { name stage } } }"""
    acc_id = ok["createAccount"]["id"]
    assert (await gql(client, tenant, u, id=acc_id))["data"]["updateAccount"] == {
        "name": "Renamed",
        "stage": "COLD",
    }


async def test_plan_territory_rep_assignment_mutations(client, tenant):
    rep = (
        await gql(
            client,
            tenant,
            'mutation { createRep(input: {externalId: "R", name: "Rep", '
            'email: "r@example.com"}) { ... on Rep { id } } }',
        )
    )["data"]["createRep"]
    plan = await gql(
        client, tenant, 'mutation { createPlan(input: {name: "P"}) { ... on Plan { id state } } }'
    )
    plan = plan["data"]["createPlan"]
    assert plan["state"] == "DRAFT"
    t = await gql(
        client,
        tenant,
        "mutation($p: UUID!, $r: UUID!) { createTerritory(input: {planId: $p, "
        'name: "East", primaryRepId: $r}) { ... on Territory { id owner { name } } } }',
        p=plan["id"],
        r=rep["id"],
    )
    assert t["data"]["createTerritory"]["owner"] == {"name": "Rep"}
    acc = await f.account(client, tenant.headers)
    a = await gql(
        client,
        tenant,
        "mutation($p: UUID!, $a: UUID!, $r: UUID!) { createAssignment(input: "
        "{planId: $p, accountId: $a, repId: $r}) { __typename ... on Assignment { role reason } } }",
        p=plan["id"],
        a=acc["id"],
        r=rep["id"],
    )
    assert a["data"]["createAssignment"] == {"__typename": "Assignment", "role": "AE", "reason": "MANUAL"}
    act = await gql(
        client, tenant, "mutation($p: UUID!) { activatePlan(id: $p) { ... on Plan { state } } }", p=plan["id"]
    )
    assert act["data"]["activatePlan"] == {"state": "ACTIVE"}
    look = await gql(
        client,
        tenant,
        "query($e: [String!]!) { ownership(externalIds: $e) { status repName } }",
        e=[acc["external_id"]],
    )
    assert look["data"]["ownership"] == [{"status": "owned", "repName": "Rep"}]


async def test_query_errors_carry_the_rest_code(client, tenant):
    body = await gql(client, tenant, '{ account(externalId: "nope") { id } }')
    assert body["errors"][0]["extensions"]["code"] == "not_found"
    assert body["errors"][0]["extensions"]["status"] == 404


async def _book(client, tenant, territories, accounts_each):
    p = await f.plan(client, tenant.headers, state="active")
    rows, assignments = [], []
    for t in range(territories):
        rep = await f.rep(client, tenant.headers, name=f"Rep {t}")
        terr = await f.territory(client, tenant.headers, p["id"], primary_rep_id=rep["id"])
        for _ in range(accounts_each):
            a = await f.account(client, tenant.headers)
            await f.create(
                client,
                tenant.headers,
                "assignments",
                plan_id=p["id"],
                account_id=a["id"],
                rep_id=rep["id"],
                territory_id=terr["id"],
            )
    return rows, assignments


async def test_nested_query_statement_count_does_not_grow_with_page_size(
    client, engine, tenant, other_tenant
):
    q = """query($n: Int!) { territories(first: $n) { nodes { name accounts(first: $n) { nodes {
             externalId owner { rep { name } } } } } } }"""
    await _book(client, tenant, territories=2, accounts_each=2)
    await _book(client, other_tenant, territories=6, accounts_each=6)
    with count_statements(engine) as small:
        data = (await gql(client, tenant, q, n=2))["data"]
    assert sum(len(t["accounts"]["nodes"]) for t in data["territories"]["nodes"]) == 4
    with count_statements(engine) as large:
        r = await client.post(
            "/graphql", json={"query": q, "variables": {"n": 6}}, headers=other_tenant.headers
        )
        data = r.json()["data"]
    assert sum(len(t["accounts"]["nodes"]) for t in data["territories"]["nodes"]) == 36
    assert all(
        a["owner"]["rep"]["name"] for t in data["territories"]["nodes"] for a in t["accounts"]["nodes"]
    )
    assert len(large) == len(small), (len(small), len(large))
    assert len(large) <= 10


async def test_rep_accounts_and_territory_accounts(client, tenant):
    owned = await f.owned_account(client, tenant.headers)
    second = await f.account(client, tenant.headers)
    await f.create(
        client,
        tenant.headers,
        "assignments",
        plan_id=owned["plan"]["id"],
        account_id=second["id"],
        rep_id=owned["rep"]["id"],
        role="CSM",
    )
    q = """query($r: UUID!, $t: UUID!) {
             rep(id: $r) { all: accounts { nodes { externalId } }
                           ae: accounts(role: AE) { nodes { externalId } } }
             territory(id: $t) { owner { name } accounts { nodes { externalId } } } }"""
    data = (await gql(client, tenant, q, r=owned["rep"]["id"], t=owned["territory"]["id"]))["data"]
    assert sorted(a["externalId"] for a in data["rep"]["all"]["nodes"]) == sorted(
        [owned["account"]["external_id"], second["external_id"]]
    )
    assert data["rep"]["ae"]["nodes"] == [{"externalId": owned["account"]["external_id"]}]
    assert data["territory"] == {
        "owner": {"name": "Sarah Chen"},
        "accounts": {"nodes": [{"externalId": owned["account"]["external_id"]}]},
    }


async def test_deep_wide_or_aliased_queries_are_refused(client, tenant):
    deep = '{ account(externalId: "x") { ' + "parent { " * 12 + "id" + " }" * 12 + " } }"
    body = await gql(client, tenant, deep)
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    aliased = "{ " + " ".join(f"a{i}: plans {{ nodes {{ id }} }}" for i in range(40)) + " }"
    body = await gql(client, tenant, aliased)
    assert "aliases found" in body["errors"][0]["message"].lower()
