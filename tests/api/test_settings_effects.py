"""Every setting does something: for each key of the tenant settings, a change of that key alone (to a
valid value) changes some answer of the API on a book that exercises it. A key whose change no answer
shows is either dead (remove it) or untested (give the book the case). The settings answer itself, which
echoes every key, is not one of the answers looked at."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.defaults import DEFAULTS
from tests import factories as f
from tests.fakes import FixedClock

# a change to a valid value, where doubling or flipping would not be valid or would show nothing
CHANGES: dict[str, Any] = {
    "tiers.tier1_share": 0.1,
    "tiers.tier2_share": 0.1,
    "tiers.tier1_min_potential": None,  # set together below: one threshold without the other is refused
    "tiers.tier2_min_potential": None,
    "scoring.scale_min": 2,
    "scoring.scale_max": 9,
    "scoring.current_revenue": 4.0,
    "scoring.firmographic_fit": 1.0,
    "scoring.intent": 1.0,
    "scoring.relationship": 1.0,
    "scoring.competitive": 1.0,
    "scoring_bands.signal_max": 50.0,
    "scoring_bands.icp_fit_min_score": 4.0,
    "coverage_model.proactive_max_tier": 1,
    "coverage_model.tier1_touches": [2, 4],
    "coverage_model.tier2_touches": [1, 2],
    "coverage_model.tier3_touches": [6, 8],
    "capacity.ramp_productivity": [0.3, 0.6],
    "capacity.ramp_quarters": 3,
    "capacity.unit": "accounts",
    "coverage.meaningful_kinds": ["meeting", "visit"],
    "coverage.meeting_kinds": ["visit"],
    "coverage.partner_tags": ["vip"],
    "coverage.tier1_sequence_kinds": [],
    "coverage.expansion_managed_days": 1,
    "coverage.path_window_days": 1,
    "coverage.path_relationship_min": 10.0,
    "coverage.path_executive_min_potential": 1.0,
    "coverage.path_marketing_min_intent": 10.0,
    "coverage.tier1_target": 0.5,
    "coverage.tier2_target": 0.3,
    "equity.quota_share_of_potential": [0.5, 0.6],
    "equity.expertise_industries": ["Healthcare"],
    "equity.quota_period": "quarterly",
    "win_rates.default_win_rate": 0.5,
    "win_rates.min_closed_opportunities": 2,
    "potential.horizon_years": 2,
    "potential.max_growth_rate": 0.1,
    "reviews.cadence": "monthly",
    "reviews.fiscal_year_start_month": 4,
    # a dispute opened on Monday 2026-12-21 (the deadline probe's clock) is due on Monday 28 by default
    "calendar.country": "US",  # Christmas Day is skipped: Tuesday 29
    "calendar.subdivision": "TX",  # with the US: Christmas Eve too
    "calendar.holidays": ["2026-12-22"],
    "calendar.weekend": ["sunday"],
}
TOGETHER = {
    "tiers.tier1_min_potential": {"tier1_min_potential": 400_000.0, "tier2_min_potential": 100_000.0},
    "tiers.tier2_min_potential": {"tier1_min_potential": 900_000.0, "tier2_min_potential": 30_000.0},
}
# keys that only matter beside another setting: looked at against a baseline with that setting too
CONTEXT: dict[str, dict[str, dict[str, Any]]] = {
    "scoring_bands.company_revenue": {"scoring": {"firmographic_fit": 1.0}},
    **{
        f"capacity.{key}": {"capacity": {"unit": "accounts"}}
        for key in ("new_hire_accounts", "ramping_accounts", "ramped_accounts", "senior_strategic_accounts")
    },
    "calendar.subdivision": {"calendar": {"country": "US"}},
}
VOLATILE = {
    "seconds",
    "locked_seconds",
    "as_of",
    "computed_at",
    "settings_version",  # every change of the settings moves it: it shows nothing of the key itself
    "settingsVersion",
    "created_at",
    "updated_at",
    "plan_id",
    "id",
    "version",
    "since",
    "until",
    "from_territory_id",  # a proposal's moves name the territories of its own new draft
    "to_territory_id",
}


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value * 2
    if isinstance(value, float):
        return value * 2
    if isinstance(value, tuple) and value and isinstance(value[0], int | float):
        return [v * 2 for v in value] if len(value) == 2 else [v / 2 for v in value]
    raise AssertionError(f"no generic change for {value!r}")


def _keys() -> list[tuple[str, str, Any]]:
    out = []
    for section in dataclasses.fields(DEFAULTS):
        for key in dataclasses.fields(getattr(DEFAULTS, section.name)):
            path = f"{section.name}.{key.name}"
            value = (
                CHANGES[path]
                if path in CHANGES
                else _changed(getattr(getattr(DEFAULTS, section.name), key.name))
            )
            out.append((section.name, key.name, value))
    return out


def _stable(value: Any) -> Any:
    """An answer without what changes from call to call (ids of new drafts, clocks, versions)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


async def _book(client, headers) -> dict[str, Any]:
    """A book that every setting can show in: segments, signals, growth, partners, activities inside and
    outside every window, won and lost deals, reps at each ramp, two territories, owners that moved."""
    now = datetime.now(UTC)
    accounts = []
    for i in range(24):
        accounts.append(
            {
                "external_id": f"S{i}",
                "name": f"Account {i}",
                "annual_revenue": [600_000.0, 4_000_000.0, 30_000_000.0][i % 3],
                "employees": [40, 400, 4_000][i % 3],
                "current_arr": [8_000.0, 40_000.0, 90_000.0, 150_000.0, 300_000.0, 700_000.0, 1_200_000.0][
                    i % 7
                ],
                "growth_rate": [0.02, 0.12, 0.25, 0.45, 0.8][i % 5],
                "whitespace_units": i % 4,
                "engagement": (i * 13) % 100,
                "intent": (i * 29) % 100,
                "relationship": (i * 37) % 100,
                "competitive": (i * 17) % 100,
                "industry": ["Healthcare", "Retail", "Software"][i % 3],
                "region": "east" if i % 2 else "west",
                "tags": ["partner"] if i % 5 == 0 else (["vip"] if i % 7 == 0 else []),
                "stage": ["cold", "prospected", "customer", "pipeline"][i % 4],
                **({"expansion_estimate": 75_000.0 * (i // 6 + 1)} if i % 6 == 0 else {}),
                # a subsidiary in the west whose parent is in the east: a family split across territories
                **({"parent_external_id": f"S{i + 1}"} if i in (2, 10) else {}),
            }
        )
    await f.imported(client, headers, accounts)
    reps = [
        {
            "external_id": "R0",
            "name": "Sarah Chen",
            "email": "sarah@example.com",
            "ramp_status": "ramped",
            "quota": 2_000_000.0,
            "expertise": ["Healthcare"],
        },
        {
            "external_id": "R1",
            "name": "James Park",
            "email": "james@example.com",
            "ramp_status": "ramping",
            "quota": 900_000.0,
        },
        {
            "external_id": "R2",
            "name": "Nia Okafor",
            "email": "nia@example.com",
            "ramp_status": "new_hire",
            "quota": 400_000.0,
        },
        {
            "external_id": "R3",
            "name": "Ola Berg",
            "email": "ola@example.com",
            "ramp_status": "senior",
            "quota": 3_000_000.0,
        },
    ]
    await f.imported(client, headers, reps, kind="reps")
    kinds = ["call", "meeting", "visit", "video", "email", "social"]
    activities = []
    for i in range(24):
        for j, days in enumerate((1, 10, 25, 40, 60, 100, 150, 400)):
            if (i + j) % 3 == 0:
                continue
            activities.append(
                {
                    "external_id": f"A{i}-{j}",
                    "account_external_id": f"S{i}",
                    "rep_external_id": f"R{(i + j) % 4}",
                    "occurred_at": (now - timedelta(days=days)).isoformat(),
                    "kind": kinds[(i + j) % len(kinds)],
                    **({"next_step": "send the proposal"} if (i + j) % 2 else {}),
                    **({"contact": "Dana Lee"} if (i + j) % 4 else {}),
                    "direction": "inbound" if (i + j) % 5 == 0 else "outbound",
                    **({"path": "partner"} if (i + j) % 6 == 0 else {}),
                }
            )
        activities.append(  # planned meetings, 5 and 20 days ahead
            {
                "external_id": f"P{i}",
                "account_external_id": f"S{i}",
                "rep_external_id": f"R{i % 4}",
                "occurred_at": (now + timedelta(days=5 if i % 2 else 20)).isoformat(),
                "kind": "meeting",
            }
        )
    await f.imported(client, headers, activities, kind="activities")
    deals = [
        {
            "external_id": f"O{i}",
            "account_external_id": f"S{i % 24}",
            "rep_external_id": f"R{i % 4}",
            "amount": 10_000.0 * (i + 1),
            "status": ["won", "lost", "open"][i % 3],
            "created_on": (now - timedelta(days=30 + i)).date().isoformat(),
            **({"closed_on": (now - timedelta(days=i)).date().isoformat()} if i % 3 != 2 else {}),
        }
        for i in range(30)
    ]
    await f.imported(client, headers, deals, kind="opportunities")
    plan = await f.plan(client, headers)
    rep_ids = {
        r["external_id"]: r["id"] for r in (await client.get("/v1/reps", headers=headers)).json()["items"]
    }
    for name, region, rep, quota in (
        ("East", "east", "R0", 1_500_000.0),
        ("West", "west", "R1", 1_350_000.0),
    ):
        await f.create(
            client,
            headers,
            "territories",
            plan_id=plan["id"],
            name=name,
            boundary={"rules": [{"field": "region", "op": "eq", "value": region}]},
            primary_rep_id=rep_ids[rep],
            quota=quota,  # 11% apart: "watch", and "fine" with a wider fine band
        )
    assigned = await client.post(f"/v1/plans/{plan['id']}/assign-by-rules", headers=headers)
    assert assigned.status_code == 200, assigned.text
    assert (await client.post(f"/v1/plans/{plan['id']}/activate", headers=headers)).status_code == 200
    owned = (await client.get(f"/v1/assignments?plan_id={plan['id']}&page_size=500", headers=headers)).json()
    for k, asg in enumerate(owned["items"][:6]):  # some accounts change hands: a movement rate
        new_rep = rep_ids[["R2", "R3"][k % 2]]
        r = await client.patch(f"/v1/assignments/{asg['id']}", json={"rep_id": new_rep}, headers=headers)
        assert r.status_code == 200, r.text
    segmented = [await f.account(client, headers, external_id=f"SEG{k}") for k in range(len(SEGMENTED))]
    tomorrow = (now + timedelta(days=1)).date()
    years = (f"{tomorrow - timedelta(days=1500)}T00:00:00Z", f"{tomorrow}T00:00:00Z")  # a fixed window
    return {"plan": plan, "reps": rep_ids, "segmented": segmented, "years": years}


# (annual revenue, employees): each one threshold away from the next segment
SEGMENTED = [(None, 150), (None, 1_500), (1_500_000.0, None), (15_000_000.0, None)]


SCORES = """{ accounts(first: 500) { nodes { externalId score {
  score confidence potential winProbability expansionEstimate expansionDerived potentialBasis tier icpFit
  factors { factor value weight contribution } missingFields matrix { revenueBand growth repType strategy }
} } } }"""


def _probes(client, headers, book) -> list[tuple[str, Any]]:
    """The answers looked at, cheapest and most telling first, each a coroutine factory; a scoring run
    comes first, so every later answer reads the scores the settings make."""
    plan_id, rep = book["plan"]["id"], book["reps"]["R0"]
    seg = book["segmented"][0]
    since, until = book["years"]

    def get(path: str) -> Any:
        async def read() -> Any:
            r = await client.get(path, headers=headers)
            assert r.status_code == 200, (path, r.text)
            return r.json()

        return read

    async def scoring() -> Any:
        run = await client.post("/v1/scoring/run", headers=headers)
        assert run.status_code == 200, run.text
        return run.json()

    async def scores() -> Any:
        return (await client.post("/graphql", json={"query": SCORES}, headers=headers)).json()

    async def segment() -> Any:  # the same changes each time: the accounts' segments by the settings
        found = []
        for account, (revenue, employees) in zip(book["segmented"], SEGMENTED, strict=True):
            body = {"annual_revenue": revenue, "employees": employees}
            versioned = {**headers, "If-Match": "*"}
            r = await client.patch(f"/v1/accounts/{account['id']}", json=body, headers=versioned)
            # the derived segment: the pending change's while it waits for the review, else the account's
            q = f"/v1/segment-changes?state=pending&account_id={account['id']}"
            waiting = (await client.get(q, headers=headers)).json()["items"]
            found.append(waiting[0]["to_segment"] if waiting else r.json()["segment"])
        return found

    async def unversioned_write() -> Any:
        r = await client.patch(f"/v1/accounts/{seg['id']}", json={"industry": "Software"}, headers=headers)
        return r.status_code

    async def deadline() -> Any:  # a claim opened on Monday 2026-12-21, then withdrawn
        ctx, clock = book["ctx"], book["ctx"].clock
        ctx.clock = FixedClock(datetime(2026, 12, 21, 9, tzinfo=UTC))
        try:
            claim = {"account_id": seg["id"], "claimant_rep_id": book["reps"]["R1"], "basis": "other"}
            r = await client.post("/v1/disputes", json=claim, headers=headers)
            assert r.status_code == 201, r.text
            withdrawn = await client.post(f"/v1/disputes/{r.json()['id']}/withdraw", headers=headers)
            assert withdrawn.status_code == 200, withdrawn.text
        finally:
            ctx.clock = clock
        return {k: r.json()[k] for k in ("due_on", "deadline")}

    async def rebalance() -> Any:
        proposal = (await client.post(f"/v1/plans/{plan_id}/rebalance-proposals", headers=headers)).json()
        return {k: proposal.get(k) for k in ("moves", "infeasible", "violations", "weighted_moves")}

    return [
        ("scoring", scoring),
        ("scores", scores),
        ("segment", segment),
        ("unversioned write", unversioned_write),
        ("dispute deadline", deadline),
        ("capacity", get("/v1/capacity?target_revenue=6000000&quota_per_rep=1000000")),
        ("equity", get(f"/v1/plans/{plan_id}/equity")),
        ("movement", get("/v1/reports/movement")),
        ("movement over years", get(f"/v1/reports/movement?since={since}&until={until}")),
        ("coverage", get("/v1/coverage")),
        ("coverage accounts", get("/v1/coverage/accounts?page_size=500")),
        ("overlaps", get("/v1/coverage/overlaps")),
        ("whitespace", get("/v1/coverage/whitespace")),
        ("weekly metrics", get("/v1/reports/weekly-metrics")),
        ("rep review", get(f"/v1/reps/{rep}/review")),
        ("territory plan", get("/v1/reports/territory-plan")),
        ("coverage review", get("/v1/reports/coverage-review")),
        ("quarterly review", get("/v1/reports/quarterly-review")),
        ("rebalance", rebalance),
    ]


async def _answers(client, headers, book) -> dict[str, Any]:
    return {name: _stable(await probe()) for name, probe in _probes(client, headers, book)}


# the probes that write: always first and in this order, so each answer after them reads what the
# settings under test make, never what an earlier key's run left (its scores, its accounts' segments)
WRITERS = ("scoring", "scores", "segment", "unversioned write", "dispute deadline")


async def _shows(client, headers, book, baseline: dict[str, Any], hint: str | None) -> str | None:
    """The first answer that differs from the baseline, or None: the writers first, then the answer that
    showed the key before (a section's keys mostly show in the same one), then the others in order."""
    probes = dict(_probes(client, headers, book))
    order = [*WRITERS, *([hint] if hint and hint not in WRITERS else [])]
    order += [name for name in probes if name not in order]
    for name in order:
        if _stable(await probes[name]()) != baseline[name]:
            return name
    return None


async def test_every_setting_changes_some_answer(app, client, tenant):
    headers = tenant.headers
    book = await _book(client, headers) | {"ctx": app.state.ctx}
    await _answers(client, headers, book)  # the probes' own writes settle (the segmented accounts)
    baseline = await _answers(client, headers, book)
    assert await _answers(client, headers, book) == baseline  # the answers are stable under one setting
    baselines: dict[str, dict[str, Any]] = {}
    for context in CONTEXT.values():
        key = repr(context)
        if key not in baselines:
            assert (
                await client.put("/v1/settings", json={"overrides": context}, headers=headers)
            ).status_code == 200
            baselines[key] = await _answers(client, headers, book)
    dead, hint = [], None
    for section, key, value in _keys():
        context = CONTEXT.get(f"{section}.{key}", {})
        change = TOGETHER.get(f"{section}.{key}", {key: value})
        overrides = {**context, section: {**context.get(section, {}), **change}}
        r = await client.put("/v1/settings", json={"overrides": overrides}, headers=headers)
        assert r.status_code == 200, (section, key, r.text)
        shown = await _shows(client, headers, book, baselines[repr(context)] if context else baseline, hint)
        back = await client.put("/v1/settings", json={"overrides": {}}, headers={**headers, "If-Match": "*"})
        assert back.status_code == 200
        if shown is None:
            dead.append(f"{section}.{key}")
        hint = shown or hint
    assert dead == [], f"settings whose change no answer shows: {dead}"
