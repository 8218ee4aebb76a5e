"""Schemathesis against /openapi.json: no 5xx, and every response conforms to the document."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks as st_checks

from payments_core.fakevendor import FakeVendor
from payments_core.inmemory import FrozenClock, InMemoryOrders, InMemoryPaymentRepository
from payments_core.services import PaymentService
from payments_core.values import Order
from payments_http.app import create_app
from payments_http.auth import JwtAuthenticator
from tests.http.conftest import SECRET, token

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiCase


def _app() -> object:
    clock = FrozenClock()
    orders = InMemoryOrders(
        Order(id=f"order-{n}", buyer="alice", total=Decimal("12.34"), status="CREATED")
        for n in range(50)
    )
    service = PaymentService(
        repo=InMemoryPaymentRepository(),
        vendors={"fake": FakeVendor(clock=clock)},
        orders=orders,
        clock=clock,
        default_vendor="fake",
    )
    return create_app(service, authenticator=JwtAuthenticator.from_secret(SECRET))


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())
AUTH = {"Authorization": f"Bearer {token('alice', ['CUSTOMER', 'ADMIN'], lifetime=3600)}"}


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_openapi_document(case: OpenApiCase) -> None:
    case.call_and_validate(
        headers=AUTH,
        checks=[
            st_checks.not_a_server_error,
            st_checks.status_code_conformance,
            st_checks.content_type_conformance,
            st_checks.response_schema_conformance,
            st_checks.response_headers_conformance,
        ],
    )
