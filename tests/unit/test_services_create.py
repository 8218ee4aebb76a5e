"""Creating the payment of an order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from attrs import evolve

from payments_core.errors import (
    AmountNotSupported,
    IdempotencyKeyReused,
    NotAllowed,
    OrderAlreadyPaid,
    OrderNotFound,
    OrderNotPayable,
    OrdersError,
    PaymentExists,
    ValidationFailed,
)
from payments_core.money import Money
from payments_core.payment import AttemptState, PaymentStatus
from payments_core.services import SUBJECT_MAX
from payments_core.values import Caller, Order
from tests.unit.world import ADMIN, ALICE, BOB, TTL, World


def test_a_customer_creates_a_pending_payment_with_an_open_attempt(world: World) -> None:
    order_id = world.order(total="1000.12")

    payment = world.service.create(ALICE, order_id=order_id, subject="Tea", description="green")

    assert payment.id is not None
    assert payment.status is PaymentStatus.PENDING
    assert payment.order_id == order_id
    assert payment.payer == "alice"
    assert payment.subject == "Tea"
    assert payment.description == "green"
    assert payment.vendor == "fake"
    assert payment.created_at == world.clock.now()
    assert [a.state for a in payment.attempts] == [AttemptState.OPEN]
    assert payment.attempts[0].expires_at == world.clock.now() + TTL
    assert payment.order_string == payment.attempts[0].order_string
    assert world.repo.get(payment.id) == payment


def test_the_amount_comes_from_the_order(world: World) -> None:
    order_id = world.order(total="1000.12")

    payment = world.service.create(ALICE, order_id=order_id, subject="Tea")

    assert payment.amount == Money(100012, "CNY")


def test_the_vendor_trade_is_opened_for_the_order_amount(world: World) -> None:
    payment = world.create(total="12.30")

    body = world.pay(payment)

    assert b"amount=12.30" in body


def test_creation_is_announced_once(world: World) -> None:
    payment = world.create()

    assert world.events_of(payment) == [(payment.id, None, PaymentStatus.PENDING)]


def test_a_caller_without_the_customer_role_is_not_allowed(world: World) -> None:
    order_id = world.order(buyer="root")

    with pytest.raises(NotAllowed, match="CUSTOMER"):
        world.service.create(ADMIN, order_id=order_id, subject="Tea")

    assert world.repo.find_for_order(order_id) is None


def test_an_unknown_order_is_not_found(world: World) -> None:
    with pytest.raises(OrderNotFound, match="no-such-order"):
        world.service.create(ALICE, order_id="no-such-order", subject="Tea")


def test_another_buyers_order_is_not_found(world: World) -> None:
    order_id = world.order(buyer="bob")

    with pytest.raises(OrderNotFound, match=order_id):
        world.service.create(ALICE, order_id=order_id, subject="Tea")

    assert world.repo.find_for_order(order_id) is None


def test_a_paid_order_is_already_paid(world: World) -> None:
    order_id = world.order(status="PAID")

    with pytest.raises(OrderAlreadyPaid, match=order_id):
        world.service.create(ALICE, order_id=order_id, subject="Tea")


@pytest.mark.parametrize("status", ["CANCELLED", "SHIPPED", "created"])
def test_an_order_in_another_status_is_not_payable(world: World, status: str) -> None:
    order_id = world.order(status=status)

    with pytest.raises(OrderNotPayable, match=status) as err:
        world.service.create(ALICE, order_id=order_id, subject="Tea")

    assert err.value.status == status


@pytest.mark.parametrize("total", ["0", "0.00", "-5", "100000000.01", "1.005"])
def test_an_order_amount_outside_the_limits_is_not_supported(world: World, total: str) -> None:
    order_id = world.order(total=total)

    with pytest.raises(AmountNotSupported):
        world.service.create(ALICE, order_id=order_id, subject="Tea")

    assert world.repo.find_for_order(order_id) is None


def test_the_largest_amount_is_supported(world: World) -> None:
    payment = world.create(total="100000000.00")

    assert payment.amount == Money(10_000_000_000, "CNY")


def test_a_second_live_payment_for_an_order_names_the_first(world: World) -> None:
    first = world.create()

    with pytest.raises(PaymentExists, match=str(first.id)) as err:
        world.service.create(ALICE, order_id=first.order_id, subject="Tea again")

    assert err.value.payment_id == first.id


def test_a_timed_out_payment_still_holds_its_order(world: World) -> None:
    first = world.create()
    world.time_out_without_closing(first)

    with pytest.raises(PaymentExists):
        world.service.create(ALICE, order_id=first.order_id, subject="Tea again")


def test_an_order_with_a_confirmed_payment_is_already_paid(world: World) -> None:
    first = world.create()
    world.notify(world.pay(first))

    with pytest.raises(OrderAlreadyPaid):
        world.service.create(ALICE, order_id=first.order_id, subject="Tea again")


def test_after_an_invalid_payment_a_new_one_may_be_created(world: World) -> None:
    first = world.create(total="88.88")
    world.notify(world.pay(first, amount="0.01"))

    second = world.service.create(ALICE, order_id=first.order_id, subject="Tea again")

    assert world.stored(first).status is PaymentStatus.INVALID
    assert second.id != first.id
    assert second.status is PaymentStatus.PENDING
    assert world.repo.find_for_order(first.order_id) == second


def test_the_same_idempotency_key_and_body_return_the_same_payment(world: World) -> None:
    order_id = world.order()
    first = world.service.create(ALICE, order_id=order_id, subject="Tea", idempotency_key="k1")

    again = world.service.create(ALICE, order_id=order_id, subject="Tea", idempotency_key="k1")

    assert again == first
    assert world.events_of(first) == [(first.id, None, PaymentStatus.PENDING)]


def test_the_same_idempotency_key_replays_even_after_the_payment_moved_on(world: World) -> None:
    order_id = world.order()
    first = world.service.create(ALICE, order_id=order_id, subject="Tea", idempotency_key="k1")
    world.notify(world.pay(first))

    again = world.service.create(ALICE, order_id=order_id, subject="Tea", idempotency_key="k1")

    assert again.id == first.id
    assert again.status is PaymentStatus.CONFIRMED


@pytest.mark.parametrize(
    "changed",
    [{"subject": "Coffee"}, {"description": "decaf"}, {"order_id": "other-order"}],
    ids=["subject", "description", "order"],
)
def test_the_same_idempotency_key_with_another_body_is_reused(
    world: World, changed: dict[str, str]
) -> None:
    order_id = world.order()
    body = {"order_id": order_id, "subject": "Tea", "description": None}
    world.service.create(ALICE, **body, idempotency_key="k1")  # type: ignore[arg-type]  # mypy cannot pair dict keys with parameters

    with pytest.raises(IdempotencyKeyReused):
        world.service.create(ALICE, **{**body, **changed}, idempotency_key="k1")  # type: ignore[arg-type]  # as above


def test_the_same_idempotency_key_from_another_user_makes_a_separate_payment(
    world: World,
) -> None:
    alice_order = world.order(buyer="alice")
    bob_order = world.order(buyer="bob")
    alices = world.service.create(ALICE, order_id=alice_order, subject="Tea", idempotency_key="k1")

    bobs = world.service.create(BOB, order_id=bob_order, subject="Tea", idempotency_key="k1")

    assert bobs.id != alices.id
    assert bobs.payer == "bob"
    assert bobs.order_id == bob_order


def test_without_an_idempotency_key_a_repeat_is_a_conflict(world: World) -> None:
    order_id = world.order()
    world.service.create(ALICE, order_id=order_id, subject="Tea")

    with pytest.raises(PaymentExists):
        world.service.create(ALICE, order_id=order_id, subject="Tea")


@pytest.mark.parametrize("subject", ["", None])
def test_a_subject_is_required(world: World, subject: str | None) -> None:
    order_id = world.order()

    with pytest.raises(ValidationFailed, match="subject: is required") as err:
        world.service.create(ALICE, order_id=order_id, subject=subject)  # type: ignore[arg-type]  # None is the point

    assert err.value.field == "subject"
    assert world.repo.find_for_order(order_id) is None


def test_a_subject_may_not_be_too_long(world: World) -> None:
    order_id = world.order()

    with pytest.raises(ValidationFailed, match="subject: is longer than") as err:
        world.service.create(ALICE, order_id=order_id, subject="x" * (SUBJECT_MAX + 1))

    assert err.value.field == "subject"


def test_a_subject_of_the_maximum_length_is_accepted(world: World) -> None:
    order_id = world.order()

    payment = world.service.create(ALICE, order_id=order_id, subject="茶" * SUBJECT_MAX)

    assert len(payment.subject) == SUBJECT_MAX


def test_a_description_may_not_be_too_long(world: World) -> None:
    order_id = world.order()

    with pytest.raises(ValidationFailed, match="description"):
        world.service.create(ALICE, order_id=order_id, subject="Tea", description="x" * 5000)


def test_a_customer_without_a_username_match_cannot_pay_anothers_order(world: World) -> None:
    order_id = world.order(buyer="alice")
    impostor = Caller(username="Alice", roles={"CUSTOMER"})

    with pytest.raises(OrderNotFound):
        world.service.create(impostor, order_id=order_id, subject="Tea")


class _AnswersAboutAnother:
    """An orders adapter that answers every lookup with one other order of the caller."""

    def get(self, order_id: str, *, caller: Caller) -> Order:
        return Order(id="the-other", buyer=caller.username, total=Decimal("1"), status="CREATED")


def test_an_orders_answer_about_another_order_creates_nothing(world: World) -> None:
    service = evolve(world.service, orders=_AnswersAboutAnother())

    with pytest.raises(OrdersError):
        service.create(ALICE, order_id="asked-for", subject="Tea")

    assert world.repo.find_for_order("asked-for") is None
    assert world.repo.find_for_order("the-other") is None


@pytest.mark.parametrize(
    "fields",
    [
        {"currency": ""},
        {"currency": "usd"},
        {"currency": "USD\n"},
        {"total": "12.34"},
        {"total": 12.34},
        {"buyer": None},
        {"status": None},
        {"id": 1},
    ],
    ids=repr,
)
def test_an_order_that_no_payment_could_read_cannot_be_made(fields: dict[str, object]) -> None:
    given = {"id": "o1", "buyer": "alice", "total": Decimal("1.00"), "status": "CREATED"}

    with pytest.raises((TypeError, ValueError)):
        Order(**{**given, **fields})  # type: ignore[arg-type]  # the wrong types are the point
