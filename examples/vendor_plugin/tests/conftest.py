"""Let pytest explain failed asserts inside the core's contract suite."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("payments_core.testing")
