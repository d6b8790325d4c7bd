"""Deterministic demo tenant shaped like the territory plan example: 20 enterprise and 500 SMB accounts in
East and West."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from api.services.context import AppContext, Principal
from api.services.imports import import_records
from api.services.scoring import score_book
from domain.boundaries import describe_boundary as _describe
from domain.changes import Change, ChangeKind, owner_changes, owners_of
from domain.model import Assignment, AssignmentReason, Plan, PlanState, Role, Territory, TerritoryType
from persistence.keys import create_key, key_is_live
from persistence.tenants import create_tenant, find_tenant

ENT_NAMES = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne"]
SMB_WORDS = (
    ["North", "Blue", "Bright", "Summit", "River", "Pine"],
    ["Labs", "Works", "Co", "Group", "Systems"],
)
INDUSTRIES = ["software", "healthcare", "manufacturing", "retail", "financial services", "logistics"]
FIRST = ["Sarah", "James", "Maria", "Wei", "Priya", "Tom", "Aisha", "Lucas", "Nina", "Omar"]
LAST = ["Chen", "Okafor", "Garcia", "Novak", "Patel", "Berg", "Khan", "Silva", "Ito", "Haddad"]
RAMPS = [
    "senior",
    "ramped",
    "ramped",
    "ramped",
    "ramping",
    "ramping",
    "new_hire",
    "ramped",
    "senior",
    "new_hire",
]


def _postal(rng: random.Random, region: str) -> str:
    return str(rng.randint(10000, 49999) if region == "East" else rng.randint(80000, 99999))


# postal ranges of the demo regions, each cut into five territories of equal width
POSTAL = {"East": (10000, 49999), "West": (80000, 99999)}


def _slice(region: str, postal: str) -> int:
    low, high = POSTAL[region]
    return (int(postal) - low) * 5 // (high - low + 1)


def _boundary(region: str, k: int) -> dict[str, Any]:
    low, high = POSTAL[region]
    width = (high - low + 1) // 5
    postal = [str(low + k * width), str(low + (k + 1) * width - 1)]
    return {
        "rules": [
            {"field": "region", "op": "eq", "value": region},
            {"field": "postal_code", "op": "between", "value": postal},
        ]
    }


def demo_rows(seed: int = 3) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    accounts = []
    # East holds most enterprise accounts ("East had 5 enterprise accounts; West had 2").
    for i in range(20):
        region = "East" if i < 14 else "West"
        accounts.append(
            {
                "external_id": f"ENT-{i + 1:03d}",
                "name": f"{rng.choice(ENT_NAMES)} {region} {i + 1}",
                "industry": rng.choice(INDUSTRIES),
                "country": "US",
                "region": region,
                "postal_code": _postal(rng, region),
                "employees": rng.randint(1500, 40000),
                "annual_revenue": float(rng.randint(20, 900) * 1_000_000),
                "current_arr": float(rng.randint(500, 1500) * 1000),
                "expansion_estimate": float(rng.randint(100, 800) * 1000),
                "growth_rate": round(rng.uniform(0.0, 0.4), 2),
                "strategic": rng.random() < 0.3,
                "churn_risk": rng.choice(["low", "low", "medium", "high"]),
                "stage": "customer",
                "intent": rng.randint(10, 95),
                "engagement": rng.randint(10, 95),
                "tags": ["enterprise"],
            }
        )
    for i in range(500):
        region = "East" if rng.random() < 0.5 else "West"
        stage = rng.choice(
            ["cold", "cold", "prospected", "pipeline", "active_deal", "customer", "customer", "lapsed"]
        )
        accounts.append(
            {
                "external_id": f"SMB-{i + 1:04d}",
                "name": f"{rng.choice(SMB_WORDS[0])} {rng.choice(SMB_WORDS[1])} {i + 1}",
                "industry": rng.choice(INDUSTRIES),
                "country": "US",
                "region": region,
                "postal_code": _postal(rng, region),
                "employees": rng.randint(5, 90),
                "annual_revenue": float(rng.randint(100, 990) * 1000),
                "current_arr": float(rng.randint(0, 20) * 1000) if stage == "customer" else 0.0,
                "expansion_estimate": float(rng.randint(2, 30) * 1000),
                "growth_rate": round(rng.uniform(-0.05, 0.5), 2),
                "stage": stage,
                "intent": rng.randint(0, 100),
                "engagement": rng.randint(0, 100),
            }
        )
    # Two subsidiaries under enterprise parents.
    accounts[20]["parent_external_id"] = "ENT-001"
    accounts[21]["parent_external_id"] = "ENT-002"
    reps = [
        {
            "external_id": f"REP-{i + 1:02d}",
            "name": f"{FIRST[i]} {LAST[i]}",
            "email": f"{FIRST[i].lower()}.{LAST[i].lower()}@example.com",
            "role": "AE",
            "ramp_status": RAMPS[i],
            "home_region": "East" if i < 5 else "West",
            "start_date": str(date(2020 + i % 6, 1 + i, 1)),
            "quota": 1_000_000.0,
            "expertise": [INDUSTRIES[i % len(INDUSTRIES)]],
        }
        for i in range(10)
    ]
    base = datetime(2026, 11, 1, tzinfo=UTC)
    activities = []
    for i in range(400):
        acct = rng.choice(accounts)
        rep = reps[(0 if acct["region"] == "East" else 5) + rng.randrange(5)]
        activities.append(
            {
                "external_id": f"ACT-{i + 1:05d}",
                "account_external_id": acct["external_id"],
                "rep_external_id": rep["external_id"],
                "occurred_at": (
                    base - timedelta(days=rng.randint(0, 150), hours=rng.randint(0, 23))
                ).isoformat(),
                "kind": rng.choice(["email", "call", "meeting", "visit", "video", "social"]),
                "next_step": rng.choice([None, "send proposal", "book demo", "exec sponsor call"]),
                "contact": rng.choice([None, "CFO", "VP Sales", "Head of Ops"]),
            }
        )
    opportunities = []
    for i in range(150):
        acct = rng.choice(accounts)
        status = rng.choice(["open", "open", "won", "lost"])
        created = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
        opportunities.append(
            {
                "external_id": f"OPP-{i + 1:05d}",
                "account_external_id": acct["external_id"],
                "rep_external_id": reps[(0 if acct["region"] == "East" else 5) + rng.randrange(5)][
                    "external_id"
                ],
                "amount": float(rng.randint(5, 600) * 1000),
                "status": status,
                "stage": "negotiation" if status == "open" else None,
                "created_on": str(created),
                "closed_on": None if status == "open" else str(created + timedelta(days=rng.randint(10, 90))),
            }
        )
    return {"accounts": accounts, "reps": reps, "activities": activities, "opportunities": opportunities}


async def ensure_demo(
    ctx: AppContext, name: str = "demo", seed: int = 3, key_file: Path | None = None
) -> tuple[uuid.UUID, str, bool]:
    """Create the demo tenant if absent, scored and with its coverage facts, so every account answers at
    once; answer (tenant id, its admin key, created?). With `key_file`, the key kept there is reused while
    it is a live key of the tenant, so restarting the demo neither adds keys nor changes the printed one."""
    tenant_id = await find_tenant(ctx.engine, name)
    created = tenant_id is None
    if tenant_id is None:
        tenant_id = await create_tenant(ctx.engine, name)
        p = Principal(tenant_id, frozenset({"admin"}))
        rows = demo_rows(seed)
        for kind in ("accounts", "reps", "activities", "opportunities"):
            await import_records(ctx, p, kind, rows[kind])  # activities and opportunities: coverage facts
        await _demo_plan(ctx, tenant_id, rows)
        await score_book(ctx, p)
    kept = _read_key(key_file)
    if kept and not created and await key_is_live(ctx.engine, tenant_id, kept):
        return tenant_id, kept, created
    _, key = await create_key(ctx.engine, tenant_id, ["read", "write", "admin"], name="demo")
    if key_file is not None:
        _write_key(key_file, key)
    return tenant_id, key, created


def _write_key(key_file: Path, key: str) -> None:
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)


def _read_key(key_file: Path | None) -> str | None:
    if key_file is None or not key_file.is_file():
        return None
    return key_file.read_text().strip() or None


async def _demo_plan(ctx: AppContext, tenant_id: uuid.UUID, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Ten geographic territories, one rep each, accounts split by region and postal code."""
    now = datetime.now(UTC)
    async with ctx.uow(tenant_id) as uow:
        plan = await uow.plans.add(
            Plan(uuid.uuid4(), tenant_id, "FY27 geographic", PlanState.ACTIVE, activated_at=now)
        )
        reps = {r.external_id: r for r in await uow.reps.list({}, None, 100)}
        territories = {}
        for i, rep_ext in enumerate(sorted(reps)):
            region = "East" if i < 5 else "West"
            territories[(region, i % 5)] = await uow.territories.add(
                Territory(
                    uuid.uuid4(),
                    tenant_id,
                    plan.id,
                    f"{region} {i % 5 + 1}",
                    TerritoryType.GEOGRAPHIC,
                    boundary=_boundary(region, i % 5),
                    primary_rep_id=reps[rep_ext].id,
                    quota=1_000_000.0,
                )
            )
        accounts = await uow.accounts.list({}, None, 10_000)
        added = []
        for account in sorted(accounts, key=lambda a: a.external_id):
            territory = territories[(account.region, _slice(account.region, account.postal_code))]
            rule = f"boundary of {territory.name}: {_describe(territory.boundary)}"
            added.append(
                await uow.assignments.add(
                    Assignment(
                        uuid.uuid4(),
                        tenant_id,
                        plan.id,
                        account.id,
                        territory.primary_rep_id,
                        Role.AE,
                        territory.id,
                        locked=account.stage == "active_deal",
                        reason=AssignmentReason.RULE,
                        note=rule,
                        valid_from=now,
                    )
                )
            )
        activated = Change(ChangeKind.PLAN, plan.id, now, plan_id=plan.id, cause="activation")
        uow.record(activated, *owner_changes({}, owners_of(added), plan.id, now))
        await uow.commit()
