"""Who owns what, as a compact index that the change log keeps current (docs/change-stream.md).

One index per tenant per worker answers "who owns account X?" from memory. It is built once from the
database, then each change after its `seq` is applied in O(1): no rebuild per change. It is compact
(numpy arrays and one byte blob, about 100 bytes an owned account) because a worker holds whole tenants:
- accounts are rows; row order at build time is by account id, so the id index is the id array itself;
- external ids and names live in one UTF-8 blob (offset, length per row);
- an external id is found by binary search of the sorted 64-bit hashes, then checked against the blob
  (a hash of its own, not Python's `hash`, which differs per process: the index is built in another one);
- owners are arrays per role (rep, territory, since, cause, reason), the reps and territories small tables;
- each row has its parent's row, so a family's top account and its owner are a few array reads away;
- a rep's recorded departure sits in the reps table: an account whose owner is leaving answers frozen.
Rows and ids added after the build go to small dicts; past a limit the index asks to be rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from hashlib import blake2b
from typing import Any
from uuid import UUID

import numpy as np

from domain.changes import KEEP, Change, ChangeKind, DepartureRecord
from domain.defaults import MAX_FAMILY_DEPTH, EngagementRules

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NONE = -1
_REASON_CACHE = 4_096  # distinct reason texts remembered for sharing blob space (rule notes repeat)
PARENT_DEAL_THRESHOLD = EngagementRules().parent_deal_threshold


def _key(encoded: bytes) -> int:
    """An external id's 64-bit key, the same in every process."""
    return int.from_bytes(blake2b(encoded, digest_size=8).digest(), "little", signed=True)


def _us(when: datetime) -> int:
    return (when - EPOCH) // timedelta(microseconds=1)


def _when(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _halves(ids: Sequence[UUID]) -> tuple[np.ndarray, np.ndarray]:
    raw = np.frombuffer(b"".join(i.bytes for i in ids), dtype=">u8").reshape(-1, 2)
    return raw[:, 0].astype(np.uint64), raw[:, 1].astype(np.uint64)


def _grow(holder: Any, names: Sequence[str], capacity: int) -> None:
    """Each named array of `holder` copied into a larger one; the new rows take the empty value of their
    kind (NONE for rep and territory indexes, else 0)."""
    for name in names:
        old = getattr(holder, name)
        new = np.full(capacity, NONE if name in ("rep", "territory", "parent") else 0, old.dtype)
        new[: len(old)] = old
        setattr(holder, name, new)


class _Role:
    """Owner arrays of one role, row-aligned with the accounts."""

    ARRAYS = ("rep", "territory", "since", "cause", "reason_off", "reason_len")

    def __init__(self, capacity: int):
        self.rep = np.full(capacity, NONE, np.int32)
        self.territory = np.full(capacity, NONE, np.int32)
        self.since = np.zeros(capacity, np.int64)
        self.cause = np.zeros(capacity, np.uint8)
        self.reason_off = np.zeros(capacity, np.uint32)
        self.reason_len = np.zeros(capacity, np.uint16)

    def arrays(self) -> list[np.ndarray]:
        return [getattr(self, name) for name in self.ARRAYS]

    def grow(self, capacity: int) -> None:
        _grow(self, self.ARRAYS, capacity)


class OwnershipIndex:
    """Current ownership in the active plan at log position `seq`."""

    ROW_ARRAYS = ("hi", "lo", "ext_off", "ext_len", "name_off", "name_len", "alive", "parent")  # per row

    def __init__(
        self,
        seq: int,
        plan_id: UUID | None,
        extra_limit: int = 50_000,
        parent_deal_threshold: float = PARENT_DEAL_THRESHOLD,
    ):
        self.seq = seq
        self.plan_id = plan_id
        self.extra_limit = extra_limit
        self.parent_deal_threshold = parent_deal_threshold  # the engagement policy's (docs/domain.md)
        self.n = 0
        self.sorted_n = 0  # rows [0, sorted_n) are ordered by id
        self.hi = np.zeros(0, np.uint64)
        self.lo = np.zeros(0, np.uint64)
        self.ext_off = np.zeros(0, np.uint32)
        self.ext_len = np.zeros(0, np.uint16)
        self.name_off = np.zeros(0, np.uint32)
        self.name_len = np.zeros(0, np.uint16)
        self.alive = np.zeros(0, np.bool_)
        self.parent = np.zeros(0, np.int32)  # the parent account's row, NONE for none (or not indexed)
        self.ext_keys = np.zeros(0, np.int64)  # sorted hashes of the external ids at build time
        self.ext_rows = np.zeros(0, np.int32)
        self.blob = bytearray()
        self.ext_extra: dict[str, int] = {}  # external ids given after the build -> row
        self.id_extra: dict[UUID, int] = {}  # accounts added after the build -> row
        self.roles: dict[str, _Role] = {}
        # (id, name, email, end date, recorded departure)
        self.reps: list[tuple[UUID, str, str, str | None, DepartureRecord | None]] = []
        self.rep_index: dict[UUID, int] = {}
        self.territories: list[tuple[UUID, str]] = []
        self.territory_index: dict[UUID, int] = {}
        self.causes: list[str] = []
        self._reasons: dict[str, tuple[int, int]] = {}

    # -- building ---------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        seq: int,
        plan_id: UUID | None,
        accounts: Sequence[tuple[Any, ...]],
        owners: Iterable[tuple[UUID, str, UUID, UUID | None, datetime, str, str | None]],
        reps: Iterable[tuple[Any, ...]],
        territories: Iterable[tuple[UUID, str]],
        extra_limit: int = 50_000,
        parent_deal_threshold: float = PARENT_DEAL_THRESHOLD,
    ) -> OwnershipIndex:
        """accounts: (id, external id, name[, parent id]); owners: (account id, role, rep id, territory
        id, since, cause, reason); reps: (id, name, email, end date[, DepartureRecord]); territories:
        (id, name)."""
        index = cls(seq, plan_id, extra_limit, parent_deal_threshold)
        for rep in reps:
            index._put_rep(*rep)
        for territory_id, name in territories:
            index._put_territory(territory_id, name)
        n = len(accounts)
        hi, lo = _halves([a[0] for a in accounts]) if n else (np.zeros(0, np.uint64),) * 2
        order = np.lexsort((lo, hi))
        index.hi, index.lo = hi[order], lo[order]
        ext = [accounts[i][1].encode() for i in order.tolist()]
        names = [accounts[i][2].encode() for i in order.tolist()]
        index.ext_len = np.fromiter(map(len, ext), np.uint16, n)
        index.name_len = np.fromiter(map(len, names), np.uint16, n)
        lengths = np.empty(2 * n, np.int64)
        lengths[0::2], lengths[1::2] = index.ext_len, index.name_len
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.uint32)
        index.ext_off, index.name_off = starts[0::2].copy(), starts[1::2].copy()
        index.blob = bytearray(b"".join(b for pair in zip(ext, names, strict=True) for b in pair))
        index.alive = np.ones(n, np.bool_)
        hashes = np.fromiter(map(_key, ext), np.int64, n)
        by_hash = np.argsort(hashes, kind="stable")
        index.ext_keys, index.ext_rows = hashes[by_hash], by_hash.astype(np.int32)
        index.n = index.sorted_n = n
        index.parent = np.full(n, NONE, np.int32)
        with_parent = [i for i in order.tolist() if len(accounts[i]) > 3 and accounts[i][3] is not None]
        if with_parent:
            children = index._rows_of([accounts[i][0] for i in with_parent])
            parents = index._rows_of([accounts[i][3] for i in with_parent])
            index.parent[children] = parents  # a parent not indexed (removed) reads as none
        by_role: dict[str, list[tuple[Any, ...]]] = {}
        for owner in owners:
            by_role.setdefault(owner[1], []).append(owner)
        for role, rows in by_role.items():
            index._set_owners(role, rows)
        return index

    def _set_owners(self, role: str, rows: list[tuple[Any, ...]]) -> None:
        """Many owners of one role at once (the build): one array assignment per field."""
        found = self._rows_of([r[0] for r in rows])
        keep = found >= 0
        rows = [r for r, k in zip(rows, keep.tolist(), strict=True) if k]
        at = found[keep]
        owners = self.roles.get(role)
        if owners is None:
            owners = self.roles[role] = _Role(len(self.hi))
        owners.rep[at] = np.fromiter((self.rep_index[r[2]] for r in rows), np.int32, len(rows))
        territory = self.territory_index
        owners.territory[at] = np.fromiter(
            (NONE if r[3] is None else territory[r[3]] for r in rows), np.int32, len(rows)
        )
        owners.since[at] = np.fromiter((_us(r[4]) for r in rows), np.int64, len(rows))
        owners.cause[at] = np.fromiter((self._cause(r[5]) for r in rows), np.uint8, len(rows))
        places = [self._reason(r[6]) for r in rows]
        owners.reason_off[at] = np.fromiter((p[0] for p in places), np.uint32, len(rows))
        owners.reason_len[at] = np.fromiter((p[1] for p in places), np.uint16, len(rows))

    def _rows_of(self, ids: Sequence[UUID]) -> np.ndarray:
        """Rows of many accounts at once (-1 for unknown ones): a vectorised binary search."""
        if not ids:
            return np.zeros(0, np.int64)
        hi, lo = _halves(ids)
        keys = self.hi[: self.sorted_n]
        at = np.minimum(np.searchsorted(keys, hi), max(self.sorted_n - 1, 0)).astype(np.int64)
        hit = (keys[at] == hi) & (self.lo[at] == lo) if self.sorted_n else np.zeros(len(ids), np.bool_)
        rows = np.where(hit, at, NONE)
        for k in np.flatnonzero(~hit).tolist():  # added after the build, or sharing a high half
            row = self.row_of_id(ids[k])
            rows[k] = NONE if row is None else row
        return rows

    # -- reading ----------------------------------------------------------------------------------------

    def _text(self, off: Any, length: Any) -> str:
        o = int(off)
        return self.blob[o : o + int(length)].decode(errors="replace")

    def row_of_id(self, account_id: UUID) -> int | None:
        extra = self.id_extra.get(account_id)
        if extra is not None:
            return extra
        h, low = account_id.int >> 64, account_id.int & 0xFFFF_FFFF_FFFF_FFFF
        keys = self.hi
        i = int(np.searchsorted(keys[: self.sorted_n], np.uint64(h)))
        while i < self.sorted_n and int(keys[i]) == h:
            if int(self.lo[i]) == low:
                return i
            i += 1
        return None

    def row_of_external_id(self, external_id: str) -> int | None:
        encoded = external_id.encode()
        extra = self.ext_extra.get(external_id)
        if extra is not None and self._ext_is(extra, encoded):
            return extra
        h = _key(encoded)
        keys = self.ext_keys
        i = int(np.searchsorted(keys, h))
        while i < len(keys) and int(keys[i]) == h:
            row = int(self.ext_rows[i])
            if self._ext_is(row, encoded):
                return row
            i += 1
        return None

    def _ext_is(self, row: int, encoded: bytes) -> bool:
        o = int(self.ext_off[row])
        return bool(self.alive[row]) and self.blob[o : o + int(self.ext_len[row])] == encoded

    def answer(self, external_id: str, role: str) -> dict[str, Any]:
        """One lookup answer: owned, unassigned (no owner for the role) or not_found, with why."""
        base: dict[str, Any] = {
            "external_id": external_id,
            "status": "not_found",
            "role": role,
            "plan_id": self.plan_id,
            "account": None,
            "territory": None,
            "rep": None,
            "since": None,
            "why": None,
            "frozen": None,
            "accountable": None,
            "seq": self.seq,
        }
        row = self.row_of_external_id(external_id)
        if row is None:
            return base
        account_id = UUID(int=(int(self.hi[row]) << 64) | int(self.lo[row]))
        name = self._text(self.name_off[row], self.name_len[row])
        base["account"] = {"id": account_id, "external_id": external_id, "name": name}
        owners = self.roles.get(role)
        base["accountable"] = self._accountable(row, owners)
        rep = NONE if owners is None else int(owners.rep[row])
        if owners is None or rep == NONE:
            base["status"] = "unassigned"
            return base
        rep_id, rep_name, email, end_date, departure = self.reps[rep]
        t = int(owners.territory[row])
        base.update(
            status="owned",
            rep={"id": rep_id, "name": rep_name, "email": email, "end_date": end_date},
            frozen=None if departure is None else self._frozen(rep_name, end_date, departure),
            territory=None if t == NONE else {"id": self.territories[t][0], "name": self.territories[t][1]},
            since=_when(int(owners.since[row])),
            why={
                "cause": self.causes[int(owners.cause[row])],
                "reason": self._text(owners.reason_off[row], owners.reason_len[row]) or None,
            },
        )
        return base

    def _frozen(self, name: str, end_date: str | None, departure: DepartureRecord) -> dict[str, Any] | None:
        """The departure freeze (docs/domain.md, "Departures and arrivals"): from the moment a departure
        is recorded, while the rep's end date is the last day it was recorded for."""
        if end_date != departure.last_day:
            return None  # the end date was cleared or moved: the departure was withdrawn
        interim = None
        if departure.interim_rep_id is not None:
            i = self.rep_index.get(departure.interim_rep_id)
            interim_name = departure.interim_rep_name if i is None else self.reps[i][1]
            interim = {"id": departure.interim_rep_id, "name": interim_name}
        pipeline = (
            f"open pipeline goes to {interim['name']}"
            if interim
            else "no interim owner of open pipeline was named"
        )
        return {
            "outbound": True,
            "since": departure.since,
            "last_day": departure.last_day,
            "interim_rep": interim,
            "sentence": f"{name} leaves on {departure.last_day}: outbound is frozen until the reassignment "
            f"is activated; {pipeline}",
        }

    def _accountable(self, row: int, owners: _Role | None) -> dict[str, Any] | None:
        """The owner of record of the family's top account, accountable for deals from the policy's
        threshold up anywhere in the family (docs/domain.md, "Rules of engagement", Families). None when
        the account has no parent or the top account has no owner for the role."""
        top = row
        for _ in range(MAX_FAMILY_DEPTH):  # cycles cannot be stored; the bound guards the walk anyway
            up = int(self.parent[top])
            if up == NONE or not self.alive[up]:
                break
            top = up
        if top == row or owners is None:
            return None
        rep = int(owners.rep[top])
        if rep == NONE:
            return None
        rep_id, rep_name = self.reps[rep][:2]
        top_id = UUID(int=(int(self.hi[top]) << 64) | int(self.lo[top]))
        top_name = self._text(self.name_off[top], self.name_len[top])
        threshold = self.parent_deal_threshold
        return {
            "rep": {"id": rep_id, "name": rep_name},
            "account": {
                "id": top_id,
                "external_id": self._text(self.ext_off[top], self.ext_len[top]),
                "name": top_name,
            },
            "threshold": threshold,
            "sentence": f"Deals of ${threshold:,.0f} or more anywhere in the {top_name} family are "
            f"{rep_name}'s, owner of {top_name}",
        }

    @property
    def nbytes(self) -> int:
        arrays: list[np.ndarray] = [getattr(self, name) for name in self.ROW_ARRAYS]
        arrays += [self.ext_keys, self.ext_rows, *(a for r in self.roles.values() for a in r.arrays())]
        tables = 200 * (len(self.reps) + len(self.territories) + len(self._reasons))
        extras = 150 * (len(self.ext_extra) + len(self.id_extra))
        return sum(a.nbytes for a in arrays) + len(self.blob) + tables + extras

    @property
    def owned(self) -> int:
        return max((int(np.count_nonzero(r.rep[: self.n] != NONE)) for r in self.roles.values()), default=0)

    # -- applying changes -------------------------------------------------------------------------------

    def apply(self, seq: int, change: Change) -> bool:
        """Apply one change at log position `seq`. False: the index cannot follow it (a plan switch, an
        unknown rep or territory, too many additions) and must be rebuilt; it is then left unchanged."""
        kind = change.kind
        if kind == ChangeKind.PLAN:
            return False
        if kind == ChangeKind.ACCOUNT:
            if not self._apply_account(change):
                return False
        elif kind == ChangeKind.OWNER:
            if change.plan_id != self.plan_id:
                return False
            row = self.row_of_id(change.subject_id)
            if row is None or change.role is None:
                return False
            if change.to_rep_id is None:
                owners = self.roles.get(change.role)
                if owners is not None:
                    owners.rep[row] = NONE
            else:
                if change.to_rep_id not in self.rep_index:
                    return False
                if change.to_territory_id is not None and change.to_territory_id not in self.territory_index:
                    return False
                self._set_owner(
                    row,
                    change.role,
                    change.to_rep_id,
                    change.to_territory_id,
                    change.valid_from,
                    change.cause,
                    change.reason,
                )
        elif kind == ChangeKind.REP:
            d = change.data
            departure = DepartureRecord.from_data(d["departure"]) if "departure" in d else KEEP
            self._put_rep(change.subject_id, d["name"], d["email"], d.get("end_date"), departure)
        elif kind == ChangeKind.POLICY:
            self.parent_deal_threshold = float(change.data["parent_deal_threshold"])
        elif kind == ChangeKind.TERRITORY and change.plan_id == self.plan_id:
            self._put_territory(change.subject_id, change.data["name"])
        self.seq = seq
        return True

    def _apply_account(self, change: Change) -> bool:
        d = change.data
        row = self.row_of_id(change.subject_id)
        if row is None:
            if d.get("deleted"):
                return True
            if len(self.id_extra) >= self.extra_limit:
                return False
            row = self._append_row(change.subject_id)
            self.id_extra[change.subject_id] = row
        elif d.get("deleted"):
            self.alive[row] = False
            return True
        ext, name = d["external_id"].encode(), d["name"].encode()
        if self.blob[int(self.ext_off[row]) : int(self.ext_off[row]) + int(self.ext_len[row])] != ext or (
            not self.alive[row]
        ):
            if len(self.ext_extra) >= self.extra_limit:
                return False
            self.ext_off[row], self.ext_len[row] = self._put_bytes(ext)
            self.ext_extra[d["external_id"]] = row
        self.name_off[row], self.name_len[row] = self._put_bytes(name)
        self.alive[row] = True
        if "parent_id" in d:  # entries older than the field keep the parent the index has
            parent = None if d["parent_id"] is None else self.row_of_id(UUID(str(d["parent_id"])))
            self.parent[row] = NONE if parent is None else parent
        return True

    def _put_bytes(self, data: bytes) -> tuple[int, int]:
        off = len(self.blob)
        self.blob += data
        return off, len(data)

    def _append_row(self, account_id: UUID) -> int:
        if self.n == len(self.hi):
            capacity = self.n + self.n // 4 + 1024
            _grow(self, self.ROW_ARRAYS, capacity)
            for owners in self.roles.values():
                owners.grow(capacity)
        row = self.n
        self.hi[row], self.lo[row] = account_id.int >> 64, account_id.int & 0xFFFF_FFFF_FFFF_FFFF
        self.n += 1
        return row

    def _set_owner(
        self,
        row: int,
        role: str,
        rep_id: UUID,
        territory_id: UUID | None,
        since: datetime,
        cause: str,
        reason: str | None,
    ) -> None:
        owners = self.roles.get(role)
        if owners is None:
            owners = self.roles[role] = _Role(len(self.hi))
        owners.rep[row] = self.rep_index[rep_id]
        owners.territory[row] = NONE if territory_id is None else self.territory_index[territory_id]
        owners.since[row] = _us(since)
        owners.cause[row] = self._cause(cause)
        owners.reason_off[row], owners.reason_len[row] = self._reason(reason)

    def _cause(self, cause: str) -> int:
        if cause not in self.causes:
            self.causes.append(cause)
        return self.causes.index(cause)

    def _reason(self, reason: str | None) -> tuple[int, int]:
        """Where a reason text sits in the blob; repeated texts (rule notes) share one copy."""
        text = reason or ""
        place = self._reasons.get(text)
        if place is None:
            place = self._put_bytes(text.encode()[:65_535])  # notes are at most 1,000 characters
            if len(self._reasons) >= _REASON_CACHE:
                self._reasons.clear()
            self._reasons[text] = place
        return place

    def _put_rep(
        self, rep_id: UUID, name: str, email: str, end_date: Any, departure: DepartureRecord | None = KEEP
    ) -> None:
        """A rep's entry; `departure` left out (KEEP) keeps the one recorded."""
        i = self.rep_index.get(rep_id)
        if departure is KEEP:
            departure = None if i is None else self.reps[i][4]
        entry = (rep_id, name, email, None if end_date is None else str(end_date), departure)
        if i is None:
            self.rep_index[rep_id] = len(self.reps)
            self.reps.append(entry)
        else:
            self.reps[i] = entry

    def _put_territory(self, territory_id: UUID, name: str) -> None:
        i = self.territory_index.get(territory_id)
        if i is None:
            self.territory_index[territory_id] = len(self.territories)
            self.territories.append((territory_id, name))
        else:
            self.territories[i] = (territory_id, name)
