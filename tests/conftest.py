"""Shared test configuration."""

from __future__ import annotations

import os

import pytest

# tests/contracts/test_pytest_plugin.py runs pytest on throwaway projects, as a plugin author would.
pytest_plugins = ["pytester"]

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
