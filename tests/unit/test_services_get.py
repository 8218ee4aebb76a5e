"""Reading a payment: its payer and admins only, without leaking that it exists."""

from __future__ import annotations

import pytest

from payments_core.errors import PaymentNotFound
from payments_core.values import Caller
from tests.unit.world import ADMIN, ALICE, BOB, World


def test_the_payer_reads_the_payment(world: World) -> None:
    payment = world.create(ALICE)

    read = world.service.get(ALICE, payment.id or 0)

    assert read == payment


def test_the_payer_needs_no_role_to_read_it(world: World) -> None:
    payment = world.create(ALICE)

    read = world.service.get(Caller(username="alice"), payment.id or 0)

    assert read == payment


def test_an_admin_reads_any_payment(world: World) -> None:
    payment = world.create(ALICE)

    read = world.service.get(ADMIN, payment.id or 0)

    assert read == payment


def test_another_user_gets_payment_not_found(world: World) -> None:
    payment = world.create(ALICE)

    with pytest.raises(PaymentNotFound, match=f"payment {payment.id} not found"):
        world.service.get(BOB, payment.id or 0)


def test_an_unknown_payment_is_not_found_in_the_same_words(world: World) -> None:
    with pytest.raises(PaymentNotFound, match="payment 999 not found"):
        world.service.get(ADMIN, 999)
