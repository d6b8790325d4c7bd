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
    DepartureRecord,
    Owner,
    account_change,
    owner_changes,
    policy_change,
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
        self.parents: dict[uuid.UUID, uuid.UUID | None] = {}
        self.reps = {r: (f"Rep {i}", f"r{i}@x.io", None) for i, r in enumerate(REPS)}
        self.departures: dict[uuid.UUID, DepartureRecord | None] = {}
        self.territories = {t: f"T{i}" for i, t in enumerate(TERRITORIES)}
        self.owners: dict[tuple[uuid.UUID, str], tuple[Owner, datetime]] = {}
        self.threshold = 100_000.0

    def index(self, seq: int) -> OwnershipIndex:
        return OwnershipIndex.build(
            seq,
            PLAN,
            [
                (a, ext, name, self.parents.get(a))
                for a, (ext, name, deleted) in self.accounts.items()
                if not deleted
            ],
            [
                (a, role, o.rep_id, o.territory_id, since, o.cause, o.reason)
                for (a, role), (o, since) in self.owners.items()
                if not self.accounts[a][2]
            ],
            [(r, *v, self.departures.get(r)) for r, v in self.reps.items()],
            list(self.territories.items()),
            parent_deal_threshold=self.threshold,
        )

    def ancestors(self, account: uuid.UUID) -> set[uuid.UUID]:
        out, node = set(), self.parents.get(account)
        while node is not None:
            out.add(node)
            node = self.parents.get(node)
        return out

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
        if kind == "parent":  # a live account, never a descendant (cycles are refused before the log)
            live = [a for a in accounts if not self.accounts[a][2] and account not in self.ancestors(a)]
            parent = None if x % 5 == 0 or deleted else live[x % len(live)] if live else None
            self.parents[account] = None if parent == account else parent
            return [account_change(account, at, ext, name, deleted, self.parents[account])]
        if kind == "depart":
            rep = REPS[k % len(REPS)]
            interim = None if x % 3 == 0 else REPS[(k + 1) % len(REPS)]
            self.reps[rep] = (*self.reps[rep][:2], "2026-12-31")
            self.departures[rep] = DepartureRecord(at, "2026-12-31", interim, "Someone")
            return [rep_change(rep, at, *self.reps[rep], self.departures[rep])]
        if kind == "policy":
            self.threshold = x * 10_000.0
            return [policy_change(PLAN, at, x, self.threshold)]
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
    st.sampled_from(
        ["create", "create", "rename", "delete", "owner", "owner", "end", "rep", "territory"]
        + ["parent", "parent", "depart", "policy"]
    ),
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


LEA, SAM, ANA = uuid.UUID(int=11), uuid.UUID(int=12), uuid.UUID(int=13)
HOLDINGS, EUROPE, PARIS = uuid.UUID(int=21), uuid.UUID(int=22), uuid.UUID(int=23)


def family_index() -> OwnershipIndex:
    """Acme Holdings (Sam) above Acme Europe (Lea) above Acme Paris (Ana)."""
    return OwnershipIndex.build(
        5,
        PLAN,
        [
            (HOLDINGS, "H", "Acme Holdings"),
            (EUROPE, "E", "Acme Europe", HOLDINGS),
            (PARIS, "P", "Acme Paris", EUROPE),
        ],
        [
            (HOLDINGS, "AE", SAM, None, T0, "rule", None),
            (EUROPE, "AE", LEA, None, T0, "rule", None),
            (PARIS, "AE", ANA, None, T0, "rule", None),
        ],
        [
            (LEA, "Lea Martin", "lea@x.io", None),
            (SAM, "Sam Ortiz", "sam@x.io", None),
            (ANA, "Ana Diaz", "ana@x.io", None),
        ],
        [],
    )


def owner(account: uuid.UUID, old: uuid.UUID, new: uuid.UUID) -> Change:
    before = {(account, "AE"): Owner(old, None, "rule", None)}
    (change,) = owner_changes(before, {(account, "AE"): Owner(new, None, "departure", None)}, PLAN, T0)
    return change


def test_a_recorded_departure_freezes_the_leaving_reps_accounts_until_their_owner_changes():
    index = family_index()
    assert index.answer("E", "AE")["frozen"] is None
    since = T0 + timedelta(days=3)
    departure = DepartureRecord(since, "2026-12-31", SAM, "Sam Ortiz")
    assert index.apply(6, rep_change(LEA, since, "Lea Martin", "lea@x.io", "2026-12-31", departure))
    assert index.answer("E", "AE")["frozen"] == {
        "outbound": True,
        "since": since,
        "last_day": "2026-12-31",
        "interim_rep": {"id": SAM, "name": "Sam Ortiz"},
        "sentence": "Lea Martin leaves on 2026-12-31: outbound is frozen until the reassignment is "
        "activated; open pipeline goes to Sam Ortiz",
    }
    assert index.answer("P", "AE")["frozen"] is None  # Ana's account: not the leaving rep's
    assert index.apply(7, owner(EUROPE, LEA, ANA))  # the reassignment activated
    assert index.answer("E", "AE")["frozen"] is None


def test_a_departure_without_an_interim_owner_says_so_and_clearing_the_end_date_lifts_it():
    index = family_index()
    departure = DepartureRecord(T0, "2026-12-31")
    assert index.apply(6, rep_change(LEA, T0, "Lea Martin", "lea@x.io", "2026-12-31", departure))
    frozen = index.answer("E", "AE")["frozen"]
    assert frozen["interim_rep"] is None
    assert frozen["sentence"].endswith("; no interim owner of open pipeline was named")
    assert index.apply(7, rep_change(LEA, T0, "Lea M.", "lea@x.io"))  # a rename keeps it: no end date
    assert index.answer("E", "AE")["frozen"] is None
    moved = family_index()
    moved.apply(6, rep_change(LEA, T0, "Lea Martin", "lea@x.io", "2026-12-31", departure))
    moved.apply(7, rep_change(LEA, T0, "Lea Martin", "lea@x.io", "2027-01-31"))
    assert moved.answer("E", "AE")["frozen"] is None  # a moved last day withdraws it too
    moved.apply(8, rep_change(LEA, T0, "Lea Martin", "lea@x.io", "2026-12-31", None))
    assert moved.answer("E", "AE")["frozen"] is None  # withdrawn explicitly: it does not come back


def test_the_accountable_owner_is_the_top_accounts_and_follows_its_owner_and_the_parents():
    index = family_index()
    accountable = index.answer("P", "AE")["accountable"]
    assert accountable == {
        "rep": {"id": SAM, "name": "Sam Ortiz"},
        "account": {"id": HOLDINGS, "external_id": "H", "name": "Acme Holdings"},
        "threshold": 100_000.0,
        "sentence": "Deals of $100,000 or more anywhere in the Acme Holdings family are Sam Ortiz's, "
        "owner of Acme Holdings",
    }
    assert index.answer("E", "AE")["accountable"]["rep"]["id"] == SAM
    assert index.answer("H", "AE")["accountable"] is None  # the top account has no parent
    assert index.answer("P", "SDR")["accountable"] is None  # nobody owns the top for this role
    assert index.apply(6, owner(HOLDINGS, SAM, LEA))
    assert index.answer("P", "AE")["accountable"]["rep"] == {"id": LEA, "name": "Lea Martin"}
    assert index.apply(7, policy_change(PLAN, T0, 2, 250_000.0))
    assert index.answer("P", "AE")["accountable"]["sentence"].startswith("Deals of $250,000 or more")
    assert index.apply(8, account_change(EUROPE, T0, "E", "Acme Europe", parent_id=None))
    assert index.answer("P", "AE")["accountable"]["account"]["name"] == "Acme Europe"
    assert index.answer("E", "AE")["accountable"] is None
    assert index.apply(9, account_change(HOLDINGS, T0, "H", "Acme Holdings", deleted=True))
    assert index.apply(10, account_change(EUROPE, T0, "E", "Acme Europe", parent_id=HOLDINGS))
    assert index.answer("E", "AE")["accountable"] is None  # a removed parent is no family


def test_old_log_entries_without_the_new_fields_keep_what_the_index_knows():
    index = family_index()
    departure = DepartureRecord(T0, "2026-12-31", SAM, "Sam Ortiz")
    index.apply(6, rep_change(LEA, T0, "Lea Martin", "lea@x.io", "2026-12-31", departure))
    old_account = Change(
        ChangeKind.ACCOUNT, PARIS, T0, data={"external_id": "P", "name": "Paris", "deleted": False}
    )
    old_rep = Change(
        ChangeKind.REP, LEA, T0, data={"name": "Lea", "email": "lea@x.io", "end_date": "2026-12-31"}
    )
    assert index.apply(7, old_account) and index.apply(8, old_rep)
    assert index.answer("P", "AE")["accountable"]["account"]["id"] == HOLDINGS
    assert index.answer("E", "AE")["frozen"]["sentence"].startswith("Lea leaves on 2026-12-31")
    plain = OwnershipIndex.build(1, PLAN, [(PARIS, "P", "Paris")], [], [], [])
    assert plain.apply(2, old_account) and plain.answer("P", "AE")["accountable"] is None


def test_a_parent_cycle_cannot_hang_the_lookup():
    a, b = uuid.UUID(int=31), uuid.UUID(int=32)
    index = OwnershipIndex.build(
        1,
        PLAN,
        [(a, "A", "A", b), (b, "B", "B", a)],
        [(a, "AE", SAM, None, T0, "rule", None)],
        [(SAM, "S", "s@x.io", None)],
        [],
    )
    assert index.answer("B", "AE")["status"] == "unassigned"  # answered, whatever the walk found
