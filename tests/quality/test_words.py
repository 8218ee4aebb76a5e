"""One word per concept (docs/glossary.md), in names, docstrings, comments and docs.

- The internal name is *sweep*; ``reconcile`` is only the command's name for one, and
  ``PAYMENTS_RECONCILE_INTERVAL`` a setting's: strings, never our identifiers.
- A payment has a *status*, an attempt a *state*; a stored change of status is a
  *status change*, not an event.
- The service *announces* a stored change (its ``announce`` callback), the outbox relay
  *delivers* changes to the hooks, and a vendor *notifies* us. Nobody notifies, tells
  or announces to a hook, and nobody delivers a notification: a vendor (or the
  emulator) sends it.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from tests.quality.test_docs import ROOT, _tracked

HERE: Final = Path(__file__)  # its examples are meant to fail
# where nothing is delivered: only the relay, between the core's outbox and the hooks, is
VENDORS: Final = ("payments_alipay", "examples/vendor_plugin")
CODE: Final = (
    "payments_core",
    "payments_alipay",
    "payments_sqlstore",
    "payments_http",
    "bench",
    "examples",
)
GLOSSARY: Final = ROOT / "docs" / "glossary.md"
TERMS: Final = (
    "payment",
    "attempt",
    "reference",
    "vendor trade id",
    "evidence",
    "notification",
    "sweep",
    "reconcile",
    "status",
    "state",
    "outbox",
    "status change",
    "announce",
    "deliver",
    "hook",
    "plugin",
    "port",
    "adapter",
    "emulator",
    "duplicate charge",
)

HOOK = re.compile(r"\bhooks?\b", re.IGNORECASE)
NOT_FOR_HOOKS = re.compile(
    r"\b(?:notif(?:y|ies|ied|ying)|announc\w*|tell\w*|told)\b", re.IGNORECASE
)
ANNOUNCE = re.compile(r"\bannounc\w*", re.IGNORECASE)
# what an announcement is said of: the service, or its ``announce`` callback by name
ANNOUNCER = re.compile(r"\bservice\b|`announce\b|\bannounce[:=]", re.IGNORECASE)
MIXED_STATUS = re.compile(
    r"\bpayment(?:'s|s'?)? states?\b|\battempt(?:'s|s'?)? status|\bstate machine\b"
    r"|\bstatus of (?:an|the|each|one) attempt|\bstate of (?:a|the|each|one) payment"
    r"|\btrue state\b|\bno state change|\b(?:creation|outbox) event",
    re.IGNORECASE,
)
NOTIFICATION = re.compile(r"\bnotifications?\b", re.IGNORECASE)
DELIVER = re.compile(r"\bdeliver\w*", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.;!?])\s+|\n\s*\n|\n(?=\|)")  # a table row is one


def _docstrings_and_comments(source: str) -> Iterator[str]:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                yield docstring
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.string.lstrip("# ")


def prose(path: Path, text: str) -> str:
    """The words of ``text`` meant for people: docstrings and comments, docs without code."""
    if path.suffix == ".md":
        return re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return "\n\n".join(_docstrings_and_comments(text))


def sentences(text: str) -> Iterator[str]:
    """``text`` cut into sentences (or paragraphs), each on one line."""
    for sentence in SENTENCE_END.split(text):
        yield " ".join(sentence.split())


def mixed_words(sentence: str) -> list[str]:
    """The reasons ``sentence`` mixes the words of two concepts, if it does."""
    found = []
    if HOOK.search(sentence) and (said := NOT_FOR_HOOKS.search(sentence)):
        found.append(f"a hook is delivered to, not {said[0]!r}")
    if ANNOUNCE.search(sentence) and not ANNOUNCER.search(sentence):
        found.append("only the service announces")
    if NOTIFICATION.search(sentence) and (said := DELIVER.search(sentence)):
        found.append(f"a notification is sent, not {said[0]!r}")
    if said := MIXED_STATUS.search(sentence):
        found.append(f"a payment has a status, an attempt a state: {said[0]!r}")
    return found


def _prose_files() -> list[Path]:
    return [
        path for path in _tracked("*.md", "*.py") if path != HERE and "migrations" not in path.parts
    ]


def test_no_name_in_our_code_says_reconcile() -> None:
    modules = [path for package in CODE for path in sorted((ROOT / package).rglob("*.py"))]
    named = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules
        for name in _names(path.read_text(encoding="utf-8"))
        if "reconcil" in name.lower()
    }

    assert len(modules) > 50
    assert named == set()


def test_no_name_in_a_vendor_plugin_says_deliver() -> None:
    modules = [path for package in VENDORS for path in sorted((ROOT / package).rglob("*.py"))]
    named = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules
        for name in _names(path.read_text(encoding="utf-8"))
        if "deliver" in name.lower()
    }

    assert len(modules) > 20
    assert named == set()


def _names(source: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name
        elif isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.Attribute):
            yield node.attr
        elif isinstance(node, ast.arg):
            yield node.arg
        elif isinstance(node, ast.alias):
            yield node.asname or node.name


def test_docs_docstrings_and_comments_keep_one_word_per_concept() -> None:
    files = _prose_files()
    mixed = {
        f"{path.relative_to(ROOT)}: {sentence[:120]}": reasons
        for path in files
        for sentence in sentences(prose(path, path.read_text(encoding="utf-8")))
        if (reasons := mixed_words(sentence))
    }

    assert len(files) > 100
    assert mixed == {}


def test_the_glossary_defines_every_term() -> None:
    defined = {
        term.lower()
        for term in re.findall(r"^- \*\*(.+?)\*\*", GLOSSARY.read_text(encoding="utf-8"), re.M)
    }

    assert set(TERMS) <= defined


@pytest.mark.parametrize(
    ("sentence", "mixed"),
    [
        ("The relay delivers each stored change to the status hooks.", False),
        ("The service announces each stored change; the relay delivers it.", False),
        ("A vendor notifies us of a paid trade: a notification.", False),
        ("Without `announce` the changes wait in the outbox.", False),
        ("announce: called after each stored status change.", False),
        ("The relay notifies the hooks of each change.", True),
        ("Status changes waiting to be announced to the hooks.", True),
        ("The relay that tells the hooks of each change.", True),
        ("Changes are announced even when the process died.", True),
        ("The Payment state machine against its table.", True),
        ("One sweep brings every payment to its true state.", True),
        ("An attempt's status is PAID.", True),
        ("The emulator resends each notification until it is answered.", False),
        ("One notification and the record of its delivery attempts.", True),
        ("The repository stores the payment and the outbox event.", True),
    ],
)
def test_a_sentence_mixing_two_concepts_is_found(sentence: str, mixed: bool) -> None:
    assert bool(mixed_words(sentence)) is mixed


def test_code_examples_in_docs_are_not_prose() -> None:
    text = "Words.\n\n```python\n# tells the hooks\n```\n"

    assert "tells" not in prose(Path("x.md"), text)
