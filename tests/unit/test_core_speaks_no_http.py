"""payments_core speaks outcomes: no HTTP status, header, media type or URL, no vendor's name.

The HTTP adapter picks statuses and headers; each vendor adapter words its own replies.
Every check reads the core's source with ``ast`` (and ``tokenize`` for comments), so a
leak fails here whichever module it lands in.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import pytest

import payments_core

CORE = Path(payments_core.__file__).parent

# Integers that look like HTTP statuses but are not, each with the reason it is there.
NOT_STATUSES = {
    ("listing.py", 100): "the most payments on one page",
    ("listing.py", 200): "the longest cursor handed back",
    ("money.py", 100): "minor units in one major unit (fen in a yuan)",
    ("outbox.py", 500): "status changes delivered per batch",
    ("refunding.py", 256): "the longest refund reason",
    ("services.py", 256): "the longest subject",
    ("values.py", 200): "the longest subscriber name",
    ("sweep.py", 100): "attempts claimed per sweep batch",
    ("testing/outbox.py", 100): "how many changes a contract test reads back",
    ("testing/refunds.py", 100): "how many changes a contract test reads back",
}
# Modules that play a vendor's wire format: the fake vendor, the vendor contract suite and
# the order strings of the contract suites' attempts.
VENDOR_WIRE = {"fakevendor.py", "testing/_support.py", "testing/vendor.py"}

VENDOR_NAMES = re.compile(r"alipay|wechat", re.IGNORECASE)
HTTP_NAME = re.compile(r"http|status_code", re.IGNORECASE)
WIRE_WORDS = re.compile(
    r"https?://|\b(?:text|application|multipart)/[\w.+-]+"
    r"|retry-after|content-type|www-authenticate|x-request-id|authorization",
    re.IGNORECASE,
)


def _modules() -> list[Path]:
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) > 10
    assert CORE / "testing" / "payments.py" in modules  # subpackages speak no HTTP either
    return modules


def _name(path: Path) -> str:
    """How the reasons above name a module: its path inside the core, like "testing/outbox.py"."""
    return path.relative_to(CORE).as_posix() if path.is_relative_to(CORE) else path.name


def _docstrings(tree: ast.Module) -> set[int]:
    owners = [tree, *(n for n in ast.walk(tree) if isinstance(n, _DOCUMENTED))]
    return {
        id(owner.body[0].value)
        for owner in owners
        if owner.body
        and isinstance(owner.body[0], ast.Expr)
        and isinstance(owner.body[0].value, ast.Constant)
        and isinstance(owner.body[0].value.value, str)
    }


_DOCUMENTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _strings(source: str, *, docstrings: bool) -> Iterator[str]:
    tree = ast.parse(source)
    skipped = set() if docstrings else _docstrings(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skipped
        ):
            yield node.value


# Where each kind of node keeps the names it introduces or uses.
_NAME_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {
    ast.Name: ("id",),
    ast.Attribute: ("attr",),
    ast.arg: ("arg",),
    ast.keyword: ("arg",),
    ast.FunctionDef: ("name",),
    ast.AsyncFunctionDef: ("name",),
    ast.ClassDef: ("name",),
    ast.alias: ("name", "asname"),
}


def _names(source: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(source)):
        for field in _NAME_FIELDS.get(type(node), ()):
            name = getattr(node, field)
            if name:
                yield name


def _comments(source: str) -> Iterator[str]:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.string


def _status_like_ints(name: str, source: str) -> set[tuple[str, int]]:
    return {
        (name, node.value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and type(node.value) is int and 100 <= node.value <= 599
    }


def status_like_ints(modules: list[Path]) -> set[tuple[str, int]]:
    """Integer literals 100-599 in ``modules`` that no reason explains."""
    found = set().union(*(_status_like_ints(_name(p), p.read_text()) for p in modules))
    return found - NOT_STATUSES.keys()


def vendor_names(modules: list[Path]) -> set[str]:
    """Modules naming a vendor in a string, docstring, identifier or comment."""
    return {
        _name(path)
        for path in modules
        for text in [
            *_strings(path.read_text(), docstrings=True),
            *_names(path.read_text()),
            *_comments(path.read_text()),
        ]
        if VENDOR_NAMES.search(text)
    }


def http_words(modules: list[Path]) -> set[str]:
    """``module: word`` for HTTP names in code, and wire words in non-docstring strings."""
    found = {
        f"{_name(p)}: {n}" for p in modules for n in _names(p.read_text()) if HTTP_NAME.search(n)
    }
    for path in modules:
        if _name(path) in VENDOR_WIRE:
            continue
        for text in _strings(path.read_text(), docstrings=False):
            found.update(f"{_name(path)}: {m[0]}" for m in WIRE_WORDS.finditer(text))
    return found


def test_the_core_holds_no_http_status_literal() -> None:
    assert status_like_ints(_modules()) == set()


def test_every_reason_for_a_status_like_integer_is_still_needed() -> None:
    found = set().union(*(_status_like_ints(_name(p), p.read_text()) for p in _modules()))

    assert NOT_STATUSES.keys() <= found


def test_the_core_names_no_vendor() -> None:
    assert vendor_names(_modules()) == set()


def test_the_core_uses_no_http_name_header_media_type_or_url() -> None:
    assert http_words(_modules()) == set()


@pytest.mark.parametrize(
    ("source", "check"),
    [
        ("FORGED = Reply(body='failure', status_code=400)\n", status_like_ints),
        ("def reply():\n    return 204\n", status_like_ints),
        ("default_vendor: str = 'alipay'\n", vendor_names),
        ("# answer WeChat Pay in JSON\nx = 1\n", vendor_names),
        ("class Reply:\n    status_code: int\n", http_words),
        ("HEADERS = {'Retry-After': '5'}\n", http_words),
        ("REPLY = Reply(body='success', media_type='text/plain')\n", http_words),
    ],
)
def test_each_check_catches_its_leak(
    source: str, check: Callable[[list[Path]], Collection[object]], tmp_path: Path
) -> None:
    module = tmp_path / "leaky.py"
    module.write_text(source)

    assert check([module])
