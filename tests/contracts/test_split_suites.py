"""Each repository suite needs only its own Protocol: adapters offering a part run that part.

The adapters here expose ``Payments`` plus at most one other Protocol of the repository
port, and nothing else: a suite that called a method outside its Protocol would fail
with an AttributeError.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

import pytest

from payments_core.inmemory import InMemoryPaymentRepository
from payments_core.listing import PaymentQuery
from payments_core.payment import Payment, PaymentId
from payments_core.refund import Refund
from payments_core.testing import (
    IdempotencyStoreContract,
    OutboxContract,
    PaymentsContract,
    RefundsContract,
    RepositoryContract,
    SweepableContract,
)
from payments_core.testing.idempotency import IdempotentRepository
from payments_core.testing.outbox import OutboxRepository
from payments_core.testing.sweepable import SweepableRepository
from payments_core.values import (
    Change,
    ChangeSource,
    Delivery,
    DueAttempt,
    IdempotencyClaim,
    IdempotencyRecord,
    StatusChange,
    Subscriber,
)


class PaymentsOnly:
    """A repository offering the ``Payments`` Protocol and no other."""

    def __init__(self) -> None:
        self._store = InMemoryPaymentRepository()

    def add(
        self,
        payment: Payment,
        *,
        idempotency: IdempotencyClaim | None = None,
        source: ChangeSource = ChangeSource.CREATE,
    ) -> Payment:
        return self._store.add(payment, idempotency=idempotency, source=source)

    def get(self, payment_id: PaymentId) -> Payment:
        return self._store.get(payment_id)

    def get_by_reference(self, reference: str) -> Payment:
        return self._store.get_by_reference(reference)

    def find_for_order(self, order_id: str) -> Payment | None:
        return self._store.find_for_order(order_id)

    def save(
        self,
        payment: Payment,
        *,
        previous: Payment,
        refunds: Sequence[Refund] = (),
        source: ChangeSource | None = None,
    ) -> Payment:
        return self._store.save(payment, previous=previous, refunds=refunds, source=source)

    def page(self, query: PaymentQuery) -> Sequence[Payment]:
        return self._store.page(query)

    def status_changes(self, payment_id: PaymentId) -> Sequence[StatusChange]:
        return self._store.status_changes(payment_id)


class PaymentsWithKeys(PaymentsOnly):
    """``Payments`` and ``IdempotencyStore``: no sweeping, no outbox."""

    def find_idempotent(self, payer: str, key: str) -> IdempotencyRecord | None:
        return self._store.find_idempotent(payer, key)


class PaymentsWithSweeps(PaymentsOnly):
    """``Payments`` and ``Sweepable``."""

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[DueAttempt]:
        return self._store.claim_due(now, limit=limit, lease=lease)

    def claim_due_refunds(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[Refund]:
        return self._store.claim_due_refunds(now, limit=limit, lease=lease)


class PaymentsWithOutbox(PaymentsOnly):
    """``Payments`` and ``Outbox``."""

    def pending_changes(self, *, limit: int) -> Sequence[Change]:
        return self._store.pending_changes(limit=limit)

    def claim_changes(
        self, now: datetime, *, limit: int, lease: timedelta, hooks: Collection[str] = ()
    ) -> Sequence[Change]:
        return self._store.claim_changes(now, limit=limit, lease=lease, hooks=hooks)

    def mark_delivered(self, deliveries: Sequence[Delivery]) -> None:
        self._store.mark_delivered(deliveries)

    def register_subscribers(self, names: Collection[str], now: datetime) -> None:
        self._store.register_subscribers(names, now)

    def retire_subscriber(self, name: str, now: datetime) -> int:
        return self._store.retire_subscriber(name, now)

    def subscribers(self) -> Sequence[Subscriber]:
        return self._store.subscribers()


class TestPaymentsAndIdempotencyStoreOnly(PaymentsContract, IdempotencyStoreContract):
    @pytest.fixture
    def repo(self) -> IdempotentRepository:
        return PaymentsWithKeys()


class TestSweepableOnly(SweepableContract):
    @pytest.fixture
    def repo(self) -> SweepableRepository:
        return PaymentsWithSweeps()


class TestOutboxOnly(OutboxContract):
    @pytest.fixture
    def repo(self) -> OutboxRepository:
        return PaymentsWithOutbox()


@pytest.mark.parametrize(
    ("adapter", "missing"),
    [
        (PaymentsWithKeys, ["claim_due", "pending_changes", "claim_changes", "mark_delivered"]),
        (PaymentsWithSweeps, ["find_idempotent", "pending_changes", "mark_delivered"]),
        (PaymentsWithOutbox, ["find_idempotent", "claim_due"]),
    ],
)
def test_the_partial_adapters_lack_the_other_protocols(
    adapter: type[PaymentsOnly], missing: list[str]
) -> None:
    partial = adapter()

    for method in missing:
        with pytest.raises(AttributeError):
            getattr(partial, method)


def test_the_whole_repository_suite_is_the_five_suites_without_overlap() -> None:
    def tests_of(suite: type) -> set[str]:
        return {name for name in dir(suite) if name.startswith("test_")}

    parts = [
        PaymentsContract,
        RefundsContract,
        SweepableContract,
        IdempotencyStoreContract,
        OutboxContract,
    ]
    names = [tests_of(part) for part in parts]

    assert tests_of(RepositoryContract) == set().union(*names)
    assert sum(map(len, names)) == len(tests_of(RepositoryContract))
