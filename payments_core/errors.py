"""Errors raised by the payments core and its ports.

Every error carries its data as attributes and a stable snake_case ``code``;
what a code means over HTTP is decided by ``payments_http``, never here::

    PaymentsError
    ├── DomainError
    │   ├── InvalidTransition
    │   ├── CurrencyMismatch
    │   ├── AmountNotSupported
    │   ├── IdempotencyKeyReused
    │   ├── InvalidRefundTransition
    │   ├── RefundExceedsPayment
    │   ├── ValidationFailed
    │   └── VendorNotSupported
    ├── NotFound
    │   ├── PaymentNotFound
    │   ├── OrderNotFound
    │   ├── RefundNotFound
    │   └── VendorNotFound
    ├── NotAllowed
    ├── ConflictError
    │   ├── ConcurrencyConflict
    │   ├── DuplicateReference
    │   ├── DuplicateTradeId
    │   ├── PaymentExists
    │   ├── OrderAlreadyPaid
    │   ├── OrderNotPayable
    │   ├── PaymentFinal
    │   └── PaymentNotRefundable
    ├── StoreUnavailable
    ├── OrdersError
    ├── OrdersUnavailable
    └── VendorError
        ├── RefundNotSupported
        ├── SignatureInvalid
        ├── VendorDeclined
        └── VendorUnavailable

Messages never contain keys, signatures, tokens or whole order strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from payments_core.payment import PaymentStatus


class PaymentsError(Exception):
    """Base of every error the library raises on purpose."""

    code: ClassVar[str] = "payments_error"

    @property
    def message(self) -> str:
        """A human sentence, safe to show to a client."""
        return str(self)


class DomainError(PaymentsError):
    """A business rule was broken."""

    code = "domain_error"


class InvalidTransition(DomainError):
    """The transition table does not allow this change of status."""

    code = "invalid_transition"

    def __init__(
        self, payment_id: int | None, current: PaymentStatus, target: PaymentStatus
    ) -> None:
        self.payment_id = payment_id
        self.current = current
        self.target = target
        super().__init__(f"payment {payment_id} cannot go from {current.value} to {target.value}")


class CurrencyMismatch(DomainError):
    """Arithmetic or comparison across two currencies."""

    code = "currency_mismatch"

    def __init__(self, left: str, right: str) -> None:
        self.left = left
        self.right = right
        super().__init__(f"cannot combine {left} with {right}")


class AmountNotSupported(DomainError):
    """An amount is not > 0, above the limit, or has more than two decimals."""

    code = "amount_not_supported"

    def __init__(self, amount: str, reason: str) -> None:
        self.amount = amount
        self.reason = reason
        super().__init__(f"amount {amount} is not supported: {reason}")


class IdempotencyKeyReused(DomainError):
    """The same Idempotency-Key came back with another request body."""

    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used with a different request")


class InvalidRefundTransition(DomainError):
    """The refund transition table does not allow this change of status."""

    code = "invalid_refund_transition"

    def __init__(self, refund_id: int | None, current: str, target: str) -> None:
        self.refund_id = refund_id
        self.current = current
        self.target = target
        super().__init__(f"refund {refund_id} cannot go from {current} to {target}")


class RefundExceedsPayment(DomainError):
    """A refund asked for more than the paid attempt has left to refund."""

    code = "refund_exceeds_payment"

    def __init__(self, asked: str, refundable: str) -> None:
        self.asked = asked
        self.refundable = refundable
        super().__init__(f"a refund of {asked} exceeds the {refundable} still refundable")


class ValidationFailed(DomainError):
    """An input field is missing or malformed."""

    code = "validation_error"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class VendorNotSupported(DomainError):
    """A new payment names a vendor that is not configured."""

    code = "vendor_not_supported"

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        super().__init__(f"the vendor {vendor[:64]!r} is not configured here")


class NotFound(PaymentsError):
    """Something does not exist, or is not the caller's to see."""

    code = "not_found"


class PaymentNotFound(NotFound):
    """No such payment, or not one the caller may see (no existence leak)."""

    code = "payment_not_found"

    def __init__(self, key: int | str) -> None:
        self.key = key
        super().__init__(f"payment {key} not found")


class RefundNotFound(NotFound):
    """No such refund of that payment, or not one the caller may see."""

    code = "refund_not_found"

    def __init__(self, key: int | str) -> None:
        self.key = key
        super().__init__(f"refund {key} not found")


class SubscriberNotFound(NotFound):
    """No status-change subscriber of that name was ever registered."""

    code = "subscriber_not_found"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no subscriber {name!r} is registered")


class OrderNotFound(NotFound):
    """No such order, or not one the caller owns."""

    code = "order_not_found"

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"order {order_id} not found")


class VendorNotFound(NotFound):
    """No vendor plugin of that name is configured."""

    code = "vendor_not_found"

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        super().__init__(f"no vendor named {vendor!r} is configured")


class NotAllowed(PaymentsError):
    """The caller lacks the role the action needs."""

    code = "forbidden"

    def __init__(self, role: str) -> None:
        self.role = role
        super().__init__(f"this action needs the role {role}")


class ConflictError(PaymentsError):
    """The request conflicts with the current state."""

    code = "conflict"


class ConcurrencyConflict(ConflictError):
    """A save was based on a stale version; reload and decide again."""

    code = "concurrency_conflict"

    def __init__(self, payment_id: int | None, expected_version: int) -> None:
        self.payment_id = payment_id
        self.expected_version = expected_version
        super().__init__(f"payment {payment_id} changed since version {expected_version}")


class DuplicateReference(ConflictError):
    """A checkout attempt reference or payment was stored twice."""

    code = "duplicate_reference"

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"attempt reference {reference} already exists")


class DuplicateTradeId(ConflictError):
    """A vendor trade id would be recorded on a second attempt (of any payment).

    One trade at a vendor pays one attempt: a second attempt reported with the same
    trade id is forged or re-cut evidence, never a second charge.
    """

    code = "duplicate_trade_id"

    def __init__(self, vendor: str, trade_id: str) -> None:
        self.vendor = vendor
        self.trade_id = trade_id
        super().__init__(f"{vendor} trade {trade_id} is already recorded on another attempt")


class PaymentExists(ConflictError):
    """The order already has a live payment."""

    code = "payment_exists"

    def __init__(self, payment_id: int) -> None:
        self.payment_id = payment_id
        super().__init__(f"order already has the live payment {payment_id}")


class OrderAlreadyPaid(ConflictError):
    """The order has been paid."""

    code = "order_already_paid"

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"order {order_id} is already paid")


class OrderNotPayable(ConflictError):
    """The order is in a state that cannot be paid."""

    code = "order_not_payable"

    def __init__(self, order_id: str, status: str) -> None:
        self.order_id = order_id
        self.status = status
        super().__init__(f"order {order_id} is {status} and cannot be paid")


class PaymentFinal(ConflictError):
    """The payment is CONFIRMED or INVALID and cannot change any more."""

    code = "payment_final"

    def __init__(self, payment_id: int | None, status: PaymentStatus) -> None:
        self.payment_id = payment_id
        self.status = status
        super().__init__(f"payment {payment_id} is {status.value}")


class PaymentNotRefundable(ConflictError):
    """The payment cannot take this refund: not CONFIRMED, or its vendor cannot refund."""

    code = "payment_not_refundable"

    def __init__(self, payment_id: int | None, reason: str) -> None:
        self.payment_id = payment_id
        self.reason = reason
        super().__init__(f"payment {payment_id} cannot be refunded: {reason}")


class StoreUnavailable(PaymentsError):
    """The database could not be reached in time; nothing was written."""

    code = "store_unavailable"

    def __init__(self, detail: str = "the payment store is unavailable") -> None:
        super().__init__(detail)


class OrdersError(PaymentsError):
    """The orders service answered something unusable: not the order asked for, or unreadable."""

    code = "orders_error"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"the orders service gave an unusable answer ({reason})")


class OrdersUnavailable(PaymentsError):
    """The orders service could not be asked now: unreachable, too slow, or busy (429, 5xx).

    Not ``StoreUnavailable``: the payments database is fine, and nothing was written.
    """

    code = "orders_unavailable"

    def __init__(self, reason: str = "the orders service is unavailable") -> None:
        self.reason = reason
        super().__init__(reason)


class VendorError(PaymentsError):
    """The vendor answered something wrong or unverifiable."""

    code = "vendor_error"

    def __init__(self, vendor: str, vendor_code: str = "", vendor_message: str = "") -> None:
        self.vendor = vendor
        self.vendor_code = vendor_code
        self.vendor_message = vendor_message
        detail = f" ({vendor_code}: {vendor_message})" if vendor_code or vendor_message else ""
        super().__init__(f"{vendor} gave an unusable answer{detail}")


class RefundNotSupported(VendorError):
    """The vendor plugin cannot refund; ``reason`` says why, in the plugin's words."""

    code = "refund_not_supported"

    def __init__(self, vendor: str, reason: str = "this vendor plugin cannot refund") -> None:
        self.reason = reason
        super().__init__(vendor, "refund_not_supported", reason)


class SignatureInvalid(VendorError):
    """A message claiming to come from the vendor failed verification."""

    code = "signature_invalid"

    def __init__(self, vendor: str, reason: str = "signature does not verify") -> None:
        super().__init__(vendor, "signature_invalid", reason)


class VendorDeclined(VendorError):
    """The vendor refused the request with a business error."""

    code = "vendor_error"


class VendorUnavailable(VendorError):
    """The vendor could not be reached in time."""

    code = "vendor_unavailable"

    def __init__(self, vendor: str, reason: str = "could not be reached") -> None:
        super().__init__(vendor, "unavailable", reason)
