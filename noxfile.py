"""Developer sessions: ``nox`` runs lint, mypy and tests; ``nox -s NAME`` runs one.

Every test belongs to at least one session; tests/quality/test_nox_sessions.py checks it.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "mypy", "tests"]
nox.options.reuse_existing_virtualenvs = True

# Each adapter's directory also holds tests marked integration or e2e; `tests` leaves those out.
FAST_TEST_DIRS = (
    "tests/unit",
    "tests/contracts",
    "tests/alipay",
    "tests/wechatpay",
    "tests/sqlstore",
    "tests/http",
)
NOT_SLOW = "not integration and not e2e"


def _install(session: nox.Session) -> None:
    session.install("-e", ".[test]")


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff (lint and formatting), then the tests that guard the tree: tests/quality."""
    _install(session)
    session.install("./examples/vendor_plugin")  # tests/quality runs mypy over examples/ too
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")
    session.run("pytest", "tests/quality")


@nox.session
def mypy(session: nox.Session) -> None:
    """mypy strict: the core and its pytest plugin, then the adapters, then tests, bench, examples."""
    _install(session)
    session.install("./examples/vendor_plugin")
    session.run("mypy", "payments_core", "payments_pytest.py", *session.posargs)
    session.run(
        "mypy",
        "payments_vendorkit",
        "payments_alipay",
        "payments_wechatpay",
        "payments_sqlstore",
        "payments_http",
    )
    session.run("mypy")  # everything pyproject.toml's [tool.mypy] files names


@nox.session
def tests(session: nox.Session) -> None:
    """Unit, contract and in-process adapter tests: fast, no services."""
    _install(session)
    session.run("pytest", "-m", NOT_SLOW, *FAST_TEST_DIRS, *session.posargs)


@nox.session
def integration(session: nox.Session) -> None:
    """Tests that talk to SQLite files, PostgreSQL (PAYMENTS_TEST_POSTGRES_URL) and local servers."""
    _install(session)
    session.run("pytest", "-m", "integration", *session.posargs)


@nox.session
def emulators(session: nox.Session) -> None:
    """The vendors' local emulators over real HTTP, and each gateway against its emulator."""
    _install(session)
    session.run("pytest", "-m", "integration", "tests/alipay", "tests/wechatpay", *session.posargs)


@nox.session
def e2e(session: nox.Session) -> None:
    """The real server as a subprocess, driven over HTTP (and headless Chromium when present)."""
    _install(session)
    session.run("pytest", "-m", "e2e", *session.posargs)


@nox.session
def examples(session: nox.Session) -> None:
    """Run every example script and the third-party vendor plugin's contract suite."""
    _install(session)
    session.install("./examples/vendor_plugin")
    session.run("python", "examples/embed_core.py")
    session.run("pytest", "tests/examples", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: each prints ratios against a lower bound measured in the same run."""
    _install(session)
    session.install("python-alipay-sdk")
    # as modules: run as a script, bench/http.py would shadow the standard library's http
    for module in (
        "bench.alipay",
        "bench.wechatpay",
        "bench.store",
        "bench.sweep",
        "bench.listing",
        "bench.refunds",
        "bench.http",
    ):
        session.run("python", "-m", module, *session.posargs)
