"""Conversion between the frozen domain classes and plain row dictionaries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row

from payments_core.money import Money
from payments_core.payment import Attempt, AttemptState, Payment, PaymentStatus
from payments_core.refund import Refund, RefundKind, RefundStatus
from payments_core.values import (
    Change,
    ChangeSource,
    IdempotencyClaim,
    IdempotencyRecord,
    RefundChange,
    RefundIdempotencyRecord,
    StatusChange,
)

RowValues = dict[str, Any]
_STATUS: Final = {status.value: status for status in PaymentStatus}
_STATE: Final = {state.value: state for state in AttemptState}
_SOURCE: Final = {source.value: source for source in ChangeSource}


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


def attempt_to_row(payment_id: int, seq: int, attempt: Attempt, vendor: str) -> RowValues:
    """The ``attempts`` columns of ``attempt``, the ``seq``-th of its ``vendor`` payment."""
    return {
        "reference": attempt.reference,
        "payment_id": payment_id,
        "seq": seq,
        "order_string": attempt.order_string,
        "opened_at": attempt.opened_at,
        "expires_at": attempt.expires_at,
        "state": attempt.state.value,
        "vendor_trade_id": attempt.vendor_trade_id,
        "vendor": vendor,
        "amount_paid_minor": attempt.amount_paid.minor if attempt.amount_paid else None,
        "amount_paid_currency": attempt.amount_paid.currency if attempt.amount_paid else None,
    }


def attempt_changes(payment: Payment, previous: Payment) -> list[tuple[str, RowValues]]:
    """How ``previous``'s attempt rows become ``payment``'s: ``("insert" | "update", row)``
    for each new or changed attempt, ``("delete", {"reference": ...})`` for each gone."""
    before = {attempt.reference: (seq, attempt) for seq, attempt in enumerate(previous.attempts)}
    changes: list[tuple[str, RowValues]] = []
    for seq, attempt in enumerate(payment.attempts):
        old = before.pop(attempt.reference, None)
        if old != (seq, attempt):
            kind = "insert" if old is None else "update"
            changes.append((kind, attempt_to_row(previous.id or 0, seq, attempt, payment.vendor)))
    changes += [("delete", {"reference": reference}) for reference in before]
    return changes


def change_to_row(
    payment: Payment, previous: PaymentStatus | None, source: ChangeSource | None
) -> RowValues:
    """A new outbox row recording that ``payment`` left ``previous``, because of ``source``."""
    return {
        "payment_id": payment.id,
        "previous_status": previous.value if previous else None,
        "current_status": payment.status.value,
        "changed_at": payment.updated_at,
        "source": source.value if source else None,
    }


def payments_from_rows(rows: Sequence[Sequence[Any]]) -> list[Payment]:
    """The payments in the rows of a page (``Statements.page``): each payment's rows in a run."""
    runs: list[list[Sequence[Any]]] = []
    for row in rows:
        if runs and runs[-1][0][0] == row[0]:  # the payment's id leads every row
            runs[-1].append(row)
        else:
            runs.append([row])
    return [payment_from_rows(run) for run in runs]


def payment_from_rows(rows: Sequence[Sequence[Any]]) -> Payment:
    """The payment in the ``rows`` the ``get`` statement of ``Statements`` reads: one per attempt, in order.

    Rows are unpacked by position (the ``payments`` columns, then the attempt's):
    this is the hot path of every read, and attribute access by name costs more.
    """
    (pid, order_id, payer, subject, description, minor, currency, vendor, status,
     created_at, updated_at, confirmed_at, trade_id, valid, version, reference, *_) = rows[0]  # fmt: skip
    return Payment(
        id=pid,
        order_id=order_id,
        payer=payer,
        subject=subject,
        description=description,
        amount=Money(minor, currency),
        vendor=vendor,
        status=_STATUS[status],
        created_at=created_at,
        updated_at=updated_at,
        attempts=tuple(_attempt(*row[15:]) for row in rows) if reference is not None else (),
        confirmed_at=confirmed_at,
        vendor_trade_id=trade_id,
        valid=valid,
        version=version,
    )


def _attempt(
    reference: str,
    order_string: str,
    opened_at: datetime,
    expires_at: datetime,
    state: str,
    vendor_trade_id: str | None,
    paid_minor: int | None,
    paid_currency: str | None,
) -> Attempt:
    return Attempt(
        reference=reference,
        order_string=order_string,
        opened_at=opened_at,
        expires_at=expires_at,
        state=_STATE[state],
        vendor_trade_id=vendor_trade_id,
        amount_paid=None if paid_minor is None else Money(paid_minor, paid_currency or ""),
    )


def change_from_row(row: Row[Any]) -> Change:
    """The outbox entry in ``row``: a refund's change when it names a refund."""
    if row.refund_id is not None:
        return RefundChange(
            id=row.id,
            refund_id=row.refund_id,
            payment_id=row.payment_id,
            previous=RefundStatus(row.previous_status) if row.previous_status else None,
            current=RefundStatus(row.current_status),
            at=row.changed_at,
            delivered_to=names_from_text(row.delivered_to),
        )
    return StatusChange(
        id=row.id,
        payment_id=row.payment_id,
        previous=PaymentStatus(row.previous_status) if row.previous_status else None,
        current=PaymentStatus(row.current_status),
        at=row.changed_at,
        delivered_to=names_from_text(row.delivered_to),
        source=_SOURCE.get(row.source or ""),  # NULL: stored before sources were
    )


def record_from_row(row: Row[Any]) -> IdempotencyRecord:
    """The idempotency record in ``row``."""
    return IdempotencyRecord(
        payer=row.payer, key=row.key, fingerprint=row.fingerprint, payment_id=row.payment_id
    )


def claim_to_row(claim: IdempotencyClaim) -> RowValues:
    """The ``idempotency_records`` columns of ``claim``, all but ``payment_id``."""
    return {"payer": claim.payer, "key": claim.key, "fingerprint": claim.fingerprint}


def refund_to_row(refund: Refund) -> RowValues:
    """The ``refunds`` columns of ``refund``, without its id and lease."""
    return {
        "payment_id": refund.payment_id,
        "attempt_reference": refund.attempt,
        "reference": refund.reference,
        "amount_minor": refund.amount.minor,
        "currency": refund.amount.currency,
        "reason": refund.reason,
        "kind": refund.kind.value,
        "status": refund.status.value,
        "failure": refund.failure,
        "acknowledged": refund.acknowledged,
        "created_at": refund.created_at,
        "updated_at": refund.updated_at,
        "succeeded_at": refund.succeeded_at,
        "version": refund.version,
    }


def refund_from_row(row: Row[Any]) -> Refund:
    """The refund in a ``refunds`` row."""
    return Refund(
        id=row.id,
        payment_id=row.payment_id,
        attempt=row.attempt_reference,
        reference=row.reference,
        amount=Money(row.amount_minor, row.currency),
        reason=row.reason,
        kind=RefundKind(row.kind),
        status=RefundStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        succeeded_at=row.succeeded_at,
        failure=row.failure,
        acknowledged=bool(row.acknowledged),
        version=row.version,
    )


def refund_change_to_row(refund: Refund, previous: RefundStatus | None) -> RowValues:
    """A new outbox row recording that the stored ``refund`` left ``previous``."""
    return {
        "payment_id": refund.payment_id,
        "refund_id": refund.id,
        "previous_status": previous.value if previous else None,
        "current_status": refund.status.value,
        "changed_at": refund.updated_at,
        "source": None,  # sources are of a payment's changes
    }


def refund_record_from_row(row: Row[Any]) -> RefundIdempotencyRecord:
    """The refund idempotency record in ``row``."""
    return RefundIdempotencyRecord(
        requester=row.requester, key=row.key, fingerprint=row.fingerprint, refund_id=row.refund_id
    )


def names_to_text(names: frozenset[str]) -> str:
    """Subscriber names as the JSON text stored in ``status_changes.delivered_to``."""
    return json.dumps(sorted(names))


def names_from_text(text: str) -> frozenset[str]:
    """The subscriber names stored in ``status_changes.delivered_to``."""
    return frozenset(json.loads(text))
