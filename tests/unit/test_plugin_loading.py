"""Entry-point loading: a plugin missing a dependency is left out and recorded, a broken one fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from payments_core.plugins import UnavailablePlugin, make_plugin_manager


def _install(site: Path, distribution: str, entry: str, modules: dict[str, str]) -> None:
    """A distribution ``distribution`` in ``site`` whose ``payments`` entry point is ``entry``."""
    info = site / f"{distribution}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[payments]\n{distribution} = {entry}\n")
    for relative, source in modules.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)


def test_a_plugin_whose_dependency_is_missing_is_left_out_and_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(
        tmp_path,
        "acmepay",
        "acmepay_plugin",
        {"acmepay_plugin.py": "import acme_sdk_not_installed\n"},
    )
    monkeypatch.syspath_prepend(tmp_path)

    pm = make_plugin_manager()

    assert pm.unavailable == [UnavailablePlugin("acmepay", "acmepay", "acme_sdk_not_installed")]
    assert not pm.has_plugin("acmepay")
    assert pm.has_plugin("alipay")  # the others still load


def test_a_plugin_that_cannot_import_its_own_module_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(
        tmp_path,
        "brokenpay",
        "brokenpay.plugin",
        {
            "brokenpay/__init__.py": "",
            "brokenpay/plugin.py": "import brokenpay.helpers_renamed_away\n",
        },
    )
    monkeypatch.syspath_prepend(tmp_path)

    with pytest.raises(ModuleNotFoundError, match="helpers_renamed_away"):
        make_plugin_manager()


def test_every_plugin_of_a_full_install_loads() -> None:
    pm = make_plugin_manager()

    assert pm.unavailable == []
    assert pm.has_plugin("alipay")
    assert pm.has_plugin("sqlstore")
