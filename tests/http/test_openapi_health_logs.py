"""GET /openapi.json is a valid document describing every endpoint; /health; request logs."""

from __future__ import annotations

import json
import logging

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from payments_core.values import Order
from payments_http.openapi import ERROR_CODES
from tests.http.conftest import bearer, token
from tests.http.test_payments_api import PAYMENTS, create


def test_the_openapi_document_is_valid(client: TestClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    validate(response.json())


def test_the_openapi_document_describes_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    served = {
        (route.path, method.lower())
        for route in client.app.routes  # type: ignore[attr-defined]  # TestClient's app is our Starlette
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD" and not route.path.startswith("/docs/")  # /docs's own files
    }

    assert {(p, m) for p, ops in paths.items() for m in ops} == served
    assert ("/api/v1/payments/{id}/refunds", "post") in served


def test_the_documented_error_codes_include_every_contract_code() -> None:
    contract = {
        "invalid_request", "unauthenticated", "forbidden", "payment_not_found",
        "order_not_found", "order_already_paid", "payment_exists", "payment_final",
        "validation_error", "vendor_error", "vendor_unavailable", "store_unavailable",
        "idempotency_key_reused", "amount_not_supported", "order_not_payable",
        "vendor_not_supported",
    }  # fmt: skip

    assert contract <= set(ERROR_CODES)


def test_a_payment_response_matches_the_documented_schema(client: TestClient, order: Order) -> None:
    from jsonschema import Draft202012Validator

    schema = client.get("/openapi.json").json()["components"]["schemas"]["Payment"]
    payment = create(client, order)

    Draft202012Validator(schema).validate(payment)


def test_health_reports_the_database(client: TestClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"data": {"status": "ok", "database": "ok"}}


def test_one_log_line_per_request_with_an_id_and_no_secrets(
    client: TestClient, order: Order, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="payments_http.access")
    payment = create(client, order)
    secret_token = token()
    caplog.clear()

    response = client.get(
        f"{PAYMENTS}/{payment['id']}?token={secret_token}",
        headers={"Authorization": f"Bearer {secret_token}"},
    )

    lines = [r.getMessage() for r in caplog.records if r.name == "payments_http.access"]
    assert len(lines) == 1
    assert f"request_id={response.headers['x-request-id']}" in lines[0]
    assert "status=200" in lines[0]
    assert "user=alice" in lines[0]
    assert secret_token not in caplog.text
    assert payment["orderString"] not in caplog.text


@pytest.mark.parametrize(
    "username",
    ["mal\nlory", "mal\rlory", "mal\u2028lory", "mal\x1blory", 'mal" user="root', "mal lory"],
)
def test_a_username_that_could_forge_a_log_line_is_escaped(
    client: TestClient, caplog: pytest.LogCaptureFixture, username: str
) -> None:
    caplog.set_level(logging.INFO, logger="payments_http.access")

    client.get(f"{PAYMENTS}/1", headers={"Authorization": f"Bearer {token(username)}"})

    [line] = [r.getMessage() for r in caplog.records if r.name == "payments_http.access"]
    assert line.isprintable()
    assert line.endswith(" user=" + json.dumps(username))


def test_a_well_formed_incoming_request_id_is_kept(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-Id": "abcdef-123456"})

    assert response.headers["x-request-id"] == "abcdef-123456"


def test_a_malformed_incoming_request_id_is_replaced(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-Id": "bad id\tinjection"})

    assert response.headers["x-request-id"] != "bad id\tinjection"


def test_bearer_helper_is_valid(client: TestClient) -> None:
    assert client.get(f"{PAYMENTS}/999", headers=bearer()).status_code == 404
