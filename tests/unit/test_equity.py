import dataclasses

import pytest

from domain.capacity import account_load, rep_capacity
from domain.defaults import DEFAULTS
from domain.equity import Book, add_account, equity, spread


def test_spread_is_highest_over_lowest_with_seed_003s_bands():
    assert spread([100, 105], DEFAULTS).status == "fine"  # 5%
    s = spread([100, 115], DEFAULTS)
    assert s.spread == pytest.approx(0.15) and s.status == "watch"
    assert spread([100, 121], DEFAULTS).status == "rebalance"  # >20% above the lowest
    assert spread([100], DEFAULTS).status == "n/a"


def test_workload_and_capacity_in_hours():
    # tier 1: the middle of 8-12 touches a quarter plus an SMB account's visits (2.5 a year), one hour each;
    # tier 3 is covered reactively: no planned hours (as /v1/capacity counts it)
    assert account_load(1, None, DEFAULTS) == 10 + 2.5 / 4 and account_load(None, "smb", DEFAULTS) == 0
    assert account_load(1, "enterprise", DEFAULTS) == 10 + 7 / 4
    assert rep_capacity("ramped", None, DEFAULTS) == 390 and rep_capacity("new_hire", None, DEFAULTS) == 195
    assert rep_capacity("new_hire", 250.0, DEFAULTS) == 250  # the rep's own capacity wins


def test_seed_003_east_with_five_enterprise_accounts_and_west_with_two_is_flagged():
    books = []
    for name, enterprise in (("East", 5), ("West", 2)):
        b = Book(name, name, quota=1_000_000.0, capacity=390.0)
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
    # workload: 5 x 10.625 hours (tier 3 is reactive) = 53.1 against 390: under-loaded by more than 20%
    assert east.workload == 53.125 and east.load == pytest.approx(53.125 / 390) and east.load_flag == "under"
    assert east.suggested_quota == (pytest.approx(0.7 * 3.25e6), pytest.approx(0.8 * 3.25e6))
    assert any(f.startswith("potential: the highest book is 124% above") for f in e.flags)
    assert not any(f.startswith("tier 1") for f in e.flags)  # 71% of tier 1 is under twice an even 50%
    assert e.quota.status == "fine"


def test_a_balanced_plan_raises_no_potential_flag():
    books = []
    for name in "ABC":
        b = Book(name, name, capacity=66.25)
        for _ in range(10):
            add_account(b, 2, 1_000.0, DEFAULTS)
        books.append(b)
    e = equity(books, DEFAULTS)
    assert e.potential.status == "fine" and not e.overloaded and not e.underloaded
    # 10 tier-2 accounts x (6 touches + 0.625 visits) x 1 hour = 66.25 h
    assert [b.load for b in e.books] == [1.0, 1.0, 1.0]
    assert e.flags == ()


def test_in_accounts_a_new_hire_and_a_ramped_rep_are_judged_by_what_each_can_carry():
    """The issue's case: counted in accounts (seed 003's capacity by ramp), a new hire carrying 5 proactive
    accounts is within its 6, a ramped rep with 40 is over its 25, and a rep whose own capacity is 40
    carries 40 fine (before, all were "under" against hours that ignored them)."""
    settings = dataclasses.replace(DEFAULTS, capacity=dataclasses.replace(DEFAULTS.capacity, unit="accounts"))
    books = []
    for name, ramp, own, n in (
        ("Nia", "new_hire", None, 5),
        ("Raj", "ramped", None, 40),
        ("Sam", "ramped", 40.0, 40),
    ):
        b = Book(name, name, capacity=rep_capacity(ramp, own, settings))
        for _ in range(n):
            add_account(b, 2, 1_000.0, settings, "mid_market")
        add_account(b, 3, 1_000.0, settings, "smb")  # reactive: carried, not counted
        books.append(b)
    e = equity(books, settings)
    assert e.unit == "accounts"
    assert [(b.workload, b.capacity, b.load_flag) for b in e.books] == [
        (5, 6, None),
        (40, 25, "over"),
        (40, 40, None),
    ]
    assert "Raj: workload 40.0 accounts at 160% of capacity 25.0 (overloaded)" in e.flags
