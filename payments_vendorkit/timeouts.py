"""How long one call to a vendor's server may take, and how often its faults are retried."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    """How long one call may take, and how often a transport fault is retried."""

    connect: float = 3.05
    read: float = 10.0
    retries: int = 2  # extra tries after a connect/read fault; the calls retried are idempotent
    backoff: float = 0.2  # seconds before the first retry, doubled each time
    total: float = 12.0  # seconds one call may take, all its tries and waits included
    in_flight: int = 32  # calls at once, abandoned ones included: a hung gateway costs no more
