"""Coverage tracking (docs/domain.md, "Coverage").

An account is covered only when it had a meaningful touch in the coverage window, has a documented next
step, and has an active contact (docs/domain.md, "Coverage"). Assigned is not covered.

Facts are what an account's activities and open pipeline say, independent of settings and of the clock
(a timestamp per activity kind, not a count in a window), so they can be kept current on ingest and
judged at report time under any settings. Each rule here is a predicate (`domain.criteria`): the same
definition decides one account in Python and a million in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from domain.criteria import Cond, Not, Pred, all_of, any_of, evaluate
from domain.defaults import CoverageRules
from domain.model import ActivityDirection, ActivityKind, ActivityPath, RepRole, Role, Stage

KINDS: tuple[str, ...] = tuple(k.value for k in ActivityKind)
PARTNER_PATHS = (ActivityPath.PARTNER.value, ActivityPath.REFERRAL.value)
# paths whose latest activity is a fact of its own (partner and referral share `last_partner_at`)
PATH_KINDS: tuple[str, ...] = (
    ActivityPath.MARKETING.value,
    ActivityPath.EXECUTIVE.value,
    ActivityPath.EVENT.value,
    ActivityPath.RELATIONSHIP.value,
)
FACT_FIELDS: tuple[str, ...] = (
    *(f"last_{k}_at" for k in KINDS),  # latest past activity of each kind
    *(f"next_{k}_at" for k in KINDS),  # earliest planned (future) activity of each kind
    "last_contact_at",  # latest past activity with a named contact
    "last_inbound_at",  # latest reply or inbound touch
    "last_partner_at",  # latest activity through a partner or referral path
    *(f"last_{p}_path_at" for p in PATH_KINDS),  # latest activity through each other path
    "last_activity_at",  # the latest past activity: it decides the next step
    "next_step",
    "open_pipeline",  # sum of open opportunities
    "open_opportunities",
)


class Activity(NamedTuple):
    occurred_at: datetime
    kind: str
    rep: Any = None
    next_step: str | None = None
    contact: str | None = None
    direction: str = ActivityDirection.OUTBOUND.value
    path: str | None = None


class RepTouch(NamedTuple):
    """One rep's past activities on one account: the latest and how many."""

    account_id: Any
    rep_id: Any
    last_touch_at: datetime
    touches: int


def empty_facts() -> dict[str, Any]:
    return dict.fromkeys(FACT_FIELDS) | {"open_pipeline": 0.0, "open_opportunities": 0}


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def add_activity(facts: dict[str, Any], a: Activity, now: datetime) -> dict[str, Any]:
    """Fold one activity into the facts as of `now` (in place; returns them). Order does not matter."""
    if a.occurred_at > now:  # planned, a meeting next week: not a touch yet
        key = f"next_{a.kind}_at"
        if facts[key] is None or a.occurred_at < facts[key]:
            facts[key] = a.occurred_at
        return facts
    key = f"last_{a.kind}_at"
    facts[key] = _later(facts[key], a.occurred_at)
    if a.contact:
        facts["last_contact_at"] = _later(facts["last_contact_at"], a.occurred_at)
    if a.direction == ActivityDirection.INBOUND:
        facts["last_inbound_at"] = _later(facts["last_inbound_at"], a.occurred_at)
    if a.path in PARTNER_PATHS:
        facts["last_partner_at"] = _later(facts["last_partner_at"], a.occurred_at)
    elif a.path in PATH_KINDS:
        key = f"last_{a.path}_path_at"
        facts[key] = _later(facts[key], a.occurred_at)
    # the latest activity decides the next step; at the same moment a documented one wins (the greatest
    # text, so the answer does not depend on the order activities arrive in)
    latest, step = facts["last_activity_at"], a.next_step or None
    if latest is None or a.occurred_at > latest:
        facts["last_activity_at"], facts["next_step"] = a.occurred_at, step
    elif a.occurred_at == latest and step and (not facts["next_step"] or step > facts["next_step"]):
        facts["next_step"] = step
    return facts


def add_opportunity(facts: dict[str, Any], amount: float, status: str) -> dict[str, Any]:
    if status == "open":
        facts["open_pipeline"] += amount
        facts["open_opportunities"] += 1
    return facts


def coverage_facts(
    activities: Iterable[Activity], now: datetime, opportunities: Iterable[tuple[float, str]] = ()
) -> dict[str, Any]:
    facts = empty_facts()
    for a in activities:
        add_activity(facts, a, now)
    for amount, status in opportunities:
        add_opportunity(facts, amount, status)
    return facts


def rep_touches(activities: Iterable[Activity], now: datetime) -> dict[Any, tuple[datetime, int]]:
    """Per rep: latest past touch and number of past touches (for overlap and 'touched by whom')."""
    out: dict[Any, tuple[datetime, int]] = {}
    for a in activities:
        if a.occurred_at <= now and a.rep is not None:
            last, n = out.get(a.rep, (a.occurred_at, 0))
            out[a.rep] = (max(last, a.occurred_at), n + 1)
    return out


def last_touch(facts: Mapping[str, Any], kinds: Iterable[str] = KINDS) -> datetime | None:
    return max((t for k in kinds if (t := facts.get(f"last_{k}_at")) is not None), default=None)


def next_planned(facts: Mapping[str, Any], kinds: Iterable[str] = KINDS) -> datetime | None:
    return min((t for k in kinds if (t := facts.get(f"next_{k}_at")) is not None), default=None)


def touched_since(since: datetime, kinds: Iterable[str] = KINDS) -> Pred:
    return any_of(*(Cond(f"last_{k}_at", "ge", since) for k in kinds))


RULE_CODES = ("no_meaningful_touch", "no_next_step", "no_active_contact")
REVIEW_LISTS = (
    "touched_recently",
    "prospected_not_contacted",
    "meetings_next_two_weeks",
    "dormant",
    "partner_path_unused",
    "whitespace",
    "drop_candidates",
    "at_risk",
    "expansion",
)


class Rule(NamedTuple):
    code: str
    message: str
    holds: Pred


def coverage_rules(rules: CoverageRules, now: datetime) -> tuple[Rule, ...]:
    """The three conditions of 'covered' (docs/domain.md, "Coverage"), each with the reason given when it
    fails."""
    days = rules.coverage_window_days
    since = now - timedelta(days=days)
    kinds = ", ".join(rules.meaningful_kinds)
    return (
        Rule(
            "no_meaningful_touch",
            f"no meaningful touch ({kinds}) in the last {days} days",
            touched_since(since, rules.meaningful_kinds),
        ),
        Rule("no_next_step", "no documented next step on the latest activity", Cond("next_step", "truthy")),
        Rule(
            "no_active_contact",
            f"no touch with a named contact in the last {days} days",
            Cond("last_contact_at", "ge", since),
        ),
    )


def covered(rules: CoverageRules, now: datetime) -> Pred:
    return all_of(*(r.holds for r in coverage_rules(rules, now)))


class Reason(NamedTuple):
    code: str
    message: str


@dataclass(frozen=True)
class CoverageStatus:
    covered: bool
    reasons: tuple[Reason, ...]  # why not, in the words of the rule


def coverage_status(facts: Mapping[str, Any], rules: CoverageRules, now: datetime) -> CoverageStatus:
    reasons = tuple(
        Reason(r.code, r.message) for r in coverage_rules(rules, now) if not evaluate(r.holds, facts)
    )
    return CoverageStatus(not reasons, reasons)


def tier_targets(rules: CoverageRules) -> dict[int, float]:
    return {1: rules.tier1_target, 2: rules.tier2_target}


@dataclass(frozen=True)
class CoverageRate:
    accounts: int
    covered: int
    rate: float | None
    target: float | None
    meets_target: bool | None  # None when there is no target (tier 3) or no account


def coverage_rate(accounts: int, covered_count: int, target: float | None) -> CoverageRate:
    rate = covered_count / accounts if accounts else None
    meets = None if target is None or rate is None else rate >= target
    return CoverageRate(accounts, covered_count, rate, target, meets)


def overlap_since(rules: CoverageRules, now: datetime) -> datetime:
    """Where the overlap window starts: two reps' touches since then make an overlap."""
    return now - timedelta(days=rules.overlap_window_days)


def overlaps(
    touches: Iterable[tuple[Any, str | None, datetime]], rules: CoverageRules, now: datetime
) -> dict[str | None, list[Any]]:
    """Roles with two or more reps touching the account in the overlap window (docs/domain.md, "Coverage"),
    reps sorted."""
    since = overlap_since(rules, now)
    by_role: dict[str | None, set[Any]] = {}
    for rep, role, last_at in touches:
        if rep is not None and since <= last_at <= now:
            by_role.setdefault(role, set()).add(rep)
    return {role: sorted(reps, key=str) for role, reps in by_role.items() if len(reps) >= 2}


def review_role(rep_role: RepRole) -> str:
    """The ownership role a rep's monthly review counts: the rep's own where it is an ownership role, AE
    otherwise (inside sales and managers own accounts as AEs)."""
    return rep_role.value if rep_role.value in {r.value for r in Role} else Role.AE.value


def whitespace() -> Pred:
    """ICP-fit accounts minus customers and accounts with open pipeline."""
    return all_of(
        Cond("icp_fit", "eq", True),
        Not(Cond("stage", "eq", Stage.CUSTOMER.value)),
        Not(Cond("open_opportunities", "gt", 0)),
    )


def review_lists(rules: CoverageRules, now: datetime) -> dict[str, Rule]:
    """The monthly review questions, each as a rule over an account row (account, score, facts).

    The `message` says why an account is on the list.
    """
    day = timedelta(days=1)
    review = now - rules.review_window_days * day
    window = now - rules.coverage_window_days * day
    dormant = now - rules.dormant_after_days * day
    soon = now + rules.meeting_lookahead_days * day
    touched_ever = any_of(*(Cond(f"last_{k}_at", "not_null") for k in KINDS))
    return {
        "touched_recently": Rule(
            "touched_recently",
            f"touched in the last {rules.review_window_days} days",
            touched_since(review),
        ),
        "prospected_not_contacted": Rule(
            "prospected_not_contacted",
            "prospected, but no touch has reached a named contact",
            all_of(Cond("stage", "eq", Stage.PROSPECTED.value), Not(Cond("last_contact_at", "not_null"))),
        ),
        "meetings_next_two_weeks": Rule(
            "meetings_next_two_weeks",
            f"a meeting is planned in the next {rules.meeting_lookahead_days} days",
            any_of(
                *(
                    all_of(Cond(f"next_{k}_at", "gt", now), Cond(f"next_{k}_at", "le", soon))
                    for k in rules.meeting_kinds
                )
            ),
        ),
        "dormant": Rule(
            "dormant",
            f"touched before, but not in the last {rules.dormant_after_days} days (or lapsed): "
            "needs a re-engagement plan",
            any_of(
                Cond("stage", "eq", Stage.LAPSED.value),
                all_of(touched_ever, Not(touched_since(dormant))),
            ),
        ),
        "partner_path_unused": Rule(
            "partner_path_unused",
            f"has a partner or referral path ({', '.join(rules.partner_tags)}) not used in the last "
            f"{rules.coverage_window_days} days",
            all_of(
                Cond("tags", "has_any", tuple(rules.partner_tags)),
                Not(Cond("last_partner_at", "ge", window)),
            ),
        ),
        "whitespace": Rule(
            "whitespace",
            "ICP fit, not a customer, no open pipeline: prospect it",
            whitespace(),
        ),
        "drop_candidates": Rule(
            "drop_candidates",
            "lowest tier, not an ICP fit, no pipeline and no reply in the coverage window: deprioritise",
            all_of(
                Cond("tier", "ge", 3),
                Not(Cond("icp_fit", "eq", True)),
                Not(
                    Cond("stage", "in", (Stage.CUSTOMER.value, Stage.PIPELINE.value, Stage.ACTIVE_DEAL.value))
                ),
                Not(Cond("open_opportunities", "gt", 0)),
                Not(Cond("last_inbound_at", "ge", window)),
            ),
        ),
        "at_risk": Rule(
            "at_risk",
            f"high churn risk, or a customer with no touch in the last {rules.coverage_window_days} days",
            any_of(
                Cond("churn_risk", "eq", "high"),
                all_of(Cond("stage", "eq", Stage.CUSTOMER.value), Not(touched_since(window))),
            ),
        ),
        "expansion": Rule(
            "expansion",
            "a customer with an expansion estimate: expansion pipeline",
            all_of(Cond("stage", "eq", Stage.CUSTOMER.value), Cond("expansion_estimate", "gt", 0)),
        ),
    }


def actively_managed(last_worked_at: datetime | None, rules: CoverageRules, now: datetime) -> bool:
    """The expansion pipeline: the account team is managing the relationship when it worked the
    account (a meaningful touch) within `expansion_managed_days`."""
    return last_worked_at is not None and now - last_worked_at <= timedelta(days=rules.expansion_managed_days)


ENTRY_PATHS = (
    "existing_relationship",
    "partner_referral",
    "executive_engagement",
    "marketing_sourced",
    "event",
    "direct_outbound",
)


@dataclass(frozen=True)
class EntryPath:
    path: str  # one of ENTRY_PATHS
    reason: str


def _recent(row: Mapping[str, Any], key: str, since: datetime) -> bool:
    at = row.get(key)
    return at is not None and at >= since


def _at_least(value: Any, threshold: float) -> bool:
    return value is not None and value >= threshold


def entry_path(row: Mapping[str, Any], rules: CoverageRules, now: datetime) -> EntryPath:
    """The coverage map: the right path into an account, the first of these that its data supports
    (docs/domain.md, "Coverage map"): an existing relationship (a customer, a relationship signal of at
    least `path_relationship_min`, or a touch through a relationship); a partner or referral (a touch
    through one in the path window, or a partner tag); executive engagement (strategic, potential of at
    least `path_executive_min_potential`, or an executive touch); marketing-sourced (a marketing touch, a
    reply, or intent of at least `path_marketing_min_intent`); an event (an event touch); else direct
    outbound. Touches count within `path_window_days`."""
    days = rules.path_window_days
    since = now - timedelta(days=days)
    window = f"in the last {days} days"
    if row.get("stage") == Stage.CUSTOMER.value:
        return EntryPath("existing_relationship", "a customer: expand through the existing relationship")
    if _at_least(row.get("relationship"), rules.path_relationship_min):
        return EntryPath(
            "existing_relationship",
            f"relationship signal {row['relationship']:g} >= {rules.path_relationship_min:g}",
        )
    if _recent(row, "last_relationship_path_at", since):
        return EntryPath("existing_relationship", f"touched through an existing relationship {window}")
    if _recent(row, "last_partner_at", since):
        return EntryPath("partner_referral", f"touched through a partner or referral {window}")
    tags = [t for t in row.get("tags") or () if t in rules.partner_tags]
    if tags:
        return EntryPath("partner_referral", f"has a partner or referral path ({', '.join(tags)})")
    if row.get("strategic"):
        return EntryPath("executive_engagement", "a strategic account: engage at executive level")
    if _at_least(row.get("potential"), rules.path_executive_min_potential):
        return EntryPath(
            "executive_engagement",
            f"potential {row['potential']:,.0f} >= {rules.path_executive_min_potential:,.0f}",
        )
    if _recent(row, "last_executive_path_at", since):
        return EntryPath("executive_engagement", f"an executive touch {window}")
    if _recent(row, "last_marketing_path_at", since):
        return EntryPath("marketing_sourced", f"came through marketing {window}")
    if _recent(row, "last_inbound_at", since):
        return EntryPath("marketing_sourced", f"the account reached out (an inbound touch) {window}")
    if _at_least(row.get("intent"), rules.path_marketing_min_intent):
        return EntryPath(
            "marketing_sourced", f"intent signal {row['intent']:g} >= {rules.path_marketing_min_intent:g}"
        )
    if _recent(row, "last_event_path_at", since):
        return EntryPath("event", f"met at an event {window}")
    return EntryPath("direct_outbound", "no relationship, partner, executive, marketing or event path")


# The coverage review's territory overview: how stages count up.
OVERVIEW: dict[str, tuple[str, ...]] = {
    "active_in_pipeline": (Stage.PIPELINE.value, Stage.ACTIVE_DEAL.value),
    "customers": (Stage.CUSTOMER.value,),
    "prospected_not_active": (Stage.PROSPECTED.value,),
    "cold": (Stage.COLD.value,),
    "lapsed": (Stage.LAPSED.value,),
}
