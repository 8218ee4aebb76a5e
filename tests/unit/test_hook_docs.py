"""Every hook is documented in docs/hooks.md and has its own test."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from pathlib import Path

from payments_core import hookspecs

TESTS = Path(__file__).resolve().parents[1]
HOOKS_MD = TESTS.parent / "docs" / "hooks.md"


def _hookspecs() -> dict[str, Callable[..., object]]:
    return {
        name: spec
        for name, spec in vars(hookspecs).items()
        if callable(spec) and hasattr(spec, f"{hookspecs.PROJECT}_spec")
    }


def _heading(name: str, spec: Callable[..., object]) -> str:
    """``## `name(arg: Type, ...) -> Return``` as written in the source (annotations are text)."""
    signature = inspect.signature(spec)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
    return f"## `{name}({params}) -> {signature.return_annotation}`"


def _documented() -> set[str]:
    return set(re.findall(r"^## `payments_.*`$", HOOKS_MD.read_text(), flags=re.MULTILINE))


def _test_names() -> set[str]:
    return {
        node.name
        for path in TESTS.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def test_every_hookspec_has_a_section_in_docs_hooks_md_headed_by_its_signature() -> None:
    expected = {_heading(name, spec) for name, spec in _hookspecs().items()}

    documented = _documented()

    assert len(expected) == 7
    assert expected - documented == set(), "hooks without a section in docs/hooks.md"
    assert documented - expected == set(), "sections in docs/hooks.md for no current hook"


def test_every_hookspec_has_a_test_named_after_it() -> None:
    wanted = {f"test_hook_{name}" for name in _hookspecs()}

    missing = wanted - _test_names()

    assert missing == set()
