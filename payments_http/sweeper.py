"""The in-process sweeper, which lives in the core: ``payments_core.background.Sweeper``."""

from __future__ import annotations

from payments_core.background import Sweeper

__all__ = ["Sweeper"]
