"""Assignment by rules decided by the rules of engagement (docs/domain.md, "Boundaries and assignment by
rules" and "Rules of engagement"): a chunk of accounts, the plan's territories and the evidence gathered
set-wise for the chunk in, each account's owner, the rule that decided and the sentence naming the reps out.

The candidates of an account are the reps who own a territory of the plan (its primary rep, not departed):
the rep of each territory whose boundary holds it (a named list, or the rules), the owner of record (its
current owner in the plan) and any rep with an existing relationship (the policy's touches in its window,
or a sourced open or recently won opportunity). An account with one candidate goes to it without asking
the policy (the fast path); the others are decided by `domain.engagement.decide`. Plain data in and out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import numpy as np

from domain.boundaries import Matches, RuleAssignment, RuleTerritory, top_by_priority
from domain.engagement import TIE_WORDS, Candidate, Policy, RuleKind, decide

ONLY_CANDIDATE = "only_candidate"


@dataclass(frozen=True)
class RuleRep:
    """A rep who owns a territory of the plan and has not left."""

    id: Any
    name: str
    started_on: date | None = None


@dataclass(frozen=True)
class Evidence:
    """What the activities and opportunities say about a chunk, by (account id, rep id): meaningful
    touches in the relationship window with the last meaningful touch ever, and sourced opportunities
    (open, or won in the window)."""

    touches: Mapping[tuple[Any, Any], tuple[int, datetime | None]] = field(default_factory=dict)
    sourced: Mapping[tuple[Any, Any], int] = field(default_factory=dict)


class Placement(NamedTuple):
    """An account's owner by the policy: `territory_id` None keeps the owner of record where it is."""

    rep_id: Any
    territory_id: Any
    rule: str
    note: str


@dataclass
class ChunkRuling:
    boundaries: RuleAssignment  # what the boundaries alone give (unmatched, conflicts, the top territory)
    placed: dict[int, Placement] = field(default_factory=dict)  # account's index in the chunk -> owner
    ownerless: dict[int, Any] = field(default_factory=dict)  # index -> its territory without an owner


def _words(code: str) -> str:
    return code.replace("_", " ")


class Book:
    """A chunk's candidates, gathered set-wise: the boundaries over the whole chunk at once (`matches`,
    keyed by the accounts' indices in the chunk), then per rep the best of its territories holding each
    account (a named one first, then the highest priority, then the first by name). Each account has
    `owner_rep_id`, `owner_territory_id` and `owner_valid_from`; `owners`: territory id -> its primary rep
    who has not left; `reps`: those reps; `evidence` by (account id, rep id)."""

    def __init__(
        self,
        accounts: Sequence[Mapping[str, Any]],
        matches: Matches,
        owners: Mapping[Any, Any],
        reps: Mapping[Any, RuleRep],
        evidence: Evidence,
        policy: Policy,
    ):
        self.accounts = accounts
        self.matches = matches
        self.owners = owners
        self.policy = policy
        self.reps = reps
        self.evidence = evidence
        self.territories = matches.territories
        self.by_id = {t.id: t for t in self.territories}
        self.row_of = {t.id: j for j, t in enumerate(self.territories)}
        # the reps that own territories, each with its territories' rows (in the territories' order)
        rows: dict[Any, list[int]] = {}
        for j, t in enumerate(self.territories):
            rep_id = owners.get(t.id)
            if rep_id in reps:
                rows.setdefault(rep_id, []).append(j)
        self.rep_ids = list(rows)
        self.rep_row = {r: k for k, r in enumerate(self.rep_ids)}
        self.home = {  # rep -> its territory of highest priority (the first by name of those)
            r: self.territories[min(js, key=lambda j: -self.territories[j].priority)]
            for r, js in rows.items()
        }
        n = len(accounts)
        held, named = matches.held, matches.named
        self.best = np.full((len(self.rep_ids), n), -1, dtype=np.int64)  # rep x account -> territory row
        for k, r in enumerate(self.rep_ids):
            js = rows[r]
            if len(js) == 1:
                self.best[k] = np.where(held[js[0]], js[0], -1)
                continue
            rank = {p: i for i, p in enumerate(sorted({self.territories[j].priority for j in js}))}
            score = np.stack(
                [
                    np.where(held[j], named[j] * (len(rank) + 1) + rank[self.territories[j].priority], -1)
                    for j in js
                ]
            )
            top = score.argmax(axis=0)  # the first of equal scores: the first by name
            self.best[k] = np.where(score.max(axis=0) >= 0, np.asarray(js)[top], -1)
        found = self.best >= 0
        self.matched = found.sum(axis=0) if self.rep_ids else np.zeros(n, dtype=np.int64)
        self.first = found.argmax(axis=0) if self.rep_ids else np.zeros(n, dtype=np.int64)
        rule = policy.rule(RuleKind.EXISTING_RELATIONSHIP)
        self.relationship = rule.params if rule is not None else None
        self.related: dict[int, set[Any]] = {}  # account's index -> reps with an existing relationship
        keys = [k for k in {*evidence.touches, *evidence.sourced} if k[1] in reps and self._related(k)]
        if keys:
            index = {a["id"]: i for i, a in enumerate(accounts)}
            for account_id, rep_id in keys:
                if (i := index.get(account_id)) is not None:
                    self.related.setdefault(i, set()).add(rep_id)

    def _related(self, key: tuple[Any, Any]) -> bool:
        p = self.relationship
        if p is None:
            return False
        touches = self.evidence.touches.get(key, (0, None))[0]
        return touches >= p["min_touches"] or bool(p["sourced_counts"] and self.evidence.sourced.get(key, 0))

    def rep_set(self, i: int) -> list[Any]:
        """The candidates' rep ids of account i: boundaries first (in the territories' order), then reps
        with a relationship. The owner of record is one where a boundary of theirs still holds the account
        or they have a relationship: among those the territory of record keeps its owner, and a redrawn
        boundary that no longer holds the account moves it (docs/domain.md, "Boundaries and assignment by
        rules")."""
        if self.matched[i] <= 1:
            out = [self.rep_ids[self.first[i]]] if self.matched[i] else []
        else:
            out = [self.rep_ids[k] for k in np.flatnonzero(self.best[:, i] >= 0).tolist()]
        for r in sorted(self.related.get(i, ()), key=str):
            if r not in out:
                out.append(r)
        return out

    def territory_of(self, rep_id: Any, i: int) -> RuleTerritory | None:
        """The rep's best territory holding account i, if one does."""
        k = self.rep_row.get(rep_id)
        j = int(self.best[k, i]) if k is not None else -1
        return self.territories[j] if j >= 0 else None

    def candidate(self, rep_id: Any, i: int) -> Candidate:
        a, rep = self.accounts[i], self.reps[rep_id]
        key = (a["id"], rep_id)
        is_owner = a.get("owner_rep_id") == rep_id
        t = self.territory_of(rep_id, i)
        named = t is not None and bool(self.matches.named[self.row_of[t.id], i])
        if t is None and is_owner:
            territory_id = a.get("owner_territory_id")
            where = self.by_id.get(territory_id)
            name = where.name if where is not None else None
        elif t is None:
            territory_id, name = self.home[rep_id].id, self.home[rep_id].name
        else:
            territory_id, name = t.id, t.name
        since = a.get("owner_valid_from")
        count, last = self.evidence.touches.get(key, (0, None))
        return Candidate(
            rep_id=rep_id,
            rep_name=rep.name,
            territory_id=territory_id,
            territory_name=name,
            boundary_priority=t.priority if t is not None else None,
            named=named,
            owner_of_record=is_owner,
            owner_since=since.date() if is_owner and isinstance(since, datetime) else None,
            meaningful_touches=count,
            last_touch_at=last,
            sourced_opportunities=self.evidence.sourced.get(key, 0),
            started_on=rep.started_on,
        )

    def candidates(self, i: int) -> list[Candidate]:
        return [self.candidate(r, i) for r in self.rep_set(i)]


def rule_code(policy: Policy, kind: RuleKind) -> str:
    rule = policy.rule(kind)
    return rule.code if rule is not None else ONLY_CANDIDATE


def _touches(n: int) -> str:
    return f"{n} meaningful touch{'es' if n != 1 else ''}"


def _claim(c: Candidate, window: Any) -> str:
    """The strongest thing a candidate who lost had, in words."""
    if c.named:
        return f"{c.territory_name} ({c.rep_name}) names it"
    if c.boundary_priority is not None:
        return f"the boundary of {c.territory_name} ({c.rep_name}) holds its headquarters"
    if c.owner_of_record:
        return f"{c.rep_name} owned it"
    return f"{c.rep_name} has {_touches(c.meaningful_touches)}{window}"


def _won(c: Candidate, kind: RuleKind | None, window: str, policy: Policy) -> str:
    if kind is RuleKind.NAMED_ACCOUNT:
        return f"{c.territory_name} names it ({c.rep_name})"
    if kind is RuleKind.EXISTING_RELATIONSHIP:
        sourced = (
            f" and sourced {c.sourced_opportunities} open or recently won opportunities"
            if c.sourced_opportunities
            else ""
        )
        return f"{c.rep_name} has {_touches(c.meaningful_touches)}{window}{sourced}"
    if kind is RuleKind.TERRITORY_OF_RECORD:
        where = f" in {c.territory_name}" if c.territory_name else ""
        return f"{c.rep_name} owns it now{where} and keeps it"
    if kind is RuleKind.BOUNDARY:
        return f"the boundary of {c.territory_name} ({c.rep_name}) holds it, priority {c.boundary_priority}"
    if kind is RuleKind.RAMP_PROTECTION:
        return f"{c.rep_name}, a new hire since {c.started_on}, keeps it"
    if kind is RuleKind.LEASE:
        return f"{c.rep_name} holds it"
    keys = ", then ".join(TIE_WORDS[k] for k in policy.tiebreak)
    return f"{c.rep_name} ({c.territory_name}) goes first by {keys or 'id'}, level on every rule"


def note_of(
    owner: Candidate, others: Sequence[Candidate], code: str, kind: RuleKind | None, policy: Policy
) -> str:
    """The assignment's note: the deciding rule, what the owner had, and what the others had, by name
    ("existing relationship: Sarah Chen has 3 meaningful touches in the last 90 days; the boundary of West
    (James Park) holds its headquarters")."""
    rule = policy.rule(RuleKind.EXISTING_RELATIONSHIP)
    window = f" in the last {rule.params['window_days']} days" if rule is not None else ""
    text = f"{_words(code)}: {_won(owner, kind, window, policy)}"
    if others:
        text += "; " + "; ".join(_claim(o, window) for o in others)
    return text[:1000]


def decide_chunk(book: Book, today: date, boundary_notes: Mapping[Any, str]) -> ChunkRuling:
    """Each account of the book's chunk to its owner by the policy (`boundary_notes`: territory id -> the
    note of an account its boundary alone gives it).

    An account whose boundary gives it to a territory without an owner keeps the owner it has (listed); an
    account with no candidate, or whose only candidate is its owner of record with no territory of theirs
    holding it, keeps its owner too. The fast path (one candidate, held by a boundary: most of a book)
    shares one Placement per territory and never builds a Candidate."""
    accounts, matches, owners, reps, policy = book.accounts, book.matches, book.owners, book.reps, book.policy
    top = top_by_priority(matches)
    out = ChunkRuling(top)
    n = len(accounts)
    if not n:
        return out
    kinds = {r.code: r.kind for r in policy.rules}
    by_boundary, by_name = rule_code(policy, RuleKind.BOUNDARY), rule_code(policy, RuleKind.NAMED_ACCOUNT)
    fast: dict[tuple[int, bool], Placement] = {}
    for j, t in enumerate(book.territories):
        rep_id = owners.get(t.id)
        if rep_id in reps:
            fast[(j, False)] = Placement(rep_id, t.id, by_boundary, boundary_notes[t.id])
            note = f"{_words(by_name)}: {t.name} names it ({reps[rep_id].name})"
            fast[(j, True)] = Placement(rep_id, t.id, by_name, note)
    columns = np.arange(n)
    first = book.first.tolist()
    matched = book.matched.tolist()
    rows = book.best[book.first, columns].tolist() if book.rep_ids else [-1] * n
    named = book.matches.named[np.maximum(rows, 0), columns].tolist() if book.territories else [False] * n
    assigned, related, rep_ids = top.assigned, book.related, book.rep_ids
    for i in range(n):
        held_by = assigned.get(i)
        if held_by is not None and held_by not in owners:
            out.ownerless[i] = held_by
            continue
        if matched[i] == 1 and i not in related:
            owner = accounts[i].get("owner_rep_id")
            if owner is None or owner == rep_ids[first[i]] or owner not in reps:
                out.placed[i] = fast[(rows[i], named[i])]
                continue
        _decide(book, i, today, kinds, fast, out)
    return out


def _decide(
    book: Book,
    i: int,
    today: date,
    kinds: Mapping[str, RuleKind],
    fast: Mapping[tuple[int, bool], Placement],
    out: ChunkRuling,
) -> None:
    """Account i with no or several candidates, or a relationship: the policy decides."""
    policy, reps_of = book.policy, book.rep_set(i)
    if not reps_of:
        return
    if len(reps_of) == 1:  # a relationship or an owner alone
        rep_id = reps_of[0]
        t = book.territory_of(rep_id, i)
        if t is not None:
            j = book.row_of[t.id]
            out.placed[i] = fast[(j, bool(book.matches.named[j, i]))]
        elif book.accounts[i].get("owner_rep_id") != rep_id:  # a relationship alone: its first territory
            code = rule_code(policy, RuleKind.EXISTING_RELATIONSHIP)
            note = note_of(book.candidate(rep_id, i), (), code, RuleKind.EXISTING_RELATIONSHIP, policy)
            out.placed[i] = Placement(rep_id, book.home[rep_id].id, code, note)
        return
    candidates = [book.candidate(r, i) for r in reps_of]
    ruling = decide(candidates, policy, today, words=False)
    owner = ruling.owner
    assert owner is not None  # every candidate here owns a territory and has not left
    t = book.territory_of(owner.rep_id, i)
    others = [c for c in candidates if c is not owner]
    note = note_of(owner, others, ruling.rule, kinds.get(ruling.rule), policy)
    if t is not None:
        territory_id = t.id
    elif owner.owner_of_record:
        territory_id = None  # the owner keeps it where it is
    else:
        territory_id = book.home[owner.rep_id].id
    out.placed[i] = Placement(owner.rep_id, territory_id, ruling.rule, note)
