"""The change log's entries: what owner_changes makes, and what the log stores of them."""

import random
import uuid
from datetime import UTC, datetime, timedelta, timezone

from domain.changes import Change, ChangeKind, Owner, owner_changes, owners_of
from persistence import changes as log

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
PLAN = uuid.uuid4()


def test_owner_changes_are_the_changes_their_fields_make_ordered_by_account_text_then_role():
    rng = random.Random(5)
    reps, territories = [uuid.uuid4() for _ in range(3)], [uuid.uuid4(), None]
    accounts = [uuid.uuid4() for _ in range(300)]
    before = {
        (a, role): Owner(rng.choice(reps), rng.choice(territories), "rule", "boundary")
        for a in accounts[:200]
        for role in ("AE", "SDR")
        if rng.random() < 0.7
    }
    after = {
        (a, role): Owner(rng.choice(reps), rng.choice(territories), "manual", None)
        for a in accounts[100:]
        for role in ("AE", "CSM")
        if rng.random() < 0.7
    }
    changes = owner_changes(before, after, PLAN, AT)
    expected = []
    for key in sorted(before.keys() | after.keys(), key=lambda k: (str(k[0]), k[1])):
        old, new = before.get(key), after.get(key)
        pair = lambda o: (o.rep_id, o.territory_id) if o else (None, None)  # noqa: E731
        if pair(old) != pair(new):
            expected.append(
                Change(
                    kind=ChangeKind.OWNER,
                    subject_id=key[0],
                    valid_from=AT,
                    role=key[1],
                    plan_id=PLAN,
                    from_rep_id=pair(old)[0],
                    to_rep_id=pair(new)[0],
                    from_territory_id=pair(old)[1],
                    to_territory_id=pair(new)[1],
                    cause=new.cause if new else "activation",
                    reason=new.reason if new else "no owner for this role in the activated plan",
                )
            )
    assert changes == expected and len(changes) > 100
    assert changes[0].data == {} and changes[0].data is not changes[1].data  # a dict of its own each
    # nothing before: every owner of after is a change
    assert len(owner_changes({}, after, PLAN, AT)) == len(after)


def test_owners_of_reads_rows_and_mappings_alike():
    class Row:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    fields = {"account_id": uuid.uuid4(), "role": "AE", "rep_id": uuid.uuid4(), "territory_id": None}
    fields |= {"reason": "rule", "note": "by boundary"}
    assert (
        owners_of([Row(**fields)])
        == owners_of([fields])
        == {(fields["account_id"], "AE"): Owner(fields["rep_id"], None, "rule", "by boundary")}
    )


def test_the_log_keeps_of_a_change_what_a_reader_reads_back():
    account = uuid.uuid4()
    plain = Change(ChangeKind.OWNER, account, AT, role="AE", reason="boundary")
    odd = Change(
        ChangeKind.ACCOUNT,
        account,
        AT.astimezone(timezone(timedelta(hours=2))),
        reason="x" * 1500,
        data={"external_id": "A-1", "parent_id": uuid.uuid4()},
    )
    (_, kept), (_, read) = log.as_stored(2, [plain, odd])
    assert kept == plain
    assert read.reason == "x" * 1000 and read.valid_from.tzinfo is UTC and read.valid_from == AT
    assert read.data == {"external_id": "A-1", "parent_id": str(odd.data["parent_id"])}
    # COPY records: the table's columns, in its order
    records = log._records(PLAN, 7, [plain, odd], AT, "cli", None)
    for record, change, seq in zip(records, (plain, odd), (7, 8), strict=True):
        row = log._row(PLAN, seq, change, AT, "cli", None)
        assert record == tuple(
            log._encode(row[k]).decode() if k == "data" else row[k] for k in log._ALL_COLUMNS
        )
