"""The change log's entries, and the one rule that says what an ownership change is (docs/change-stream.md).

Every writer of assignments (direct edits, plan activation, imports, proposals once activated) turns its
before and after into changes with `owner_changes`, so that two paths never disagree on what changed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID


class ChangeKind(enum.StrEnum):
    OWNER = "owner"  # an account's owner of record for a role, in the active plan
    ACCOUNT = "account"  # an account's external id, name or parent, its creation or removal
    REP = "rep"  # a rep's name, email or end date, a departure recorded
    TERRITORY = "territory"  # a territory's name (active plan)
    PLAN = "plan"  # a plan became the active one
    OPERATION = "operation"  # a long-running operation finished
    DISPUTE = "dispute"  # a dispute was opened, decided or applied (an event; lookups ignore it)
    POLICY = "policy"  # an engagement policy was saved (the lookup shows its family threshold)
    KEY = "key"  # an API key was created, rotated or revoked (an event, for audit; lookups ignore it)


class Cause(enum.StrEnum):
    """Why an owner changed. The assignment's reason, plus `activation` for an owner a plan switch drops."""

    RULE = "rule"
    MANUAL = "manual"
    ACTIVATION = "activation"
    REBALANCE = "rebalance"  # the optimiser's proposals
    DEPARTURE = "departure"
    ARRIVAL = "arrival"
    IMPORT = "import"
    DISPUTE = "dispute"


@dataclass(frozen=True)
class Owner:
    """An owner of record as the log sees it: who, in which territory, and why."""

    rep_id: UUID
    territory_id: UUID | None
    cause: str
    reason: str | None


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    subject_id: UUID  # the account (owner, account), rep, territory, plan or operation
    valid_from: datetime  # when it takes effect
    role: str | None = None
    plan_id: UUID | None = None
    from_rep_id: UUID | None = None
    to_rep_id: UUID | None = None
    from_territory_id: UUID | None = None
    to_territory_id: UUID | None = None
    cause: str = Cause.MANUAL.value
    reason: str | None = None
    # what a lookup shows of the subject after the change: account {external_id, name, deleted,
    # parent_id}; rep {name, email, end_date, departure}; territory {name, plan_id}; policy {version,
    # parent_deal_threshold}; operation {kind, state, ...}. Entries written before a field existed lack it
    # (docs/change-stream.md, payloads): a reader keeps what it knew.
    data: Mapping[str, Any] = field(default_factory=dict)


Key = tuple[UUID, str]  # (account id, role)


def owner_changes(
    before: Mapping[Key, Owner],
    after: Mapping[Key, Owner],
    plan_id: UUID,
    at: datetime,
    dropped_cause: str = Cause.ACTIVATION.value,
    dropped_reason: str = "no owner for this role in the activated plan",
) -> list[Change]:
    """One change per (account, role) whose rep or territory differs between `before` and `after`.

    A change of territory alone is a change (the lookup answer shows the territory). The cause and reason
    are the new owner's; an owner that `after` drops gets `dropped_cause`. Ordered by account and role,
    so the same edit always yields the same changes in the same order.
    """
    out: list[Change] = []
    owner, new_change = ChangeKind.OWNER, Change.__new__
    # ordered by the ids' text (as UUIDs order); their ints order the same, and cost half as much
    for key in sorted(before.keys() | after.keys(), key=_order):
        old = before.get(key) if before else None  # an activation's first plan: nothing before
        new = after.get(key) if after else None
        old_pair = (old.rep_id, old.territory_id) if old else (None, None)
        new_pair = (new.rep_id, new.territory_id) if new else (None, None)
        if old_pair == new_pair:
            continue
        # a frozen dataclass's __init__ sets each of its 12 fields through object.__setattr__: 5 us a
        # change, half a second of a 100,000-account activation. The same fields, set at once.
        change = new_change(Change)
        change.__dict__.update(
            kind=owner,
            subject_id=key[0],
            valid_from=at,
            role=key[1],
            plan_id=plan_id,
            from_rep_id=old_pair[0],
            to_rep_id=new_pair[0],
            from_territory_id=old_pair[1],
            to_territory_id=new_pair[1],
            cause=new.cause if new else dropped_cause,
            reason=new.reason if new else dropped_reason,
            data={},
        )
        out.append(change)
    return out


def _order(key: Key) -> tuple[Any, str]:
    account = key[0]
    return (account.int if isinstance(account, UUID) else str(account), key[1])


def owners_of(rows: Iterable[Any]) -> dict[Key, Owner]:
    """(account, role) -> Owner from assignment-like objects or mappings (account_id, role, rep_id,
    territory_id, reason, note)."""
    out: dict[Key, Owner] = {}
    account_id: Any
    rep_id: Any
    for r in rows:
        if isinstance(r, Mapping):
            account_id, role, rep_id, territory_id, reason, note = (r.get(f) for f in _OWNER_FIELDS)
        else:
            account_id, role, rep_id, territory_id = r.account_id, r.role, r.rep_id, r.territory_id
            reason, note = r.reason, r.note
        out[(account_id, str(role))] = Owner(rep_id, territory_id, str(reason), note)
    return out


_OWNER_FIELDS = ("account_id", "role", "rep_id", "territory_id", "reason", "note")


KEEP: Any = object()  # a payload field left out: readers keep what they knew


def account_change(
    account_id: UUID,
    at: datetime,
    external_id: str,
    name: str,
    deleted: bool = False,
    parent_id: UUID | None = KEEP,
) -> Change:
    """An account's lookup data; `parent_id` left out (KEEP) when the writer does not know it."""
    data: dict[str, Any] = {"external_id": external_id, "name": name, "deleted": deleted}
    if parent_id is not KEEP:
        data["parent_id"] = None if parent_id is None else str(parent_id)
    return Change(ChangeKind.ACCOUNT, account_id, at, data=data)


@dataclass(frozen=True)
class DepartureRecord:
    """A recorded departure as the lookup shows it (docs/domain.md, "Departures and arrivals"): since when
    the rep's accounts are frozen for outbound, the last day it was recorded for, and the interim owner of
    open pipeline. It holds while the rep's end date is that last day."""

    since: datetime
    last_day: str
    interim_rep_id: UUID | None = None
    interim_rep_name: str | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "last_day": self.last_day,
            "interim_rep_id": None if self.interim_rep_id is None else str(self.interim_rep_id),
            "interim_rep_name": self.interim_rep_name,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> DepartureRecord | None:
        if not data:
            return None
        interim = data.get("interim_rep_id")
        return cls(
            datetime.fromisoformat(data["since"]),
            str(data["last_day"]),
            None if interim is None else UUID(str(interim)),
            data.get("interim_rep_name"),
        )


def rep_change(
    rep_id: UUID,
    at: datetime,
    name: str,
    email: str,
    end_date: Any = None,
    departure: DepartureRecord | None = KEEP,
) -> Change:
    """A rep's lookup data; `departure` only when a departure is recorded or withdrawn (None)."""
    data: dict[str, Any] = {
        "name": name,
        "email": email,
        "end_date": None if end_date is None else str(end_date),
    }
    if departure is not KEEP:
        data["departure"] = None if departure is None else departure.to_data()
    return Change(ChangeKind.REP, rep_id, at, data=data)


def policy_change(tenant_id: UUID, at: datetime, version: int, parent_deal_threshold: float) -> Change:
    return Change(
        ChangeKind.POLICY,
        tenant_id,
        at,
        data={"version": version, "parent_deal_threshold": parent_deal_threshold},
    )


def territory_change(territory_id: UUID, plan_id: UUID, at: datetime, name: str) -> Change:
    return Change(ChangeKind.TERRITORY, territory_id, at, plan_id=plan_id, data={"name": name})


def shows_differently(fields: Iterable[str], kind: ChangeKind) -> bool:
    """Whether an edit of these fields changes what a lookup shows (only those enter the log)."""
    visible = {
        ChangeKind.ACCOUNT: {"external_id", "name", "deleted_at", "parent_id"},
        ChangeKind.REP: {"name", "email", "end_date"},
        ChangeKind.TERRITORY: {"name"},
    }[kind]
    return bool(visible & set(fields))


class KeyAction(enum.StrEnum):
    """What happened to an API key (a key change's cause, its event's type: key.created ...)."""

    CREATED = "created"
    ROTATED = "rotated"
    REVOKED = "revoked"


def key_change(
    key_id: UUID,
    at: datetime,
    action: KeyAction,
    name: str,
    prefix: str,
    scopes: Iterable[str],
    expires_at: datetime | None,
    rotated_from: UUID | None = None,
) -> Change:
    """A key's change for the log: who can now do what with it, never its secret or hash. A rotation's
    is the new key's, naming the key it replaces."""
    data: dict[str, Any] = {
        "name": name,
        "prefix": prefix,
        "scopes": sorted(scopes),
        "expires_at": None if expires_at is None else expires_at.isoformat(),
        "rotated_from": None if rotated_from is None else str(rotated_from),
    }
    return Change(kind=ChangeKind.KEY, subject_id=key_id, valid_from=at, cause=action.value, data=data)
