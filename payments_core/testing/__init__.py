"""Contract suites every adapter of a port must pass, importable by third-party plugins.

One suite per Protocol of the repository port, so an adapter that offers only some
of them runs only those: ``PaymentsContract``, ``RefundsContract``,
``SweepableContract``, ``IdempotencyStoreContract`` and ``OutboxContract``;
``RepositoryContract`` is all five, for a whole ``PaymentRepository``.
(``RefundsContract`` also holds ``Sweepable.claim_due_refunds`` and the refunds' changes
in the ``Outbox`` to their contract.) ``VendorContract`` is the vendor port's,
``OrdersContract`` the orders port's (a shop's own orders adapter).

Subclass a suite in a test module and provide its fixtures; pytest runs every
``test_`` method against your adapter. The ``payments`` pytest plugin, installed with
this package, provides the ``clock`` fixture (a ``FrozenClock``) and pytest's assert
explanations inside these modules, so no conftest is needed::

    class TestMyRepository(RepositoryContract):
        @pytest.fixture
        def repo(self, clock): ...   # an EMPTY repository per test

These modules import no test framework, so they stay inside the core's dependency rule.
"""

from __future__ import annotations

from payments_core.testing._support import attempt_for, new_payment, raises, unique
from payments_core.testing.idempotency import IdempotencyStoreContract
from payments_core.testing.orders import OrdersContract, Place
from payments_core.testing.outbox import OutboxContract
from payments_core.testing.payments import PaymentsContract
from payments_core.testing.refunds import RefundsContract, new_refund
from payments_core.testing.repository import RepositoryContract
from payments_core.testing.sweepable import SweepableContract
from payments_core.testing.vendor import Buyer, VendorContract

__all__ = [
    "Buyer",
    "IdempotencyStoreContract",
    "OrdersContract",
    "OutboxContract",
    "PaymentsContract",
    "Place",
    "RefundsContract",
    "RepositoryContract",
    "SweepableContract",
    "VendorContract",
    "attempt_for",
    "new_payment",
    "new_refund",
    "raises",
    "unique",
]
