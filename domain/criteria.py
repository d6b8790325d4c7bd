"""A small predicate language over flat account rows, so one rule is written once and both evaluated here
and compiled to SQL by the persistence layer (reports over a million accounts cannot loop in Python).

A condition on a missing value (None) is false, never unknown: `Not` is then plain negation, in Python and
in SQL alike (the compiler makes every condition null-safe).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "ge": operator.ge,
    "gt": operator.gt,
    "le": operator.le,
    "lt": operator.lt,
    "in": lambda a, b: a in b,
    "has_any": lambda a, b: any(v in b for v in a),  # a list field holds one of the values
    "prefix": lambda a, b: any(str(a).startswith(p) for p in b),  # text starting with one of the values
    "truthy": lambda a, _: bool(a),
    "not_null": lambda a, _: True,  # reached only when the value is not None
}


@dataclass(frozen=True)
class Cond:
    field: str
    op: str
    value: Any = None

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"unknown operator {self.op!r}")


@dataclass(frozen=True)
class All:
    parts: tuple[Pred, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Pred, ...]


@dataclass(frozen=True)
class Not:
    part: Pred


Pred = Cond | All | AnyOf | Not


def all_of(*parts: Pred) -> All:
    return All(tuple(parts))


def any_of(*parts: Pred) -> AnyOf:
    return AnyOf(tuple(parts))


def evaluate(pred: Pred, row: Mapping[str, Any]) -> bool:
    if isinstance(pred, Cond):
        value = row.get(pred.field)
        return value is not None and OPS[pred.op](value, pred.value)
    if isinstance(pred, All):
        return all(evaluate(p, row) for p in pred.parts)
    if isinstance(pred, AnyOf):
        return any(evaluate(p, row) for p in pred.parts)
    return not evaluate(pred.part, row)


def fields_of(pred: Pred) -> set[str]:
    if isinstance(pred, Cond):
        return {pred.field}
    if isinstance(pred, Not):
        return fields_of(pred.part)
    return set().union(*(fields_of(p) for p in pred.parts))
