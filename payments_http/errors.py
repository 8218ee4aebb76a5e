"""What the core's errors mean over HTTP: one status, one error code, one JSON body.

The core knows nothing of HTTP; this module owns the mapping. Lookups walk the
exception's MRO, so a subclass inherits its parent's status unless listed itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from starlette.responses import Response

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


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> Response:
    """A JSON error response; 503s carry ``Retry-After``."""
    all_headers = dict(headers or {})
    retry_after = _RETRY_AFTER.get(code)
    if retry_after and status == 503:
        all_headers.setdefault("Retry-After", retry_after)
    return Response(
        dumps(error_body(code, message, **(extra or {}))),
        status_code=status,
        media_type="application/json",
        headers=all_headers,
    )


def response_for(exc: PaymentsError) -> Response:
    """The response for a core error, with the data its code carries."""
    extra: dict[str, object] = {}
    if isinstance(exc, PaymentExists):
        extra["paymentId"] = exc.payment_id
    if isinstance(exc, ValidationFailed):
        extra["field"] = exc.field
    return error_response(status_for(exc), code_for(exc), exc.message, extra=extra)
