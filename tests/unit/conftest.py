"""Fixtures of the core's unit tests."""

from __future__ import annotations

import pytest

from tests.unit.world import World


@pytest.fixture
def world() -> World:
    """The core on fresh in-memory adapters and a fake vendor, with a recording hook."""
    return World()
