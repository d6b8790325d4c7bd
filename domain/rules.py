"""Validation rules of the model: parent cycles, rep dates, segments. (One active plan per tenant and one
current owner of record per plan, account and role are unique indexes of the database; the services check
them first to answer with the field, and translate a race the index catches into the same conflict.)"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import date
from typing import TypeVar

from domain.defaults import SegmentThresholds
from domain.errors import Code, FieldError, RuleViolation
from domain.model import Segment

K = TypeVar("K", bound=Hashable)


def find_parent_cycles(parents: Mapping[K, K | None], starts: Iterable[K] | None = None) -> list[list[K]]:
    """Every cycle reachable from `starts` (default: all nodes) in a child -> parent map, each once."""
    state: dict[K, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[K]] = []
    for start in parents if starts is None else starts:
        if state.get(start):
            continue
        path: list[K] = []
        node: K | None = start
        while node is not None and not state.get(node):
            state[node] = 1
            path.append(node)
            node = parents.get(node)
        if node is not None and state.get(node) == 1:
            cycles.append(path[path.index(node) :])
        for visited in path:
            state[visited] = 2
    return cycles


def check_parent_change(account_id: K, new_parent_id: K | None, parents: Mapping[K, K | None]) -> None:
    """Refuse a parent link that would make `account_id` its own ancestor."""
    if new_parent_id is None:
        return
    if new_parent_id == account_id:
        raise RuleViolation(
            "an account cannot be its own parent",
            [FieldError("parent_id", Code.PARENT_CYCLE, "an account cannot be its own parent")],
            code=Code.PARENT_CYCLE,
        )
    node: K | None = new_parent_id
    seen: set[K] = set()
    while node is not None and node not in seen:
        if node == account_id:
            raise RuleViolation(
                "the parent link would form a cycle",
                [
                    FieldError(
                        "parent_id", Code.PARENT_CYCLE, "the new parent is a descendant of this account"
                    )
                ],
                code=Code.PARENT_CYCLE,
            )
        seen.add(node)
        node = parents.get(node)


def check_rep_dates(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise RuleViolation(
            "a rep's end date cannot be before the start date",
            [FieldError("end_date", Code.END_BEFORE_START, f"end date {end} is before start date {start}")],
            code=Code.END_BEFORE_START,
        )


def segment_for(
    annual_revenue: float | None, employees: int | None, bands: SegmentThresholds
) -> Segment | None:
    """Segment by company revenue (docs/domain.md, "Segments"), or by employee bands when revenue is
    unknown."""
    if annual_revenue is not None:
        if annual_revenue > bands.enterprise_min_revenue:
            return Segment.ENTERPRISE
        if annual_revenue >= bands.mid_market_min_revenue:
            return Segment.MID_MARKET
        return Segment.SMB
    if employees is not None:
        if employees >= bands.enterprise_min_employees:
            return Segment.ENTERPRISE
        if employees >= bands.mid_market_min_employees:
            return Segment.MID_MARKET
        return Segment.SMB
    return None
