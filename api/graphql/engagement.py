"""Rules of engagement: the policy in force or a saved version; save a new one (admin scope)."""

from __future__ import annotations

import re
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql.common import ExpectedVersion, attempt, call, expected, output_type, result, to_model
from api.services import dry_run
from api.services import engagement as service
from domain.engagement import ClaimKind, RuleKind, TieKey

strawberry.enum(RuleKind, name="EngagementRuleKind")
strawberry.enum(TieKey, name="EngagementTieKey")
strawberry.enum(ClaimKind, name="ClaimKind")
EngagementRule = output_type(service.RuleRead, "EngagementRule")
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _policy_input(policy: Any) -> Any:
    """The policy as this schema reads it, sent back: field names in camelCase (minTouches) and the
    rule kinds and tiebreak keys as its enums name them (MOST_TOUCHES) are taken as the REST body's
    snake_case names and values. Codes and role names are left as they are; anything else is checked
    by the body's model as for REST."""
    if not isinstance(policy, dict):
        return policy
    out = {_CAMEL.sub(r"_\1", k).lower(): v for k, v in policy.items()}
    if isinstance(out.get("tiebreak"), list):
        out["tiebreak"] = [_enum_value(TieKey, v) for v in out["tiebreak"]]
    if isinstance(out.get("rules"), list):
        out["rules"] = [
            {
                **{_CAMEL.sub(r"_\1", k).lower(): v for k, v in rule.items()},
                **({"kind": _enum_value(RuleKind, rule["kind"])} if "kind" in rule else {}),
            }
            if isinstance(rule, dict)
            else rule
            for rule in out["rules"]
        ]
    return out


def _enum_value(enum: Any, value: Any) -> Any:
    """An enum's member name (as GraphQL shows it) as its value; anything else as it is."""
    member = enum.__members__.get(value) if isinstance(value, str) else None
    return member.value if member is not None else value


EngagementPolicy = output_type(service.PolicyRead, "EngagementPolicy")
EngagementPolicyResult = result(EngagementPolicy, "EngagementPolicyResult")
EngagementRuling = output_type(dry_run.RulingRead, "EngagementRuling")
DisputeRulingChange = output_type(dry_run.DisputeRulingChangeRead, "DisputeRulingChange")
DryRunDisputes = output_type(dry_run.DryRunDisputesRead, "DryRunDisputes")
DryRunPlacement = output_type(dry_run.PlacementRead, "DryRunPlacement")
OwnerChange = output_type(dry_run.OwnerChangeRead, "OwnerChange")
DryRunOwners = output_type(dry_run.DryRunOwnersRead, "DryRunOwners")
PolicyDryRun = output_type(dry_run.PolicyDryRunRead, "PolicyDryRun")
PolicyDryRunResult = result(PolicyDryRun, "PolicyDryRunResult")


@strawberry.type
class Query:
    @strawberry.field(
        description="The rules of engagement in force, or the saved `version` (0: the defaults), in order"
    )
    async def engagement_policy(self, info: Info, version: int | None = None) -> EngagementPolicy:  # type: ignore[valid-type]
        c = info.context
        if version is None:
            return await call(service.get_policy(c.ctx, c.principal))
        return await call(service.get_policy_version(c.ctx, c.principal, version))

    @strawberry.field(
        description="What a proposed policy (as replaceEngagementPolicy takes it) would "
        "decide differently, before it is saved: the open disputes whose ruling would change and the "
        "active plan's owners assigning by rules would change (admin scope; nothing is saved)"
    )
    async def dry_run_engagement_policy(self, info: Info, policy: JSON) -> PolicyDryRunResult:  # type: ignore[valid-type]
        c = info.context

        async def run() -> Any:  # validated inside attempt(): a bad policy is a Problem
            body = to_model(_policy_input(policy), service.PolicyWrite)
            return await dry_run.dry_run_policy(c.ctx, c.principal, body)

        return await attempt(run(), schema_names=False)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Save a new version of the rules of engagement (admin scope): the fields of REST's "
        "PUT /v1/engagement/policy body, in its spelling or in this schema's (minTouches, MOST_TOUCHES: "
        "the policy as engagementPolicy reads it can be sent back); what is not given takes the default"
    )
    async def replace_engagement_policy(
        self,
        info: Info,
        policy: JSON,  # type: ignore[valid-type]
        expected_version: ExpectedVersion = None,
    ) -> EngagementPolicyResult:  # type: ignore[valid-type]
        c = info.context

        async def change() -> Any:  # validated inside attempt(): a bad policy is a Problem
            body = to_model(_policy_input(policy), service.PolicyWrite)
            return await service.replace_policy(c.ctx, c.principal, body, expected(expected_version))

        return await attempt(change(), schema_names=False)
