"""Security on the real server: every endpoint refuses bad credentials and other users;
garbage notifications and bodies cause no 5xx and no state change; no secret is logged.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.reliability._system import (
    HIDDEN,
    SECRET,
    Created,
    FaultyGateway,
    Keys,
    Server,
    auth,
    create,
    hide,
    order_id,
    scan_logs,
    status_of,
)

if TYPE_CHECKING:
    from tests.reliability.conftest import StartServer

pytestmark = [pytest.mark.reliability, pytest.mark.integration]


def _alg_none(user: str) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"sub": user, "roles": ["CUSTOMER", "ADMIN"], "exp": int(time.time()) + 600}
    return hide(f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.")


def _bad_credentials(user: str) -> dict[str, dict[str, str]]:
    expired = jwt.encode(
        {"sub": user, "roles": ["CUSTOMER"], "exp": int(time.time()) - 60}, SECRET, "HS256"
    )
    wrong = jwt.encode(
        {"sub": user, "roles": ["CUSTOMER"], "exp": int(time.time()) + 600}, "x" * 40, "HS256"
    )
    return {
        "none": {},
        "expired": {"Authorization": f"Bearer {hide(expired)}"},
        "wrong secret": {"Authorization": f"Bearer {hide(wrong)}"},
        "alg none": {"Authorization": f"Bearer {_alg_none(user)}"},
    }


def _endpoints(victim: Created) -> list[tuple[str, str, dict[str, object]]]:
    body = {"orderId": order_id(victim.payer), "subject": "s"}
    return [
        ("GET", f"/api/v1/payments/{victim.id}", {}),
        ("POST", "/api/v1/payments", {"json": body}),
        ("GET", f"/api/v1/payments/retry/{victim.id}", {}),
        ("POST", f"/api/v1/payments/retry/{victim.id}", {}),
        ("GET", f"/api/v1/payments/verify/{victim.id}", {}),
    ]


@pytest.mark.timeout(240)
def test_every_endpoint_refuses_bad_tokens_and_other_users_and_nothing_leaks_to_logs(
    sqlite_env: dict[str, str],
    gateway: FaultyGateway,
    keys: Keys,
    start_server: StartServer,
    tmp_path: Path,
) -> None:
    server: Server = start_server(sqlite_env, "security")
    victim = create(server, "victim")
    answers = {}
    for name, headers in _bad_credentials("victim").items():
        for method, path, extra in _endpoints(victim):
            response = server.request(method, path, headers=headers, **extra)
            answers[(name, method, path)] = (
                response.status_code,
                response.json()["error"]["code"],
                response.headers.get("WWW-Authenticate", "").startswith("Bearer"),
            )
    other = {}
    for method, path, extra in _endpoints(victim):
        response = server.request(method, path, headers=auth("intruder"), **extra)
        other[(method, path)] = (response.status_code, response.json()["error"]["code"])

    assert set(answers.values()) == {(401, "unauthenticated", True)}, answers
    assert other == {
        (m, p): (
            404,
            "order_not_found" if m == "POST" and p.endswith("payments") else "payment_not_found",
        )
        for m, p, _ in _endpoints(victim)
    }
    assert status_of(server, victim) == "PENDING"
    assert not scan_logs(sorted(tmp_path.glob("*.log")), [*HIDDEN, *keys.secrets_to_hide()])


_FORM_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
_FORMS = st.dictionaries(
    st.sampled_from(
        [
            "out_trade_no",
            "trade_status",
            "total_amount",
            "sign",
            "sign_type",
            "app_id",
            "trade_no",
            "charset",
            "x",
        ]
    ),
    _FORM_TEXT,
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _FORM_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_FORM_TEXT, inner, max_size=4),
    max_leaves=10,
)


@pytest.mark.timeout(300)
def test_garbage_notifications_and_bodies_cause_no_5xx_and_no_state_change(
    sqlite_env: dict[str, str], gateway: FaultyGateway, start_server: StartServer
) -> None:
    server: Server = start_server(sqlite_env, "fuzz")
    victim = create(server, "fuzzed")
    gateway.open(victim.order_string)
    seen: list[int] = []
    raw_form = {"Content-Type": "application/x-www-form-urlencoded"}

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(form=_FORMS, raw=st.binary(max_size=300), target=st.booleans())
    @example(form={"charset": "\x00"}, raw=b"charset=utf-8\x00&a=1", target=False)  # found: 500
    def notify(form: dict[str, str], raw: bytes, target: bool) -> None:
        if target:
            form = form | {"out_trade_no": victim.reference, "trade_status": "TRADE_SUCCESS"}
        for body in (form, raw):
            response = server.request(
                "POST", "/api/v1/payments/notify/alipay", data=body, headers=raw_form
            )
            seen.append(response.status_code)
            assert response.status_code < 500, response.text

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(document=_JSON, raw=st.binary(max_size=200))
    def create_body(document: object, raw: bytes) -> None:
        for data in (json.dumps(document).encode(), raw):
            response = server.request(
                "POST",
                "/api/v1/payments",
                data=data,
                headers=auth("fuzzed") | {"Content-Type": "application/json"},
            )
            seen.append(response.status_code)
            assert response.status_code < 500, response.text

    notify()
    create_body()

    assert status_of(server, victim) == "PENDING"
    assert max(seen) < 500
