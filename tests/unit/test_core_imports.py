"""payments_core may import only the standard library, attrs, cattrs and pluggy."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import payments_core

ALLOWED = {"attrs", "cattrs", "pluggy", "payments_core"}
CORE = Path(payments_core.__file__).parent


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_modules_import_only_the_standard_library_attrs_cattrs_and_pluggy() -> None:
    modules = sorted(CORE.rglob("*.py"))
    forbidden = {
        f"{path.relative_to(CORE)}: {root}"
        for path in modules
        for root in _imported_roots(path)
        if root not in ALLOWED and root not in sys.stdlib_module_names
    }

    assert len(modules) > 10
    assert CORE / "testing" / "payments.py" in modules  # subpackages obey the rule too
    assert forbidden == set()


def test_the_import_check_catches_an_adapter_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("import sqlalchemy\nfrom requests import Session\nimport json\n")

    assert _imported_roots(module) - sys.stdlib_module_names == {"sqlalchemy", "requests"}
