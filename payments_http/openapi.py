"""The OpenAPI 3.1 document of the payments API, written by hand from small helpers."""

from __future__ import annotations

import json
from typing import Any, Final

Schema = dict[str, Any]

ERROR_CODES: Final = (
    "invalid_request",
    "unauthenticated",
    "forbidden",
    "payment_not_found",
    "order_not_found",
    "vendor_not_found",
    "vendor_not_supported",
    "not_found",
    "method_not_allowed",
    "order_already_paid",
    "order_not_payable",
    "payment_exists",
    "payment_final",
    "payload_too_large",
    "unsupported_media_type",
    "validation_error",
    "amount_not_supported",
    "idempotency_key_reused",
    "vendor_error",
    "orders_error",
    "vendor_unavailable",
    "store_unavailable",
    "orders_unavailable",
    "concurrency_conflict",
    "internal_error",
    "headers_too_large",
    "refund_not_found",
    "payment_not_refundable",
    "refund_exceeds_payment",
)

_NULLABLE_STRING: Final[Schema] = {"type": ["string", "null"]}
_TIME: Final[Schema] = {
    "type": "string",
    "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$",
    "examples": ["2019-04-19T15:31:20.807+0000"],
}

_AMOUNT: Final[Schema] = {
    "type": "number",
    "exclusiveMinimum": 0,
    "maximum": 100000000,
}

STATUS: Final[Schema] = {"type": "string", "enum": ["PENDING", "CONFIRMED", "TIMEOUT", "INVALID"]}

PAYMENT: Final[Schema] = {
    "type": "object",
    "description": "A payment; fields in this order.",
    "additionalProperties": False,
    "required": [
        "id",
        "order",
        "orderString",
        "createdAt",
        "updatedAt",
        "payer",
        "subject",
        "description",
        "totalAmount",
        "status",
        "vendorTradeId",
        "confirmedAt",
        "confirmed",
        "valid",
    ],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "order": {"type": "string", "description": "the parent order id"},
        "orderString": {
            **_NULLABLE_STRING,
            "description": "the vendor URL the buyer opens to pay; expires with the checkout window",
        },
        "createdAt": _TIME,
        "updatedAt": _TIME,
        "payer": {"type": "string"},
        "subject": {"type": "string"},
        "description": _NULLABLE_STRING,
        "totalAmount": {**_AMOUNT, "description": "taken from the order; at most two decimals"},
        "status": STATUS,
        "vendorTradeId": _NULLABLE_STRING,
        "confirmedAt": {"oneOf": [_TIME, {"type": "null"}]},
        "confirmed": {"type": "boolean"},
        "valid": {"type": "boolean"},
    },
}

REFUND: Final[Schema] = {
    "type": "object",
    "description": "Money going back from one paid attempt of a payment; fields in this order.",
    "additionalProperties": False,
    "required": [
        "id",
        "paymentId",
        "attempt",
        "reference",
        "amount",
        "reason",
        "kind",
        "status",
        "failure",
        "createdAt",
        "updatedAt",
        "succeededAt",
    ],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "paymentId": {"type": "integer", "minimum": 1},
        "attempt": {
            "type": "string",
            "description": "the vendor reference of the paid attempt the money returns from",
        },
        "reference": {
            "type": "string",
            "description": "the refund's own vendor reference, unique forever: sent again "
            "with every call for this refund, so the vendor pays it out once",
        },
        "amount": {"type": "number", "exclusiveMinimum": 0, "maximum": 100000000},
        "reason": _NULLABLE_STRING,
        "kind": {
            "type": "string",
            "enum": ["REQUESTED", "DUPLICATE", "REJECTED"],
            "description": "REQUESTED: someone asked; DUPLICATE: a second paid attempt of a "
            "settled payment; REJECTED: a paid attempt that failed the business checks",
        },
        "status": {
            "type": "string",
            "enum": ["PENDING", "SUCCEEDED", "FAILED"],
            "description": "PENDING: recorded, sent or to be sent; SUCCEEDED: the vendor says "
            "the money went back; FAILED: the vendor refused it (final)",
        },
        "failure": {**_NULLABLE_STRING, "description": "the vendor's reason when FAILED"},
        "createdAt": _TIME,
        "updatedAt": _TIME,
        "succeededAt": {"oneOf": [_TIME, {"type": "null"}]},
    },
}

REQUEST_REFUND: Final[Schema] = {
    "type": "object",
    "properties": {
        "amount": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 100000000,
            "description": "at most two decimals; by default all that is still refundable",
        },
        "reason": {"type": ["string", "null"], "maxLength": 256},
    },
}

ATTEMPT: Final[Schema] = {
    "type": "object",
    "description": "One checkout at the vendor; fields in this order.",
    "additionalProperties": False,
    "required": [
        "reference",
        "state",
        "orderString",
        "openedAt",
        "expiresAt",
        "vendorTradeId",
        "amountPaid",
    ],
    "properties": {
        "reference": {"type": "string", "description": "the attempt's own id at the vendor"},
        "state": {"type": "string", "enum": ["OPEN", "CLOSED", "PAID", "REJECTED", "DUPLICATE"]},
        "orderString": {"type": "string"},
        "openedAt": _TIME,
        "expiresAt": _TIME,
        "vendorTradeId": _NULLABLE_STRING,
        "amountPaid": {
            "oneOf": [_AMOUNT, {"type": "null"}],
            "description": "what the vendor reported paid, once the attempt is settled paid",
        },
    },
}

STATUS_CHANGE: Final[Schema] = {
    "type": "object",
    "description": "One stored change of a payment's status; fields in this order.",
    "additionalProperties": False,
    "required": ["at", "from", "to", "source"],
    "properties": {
        "at": _TIME,
        "from": {
            "oneOf": [STATUS, {"type": "null"}],
            "description": "null at the payment's creation",
        },
        "to": STATUS,
        "source": {
            "type": ["string", "null"],
            "enum": ["create", "retry", "notification", "sweep", "verify", None],
            "description": "what made the change; null for changes stored before sources were",
        },
    },
}

ERROR: Final[Schema] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": list(ERROR_CODES)},
                "message": {"type": "string"},
                "paymentId": {
                    "type": "integer",
                    "description": "with payment_exists: the order's live payment",
                },
                "field": {
                    "type": "string",
                    "description": "with validation_error: the field or header at fault",
                },
            },
        }
    },
}

CREATE: Final[Schema] = {
    "type": "object",
    "required": ["orderId", "subject"],
    "properties": {
        "orderId": {"type": "string", "minLength": 1, "maxLength": 64},
        "subject": {"type": "string", "minLength": 1, "maxLength": 256},
        "description": {"type": ["string", "null"], "maxLength": 1024},
        "vendor": {
            "type": ["string", "null"],
            "description": "a configured vendor's name; absent or null: the default vendor",
        },
    },
}

_WHY: Final = {
    400: "malformed JSON or a field of the wrong type (invalid_request)",
    401: "no or bad bearer token (unauthenticated)",
    403: "the caller lacks the role (forbidden)",
    404: "unknown, or not the caller's (payment_not_found, order_not_found, vendor_not_found,"
    " refund_not_found)",
    405: "method not allowed",
    409: "order_already_paid, payment_exists (with paymentId), payment_final, order_not_payable,"
    " payment_not_refundable",
    413: "body over 64 KiB (payload_too_large)",
    415: "the body is not application/json (unsupported_media_type)",
    422: "validation_error (with field), amount_not_supported, idempotency_key_reused,"
    " refund_exceeds_payment, vendor_not_supported",
    500: "unexpected failure (internal_error); never a stack trace",
    502: "the vendor answered something wrong or unverifiable (vendor_error), or the orders"
    " service answered something other than the order asked for (orders_error)",
    503: "vendor_unavailable, store_unavailable, orders_unavailable or concurrency_conflict;"
    " see Retry-After",
}


def _header(description: str, schema: Schema | None = None) -> Schema:
    return {"description": description, "schema": schema or {"type": "string"}}


def _error(status: int) -> Schema:
    response: Schema = {
        "description": _WHY[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": _header("Bearer challenge")}
    if status == 503:
        response["headers"] = {
            "Retry-After": _header("seconds to wait", {"type": "string", "pattern": r"^\d+$"})
        }
    return response


def _ok(schema: Schema, description: str, headers: Schema | None = None) -> Schema:
    response: Schema = {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["data"],
                    "properties": {"data": schema},
                }
            }
        },
    }
    if headers:
        response["headers"] = headers
    return response


def _operation(
    op_id: str, summary: str, ok: dict[int, Schema], errors: tuple[int, ...], **more: Any
) -> Schema:
    responses = {str(code): body for code, body in ok.items()}
    responses.update({str(code): _error(code) for code in (*errors, 500)})
    return {"operationId": op_id, "summary": summary, "responses": responses, **more}


_PAYMENT_REF: Final[Schema] = {"$ref": "#/components/schemas/Payment"}
_ID_PARAM: Final[Schema] = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "format": "int64"},
}
_USER_ERRORS: Final = (401, 404, 405)


def _retry(op_id: str) -> Schema:
    return _operation(
        op_id,
        "New attempt: a new orderString and a new checkout window (the payer only)",
        {200: _ok(_PAYMENT_REF, "the payment with its new attempt")},
        (*_USER_ERRORS, 409, 502, 503),
        parameters=[_ID_PARAM],
    )


def _list_params() -> list[Schema]:
    def query(name: str, description: str, schema: Schema | None = None) -> Schema:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "schema": schema or {"type": "string"},
        }

    time = "inclusive; 2019-04-19T15:31:20.807+0000 or ISO 8601 (no offset: UTC)"
    return [
        query("status", "only this status", STATUS),
        query("order", "only the payments of this order id"),
        query("payer", "only this payer's payments (ADMIN; ignored for anyone else)"),
        query("createdFrom", f"created at or after this time; {time}"),
        query("createdTo", "created before this time (exclusive); same forms as createdFrom"),
        query(
            "limit",
            "payments on the page (default 20)",
            {"type": "integer", "minimum": 1, "maximum": 100},
        ),
        query("cursor", "the `next` of the page before, with the same filters"),
    ]


def _list() -> Schema:
    page = {
        "description": "newest first (by id); `next` is null on the last page",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["data", "next"],
                    "properties": {
                        "data": {"type": "array", "items": _PAYMENT_REF},
                        "next": _NULLABLE_STRING,
                    },
                }
            }
        },
    }
    return _operation(
        "listPayments",
        "A page of payments: every one for role ADMIN, the caller's own for anyone else",
        {200: page},
        (401, 405, 422, 503),
        parameters=_list_params(),
        description="Keyset pages: a payment created while a client pages through never "
        "shifts a page. An empty parameter is no filter; unknown parameters are ignored; "
        "a value that cannot be used, or a cursor altered or made for other filters, is 422.",
    )


def _paths(notify_path: str) -> Schema:
    return {
        "/api/v1/payments": {
            "get": _list(),
            "post": _operation(
                "createPayment",
                "Create the payment of an order the caller owns (role CUSTOMER)",
                {
                    201: _ok(
                        _PAYMENT_REF,
                        "created (or the first answer again, for a repeated Idempotency-Key)",
                        {"Location": _header("the payment's URL")},
                    )
                },
                (400, *_USER_ERRORS, 403, 409, 413, 415, 422, 502, 503),
                parameters=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    }
                ],
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Create"}}
                    },
                },
            ),
        },
        "/api/v1/payments/{id}": {
            "get": _operation(
                "getPayment",
                "The payment (its payer, or role ADMIN)",
                {200: _ok(_PAYMENT_REF, "the payment")},
                (*_USER_ERRORS, 503),
                parameters=[_ID_PARAM],
            )
        },
        "/api/v1/payments/{id}/attempts": {
            "get": _operation(
                "listAttempts",
                "The payment's attempts, oldest first (role ADMIN)",
                {
                    200: _ok(
                        {"type": "array", "items": {"$ref": "#/components/schemas/Attempt"}},
                        "the attempts",
                    )
                },
                (*_USER_ERRORS, 403, 503),
                parameters=[_ID_PARAM],
            )
        },
        "/api/v1/payments/{id}/events": {
            "get": _operation(
                "listStatusChanges",
                "Every stored change of the payment's status, oldest first (its payer, or"
                " role ADMIN)",
                {
                    200: _ok(
                        {"type": "array", "items": {"$ref": "#/components/schemas/StatusChange"}},
                        "the status changes",
                    )
                },
                (*_USER_ERRORS, 503),
                parameters=[_ID_PARAM],
            )
        },
        "/api/v1/payments/retry/{id}": {
            "get": _retry("retryPayment"),
            "post": _retry("retryPaymentPost"),
        },
        "/api/v1/payments/verify/{id}": {
            "get": _operation(
                "verifyPayment",
                "Ask the vendor now and apply its answer (the payer, or role ADMIN)",
                {
                    200: _ok(
                        {"type": "boolean"},
                        "true when CONFIRMED; false only when the vendor says not paid",
                    )
                },
                (*_USER_ERRORS, 502, 503),
                parameters=[_ID_PARAM],
            )
        },
        **_refund_paths(),
        notify_path: {"post": _notify()},
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/health": {"get": _health()},
        "/docs": {"get": _docs()},
        "/api/v1/payments/return/{vendor}": {"get": _buyer_return()},
        "/": {"get": _index()},
    }


def _docs() -> Schema:
    return {
        "operationId": "docs",
        "summary": "This document rendered as a page (Swagger UI, served by this server)",
        "description": "The page loads its scripts and styles from `/docs/...` on this "
        "server and this document from `/openapi.json`; nothing from any other host.",
        "security": [],
        "responses": {
            "200": {
                "description": "an HTML page",
                "content": {"text/html": {"schema": {"type": "string"}}},
            }
        },
    }


def _metrics() -> Schema:
    return {
        "operationId": "metrics",
        "summary": "Prometheus metrics (text exposition format), summed over the workers",
        "description": "Series named `payments_...`: payments created and status changes "
        "by vendor, notifications by outcome, vendor call latency by operation and "
        "outcome, sweeps, the outbox backlog, and HTTP requests by route template and "
        "status class. Absent (404) when `PAYMENTS_METRICS` is off.",
        "security": [],
        "responses": {
            "200": {
                "description": "the metrics",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    }


_REFUND_REF: Final[Schema] = {"$ref": "#/components/schemas/Refund"}
_IDEMPOTENCY_KEY: Final[Schema] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _refund_paths() -> Schema:
    refund_id = {**_ID_PARAM, "name": "refundId"}
    return {
        "/api/v1/payments/{id}/refunds": {
            "post": _operation(
                "requestRefund",
                "Refund a CONFIRMED payment, in full or in part (role ADMIN); the vendor is "
                "asked before the answer, which shows what it said (PENDING when it could not "
                "be reached: the sweep sends it again with the same reference)",
                {
                    201: _ok(
                        _REFUND_REF,
                        "recorded (or the first answer again, for a repeated Idempotency-Key)",
                        {"Location": _header("the refund's URL")},
                    )
                },
                (400, *_USER_ERRORS, 403, 409, 413, 415, 422, 503),
                parameters=[_ID_PARAM, _IDEMPOTENCY_KEY],
                requestBody={
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/RequestRefund"}
                        }
                    },
                },
            ),
            "get": _operation(
                "listRefunds",
                "The payment's refunds, oldest first (its payer, or role ADMIN)",
                {200: _ok({"type": "array", "items": _REFUND_REF}, "the refunds")},
                (*_USER_ERRORS, 503),
                parameters=[_ID_PARAM],
            ),
        },
        "/api/v1/payments/{id}/refunds/{refundId}": {
            "get": _operation(
                "getRefund",
                "One refund of the payment (its payer, or role ADMIN)",
                {200: _ok(_REFUND_REF, "the refund")},
                (*_USER_ERRORS, 503),
                parameters=[_ID_PARAM, refund_id],
            )
        },
    }


def _notify() -> Schema:
    text = {"text/plain": {"schema": {"type": "string"}}}
    return {
        "operationId": "vendorNotification",
        "summary": "A vendor's asynchronous notification, in the vendor's own format",
        "description": "Alipay posts a signed form and gets the plain-text body `success` once "
        "it is processed (duplicates included) and anything else when it must resend. A vendor "
        "whose protocol fixes the statuses of its answers (an empty 204 when processed, say) "
        "gets those, in its own format.",
        "security": [],
        "parameters": [
            {"name": "vendor", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                "*/*": {"schema": {}},
            },
        },
        "responses": {
            "200": {"description": "processed (`success`) or to be resent", "content": text},
            "400": {"description": "refused: forged or unreadable; to be resent", "content": text},
            "404": _error(404),
            "413": _error(413),
            "500": _error(500),
            "503": _error(503),
            "default": {"description": "a status the vendor's own protocol asks for"},
        },
    }


def _buyer_return() -> Schema:
    return {
        "operationId": "buyerReturn",
        "summary": "Where a vendor's checkout sends the buyer back, with its signed parameters",
        "description": "The signature only names the attempt: the vendor is asked about it "
        "before the answer, and nothing is confirmed on what the browser brought. With "
        "PAYMENTS_SHOP_RETURN_URL set, a 303 to it with `?payment=ID&status=STATUS`; else "
        "that pair as JSON. A vendor that sends no buyer back is 404 vendor_not_found.",
        "security": [],
        "parameters": [
            {"name": "vendor", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": _ok(
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["payment", "status"],
                    "properties": {
                        "payment": {"type": "integer"},
                        "status": {"type": "string", "enum": STATUS["enum"]},
                    },
                },
                "the payment the buyer returns from, as the vendor now says",
            ),
            "303": {"description": "to the shop's page (PAYMENTS_SHOP_RETURN_URL)"},
            "400": _error(400),
            "404": _error(404),
            "500": _error(500),
            "502": _error(502),
            "503": _error(503),
        },
    }


def _index() -> Schema:
    links = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        "operationId": "index",
        "summary": "Where things are: links to the API, this document, /docs and /health",
        "security": [],
        "responses": {"200": _ok(links, "the links"), "500": _error(500)},
    }


def _health() -> Schema:
    status = {
        "type": "object",
        "additionalProperties": False,
        "required": ["status", "database"],
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "database": {"type": "string", "enum": ["ok"]},
        },
    }
    return {
        "operationId": "health",
        "summary": "Liveness plus database reachability",
        "security": [],
        "responses": {
            "200": _ok(status, "alive and the database answers"),
            "500": _error(500),
            "503": _error(503),
        },
    }


def document(
    notify_path: str = "/api/v1/payments/notify/{vendor}", *, metrics: bool = False
) -> Schema:
    """The whole OpenAPI document, notifications served at ``notify_path``, and
    ``/metrics`` when the app serves it."""
    paths = _paths(notify_path)
    if metrics:
        paths["/metrics"] = {"get": _metrics()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "payments",
            "version": "1",
            "description": "Take payment for orders through pluggable vendors. Success bodies "
            'are `{"data": ...}`; errors are `{"error": {"code", "message"}}`. Every answer '
            "carries `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`; no "
            "path redirects (a trailing slash is 404). `payments serve` answers 431 "
            "(headers_too_large) to a request line and headers over 16 KiB or 100 headers.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Payment": PAYMENT,
                "Refund": REFUND,
                "Error": ERROR,
                "Create": CREATE,
                "RequestRefund": REQUEST_REFUND,
                "Attempt": ATTEMPT,
                "StatusChange": STATUS_CHANGE,
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "security": [{"bearer": []}],
    }


def served_at(doc: Schema, root_path: str) -> Schema:
    """``doc`` for an app served under ``root_path`` (a mount's prefix): one server there.

    The paths stay relative to the server, as OpenAPI reads them.
    """
    return {**doc, "servers": [{"url": root_path}]} if root_path else doc


def dumps_document(doc: Schema) -> bytes:
    """The document as JSON bytes."""
    return json.dumps(doc, ensure_ascii=False).encode()
