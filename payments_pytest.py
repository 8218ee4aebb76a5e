"""The pytest plugin ``payments``: what a contract suite needs, so a plugin author writes no conftest.

pytest loads it through the ``pytest11`` entry point ``payments`` wherever the ``payments``
distribution is installed (``-p no:payments`` turns it off; with plugin autoloading disabled,
``-p payments`` turns it on). It provides fixtures only, no hooks with side effects, and it
imports nothing of ``payments_core`` until a test asks for a fixture, so a project that runs
no contract suite neither waits for nor depends on the core. It lives outside ``payments_core``
because importing any module in that package imports the whole core first, and because the
assert rewriting below must be registered before ``payments_core.testing`` is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from payments_core.inmemory import FrozenClock

# The suites are product code: pytest explains a failed assert only in modules registered for
# rewriting before their first import, and it loads this plugin before any conftest or test.
pytest.register_assert_rewrite("payments_core.testing")


@pytest.fixture
def clock() -> FrozenClock:
    """A clock standing still at a fixed UTC time until the test advances it.

    The contract suites read it to date payments and attempts. Override it (in a conftest,
    module or class) to share one clock with a fixture that needs it first, as an emulator does.
    """
    from payments_core.inmemory import FrozenClock  # here, not at the top: see the module's doc

    return FrozenClock()
