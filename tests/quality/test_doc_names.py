"""The Python names the docs and docstrings quote exist, so a rename cannot leave them stale.

A quoted ``payments_x.a.b`` is imported and looked up; a quoted ``Class.member`` is
looked up on every class of that name our packages define (read with ``ast``, then
imported), and names of classes we do not define (``ThreadPoolExecutor.map``) are left
alone.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import pytest

from tests.quality.test_docs import ROOT, _tracked

HERE: Final = Path(__file__)  # its examples are meant to fail
PACKAGES: Final = ("payments_core", "payments_alipay", "payments_sqlstore", "payments_http")
# `payments_x.a.b`, `Class.member` or `Class.member(...)`, in single or double backticks
QUOTED_NAME = re.compile(r"`{1,2}((?:payments_\w+|[A-Z]\w*[a-z]\w*)(?:[.:][A-Za-z_]\w*)+)")
# a file's name, which tests/quality/test_docs.py checks as a path
FILE_NAME = re.compile(r"\.(?:py|md|toml|ya?ml|ini|cfg|pem|json|html|lua|mako|txt)$")
# Quoted dotted words that are not Python names, each with the reason it is there.
NOT_NAMES: Final = {
    "payments_core.memory": "the name the in-memory plugin is registered under",
}


def _classes() -> dict[str, list[str]]:
    """Each class name our packages define, with the modules that define it."""
    found: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            module = module.removesuffix(".__init__")
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in tree.body:
                if isinstance(node, ast.ClassDef):
                    found.setdefault(node.name, []).append(module)
    return found


def _has(owner: object, names: Iterable[str]) -> bool:
    for name in names:
        if not hasattr(owner, name):
            return False
        owner = getattr(owner, name)
    return True


def _dotted_exists(dotted: str) -> bool:
    """Whether ``payments_x.mod.attr...`` imports, with the rest looked up as attributes."""
    parts = dotted.replace(":", ".").split(".")
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        return _has(module, parts[cut:])
    return False


def missing_names(text: str, classes: dict[str, list[str]]) -> list[str]:
    """Quoted names in ``text`` of our packages or classes that do not exist."""
    missing = []
    for name in QUOTED_NAME.findall(text):
        if name in NOT_NAMES or FILE_NAME.search(name):
            continue
        if name.startswith("payments_"):
            if not _dotted_exists(name):
                missing.append(name)
            continue
        owner, *members = name.split(".")
        modules = classes.get(owner)
        if modules is None:
            continue  # not one of ours
        if not any(_has(importlib.import_module(m), [owner, *members]) for m in modules):
            missing.append(name)
    return missing


def test_every_quoted_python_name_in_docs_and_code_exists() -> None:
    classes = _classes()
    files = [p for p in _tracked("*.md", "*.py") if p != HERE and "migrations" not in p.parts]

    missing = {
        str(path.relative_to(ROOT)): found
        for path in files
        if (found := missing_names(path.read_text(encoding="utf-8"), classes))
    }

    assert len(classes) > 20
    assert not missing, missing


def test_every_reason_for_a_quoted_word_is_still_needed() -> None:
    quoted = {
        name
        for path in _tracked("*.md", "*.py")
        if path != HERE
        for name in QUOTED_NAME.findall(path.read_text(encoding="utf-8"))
    }

    assert NOT_NAMES.keys() <= quoted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("`payments_core.outbox.OutboxRelay` and ``payments_core.OutboxRelay``", []),
        (
            "`payments_core.nowhere` and ``payments_core.sweep.nothing``",
            ["payments_core.nowhere", "payments_core.sweep.nothing"],
        ),
        ("`OutboxRelay.deliver()`, ``PaymentService.create``", []),
        (
            "`OutboxRelay.notify()` and ``PaymentService.reconcile_everything``",
            ["OutboxRelay.notify", "PaymentService.reconcile_everything"],
        ),
        ("`ThreadPoolExecutor.map`, `settings.get`, `payments_core.memory`", []),
        ("`payments_http.serve:app_from_environment`", []),
        ("`payments_pytest.py`, ``payments_core/ports.py``", []),
    ],
)
def test_a_quoted_name_that_does_not_exist_is_found(text: str, expected: list[str]) -> None:
    assert missing_names(text, _classes()) == expected
