"""Conversion between the frozen domain classes and plain row dictionaries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from payments_core.money import Money
from payments_core.payment import Attempt, AttemptState, Payment, PaymentStatus
from payments_core.values import IdempotencyRecord, StatusChange

RowValues = dict[str, Any]


def payment_to_row(payment: Payment) -> RowValues:
    """The ``payments`` columns of ``payment``, without its id."""
    return {
        "order_id": payment.order_id,
        "payer": payment.payer,
        "subject": payment.subject,
        "description": payment.description,
        "amount_minor": payment.amount.minor,
        "currency": payment.amount.currency,
        "vendor": payment.vendor,
        "status": payment.status.value,
        "created_at": payment.created_at,
        "updated_at": payment.updated_at,
        "confirmed_at": payment.confirmed_at,
        "vendor_trade_id": payment.vendor_trade_id,
        "valid": payment.valid,
        "version": payment.version,
    }


def attempt_to_row(payment_id: int, seq: int, attempt: Attempt) -> RowValues:
    """The ``attempts`` columns of ``attempt``, the ``seq``-th of its payment."""
    return {
        "reference": attempt.reference,
        "payment_id": payment_id,
        "seq": seq,
        "order_string": attempt.order_string,
        "opened_at": attempt.opened_at,
        "expires_at": attempt.expires_at,
        "state": attempt.state.value,
        "vendor_trade_id": attempt.vendor_trade_id,
    }


def change_to_row(payment: Payment, previous: PaymentStatus | None) -> RowValues:
    """A new outbox row announcing that ``payment`` left ``previous``."""
    return {
        "payment_id": payment.id,
        "previous_status": previous.value if previous else None,
        "current_status": payment.status.value,
        "changed_at": payment.updated_at,
    }


def payment_from_rows(rows: Sequence[Row[Any]]) -> Payment:
    """The payment in ``rows``: one per attempt (ordered), payment columns repeated."""
    first = rows[0]
    return Payment(
        id=first.id,
        order_id=first.order_id,
        payer=first.payer,
        subject=first.subject,
        description=first.description,
        amount=Money(first.amount_minor, first.currency),
        vendor=first.vendor,
        status=PaymentStatus(first.status),
        created_at=first.created_at,
        updated_at=first.updated_at,
        attempts=tuple(_attempt(row) for row in rows if row.a_reference is not None),
        confirmed_at=first.confirmed_at,
        vendor_trade_id=first.vendor_trade_id,
        valid=first.valid,
        version=first.version,
    )


def _attempt(row: Row[Any]) -> Attempt:
    return Attempt(
        reference=row.a_reference,
        order_string=row.a_order_string,
        opened_at=row.a_opened_at,
        expires_at=row.a_expires_at,
        state=AttemptState(row.a_state),
        vendor_trade_id=row.a_vendor_trade_id,
    )


def change_from_row(row: Row[Any]) -> StatusChange:
    """The outbox entry in ``row``."""
    return StatusChange(
        id=row.id,
        payment_id=row.payment_id,
        previous=PaymentStatus(row.previous_status) if row.previous_status else None,
        current=PaymentStatus(row.current_status),
        at=row.changed_at,
        delivered_to=names_from_text(row.delivered_to),
    )


def record_from_row(row: Row[Any]) -> IdempotencyRecord:
    """The idempotency record in ``row``."""
    return IdempotencyRecord(
        payer=row.payer, key=row.key, fingerprint=row.fingerprint, payment_id=row.payment_id
    )


def record_to_row(record: IdempotencyRecord) -> RowValues:
    """The ``idempotency_records`` columns of ``record``."""
    return {
        "payer": record.payer,
        "key": record.key,
        "fingerprint": record.fingerprint,
        "payment_id": record.payment_id,
    }


def names_to_text(names: frozenset[str]) -> str:
    """Subscriber names as the JSON text stored in ``status_changes.delivered_to``."""
    return json.dumps(sorted(names))


def names_from_text(text: str) -> frozenset[str]:
    """The subscriber names stored in ``status_changes.delivered_to``."""
    return frozenset(json.loads(text))
