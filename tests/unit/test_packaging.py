"""The install layout: the core alone by default, the adapters as extras, and the launcher knows them."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest

from payments_command import EXTRA_OF_MODULE, advice

ROOT = Path(__file__).parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
_NAME = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[([^\]]*)\])?")


def _name(requirement: str) -> tuple[str, list[str]]:
    found = _NAME.match(requirement)
    assert found, requirement
    extras = [extra.strip() for extra in (found[2] or "").split(",") if extra.strip()]
    return found[1].lower().replace("_", "-"), extras


def _distributions(extra: str) -> set[str]:
    """The distributions ``payments[extra]`` installs beyond the core, ``payments[...]`` expanded."""
    names: set[str] = set()
    for requirement in PROJECT["optional-dependencies"][extra]:
        name, extras = _name(requirement)
        if name == "payments":
            for inner in extras:
                names |= _distributions(inner)
        else:
            names.add(name)
    return names


def test_the_base_install_is_the_core_alone() -> None:
    assert {_name(r)[0] for r in PROJECT["dependencies"]} == {"attrs", "cattrs", "pluggy"}


def _normal(distribution: str) -> str:
    """A distribution's name as pyproject.toml writes it (PEP 503: ``_`` and ``-`` alike)."""
    return distribution.lower().replace("_", "-")


def test_the_extras_nest_as_documented() -> None:
    alipay, sql = _distributions("alipay"), _distributions("sql")

    assert alipay == {"cryptography", "requests"}
    assert sql == {"sqlalchemy", "alembic"}
    assert _distributions("postgres") == sql | {"psycopg"}
    wechatpay = _distributions("wechatpay")
    assert wechatpay == alipay | {"segno"}
    served = {"starlette", "uvicorn", "pyjwt", "prometheus-client", "swagger-ui-bundle-v2"}
    assert alipay | wechatpay | sql | served == _distributions("server")
    assert _distributions("all") == _distributions("server") | _distributions("postgres")
    assert _distributions("all") <= _distributions("test")


def test_the_launcher_knows_the_module_of_every_extra_dependency() -> None:
    modules_of: dict[str, set[str]] = {}
    for module, distributions in importlib.metadata.packages_distributions().items():
        for distribution in distributions:
            modules_of.setdefault(_normal(distribution), set()).add(module)

    for extra in ("server", "postgres"):
        for distribution in _distributions(extra):
            known = {EXTRA_OF_MODULE.get(module) for module in modules_of[distribution]}
            assert known & {extra, "server"}, f"{distribution} ({extra}) is not in EXTRA_OF_MODULE"
    for module, extra in EXTRA_OF_MODULE.items():
        distribution = _normal(next(iter(importlib.metadata.packages_distributions()[module])))
        assert distribution in _distributions(extra), f"{module} is not in [{extra}]"


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ("starlette", "payments: starlette is not installed: pip install 'payments[server]'\n"),
        (
            "sqlalchemy.orm",
            "payments: sqlalchemy.orm is not installed: pip install 'payments[server]'\n",
        ),
        ("psycopg", "payments: psycopg is not installed: pip install 'payments[postgres]'\n"),
        ("payments_http.gone", None),  # ours: a bug, not an extra
        ("", None),
    ],
)
def test_the_launcher_names_the_extra_of_a_missing_module(
    missing: str, expected: str | None
) -> None:
    assert advice(missing) == expected


def test_the_readme_installs_the_server_first_and_tests_as_ci_does() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^python3 -m venv \.venv && .+$", readme, flags=re.MULTILINE)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]

    assert commands[0].startswith("python3 -m venv .venv && .venv/bin/pip install '.[server]' && ")
    assert commands[0].endswith(".venv/bin/payments serve --demo")
    assert commands[1] == ci


def test_the_metadata_names_a_license_and_points_at_the_docs() -> None:
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert "License :: OSI Approved :: MIT License" in PROJECT["classifiers"]
    assert PROJECT["readme"] == "README.md"
    for url in PROJECT["urls"].values():
        assert url.startswith("https://")
    assert PROJECT["urls"]["Readme"].endswith("/README.md")
    assert PROJECT["urls"]["Documentation"].endswith("/docs/api.md")
    assert (ROOT / "docs" / "api.md").exists()
