"""The rules of a rebalance proposal (domain.rebalancing), on plain data: who takes part, what moves where,
and the reasons a proposal gives."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain import rebalancing as rules
from domain.balancing import Factor, Move, RepSlot, Result
from domain.defaults import DEFAULTS, EngagementRules
from domain.engagement import PolicyRule, RuleKind, default_policy
from domain.model import AssignmentReason
from domain.rebalancing import Arrival, Departure, Options


@dataclass(frozen=True)
class Owned:
    account_id: str
    rep_id: str
    potential: float = 100.0
    tier: int | None = 2
    locked: bool = False
    industry: str | None = None
    region: str | None = None
    territory_id: str | None = None
    assignment_id: str = ""
    segment: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "assignment_id", self.assignment_id or f"asg-{self.account_id}")
        object.__setattr__(self, "territory_id", self.territory_id or f"t-{self.rep_id}")


@dataclass(frozen=True)
class ActiveRep:
    id: str
    role: str = "AE"
    ramp_status: str = "ramped"
    expertise: list[str] = field(default_factory=list)
    capacity: float | None = None


@dataclass(frozen=True)
class Territory:
    id: str
    primary_rep_id: str | None


def territories(*reps: str) -> list[Territory]:
    return [Territory(f"t-{r}", r) for r in reps]


def book_of(owner: str, n: int, potential: float = 100.0, **kw: Any) -> list[Owned]:
    return [Owned(f"{owner}{i}", owner, potential, **kw) for i in range(n)]


LEAVING = Departure("L", "Lee Leaving", date(2026, 3, 31), "I")


def test_family_roots_follow_the_chain_to_its_top_and_stop_on_a_cycle():
    assert rules.family_roots({"c": "b", "b": "a", "x": "a"}) == {"c": "a", "b": "a", "x": "a"}
    roots = rules.family_roots({"a": "b", "b": "a"})
    assert set(roots) == {"a", "b"}  # a cycle (refused on write) ends the walk instead of looping


def test_a_departure_freezes_only_the_leaving_reps_accounts_and_only_with_an_interim_owner():
    book = book_of("L", 2) + book_of("A", 2)
    assert rules.to_freeze(book, LEAVING) == ["L0", "L1"]
    assert rules.to_freeze(book, dataclasses.replace(LEAVING, interim_rep_id=None)) == []
    assert rules.to_freeze(book, None) == []


def test_rep_slots_take_the_role_the_owners_the_interim_and_the_arrival_but_never_the_leaver():
    reps = [
        ActiveRep("A", expertise=["Healthcare"]),
        ActiveRep("L"),
        ActiveRep("I", role="CSM"),  # the interim owner, of another role
        ActiveRep("O", role="SDR"),  # owns an account in the book
        ActiveRep("X", role="SDR"),  # neither: left out
        ActiveRep("N", role="SDR", ramp_status="new_hire"),
    ]
    book = [Owned("a", "A", region="East"), Owned("o", "O"), Owned("l", "L", region="West")]
    arrival = Arrival("N", "Nia New", "new_hire", 0.5, "t-N")
    slots = {s.key: s for s in rules.rep_slots(reps, book, "AE", DEFAULTS, LEAVING, arrival, geography=True)}
    assert set(slots) == {"A", "I", "O", "N"}
    assert slots["A"].expertise == {"healthcare", "region:east"}
    assert slots["N"].share == 0.5 and slots["A"].share == 1.0
    assert slots["N"].capacity == slots["A"].capacity / 2  # a new hire sells half the hours
    plain = {s.key: s for s in rules.rep_slots(reps, book, "AE", DEFAULTS)}
    assert set(plain) == {"A", "L", "O"} and plain["A"].expertise == {"healthcare"}


def test_balancing_accounts_lock_everyone_but_the_leaver_and_park_frozen_accounts_with_the_interim():
    settings = dataclasses.replace(
        DEFAULTS, equity=dataclasses.replace(DEFAULTS.equity, expertise_industries=("Healthcare",))
    )
    book = [
        Owned("l0", "L", industry="healthcare", region="East"),
        Owned("l1", "L", industry="retail"),
        Owned("a0", "A", tier=1),
    ]
    accounts = {
        a["key"]: a
        for a in rules.balancing_accounts(
            book, settings, Options(geography=True), {"l0": "p", "l1": "p"}, {"l0"}, LEAVING
        )
    }
    assert accounts["l0"]["rep"] == "I" and accounts["l0"]["locked"] and accounts["l0"]["family"] is None
    assert accounts["l0"]["needs"] == ["healthcare", "region:east"]
    assert accounts["l1"]["rep"] == "L" and not accounts["l1"]["locked"] and accounts["l1"]["family"] == "p"
    assert accounts["l1"]["needs"] == []  # retail is not an expertise industry
    assert accounts["a0"]["locked"]  # a departure moves only the leaving rep's accounts
    assert accounts["a0"]["cost"] > accounts["l1"]["cost"]  # a tier-1 move costs more
    no_expertise = rules.balancing_accounts(book, settings, Options(expertise=False))
    assert all(a["needs"] == [] and not a["locked"] for a in no_expertise)


def test_the_reason_sentences():
    arrival = Arrival("N", "Nia New", "new_hire", 0.5, "t-N")
    assert rules.move_reason("over its band", 1, False, False) == "over its band"
    assert rules.move_reason(None, 2, False, False) == "family: stays with the parent account's owner"
    assert (
        rules.move_reason("over its band", 3, False, False)
        == "family: moves with its parent, 3 accounts as one; over its band"
    )
    assert rules.move_reason("over its band", 1, False, False, arrival=arrival, to_arrival=True) == (
        "arrival: carving a book for Nia New (new_hire, 50% of an even share); over its band"
    )
    assert rules.move_reason("over its band", 2, True, True, LEAVING) == (
        "departure: Lee Leaving leaves on 2026-03-31; interim owner of open pipeline"
    )
    assert rules.move_reason("over its band", 2, False, True, LEAVING) == (
        "departure: Lee Leaving leaves on 2026-03-31; "
        "reassigned, tier-1 accounts first, to a rep with room in its bands"
    )


def test_moves_follow_the_optimisers_assignment_family_by_family():
    book = [Owned("p", "A"), Owned("c", "A"), Owned("k", "A", locked=True), Owned("s", "B")]
    members = {"p": ["p", "c"], "k": ["k"], "s": ["s"]}
    result = Result(moves=[Move("p", "A", "B", 2.0, 200.0, (Factor("above_band", "A", 665.0),))])
    result.assignment = {"p": "B", "k": "B", "s": "B"}
    names = rules.Names({"p": "Parent Co"}, {"A": "Ann Ames", "B": "Bo Berg"}, {"t-A": "West", "t-B": "East"})
    moves = rules.proposed_moves(book, members, result, territories("A", "B"), DEFAULTS, names=names)
    assert [(m.account_id, m.from_rep, m.to_rep, m.territory_id) for m in moves] == [
        ("p", "A", "B", "t-B"),
        ("c", "A", "B", "t-B"),
    ]  # the locked account stays, whatever the assignment says; B's own account does not move
    # names in the words, ids and figures in the fields (docs/domain.md, Move reasons)
    assert moves[0].reason == (
        "Move Parent Co from Ann Ames's territory West to Bo Berg's territory East: family: moves with its "
        "parent, 2 accounts as one; balance: Ann Ames was 665 above the band's top"
    )
    assert (moves[0].rule, moves[0].amount, moves[0].from_territory_id) == ("balance", 665.0, "t-A")
    assert moves[0].factors == (Factor("above_band", "A", 665.0),)
    assert moves[1].reason.startswith("Move c from Ann Ames's territory West")  # no name: its id
    assert {m.cause for m in moves} == {AssignmentReason.REBALANCE}
    assert moves[0].assignment_id == "asg-p" and not moves[0].locked
    # a rep without a territory of its own keeps the account in its territory
    assert rules.proposed_moves(book, members, result, [], DEFAULTS)[0].territory_id == "t-A"


def test_an_unbalanced_book_moves_accounts_to_the_rep_with_room():
    book = book_of("A", 6) + book_of("B", 2)
    proposal = rules.propose(book, [ActiveRep("A"), ActiveRep("B")], territories("A", "B"), "AE", DEFAULTS)
    assert proposal.moves and all((m.from_rep, m.to_rep) == ("A", "B") for m in proposal.moves)
    assert all(m.territory_id == "t-B" and m.cause == AssignmentReason.REBALANCE for m in proposal.moves)
    assert len(proposal.moves) == 2  # 4 each: the fewest moves into the band
    assert proposal.movement_rate == pytest.approx(2 / 8)
    assert proposal.warnings == ["25% of the accounts would move: above the 15% a quarter that is churn"]


def test_a_balanced_book_moves_nothing():
    book = book_of("A", 3) + book_of("B", 3)
    proposal = rules.propose(book, [ActiveRep("A"), ActiveRep("B")], territories("A", "B"), "AE", DEFAULTS)
    assert proposal.moves == [] and proposal.movement_rate == 0 and proposal.warnings == []


def test_a_departure_parks_open_pipeline_with_the_interim_and_spreads_the_rest():
    book = book_of("L", 3) + book_of("A", 3) + book_of("I", 3)
    reps = [ActiveRep("L"), ActiveRep("A"), ActiveRep("I")]
    proposal = rules.propose(
        book, reps, territories("L", "A", "I"), "AE", DEFAULTS, frozen={"L0"}, departure=LEAVING
    )
    moved = {m.account_id: m for m in proposal.moves}
    assert set(moved) == {"L0", "L1", "L2"}  # only the leaver's accounts move, all of them
    assert moved["L0"].to_rep == "I" and moved["L0"].locked
    assert moved["L0"].reason == (
        "Move L0 from L to I: departure: Lee Leaving leaves on 2026-03-31; interim owner of open pipeline"
    )
    assert (moved["L0"].rule, moved["L1"].rule) == ("interim", "departure")
    for key in ("L1", "L2"):
        assert moved[key].to_rep in {"A", "I"} and not moved[key].locked
        assert moved[key].reason.endswith(rules.REASSIGNED)
    assert {m.cause for m in proposal.moves} == {AssignmentReason.DEPARTURE}


def test_an_arrival_takes_its_share_from_the_others_and_only_moves_go_to_it():
    book = book_of("A", 6) + book_of("B", 6)
    arrival = Arrival("N", "Nia New", "new_hire", 0.5, "t-N")
    reps = [ActiveRep("A"), ActiveRep("B"), ActiveRep("N", ramp_status="new_hire")]
    proposal = rules.propose(book, reps, territories("A", "B", "N"), "AE", DEFAULTS, arrival=arrival)
    assert proposal.moves and all(m.to_rep == "N" and m.territory_id == "t-N" for m in proposal.moves)
    assert {m.cause for m in proposal.moves} == {AssignmentReason.ARRIVAL}
    assert all(
        m.reason.startswith("Move ")
        and m.rule == "arrival"
        and ": arrival: carving a book for Nia New (new_hire, 50% of an even share); " in m.reason
        for m in proposal.moves
    )
    # half an even share of 12 accounts over 2.5 shares: 2 or 3 of them
    assert 2 <= len(proposal.moves) <= 3


def test_families_move_as_one_unless_the_options_or_the_settings_split_them():
    book = [Owned("p", "A", 300.0), Owned("c", "A", 300.0), *book_of("B", 1, 200.0), *book_of("C", 1, 200.0)]
    reps = [ActiveRep("A"), ActiveRep("B"), ActiveRep("C")]
    parents = {"c": "p"}
    kept = rules.propose(book, reps, territories("A", "B", "C"), "AE", DEFAULTS, parents=parents)
    assert all(m.account_id not in {"p", "c"} for m in kept.moves)  # 600 as one cannot move to room of 200
    split = rules.propose(
        book, reps, territories("A", "B", "C"), "AE", DEFAULTS, Options(keep_families=False), parents
    )
    assert len([m for m in split.moves if m.account_id in {"p", "c"}]) == 1
    equity = dataclasses.replace(DEFAULTS.equity, keep_families=False)
    no_families = dataclasses.replace(DEFAULTS, equity=equity)
    assert not rules.keeps_families(no_families, Options()) and rules.keeps_families(
        no_families, Options(keep_families=True)
    )


def test_options_override_the_tenants_bands():
    assert rules.bands(DEFAULTS, Options()).potential == DEFAULTS.equity.balance_potential_band
    assert rules.bands(DEFAULTS, Options(potential_band=0.3, capacity_band=0.0)).capacity == 0.0
    assert rules.bands(DEFAULTS, Options(potential_band=0.3)).potential == 0.3


# --- the rules of engagement in departures and arrivals (docs/domain.md, Departures and arrivals) -------

POLICY = default_policy(EngagementRules())
TODAY = date(2026, 3, 1)
TOUCHED = datetime(2026, 2, 20, tzinfo=UTC)
NAMES = rules.Names(
    reps={"L": "Lee Leaving", "A": "Ann Ames", "B": "Bo Berg", "I": "Ivy Interim", "N": "Nia New"},
    territories={"t-A": "West", "t-B": "East", "t-L": "North"},
)


def _departure(evidence: rules.Evidence | None, reps: list[ActiveRep] | None = None) -> rules.Proposal:
    book = book_of("L", 3) + book_of("A", 3) + book_of("B", 3)
    return rules.propose(
        book,
        reps or [ActiveRep("L"), ActiveRep("A"), ActiveRep("B")],
        territories("L", "A", "B"),
        "AE",
        DEFAULTS,
        departure=dataclasses.replace(LEAVING, interim_rep_id=None),
        names=NAMES,
        evidence=evidence,
    )


def test_a_departing_reps_account_goes_to_the_rep_with_an_existing_relationship():
    evidence = rules.Evidence(POLICY, TODAY, touches={"L0": {"B": (3, TOUCHED)}})
    moved = {m.account_id: m for m in _departure(evidence).moves}
    assert set(moved) == {"L0", "L1", "L2"}
    assert (moved["L0"].to_rep, moved["L0"].territory_id, moved["L0"].rule) == (
        "B",
        "t-B",
        "existing_relationship",
    )
    assert moved["L0"].reason == (
        "Move L0 from Lee Leaving's territory North to Bo Berg's territory East: departure: Lee Leaving "
        "leaves on 2026-03-31; existing relationship: Bo Berg has 3 meaningful touches in the last 90 days"
    )
    assert moved["L0"].factors == (Factor("meaningful_touches", "B", 3.0),) and moved["L0"].amount == 3.0
    assert moved["L0"].cause == AssignmentReason.DEPARTURE and not moved["L0"].locked
    # the others: no rule names a rep, the room-based choice stands and the reason says so
    for key in ("L1", "L2"):
        assert moved[key].rule == "departure" and moved[key].factors == ()
        assert moved[key].reason.endswith(f"; {rules.NO_POLICY_REP}: {rules.REASSIGNED}")


def test_a_sourced_opportunity_is_a_relationship_and_a_tie_between_relationships_is_said():
    evidence = rules.Evidence(
        POLICY,
        TODAY,
        touches={"L1": {"A": (2, TOUCHED), "B": (4, TOUCHED)}},
        sourced={"L0": {"A": 1}},
    )
    moved = {m.account_id: m for m in _departure(evidence).moves}
    assert moved["L0"].to_rep == "A" and moved["L0"].reason.endswith(
        "existing relationship: Ann Ames sourced 1 opportunity still open or recently won"
    )
    assert moved["L0"].factors == (
        Factor("meaningful_touches", "A", 0.0),
        Factor("sourced_opportunities", "A", 1.0),
    )
    # both have a relationship: the tiebreak (most touches first) picks Bo, and the words say so
    assert (moved["L1"].to_rep, moved["L1"].rule) == ("B", "tiebreak")
    assert moved["L1"].reason.endswith(
        "existing relationship: Bo Berg has 4 meaningful touches in the last 90 days, Ann Ames has 2 "
        "meaningful touches in the last 90 days; the tiebreak picks Bo Berg"
    )


def test_without_evidence_the_room_rule_decides():
    # one touch is below the policy's two: no relationship, so the same rep as without any evidence
    weak = rules.Evidence(POLICY, TODAY, touches={"L0": {"B": (1, TOUCHED)}})
    with_weak = {m.account_id: m.to_rep for m in _departure(weak).moves}
    without = {m.account_id: m.to_rep for m in _departure(None).moves}
    assert with_weak == without
    assert all(m.rule == "departure" and rules.NO_POLICY_REP in m.reason for m in _departure(weak).moves)
    assert all(rules.NO_POLICY_REP not in m.reason for m in _departure(None).moves)


def test_a_departed_rep_or_the_leaving_rep_never_gets_an_account():
    evidence = rules.Evidence(
        POLICY,
        TODAY,
        touches={"L0": {"X": (9, TOUCHED), "L": (9, TOUCHED)}, "L1": {"Y": (9, TOUCHED)}},
        named={"L2": [("t-L", "L")]},
        left={"X"},
    )
    # X has left (so is not among the active reps, and is marked); Y is no rep that takes part (another
    # role's); L2 is named by the leaver's own territory; the leaver touched L0 most
    moves = _departure(evidence).moves
    assert {m.to_rep for m in moves} <= {"A", "B"} and len(moves) == 3
    assert all(m.rule == "departure" for m in moves)
    # a rep who has left is never the policy's choice, even among the reps taking part
    book = book_of("L", 1)
    slots = [RepSlot("A"), RepSlot("X")]
    assert rules.departure_placements(book, LEAVING, (), evidence, slots, DEFAULTS, 0.2) == ({}, {})


def test_a_territory_naming_the_account_gets_it_in_that_territory():
    evidence = rules.Evidence(
        POLICY, TODAY, touches={"L0": {"B": (5, TOUCHED)}}, named={"L0": [("t-A", "A")]}
    )
    moved = {m.account_id: m for m in _departure(evidence).moves}
    # named_account comes before existing_relationship in the default policy
    assert (moved["L0"].to_rep, moved["L0"].territory_id, moved["L0"].rule) == ("A", "t-A", "named_account")
    assert moved["L0"].reason.endswith("named account: Ann Ames's territory West names the account")
    assert moved["L0"].factors == (Factor("named_account", "A"),)


def test_capacity_bands_still_count_for_the_policys_choice():
    evidence = rules.Evidence(POLICY, TODAY, touches={"L0": {"B": (3, TOUCHED)}})
    full = [ActiveRep("L"), ActiveRep("A"), ActiveRep("B", capacity=1.0)]  # B's own book is over it
    moved = {m.account_id: m for m in _departure(evidence, full).moves}
    assert moved["L0"].to_rep != "B" and moved["L0"].rule == "departure"
    assert moved["L0"].reason.endswith(
        "existing relationship: Bo Berg has 3 meaningful touches in the last 90 days, but Bo Berg has no "
        f"room in its capacity band: {rules.REASSIGNED}"
    )
    # when nobody has room, the band cannot decide: the relationship does
    everyone_full = [ActiveRep("L"), ActiveRep("A", capacity=1.0), ActiveRep("B", capacity=1.0)]
    moved = {m.account_id: m for m in _departure(evidence, everyone_full).moves}
    assert (moved["L0"].to_rep, moved["L0"].rule) == ("B", "existing_relationship")


def _arrival(evidence: rules.Evidence) -> rules.Proposal:
    book = book_of("A", 6) + book_of("B", 6)
    reps = [ActiveRep("A"), ActiveRep("B"), ActiveRep("N", ramp_status="new_hire")]
    arrival = Arrival("N", "Nia New", "new_hire", 0.5, "t-N")
    return rules.propose(
        book,
        reps,
        territories("A", "B", "N"),
        "AE",
        DEFAULTS,
        arrival=arrival,
        names=NAMES,
        evidence=evidence,
    )


def test_an_arrival_keeps_a_named_account_and_a_relationship_account_with_their_owner_and_lists_them():
    named = {f"{r}{i}": [(f"t-{r}", r)] for r in "AB" for i in range(3)}  # half of each book is named
    evidence = rules.Evidence(
        POLICY,
        TODAY,
        named=named,
        touches={"A3": {"A": (2, TOUCHED)}, "B3": {"B": (3, TOUCHED), "N": (3, TOUCHED)}},
    )
    proposal = _arrival(evidence)
    kept = {k.account_id: k for k in proposal.kept}
    assert set(kept) == set(named) | {"A3"}  # B3: the newcomer has a relationship too, so nothing keeps it
    assert (kept["A0"].owner, kept["A0"].rule, kept["A0"].sentence) == (
        "A",
        "named_account",
        POLICY.rule(RuleKind.NAMED_ACCOUNT).sentence,  # type: ignore[union-attr]
    )
    assert kept["A0"].reason == "named account: Ann Ames's territory West names the account"
    assert kept["A3"].rule == "existing_relationship"
    assert kept["A3"].reason == "existing relationship: Ann Ames has 2 meaningful touches in the last 90 days"
    moved = {m.account_id for m in proposal.moves}
    assert moved and not moved & set(kept) and moved <= {"A4", "A5", "B3", "B4", "B5"}
    assert all(m.to_rep == "N" for m in proposal.moves)


def test_ramp_protection_keeps_a_new_hires_accounts_in_an_arrival():
    ramp = PolicyRule(RuleKind.RAMP_PROTECTION, "ramp_protection", {"days": 90})
    policy = dataclasses.replace(POLICY, rules=(ramp, *POLICY.rules))
    evidence = rules.Evidence(policy, TODAY, started={"A": date(2026, 1, 15), "B": date(2020, 1, 1)})
    proposal = _arrival(evidence)
    assert {k.account_id for k in proposal.kept} == {f"A{i}" for i in range(6)}
    assert proposal.kept[0].reason == "ramp protection: Ann Ames started 45 days ago, within the first 90"
    assert proposal.moves and all(m.from_rep == "B" for m in proposal.moves)
    # an owner who has left keeps nothing
    gone = dataclasses.replace(evidence, left={"A"})
    assert _arrival(gone).kept == []


def test_an_arrival_into_a_book_the_policy_keeps_whole_carves_nothing_and_says_so():
    named = {f"{r}{i}": [(f"t-{r}", r)] for r in "AB" for i in range(6)}
    proposal = _arrival(rules.Evidence(POLICY, TODAY, named=named))
    assert proposal.moves == [] and len(proposal.kept) == 12
    assert "Nia New: potential 0 is 216 below the band" in proposal.result.violations
