"""Every writable field is kept: for each field of each resource's update body (read from the served
contract, so a new field is walked as soon as it exists), a PATCH to another valid value is stored and
returned by the next GET. A field without a sample here fails the walk: decide what it does, test its
effect where it has one (the tests named beside the samples), and add it.

The settings have their own walk (test_settings_effects.py), where every key must change an answer."""

from __future__ import annotations

from typing import Any

from tests import factories as f

# resource -> field -> a valid value other than the one the factory gives; references are filled in below
SAMPLES: dict[str, dict[str, Any]] = {
    "accounts": {
        "annual_revenue": 12_000_000.0,
        "churn_risk": "high",  # the at-risk review list (test_coverage)
        "competitive": 40.0,
        "country": "CA",  # boundaries (test_boundaries)
        "current_arr": 250_000.0,  # scores and potential (test_scoring)
        "employees": 1_200,  # segments (test_settings_effects, segments.*)
        "engagement": 55.0,
        "expansion_estimate": 80_000.0,  # potential (docs/domain.md, "Potential")
        "external_id": "FIELD-WALK-2",
        "growth_rate": 0.4,  # derived expansion (test_scoring)
        "industry": "Healthcare",  # expertise (test_rebalancing)
        "intent": 70.0,
        "latitude": 40.7,
        "longitude": -74.0,
        "name": "Renamed Co",
        "parent_id": "@parent",  # families move as one (test_rebalancing)
        "postal_code": "10115",
        "region": "East",
        "relationship": 65.0,  # coverage map path (test_coverage)
        "stage": "customer",
        "strategic": True,
        "tags": ["partner"],  # the partner path list (test_coverage)
        "whitespace_units": 3,  # derived expansion (test_scoring)
    },
    "reps": {
        "capacity": 18.0,  # its capacity replaces the ramp default (test_capacity)
        "email": "walked@example.com",
        "end_date": "2030-01-31",  # departures (test_rebalancing)
        "expertise": ["Healthcare"],
        "external_id": "REP-WALK-2",
        "home_region": "West",
        "name": "Walked Rep",
        "quota": 900_000.0,  # equity and the quarterly review (test_equity, test_reports)
        "ramp_status": "senior",  # capacity by ramp (test_capacity)
        "role": "CSM",
        "start_date": "2024-02-01",
    },
    "territories": {
        "backup_rep_id": "@rep",
        "boundary": {"rules": [{"field": "region", "op": "eq", "value": "West"}]},  # test_assignments
        "escalation_policy": "Territory of record = CRM owner field",  # the territory plan (test_reports)
        "meeting_rate_target": 0.25,
        "name": "Walked Territory",
        "parent_id": "@territory",
        "primary_rep_id": "@rep",
        "priority": 7,  # assignment by rules (test_boundaries)
        "quarterly_review_date": "2027-01-01",
        "quota": 1_500_000.0,
        "type": "vertical",
        "weekly_pipeline_target": 25_000.0,
    },
    "plans": {"name": "Walked Plan"},
    "assignments": {
        "locked": True,  # never moved (test_rebalancing)
        "note": "walked",
        "reason": "dispute",
        "rep_id": "@rep",
        "territory_id": "@territory",
    },
}


def writable(spec: dict, resource: str) -> set[str]:
    name = {
        "accounts": "AccountUpdate",
        "reps": "RepUpdate",
        "territories": "TerritoryUpdate",
        "plans": "PlanUpdate",
        "assignments": "AssignmentUpdate",
    }[resource]
    return set(spec["components"]["schemas"][name]["properties"])


async def test_every_writable_field_is_stored_and_returned(client, tenant):
    h = tenant.headers
    spec = (await client.get("/openapi.json")).json()
    for resource, samples in SAMPLES.items():
        assert writable(spec, resource) == set(samples), f"{resource}: walk every field, no more"
    owned = await f.owned_account(client, h)
    refs = {
        "@parent": (await f.account(client, h))["id"],
        "@rep": (await f.rep(client, h))["id"],
        "@territory": (await f.territory(client, h, owned["plan"]["id"]))["id"],
    }
    targets = {
        "accounts": owned["account"]["id"],
        "reps": (await f.rep(client, h))["id"],
        "territories": owned["territory"]["id"],
        "plans": (await f.plan(client, h))["id"],
    }
    for resource, target in targets.items():
        for field, sample in SAMPLES[resource].items():
            value = refs.get(sample, sample) if isinstance(sample, str) else sample
            r = await client.patch(f"/v1/{resource}/{target}", json={field: value}, headers=h)
            assert r.status_code == 200, (resource, field, r.text)
            got = (await client.get(f"/v1/{resource}/{target}", headers=h)).json()
            assert got[field] == value, (resource, field, got[field])
    # an assignment's change ends it and starts a successor: the successor holds the value
    current = owned["assignment"]["id"]
    for field, sample in SAMPLES["assignments"].items():
        value = refs.get(sample, sample) if isinstance(sample, str) else sample
        r = await client.patch(f"/v1/assignments/{current}", json={field: value}, headers=h)
        assert r.status_code == 200, (field, r.text)
        current = r.json()["id"]
        got = (await client.get(f"/v1/assignments/{current}", headers=h)).json()
        assert got[field] == value, (field, got[field])


async def test_a_reps_own_capacity_changes_what_the_team_carries(client, tenant):
    h = tenant.headers
    rep = await f.rep(client, h, ramp_status="ramped")
    before = (await client.get("/v1/capacity", headers=h)).json()["available"]
    await client.patch(f"/v1/reps/{rep['id']}", json={"capacity": 100.0}, headers=h)
    after = (await client.get("/v1/capacity", headers=h)).json()["available"]
    assert after == before - 390.0 + 100.0  # the ramped default (390 hours a quarter) replaced
