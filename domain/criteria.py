"""A small predicate language over flat account rows, so one rule is written once and both evaluated here
and compiled to SQL by the persistence layer (reports over a million accounts cannot loop in Python).

A condition on a missing value (None) is false, never unknown: `Not` is then plain negation, in Python and
in SQL alike (the compiler makes every condition null-safe).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

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


class Columns:
    """Rows as columns (field -> one value per row, None where missing), with the arrays `mask` derives
    from a column made once and reused by every condition on it."""

    def __init__(self, columns: Mapping[str, Sequence[Any]], n: int):
        self.columns, self.n = columns, n
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def values(self, name: str) -> Sequence[Any]:
        return self.columns.get(name) or [None] * self.n

    def _derived(self, name: str, kind: str) -> np.ndarray:
        key = (name, kind)
        if key not in self._cache:
            values, n = self.values(name), self.n
            if kind == "present":
                out = np.fromiter((v is not None for v in values), dtype=bool, count=n)
            elif kind == "numbers":
                out = np.fromiter(
                    (float(v) if _is_number(v) else np.nan for v in values), dtype=float, count=n
                )
            elif kind == "is_text":
                out = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=n)
            else:
                out = np.array([v if isinstance(v, str) else "" for v in values], dtype=str)
            self._cache[key] = out
        return self._cache[key]

    def present(self, name: str) -> np.ndarray:
        return self._derived(name, "present")

    def numbers(self, name: str) -> np.ndarray:
        return self._derived(name, "numbers")

    def is_text(self, name: str) -> np.ndarray:
        return self._derived(name, "is_text")

    def texts(self, name: str) -> np.ndarray:
        return self._derived(name, "texts")


def mask(pred: Pred, cols: Columns) -> np.ndarray:
    """`evaluate` for every row of `cols` at once: a boolean array, True where the row satisfies the
    predicate. The same answers as `evaluate` row by row, at the speed of array operations (100,000
    accounts against 50 boundaries in a fraction of a second, where the row-by-row loop took seconds)."""
    n = cols.n
    if isinstance(pred, All):
        out = np.ones(n, dtype=bool)
        for part in pred.parts:
            out &= mask(part, cols)
        return out
    if isinstance(pred, AnyOf):
        out = np.zeros(n, dtype=bool)
        for part in pred.parts:
            out |= mask(part, cols)
        return out
    if isinstance(pred, Not):
        return ~mask(pred.part, cols)
    return _cond_mask(pred, cols)


def _cond_mask(cond: Cond, cols: Columns) -> np.ndarray:
    name, op, target = cond.field, cond.op, cond.value
    present = cols.present(name)
    if op == "not_null":
        return present
    if op in _COMPARE and _is_number(target):
        numbers = cols.numbers(name)
        with np.errstate(invalid="ignore"):
            hit = _COMPARE[op](numbers, float(target))
        values = cols.values(name)
        for i in np.flatnonzero(present & np.isnan(numbers)):  # not a number: as `evaluate` answers
            hit[i] = OPS[op](values[int(i)], target)
        return present & hit
    if cols.n and (op in _COMPARE and isinstance(target, str) or op in ("in", "prefix") and _texts(target)):
        texts, is_text = cols.texts(name), cols.is_text(name)
        if op == "in":
            hit = np.isin(texts, list(target))
        elif op == "prefix":
            hit = np.zeros(cols.n, dtype=bool)
            for p in target:
                hit |= np.char.startswith(texts, p)
        else:
            hit = _COMPARE[op](texts, target)
        values = cols.values(name)
        for i in np.flatnonzero(present & ~is_text):  # a value that is not text: as `evaluate` answers
            hit[i] = OPS[op](values[int(i)], target)
        return present & hit
    # the rest (in over numbers, has_any, truthy): one test per row
    test = OPS[op]
    return np.fromiter(
        (v is not None and bool(test(v, target)) for v in cols.values(name)), dtype=bool, count=cols.n
    )


def _texts(target: Any) -> bool:
    return isinstance(target, tuple | list) and bool(target) and all(isinstance(t, str) for t in target)


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": np.equal,
    "ne": np.not_equal,
    "ge": np.greater_equal,
    "gt": np.greater,
    "le": np.less_equal,
    "lt": np.less,
}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)
