"""Territory boundaries (docs/domain.md, "Boundaries and assignment by rules"): rules over account fields
plus named-account lists, and
assignment by rules: every account goes to the highest-priority territory that matches it; an account
matching none is listed, never dropped; a tie at the top priority is reported as a conflict.

A boundary, as stored on a territory:

    {"rules": [{"field": "country", "op": "in", "value": ["US", "CA"]},
               {"field": "employees", "op": "between", "value": [100, 500]}],
     "named_accounts": ["ACC-001"]}

An account matches when it is named, or when every rule holds (a boundary with no rule matches only its
named accounts). Higher `priority` wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from domain.criteria import Columns, Cond, Pred, all_of, evaluate, fields_of, mask
from domain.errors import Code, FieldError, ValidationFailed

# field -> kind; the operators each kind allows
FIELDS: dict[str, str] = {
    "country": "text",
    "region": "text",
    "postal_code": "text",
    "industry": "text",
    "segment": "text",
    "stage": "text",
    "employees": "number",
    "annual_revenue": "number",
    "current_arr": "number",
    "tier": "number",
    "tags": "list",
}
OPERATORS: dict[str, set[str]] = {
    "text": {"eq", "in", "between", "prefix"},
    "number": {"eq", "in", "between", "ge", "le"},
    "list": {"has_any"},
}


@dataclass(frozen=True)
class Boundary:
    rules: Pred | None
    named: frozenset[str] = frozenset()

    def matches(self, account: Mapping[str, Any]) -> bool:
        if account.get("external_id") in self.named:
            return True
        return self.rules is not None and evaluate(self.rules, account)


def _conditions(rule: Mapping[str, Any]) -> list[Cond]:
    op, name, value = rule["op"], rule["field"], rule["value"]
    if op == "between":
        return [Cond(name, "ge", value[0]), Cond(name, "le", value[1])]
    if op == "prefix":
        return [Cond(name, "prefix", tuple(value) if isinstance(value, list) else (value,))]
    if op in ("in", "has_any"):
        return [Cond(name, op, tuple(value))]
    return [Cond(name, op, value)]


def parse_boundary(data: Mapping[str, Any] | None, path: str = "boundary") -> Boundary:
    """A stored boundary, checked: every problem is a FieldError naming the rule (`boundary.rules[1].op`)."""
    data = data or {}
    errors: list[FieldError] = []
    if not isinstance(data, Mapping):
        raise ValidationFailed(
            "invalid boundary", [FieldError(path, Code.INVALID_TYPE, "expected an object")]
        )
    for key in data:
        if key not in ("rules", "named_accounts"):
            errors.append(
                FieldError(f"{path}.{key}", Code.UNKNOWN_FIELD, "a boundary has rules and named_accounts")
            )
    rules = data.get("rules") or []
    named = data.get("named_accounts") or []
    if not isinstance(rules, list):
        errors.append(FieldError(f"{path}.rules", Code.INVALID_TYPE, "expected a list of rules"))
        rules = []
    if not isinstance(named, list) or not all(isinstance(n, str) and n for n in named):
        errors.append(
            FieldError(f"{path}.named_accounts", Code.INVALID_TYPE, "expected a list of external ids")
        )
        named = []
    conds: list[Cond] = []
    for i, rule in enumerate(rules):
        at = f"{path}.rules[{i}]"
        if not isinstance(rule, Mapping) or set(rule) != {"field", "op", "value"}:
            errors.append(FieldError(at, Code.INVALID_RULE, "a rule is {field, op, value}"))
            continue
        kind = FIELDS.get(rule["field"])
        if kind is None:
            errors.append(
                FieldError(f"{at}.field", Code.UNKNOWN_FIELD, f"one of: {', '.join(sorted(FIELDS))}")
            )
            continue
        if rule["op"] not in OPERATORS[kind]:
            allowed = ", ".join(sorted(OPERATORS[kind]))
            errors.append(FieldError(f"{at}.op", Code.BAD_OPERATOR, f"{rule['field']} takes: {allowed}"))
            continue
        problem = _value_problem(kind, rule["op"], rule["value"])
        if problem:
            errors.append(FieldError(f"{at}.value", Code.INVALID_VALUE, problem))
            continue
        conds.extend(_conditions(rule))
    if errors:
        raise ValidationFailed("the boundary is not valid", errors, code=Code.INVALID_BOUNDARY)
    return Boundary(all_of(*conds) if conds else None, frozenset(named))


_SHOWN = {"eq": "=", "ge": ">=", "le": "<=", "in": "in", "prefix": "starts with", "has_any": "has any of"}


def describe_boundary(data: Mapping[str, Any] | None) -> str:
    """A stored boundary in words, for the reason an account is owned: 'region = East and postal_code
    10000-29999'. Named accounts read 'named account'."""
    parts = []
    for rule in (data or {}).get("rules") or []:
        op, value = rule.get("op"), rule.get("value")
        if op == "between" and isinstance(value, list) and len(value) == 2:
            parts.append(f"{rule.get('field')} {value[0]}-{value[1]}")
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            parts.append(f"{rule.get('field')} {_SHOWN.get(op, op)} {shown}")
    if (data or {}).get("named_accounts"):
        parts.append("or a named account")
    return " and ".join(parts)[:900] or "named accounts"


def _scalar_ok(kind: str, v: Any) -> bool:
    if kind == "number":
        return isinstance(v, int | float) and not isinstance(v, bool)
    return isinstance(v, str)


def _value_problem(kind: str, op: str, value: Any) -> str | None:
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(_scalar_ok(kind, v) for v in value)):
            return "between takes [low, high]"
        if value[0] > value[1]:
            return "low must not be above high"
        return None
    if op in ("in", "has_any"):
        if not (
            isinstance(value, list)
            and value
            and all(_scalar_ok("text" if kind == "list" else kind, v) for v in value)
        ):
            return f"{op} takes a non-empty list"
        return None
    if op == "prefix":
        items = value if isinstance(value, list) else [value]
        return (
            None if items and all(isinstance(v, str) and v for v in items) else "prefix takes text or a list"
        )
    return None if _scalar_ok(kind, value) else f"expected a {'number' if kind == 'number' else 'text'}"


@dataclass(frozen=True)
class RuleTerritory:
    id: Any
    name: str
    priority: int
    boundary: Boundary


@dataclass
class RuleAssignment:
    assigned: dict[Any, Any] = field(default_factory=dict)  # account key -> territory id
    unmatched: list[Any] = field(default_factory=list)  # account keys no territory matches
    conflicts: dict[Any, list[Any]] = field(default_factory=dict)  # account key -> tied territory ids


@dataclass
class Matches:
    """Which territory's boundary holds which account of a chunk: `ruled[j, i]` its rules hold account i,
    `named[j, i]` territory j names it (rows in the order of `territories`)."""

    keys: list[Any]
    territories: list[RuleTerritory]
    ruled: np.ndarray
    named: np.ndarray

    @property
    def held(self) -> np.ndarray:
        return self.ruled | self.named


def match_boundaries(
    accounts: Iterable[tuple[Any, Mapping[str, Any]]], territories: Iterable[RuleTerritory]
) -> Matches:
    """Every boundary over the whole chunk at once (`domain.criteria.mask`): 100,000 accounts against 50
    boundaries is 100 array operations, not five million predicate calls."""
    keys, rows = [], []
    for key, account in accounts:
        keys.append(key)
        rows.append(account)
    listed = list(territories)
    n = len(rows)
    ruled = np.zeros((len(listed), n), dtype=bool)
    named = np.zeros((len(listed), n), dtype=bool)
    if not n:
        return Matches(keys, listed, ruled, named)
    fields = set().union(*(fields_of(t.boundary.rules) for t in listed if t.boundary.rules is not None))
    cols = Columns({f: [r.get(f) for r in rows] for f in fields}, n)
    index_of: dict[Any, int] = {}
    if any(t.boundary.named for t in listed):
        for i, r in enumerate(rows):
            index_of.setdefault(r.get("external_id"), i)
    for j, t in enumerate(listed):
        if t.boundary.rules is not None:
            ruled[j] = mask(t.boundary.rules, cols)
        for external_id in t.boundary.named:
            if (at := index_of.get(external_id)) is not None:
                named[j, at] = True
    return Matches(keys, listed, ruled, named)


def assign_by_rules(
    accounts: Iterable[tuple[Any, Mapping[str, Any]]], territories: Iterable[RuleTerritory]
) -> RuleAssignment:
    """Each account to its highest-priority matching territory. At the top priority a named-account match
    beats a rule match; a tie that remains is a conflict (listed, not assigned)."""
    return top_by_priority(match_boundaries(accounts, territories))


def top_by_priority(matches: Matches) -> RuleAssignment:
    """What the boundaries alone give each account (see assign_by_rules)."""
    keys, n = matches.keys, len(matches.keys)
    out = RuleAssignment()
    if not n:
        return out
    order = sorted(range(len(matches.territories)), key=lambda j: -matches.territories[j].priority)
    open_ = np.ones(n, dtype=bool)  # not matched at a higher priority
    level_start = 0
    while level_start < len(order):
        priority = matches.territories[order[level_start]].priority
        level = [j for j in order[level_start:] if matches.territories[j].priority == priority]
        level_start += len(level)
        ruled, named = matches.ruled[level], matches.named[level]
        # at one priority a named-account match beats a rule match
        candidates = np.where(named.any(axis=0), named, named | ruled) & open_
        count = candidates.sum(axis=0)
        winner = candidates.argmax(axis=0)
        ids = [matches.territories[j].id for j in level]
        for i in np.flatnonzero(count == 1).tolist():
            out.assigned[keys[i]] = ids[winner[i]]
        for i in np.flatnonzero(count > 1).tolist():
            out.conflicts[keys[i]] = [ids[j] for j in np.flatnonzero(candidates[:, i]).tolist()]
        open_ &= count == 0
    out.unmatched = [keys[i] for i in np.flatnonzero(open_).tolist()]
    return out
