"""``payment_document``: the wire form of a payment that any web framework's JSON encoder sends.

The bug it answers: a FastAPI handler returned ``payment_json`` (amounts as Decimal); the
payment was stored, the encoder raised, the client got a 500 and its retry a 409.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from attrs import evolve
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from payments_core.converters import dumps, loads, payment_document, payment_json, read_payment
from payments_core.inmemory import FrozenClock, InMemoryPaymentRepository
from payments_core.money import Money
from payments_core.payment import Payment
from payments_core.testing import new_payment

AMOUNTS = ["0.01", "0.10", "1.00", "10.12", "1000.12", "99999.99", "99999999.99", "100000000.00"]


def _stored(amount: str) -> Payment:
    payment = evolve(new_payment(FrozenClock()), amount=Money.parse(amount))
    return InMemoryPaymentRepository().add(payment)


def _natives(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _natives(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_natives(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


@pytest.mark.parametrize("amount", AMOUNTS)
def test_the_document_holds_only_json_native_values(amount: str) -> None:
    document = payment_document(_stored(amount))

    assert _natives(document)
    json.dumps(document)  # the standard encoder, which knows no Decimal


@pytest.mark.parametrize("amount", AMOUNTS)
def test_any_encoder_writes_exactly_our_wire_text(amount: str) -> None:
    payment = _stored(amount)
    ours = dumps({"data": payment_json(payment)})

    plain = json.dumps(
        {"data": payment_document(payment)}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    fastapi = bytes(JSONResponse({"data": jsonable_encoder(payment_document(payment))}).body)

    assert plain == ours
    assert fastapi == ours
    assert loads(fastapi)["data"]["totalAmount"] == Decimal(amount)


def test_the_document_reads_back_to_the_same_view() -> None:
    payment = _stored("1000.12")

    view = read_payment(loads(json.dumps(payment_document(payment))))

    assert view == read_payment(payment_json(payment))
    assert view.total_amount == Decimal("1000.12")


def test_it_has_the_wire_names_and_times() -> None:
    document = payment_document(_stored("10.12"))

    assert list(document) == list(payment_json(_stored("10.12")))
    assert document["totalAmount"] == 10.12
    assert document["createdAt"].endswith("+0000")
