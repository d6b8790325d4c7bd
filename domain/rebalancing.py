"""The rules of a rebalance proposal (docs/domain.md, "Balanced assignment"), plain data in and out: which
reps take part and
with what share, what each account weighs and needs, which accounts a departure freezes under the interim
owner, how families move, and, from the optimiser's answer, which accounts move where, with which cause and
in which words. The service reads the book, calls `propose`, and writes the moves into the draft."""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, TypeVar
from uuid import UUID

from domain.balancing import Bands, Factor, RepSlot, Result, explain, leading_rule, units_from_accounts
from domain.capacity import account_load, rep_capacity
from domain.defaults import TenantSettings
from domain.equity import move_cost
from domain.model import AssignmentReason
from domain.optimiser import Progress, optimise

K = TypeVar("K", bound=Hashable)

STAYS_WITH_FAMILY = "family: stays with the parent account's owner"
REASSIGNED = "reassigned, tier-1 accounts first, to a rep with room in its bands"
INTERIM = "interim owner of open pipeline"


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
    rule: str | None = None  # departure, interim, family, balance, capacity, expertise, owner_absent
    amount: float | None = None  # the leading factor's figure (potential outside the band, capacity share)
    factors: tuple[Factor, ...] = ()


@dataclass
class Proposal:
    result: Result
    moves: list[ProposedMove] = field(default_factory=list)
    movement_rate: float | None = None  # of the accounts in the book
    warnings: list[str] = field(default_factory=list)


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
) -> list[dict[str, Any]]:
    """The book as the optimiser's accounts: a frozen account sits, locked, with the interim owner; a
    departure moves only the leaving rep's accounts (everyone else's are locked where they are); an account
    needs its industry's expertise (the tenant's expertise industries) and, with geography, its region."""
    roots = roots or {}
    expert = {i.lower() for i in settings.equity.expertise_industries} if options.expertise else set()
    leaving = departure.rep_id if departure else None
    return [
        {
            "key": r.account_id,
            "rep": departure.interim_rep_id if departure and r.account_id in frozen else r.rep_id,
            "potential": float(r.potential or 0.0),
            "workload": account_load(r.tier, r.segment, settings),
            "cost": move_cost(r.tier, settings),
            "locked": r.locked or r.account_id in frozen or (departure is not None and r.rep_id != leaving),
            "family": None if r.account_id in frozen else roots.get(r.account_id),
            "needs": ([r.industry.lower()] if r.industry and r.industry.lower() in expert else [])
            + ([region_need(r.region)] if options.geography and r.region else []),
        }
        for r in book
    ]


def move_reason(
    optimiser_reason: str | None,
    family_size: int,
    frozen: bool,
    leaves: bool,
    departure: Departure | None = None,
    arrival: Arrival | None = None,
    to_arrival: bool = False,
) -> str:
    """Why an account moves, in words. The optimiser's reason for its unit (none: it follows its parent,
    whose unit moved), led by the family it moves with, by the arrival it is carved for; a departure's
    accounts say only the departure and whether they wait with the interim owner."""
    if departure is not None and leaves:
        why = f"departure: {departure.name} leaves on {departure.on}; "
        return why + (INTERIM if frozen else REASSIGNED)
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
) -> list[ProposedMove]:
    """The accounts whose owner the optimiser's assignment changes (locked ones never move), each to its new
    rep's territory, with cause, rule, figures and a reason by name, in the units' order."""
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
            factors = move.factors if move else ()
            why = move_reason(
                explain(factors, names.rep) if move else None,
                len(member_keys),
                is_frozen,
                leaves,
                departure,
                arrival,
                to_arrival,
            )
            to_territory = territory_of.get(target, row.territory_id)
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
                    move_rule(factors, is_frozen, leaves, departure, to_arrival),
                    factors[0].amount if factors and not leaves else None,
                    () if leaves else factors,
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
) -> Proposal:
    """The proposal for a plan's book for the role: the optimiser's result and the moves it makes.
    `parents` (account -> parent) makes families move as one when the options (or the settings) keep
    families; `frozen`: the leaving rep's accounts with open pipeline (see `to_freeze`); `names`: what the
    reasons call accounts, reps and territories."""
    roots = family_roots(parents) if parents and keeps_families(settings, options) else {}
    accounts = balancing_accounts(book, settings, options, roots, frozen, departure)
    units, members = units_from_accounts(accounts)
    slots = rep_slots(reps, book, role, settings, departure, arrival, options.geography)
    result = optimise(
        units,
        slots,
        bands(settings, options),
        only_to=arrival.rep_id if arrival else None,
        progress=progress,
        should_stop=should_stop,
        name=names.any,
    )
    moves = proposed_moves(book, members, result, territories, settings, frozen, departure, arrival, names)
    rate = len(moves) / len(book) if book else None
    return Proposal(result, moves, rate, churn_warnings(rate, settings))
