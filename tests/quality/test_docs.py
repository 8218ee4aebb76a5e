"""The docs and comments point at things that exist and state the facts the code has."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from payments_core._references import new_reference

ROOT = Path(__file__).parents[2]
# a file or folder in `backticks` or ``double backticks``: a known suffix, or a final slash
QUOTED_PATH = re.compile(
    r"`{1,2}([\w.][\w./-]*(?:\.(?:py|md|toml|ya?ml|ini|cfg|pem|json|html|lua|mako)|/))`{1,2}"
)
# "SOMEDOC §4" or "SOMEDOC.md §4": a section of a document, which must be ours;
# a published standard ("RFC 3986 §5.2.4") is public and may be cited
SECTION = re.compile(r"(?<!RFC )\b([\w.-]+?)(?:\.md)? §\s?\d")
# what points outside the repository: a design document we do not ship, a shared folder,
# or a section sign that is not part of a published standard's citation ("RFC 3986 §5.2.4")
OUTSIDE = re.compile(r"\bDESIGN(?:\.md)?\b|/work/shared|\.\./shared/|(?<!RFC \d{4} )§")


def _tracked(*patterns: str) -> list[Path]:
    """The files git would commit, but for this one: its examples are meant to fail."""
    listed = subprocess.run(  # noqa: S603 - git on our own tree
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *patterns],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    paths = [ROOT / name for name in listed.stdout.splitlines()]
    return [path for path in paths if path.exists() and path != Path(__file__)]


def missing_paths(text: str, *, beside: Path, names: set[str]) -> list[str]:
    """Quoted paths in ``text`` that are not in the repository.

    A path with a slash is looked up from the project root and from each folder above
    ``beside``; a bare module or markdown file name must be the name of some file in
    ``names``. Other bare names (files a command writes, say) are not checked.
    """
    missing = []
    for path in QUOTED_PATH.findall(text):
        if path.startswith(("http", "api/", "/")):
            continue
        if "/" in path:
            found = any((base / path).exists() for base in (ROOT, *beside.parents))
        else:
            found = not path.endswith((".py", ".md")) or path in names
        if not found:
            missing.append(path)
    return missing


def foreign_sections(text: str, documents: set[str]) -> list[str]:
    """Section references (``X §4``) to documents that are not in the repository."""
    return [name for name in SECTION.findall(text) if name not in documents]


def test_every_quoted_path_in_docs_and_code_exists() -> None:
    files = _tracked("*.md", "*.py")
    names = {path.name for path in _tracked()}

    missing = {
        str(path.relative_to(ROOT)): found
        for path in files
        if (found := missing_paths(path.read_text(encoding="utf-8"), beside=path, names=names))
    }

    assert files
    assert not missing, missing


def test_every_section_reference_is_to_one_of_our_documents() -> None:
    files = _tracked("*.md", "*.py")
    documents = {path.stem for path in _tracked("*.md")}

    foreign = {
        str(path.relative_to(ROOT)): found
        for path in files
        if (found := foreign_sections(path.read_text(encoding="utf-8"), documents))
    }

    assert not foreign, foreign


def outside_references(text: str) -> list[str]:
    """What in ``text`` points at documents outside the repository."""
    return [found.group(0) for found in OUTSIDE.finditer(text)]


def test_no_file_cites_a_document_outside_the_repository() -> None:
    cited = {
        str(path.relative_to(ROOT)): found
        for path in _tracked()
        if path.suffix not in (".pem", ".db", ".png")
        and (found := outside_references(path.read_text(encoding="utf-8", errors="replace")))
    }

    assert not cited, cited


def test_the_reference_length_and_randomness_are_stated_as_the_code_makes_them() -> None:
    now = datetime(2024, 5, 20, 5, 14, 15, tzinfo=UTC)
    reference = new_reference(now)
    random_bits = 4 * (len(reference) - len(now.strftime("P%Y%m%d%H%M%S")))
    decisions = (ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")

    assert f"A {len(reference)}-character reference" in (new_reference.__doc__ or "")
    assert f"{random_bits} random bits" in (new_reference.__doc__ or "")
    assert f"({len(reference)} characters of letters and digits, {random_bits}" in decisions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see ``tests/sqlstore/test_nowhere.py``", ["tests/sqlstore/test_nowhere.py"]),
        ("see `docs/hooks.md` and `payments_core/`", []),
        ("`Asia/Shanghai`, `application/x-www-form-urlencoded`, `retry/1`", []),
        ("the protocol notes in `elsewhere.md`, not `hooks.md`", ["elsewhere.md"]),
        ("run it to write `app_private_key.pem`", []),
        ("GET `api/v1/payments/1` or `https://example.invalid/x.md`", []),
    ],
)
def test_a_quoted_path_that_does_not_exist_is_found(text: str, expected: list[str]) -> None:
    assert missing_paths(text, beside=ROOT / "README.md", names={"hooks.md"}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("as DESIGN §4 says", ["DESIGN"]),
        ("(alipay-protocol.md §8.5)", ["alipay-protocol"]),
        ("see decisions §2", []),
        ("resolved as RFC 3986 §5.2.4 says", []),
    ],
)
def test_a_section_of_a_foreign_document_is_found(text: str, expected: list[str]) -> None:
    assert foreign_sections(text, {"decisions", "hooks"}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the fields of DESIGN §2", ["DESIGN", "§"]),
        ("see DESIGN.md", ["DESIGN.md"]),
        ("as §10 says", ["§"]),
        (
            "in /work/shared/notes.txt or ../shared/DESIGN.md",
            ["/work/shared", "../shared/", "DESIGN.md"],
        ),
        ("resolved as RFC 3986 §5.2.4 says", []),
        ("DESIGNER, design, designs", []),
    ],
)
def test_a_reference_outside_the_repository_is_found(text: str, expected: list[str]) -> None:
    assert outside_references(text) == expected
