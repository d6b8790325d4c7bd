"""Rules of engagement (docs/domain.md, "Rules of engagement"): who owns an account when more than one rep
could, decided by an ordered, written policy instead of case by case.

A policy is an ordered list of typed rules. Deciding an account takes the reps who could own it (the
candidates, each with the evidence about them) and walks the rules in order: each rule keeps the
candidates it favours; a rule that favours none, or all, of those still in the running decides nothing and
the next one is asked; the rule that leaves one candidate decides, and the ruling names it. Candidates
still level after every rule go through the policy's tiebreak, an explicit order of keys that always ends
in the rep's id, so the same evidence always gives the same owner and a tie never leaves an account
without one. A departed rep is never a candidate.

Besides deciding owners, the policy says which role a claim belongs to (AE new business, SDR outbound into
unengaged accounts, CSM post-sale, and the grey zones), when the parent's owner is accountable for a deal
in a subsidiary, whether open opportunities keep their rep when the account moves, and when an account
that changed segment is reassigned. Everything here is plain data in, plain data out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from domain.defaults import MAX_SETTING_DAYS, MAX_SETTING_LIST, MAX_SETTING_NUMBER, EngagementRules
from domain.errors import Code, FieldError, ValidationFailed
from domain.model import Role, Stage


class RuleKind(StrEnum):
    NAMED_ACCOUNT = "named_account"
    EXISTING_RELATIONSHIP = "existing_relationship"
    TERRITORY_OF_RECORD = "territory_of_record"
    BOUNDARY = "boundary"
    RAMP_PROTECTION = "ramp_protection"
    LEASE = "lease"


class TieKey(StrEnum):
    MOST_TOUCHES = "most_touches"
    LATEST_TOUCH = "latest_touch"
    OWNER_OF_RECORD = "owner_of_record"
    HIGHEST_PRIORITY = "highest_priority"
    LONGEST_TENURE = "longest_tenure"
    REP_NAME = "rep_name"


class ClaimKind(StrEnum):
    """What a claim on an account is about; each kind belongs to one role (`Policy.roles`)."""

    NEW_BUSINESS = "new_business"  # a prospect or pipeline that is not a customer yet
    OUTBOUND = "outbound"  # prospecting into an account nobody has engaged
    POST_SALE = "post_sale"  # the relationship with a customer
    REENGAGEMENT = "reengagement"  # a churned (lapsed) customer won back: a grey zone
    EXPANSION = "expansion"  # more business in a customer: a grey zone


@dataclass(frozen=True)
class Candidate:
    """A rep who could own the account, with the evidence about them. Counts are over the rule's window
    (gathered by whoever builds the candidates, with the windows of `Policy.windows`)."""

    rep_id: Any
    rep_name: str
    territory_id: Any = None
    territory_name: str | None = None
    boundary_priority: int | None = None  # None: the territory's boundary rules do not hold the account
    named: bool = False  # the account is on the territory's named-account list
    owner_of_record: bool = False  # the rep owns it now (the owner field of the active plan)
    owner_since: date | None = None
    meaningful_touches: int = 0  # in the relationship window
    last_touch_at: datetime | None = None  # the rep's last meaningful touch on the account, ever
    sourced_opportunities: int = 0  # open, or won in the relationship window, sourced by the rep
    started_on: date | None = None  # the rep's start date
    departed: bool = False


@dataclass(frozen=True)
class PolicyRule:
    kind: RuleKind
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sentence(self) -> str:
        return SPECS[self.kind].sentence(self.params)


@dataclass(frozen=True)
class Policy:
    rules: tuple[PolicyRule, ...]
    tiebreak: tuple[TieKey, ...]
    roles: Mapping[ClaimKind, Role]
    parent_deal_threshold: float
    in_flight_deals_stay: bool
    segment_change_at_review: bool
    dispute_business_days: int

    def rule(self, kind: RuleKind) -> PolicyRule | None:
        return next((r for r in self.rules if r.kind is kind), None)

    def sentences(self) -> list[str]:
        """The policy as a rep reads it, in order."""
        out = [f"{i}. {r.sentence}" for i, r in enumerate(self.rules, 1)]
        keys = ", then ".join(TIE_WORDS[k] for k in self.tiebreak)
        out.append(f"{len(out) + 1}. Still level: {keys}, then the rep's id (so a tie always has an owner).")
        return out


# --- the rule kinds: what each keeps, its parameters and its sentence ------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    low: float
    high: float
    whole: bool = True
    optional: bool = False  # None switches the rule's effect off


@dataclass(frozen=True)
class RuleSpec:
    keeps: Callable[[Candidate, Mapping[str, Any], date], bool]
    params: tuple[Param, ...]
    sentence: Callable[[Mapping[str, Any]], str]


def _relationship(c: Candidate, p: Mapping[str, Any], today: date) -> bool:
    return c.meaningful_touches >= p["min_touches"] or (p["sourced_counts"] and c.sourced_opportunities > 0)


def _ramp_protected(c: Candidate, p: Mapping[str, Any], today: date) -> bool:
    return c.owner_of_record and c.started_on is not None and (today - c.started_on).days < p["days"]


def _lease_held(c: Candidate, p: Mapping[str, Any], today: date) -> bool:
    """A lease keeps every candidate but an owner of record who has let the account go untouched."""
    if not c.owner_of_record:
        return True
    touched = c.last_touch_at.date() if c.last_touch_at is not None else c.owner_since
    return touched is None or (today - touched).days < p["days"]


def _sourced_words(p: Mapping[str, Any]) -> str:
    return ", or who sourced an open or recently won opportunity" if p["sourced_counts"] else ""


SPECS: dict[RuleKind, RuleSpec] = {
    RuleKind.NAMED_ACCOUNT: RuleSpec(
        lambda c, p, today: c.named,
        (),
        lambda p: "A named account belongs to the territory that names it, whatever the boundary rules say.",
    ),
    RuleKind.EXISTING_RELATIONSHIP: RuleSpec(
        _relationship,
        (Param("min_touches", 1, 1_000), Param("window_days", 1, MAX_SETTING_DAYS)),
        lambda p: (
            f"The rep with an existing relationship (at least {p['min_touches']} meaningful touches in the "
            f"last {p['window_days']} days{_sourced_words(p)}) owns the account over the rep whose boundary "
            "holds its headquarters."
        ),
    ),
    RuleKind.TERRITORY_OF_RECORD: RuleSpec(
        lambda c, p, today: c.owner_of_record,
        (),
        lambda p: (
            "The territory of record is the owner of record: the current owner keeps the account; "
            "other reps may assist."
        ),
    ),
    RuleKind.BOUNDARY: RuleSpec(
        lambda c, p, today: c.boundary_priority is not None,
        (),
        lambda p: "The territory whose boundary holds the account owns it; of several, the highest priority.",
    ),
    RuleKind.RAMP_PROTECTION: RuleSpec(
        _ramp_protected,
        (Param("days", 1, MAX_SETTING_DAYS),),
        lambda p: f"A new hire keeps the accounts given to them for their first {p['days']} days.",
    ),
    RuleKind.LEASE: RuleSpec(
        _lease_held,
        (Param("days", 1, MAX_SETTING_DAYS),),
        lambda p: (
            f"An owner who has not touched an account for {p['days']} days gives it back: it goes to "
            "the next rule."
        ),
    ),
}

# boolean parameters a kind takes, with their default
FLAGS: dict[RuleKind, dict[str, bool]] = {RuleKind.EXISTING_RELATIONSHIP: {"sourced_counts": True}}

TIE_WORDS: dict[TieKey, str] = {
    TieKey.MOST_TOUCHES: "the rep with the most meaningful touches",
    TieKey.LATEST_TOUCH: "the rep who touched the account last",
    TieKey.OWNER_OF_RECORD: "the owner of record",
    TieKey.HIGHEST_PRIORITY: "the territory of highest boundary priority",
    TieKey.LONGEST_TENURE: "the rep who started first",
    TieKey.REP_NAME: "the rep's name in alphabetical order",
}


def _tie_value(key: TieKey, c: Candidate) -> Any:
    """A sort key where smaller wins."""
    if key is TieKey.MOST_TOUCHES:
        return -c.meaningful_touches
    if key is TieKey.LATEST_TOUCH:
        return (c.last_touch_at is None, -c.last_touch_at.timestamp() if c.last_touch_at else 0.0)
    if key is TieKey.OWNER_OF_RECORD:
        return not c.owner_of_record
    if key is TieKey.HIGHEST_PRIORITY:
        return -(c.boundary_priority if c.boundary_priority is not None else -(2**63))
    if key is TieKey.LONGEST_TENURE:
        return c.started_on or date.max
    return c.rep_name.casefold()


def tie_order(candidates: Iterable[Candidate], keys: Sequence[TieKey]) -> list[Candidate]:
    """Candidates in the order the tiebreak prefers them: by each key in turn, then by rep id."""
    return sorted(candidates, key=lambda c: (*(_tie_value(k, c) for k in keys), str(c.rep_id)))


# --- deciding ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One rule asked: who it kept of those still in the running (by name), and whether it narrowed."""

    code: str
    kept: tuple[str, ...]
    narrowed: bool


@dataclass(frozen=True)
class Ruling:
    owner: Candidate | None
    rule: str  # the code of the rule that decided, "tiebreak", or "no_candidate"
    sentence: str  # that rule's sentence
    reason: str  # in words, naming the people and the evidence
    steps: tuple[Step, ...]
    excluded: tuple[str, ...] = ()  # candidates left out before the rules (departed reps), by name


TIEBREAK = "tiebreak"
NO_CANDIDATE = "no_candidate"


def _evidence(c: Candidate, kind: RuleKind | None) -> str:
    """What about this candidate the deciding rule looked at."""
    if kind is RuleKind.EXISTING_RELATIONSHIP:
        sourced = f", sourced {c.sourced_opportunities} opportunities" if c.sourced_opportunities else ""
        return f"{c.meaningful_touches} meaningful touches{sourced}"
    if kind is RuleKind.NAMED_ACCOUNT:
        return f"named by {c.territory_name}" if c.named else "not named"
    if kind is RuleKind.BOUNDARY:
        if c.boundary_priority is None:
            return "no boundary holds it"
        return f"boundary of {c.territory_name}, priority {c.boundary_priority}"
    if kind is RuleKind.TERRITORY_OF_RECORD:
        return "owner of record" if c.owner_of_record else "not the owner of record"
    if kind is RuleKind.RAMP_PROTECTION:
        return f"started {c.started_on}" if c.started_on else "no start date"
    if kind is RuleKind.LEASE:
        return f"last touch {c.last_touch_at.date()}" if c.last_touch_at else "never touched"
    last = c.last_touch_at.date() if c.last_touch_at else "never"
    return f"{c.meaningful_touches} meaningful touches, last {last}"


def _reason(owner: Candidate, others: Sequence[Candidate], code: str, kind: RuleKind | None) -> str:
    where = f" ({owner.territory_name})" if owner.territory_name else ""
    text = f"{owner.rep_name}{where} by {code}: {_evidence(owner, kind)}"
    if others:
        text += "; " + "; ".join(f"{o.rep_name}: {_evidence(o, kind)}" for o in others)
    return text


def decide(candidates: Iterable[Candidate], policy: Policy, today: date, *, words: bool = True) -> Ruling:
    """The owner the policy gives the account among `candidates`, and the rule that decided. `words`
    False leaves the reason empty, for a caller that writes its own (assigning 100,000 accounts)."""
    everyone = list(candidates)
    excluded = tuple(c.rep_name for c in everyone if c.departed)
    running = [c for c in everyone if not c.departed]
    if not running:
        reason = "no rep can own the account" + (f" ({', '.join(excluded)} departed)" if excluded else "")
        return Ruling(
            None, NO_CANDIDATE, "An account nobody can own is listed, never dropped.", reason, (), excluded
        )
    steps: list[Step] = []
    if len(running) == 1:
        only = running[0]
        return Ruling(
            only,
            "only_candidate",
            "The only rep who can own the account owns it.",
            f"{only.rep_name} is the only rep who can own the account",
            (),
            excluded,
        )
    for rule in policy.rules:
        spec = SPECS[rule.kind]
        kept = [c for c in running if spec.keeps(c, rule.params, today)]
        if rule.kind is RuleKind.BOUNDARY and kept:  # of several boundaries, the highest priority
            top = max(c.boundary_priority for c in kept if c.boundary_priority is not None)
            kept = [c for c in kept if c.boundary_priority == top]
        narrowed = 0 < len(kept) < len(running)
        steps.append(Step(rule.code, tuple(c.rep_name for c in kept), narrowed))
        if not narrowed:
            continue
        dropped = [c for c in running if c not in kept]
        running = kept
        if len(running) == 1:
            return Ruling(
                running[0],
                rule.code,
                rule.sentence,
                _reason(running[0], dropped, rule.code, rule.kind) if words else "",
                tuple(steps),
                excluded,
            )
    ordered = tie_order(running, policy.tiebreak)
    keys = ", then ".join(TIE_WORDS[k] for k in policy.tiebreak) or "the rep's id"
    return Ruling(
        ordered[0],
        TIEBREAK,
        f"Still level after every rule: {keys}, then the rep's id.",
        _reason(ordered[0], ordered[1:], TIEBREAK, None) if words else "",
        tuple(steps),
        excluded,
    )


# --- roles, families, deals in flight, segment changes -------------------------------------------------


def claim_kind(stage: Stage | str | None, engaged: bool, expansion: bool = False) -> ClaimKind:
    """What a claim on an account in this state is about. `engaged`: someone has touched it meaningfully
    in the relationship window; `expansion`: the claim is for more business in a customer."""
    stage = Stage(stage) if stage else Stage.COLD
    if stage is Stage.CUSTOMER:
        return ClaimKind.EXPANSION if expansion else ClaimKind.POST_SALE
    if stage is Stage.LAPSED:
        return ClaimKind.REENGAGEMENT
    if stage in (Stage.COLD, Stage.PROSPECTED) and not engaged:
        return ClaimKind.OUTBOUND
    return ClaimKind.NEW_BUSINESS


def role_for(kind: ClaimKind, policy: Policy) -> Role:
    return policy.roles[kind]


def claim_kinds(stage: Stage | str | None, engaged: bool) -> tuple[ClaimKind, ...]:
    """Every kind of claim an account in this state can be the object of, the most particular first: an
    account nobody has engaged is open to outbound prospecting and, as any prospect, to new business; a
    customer to its post-sale relationship and to expansion."""
    first = claim_kind(stage, engaged)
    if first is ClaimKind.OUTBOUND:
        return (ClaimKind.OUTBOUND, ClaimKind.NEW_BUSINESS)
    if first is ClaimKind.POST_SALE:
        return (ClaimKind.POST_SALE, ClaimKind.EXPANSION)
    return (first,)


KIND_WORDS: dict[ClaimKind, str] = {
    ClaimKind.NEW_BUSINESS: "new business",
    ClaimKind.OUTBOUND: "outbound prospecting into an account nobody has engaged",
    ClaimKind.POST_SALE: "the post-sale relationship",
    ClaimKind.REENGAGEMENT: "winning back a churned customer",
    ClaimKind.EXPANSION: "more business in a customer",
}


@dataclass(frozen=True)
class RoleCheck:
    """Whether a claim for a role fits the account: the kind of claim it is, and the rule in words."""

    kind: ClaimKind | None  # None: the role owns no kind of claim the account can be the object of
    role: Role
    allowed: bool
    sentence: str


def role_check(
    role: Role | str, stage: Stage | str | None, engaged: bool, policy: Policy, *, touches: int = 0
) -> RoleCheck:
    """The kind of claim a claim for `role` on this account is, by the policy's roles (AE new business,
    SDR outbound into unengaged accounts, CSM post-sale; the grey zones as the policy says): the first of
    the account's claim kinds that the role owns. A role that owns none of them has no claim, and the
    sentence says who does (an SDR's outbound claim on an account someone has engaged: new business, the
    AE's). `touches`: the meaningful touches that make the account engaged, for the words."""
    role = Role(role)
    kinds = claim_kinds(stage, engaged)
    owned = next((k for k in kinds if role_for(k, policy) is role), None)
    if owned is not None:
        return RoleCheck(
            owned,
            role,
            True,
            f"{KIND_WORDS[owned].capitalize()} belongs to the {role.value} (roles.{owned.value}).",
        )
    state = Stage(stage).value if stage else Stage.COLD.value
    why = f"the account is {state}"
    if engaged:
        why += f" and engaged ({touches} meaningful touches in the relationship window)"
    first = kinds[0]
    return RoleCheck(
        None,
        role,
        False,
        f"The {role.value} role has no claim here: {why}, so a claim on it is "
        f"{KIND_WORDS[first]}, which belongs to the {role_for(first, policy).value} (roles.{first.value}).",
    )


@dataclass(frozen=True)
class Accountable:
    owner: Any  # who answers for the deal: the account's own owner, or the parent's
    parent_involved: bool
    reason: str


def accountable_owner(
    deal_amount: float, own_owner: Any, parent_owner: Any, policy: Policy, *, names: Mapping[Any, str] = {}
) -> Accountable:
    """The parent account's owner is accountable for a deal anywhere in the family from the policy's
    threshold up; below it the subsidiary's own owner is."""
    threshold = policy.parent_deal_threshold
    if parent_owner is None or parent_owner == own_owner:
        return Accountable(own_owner, False, "no other owner above the account in its family")
    name = names.get(parent_owner, str(parent_owner))
    if deal_amount >= threshold:
        return Accountable(
            parent_owner,
            True,
            f"a deal of {deal_amount:,.0f} is at least {threshold:,.0f}: {name}, "
            "the parent account's owner, is accountable",
        )
    return Accountable(
        own_owner,
        False,
        f"a deal of {deal_amount:,.0f} is below {threshold:,.0f}: the account's own owner is accountable",
    )


@dataclass(frozen=True)
class OpenDeal:
    opportunity_id: Any
    rep_id: Any  # who works it now


def deal_owners_after_move(deals: Iterable[OpenDeal], new_rep: Any, policy: Policy) -> dict[Any, Any]:
    """Who works each open opportunity once its account moves to `new_rep`: its rep, while the policy
    keeps deals in flight with their rep; otherwise the new owner."""
    return {d.opportunity_id: d.rep_id if policy.in_flight_deals_stay else new_rep for d in deals}


@dataclass(frozen=True)
class DealInFlight:
    """An open opportunity beside its account's owner: who works it, and why in words."""

    opportunity_id: Any
    rep_id: Any  # its rep of record (the opportunity's own rep): never rewritten by a move
    works_it: Any  # who works it: its rep while the policy keeps deals in flight, else the account's owner
    note: str | None  # said when who works it is not plain: the deal's rep is not the account's owner


def deals_in_flight(
    deals: Sequence[OpenDeal],
    account_owner: Any,
    policy: Policy,
    names: Mapping[Any, str],
    left: Collection[Any] = (),
) -> list[DealInFlight]:
    """Each open opportunity of an account with the owner shown beside it (docs/domain.md, "Rules of
    engagement", Deals in flight): a deal whose rep is not the account's owner stays with its rep while
    the policy says `in_flight_deals_stay`, else it follows the account's owner; the opportunity's rep of
    record is the same either way. A deal whose rep has left (`left`) is the account owner's, the interim
    owner a departure names. A deal with no rep, or an account with no owner, needs no words."""
    works = deal_owners_after_move(deals, account_owner, policy)
    out = []
    for d in deals:
        if d.rep_id is None or account_owner is None or d.rep_id == account_owner:
            out.append(DealInFlight(d.opportunity_id, d.rep_id, d.rep_id or account_owner, None))
            continue
        rep, owner = names.get(d.rep_id, str(d.rep_id)), names.get(account_owner, str(account_owner))
        if d.rep_id in left:
            note = f"{rep} has left: the account owner {owner} works the in-flight deal"
            out.append(DealInFlight(d.opportunity_id, d.rep_id, account_owner, note))
            continue
        note = (
            f"in-flight deal stays with {rep} (policy: in_flight_deals_stay)"
            if policy.in_flight_deals_stay
            else f"in-flight deal follows the account owner {owner} (policy: in_flight_deals_stay off); "
            f"its rep of record stays {rep}"
        )
        out.append(DealInFlight(d.opportunity_id, d.rep_id, works[d.opportunity_id], note))
    return out


def segment_change_effective(changed_on: date, next_review: date | None, policy: Policy) -> date:
    """When an account that changed segment is reassigned: at the next quarterly review, not at once
    (with no review scheduled, or where the policy says at once, on the day it changed)."""
    if policy.segment_change_at_review and next_review is not None and next_review >= changed_on:
        return next_review
    return changed_on


def next_quarter_start(day: date) -> date:
    """The first day of the quarter after `day`: the default date of the next quarterly review."""
    month = (day.month - 1) // 3 * 3 + 4
    return date(day.year + (month > 12), (month - 1) % 12 + 1, 1)


# --- the policy as data: defaults, parsing, validation ----------------------------------------------------


def default_policy(rules: EngagementRules) -> Policy:
    """The default policy: a named account, then the existing relationship, then the territory of record,
    then the boundary; ties to the most touches, then the latest touch, then the longest tenure."""
    return Policy(
        rules=(
            PolicyRule(RuleKind.NAMED_ACCOUNT, "named_account"),
            PolicyRule(
                RuleKind.EXISTING_RELATIONSHIP,
                "existing_relationship",
                {
                    "min_touches": rules.relationship_min_touches,
                    "window_days": rules.relationship_window_days,
                    "sourced_counts": True,
                },
            ),
            PolicyRule(RuleKind.TERRITORY_OF_RECORD, "territory_of_record"),
            PolicyRule(RuleKind.BOUNDARY, "boundary"),
        ),
        tiebreak=(TieKey.MOST_TOUCHES, TieKey.LATEST_TOUCH, TieKey.LONGEST_TENURE),
        roles={
            ClaimKind.NEW_BUSINESS: Role.AE,
            ClaimKind.OUTBOUND: Role.SDR,
            ClaimKind.POST_SALE: Role.CSM,
            ClaimKind.REENGAGEMENT: Role(rules.reengagement_role),
            ClaimKind.EXPANSION: Role(rules.expansion_role),
        },
        parent_deal_threshold=rules.parent_deal_threshold,
        in_flight_deals_stay=True,
        segment_change_at_review=True,
        dispute_business_days=rules.dispute_business_days,
    )


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    return {
        "rules": [{"kind": r.kind.value, "code": r.code, **dict(r.params)} for r in policy.rules],
        "tiebreak": [k.value for k in policy.tiebreak],
        "roles": {k.value: v.value for k, v in policy.roles.items()},
        "parent_deal_threshold": policy.parent_deal_threshold,
        "in_flight_deals_stay": policy.in_flight_deals_stay,
        "segment_change_at_review": policy.segment_change_at_review,
        "dispute_business_days": policy.dispute_business_days,
    }


_TOP = {
    "dispute_business_days",
    "rules",
    "tiebreak",
    "roles",
    "parent_deal_threshold",
    "in_flight_deals_stay",
    "segment_change_at_review",
}


def _number(errors: list[FieldError], path: str, value: Any, spec: Param) -> Any:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (spec.whole and not isinstance(value, int))
    ):
        errors.append(
            FieldError(
                path, Code.INVALID_TYPE, "expected a whole number" if spec.whole else "expected a number"
            )
        )
        return None
    if not spec.low <= value <= spec.high:
        errors.append(FieldError(path, Code.OUT_OF_RANGE, f"between {spec.low:g} and {spec.high:g}"))
        return None
    return value


def _choice(errors: list[FieldError], path: str, value: Any, enum: type[StrEnum]) -> Any:
    try:
        return enum(value)
    except ValueError:
        names = ", ".join(e.value for e in enum)  # type: ignore[attr-defined]
        errors.append(FieldError(path, Code.INVALID_CHOICE, f"one of {names}"))
        return None


def parse_policy(data: Mapping[str, Any], base: Policy) -> Policy:
    """A policy from its stored or sent form; every part not given keeps `base`'s. Every broken part is
    named (ValidationFailed): unknown kinds and keys, codes used twice, parameters out of range."""
    errors: list[FieldError] = []
    for key in data:
        if key not in _TOP:
            errors.append(FieldError(key, Code.UNKNOWN_FIELD, f"unknown policy field {key!r}"))
    rules = base.rules
    if "rules" in data:
        rules = _parse_rules(errors, data["rules"])
    tiebreak = base.tiebreak
    if "tiebreak" in data:
        raw = data["tiebreak"]
        if not isinstance(raw, list) or len(raw) > len(TieKey):
            errors.append(FieldError("tiebreak", Code.INVALID_TYPE, f"a list of at most {len(TieKey)} keys"))
        else:
            keys = [_choice(errors, f"tiebreak[{i}]", k, TieKey) for i, k in enumerate(raw)]
            if len(set(keys)) < len(keys):
                errors.append(FieldError("tiebreak", Code.INVALID_VALUE, "a key appears twice"))
            tiebreak = tuple(k for k in keys if k is not None)
    roles = dict(base.roles)
    if "roles" in data:
        raw = data["roles"]
        if not isinstance(raw, dict):
            errors.append(FieldError("roles", Code.INVALID_TYPE, "an object of claim kind to role"))
        else:
            for kind, role in raw.items():
                k = _choice(errors, f"roles.{kind}", kind, ClaimKind)
                r = _choice(errors, f"roles.{kind}", role, Role)
                if k is not None and r is not None:
                    roles[k] = r
    threshold = base.parent_deal_threshold
    if "parent_deal_threshold" in data:
        threshold = _number(
            errors,
            "parent_deal_threshold",
            data["parent_deal_threshold"],
            Param("parent_deal_threshold", 0, MAX_SETTING_NUMBER, whole=False),
        )
    days = base.dispute_business_days
    if "dispute_business_days" in data:
        days = _number(
            errors,
            "dispute_business_days",
            data["dispute_business_days"],
            Param("dispute_business_days", 1, 60),
        )
    flags = {}
    for name in ("in_flight_deals_stay", "segment_change_at_review"):
        value = data.get(name, getattr(base, name))
        if not isinstance(value, bool):
            errors.append(FieldError(name, Code.INVALID_TYPE, "expected true or false"))
        flags[name] = value
    if errors:
        raise ValidationFailed("invalid engagement policy", errors)
    return dataclasses.replace(
        base,
        rules=rules,
        tiebreak=tiebreak,
        roles=roles,
        parent_deal_threshold=threshold,
        dispute_business_days=days,
        **flags,
    )


def _parse_rules(errors: list[FieldError], raw: Any) -> tuple[PolicyRule, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_SETTING_LIST:
        errors.append(FieldError("rules", Code.INVALID_TYPE, f"a list of 1 to {MAX_SETTING_LIST} rules"))
        return ()
    out: list[PolicyRule] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path = f"rules[{i}]"
        if not isinstance(item, dict):
            errors.append(FieldError(path, Code.INVALID_TYPE, "expected an object"))
            continue
        kind = _choice(errors, f"{path}.kind", item.get("kind"), RuleKind)
        if kind is None:
            continue
        code = item.get("code", kind.value)
        if not isinstance(code, str) or not code or len(code) > 64 or not code.replace("_", "").isalnum():
            errors.append(FieldError(f"{path}.code", Code.INVALID_VALUE, "letters, digits and _, at most 64"))
            continue
        if code in seen:
            errors.append(FieldError(f"{path}.code", Code.DUPLICATE_NAME, f"the code {code!r} is used twice"))
        seen.add(code)
        spec, flags = SPECS[kind], FLAGS.get(kind, {})
        allowed = {"kind", "code", *(p.name for p in spec.params), *flags}
        for key in item:
            if key not in allowed:
                errors.append(
                    FieldError(f"{path}.{key}", Code.UNKNOWN_FIELD, f"{kind.value} takes no {key!r}")
                )
        params: dict[str, Any] = {}
        for p in spec.params:
            if p.name not in item:
                errors.append(FieldError(f"{path}.{p.name}", Code.REQUIRED, f"{kind.value} needs {p.name}"))
                continue
            params[p.name] = _number(errors, f"{path}.{p.name}", item[p.name], p)
        for name, default in flags.items():
            value = item.get(name, default)
            if not isinstance(value, bool):
                errors.append(FieldError(f"{path}.{name}", Code.INVALID_TYPE, "expected true or false"))
            params[name] = value
        out.append(PolicyRule(kind, code, params))
    return tuple(out)
