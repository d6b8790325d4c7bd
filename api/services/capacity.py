"""Capacity before territory: the coverage model's hours against the team's, and headcount."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.services.context import AppContext, Principal, tenant_settings
from domain.capacity import capacity_plan, headcount_plan
from domain.errors import Code, FieldError, ValidationFailed
from domain.model import (
    Scope,
)


class CoverageNeedRead(BaseModel):
    segment: str | None
    tier: int
    accounts: int
    touches_per_quarter: float = Field(description="the tier's outreach + the segment's visits a quarter")
    hours: float = Field(description="hours a quarter; 0 for tiers covered reactively")
    load: float = Field(description="in `unit`: the hours, or the accounts that need proactive coverage")
    proactive: bool


class TeamSizeRead(BaseModel):
    segment: str
    accounts: int
    accounts_per_rep: list[int] = Field(description="the coverage model's account-to-rep ratio")
    reps: list[int] = Field(description="reps it calls for, at the ratio's high end and at its low end")


class ChoiceRead(BaseModel):
    kind: Literal["hire", "raise_threshold", "accept_gap"]
    summary: str
    figures: dict[str, float | int | None]


class HeadcountRead(BaseModel):
    reps_at_full_productivity: float
    existing_capacity: float = Field(description="ramped-rep equivalents after expected attrition")
    new_hire_productivity: float = Field(description="a new hire's first-year share of a ramped rep")
    hires: int
    explanation: str


class CapacityRead(BaseModel):
    scored_accounts: int
    active_reps: int
    unit: str = Field(description="hours (a quarter) or accounts: settings capacity.unit")
    needs: list[CoverageNeedRead]
    needed: float = Field(description="what the proactive accounts ask for, in `unit`")
    available: float = Field(
        description="what the active reps can carry, in `unit` (a rep's own capacity, else its ramp default)"
    )
    shortfall: float
    hours_needed: float = Field(description="the proactive accounts' hours a quarter, whatever the unit")
    choices: list[ChoiceRead] = Field(description="empty when the team can carry the book")
    team_size: list[TeamSizeRead] = Field(description="the team the account-to-rep ratios call for")
    headcount: HeadcountRead | None = None


async def capacity_report(
    ctx: AppContext, p: Principal, target_revenue: float | None, quota_per_rep: float | None
) -> CapacityRead:
    """From the last scoring run's tiers and the active reps; headcount when a revenue target is given."""
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        settings = await tenant_settings(uow)
        accounts, reps = await uow.capacity.inputs()
    plan = capacity_plan(accounts, reps, settings)
    answer: dict[str, Any] = {
        "scored_accounts": len(accounts),
        "active_reps": len(reps),
        **dataclasses.asdict(plan),
        "headcount": None,
    }
    if target_revenue is not None:
        if not quota_per_rep:
            raise ValidationFailed(
                "headcount needs a quota per rep",
                [FieldError("quota_per_rep", Code.REQUIRED, "give quota_per_rep with target_revenue")],
            )
        answer["headcount"] = dataclasses.asdict(
            headcount_plan(target_revenue, quota_per_rep, [ramp for ramp, _ in reps], settings.capacity)
        )
    return CapacityRead.model_validate(answer)
