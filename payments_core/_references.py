"""Vendor references for checkout attempts: unique forever, not derived from ids alone."""

from __future__ import annotations

import secrets
from datetime import datetime


def new_reference(now: datetime) -> str:
    """A 33-character reference of letters and digits: ``P``, UTC time, then 72 random bits.

    The time prefix keeps references readable and sortable in vendor consoles; the
    random part keeps them unique across database resets and app instances.
    """
    return now.strftime("P%Y%m%d%H%M%S") + secrets.token_hex(9)
