"""The core's repository contract, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from payments_core.testing import RepositoryContract

pytestmark = pytest.mark.integration


class TestSqlPaymentRepository(RepositoryContract):
    """Every contract test, once per database (the ``repo`` fixture is parametrized)."""
