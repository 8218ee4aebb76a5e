"""What ``payments_core`` exports: each name importable, and no export hiding a module."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import payments_core

MODULES = sorted(info.name for info in pkgutil.iter_modules(payments_core.__path__))


@pytest.mark.parametrize("module", MODULES)
def test_no_export_hides_a_module_of_the_same_name(module: str) -> None:
    """``payments_core.sweep`` is the module, never its ``sweep`` function.

    A package attribute named like a submodule wins over it: ``import
    payments_core.sweep as m`` and ``mock.patch("payments_core.sweep.log")`` would
    reach the function.
    """
    imported = importlib.import_module(f"payments_core.{module}")

    assert isinstance(imported, types.ModuleType)
    assert getattr(payments_core, module, imported) is imported


def test_every_name_in_all_is_exported() -> None:
    assert len(MODULES) > 10
    assert [name for name in payments_core.__all__ if not hasattr(payments_core, name)] == []
