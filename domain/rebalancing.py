"""The rules of a rebalance proposal (docs/domain.md, "Balanced assignment"), plain data in and out: which
reps take part and with what share, what each account weighs and needs, which accounts a departure freezes
under the interim owner, which ones the rules of engagement give to a rep with a relationship or a
territory naming them, and which ones they keep with their owner when a book is carved for a newcomer
(docs/domain.md, "Departures and arrivals"), how families move, and, from the optimiser's answer, which
accounts move where, with which cause, rule and words. The service reads the book and the evidence, calls
`propose`, and writes the moves into the draft."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from domain.balancing import Bands, Factor, RepSlot, Result, explain, leading_rule, units_from_accounts
from domain.capacity import account_load, rep_capacity
from domain.defaults import TenantSettings
from domain.engagement import SPECS, TIEBREAK, Candidate, Policy, PolicyRule, RuleKind, Ruling, decide
from domain.equity import move_cost
from domain.model import AssignmentReason
from domain.optimiser import Progress, optimise

K = TypeVar("K", bound=Hashable)

STAYS_WITH_FAMILY = "family: stays with the parent account's owner"
REASSIGNED = "reassigned, tier-1 accounts first, to a rep with room in its bands"
INTERIM = "interim owner of open pipeline"
NO_POLICY_REP = "no rule of the policy gives it to a rep"


@dataclass(frozen=True)
class Arrival:
    rep_id: UUID
    name: str
    ramp: str
    share: float  # of an even share of potential, by ramp status
    territory_id: UUID


@dataclass(frozen=True)
class Departure:
    rep_id: UUID
    name: str
    on: date
    interim_rep_id: UUID | None


@dataclass(frozen=True)
class Options:
    """The optimiser's objectives and constraints; None takes the tenant's setting."""

    potential_band: float | None = None
    capacity_band: float | None = None
    expertise: bool = True  # accounts in the expertise industries go only to reps with that expertise
    keep_families: bool | None = None  # parent and subsidiaries move as one
    geography: bool = False  # an account goes only to a rep whose book already has accounts in its region


class OwnedAccount(Protocol):
    """One current owner of record in the plan, with what balancing needs of the account."""

    @property
    def assignment_id(self) -> Any: ...
    @property
    def account_id(self) -> Any: ...
    @property
    def rep_id(self) -> Any: ...
    @property
    def territory_id(self) -> Any: ...
    @property
    def locked(self) -> bool: ...
    @property
    def industry(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...
    @property
    def segment(self) -> str | None: ...
    @property
    def tier(self) -> int | None: ...
    @property
    def potential(self) -> float | None: ...


class ActiveRep(Protocol):
    @property
    def id(self) -> Any: ...
    @property
    def role(self) -> str: ...
    @property
    def ramp_status(self) -> str: ...
    @property
    def expertise(self) -> Sequence[str] | None: ...
    @property
    def capacity(self) -> float | None: ...


class PlanTerritory(Protocol):
    @property
    def id(self) -> Any: ...
    @property
    def primary_rep_id(self) -> Any: ...


@dataclass(frozen=True)
class Names:
    """What a reader knows things by (docs/domain.md, Move reasons): account, rep and territory names by
    key; a key without a name stands for itself."""

    accounts: Mapping[Any, str] = field(default_factory=dict)
    reps: Mapping[Any, str] = field(default_factory=dict)
    territories: Mapping[Any, str] = field(default_factory=dict)

    def rep(self, key: Any) -> str:
        return self.reps.get(key) or str(key)

    def any(self, key: Any) -> str:
        """A rep's or an account's name (the optimiser's units are accounts, or a family by its head)."""
        return self.reps.get(key) or self.accounts.get(key) or str(key)


@dataclass(frozen=True, slots=True)
class ProposedMove:
    """An account the proposal gives to another rep: the assignment it ends, and the one it starts."""

    assignment_id: Any  # the current assignment, ended
    account_id: Any
    from_rep: Any
    to_rep: Any
    territory_id: Any  # the new owner's territory in the plan (its first as primary), else the old one
    locked: bool  # a departure's open pipeline stays locked under the interim owner
    cause: AssignmentReason
    reason: str  # in words, by name: "Move Acme from Sarah's territory West to James's territory East ..."
    tier: int | None
    potential: float
    cost: float
    from_territory_id: Any = None
    # departure, interim, family, balance, capacity, expertise, owner_absent, arrival, or the code of the
    # policy's rule (or tiebreak) that gave a leaving rep's account to a rep
    rule: str | None = None
    amount: float | None = None  # the leading factor's figure (potential outside the band, capacity share)
    factors: tuple[Factor, ...] = ()


@dataclass
class Proposal:
    result: Result
    moves: list[ProposedMove] = field(default_factory=list)
    movement_rate: float | None = None  # of the accounts in the book
    warnings: list[str] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)  # an arrival's: what the policy keeps with its owner


def region_need(name: str) -> str:
    """The need an account has, and the coverage a rep has, for a region (geography option)."""
    return f"region:{name.lower()}"


def family_roots(parents: Mapping[K, K]) -> dict[K, K]:
    """Account -> the top of its parent chain (cycles are refused on write; a guard stops one anyway)."""
    roots: dict[K, K] = {}
    for start in parents:
        node, seen = start, set()
        while node in parents and node not in seen:
            seen.add(node)
            node = parents[node]
        roots[start] = node
    return roots


def keeps_families(settings: TenantSettings, options: Options) -> bool:
    return settings.equity.keep_families if options.keep_families is None else options.keep_families


def bands(settings: TenantSettings, options: Options) -> Bands:
    return Bands(
        options.potential_band
        if options.potential_band is not None
        else settings.equity.balance_potential_band,
        options.capacity_band if options.capacity_band is not None else settings.equity.capacity_band,
    )


def to_freeze(book: Iterable[OwnedAccount], departure: Departure | None) -> list[Any]:
    """The accounts whose open pipeline a departure freezes under the interim owner (docs/domain.md,
    "Departures and arrivals"): the leaving
    rep's, when there is an interim owner; none otherwise. Those with open pipeline are the frozen set."""
    if departure is None or departure.interim_rep_id is None:
        return []
    return [r.account_id for r in book if r.rep_id == departure.rep_id]


def rep_slots(
    reps: Iterable[ActiveRep],
    book: Sequence[OwnedAccount],
    role: str,
    settings: TenantSettings,
    departure: Departure | None = None,
    arrival: Arrival | None = None,
    geography: bool = False,
) -> list[RepSlot]:
    """The reps that take part: those of the role, those owning accounts in the book, the interim owner and
    the arriving rep; never the leaving rep. Each with its capacity by ramp status, its expertise (and, with
    geography, the regions its book has accounts in) and its share (an arriving rep's by ramp status)."""
    owners = {r.rep_id for r in book}
    leaving = departure.rep_id if departure else None
    regions: dict[Any, set[str]] = {}
    if geography:
        for r in book:
            if r.region:
                regions.setdefault(r.rep_id, set()).add(region_need(r.region))
    return [
        RepSlot(
            r.id,
            rep_capacity(r.ramp_status, r.capacity, settings),
            frozenset(e.lower() for e in r.expertise or ()) | frozenset(regions.get(r.id, ())),
            arrival.share if arrival and r.id == arrival.rep_id else 1.0,
        )
        for r in reps
        if (
            r.role == role
            or r.id in owners
            or (departure is not None and r.id == departure.interim_rep_id)
            or (arrival is not None and r.id == arrival.rep_id)
        )
        and r.id != leaving
    ]


def balancing_accounts(
    book: Iterable[OwnedAccount],
    settings: TenantSettings,
    options: Options = Options(),
    roots: Mapping[Any, Any] | None = None,
    frozen: Collection[Any] = frozenset(),
    departure: Departure | None = None,
    placed: Mapping[Any, Any] | None = None,
    kept: Collection[Any] = frozenset(),
) -> list[dict[str, Any]]:
    """The book as the optimiser's accounts: a frozen account sits, locked, with the interim owner, and
    one the policy places (account -> rep) with that rep; a departure moves only the leaving rep's
    accounts (everyone else's are locked where they are); an account the policy keeps with its owner is
    locked there; an account needs its industry's expertise (the tenant's expertise industries) and, with
    geography, its region."""
    roots = roots or {}
    held = dict(placed or {})
    if departure is not None:
        held.update(dict.fromkeys(frozen, departure.interim_rep_id))
    expert = {i.lower() for i in settings.equity.expertise_industries} if options.expertise else set()
    leaving = departure.rep_id if departure else None
    return [
        {
            "key": r.account_id,
            "rep": held.get(r.account_id, r.rep_id),
            "potential": float(r.potential or 0.0),
            "workload": account_load(r.tier, r.segment, settings),
            "cost": move_cost(r.tier, settings),
            "locked": r.locked
            or r.account_id in frozen
            or r.account_id in held
            or r.account_id in kept
            or (departure is not None and r.rep_id != leaving),
            "family": None if r.account_id in frozen or r.account_id in held else roots.get(r.account_id),
            "needs": ([r.industry.lower()] if r.industry and r.industry.lower() in expert else [])
            + ([region_need(r.region)] if options.geography and r.region else []),
        }
        for r in book
    ]


# --- the rules of engagement in a departure and an arrival (docs/domain.md, Departures and arrivals) ------

# the rules a departure asks: a rep the policy prefers for one of the leaving rep's accounts
DEPARTURE_RULES = frozenset({RuleKind.NAMED_ACCOUNT, RuleKind.EXISTING_RELATIONSHIP})
# the rules an arrival asks: what keeps an account with its owner when a book is carved for a newcomer
ARRIVAL_RULES = frozenset({RuleKind.NAMED_ACCOUNT, RuleKind.EXISTING_RELATIONSHIP, RuleKind.RAMP_PROTECTION})
ROOM = "the rep with the most room"  # the candidate that stands for the room-based choice


@dataclass(frozen=True)
class Evidence:
    """What the policy looks at for a departure's or an arrival's accounts, gathered by the service: per
    account and rep, meaningful touches in the relationship window (and the last one ever) and sourced
    opportunities; per account, the plan's territories that name it (territory, its primary rep); per
    rep, the start date; the reps who have left."""

    policy: Policy
    today: date
    touches: Mapping[Any, Mapping[Any, tuple[int, datetime | None]]] = field(default_factory=dict)
    sourced: Mapping[Any, Mapping[Any, int]] = field(default_factory=dict)
    named: Mapping[Any, Sequence[tuple[Any, Any]]] = field(default_factory=dict)
    started: Mapping[Any, date | None] = field(default_factory=dict)
    left: Collection[Any] = frozenset()

    def reps_with_evidence(self, account_id: Any) -> set[Any]:
        return (
            set(self.touches.get(account_id, ()))
            | set(self.sourced.get(account_id, ()))
            | {rep for _, rep in self.named.get(account_id, ())}
        )

    def candidate(self, account_id: Any, rep_id: Any, names: Names, owner: bool = False) -> Candidate:
        touches, last = self.touches.get(account_id, {}).get(rep_id, (0, None))
        naming = next((t for t, rep in self.named.get(account_id, ()) if rep == rep_id), None)
        return Candidate(
            rep_id=rep_id,
            rep_name=names.rep(rep_id),
            territory_id=naming,
            territory_name=names.territories.get(naming) if naming is not None else None,
            named=naming is not None,
            owner_of_record=owner,
            meaningful_touches=touches,
            last_touch_at=last,
            sourced_opportunities=self.sourced.get(account_id, {}).get(rep_id, 0),
            started_on=self.started.get(rep_id),
            departed=rep_id in self.left,
        )


def asked(policy: Policy, kinds: Collection[RuleKind]) -> Policy:
    """The policy with only the rules of these kinds, in its order (and with its parameters)."""
    return dataclasses.replace(policy, rules=tuple(r for r in policy.rules if r.kind in kinds))


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _evidence_words(c: Candidate, rule: PolicyRule, today: date) -> str:
    """What about the candidate made the rule keep them, by name."""
    if rule.kind is RuleKind.NAMED_ACCOUNT:
        return f"{c.rep_name}'s territory {c.territory_name} names the account"
    if rule.kind is RuleKind.RAMP_PROTECTION:
        days = (today - c.started_on).days if c.started_on else 0
        return (
            f"{c.rep_name} started {_count(days, 'day', 'days')} ago, within the first {rule.params['days']}"
        )
    said = []
    if c.meaningful_touches:
        touches = _count(c.meaningful_touches, "meaningful touch", "meaningful touches")
        said.append(f"has {touches} in the last {rule.params['window_days']} days")
    if c.sourced_opportunities and rule.params.get("sourced_counts"):
        opportunities = _count(c.sourced_opportunities, "opportunity", "opportunities")
        said.append(f"sourced {opportunities} still open or recently won")
    return f"{c.rep_name} " + " and ".join(said or ["has no meaningful touch"])


def _evidence_factors(c: Candidate, rule: PolicyRule) -> tuple[Factor, ...]:
    """The evidence of a departure's rules (named account, existing relationship) as a move's factors."""
    if rule.kind is RuleKind.NAMED_ACCOUNT:
        return (Factor("named_account", c.rep_id),)
    found = [Factor("meaningful_touches", c.rep_id, float(c.meaningful_touches))]
    if c.sourced_opportunities:
        found.append(Factor("sourced_opportunities", c.rep_id, float(c.sourced_opportunities)))
    return tuple(found)


def ruling_words(
    ruling: Ruling, candidates: Sequence[Candidate], policy: Policy, today: date
) -> tuple[str, tuple[Factor, ...]]:
    """The rule that set the policy's choice apart, and each rep it kept with their evidence, by name
    ("existing relationship: Sarah Chen has 3 meaningful touches in the last 90 days"); a choice the
    tiebreak made among them says so. Also the evidence as factors, the owner's first. `ruling`: one in
    which a rule narrowed the candidates."""
    by_code = {r.code: r for r in policy.rules}
    narrowing = [by_code[s.code] for s in ruling.steps if s.narrowed]
    last = narrowing[-1]
    kept = [
        c
        for c in candidates
        if not c.departed and all(SPECS[r.kind].keeps(c, r.params, today) for r in narrowing)
    ]
    assert ruling.owner is not None
    kept.sort(key=lambda c: c is not ruling.owner)
    words = f"{last.code.replace('_', ' ')}: " + ", ".join(_evidence_words(c, last, today) for c in kept)
    if ruling.rule == TIEBREAK:
        words += f"; the tiebreak picks {ruling.owner.rep_name}"
    return words, tuple(f for c in kept for f in _evidence_factors(c, last))


@dataclass(frozen=True)
class Placement:
    """One of the leaving rep's accounts the policy gives to a rep other than the room-based choice."""

    rep_id: Any
    territory_id: Any  # the territory naming the account, else None (the rep's own)
    rule: str  # the code of the rule that decided, or tiebreak
    words: str  # the rule and the evidence by name
    factors: tuple[Factor, ...]


def departure_placements(
    book: Sequence[OwnedAccount],
    departure: Departure,
    frozen: Collection[Any],
    evidence: Evidence,
    slots: Sequence[RepSlot],
    settings: TenantSettings,
    capacity_band: float,
    names: Names = Names(),
) -> tuple[dict[Any, Placement], dict[Any, str]]:
    """For each of the leaving rep's accounts not frozen under the interim owner, tier 1 first: the rep
    the policy's named-account and existing-relationship rules prefer over the rep with the most room,
    among the reps taking part (never the leaving rep, never one who has left). A rep the account would
    take above the top of its capacity band does not get it while another rep has room for it (the
    policy's next choice is asked); the accounts placed count in the bands. Answers the placements, and
    for the accounts the policy chose only reps without room for, what it said."""
    policy = asked(evidence.policy, DEPARTURE_RULES)
    capacity = {s.key: s.capacity for s in slots}
    load: dict[Any, float] = {}
    for r in book:
        holder = departure.interim_rep_id if r.account_id in frozen else r.rep_id
        load[holder] = load.get(holder, 0.0) + account_load(r.tier, r.segment, settings)

    def room_for(rep: Any, work: float) -> bool:
        top = capacity[rep]
        return top is None or load.get(rep, 0.0) + work <= top * (1 + capacity_band) * (1 + 1e-9)

    room = Candidate(rep_id=ROOM, rep_name=ROOM)
    leaving = [
        r for r in book if r.rep_id == departure.rep_id and r.account_id not in frozen and not r.locked
    ]
    leaving.sort(key=lambda r: (r.tier if r.tier is not None else 99, -float(r.potential or 0.0)))
    placed: dict[Any, Placement] = {}
    refused: dict[Any, str] = {}
    for r in leaving if policy.rules else ():
        reps = sorted(
            (x for x in evidence.reps_with_evidence(r.account_id) if x in capacity and x != departure.rep_id),
            key=str,
        )
        work = account_load(r.tier, r.segment, settings)
        full: list[str] = []
        while reps:
            candidates = [room, *(evidence.candidate(r.account_id, x, names) for x in reps)]
            ruling = decide(candidates, policy, evidence.today)
            # only a rule that narrowed drops the room candidate: it has no evidence of its own
            if ruling.owner is None or ruling.owner is room or not any(s.narrowed for s in ruling.steps):
                break
            words, factors = ruling_words(ruling, candidates, policy, evidence.today)
            rep = ruling.owner.rep_id
            if not room_for(rep, work) and any(room_for(x, work) for x in capacity if x != rep):
                full.append(f"{words}, but {ruling.owner.rep_name} has no room in its capacity band")
                reps.remove(rep)
                continue
            load[rep] = load.get(rep, 0.0) + work
            placed[r.account_id] = Placement(
                rep, ruling.owner.territory_id, ruling.rule, "; ".join([words, *full]), factors
            )
            break
        if full and r.account_id not in placed:
            refused[r.account_id] = "; ".join(full)
    return placed, refused


@dataclass(frozen=True)
class Kept:
    """An account the policy keeps with its owner when a book is carved for a newcomer."""

    account_id: Any
    owner: Any
    rule: str  # the code of the rule that kept it
    sentence: str  # that rule's sentence
    reason: str  # the rule and the owner's evidence by name
    potential: float


def arrival_keeps(
    book: Iterable[OwnedAccount], arrival: Arrival, evidence: Evidence, names: Names = Names()
) -> list[Kept]:
    """The accounts the policy's named-account, existing-relationship and ramp-protection rules keep with
    their owner of record against the newcomer (a rule, not the tiebreak, decides for the owner). An
    owner who has left keeps nothing."""
    policy = asked(evidence.policy, ARRIVAL_RULES)
    ramp = policy.rule(RuleKind.RAMP_PROTECTION)
    recent = (
        {
            rep
            for rep, started in evidence.started.items()
            if started is not None and (evidence.today - started).days < ramp.params["days"]
        }
        if ramp
        else set()
    )
    kept: list[Kept] = []
    for r in book if policy.rules else ():
        if r.rep_id == arrival.rep_id or r.locked:
            continue
        if r.rep_id not in recent and not evidence.reps_with_evidence(r.account_id):
            continue  # nothing the rules could keep it by
        owner = evidence.candidate(r.account_id, r.rep_id, names, owner=True)
        candidates = [owner, evidence.candidate(r.account_id, arrival.rep_id, names)]
        ruling = decide(candidates, policy, evidence.today)
        if ruling.owner is owner and ruling.rule in {x.code for x in policy.rules}:
            words, _ = ruling_words(ruling, candidates, policy, evidence.today)
            kept.append(
                Kept(r.account_id, r.rep_id, ruling.rule, ruling.sentence, words, float(r.potential or 0.0))
            )
    return kept


@dataclass(frozen=True)
class Applied:
    """What the policy made of a departure's or an arrival's proposal: the leaving rep's accounts it
    placed, those whose chosen reps had no room (what it said), the accounts it kept with their owner."""

    placed: Mapping[Any, Placement] = field(default_factory=dict)
    refused: Mapping[Any, str] = field(default_factory=dict)
    kept: Sequence[Kept] = ()

    def departure_words(self, account_id: Any) -> str:
        placement = self.placed.get(account_id)
        if placement is not None:
            return placement.words
        return f"{self.refused.get(account_id, NO_POLICY_REP)}: {REASSIGNED}"


def move_reason(
    optimiser_reason: str | None,
    family_size: int,
    frozen: bool,
    leaves: bool,
    departure: Departure | None = None,
    arrival: Arrival | None = None,
    to_arrival: bool = False,
    departure_words: str | None = None,
) -> str:
    """Why an account moves, in words. The optimiser's reason for its unit (none: it follows its parent,
    whose unit moved), led by the family it moves with, by the arrival it is carved for; a departure's
    accounts say the departure, then whether they wait with the interim owner, else `departure_words`
    (what the policy said), else that a rep with room takes them."""
    if departure is not None and leaves:
        why = f"departure: {departure.name} leaves on {departure.on}; "
        return why + (INTERIM if frozen else departure_words or REASSIGNED)
    reason = optimiser_reason if optimiser_reason is not None else STAYS_WITH_FAMILY
    if optimiser_reason is not None and family_size > 1:
        reason = f"family: moves with its parent, {family_size} accounts as one; " + reason
    if arrival is not None and to_arrival:
        reason = (
            f"arrival: carving a book for {arrival.name} ({arrival.ramp}, "
            f"{arrival.share:.0%} of an even share); " + reason
        )
    return reason


def move_rule(
    factors: Sequence[Factor], frozen: bool, leaves: bool, departure: Departure | None, arrival_move: bool
) -> str | None:
    """The rule a move is filed under: a departure's (interim or departure), an arrival's, the factors'
    leading rule, or family (it follows its parent and has no factors of its own)."""
    if departure is not None and leaves:
        return "interim" if frozen else "departure"
    if arrival_move:
        return "arrival"
    return leading_rule(factors) or "family"


def headline(
    account: str, from_rep: str, from_territory: str | None, to_rep: str, to_territory: str | None, owns: bool
) -> str:
    """ "Move Startup AI from Sarah Chen's territory West to James Park's territory East" (docs/domain.md,
    "Move reasons"); `owns`: the target owns the territory it gets the account in (else "to James Park in
    West")."""
    source = f"{from_rep}'s territory {from_territory}" if from_territory else from_rep
    if to_territory is None:
        target = to_rep
    else:
        target = f"{to_rep}'s territory {to_territory}" if owns else f"{to_rep} in {to_territory}"
    return f"Move {account} from {source} to {target}"


def move_cause(departure: Departure | None, to_arrival: bool) -> AssignmentReason:
    """The assignment reason of a moved account: every move of a departure's proposal is the departure's,
    an arrival's moves to the arriving rep are the arrival's, any other move is a rebalance."""
    if departure is not None:
        return AssignmentReason.DEPARTURE
    return AssignmentReason.ARRIVAL if to_arrival else AssignmentReason.REBALANCE


def proposed_moves(
    book: Iterable[OwnedAccount],
    members: Mapping[Hashable, Sequence[Hashable]],
    result: Result,
    territories: Iterable[PlanTerritory],
    settings: TenantSettings,
    frozen: Collection[Any] = frozenset(),
    departure: Departure | None = None,
    arrival: Arrival | None = None,
    names: Names = Names(),
    applied: Applied | None = None,
) -> list[ProposedMove]:
    """The accounts whose owner the optimiser's assignment changes (locked ones never move), each to its new
    rep's territory, with cause, rule, figures and a reason by name, in the units' order. `applied`: what
    the policy made of a departure (a placed account goes to the territory naming it, if one does, and
    carries the policy's rule and evidence)."""
    unit_move = {m.unit: m for m in result.moves}
    by_account = {r.account_id: r for r in book}
    territory_of: dict[Any, Any] = {}
    primary_of: dict[Any, Any] = {}
    for t in territories:
        primary_of[t.id] = t.primary_rep_id
        if t.primary_rep_id is not None:
            territory_of.setdefault(t.primary_rep_id, t.id)
    out: list[ProposedMove] = []
    for unit_key, member_keys in members.items():
        target = result.assignment[unit_key]
        move = unit_move.get(unit_key)
        to_arrival = arrival is not None and target == arrival.rep_id
        for account_id in member_keys:
            row = by_account[account_id]
            if row.rep_id == target or row.locked:
                continue
            is_frozen = account_id in frozen
            leaves = departure is not None and row.rep_id == departure.rep_id
            policy_asked = applied is not None and leaves and not is_frozen
            placement = applied.placed.get(account_id) if applied is not None and policy_asked else None
            factors = placement.factors if placement else move.factors if move else ()
            why = move_reason(
                explain(factors, names.rep) if move else None,
                len(member_keys),
                is_frozen,
                leaves,
                departure,
                arrival,
                to_arrival,
                applied.departure_words(account_id) if applied is not None and policy_asked else None,
            )
            to_territory = territory_of.get(target, row.territory_id)
            if placement is not None and placement.territory_id is not None:
                to_territory = placement.territory_id
            head = headline(
                names.accounts.get(account_id) or str(account_id),
                names.rep(row.rep_id),
                names.territories.get(row.territory_id),
                names.rep(target),
                names.territories.get(to_territory),
                primary_of.get(to_territory) == target,
            )
            out.append(
                ProposedMove(
                    row.assignment_id,
                    account_id,
                    row.rep_id,
                    target,
                    to_territory,
                    is_frozen,
                    move_cause(departure, to_arrival),
                    f"{head}: {why}",
                    row.tier,
                    float(row.potential or 0.0),
                    move_cost(row.tier, settings),
                    row.territory_id,
                    placement.rule
                    if placement
                    else move_rule(factors, is_frozen, leaves, departure, to_arrival),
                    factors[0].amount if factors and (placement or not leaves) else None,
                    factors if placement or not leaves else (),
                )
            )
    return out


def churn_warnings(rate: float | None, settings: TenantSettings) -> list[str]:
    churn = settings.equity.movement_churn_per_quarter
    if rate is not None and rate > churn:
        return [f"{rate:.0%} of the accounts would move: above the {churn:.0%} a quarter that is churn"]
    return []


def propose(
    book: Sequence[OwnedAccount],
    reps: Iterable[ActiveRep],
    territories: Iterable[PlanTerritory],
    role: str,
    settings: TenantSettings,
    options: Options = Options(),
    parents: Mapping[Any, Any] | None = None,
    frozen: Collection[Any] = frozenset(),
    departure: Departure | None = None,
    arrival: Arrival | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    names: Names = Names(),
    evidence: Evidence | None = None,
) -> Proposal:
    """The proposal for a plan's book for the role: the optimiser's result and the moves it makes.
    `parents` (account -> parent) makes families move as one when the options (or the settings) keep
    families; `frozen`: the leaving rep's accounts with open pipeline (see `to_freeze`); `names`: what the
    reasons call accounts, reps and territories; `evidence`: the policy and what it looks at, for a
    departure (`departure_placements`) or an arrival (`arrival_keeps`)."""
    roots = family_roots(parents) if parents and keeps_families(settings, options) else {}
    slots = rep_slots(reps, book, role, settings, departure, arrival, options.geography)
    applied = None
    if evidence is not None and departure is not None:
        band = bands(settings, options).capacity
        applied = Applied(
            *departure_placements(book, departure, frozen, evidence, slots, settings, band, names)
        )
    elif evidence is not None and arrival is not None:
        applied = Applied(kept=arrival_keeps(book, arrival, evidence, names))
    placed = {k: p.rep_id for k, p in applied.placed.items()} if applied else {}
    kept = {k.account_id for k in applied.kept} if applied else set()
    accounts = balancing_accounts(book, settings, options, roots, frozen, departure, placed, kept)
    units, members = units_from_accounts(accounts)
    result = optimise(
        units,
        slots,
        bands(settings, options),
        only_to=arrival.rep_id if arrival else None,
        progress=progress,
        should_stop=should_stop,
        name=names.any,
    )
    moves = proposed_moves(
        book, members, result, territories, settings, frozen, departure, arrival, names, applied
    )
    rate = len(moves) / len(book) if book else None
    return Proposal(
        result, moves, rate, churn_warnings(rate, settings), list(applied.kept) if applied else []
    )
