"""Shared test configuration."""

from __future__ import annotations

import os

import pytest

# The contract suites live in product code; let pytest explain their failed asserts.
pytest.register_assert_rewrite("payments_core.testing")

POSTGRES_URL_VARIABLE = "PAYMENTS_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL URL; skips without it, but fails when ``CI=true``."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"{POSTGRES_URL_VARIABLE} must be set when CI=true", pytrace=False)
    pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set: no PostgreSQL to test against")
