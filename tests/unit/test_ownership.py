"""The ownership index (domain/ownership.py) and the ownership-change rule (domain/changes.py).

The property test drives a plain-dict model of a tenant through random edits, logging each as the writers
do; at every step the index built from the model's state must answer exactly like an index built at the
start and replayed through the log up to that step.
"""

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.changes import (
    Cause,
    Change,
    ChangeKind,
    Owner,
    account_change,
    owner_changes,
    rep_change,
    territory_change,
)
from domain.ownership import OwnershipIndex

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PLAN = uuid.UUID(int=1)


def ids(prefix: int, n: int) -> list[uuid.UUID]:
    return [uuid.UUID(int=(prefix << 64) + i * 7919 + 1) for i in range(n)]


REPS, TERRITORIES = ids(2, 4), ids(3, 3)


class Model:
    """A tenant as plain dicts: what the database holds that lookups show."""

    def __init__(self) -> None:
        self.accounts: dict[uuid.UUID, tuple[str, str, bool]] = {}
        self.reps = {r: (f"Rep {i}", f"r{i}@x.io", None) for i, r in enumerate(REPS)}
        self.territories = {t: f"T{i}" for i, t in enumerate(TERRITORIES)}
        self.owners: dict[tuple[uuid.UUID, str], tuple[Owner, datetime]] = {}

    def index(self, seq: int) -> OwnershipIndex:
        return OwnershipIndex.build(
            seq,
            PLAN,
            [(a, ext, name) for a, (ext, name, deleted) in self.accounts.items() if not deleted],
            [
                (a, role, o.rep_id, o.territory_id, since, o.cause, o.reason)
                for (a, role), (o, since) in self.owners.items()
                if not self.accounts[a][2]
            ],
            [(r, *v) for r, v in self.reps.items()],
            list(self.territories.items()),
        )

    def step(self, op: tuple, at: datetime) -> list[Change]:
        kind, k, x = op
        accounts = sorted(self.accounts)
        if kind == "create" or not accounts:
            account = uuid.UUID(int=(9 << 64) + len(self.accounts) * 104729 + k)
            self.accounts[account] = (f"E-{len(self.accounts)}", f"Company {k}", False)
            return [account_change(account, at, *self.accounts[account][:2])]
        account = accounts[k % len(accounts)]
        ext, name, deleted = self.accounts[account]
        if kind == "rename":
            self.accounts[account] = (ext if x % 2 else f"{ext}-r{x}", f"{name}'", deleted)
            return [account_change(account, at, *self.accounts[account][:2], deleted=deleted)]
        if kind == "delete":
            self.accounts[account] = (ext, name, True)
            before = {key: o for key, (o, _) in self.owners.items() if key[0] == account}
            for key in before:
                del self.owners[key]
            return [account_change(account, at, ext, name, True), *owner_changes(before, {}, PLAN, at)]
        if kind == "rep":
            rep = REPS[k % len(REPS)]
            self.reps[rep] = (f"Rep {x}", f"rep{x}@x.io", "2026-12-31" if x % 3 == 0 else None)
            return [rep_change(rep, at, *self.reps[rep])]
        if kind == "territory":
            territory = TERRITORIES[k % len(TERRITORIES)]
            self.territories[territory] = f"T-{x}"
            return [territory_change(territory, PLAN, at, f"T-{x}")]
        role = ["AE", "SDR"][x % 2]
        key = (account, role)
        before = {key: self.owners[key][0]} if key in self.owners else {}
        if kind == "end" or deleted:
            after = {}
        else:
            territory = None if x % 4 == 0 else TERRITORIES[x % len(TERRITORIES)]
            after = {key: Owner(REPS[x % len(REPS)], territory, Cause.MANUAL.value, f"note {x}")}
        changes = owner_changes(before, after, PLAN, at)
        if changes:
            if after:
                self.owners[key] = (after[key], at)
            else:
                self.owners.pop(key, None)
        return changes


OPS = st.tuples(
    st.sampled_from(["create", "create", "rename", "delete", "owner", "owner", "end", "rep", "territory"]),
    st.integers(0, 40),
    st.integers(0, 40),
)


def all_answers(index: OwnershipIndex, externals: list[str]) -> list[dict]:
    out = []
    for ext in externals:
        for role in ("AE", "SDR"):
            answer = index.answer(ext, role)
            answer.pop("seq")
            out.append(answer)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(OPS, min_size=1, max_size=60), st.integers(0, 59))
def test_replaying_the_log_up_to_a_seq_gives_the_snapshot_at_that_seq(ops, cut):
    model = Model()
    live = model.index(0)
    seq = 0
    for i, op in enumerate(ops[: cut + 1]):
        for change in model.step(op, T0 + timedelta(minutes=i)):
            seq += 1
            assert live.apply(seq, change)
    externals = sorted({ext for ext, _, _ in model.accounts.values()} | {"E-0-r1", "nope"})
    assert all_answers(live, externals) == all_answers(model.index(seq), externals)
    assert live.seq == seq


def test_a_territory_only_change_is_an_ownership_change():
    account, rep = uuid.uuid4(), uuid.uuid4()
    east, west = uuid.uuid4(), uuid.uuid4()
    before = {(account, "AE"): Owner(rep, east, "rule", "boundary of East")}
    after = {(account, "AE"): Owner(rep, west, "manual", None)}
    (change,) = owner_changes(before, after, PLAN, T0)
    assert (change.from_territory_id, change.to_territory_id, change.cause) == (east, west, "manual")
    assert owner_changes(before, dict(before), PLAN, T0) == []


def test_an_owner_the_new_plan_drops_is_recorded_with_the_activation_cause():
    account, rep = uuid.uuid4(), uuid.uuid4()
    (change,) = owner_changes({(account, "AE"): Owner(rep, None, "rule", "x")}, {}, PLAN, T0)
    assert (change.to_rep_id, change.cause) == (None, "activation")
    assert change.reason == "no owner for this role in the activated plan"


def test_the_answer_says_why_the_rep_owns_the_account():
    account, rep, territory = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    index = OwnershipIndex.build(
        7,
        PLAN,
        [(account, "ENT-1", "Globex")],
        [(account, "AE", rep, territory, T0, "rule", "boundary of East 2: region = East")],
        [(rep, "James Okafor", "james@x.io", None)],
        [(territory, "East 2")],
    )
    answer = index.answer("ENT-1", "AE")
    assert answer["status"] == "owned" and answer["rep"]["name"] == "James Okafor"
    assert answer["why"] == {"cause": "rule", "reason": "boundary of East 2: region = East"}
    assert answer["territory"] == {"id": territory, "name": "East 2"} and answer["since"] == T0
    assert (answer["seq"], index.answer("ENT-1", "SDR")["status"]) == (7, "unassigned")
    assert index.answer("ENT-2", "AE")["status"] == "not_found"


def test_changes_the_index_cannot_follow_ask_for_a_rebuild_and_change_nothing():
    account, rep = uuid.uuid4(), uuid.uuid4()
    index = OwnershipIndex.build(3, PLAN, [(account, "A", "A")], [], [(rep, "R", "r@x.io", None)], [])
    stranger = Change(ChangeKind.OWNER, account, T0, "AE", PLAN, None, uuid.uuid4())
    assert not index.apply(4, stranger)  # a rep the index has never seen
    assert not index.apply(4, Change(ChangeKind.PLAN, uuid.uuid4(), T0))
    assert index.seq == 3 and index.answer("A", "AE")["status"] == "unassigned"
    full = OwnershipIndex.build(3, PLAN, [(account, "A", "A")], [], [], [], extra_limit=1)
    assert full.apply(4, account_change(uuid.uuid4(), T0, "B", "B"))
    assert not full.apply(5, account_change(uuid.uuid4(), T0, "C", "C"))


def test_an_index_of_many_accounts_stays_compact():
    n = 20_000
    accounts = [(uuid.uuid4(), f"B-{i:07d}", f"Company {i}") for i in range(n)]
    rep = uuid.uuid4()
    index = OwnershipIndex.build(
        1,
        PLAN,
        accounts,
        [(a, "AE", rep, None, T0, "rule", "boundary of East") for a, _, _ in accounts],
        [(rep, "R", "r@x.io", None)],
        [],
    )
    assert index.owned == n
    assert index.nbytes / n < 200
    assert index.answer("B-0012345", "AE")["account"]["id"] == accounts[12_345][0]
