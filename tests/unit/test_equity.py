import pytest

from domain.defaults import DEFAULTS
from domain.equity import Book, add_account, capacity_hours, equity, spread, workload_hours


def test_spread_is_highest_over_lowest_with_seed_003s_bands():
    assert spread([100, 105], DEFAULTS).status == "fine"  # 5%
    s = spread([100, 115], DEFAULTS)
    assert s.spread == pytest.approx(0.15) and s.status == "watch"
    assert spread([100, 121], DEFAULTS).status == "rebalance"  # >20% above the lowest
    assert spread([100], DEFAULTS).status == "n/a"


def test_workload_and_capacity_in_hours():
    # tier 1: the middle of 8-12 touches a quarter, one hour each
    assert workload_hours(1, DEFAULTS) == 10 and workload_hours(None, DEFAULTS) == 2.5
    assert capacity_hours("ramped", DEFAULTS) == 390 and capacity_hours("new_hire", DEFAULTS) == 195


def test_seed_003_east_with_five_enterprise_accounts_and_west_with_two_is_flagged():
    books = []
    for name, enterprise in (("East", 5), ("West", 2)):
        b = Book(name, name, quota=1_000_000.0, capacity_hours=390.0)
        for _ in range(enterprise):
            add_account(b, 1, 600_000.0, DEFAULTS)
        for _ in range(50):
            add_account(b, 3, 5_000.0, DEFAULTS)
        books.append(b)
    e = equity(books, DEFAULTS)
    east, west = e.books
    assert east.potential == 5 * 600_000 + 50 * 5_000  # 3.25M
    assert west.potential == 2 * 600_000 + 50 * 5_000  # 1.45M
    assert e.potential.status == "rebalance" and e.potential.spread == pytest.approx(3.25 / 1.45 - 1)
    assert east.tier1_share == pytest.approx(5 / 7) and e.tier1_concentration == pytest.approx(5 / 7)
    # workload: 5 x 10 + 50 x 2.5 = 175 hours against 390: under-loaded by more than 20%
    assert east.workload_hours == 175 and east.load == pytest.approx(175 / 390) and east.load_flag == "under"
    assert east.suggested_quota == (pytest.approx(0.7 * 3.25e6), pytest.approx(0.8 * 3.25e6))
    assert any(f.startswith("potential: the highest book is 124% above") for f in e.flags)
    assert not any(f.startswith("tier 1") for f in e.flags)  # 71% of tier 1 is under twice an even 50%
    assert e.quota.status == "fine"


def test_a_balanced_plan_raises_no_potential_flag():
    books = []
    for name in "ABC":
        b = Book(name, name, capacity_hours=60.0)
        for _ in range(10):
            add_account(b, 2, 1_000.0, DEFAULTS)
        books.append(b)
    e = equity(books, DEFAULTS)
    assert e.potential.status == "fine" and not e.overloaded and not e.underloaded
    assert [b.load for b in e.books] == [1.0, 1.0, 1.0]  # 10 tier-2 accounts x 6 touches x 1 hour = 60 h
    assert e.flags == ()
