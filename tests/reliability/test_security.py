"""Security on the real server: every endpoint refuses bad credentials and other users;
garbage notifications and bodies cause no 5xx and no status change; no secret is logged.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote_plus, urlencode

import jwt
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from payments_alipay.emulator import notification_body
from payments_alipay.signing import NOTIFICATION_EXCLUDED, canonical_string
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
def test_garbage_notifications_and_bodies_cause_no_5xx_and_no_status_change(
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


def _recut(text: str, folds: dict[str, str]) -> list[tuple[str, str]]:
    """The signed ``text`` cut into fields the attacker's way.

    Cut at every ``&``, except that the value of each name in ``folds`` runs on up to
    the mark given for it (``""``: to the end). That is the black-box probe's re-split.
    """
    pairs = []
    rest = text
    while rest:
        name, _, rest = rest.partition("=")
        mark = folds.get(name)
        if mark is None:
            value, _, rest = rest.partition("&")
        else:
            end = rest.index(mark) if mark else len(rest)
            value, rest = rest[:end], rest[end + 1 :]
        pairs.append((name, value))
    return pairs


def _as_if_echoed_raw(gateway: FaultyGateway, reference: str, subject: str) -> dict[str, str]:
    """The notification an Alipay that echoed ``subject`` unchanged would sign for the trade."""
    with gateway.emulator.trades.lock:
        trade = gateway.emulator.trades.get(reference)
        assert trade is not None
        raw = dataclasses.replace(trade, subject=subject)
        body = notification_body(raw, gateway.emulator.platform_private_key, datetime.now(UTC))
    return dict(parse_qsl(body))


def _forge(genuine: dict[str, str], folds: dict[str, str]) -> str:
    text = canonical_string(genuine, NOTIFICATION_EXCLUDED)
    pairs = _recut(text, folds)
    assert canonical_string(dict(pairs), NOTIFICATION_EXCLUDED) == text  # the signature holds
    sign = hide(genuine["sign"])
    return urlencode([*pairs, ("sign_type", "RSA2"), ("sign", sign)], quote_via=quote_plus)


def _shown(server: Server, created: Created) -> dict[str, object]:
    response = server.request("GET", f"/api/v1/payments/{created.id}", headers=auth(created.payer))
    data: dict[str, object] = response.json()["data"]
    return data


@pytest.mark.timeout(120)
def test_a_genuine_notification_re_cut_around_a_hostile_subject_confirms_nothing(
    sqlite_env: dict[str, str], gateway: FaultyGateway, start_server: StartServer
) -> None:
    """The probe's finding: payment A's genuine notification, its signed text cut anew so
    that the fields the customer wrote into A's subject name payment B, paid B."""
    server: Server = start_server(sqlite_env, "recut")
    victim, dearer = create(server, "victim"), create(server, "victim", fen=1234)
    seller = gateway.emulator.seller_id
    same, other = f"&out_trade_no={victim.reference}", f"&out_trade_no={dearer.reference}"
    made_up = "&total_amount=12.34&trade_no=2099FAKE&trade_status=TRADE_SUCCESS&version=1.0&w="
    hostile = {  # the same amount as A (10.00); another amount with a made-up trade id
        same: f"x{same}&point_amount=0.00&receipt_amount=10.00&seller_id={seller}&subject=y",
        other: f"x{other}&receipt_amount=12.34&seller_id={seller}&subject=y{made_up}",
    }
    folds = {same: {"notify_type": same}, other: {"notify_type": other, "w": ""}}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    notify = "/api/v1/payments/notify/alipay"
    replies, attackers, genuine = {}, {}, {}
    for mark, subject in hostile.items():
        attackers[mark] = attacker = create(server, "attacker", subject=subject)
        gateway.open(attacker.order_string)
        gateway.pay(attacker.reference)
        forged = _forge(_as_if_echoed_raw(gateway, attacker.reference, subject), folds[mark])
        replies[mark] = server.request("POST", notify, data=forged, headers=form).text
        genuine[mark] = dict(parse_qsl(gateway.notification(attacker.reference)))
        body = urlencode(genuine[mark], quote_via=quote_plus)
        replies[f"{mark} genuine"] = server.request("POST", notify, data=body, headers=form).text

    for payment in (victim, dearer):
        shown = _shown(server, payment)
        assert (shown["status"], shown["valid"], shown["vendorTradeId"]) == ("PENDING", False, None)
    assert replies == {same: "failure", other: "failure"} | {
        f"{same} genuine": "success",
        f"{other} genuine": "success",
    }
    for mark, attacker in attackers.items():
        shown = _shown(server, attacker)
        assert (shown["status"], shown["subject"]) == ("CONFIRMED", hostile[mark])
        assert shown["vendorTradeId"] == genuine[mark]["trade_no"]
        assert not set("&=/") & set(genuine[mark]["subject"]), "separators reached Alipay"
