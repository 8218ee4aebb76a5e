"""The framework-neutral error mapping: plain data any web framework sends, and the one our app sends."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import payments_http.problems
from payments_core.errors import (
    OrdersError,
    PaymentExists,
    PaymentNotFound,
    PaymentsError,
    StoreUnavailable,
    ValidationFailed,
    VendorUnavailable,
)
from payments_http.errors import response_for
from payments_http.problems import problem_for

ERRORS: list[PaymentsError] = [
    PaymentNotFound(7),
    PaymentExists(41),
    ValidationFailed("orderId", "is required"),
    StoreUnavailable(),
    VendorUnavailable("alipay"),
    OrdersError("not JSON"),
]


def test_the_mapping_imports_no_web_framework() -> None:
    tree = ast.parse(Path(payments_http.problems.__file__).read_text(encoding="utf-8"))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [a.name for a in node.names]
        )
    }

    assert imported.isdisjoint({"starlette", "fastapi", "flask", "django", "httpx", "requests"})


@pytest.mark.parametrize(
    ("exc", "status", "code", "headers", "extra"),
    [
        (PaymentNotFound(7), 404, "payment_not_found", {}, {}),
        (PaymentExists(41), 409, "payment_exists", {}, {"paymentId": 41}),
        (ValidationFailed("orderId", "is required"), 422, "validation_error", {}, {}),
        (StoreUnavailable(), 503, "store_unavailable", {"Retry-After": "2"}, {}),
        (VendorUnavailable("alipay"), 503, "vendor_unavailable", {"Retry-After": "5"}, {}),
        (OrdersError("not JSON"), 502, "orders_error", {}, {}),
    ],
)
def test_a_core_error_is_a_status_code_message_and_headers(
    exc: PaymentsError, status: int, code: str, headers: dict[str, str], extra: dict[str, object]
) -> None:
    answer = problem_for(exc)

    assert (answer.status, answer.code, dict(answer.headers)) == (status, code, headers)
    assert answer.message == exc.message
    assert answer.body()["error"]["code"] == code
    for name, value in extra.items():
        assert answer.body()["error"][name] == value


@pytest.mark.parametrize("exc", ERRORS, ids=lambda e: type(e).__name__)
def test_the_body_is_json_native_and_its_text_is_the_same_document(exc: PaymentsError) -> None:
    answer = problem_for(exc)

    assert json.loads(json.dumps(answer.body())) == answer.body()
    assert json.loads(answer.body_bytes()) == answer.body()
    assert set(answer.body()) == {"error"}
    assert {"code", "message"} <= set(answer.body()["error"])


@pytest.mark.parametrize("exc", ERRORS, ids=lambda e: type(e).__name__)
def test_our_starlette_app_answers_exactly_what_the_mapping_says(exc: PaymentsError) -> None:
    answer = problem_for(exc)

    response = response_for(exc)

    assert response.status_code == answer.status
    assert response.body == answer.body_bytes()
    assert response.headers["content-type"] == "application/json"
    for name, value in answer.headers.items():
        assert response.headers[name] == value
