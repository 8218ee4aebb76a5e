"""The contract of reading payments back: pages (``Payments.page``) and status changes.

``PaymentPagesContract`` is part of ``PaymentsContract``; ``KeptHistoryContract`` needs
an ``Outbox`` too and is part of ``OutboxContract``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Protocol

from attrs import evolve

from payments_core.inmemory import FrozenClock
from payments_core.listing import LIMIT_MAX, PaymentQuery
from payments_core.payment import Payment, PaymentStatus
from payments_core.ports import Outbox, Payments
from payments_core.testing._support import attempt_for, new_payment, unique
from payments_core.values import ChangeSource, Delivery


class HistoryRepository(Payments, Outbox, Protocol):
    """What ``KeptHistoryContract`` needs of a repository."""


def _add(repo: Payments, clock: FrozenClock, payer: str, *, attempts: int = 1) -> Payment:
    """A new payment of ``payer`` with ``attempts`` attempts, one second after the last."""
    clock.advance(timedelta(seconds=1))
    start = evolve(new_payment(clock), payer=payer)
    stored = repo.add(start)
    for _ in range(attempts - 1):
        stored = repo.save(stored.with_attempt(attempt_for(clock), at=clock.now()), previous=stored)
    return stored


def _ids(payments: Iterable[Payment]) -> list[int | None]:
    return [p.id for p in payments]


class PaymentPagesContract:
    """What ``Payments.page`` and ``Payments.status_changes`` do. Fixtures: ``repo``, ``clock``."""

    def test_a_page_is_newest_first_and_holds_whole_payments(
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        payer = unique("payer-")
        stored = [_add(repo, clock, payer, attempts=n % 3 + 1) for n in range(5)]

        page = repo.page(PaymentQuery(limit=10, payer=payer))

        assert _ids(page) == _ids(reversed(stored))
        assert list(page) == [repo.get(p.id or 0) for p in reversed(stored)]
        assert [len(p.attempts) for p in page] == [2, 1, 3, 2, 1]

    def test_a_page_stops_at_its_limit(self, repo: Payments, clock: FrozenClock) -> None:
        payer = unique("payer-")
        stored = [_add(repo, clock, payer, attempts=2) for _ in range(4)]

        page = repo.page(PaymentQuery(limit=3, payer=payer))

        assert _ids(page) == _ids(reversed(stored[1:]))
        assert all(len(p.attempts) == 2 for p in page)

    def test_pages_below_an_id_cover_everything_once_while_payments_arrive(
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        payer = unique("payer-")
        before = [_add(repo, clock, payer) for _ in range(7)]
        seen: list[int | None] = []
        query = PaymentQuery(limit=3, payer=payer)
        while True:
            page = repo.page(query)
            _add(repo, clock, payer)  # a newer payment between two pages is never shown
            seen += _ids(page)
            if len(page) < query.limit:
                break
            query = evolve(query, before=page[-1].id)

        assert seen == _ids(reversed(before))

    def test_each_filter_keeps_only_what_matches(self, repo: Payments, clock: FrozenClock) -> None:
        alice, bob = unique("alice-"), unique("bob-")
        a1 = _add(repo, clock, alice)
        b1 = _add(repo, clock, bob)
        a2 = _add(repo, clock, alice)
        confirmed = a2.confirm(a2.attempts[0].reference, trade_id=unique("T"), at=clock.now())
        a2 = repo.save(confirmed, previous=a2)
        b2 = _add(repo, clock, bob)
        everyone = (alice, bob)

        def ids(query: PaymentQuery) -> set[int | None]:
            return {p.id for p in repo.page(query) if p.payer in everyone}

        q = PaymentQuery(limit=LIMIT_MAX)
        assert ids(evolve(q, payer=bob)) == {b1.id, b2.id}
        assert ids(evolve(q, status=PaymentStatus.CONFIRMED)) == {a2.id}
        assert ids(evolve(q, status=PaymentStatus.PENDING, payer=alice)) == {a1.id}
        assert ids(evolve(q, order_id=b1.order_id)) == {b1.id}
        assert ids(evolve(q, order_id=b1.order_id, payer=alice)) == set()
        assert ids(evolve(q, created_from=b1.created_at)) == {b1.id, a2.id, b2.id}
        assert ids(evolve(q, created_to=b1.created_at)) == {a1.id}
        window = evolve(q, created_from=b1.created_at, created_to=b2.created_at)
        assert ids(window) == {b1.id, a2.id}
        assert ids(evolve(q, payer=unique("nobody-"))) == set()

    def test_a_page_below_the_oldest_id_is_empty(self, repo: Payments, clock: FrozenClock) -> None:
        payer = unique("payer-")
        first = _add(repo, clock, payer)

        assert repo.page(PaymentQuery(limit=5, payer=payer, before=first.id)) == []

    def test_status_changes_are_oldest_first_with_their_source(
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        stored = _add(repo, clock, unique("payer-"))
        clock.advance(timedelta(seconds=1))
        timed_out = repo.save(
            stored.transition(PaymentStatus.TIMEOUT, at=clock.now()),
            previous=stored,
            source=ChangeSource.SWEEP,
        )
        clock.advance(timedelta(seconds=1))
        again = repo.save(
            timed_out.transition(PaymentStatus.PENDING, at=clock.now()), previous=timed_out
        )
        repo.save(  # no change of status: no status change
            again.with_attempt(attempt_for(clock), at=clock.now()),
            previous=again,
            source=ChangeSource.RETRY,
        )

        changes = repo.status_changes(stored.id or 0)

        assert [(c.previous, c.current, c.source) for c in changes] == [
            (None, PaymentStatus.PENDING, ChangeSource.CREATE),
            (PaymentStatus.PENDING, PaymentStatus.TIMEOUT, ChangeSource.SWEEP),
            (PaymentStatus.TIMEOUT, PaymentStatus.PENDING, None),
        ]
        assert [c.at for c in changes] == [
            stored.created_at,
            timed_out.updated_at,
            again.updated_at,
        ]
        assert {c.payment_id for c in changes} == {stored.id}

    def test_status_changes_are_the_payments_own(self, repo: Payments, clock: FrozenClock) -> None:
        mine = _add(repo, clock, unique("payer-"))
        other = _add(repo, clock, unique("payer-"))
        repo.save(
            other.transition(PaymentStatus.TIMEOUT, at=clock.now()),
            previous=other,
            source=ChangeSource.NOTIFICATION,
        )

        assert [c.payment_id for c in repo.status_changes(mine.id or 0)] == [mine.id]
        assert repo.status_changes(987654321) == []


class KeptHistoryContract:
    """Delivered status changes stay readable. Fixtures: ``repo`` (Payments and Outbox), ``clock``."""

    def test_a_delivered_status_change_is_still_read_back(
        self, repo: HistoryRepository, clock: FrozenClock
    ) -> None:
        stored = _add(repo, clock, unique("payer-"))
        pending = [c for c in repo.pending_changes(limit=1000) if c.payment_id == stored.id]
        repo.mark_delivered([Delivery(change_id=c.id, done=True) for c in pending])

        assert not [c for c in repo.pending_changes(limit=1000) if c.payment_id == stored.id]
        assert [c.current for c in repo.status_changes(stored.id or 0)] == [PaymentStatus.PENDING]
