"""The contract of a whole ``PaymentRepository``: the suites of its five Protocols."""

from __future__ import annotations

from payments_core.testing.idempotency import IdempotencyStoreContract
from payments_core.testing.outbox import OutboxContract
from payments_core.testing.payments import PaymentsContract
from payments_core.testing.refunds import RefundsContract
from payments_core.testing.sweepable import SweepableContract


class RepositoryContract(
    PaymentsContract, RefundsContract, SweepableContract, IdempotencyStoreContract, OutboxContract
):
    """What every ``PaymentRepository`` does. Fixtures: ``repo`` (empty) and ``clock``."""
