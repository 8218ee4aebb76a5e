"""Shared test configuration."""

from __future__ import annotations

import pytest

# The contract suites live in product code; let pytest explain their failed asserts.
pytest.register_assert_rewrite("payments_core.testing")
