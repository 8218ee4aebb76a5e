"""JSON shapes on the wire: the success envelope, request bodies and their checks."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from attrs import frozen
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from payments_core.converters import dumps, parse_time, payment_document
from payments_core.errors import ValidationFailed
from payments_core.listing import LIMIT_DEFAULT, LIMIT_MAX, PaymentPage
from payments_core.payment import Payment, PaymentStatus

MAX_BODY: Final = 64 * 1024
ORDER_ID_MAX: Final = 64
IDEMPOTENCY_KEY_MAX: Final = 255
_JSON_TYPE: Final = re.compile(r"^application/(?:[\w.+-]+\+)?json\s*(?:;.*)?$", re.IGNORECASE)
_PRINTABLE: Final = re.compile(r"^[\x21-\x7e]+$")
_ID: Final = re.compile(r"^[1-9][0-9]{0,17}$")
_CENT: Final = Decimal("0.01")
_MAX: Final = Decimal(100_000_000)
_LIMIT: Final = re.compile(r"^[0-9]{1,3}$")
# A "+" left unescaped in a query string arrives as a space: "...807 0000", "...20 08:00".
_SPACED_OFFSET: Final = re.compile(r"(?<=\d) (?=\d\d:?\d\d$)")


class RequestProblem(Exception):
    """The request cannot be read: 400, 413 or 415, with its error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(message)


@frozen(kw_only=True)
class CreatePayment:
    """The body of ``POST /api/v1/payments``."""

    order_id: str
    subject: str
    description: str | None
    vendor: str | None = None


@frozen(kw_only=True)
class ListPayments:
    """The query of ``GET /api/v1/payments``, read and checked."""

    status: PaymentStatus | None
    order_id: str | None
    payer: str | None
    created_from: datetime | None
    created_to: datetime | None
    limit: int
    cursor: str | None


@frozen(kw_only=True)
class RequestRefund:
    """The body of ``POST /api/v1/payments/{id}/refunds``; both fields may be left out."""

    amount: Decimal | None
    reason: str | None


def data(
    document: object, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``{"data": document}`` as JSON."""
    return Response(
        dumps({"data": document}),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def payment_response(
    payment: Payment, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``{"data": Payment}`` in the exact wire form."""
    return data(payment_document(payment), status_code, headers)


def page_response(page: PaymentPage) -> Response:
    """``{"data": [Payment, ...], "next": cursor or null}``."""
    document = {"data": [payment_document(p) for p in page.payments], "next": page.next}
    return Response(dumps(document), media_type="application/json")


def parse_list(params: QueryParams) -> ListPayments:
    """Read the filters of a listing; an empty value is no filter, unknown names are ignored.

    Raises:
        ValidationFailed: 422 naming the parameter whose value cannot be used.
    """

    def text(name: str) -> str | None:
        return params.get(name) or None

    status, limit = text("status"), text("limit")
    if status is not None and status not in PaymentStatus.__members__:
        raise ValidationFailed("status", "must be PENDING, CONFIRMED, TIMEOUT or INVALID")
    if limit is not None and not (_LIMIT.match(limit) and 1 <= int(limit) <= LIMIT_MAX):
        raise ValidationFailed("limit", f"must be a whole number from 1 to {LIMIT_MAX}")
    return ListPayments(
        status=PaymentStatus[status] if status else None,
        order_id=text("order"),
        payer=text("payer"),
        created_from=_time("createdFrom", text("createdFrom")),
        created_to=_time("createdTo", text("createdTo")),
        limit=int(limit) if limit else LIMIT_DEFAULT,
        cursor=text("cursor"),
    )


def _time(name: str, value: str | None) -> datetime | None:
    """A time in the wire format or ISO 8601, in UTC; without an offset it is UTC already."""
    if value is None:
        return None
    value = _SPACED_OFFSET.sub("+", value.strip())
    try:
        return parse_time(value)
    except (ValueError, OverflowError):
        pass
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one UTC cannot hold (year 1, 9999)
        raise ValidationFailed(
            name, "must be a time like 2019-04-19T15:31:20.807+0000 or in ISO 8601"
        ) from None


def payment_id(text: str) -> int | None:
    """The payment id in a path, or None when it cannot name a payment."""
    return int(text) if _ID.match(text) else None


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refusing more than ``limit`` bytes while reading (413)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> RequestProblem:
    return RequestProblem(413, "payload_too_large", f"the body is larger than {limit // 1024} KiB")


def require_json(request: Request) -> None:
    """415 unless the body is declared JSON."""
    if not _JSON_TYPE.match(request.headers.get("content-type", "")):
        raise RequestProblem(415, "unsupported_media_type", "the body must be application/json")


def parse_create(body: bytes) -> CreatePayment:
    """Read ``{"orderId": str, "subject": str, "description": str?, "vendor": str?}``.

    Raises:
        RequestProblem: 400 ``invalid_request`` for malformed JSON or a field of the wrong type.
        ValidationFailed: 422 for a missing, empty or too long field.
    """
    document = _json_object(body)
    order_id = _required(document, "orderId")
    subject = _required(document, "subject")
    description = _field(document, "description", required=False)
    vendor = _field(document, "vendor", required=False)
    if len(order_id) > ORDER_ID_MAX or not order_id.strip():
        raise ValidationFailed("orderId", f"must be 1 to {ORDER_ID_MAX} characters")
    return CreatePayment(order_id=order_id, subject=subject, description=description, vendor=vendor)


def parse_refund(body: bytes) -> RequestRefund:
    """Read ``{"amount": number?, "reason": str?}``; an empty body asks for everything left.

    Raises:
        RequestProblem: 400 ``invalid_request`` for malformed JSON, an amount that is not
            a JSON number, or a reason that is not a string.
        ValidationFailed: 422 for an amount of more than two decimals or out of range
            (the use case refuses zero and negative amounts), or an unusable reason.
    """
    document = _json_object(body) if body.strip() else {}
    amount = document.get("amount")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int | Decimal)):
        raise RequestProblem(400, "invalid_request", "amount must be a JSON number")
    if amount is not None:
        amount = Decimal(amount)
        if not amount.is_finite() or abs(amount) > _MAX or amount != amount.quantize(_CENT):
            raise ValidationFailed("amount", "must have at most two decimals and be at most 1e8")
    return RequestRefund(amount=amount, reason=_field(document, "reason", required=False))


def idempotency_key(request: Request) -> str | None:
    """The ``Idempotency-Key`` header, checked (422 naming it when unusable)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not _PRINTABLE.match(key):
        raise ValidationFailed(
            "Idempotency-Key", f"must be 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters"
        )
    return key


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise RequestProblem(400, "invalid_request", "the body is not valid JSON") from None
    if not isinstance(document, dict):
        raise RequestProblem(400, "invalid_request", "the body must be a JSON object")
    return document


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _required(document: dict[str, Any], name: str) -> str:
    value = _field(document, name, required=True)
    if value is None:  # _field raised already; this narrows the type
        raise ValidationFailed(name, "is required")
    return value


def _field(document: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = document.get(name)
    if value is None:
        if required:
            raise ValidationFailed(name, "is required")
        return None
    if not isinstance(value, str):
        raise RequestProblem(400, "invalid_request", f"{name} must be a string")
    if "\x00" in value or not _encodable(value):
        raise ValidationFailed(name, "must be text without NUL characters or lone surrogates")
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
