"""Requested refunds: who may ask, how much, intent first, and what the vendor's answer does."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest

from payments_core.errors import (
    IdempotencyKeyReused,
    NotAllowed,
    PaymentNotFound,
    PaymentNotRefundable,
    RefundExceedsPayment,
    RefundNotFound,
    RefundNotSupported,
    ValidationFailed,
)
from payments_core.fakevendor import REFUND_EXCEEDED, FakeMode, FakeVendor
from payments_core.inmemory import InMemoryPaymentRepository
from payments_core.money import Money
from payments_core.payment import Payment, PaymentId, PaymentStatus
from payments_core.refund import Refund, RefundKind, RefundStatus
from payments_core.refunding import RACED
from payments_core.sweep import sweep
from payments_core.values import (
    Caller,
    NotificationOutcome,
    RefundIdempotencyRecord,
    RefundReport,
)
from tests.unit.world import ADMIN, ALICE, BOB, World

ROOT_TOO = ADMIN


def confirmed(world: World, total: str = "12.30") -> Payment:
    """A CONFIRMED payment of ``total``, paid through its first attempt."""
    payment = world.create(total=total)
    world.notify(world.pay(payment))
    stored = world.stored(payment)
    assert stored.status is PaymentStatus.CONFIRMED
    return stored


def pid(payment: Payment) -> PaymentId:
    assert payment.id is not None
    return payment.id


def paid_reference(payment: Payment) -> str:
    return payment.attempts[0].reference


@pytest.fixture
def world() -> World:
    return World()


# --- who may ask, and for what ------------------------------------------------


def test_an_admin_refunds_all_that_is_left_by_default(world: World) -> None:
    payment = confirmed(world)

    refund = world.service.request_refund(ADMIN, pid(payment), reason="customer asked")

    assert refund.id is not None
    assert refund.status is RefundStatus.SUCCEEDED
    assert (refund.amount, refund.kind, refund.reason) == (
        Money.parse("12.30"),
        RefundKind.REQUESTED,
        "customer asked",
    )
    assert refund.attempt == paid_reference(payment)
    assert refund.succeeded_at == world.clock.now()
    assert world.vendor.refunded(paid_reference(payment)) == Money.parse("12.30")
    assert world.stored(payment).status is PaymentStatus.CONFIRMED
    assert world.stored(payment).version == payment.version  # the payment was not touched


def test_partial_refunds_follow_each_other_until_nothing_is_left(world: World) -> None:
    payment = confirmed(world)

    first = world.service.request_refund(ADMIN, pid(payment), amount=Decimal("5.00"))
    rest = world.service.request_refund(ADMIN, pid(payment))

    assert first.amount == Money.parse("5.00")
    assert rest.amount == Money.parse("7.30")
    assert first.reference != rest.reference
    with pytest.raises(RefundExceedsPayment):
        world.service.request_refund(ADMIN, pid(payment))
    with pytest.raises(RefundExceedsPayment):
        world.service.request_refund(ADMIN, pid(payment), amount=Decimal("0.01"))
    assert world.vendor.refunded(paid_reference(payment)) == Money.parse("12.30")


def test_more_than_is_left_is_refused_and_nothing_is_stored_or_sent(world: World) -> None:
    payment = confirmed(world)
    world.service.request_refund(ADMIN, pid(payment), amount=Decimal("10.00"))

    with pytest.raises(RefundExceedsPayment) as refused:
        world.service.request_refund(ADMIN, pid(payment), amount=Decimal("2.31"))

    assert (refused.value.asked, refused.value.refundable) == ("2.31", "2.30")
    assert len(world.repo.refunds_for(pid(payment))) == 1
    assert len(world.vendor.payouts) == 1


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00", "1.001", "NaN", "Infinity"])
def test_an_amount_not_above_zero_or_not_in_cents_is_a_validation_error(
    world: World, amount: str
) -> None:
    payment = confirmed(world)

    with pytest.raises(ValidationFailed) as refused:
        world.service.request_refund(ADMIN, pid(payment), amount=Decimal(amount))

    assert refused.value.field == "amount"
    assert world.repo.refunds_for(pid(payment)) == []


def test_a_reason_over_256_characters_is_a_validation_error(world: World) -> None:
    payment = confirmed(world)

    world.service.request_refund(ADMIN, pid(payment), amount=Decimal(1), reason="x" * 256)
    with pytest.raises(ValidationFailed) as refused:
        world.service.request_refund(ADMIN, pid(payment), amount=Decimal(1), reason="x" * 257)

    assert refused.value.field == "reason"


@pytest.mark.parametrize("caller", [ALICE, BOB])
def test_only_an_admin_may_ask_not_even_the_payer(world: World, caller: Caller) -> None:
    payment = confirmed(world)

    with pytest.raises(NotAllowed):
        world.service.request_refund(caller, pid(payment))

    assert world.repo.refunds_for(pid(payment)) == []


def test_an_unknown_payment_is_not_found(world: World) -> None:
    with pytest.raises(PaymentNotFound):
        world.service.request_refund(ADMIN, 404)


@pytest.mark.parametrize("paid", [False, True])
def test_only_a_confirmed_payment_takes_a_refund(world: World, paid: bool) -> None:
    payment = world.create(total="12.30")
    if paid:  # paid the wrong amount: INVALID, and its charge goes back by itself
        world.notify(world.pay(payment, amount="1.00"))

    with pytest.raises(PaymentNotRefundable) as refused:
        world.service.request_refund(ADMIN, pid(payment))

    assert "CONFIRMED" in refused.value.reason
    kinds = [r.kind for r in world.repo.refunds_for(pid(payment))]
    assert kinds == ([RefundKind.REJECTED] if paid else [])


# --- idempotency ---------------------------------------------------------------


def test_the_same_key_and_body_answers_the_first_refund(world: World) -> None:
    payment = confirmed(world)

    first = world.service.request_refund(
        ADMIN, pid(payment), amount=Decimal("5"), reason="r", idempotency_key="k1"
    )
    again = world.service.request_refund(
        ADMIN, pid(payment), amount=Decimal("5.00"), reason="r", idempotency_key="k1"
    )

    assert again == first
    assert len(world.repo.refunds_for(pid(payment))) == 1
    assert len(world.vendor.payouts) == 1


class LateKeyRepository(InMemoryPaymentRepository):
    """The first lookup of a key misses: the request that took it had not committed yet."""

    missed = False

    def find_idempotent_refund(self, requester: str, key: str) -> RefundIdempotencyRecord | None:
        if not self.missed:
            self.missed = True
            return None
        return super().find_idempotent_refund(requester, key)


def test_the_same_key_racing_for_the_rest_answers_the_refund_that_took_it() -> None:
    repo = LateKeyRepository()
    world = World(repo)
    payment = confirmed(world)
    first = world.service.request_refund(ADMIN, pid(payment), idempotency_key="k")
    repo.missed = False  # the racing twin looks up the key before the first one commits

    twin = world.service.request_refund(ADMIN, pid(payment), idempotency_key="k")

    assert twin == first
    assert len(world.vendor.payouts) == 1


@pytest.mark.parametrize(
    ("amount", "reason"), [(Decimal("5.01"), "r"), (Decimal(5), "other"), (None, "r")]
)
def test_the_same_key_with_another_body_is_refused(
    world: World, amount: Decimal | None, reason: str
) -> None:
    payment = confirmed(world)
    world.service.request_refund(
        ADMIN, pid(payment), amount=Decimal(5), reason="r", idempotency_key="k1"
    )

    with pytest.raises(IdempotencyKeyReused):
        world.service.request_refund(
            ADMIN, pid(payment), amount=amount, reason=reason, idempotency_key="k1"
        )


def test_the_same_key_for_another_payment_is_refused(world: World) -> None:
    one, other = confirmed(world), confirmed(world)
    world.service.request_refund(ADMIN, pid(one), idempotency_key="k1")

    with pytest.raises(IdempotencyKeyReused):
        world.service.request_refund(ADMIN, pid(other), idempotency_key="k1")


# --- intent first, and the vendor's answer ---------------------------------------


def test_a_vendor_down_leaves_the_stored_refund_pending_and_the_sweep_sends_it(
    world: World,
) -> None:
    payment = confirmed(world)
    world.vendor.mode = FakeMode.DOWN

    refund = world.service.request_refund(ADMIN, pid(payment))

    assert (refund.status, refund.acknowledged) == (RefundStatus.PENDING, False)
    assert world.repo.get_refund(refund.id or 0) == refund
    assert world.vendor.payouts == []

    world.vendor.mode = FakeMode.NORMAL
    report = sweep(world.service)

    assert world.repo.get_refund(refund.id or 0).status is RefundStatus.SUCCEEDED
    assert (report.refunds.sent, report.refunds.succeeded, report.refunds.errors) == (1, 1, 0)
    assert [p[1] for p in world.vendor.payouts] == [refund.reference]


def test_a_lost_answer_leaves_it_pending_and_sending_again_pays_out_once(world: World) -> None:
    payment = confirmed(world)
    world.vendor.mode = FakeMode.GARBAGE  # the vendor refunds; its answer is unusable

    refund = world.service.request_refund(ADMIN, pid(payment))
    world.vendor.mode = FakeMode.NORMAL
    sweep(world.service)
    world.clock.advance(timedelta(minutes=2))  # past the first sweep's claim
    sweep(world.service)

    assert refund.status is RefundStatus.PENDING
    assert world.repo.get_refund(refund.id or 0).status is RefundStatus.SUCCEEDED
    assert [p[1] for p in world.vendor.payouts] == [refund.reference]


def test_a_sweep_during_an_outage_counts_the_error_and_keeps_it_pending(world: World) -> None:
    payment = confirmed(world)
    world.vendor.mode = FakeMode.DOWN
    refund = world.service.request_refund(ADMIN, pid(payment))

    report = sweep(world.service)

    assert (report.refunds.checked, report.refunds.errors) == (1, 1)
    assert "1 refunds: 0 sent, 0 succeeded, 0 failed, 1 errors" in str(report)
    assert world.repo.get_refund(refund.id or 0).status is RefundStatus.PENDING


def test_a_vendors_refusal_makes_it_failed_and_frees_the_amount(world: World) -> None:
    payment = confirmed(world)
    # Someone refunded it all in the vendor's console: the vendor refuses any more.
    world.vendor.refund(paid_reference(payment), "CONSOLE1", Money.parse("12.30"), None)

    refund = world.service.request_refund(ADMIN, pid(payment), amount=Decimal("5.00"))

    assert (refund.status, refund.failure) == (RefundStatus.FAILED, REFUND_EXCEEDED)
    assert refund.succeeded_at is None
    again = world.service.request_refund(ADMIN, pid(payment), amount=Decimal("12.30"))
    assert again.status is RefundStatus.FAILED  # FAILED refunds do not count against it


def test_a_refund_the_vendor_is_still_paying_out_is_asked_about_until_it_succeeds(
    world: World,
) -> None:
    payment = confirmed(world)
    world.vendor.hold_refunds = True

    refund = world.service.request_refund(ADMIN, pid(payment))
    asked = sweep(world.service)

    assert (refund.status, refund.acknowledged) == (RefundStatus.PENDING, True)
    assert (asked.refunds.checked, asked.refunds.sent) == (1, 0)
    world.vendor.settle_refunds()
    world.clock.advance(timedelta(minutes=2))  # past the first sweep's claim
    settled = sweep(world.service)
    assert (settled.refunds.sent, settled.refunds.succeeded) == (0, 1)
    assert world.repo.get_refund(refund.id or 0).status is RefundStatus.SUCCEEDED
    assert len(world.vendor.payouts) == 1


def test_a_refund_notification_completes_it_and_never_changes_the_payment(
    world: World,
) -> None:
    payment = confirmed(world)
    world.vendor.hold_refunds = True
    refund = world.service.request_refund(ADMIN, pid(payment))
    (body,) = world.vendor.settle_refunds()

    answer = world.notify(body)
    again = world.notify(body)

    assert (answer.outcome, again.outcome) == (NotificationOutcome.APPLIED,) * 2
    assert world.repo.get_refund(refund.id or 0).status is RefundStatus.SUCCEEDED
    assert world.stored(payment) == payment


def test_a_notification_about_a_refund_we_do_not_have_is_applied_and_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    payment = confirmed(world)
    world.vendor.refund(paid_reference(payment), "CONSOLE1", Money.parse("1.00"), None)

    with caplog.at_level(logging.WARNING):
        answer = world.notify(world.vendor.refund_notification("CONSOLE1"))

    assert answer.outcome is NotificationOutcome.APPLIED
    assert "CONSOLE1" in caplog.text
    assert world.repo.refunds_for(pid(payment)) == []
    assert world.stored(payment) == payment


def test_a_forged_refund_notification_is_refused(world: World) -> None:
    payment = confirmed(world)
    world.vendor.hold_refunds = True
    refund = world.service.request_refund(ADMIN, pid(payment))
    (body,) = world.vendor.settle_refunds()

    answer = world.notify(body.replace(b"sign=", b"sign=0"))

    assert answer.outcome is NotificationOutcome.REFUSED
    assert world.repo.get_refund(refund.id or 0).status is RefundStatus.PENDING


class NoRefundsVendor(FakeVendor):
    """A vendor plugin that cannot refund, and says so."""

    def refund(
        self, reference: str, refund_reference: str, amount: Money, reason: str | None
    ) -> RefundReport:
        raise RefundNotSupported(self.name, "refunds are made in the vendor's console")


def test_a_vendor_that_cannot_refund_is_not_refundable_with_its_reason() -> None:
    world = World(vendor_class=NoRefundsVendor)
    payment = confirmed(world)

    with pytest.raises(PaymentNotRefundable) as refused:
        world.service.request_refund(ADMIN, pid(payment), idempotency_key="k")
    with pytest.raises(PaymentNotRefundable) as replayed:
        world.service.request_refund(ADMIN, pid(payment), idempotency_key="k")

    assert refused.value.reason == "refunds are made in the vendor's console"
    assert replayed.value.reason == refused.value.reason
    (recorded,) = world.repo.refunds_for(pid(payment))
    assert recorded.status is RefundStatus.FAILED
    assert recorded.failure == "refund_not_supported: refunds are made in the vendor's console"


class RacingRepository(InMemoryPaymentRepository):
    """Another request stores its refund between this one's reading and storing."""

    rival: Refund | None = None

    def refunds_for(self, payment_id: PaymentId) -> list[Refund]:
        seen = list(super().refunds_for(payment_id))
        if self.rival is not None:
            rival, self.rival = self.rival, None
            self.add_refund(rival)
        return seen


def test_of_two_racing_requests_for_the_same_money_the_later_fails_unsent() -> None:
    repo = RacingRepository()
    world = World(repo)
    payment = confirmed(world)
    repo.rival = Refund.start(
        payment_id=pid(payment),
        attempt=paid_reference(payment),
        reference="RIVAL",
        amount=Money.parse("10.00"),
        reason=None,
        kind=RefundKind.REQUESTED,
        at=world.clock.now(),
    )

    with pytest.raises(RefundExceedsPayment):
        world.service.request_refund(ADMIN, pid(payment), amount=Decimal("5.00"))

    rival, mine = world.repo.refunds_for(pid(payment))
    assert (rival.reference, rival.status) == ("RIVAL", RefundStatus.PENDING)
    assert (mine.status, mine.failure) == (RefundStatus.FAILED, RACED)
    assert world.vendor.payouts == []


# --- reading -------------------------------------------------------------------


def test_the_payer_and_an_admin_read_the_refunds_oldest_first(world: World) -> None:
    payment = confirmed(world)
    first = world.service.request_refund(ADMIN, pid(payment), amount=Decimal(1))
    second = world.service.request_refund(ADMIN, pid(payment), amount=Decimal(2))

    for caller in (ALICE, ROOT_TOO):
        assert world.service.refunds(caller, pid(payment)) == [first, second]
        assert world.service.get_refund(caller, pid(payment), second.id or 0) == second


def test_another_users_payment_is_not_found_for_its_refunds(world: World) -> None:
    payment = confirmed(world)
    refund = world.service.request_refund(ADMIN, pid(payment))

    with pytest.raises(PaymentNotFound):
        world.service.refunds(BOB, pid(payment))
    with pytest.raises(PaymentNotFound):
        world.service.get_refund(BOB, pid(payment), refund.id or 0)


def test_a_refund_of_another_payment_is_not_found(world: World) -> None:
    mine, other = confirmed(world), confirmed(world)
    refund = world.service.request_refund(ADMIN, pid(other))

    with pytest.raises(RefundNotFound):
        world.service.get_refund(ALICE, pid(mine), refund.id or 0)
    with pytest.raises(RefundNotFound):
        world.service.get_refund(ALICE, pid(mine), 999)


def test_a_payment_without_refunds_lists_none(world: World) -> None:
    assert world.service.refunds(ALICE, pid(confirmed(world))) == []
