"""The buyer's return from the cashier: RSA2-signed like a notification, naming one attempt."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_alipay import canonical_string, sign_rsa2
from payments_alipay.signing import NOTIFICATION_EXCLUDED
from payments_core.errors import SignatureInvalid
from tests.alipay.conftest import APP_ID, SELLER_ID, GatewayFactory


def returned(key: RSAPrivateKey, **changes: str) -> dict[str, str]:
    """The parameters Alipay appends to return_url after a page payment, signed by ``key``."""
    params = {
        "charset": "utf-8",
        "out_trade_no": "P7_A2",
        "method": "alipay.trade.page.pay.return",
        "total_amount": "12.30",
        "trade_no": "2024052022001400001234567890",
        "auth_app_id": APP_ID,
        "version": "1.0",
        "app_id": APP_ID,
        "seller_id": SELLER_ID,
        "timestamp": "2024-05-20 13:15:12",
        "sign_type": "RSA2",
    }
    params.update(changes)
    params = {k: v for k, v in params.items() if v}
    params["sign"] = sign_rsa2(key, canonical_string(params, NOTIFICATION_EXCLUDED))
    return params


def test_a_genuine_return_names_its_attempt(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    assert make_gateway().parse_return(returned(platform_key)) == "P7_A2"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda q: {**q, "out_trade_no": "P8_A1"},  # another attempt, same signature
        lambda q: {**q, "sign": q["sign"][:-4] + "AAAA"},
        lambda q: {k: v for k, v in q.items() if k != "sign"},
        lambda q: {**q, "sign_type": "RSA"},
    ],
)
def test_a_tampered_or_unsigned_return_is_refused(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory, tamper: object
) -> None:
    query = tamper(returned(platform_key))  # type: ignore[operator]  # the parametrised lambdas

    with pytest.raises(SignatureInvalid):
        make_gateway().parse_return(query)


def test_a_return_signed_by_someone_else_or_for_another_app_is_refused(
    platform_key: RSAPrivateKey, app_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    for query in (returned(app_key), returned(platform_key, app_id="2021000000000999")):
        with pytest.raises(SignatureInvalid):
            make_gateway().parse_return(query)


def test_a_return_that_reads_two_ways_or_names_no_attempt_is_refused(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    recut = returned(platform_key, total_amount="12.30&out_trade_no=P9_A1")
    nameless = returned(platform_key, out_trade_no="")

    for query in (recut, nameless):
        with pytest.raises(SignatureInvalid):
            make_gateway().parse_return(query)
