"""Rules of engagement: each rule with the worked cases of docs/domain.md, "Rules of engagement"."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.defaults import EngagementRules
from domain.engagement import (
    Candidate,
    ClaimKind,
    OpenDeal,
    RuleKind,
    TieKey,
    accountable_owner,
    claim_kind,
    claim_kinds,
    deal_owners_after_move,
    deals_in_flight,
    decide,
    default_policy,
    next_quarter_start,
    parse_policy,
    policy_to_dict,
    role_check,
    role_for,
    segment_change_effective,
    tie_order,
)
from domain.errors import ValidationFailed
from domain.model import Role, Stage

POLICY = default_policy(EngagementRules())
TODAY = date(2026, 12, 2)


def rep(name: str, **kw) -> Candidate:
    return Candidate(rep_id=name.lower(), rep_name=name, **kw)


def test_relationship_beats_the_hq_boundary():
    # the HQ is in James's boundary and James owns it; Sarah has worked the decision-makers in her region
    james = rep("James", territory_name="East", boundary_priority=1, owner_of_record=True)
    sarah = rep("Sarah", territory_name="West", meaningful_touches=4, last_touch_at=datetime(2026, 11, 20))
    ruling = decide([james, sarah], POLICY, TODAY)
    assert ruling.owner == sarah
    assert ruling.rule == "existing_relationship"
    assert "Sarah (West) by existing_relationship: 4 meaningful touches" in ruling.reason
    assert "James: 0 meaningful touches" in ruling.reason
    assert "headquarters" in ruling.sentence


def test_a_sourced_opportunity_is_a_relationship_unless_the_policy_says_not():
    james = rep("James", boundary_priority=1)
    sarah = rep("Sarah", sourced_opportunities=1)
    assert decide([james, sarah], POLICY, TODAY).owner == sarah
    strict = parse_policy(
        {
            "rules": [
                {
                    "kind": "existing_relationship",
                    "min_touches": 2,
                    "window_days": 90,
                    "sourced_counts": False,
                },
                {"kind": "boundary"},
            ]
        },
        POLICY,
    )
    assert decide([james, sarah], strict, TODAY).owner == james


def test_territory_of_record_decides_between_two_relationships():
    owner = rep("Ana", owner_of_record=True, meaningful_touches=2)
    claimant = rep("Ben", meaningful_touches=9)
    ruling = decide([owner, claimant], POLICY, TODAY)
    assert (ruling.owner, ruling.rule) == (owner, "territory_of_record")
    assert [s.code for s in ruling.steps] == ["named_account", "existing_relationship", "territory_of_record"]


def test_a_named_account_beats_every_rule_after_it():
    named = rep("Nia", territory_name="Strategic", named=True)
    other = rep("Omar", meaningful_touches=12, owner_of_record=True, boundary_priority=9)
    assert decide([named, other], POLICY, TODAY).rule == "named_account"


def test_the_order_of_the_policy_is_the_order_rules_are_asked():
    a = rep("A", owner_of_record=True)
    b = rep("B", boundary_priority=1)
    record_first = parse_policy({"rules": [{"kind": "territory_of_record"}, {"kind": "boundary"}]}, POLICY)
    boundary_first = parse_policy({"rules": [{"kind": "boundary"}, {"kind": "territory_of_record"}]}, POLICY)
    assert decide([a, b], record_first, TODAY).owner == a
    assert decide([a, b], boundary_first, TODAY).owner == b


def test_a_tie_is_broken_by_the_stated_order_and_never_left_without_an_owner():
    a = rep("Zoe", meaningful_touches=1, last_touch_at=datetime(2026, 11, 1), started_on=date(2020, 1, 1))
    b = rep("Yan", meaningful_touches=1, last_touch_at=datetime(2026, 11, 9), started_on=date(2024, 1, 1))
    ruling = decide([a, b], POLICY, TODAY)
    assert (ruling.owner, ruling.rule) == (b, "tiebreak")  # same touches; Yan touched it last
    by_tenure = parse_policy({"tiebreak": ["longest_tenure"]}, POLICY)
    assert decide([a, b], by_tenure, TODAY).owner == a
    by_name = parse_policy({"tiebreak": []}, POLICY)
    c = Candidate(rep_id="2", rep_name="X")
    d = Candidate(rep_id="1", rep_name="X")
    assert decide([c, d], by_name, TODAY).owner == d  # the rep's id is the last word


def test_departed_reps_never_own_and_nobody_is_listed_not_dropped():
    gone = rep("Gus", owner_of_record=True, departed=True)
    stays = rep("Hal", boundary_priority=1)
    ruling = decide([gone, stays], POLICY, TODAY)
    assert ruling.owner == stays and ruling.excluded == ("Gus",)
    none = decide([gone], POLICY, TODAY)
    assert none.owner is None and none.rule == "no_candidate" and "Gus departed" in none.reason


def test_ramp_protection_and_lease():
    policy = parse_policy(
        {
            "rules": [
                {"kind": "ramp_protection", "days": 90},
                {"kind": "lease", "days": 60},
                {"kind": "territory_of_record"},
                {"kind": "boundary"},
            ]
        },
        POLICY,
    )
    newbie = rep("New", owner_of_record=True, started_on=date(2026, 10, 1), owner_since=date(2026, 10, 1))
    veteran = rep("Vet", boundary_priority=1)
    assert decide([newbie, veteran], policy, TODAY).rule == "ramp_protection"
    idle = rep("Idle", owner_of_record=True, started_on=date(2019, 1, 1), last_touch_at=datetime(2026, 8, 1))
    ruling = decide([idle, veteran], policy, TODAY)
    assert (ruling.owner, ruling.rule) == (veteran, "lease")  # untouched 123 days: back to the pool
    busy = rep(
        "Busy", owner_of_record=True, started_on=date(2019, 1, 1), last_touch_at=datetime(2026, 11, 30)
    )
    assert decide([busy, veteran], policy, TODAY).owner == busy


def test_roles_own_their_claims_and_the_grey_zones_are_explicit():
    assert role_for(claim_kind(Stage.PIPELINE, engaged=True), POLICY) is Role.AE
    assert role_for(claim_kind(Stage.COLD, engaged=False), POLICY) is Role.SDR
    assert role_for(claim_kind(Stage.CUSTOMER, engaged=True), POLICY) is Role.CSM
    assert claim_kind(Stage.LAPSED, engaged=False) is ClaimKind.REENGAGEMENT
    assert role_for(ClaimKind.REENGAGEMENT, POLICY) is Role.AE
    assert role_for(claim_kind(Stage.CUSTOMER, engaged=True, expansion=True), POLICY) is Role.AE
    csm_expands = default_policy(EngagementRules(expansion_role="CSM"))
    assert role_for(ClaimKind.EXPANSION, csm_expands) is Role.CSM


def test_the_parent_owner_is_accountable_from_the_threshold_up():
    names = {"p": "Priya"}
    big = accountable_owner(250_000, "s", "p", POLICY, names=names)
    assert big.owner == "p" and big.parent_involved and "Priya" in big.reason
    small = accountable_owner(99_999, "s", "p", POLICY, names=names)
    assert small.owner == "s" and not small.parent_involved
    assert accountable_owner(1e6, "s", None, POLICY).owner == "s"


def test_in_flight_deals_stay_with_their_rep():
    deals = [OpenDeal("o1", "ana"), OpenDeal("o2", "ben")]
    assert deal_owners_after_move(deals, "cy", POLICY) == {"o1": "ana", "o2": "ben"}
    moving = parse_policy({"in_flight_deals_stay": False}, POLICY)
    assert deal_owners_after_move(deals, "cy", moving) == {"o1": "cy", "o2": "cy"}


def test_a_segment_change_waits_for_the_next_quarterly_review():
    review = next_quarter_start(date(2026, 11, 17))
    assert review == date(2027, 1, 1)
    assert segment_change_effective(date(2026, 11, 17), review, POLICY) == review
    at_once = parse_policy({"segment_change_at_review": False}, POLICY)
    assert segment_change_effective(date(2026, 11, 17), review, at_once) == date(2026, 11, 17)
    assert next_quarter_start(date(2026, 3, 31)) == date(2026, 4, 1)


def test_a_policy_round_trips_and_bad_ones_name_every_field():
    assert parse_policy(policy_to_dict(POLICY), POLICY) == POLICY
    with pytest.raises(ValidationFailed) as caught:
        parse_policy(
            {
                "rules": [
                    {"kind": "existing_relationship", "min_touches": 0},
                    {"kind": "boundary", "code": "b"},
                    {"kind": "boundary", "code": "b", "extra": 1},
                    {"kind": "telepathy"},
                ],
                "tiebreak": ["rep_name", "rep_name", "coin"],
                "roles": {"post_sale": "CEO"},
                "parent_deal_threshold": float("inf"),
                "frozen": True,
            },
            POLICY,
        )
    fields = {(e.field, e.code) for e in caught.value.errors}
    assert {
        ("rules[0].min_touches", "out_of_range"),
        ("rules[0].window_days", "required"),
        ("rules[2].code", "duplicate_name"),
        ("rules[2].extra", "unknown_field"),
        ("rules[3].kind", "invalid_choice"),
        ("tiebreak", "invalid_value"),
        ("tiebreak[2]", "invalid_choice"),
        ("roles.post_sale", "invalid_choice"),
        ("parent_deal_threshold", "out_of_range"),
        ("frozen", "unknown_field"),
    } <= fields


def test_the_policy_reads_as_sentences_in_order():
    text = POLICY.sentences()
    assert text[0].startswith("1. A named account")
    assert "2 meaningful touches in the last 90 days" in text[1]
    assert text[-1].startswith("5. Still level: the rep with the most meaningful touches")


candidates = st.lists(
    st.builds(
        Candidate,
        rep_id=st.integers(0, 30),
        rep_name=st.sampled_from(["Ana", "Ben", "Cy", "Di", "Eve", "Fay"]),
        boundary_priority=st.none() | st.integers(0, 3),
        named=st.booleans(),
        owner_of_record=st.booleans(),
        meaningful_touches=st.integers(0, 5),
        last_touch_at=st.none() | st.datetimes(datetime(2025, 1, 1), datetime(2026, 12, 1)),
        sourced_opportunities=st.integers(0, 2),
        started_on=st.none() | st.dates(date(2015, 1, 1), date(2026, 12, 1)),
        departed=st.booleans(),
    ),
    max_size=6,
    unique_by=(lambda c: c.rep_id, lambda c: c.rep_name),
)


@given(candidates, st.randoms())
def test_deciding_is_deterministic_whatever_the_order_of_the_evidence(cands, rnd):
    shuffled = list(cands)
    rnd.shuffle(shuffled)
    first, second = decide(cands, POLICY, TODAY), decide(shuffled, POLICY, TODAY)
    assert (first.owner, first.rule) == (second.owner, second.rule)
    live = [c for c in cands if not c.departed]
    assert (first.owner is None) == (not live)  # an owner whenever someone can own it
    assert first.owner is None or first.owner in live


@given(candidates)
def test_the_first_rule_that_singles_out_a_rep_decides(cands):
    ruling = decide(cands, POLICY, TODAY)
    live = [c for c in cands if not c.departed]
    if len(live) < 2:
        return
    named = [c for c in live if c.named]
    if len(named) == 1:
        assert (ruling.owner, ruling.rule) == (named[0], "named_account")
    if ruling.rule == "tiebreak":
        level = [c for c in live if all(c.rep_name in s.kept for s in ruling.steps if s.narrowed)]
        assert ruling.owner == tie_order(level, POLICY.tiebreak)[0]
    assert ruling.rule in {r.code for r in POLICY.rules} | {"tiebreak"}


PARAMS = {
    RuleKind.EXISTING_RELATIONSHIP: {"min_touches": 1, "window_days": 30},
    RuleKind.LEASE: {"days": 30},
    RuleKind.RAMP_PROTECTION: {"days": 30},
}


def test_every_rule_kind_can_be_written_and_read():
    policy = parse_policy({"rules": [{"kind": k.value, **PARAMS.get(k, {})} for k in RuleKind]}, POLICY)
    assert [r.kind for r in policy.rules] == list(RuleKind)
    assert all(sentence[3:] for sentence in policy.sentences())
    assert parse_policy({"tiebreak": [k.value for k in TieKey]}, POLICY).tiebreak == tuple(TieKey)


def test_an_in_flight_deal_is_shown_staying_with_its_rep_or_following_the_owner():
    names = {"sarah": "Sarah Chen", "james": "James Park"}
    deals = [OpenDeal("o1", "sarah"), OpenDeal("o2", "james"), OpenDeal("o3", None)]
    stays = deals_in_flight(deals, "james", POLICY, names)
    assert [(d.rep_id, d.works_it, d.note) for d in stays] == [
        ("sarah", "sarah", "in-flight deal stays with Sarah Chen (policy: in_flight_deals_stay)"),
        ("james", "james", None),
        (None, "james", None),  # a deal with no rep is the account owner's
    ]
    follows = deals_in_flight(deals, "james", parse_policy({"in_flight_deals_stay": False}, POLICY), names)
    assert (follows[0].rep_id, follows[0].works_it) == ("sarah", "james")  # its rep of record is kept
    assert follows[0].note == (
        "in-flight deal follows the account owner James Park (policy: in_flight_deals_stay off); "
        "its rep of record stays Sarah Chen"
    )
    assert deals_in_flight(deals[:1], None, POLICY, names)[0].note is None  # no owner: nothing to compare
    gone = deals_in_flight(deals[:1], "james", POLICY, names, left={"sarah"})[0]
    assert (gone.rep_id, gone.works_it) == ("sarah", "james")  # the interim owner works a leaver's deal
    assert gone.note == "Sarah Chen has left: the account owner James Park works the in-flight deal"


def test_the_claim_kind_decides_which_role_may_claim_an_account():
    # an SDR's outbound claim is good while nobody has engaged the account, refused once someone has
    cold = role_check(Role.SDR, Stage.COLD, engaged=False, policy=POLICY)
    assert cold.allowed and cold.kind is ClaimKind.OUTBOUND
    engaged = role_check(Role.SDR, Stage.PROSPECTED, engaged=True, policy=POLICY, touches=3)
    assert not engaged.allowed and engaged.kind is None
    assert engaged.sentence == (
        "The SDR role has no claim here: the account is prospected and engaged (3 meaningful touches in "
        "the relationship window), so a claim on it is new business, which belongs to the AE "
        "(roles.new_business)."
    )
    # the AE owns new business, cold or not; the CSM the post-sale relationship
    assert role_check(Role.AE, Stage.COLD, engaged=False, policy=POLICY).kind is ClaimKind.NEW_BUSINESS
    assert role_check(Role.AE, Stage.PIPELINE, engaged=True, policy=POLICY).kind is ClaimKind.NEW_BUSINESS
    assert role_check(Role.CSM, Stage.CUSTOMER, engaged=True, policy=POLICY).kind is ClaimKind.POST_SALE
    assert not role_check(Role.CSM, Stage.PIPELINE, engaged=True, policy=POLICY).allowed
    assert not role_check(Role.SDR, Stage.CUSTOMER, engaged=False, policy=POLICY).allowed
    # the grey zones: expansion and winning back a lapsed customer are the AE's by default
    assert role_check(Role.AE, Stage.CUSTOMER, engaged=True, policy=POLICY).kind is ClaimKind.EXPANSION
    lapsed = role_check(Role.CSM, Stage.LAPSED, engaged=False, policy=POLICY)
    assert (
        not lapsed.allowed and "winning back a churned customer, which belongs to the AE" in lapsed.sentence
    )
    csm_wins_back = parse_policy({"roles": {"reengagement": "CSM", "expansion": "CSM"}}, POLICY)
    assert role_check(Role.CSM, Stage.LAPSED, engaged=False, policy=csm_wins_back).allowed
    assert not role_check(Role.AE, Stage.CUSTOMER, engaged=True, policy=csm_wins_back).allowed
    assert claim_kinds(Stage.ACTIVE_DEAL, engaged=False) == (ClaimKind.NEW_BUSINESS,)
