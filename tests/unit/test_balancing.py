from hypothesis import given, settings
from hypothesis import strategies as st

from domain.balancing import Bands, RepSlot, Unit, lower_bound, rebalance, units_from_accounts

REPS = [RepSlot(k) for k in "ABCD"]


def test_seed_003_east_heavy_book_is_fixed_with_few_cheap_moves():
    # East (A) holds 5 enterprise accounts, West (B) 2; 50 SMB accounts each
    units = [Unit(f"EA{i}", "A", 600_000, cost=10) for i in range(5)]
    units += [Unit(f"EB{i}", "B", 600_000, cost=10) for i in range(2)]
    units += [Unit(f"S{r}{i}", r, 5_000, cost=1) for r in "AB" for i in range(50)]
    result = rebalance(units, [RepSlot("A"), RepSlot("B")], Bands(potential=0.10))
    assert result.violations == [] and result.infeasible == []
    # 3.25M vs 1.45M: the mean is 2.35M; moving one enterprise account makes 2.65M / 2.05M (13% off), so
    # a second move is needed, or smaller ones: the greedy takes cheap SMB accounts per dollar first
    low, high = 2.35e6 * 0.9, 2.35e6 * 1.1
    assert all(low <= v <= high for v in result.after.values())
    assert result.lower_bound is not None and result.lower_bound <= result.weighted_moves
    assert all(m.reason.startswith("balance:") for m in result.moves)


def test_a_unit_larger_than_the_band_is_reported_not_a_crash():
    units = [Unit("BIG", "A", 1_000_000), Unit("s1", "B", 10), Unit("s2", "C", 10)]
    result = rebalance(units, [RepSlot(k) for k in "ABC"])
    assert any(
        line.startswith("BIG: potential 1,000,000 alone is above the band") for line in result.infeasible
    )
    assert result.violations  # the best plan found, with what still fails


def test_a_departed_reps_units_move_and_count_in_the_bound():
    units = [Unit("x", "GONE", 100, cost=3), Unit("y", "A", 100), Unit("z", "B", 100)]
    result = rebalance(units, [RepSlot("A"), RepSlot("B")], Bands(potential=0.6))
    assert result.assignment["x"] in {"A", "B"} and result.lower_bound == 3
    assert "not in the plan" in result.moves[0].reason


def test_families_move_as_one_unit():
    accounts = [
        {"key": "P", "rep": "A", "potential": 50, "family": "P"},
        {"key": "C1", "rep": "B", "potential": 30, "family": "P"},
        {"key": "C2", "rep": "A", "potential": 20, "family": "P"},
        {"key": "Q", "rep": "B", "potential": 10},
    ]
    units, members = units_from_accounts(accounts)
    assert {u.key: (u.rep, u.potential) for u in units} == {"P": ("A", 100), "Q": ("B", 10)}
    assert members["P"] == ["P", "C1", "C2"]


unit_lists = st.lists(
    st.builds(
        Unit,
        key=st.uuids(),
        rep=st.sampled_from("ABCD"),
        potential=st.floats(0, 1000, allow_nan=False),
        cost=st.floats(0.1, 10, allow_nan=False),
        locked=st.booleans(),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(unit_lists, st.floats(0.05, 0.5))
def test_properties_of_any_result(units, band):
    bands = Bands(potential=band)
    result = rebalance(units, REPS, bands)
    # every unit is somewhere; locked units never move; each move is listed once with its reason
    assert set(result.assignment) == {u.key for u in units}
    for u in units:
        if u.locked:
            assert result.assignment[u.key] == u.rep
    assert len({m.unit for m in result.moves}) == len(result.moves) and all(m.reason for m in result.moves)
    # the bound never exceeds what was achieved when the result meets the band
    if not result.violations and result.lower_bound is not None:
        assert result.lower_bound <= result.weighted_moves + 1e-6


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(1, 100, allow_nan=False), min_size=1, max_size=6))
def test_a_book_already_in_band_gets_zero_moves(sizes):
    units = [Unit(f"{r}{i}", r, s) for r in "ABCD" for i, s in enumerate(sizes)]  # every rep the same
    result = rebalance(units, REPS)
    assert result.moves == [] and result.lower_bound == 0 and result.gap == 0.0
    assert lower_bound(units, REPS, Bands()) == 0


def test_a_new_hire_gets_a_share_sized_for_ramp_with_few_moves():
    units = [Unit(f"{r}{i}", r, 100.0) for r in "AB" for i in range(10)]  # 2,000 between two reps
    reps = [RepSlot("A"), RepSlot("B"), RepSlot("NEW", share=0.5)]  # a new hire at 50% productivity
    result = rebalance(units, reps, Bands(potential=0.10))
    # shares 1 : 1 : 0.5 of 2,000 -> 800 : 800 : 400
    assert result.violations == [] and result.after["NEW"] == 400
    assert len(result.moves) == 4 and all(m.target == "NEW" for m in result.moves)


def test_workload_is_brought_within_the_capacity_band_keeping_potential_in_band():
    units = [Unit(f"h{i}", "A", 10.0, workload=10.0) for i in range(5)]  # heavy to cover, little potential
    units += [Unit(f"a{i}", "A", 190.0, workload=1.0) for i in range(5)]
    units += [Unit(f"b{i}", "B", 100.0, workload=1.0) for i in range(10)]
    reps = [RepSlot("A", capacity=32.5), RepSlot("B", capacity=32.5)]  # 65 hours of work between them
    result = rebalance(units, reps, Bands(potential=0.10, capacity=0.20))
    assert result.violations == []
    assert result.moves and all(m.reason.startswith("capacity: A was at") for m in result.moves)
    assert {m.unit for m in result.moves} <= {f"h{i}" for i in range(5)}  # the heavy, low-potential ones
