"""The SQL unit of work and the in-memory fake both implement domain.ports: every member a port names, with
parameters the port's callers can pass (mypy checks the types: see domain/ports.py)."""

from __future__ import annotations

import inspect
import typing
import uuid
from typing import Any

import pytest

from api.services.context import AppContext
from domain import ports
from persistence.unit_of_work import SqlUnitOfWork
from tests.fakes import FakeContext

HINTS = {"__aenter__", "__aexit__"}


def _members(port: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cls in reversed(port.__mro__):
        if getattr(cls, "__module__", None) != ports.__name__:
            continue
        for name, value in vars(cls).items():
            if (not name.startswith("_") or name in HINTS) and (
                callable(value) or isinstance(value, property)
            ):
                out[name] = value
    return out


def _accepts(port_fn: Any, impl_fn: Any) -> list[str]:
    wanted = [p for n, p in inspect.signature(port_fn).parameters.items() if n != "self"]
    got = inspect.signature(impl_fn).parameters
    kinds = {p.kind for p in got.values()}
    problems = []
    for p in wanted:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            if p.kind not in kinds:
                problems.append(f"no {p}")
        elif p.name not in got and p.VAR_POSITIONAL not in kinds and p.VAR_KEYWORD not in kinds:
            problems.append(f"no parameter {p.name}")
    return problems


def check(port: type, impl: Any, path: str) -> list[str]:
    problems = []
    for name, member in _members(port).items():
        if not hasattr(impl, name):
            problems.append(f"{path}.{name} is missing")
            continue
        value = getattr(impl, name)
        if isinstance(member, property):
            kind = typing.get_type_hints(member.fget, vars(ports)).get("return")
            if isinstance(kind, type) and getattr(kind, "_is_protocol", False):
                problems += check(kind, value, f"{path}.{name}")
        else:
            problems += [f"{path}.{name}: {p}" for p in _accepts(member, value)]
    return problems


async def _sql_uow() -> SqlUnitOfWork:
    uow = SqlUnitOfWork(lambda: None, uuid.uuid4())  # type: ignore[arg-type]
    return await uow.__aenter__()  # builds the repositories and stores; no session is opened


@pytest.mark.parametrize("which", ["sql", "fake"])
async def test_the_units_of_work_implement_the_port(which):
    uow = await _sql_uow() if which == "sql" else await FakeContext().uow(uuid.uuid4()).__aenter__()
    assert check(ports.UnitOfWork, uow, "uow") == []


async def test_the_sql_unit_of_work_has_the_set_based_stores():
    assert check(ports.SetBasedUnitOfWork, await _sql_uow(), "uow") == []


def test_the_contexts_hand_out_units_of_work():
    assert check(ports.UnitsOfWork, FakeContext(), "ctx") == []
    assert callable(AppContext.uow) and "clock" in AppContext.__dataclass_fields__


def test_the_check_sees_a_missing_member_and_a_missing_parameter():
    class Store:
        async def plan_owners(self, plan_id): ...

    problems = check(ports.HistoryStore, Store(), "history")
    assert "history.plan_owners: no parameter account_id" in problems
    assert "history.live_accounts is missing" in problems
