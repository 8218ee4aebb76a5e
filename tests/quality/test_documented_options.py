"""Every command-line option the docs quote is an option some ``payments`` command has."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_http import cli
from payments_http.settings import declared

ROOT = Path(__file__).parents[2]
QUOTED_OPTION = re.compile(r"`[^`\n]*?(--[a-z][a-z0-9-]+)[^`\n]*`")
# options of other tools the docs quote: ours are checked, theirs are not ours to check
OTHER_TOOLS = {
    "--self-test": "python examples/server.py",
    "--seconds": "python -m bench.*",
    "--duration": "python -m bench.*",
    "--compare": "python -m bench.http",
    "--count": "python -m bench.refunds",
    "--counts": "python -m bench.sweep",
    "--only": "python -m bench.listing",
    "--root-path": "uvicorn",
    "--fix": "ruff check",
    "--check": "ruff format",
    "--all-files": "pre-commit run",
    "--acme-api-key": "a made-up plugin's setting, in docs/hooks.md",
}


def _options(parser: argparse.ArgumentParser) -> Iterator[str]:
    for action in parser._actions:
        yield from (o for o in action.option_strings if o.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _options(sub)


def _ours() -> set[str]:
    hooks = PaymentHooks(make_plugin_manager())
    return set(_options(cli._parser(hooks, declared(hooks))))


def test_every_option_the_docs_quote_exists() -> None:
    ours = _ours()
    documents = [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]
    missing = {
        f"{path.relative_to(ROOT)}: {option}"
        for path in documents
        for option in QUOTED_OPTION.findall(path.read_text(encoding="utf-8"))
        if option not in ours and option not in OTHER_TOOLS
    }

    assert "--database-timeout" in ours
    assert "--database-pool-size" in ours
    assert not missing, missing


def test_the_readme_settings_table_is_one_table_with_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("| variable | default | meaning |")
    table = readme[start : readme.index("\n\n", start)]
    names = set(re.findall(r"^\| `([A-Z0-9_]+)`", table, flags=re.MULTILINE))
    names |= set(re.findall(r"^\| `[A-Z0-9_]+` / `([A-Z0-9_]+)`", table, flags=re.MULTILINE))
    hooks = PaymentHooks(make_plugin_manager())
    ours = {s.name for s in declared(hooks) if not s.name.startswith("EXAMPLEPAY_")}

    assert ours <= names, ours - names
