"""Vendor references for checkout attempts: unique forever, not derived from ids alone."""

from __future__ import annotations

import secrets
from datetime import datetime


def new_reference(now: datetime) -> str:
    """A 31-character reference of letters and digits: ``P``, UTC time, then 64 random bits.

    The time prefix keeps references readable and sortable in vendor consoles; the
    random part keeps them unique across database resets and app instances. At most 32
    characters: the shortest merchant order number a vendor of ours takes.
    """
    return now.strftime("P%Y%m%d%H%M%S") + secrets.token_hex(8)
