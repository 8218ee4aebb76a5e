"""The wire format of payments and refunds (the OpenAPI schemas), through one cattrs converter.

The domain keeps snake_case; ``PaymentView`` is the wire shape, and camelCase is
applied by a hook factory on attrs classes. Amounts stay Decimal until the JSON
text is written.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import cattrs
from attrs import fields, frozen, has
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.json import JsonConverter
from cattrs.preconf.json import make_converter as make_json_converter

from payments_core.payment import Attempt, AttemptState, Payment, PaymentStatus
from payments_core.refund import Refund, RefundKind, RefundStatus
from payments_core.values import StatusChange

_TIME: Final = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


@frozen(kw_only=True)
class PaymentView:
    """A payment as clients see it; field order is the wire order."""

    id: int
    order: str
    order_string: str | None
    created_at: datetime
    updated_at: datetime
    payer: str
    subject: str
    description: str | None
    total_amount: Decimal
    status: PaymentStatus
    vendor_trade_id: str | None
    confirmed_at: datetime | None
    confirmed: bool
    valid: bool

    @classmethod
    def of(cls, payment: Payment) -> PaymentView:
        """The view of a stored payment."""
        if payment.id is None:
            raise ValueError("an unsaved payment has no wire form")
        return cls(
            id=payment.id,
            order=payment.order_id,
            order_string=payment.order_string,
            created_at=payment.created_at,
            updated_at=payment.updated_at,
            payer=payment.payer,
            subject=payment.subject,
            description=payment.description,
            total_amount=payment.amount.to_decimal(),
            status=payment.status,
            vendor_trade_id=payment.vendor_trade_id,
            confirmed_at=payment.confirmed_at,
            confirmed=payment.status is PaymentStatus.CONFIRMED,
            valid=payment.valid,
        )


@frozen(kw_only=True)
class RefundView:
    """A refund as clients see it; field order is the wire order."""

    id: int
    payment_id: int
    attempt: str
    reference: str
    amount: Decimal
    reason: str | None
    kind: RefundKind
    status: RefundStatus
    failure: str | None
    created_at: datetime
    updated_at: datetime
    succeeded_at: datetime | None

    @classmethod
    def of(cls, refund: Refund) -> RefundView:
        """The view of a stored refund."""
        if refund.id is None:
            raise ValueError("an unsaved refund has no wire form")
        return cls(
            id=refund.id,
            payment_id=refund.payment_id,
            attempt=refund.attempt,
            reference=refund.reference,
            amount=refund.amount.to_decimal(),
            reason=refund.reason,
            kind=refund.kind,
            status=refund.status,
            failure=refund.failure,
            created_at=refund.created_at,
            updated_at=refund.updated_at,
            succeeded_at=refund.succeeded_at,
        )


@frozen(kw_only=True)
class AttemptView:
    """An attempt as an ADMIN sees it; field order is the wire order."""

    reference: str
    state: AttemptState
    order_string: str
    opened_at: datetime
    expires_at: datetime
    vendor_trade_id: str | None
    amount_paid: Decimal | None

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptView:
        """The view of one attempt."""
        paid = attempt.amount_paid
        return cls(
            reference=attempt.reference,
            state=attempt.state,
            order_string=attempt.order_string,
            opened_at=attempt.opened_at,
            expires_at=attempt.expires_at,
            vendor_trade_id=attempt.vendor_trade_id,
            amount_paid=paid.to_decimal() if paid is not None else None,
        )


def format_time(value: datetime) -> str:
    """``2019-04-19T15:31:20.807+0000``: UTC, milliseconds."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_time(value: object, _: object = None) -> datetime:
    """The inverse of ``format_time``; anything else is a ValueError."""
    if not isinstance(value, str) or not _TIME.match(value):
        raise ValueError(f"not a time like 2019-04-19T15:31:20.807+0000: {value!r}")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _amount(value: object, _: object = None) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"not an amount: {value!r}")
    amount = Decimal(str(value))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"more than two decimals: {value!r}")
    return amount


def make_converter() -> JsonConverter:
    """The JSON converter for wire classes: camelCase names, wire times and amounts."""
    conv = make_json_converter(forbid_extra_keys=True)
    conv.register_unstructure_hook(datetime, format_time)
    conv.register_structure_hook(datetime, parse_time)
    conv.register_unstructure_hook(Decimal, lambda d: d)
    conv.register_structure_hook(Decimal, _amount)

    def unstructure(cls: type) -> Callable[[Any], dict[str, Any]]:
        renames: dict[str, Any] = {a.name: override(rename=_camel(a.name)) for a in fields(cls)}
        return make_dict_unstructure_fn(cls, conv, **renames)

    def structure(cls: type) -> Callable[[Any, Any], Any]:
        renames: dict[str, Any] = {a.name: override(rename=_camel(a.name)) for a in fields(cls)}
        return make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True, **renames)

    conv.register_unstructure_hook_factory(has, unstructure)
    conv.register_structure_hook_factory(has, structure)
    return conv


def exact_number(value: Decimal) -> float:
    """An amount of at most two decimals as the float a JSON encoder writes as that decimal.

    Every JSON encoder (``json``, orjson, FastAPI's) writes a float as its shortest
    ``repr``, the shortest text that reads back to the same double; for amounts up to
    100000000.00 that text is the decimal itself, which this checks. The float is a
    transport form only: read amounts back with ``loads`` (Decimal), never compute on it.

    Raises:
        ValueError: the float would not be written as exactly this decimal.
    """
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{value} has no exact JSON number form")
    return number


def _exact_number(value: object) -> object:
    if isinstance(value, Decimal):
        return exact_number(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(document: object) -> bytes:
    """JSON text of an unstructured document, Decimal amounts written exactly."""
    return json.dumps(
        document, ensure_ascii=False, separators=(",", ":"), default=_exact_number
    ).encode()


def loads(text: str | bytes) -> Any:
    """JSON text read with numbers that have a fraction as Decimal (never float)."""
    return json.loads(text, parse_float=Decimal)


@functools.cache
def _shared_converter() -> JsonConverter:
    """One converter for every call that brings none: building one costs about 1 ms."""
    return make_converter()


def payment_json(payment: Payment, converter: JsonConverter | None = None) -> dict[str, Any]:
    """The wire document of a payment (unstructured, ready for ``dumps``)."""
    conv = converter or _shared_converter()
    document: dict[str, Any] = conv.unstructure(PaymentView.of(payment))
    return document


def payment_document(payment: Payment, converter: JsonConverter | None = None) -> dict[str, Any]:
    """The wire document of a payment holding only JSON-native values (str, int, float, bool, None).

    Any web framework's JSON response sends it as is, and writes exactly the text of
    ``dumps({"data": payment_json(payment)})``: ``totalAmount`` is a JSON number with the
    amount's digits (see ``exact_number``), camelCase names, times as ``format_time``.
    """
    document = payment_json(payment, converter)
    document["totalAmount"] = exact_number(document["totalAmount"])
    return document


def refund_document(refund: Refund, converter: JsonConverter | None = None) -> dict[str, Any]:
    """The wire document of a refund, JSON-native like ``payment_document``'s."""
    conv = converter or _shared_converter()
    document: dict[str, Any] = conv.unstructure(RefundView.of(refund))
    document["amount"] = exact_number(document["amount"])
    return document


def attempt_document(attempt: Attempt, converter: JsonConverter | None = None) -> dict[str, Any]:
    """The wire document of an attempt, JSON-native (``amountPaid`` as ``totalAmount`` is)."""
    conv = converter or _shared_converter()
    document: dict[str, Any] = conv.unstructure(AttemptView.of(attempt))
    paid = document["amountPaid"]
    document["amountPaid"] = exact_number(paid) if paid is not None else None
    return document


def status_change_document(change: StatusChange) -> dict[str, Any]:
    """The wire document of a status change: ``{"at", "from", "to", "source"}``."""
    return {
        "at": format_time(change.at),
        "from": change.previous.value if change.previous else None,
        "to": change.current.value,
        "source": change.source.value
        if change.source
        else None,  # None: stored before sources were
    }


def read_payment(document: object, converter: JsonConverter | None = None) -> PaymentView:
    """A PaymentView read back from its wire document.

    Raises:
        cattrs.ClassValidationError: a field is missing, extra or malformed.
    """
    conv = converter or _shared_converter()
    try:
        return conv.structure(document, PaymentView)
    except cattrs.BaseValidationError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise cattrs.ClassValidationError("not a payment", [exc], PaymentView) from exc
