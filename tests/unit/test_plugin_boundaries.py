"""No package names a plugin but the plugin itself: each reaches the others through hooks.

``payments_http`` gets the plugins' settings, commands and demo parts from hooks, and
the plugins never import each other or the HTTP adapter. Imports inside functions and
``importlib.import_module("...")`` / ``__import__("...")`` with a constant name count.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS: Final = frozenset({"payments_alipay", "payments_sqlstore", "payments_wechatpay"})
_DYNAMIC: Final = frozenset({"import_module", "__import__"})


def _imported(tree: ast.AST) -> set[str]:
    """Every module ``tree`` imports, statically or by a constant dynamic import."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


def _is_dynamic_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in _DYNAMIC


def _forbidden(package: str, forbidden: frozenset[str]) -> set[str]:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert len(modules) > 5, f"{package} has hardly any modules: wrong folder?"
    return {
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules
        for name in _imported(ast.parse(path.read_text(), filename=str(path)))
        if name.split(".")[0] in forbidden
    }


def test_payments_http_imports_no_plugin_package() -> None:
    assert _forbidden("payments_http", PLUGINS) == set()


@pytest.mark.parametrize("package", ["payments_alipay", "payments_wechatpay", "payments_sqlstore"])
def test_a_plugin_imports_neither_another_plugin_nor_the_http_adapter(package: str) -> None:
    others = (PLUGINS | {"payments_http"}) - {package}

    assert _forbidden(package, others) == set()


def test_the_check_sees_lazy_and_dynamic_imports() -> None:
    source = """
import json
def emulator():
    from payments_alipay.emulator import main
    import payments_sqlstore.schema as schema
def later():
    importlib.import_module("payments_wechatpay.plugin")
    __import__("payments_alipay")
    importlib.import_module(name_from_somewhere)
"""

    found = _imported(ast.parse(source))

    assert found == {
        "json",
        "payments_alipay.emulator",
        "payments_sqlstore.schema",
        "payments_wechatpay.plugin",
        "payments_alipay",
    }


def test_the_vendor_kit_imports_no_package_of_ours() -> None:
    kit = ROOT / "payments_vendorkit"
    modules = sorted(kit.rglob("*.py"))
    imported = {
        name
        for path in modules
        for name in _imported(ast.parse(path.read_text(), filename=str(path)))
        if name.startswith("payments") and name.split(".")[0] != "payments_vendorkit"
    }
    assert len(modules) >= 3
    assert imported == set()
