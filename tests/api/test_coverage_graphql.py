"""The GraphQL twins of coverage and reports answer what REST answers, for the caller's tenant only."""

from tests.api.test_coverage import _book
from tests.api.test_graphql import gql


async def test_coverage_queries_match_rest(client, tenant, other_tenant):
    book = await _book(client, tenant)
    answer = await gql(
        client,
        tenant,
        """query($rep: UUID!) {
          coverage { total { accounts covered failing } byTier { tier rate target meetsTarget } }
          coverageAccounts(covered: false, first: 10) { nodes { externalId reasons { code } lists } }
          overlaps { nodes { externalId overlaps { role reps { repId } } } }
          repReview(repId: $rep) { coverageRate lists { name count accounts { externalId } } }
          coverageReview {
            overview monthlyQuestions { name count } expansionPipeline { accounts }
            coverageByTier { tier accounts covered rate target meetsTarget }
          }
          weeklyMetrics { rows { tier accountsWorked replyRate } }
          territoryPlan { segmentation { segments { segment accounts tap } } rebalancingSchedule { cadence } }
        }""",
        rep=book["rep"]["id"],
    )
    assert "errors" not in answer, answer
    data = answer["data"]
    rest = (await client.get("/v1/coverage", headers=tenant.headers)).json()
    assert data["coverage"]["total"] == {k: rest["total"][k] for k in ("accounts", "covered", "failing")}
    failing = {i["externalId"]: [r["code"] for r in i["reasons"]] for i in data["coverageAccounts"]["nodes"]}
    assert failing["COV-3"] == ["no_next_step"] and "COV-1" not in failing
    assert [i["externalId"] for i in data["overlaps"]["nodes"]] == ["COV-1"]
    lists = {x["name"]: [a["externalId"] for a in x["accounts"]] for x in data["repReview"]["lists"]}
    assert lists["dormant"] == ["COV-2"] and data["repReview"]["coverageRate"] == 0.2
    assert data["coverageReview"]["overview"]["total_named_accounts"] == 5
    review = (await client.get("/v1/reports/coverage-review", headers=tenant.headers)).json()
    assert data["coverageReview"]["coverageByTier"] == [
        {"tier": t["tier"], "accounts": t["accounts"], "covered": t["covered"], "rate": t["rate"]}
        | {"target": t["target"], "meetsTarget": t["meets_target"]}
        for t in review["coverage_by_tier"]
    ]
    assert sum(s["accounts"] for s in data["territoryPlan"]["segmentation"]["segments"]) == 5
    a = (await client.get("/v1/accounts/by-external-id/COV-1", headers=tenant.headers)).json()
    one = await gql(
        client,
        tenant,
        "query($id: UUID!) { accountCoverage(id: $id) { covered touchedBy { touches } } }",
        id=a["id"],
    )
    one = one["data"]
    assert one["accountCoverage"]["covered"] is True and len(one["accountCoverage"]["touchedBy"]) == 2
    # another tenant: an unknown account, and an empty report
    r = await client.post(
        "/graphql",
        json={
            "query": "query($id: UUID!) { accountCoverage(id: $id) { covered } }",
            "variables": {"id": a["id"]},
        },
        headers=other_tenant.headers,
    )
    assert r.json()["errors"][0]["extensions"]["code"] == "not_found"
    other = await gql(client, other_tenant, "{ coverage { total { accounts } } }")
    assert other["data"]["coverage"]["total"]["accounts"] == 0
