"""One error vocabulary: every code the engine answers is a member of `domain.errors.Code`, written as one,
and documented in docs/errors.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from domain.errors import Code

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("api", "domain", "persistence") for p in (ROOT / d).rglob("*.py")]


# callables whose positional argument at this index is a code: FieldError(field, code, message), and the
# helpers that build one (the settings check's bad(path, code, message), the import's _Bad(code, ...))
CODE_ARGUMENT = {"FieldError": 1, "bad": 1, "_Bad": 0}


def literal_codes(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals where a code goes: code=..., a FieldError's second argument, a class's `code = ...`
    and a {"code": ...} entry."""
    found: list[tuple[int, str]] = []

    def check(node: ast.AST | None) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "code":
                    check(kw.value)
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            at = CODE_ARGUMENT.get(name or "")
            if at is not None and len(node.args) > at:
                check(node.args[at])
        elif isinstance(node, ast.ClassDef):
            for st in node.body:
                targets = (
                    st.targets
                    if isinstance(st, ast.Assign)
                    else [st.target]
                    if isinstance(st, ast.AnnAssign)
                    else []
                )
                if any(isinstance(t, ast.Name) and t.id == "code" for t in targets):
                    check(st.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "code":
                    check(value)
    return found


def test_no_code_is_a_free_string():
    free = [
        f"{path.relative_to(ROOT)}:{line}: {value!r}"
        for path in SOURCES
        for line, value in literal_codes(ast.parse(path.read_text()))
    ]
    assert free == [], "write these as domain.errors.Code members:\n" + "\n".join(free)


def test_the_finder_sees_free_strings():
    tree = ast.parse(
        'raise Conflict("x", code="oops")\nFieldError("f", "bad", "m")\nclass E:\n    code = "e"\n'
    )
    assert sorted(v for _, v in literal_codes(tree)) == ["bad", "e", "oops"]


def test_every_code_is_used_and_documented():
    source = "\n".join(p.read_text() for p in SOURCES if p != ROOT / "domain" / "errors.py")
    errors_module = (ROOT / "domain" / "errors.py").read_text()
    unused = [
        c.name for c in Code if f"Code.{c.name}" not in source and f"Code.{c.name}" not in errors_module
    ]
    assert unused == []
    documented = set(re.findall(r"`([a-z_]+)`", (ROOT / "docs" / "errors.md").read_text()))
    assert sorted(c.value for c in Code if c.value not in documented) == ["domain_error"]
