"""The contract of the ``IdempotencyStore`` Protocol: a key's first answer, stored with its payment."""

from __future__ import annotations

from typing import Protocol

from attrs import evolve

from payments_core.errors import DuplicateReference
from payments_core.inmemory import FrozenClock
from payments_core.ports import IdempotencyStore, Payments
from payments_core.testing._support import new_payment, raises, unique
from payments_core.values import IdempotencyClaim


class IdempotentRepository(Payments, IdempotencyStore, Protocol):
    """The suite's ``repo``: ``Payments.add`` stores the records that ``IdempotencyStore`` finds."""


class IdempotencyStoreContract:
    """What every ``IdempotencyStore`` does. Fixtures: ``repo`` (empty) and ``clock``."""

    def test_an_idempotency_record_is_stored_with_the_payment(
        self, repo: IdempotentRepository, clock: FrozenClock
    ) -> None:
        claim = IdempotencyClaim(payer="alice", key=unique("k"), fingerprint="f1")

        stored = repo.add(new_payment(clock), idempotency=claim)

        assert stored.id is not None
        assert repo.find_idempotent("alice", claim.key) == claim.recorded(stored.id)
        assert repo.find_idempotent("bob", claim.key) is None

    def test_a_taken_idempotency_key_stores_nothing(
        self, repo: IdempotentRepository, clock: FrozenClock
    ) -> None:
        record = IdempotencyClaim(payer="alice", key=unique("k"), fingerprint="f1")
        repo.add(new_payment(clock), idempotency=record)
        loser = new_payment(clock)

        with raises(DuplicateReference):
            repo.add(loser, idempotency=evolve(record, fingerprint="f2"))

        assert repo.find_for_order(loser.order_id) is None
        assert repo.find_idempotent("alice", record.key).fingerprint == "f1"  # type: ignore[union-attr]  # asserted present above
