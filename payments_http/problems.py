"""What the core's errors mean over HTTP, as plain data: status, code, message, headers.

Framework-neutral (no web framework is imported here), so any app that calls the core
from its own handlers answers exactly as ours does; ``payments_http.errors`` turns these
into Starlette responses. Lookups walk the exception's MRO, so a subclass inherits its
parent's status unless listed itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from attrs import field, frozen

from payments_core.converters import dumps
from payments_core.errors import (
    ConcurrencyConflict,
    ConflictError,
    DomainError,
    DuplicateReference,
    IdempotencyKeyReused,
    InvalidTransition,
    NotAllowed,
    NotFound,
    OrdersError,
    OrdersUnavailable,
    PaymentExists,
    PaymentsError,
    StoreUnavailable,
    ValidationFailed,
    VendorError,
    VendorUnavailable,
)

JSON: Final = "application/json"
RETRY_AFTER_STORE: Final = "2"
RETRY_AFTER_ORDERS: Final = "2"
RETRY_AFTER_VENDOR: Final = "5"
RETRY_AFTER_CONFLICT: Final = "1"

_STATUS: Final[Mapping[type[PaymentsError], int]] = {
    NotFound: 404,
    NotAllowed: 403,
    ConflictError: 409,
    InvalidTransition: 409,
    DomainError: 422,
    IdempotencyKeyReused: 422,
    ValidationFailed: 422,
    VendorError: 502,
    OrdersError: 502,
    VendorUnavailable: 503,
    StoreUnavailable: 503,
    OrdersUnavailable: 503,
    ConcurrencyConflict: 503,
    DuplicateReference: 503,
}

_CODE: Final[Mapping[type[PaymentsError], str]] = {
    VendorError: "vendor_error",  # SignatureInvalid and VendorDeclined alike
    VendorUnavailable: "vendor_unavailable",
    ConcurrencyConflict: "concurrency_conflict",
    DuplicateReference: "concurrency_conflict",  # a reference collided: try again
    InvalidTransition: "payment_final",
}

_RETRY_AFTER: Final[Mapping[str, str]] = {
    "store_unavailable": RETRY_AFTER_STORE,
    "orders_unavailable": RETRY_AFTER_ORDERS,
    "vendor_unavailable": RETRY_AFTER_VENDOR,
    "concurrency_conflict": RETRY_AFTER_CONFLICT,
}


@frozen(kw_only=True)
class Problem:
    """One error answer: ``status``, ``headers`` and the body ``{"error": {...}}``.

    ``extra`` holds the data a code carries (``paymentId``, ``field``), JSON-native only.
    """

    status: int
    code: str
    message: str
    headers: Mapping[str, str] = field(factory=dict)
    extra: Mapping[str, Any] = field(factory=dict)

    def body(self) -> dict[str, Any]:
        """The error envelope, JSON-native: any framework's JSON response can send it."""
        return error_body(self.code, self.message, **self.extra)

    def body_bytes(self) -> bytes:
        """The error envelope as JSON text (UTF-8), sent with ``application/json``."""
        return dumps(self.body())


def _lookup(exc: PaymentsError, table: Mapping[type[PaymentsError], Any]) -> Any:
    return next((table[c] for c in type(exc).__mro__ if c in table), None)


def status_for(exc: PaymentsError) -> int:
    """The HTTP status of a core error; 500 for one this module does not know."""
    status: int | None = _lookup(exc, _STATUS)
    return status or 500


def code_for(exc: PaymentsError) -> str:
    """The error code (one of ``openapi.ERROR_CODES``) of a core error."""
    code: str | None = _lookup(exc, _CODE)
    return code or exc.code


def error_body(code: str, message: str, **extra: object) -> dict[str, Any]:
    """The error envelope ``{"error": {"code": ..., "message": ..., ...}}``."""
    return {"error": {"code": code, "message": message, **extra}}


def problem(
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Problem:
    """An error answer; a 503 whose code says when to come back carries ``Retry-After``."""
    all_headers = dict(headers or {})
    retry_after = _RETRY_AFTER.get(code)
    if retry_after and status == 503:
        all_headers.setdefault("Retry-After", retry_after)
    return Problem(
        status=status, code=code, message=message, headers=all_headers, extra=dict(extra or {})
    )


def problem_for(exc: PaymentsError) -> Problem:
    """The answer to a core error, with the data its code carries.

    Its message is the error's own, written for clients: it holds no secret.
    """
    extra: dict[str, Any] = {}
    if isinstance(exc, PaymentExists):
        extra["paymentId"] = exc.payment_id
    if isinstance(exc, ValidationFailed):
        extra["field"] = exc.field
    return problem(status_for(exc), code_for(exc), exc.message, extra=extra)
