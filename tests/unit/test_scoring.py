import dataclasses
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.defaults import DEFAULTS, PotentialModel, ScoringWeights, TierCutoffs, WinRates, apply_overrides
from domain.model import Account, OpportunityStatus, Segment
from domain.scoring import (
    account_potential,
    band,
    expansion_estimate,
    score_account,
    total_addressable_pipeline,
    win_rates,
)
from domain.tiering import matrix_cell, tier_accounts

T = uuid.uuid4()


def acct(**fields):
    return Account(uuid.uuid4(), T, "X", "x", **fields)


def test_bands_count_the_thresholds_reached():
    assert band(0, (10, 50, 100, 500)) == 1
    assert band(60, (10, 50, 100, 500)) == 3
    assert band(500, (10, 50, 100, 500)) == 5


def test_seed_001_growth_account_outscores_the_mature_one_on_potential_factors():
    # seed 001: "$50,000 growing at 40% with three unexplored business units has more potential than a
    # $200,000 account that has fully deployed and is growing at five percent"
    growing = acct(current_arr=50_000, growth_rate=0.40, expansion_estimate=300_000, engagement=80)
    mature = acct(current_arr=200_000, growth_rate=0.05, expansion_estimate=0, engagement=40)
    g, m = score_account(growing, DEFAULTS), score_account(mature, DEFAULTS)
    assert g.score > m.score
    by = {f.factor: f for f in g.factors}
    # hand-checked: current_revenue band(50k) = 3, expansion 1 + 4 * 0.8 = 4.2, growth band(0.40) = 5,
    # whitespace band(300k) = 4
    assert [by[n].value for n in ("current_revenue", "expansion", "industry_growth", "whitespace")] == [
        3,
        4.2,
        5,
        4,
    ]
    assert g.score == pytest.approx((3 + 4.2 + 5 + 4) / 4)
    assert g.confidence == 1.0


def test_missing_data_lowers_confidence_and_is_reported():
    s = score_account(acct(current_arr=600_000), DEFAULTS)  # only current revenue is known
    assert s.score == 5.0
    assert s.confidence == pytest.approx(0.25)
    assert set(s.missing_fields) == {"engagement", "growth_rate", "expansion_estimate"}
    assert [f.factor for f in s.factors if f.value is None] == ["expansion", "industry_growth", "whitespace"]


def test_weights_are_the_tenants_model():
    settings = apply_overrides(
        {
            "scoring": {
                "current_revenue": 3.0,
                "intent": 1.0,
                "expansion": 0.0,
                "industry_growth": 0.0,
                "whitespace": 0.0,
            }
        }
    )
    s = score_account(acct(current_arr=600_000, intent=0), settings)
    assert [f.factor for f in s.factors] == ["current_revenue", "intent"]
    assert s.score == pytest.approx((3 * 5 + 1 * 1) / 4)
    assert [f.contribution for f in s.factors] == pytest.approx([15 / 4, 1 / 4])


accounts = st.builds(
    acct,
    current_arr=st.floats(0, 1e7),
    growth_rate=st.one_of(st.none(), st.floats(-1, 5)),
    expansion_estimate=st.one_of(st.none(), st.floats(0, 1e7)),
    annual_revenue=st.one_of(st.none(), st.floats(0, 1e10)),
    engagement=st.one_of(st.none(), st.floats(0, 100)),
    intent=st.one_of(st.none(), st.floats(0, 100)),
    relationship=st.one_of(st.none(), st.floats(0, 100)),
    competitive=st.one_of(st.none(), st.floats(0, 100)),
)
weights = st.builds(
    ScoringWeights,
    **{
        f.name: st.floats(0, 10)
        for f in dataclasses.fields(ScoringWeights)
        if f.name not in ("scale_min", "scale_max")
    },
)


@given(accounts, weights)
def test_a_score_lies_in_1_to_5_and_its_contributions_add_up(account, w):
    s = score_account(account, dataclasses.replace(DEFAULTS, scoring=w))
    assert 1.0 <= s.score <= 5.0 + 1e-9
    assert sum(f.contribution for f in s.factors) == pytest.approx(s.score) or not s.factors
    assert 0.0 <= s.confidence <= 1.0


def test_win_rate_from_history_or_the_default_when_too_few():
    closed = [(Segment.SMB, OpportunityStatus.WON)] * 6 + [(Segment.SMB, OpportunityStatus.LOST)] * 14
    closed += [(Segment.ENTERPRISE, OpportunityStatus.WON)] * 3 + [(Segment.SMB, OpportunityStatus.OPEN)] * 50
    rates = win_rates(closed, WinRates(default_win_rate=0.2, min_closed_opportunities=20))
    assert (rates[Segment.SMB].rate, rates[Segment.SMB].source) == (0.30, "history")
    assert (rates[Segment.ENTERPRISE].rate, rates[Segment.ENTERPRISE].source) == (0.2, "default")


def test_potential_is_arr_plus_expansion_times_win_probability():
    rates = win_rates([], DEFAULTS.win_rates)
    p = account_potential(
        acct(current_arr=50_000, expansion_estimate=500_000, segment=Segment.SMB), rates, DEFAULTS.potential
    )
    assert p.dollars == 50_000 + 500_000 * 0.2
    assert total_addressable_pipeline(100, 133_000, 0.25) == 3_325_000


def test_seed_001_growth_account_has_more_potential_by_default_when_no_estimate_is_given():
    """Seed 001's example with nothing but its growth signals: the expansion estimate is derived
    (docs/domain.md, "Potential"), so the growing account ranks first by potential and by tier."""
    rates = win_rates([], DEFAULTS.win_rates)
    growing = acct(current_arr=50_000, growth_rate=0.40, whitespace_units=3)
    mature = acct(current_arr=200_000, growth_rate=0.05, whitespace_units=0)
    g, m = (account_potential(a, rates, DEFAULTS.potential) for a in (growing, mature))
    # by hand: 50,000 x (1 + 3) x 1.4^5 - 50,000 = 1,025,648; 200,000 x 1.05^5 - 200,000 = 55,256.3
    assert g.expansion_estimate == pytest.approx(1_025_648.0) and g.expansion_derived
    assert m.expansion_estimate == pytest.approx(55_256.3125)
    assert g.dollars == pytest.approx(255_129.6) and m.dollars == pytest.approx(211_051.2625)
    assert g.dollars > m.dollars
    others = {f"o{i}": 20_000.0 for i in range(8)}
    tiers = tier_accounts({"growing": g.dollars, "mature": m.dollars, **others}, TierCutoffs(0.1, 0.3))
    assert (tiers["growing"], tiers["mature"]) == (1, 2)

    # the whitespace factor scores the derived estimate too: band(1,025,648) = 5 against band(55,256) = 3
    def whitespace(account):
        return next(f.value for f in score_account(account, DEFAULTS).factors if f.factor == "whitespace")

    assert (whitespace(growing), whitespace(mature)) == (5, 3)


def test_a_given_estimate_wins_and_no_signals_derive_nothing():
    model = DEFAULTS.potential
    assert expansion_estimate(acct(current_arr=1e5, growth_rate=0.4, expansion_estimate=7.0), model) == (
        7.0,
        False,
    )
    assert expansion_estimate(acct(current_arr=1e5), model) == (None, False)
    # a shrinking account has no expansion; a jump of 900% counts as the cap (100% a year)
    assert expansion_estimate(acct(current_arr=1e5, growth_rate=-0.3), model) == (0.0, True)
    capped = expansion_estimate(acct(current_arr=1.0, growth_rate=9.0), model).dollars
    assert capped == 2.0**5 - 1
    assert expansion_estimate(acct(current_arr=10.0, whitespace_units=2), PotentialModel(3, 1.0)) == (
        20.0,
        True,
    )


def test_tiers_are_top_20_next_30_rest_50():
    potentials = {f"a{i}": float(i) for i in range(10)}
    tiers = tier_accounts(potentials, DEFAULTS.tiers)
    assert sorted(k for k, t in tiers.items() if t == 1) == ["a8", "a9"]
    assert sorted(k for k, t in tiers.items() if t == 2) == ["a5", "a6", "a7"]
    assert sum(1 for t in tiers.values() if t == 3) == 5


def test_tiers_follow_potential_not_current_revenue():
    rates = win_rates([], DEFAULTS.win_rates)
    mature = acct(current_arr=1_000_000, expansion_estimate=0, segment=Segment.ENTERPRISE)
    growing = acct(current_arr=50_000, expansion_estimate=6_000_000, segment=Segment.MID_MARKET)
    others = {f"o{i}": 10_000.0 for i in range(8)}
    potentials = {
        "mature": account_potential(mature, rates, DEFAULTS.potential).dollars,
        "growing": account_potential(growing, rates, DEFAULTS.potential).dollars,
        **others,
    }
    assert potentials["growing"] == 50_000 + 6_000_000 * 0.2 > potentials["mature"]
    tiers = tier_accounts(potentials, DEFAULTS.tiers)
    assert tiers["growing"] == 1 and tiers["mature"] == 1  # 2 of 10 accounts are tier 1
    assert tier_accounts(potentials, TierCutoffs(tier1_share=0.1, tier2_share=0.3))["growing"] == 1
    assert tier_accounts(potentials, TierCutoffs(tier1_share=0.1, tier2_share=0.3))["mature"] == 2


def test_absolute_thresholds_replace_the_shares():
    cut = TierCutoffs(tier1_min_potential=1_000_000, tier2_min_potential=200_000)
    assert tier_accounts({"a": 2e6, "b": 5e5, "c": 1e5}, cut) == {"a": 1, "b": 2, "c": 3}


@given(st.dictionaries(st.integers(), st.floats(0, 1e9), max_size=300), st.floats(0, 0.6), st.floats(0, 0.4))
def test_tier_shares_match_the_cutoffs_within_one_account(potentials, s1, s2):
    tiers = tier_accounts(potentials, TierCutoffs(tier1_share=s1, tier2_share=s2))
    n = len(potentials)
    count = {t: sum(1 for v in tiers.values() if v == t) for t in (1, 2, 3)}
    assert abs(count[1] - n * s1) <= 1
    assert abs(count[2] - n * s2) <= 1
    assert count[1] + count[2] + count[3] == n
    ranked = sorted(potentials, key=lambda k: potentials[k], reverse=True)
    # nobody in a lower tier has more potential than somebody in a higher one
    for a in ranked:
        for b in ranked:
            if potentials[a] > potentials[b]:
                assert tiers[a] <= tiers[b]


@pytest.mark.parametrize(
    ("arr", "growth", "rep_type"),
    [
        (600_000, 4.5, "Senior AE"),
        (600_000, 3.0, "Mid-level AE"),
        (600_000, 1.0, "Customer Success"),
        (200_000, 5.0, "Growth AE"),
        (50_000, 2.5, "Inside Sales"),
        (50_000, None, "Renewal automation"),
    ],
)
def test_tiering_matrix_of_seed_003(arr, growth, rep_type):
    assert matrix_cell(arr, growth, DEFAULTS.tiering_matrix).rep_type == rep_type


def test_tap_of_a_territory_spanning_segments():
    from domain.scoring import mixed_tap

    tap, missing = mixed_tap(
        {"enterprise": 2, "smb": 10, "mid_market": 0, None: 1},
        {"enterprise": 100_000.0, "smb": 5_000.0},
        {"enterprise": 0.3, "smb": 0.2, None: 0.2},
    )
    assert tap == 2 * 100_000 * 0.3 + 10 * 5_000 * 0.2  # 70,000
    assert missing == [None]  # ICP-fit accounts with no segment and no won deal to size them


def test_factors_are_read_onto_the_tenants_scale():
    """scale_min..scale_max is the factors' scale: 0-10 maps a band of 5 to 10 and of 1 to 0."""
    account = acct(current_arr=600_000, growth_rate=0.0, engagement=100, expansion_estimate=0)
    wide = apply_overrides({"scoring": {"scale_min": 0, "scale_max": 10}})
    values = {f.factor: f.value for f in score_account(account, wide).factors}
    assert values == {"current_revenue": 10, "expansion": 10, "industry_growth": 2.5, "whitespace": 0}
    assert {f.factor: f.value for f in score_account(account, DEFAULTS).factors}["industry_growth"] == 2


def test_a_run_rescores_every_account_only_when_the_settings_or_the_rules_changed():
    from domain.scoring import (
        RULES_REVISION,
        ScoringBasis,
        describe_moves,
        full_rescoring_reason,
        moved_win_rates,
    )

    now = ScoringBasis(7, {"smb": 0.3, "enterprise": 0.2, "": 0.2})
    assert full_rescoring_reason(now, ScoringBasis(7, dict(now.win_rates))) is None
    assert full_rescoring_reason(None, now) == "no scores were stored with their basis yet"
    assert (
        full_rescoring_reason(ScoringBasis(6, now.win_rates), now) == "the settings changed (version 6 -> 7)"
    )
    older = ScoringBasis(7, now.win_rates, RULES_REVISION - 1)
    assert full_rescoring_reason(older, now) == (
        f"the scoring rules changed (revision {RULES_REVISION - 1} -> {RULES_REVISION})"
    )
    # moved win rates revalue potentials; they do not rescore
    then = ScoringBasis(7, {"smb": 0.25, "enterprise": 0.2, "": 0.1})
    assert full_rescoring_reason(then, now) is None
    assert moved_win_rates(then, now) == {"": (0.1, 0.2), "smb": (0.25, 0.3)}
    assert moved_win_rates(now, now) == {}
    assert describe_moves(moved_win_rates(ScoringBasis(7, {"smb": 0.3}), now)) == (
        "no segment none -> 20.0%, enterprise none -> 20.0%"
    )
