"""Benchmark: WeChat Pay orders signed and notifications verified and decrypted per second.

Each figure is printed as a ratio to (a) the raw ``cryptography`` operations it cannot
beat, measured in the same run on the same keys (an RSA-2048 sign; an RSA-2048 verify
plus an AES-256-GCM decrypt), and (b) the ``wechatpayv3`` SDK doing the same job.
Targets: order signing >= 0.8 of raw sign, notification verify+decrypt >= 0.5 of raw.

    python -m bench.wechatpay [--seconds 6]    (from the repository root)

"ours sign" is what the gateway does for an order before the network: the order body
and its ``Authorization`` header. "ours checkout" is a whole ``open_checkout`` against an
in-process stand-in (signed answer verified, a worker thread per call), for information.
The operations are called in turns and each call is timed; a rate is one over the 10th
percentile of its call times (see ``measure``), so a noisy neighbour skews none of them.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from requests.adapters import BaseAdapter

from payments_core.money import Money
from payments_core.values import CheckoutRequest
from payments_vendorkit.keys import load_private_key
from payments_wechatpay import _order, crypto
from payments_wechatpay.gateway import WeChatPayGateway
from payments_wechatpay.settings import WeChatPaySettings

DATA = Path(__file__).parents[1] / "tests" / "wechatpay" / "data"
MCHID, APPID = "1900000001", "wxd678efh567hg6787"
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
KEY_ID = "PUB_KEY_ID_0119000000012024052000000000000001"
APIV3_KEY = "a7cde1ef52f6a5d1e1fb3b7f7f0b3a9c"
NATIVE = "/v3/pay/transactions/native"


def measure(operations: dict[str, Callable[[], object]], seconds: float) -> dict[str, float]:
    """Each operation's rate from its 10th-percentile call time, the calls interleaved.

    The operations are called one after another, in turns, until ``seconds`` pass, and
    each call is timed on its own: on a machine shared with other work, a call that was
    not preempted shows the operation's own cost, and the same percentile for every
    operation keeps the ratios fair.
    """
    durations: dict[str, list[float]] = {name: [] for name in operations}
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or min(map(len, durations.values())) < 20:
        for name, operation in operations.items():
            start = time.perf_counter()
            operation()
            durations[name].append(time.perf_counter() - start)
    return {name: 1 / statistics.quantiles(values, n=10)[0] for name, values in durations.items()}


def settings() -> WeChatPaySettings:
    return WeChatPaySettings.from_settings(
        {
            "WECHATPAY_MCHID": MCHID,
            "WECHATPAY_APPID": APPID,
            "WECHATPAY_PRIVATE_KEY": (DATA / "merchant_private_key.pem").read_text(),
            "WECHATPAY_CERT_SERIAL": SERIAL,
            "WECHATPAY_PUBLIC_KEY": (DATA / "platform_public_key.pem").read_text(),
            "WECHATPAY_PUBLIC_KEY_ID": KEY_ID,
            "WECHATPAY_APIV3_KEY": APIV3_KEY,
            "WECHATPAY_GATEWAY": "http://wechatpay.invalid",
            "PAYMENTS_PUBLIC_URL": "https://shop.example",
        }
    )


def sample_notification() -> tuple[bytes, dict[str, str]]:
    """A signed, encrypted TRANSACTION.SUCCESS notification, as WeChat Pay sends one."""
    platform = load_private_key((DATA / "platform_private_key.pem").read_text())
    transaction = {
        "appid": APPID,
        "mchid": MCHID,
        "out_trade_no": "P20240520051415abcdef",
        "transaction_id": "4200002024052012345678901234",
        "trade_type": "NATIVE",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "success_time": "2024-05-20T13:14:10+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 8888, "payer_total": 8888, "currency": "CNY"},
    }
    plain = json.dumps(transaction, ensure_ascii=False).encode()
    resource = {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": crypto.encrypt_resource(
            APIV3_KEY.encode(), plain, "fdasflkja484", "transaction"
        ),
        "associated_data": "transaction",
        "nonce": "fdasflkja484",
    }
    notice = {"id": "EV-1", "event_type": "TRANSACTION.SUCCESS", "resource": resource}
    body = json.dumps({**notice, "resource_type": "encrypt-resource"}).encode()
    timestamp, nonce = str(int(datetime.now(UTC).timestamp())), crypto.new_nonce()
    return body, {
        "wechatpay-timestamp": timestamp,
        "wechatpay-nonce": nonce,
        "wechatpay-serial": KEY_ID,
        "wechatpay-signature-type": crypto.SCHEME,
        "wechatpay-signature": crypto.sign_response(platform, timestamp, nonce, body),
    }


class Canned(BaseAdapter):
    """Answers every request with one signed Native order answer, without a socket."""

    def __init__(self) -> None:
        super().__init__()
        platform = load_private_key((DATA / "platform_private_key.pem").read_text())
        self.body = b'{"code_url":"weixin://wxpay/bizpayurl?pr=p4lpSuKzz"}'
        timestamp, nonce = str(int(datetime.now(UTC).timestamp())), crypto.new_nonce()
        self.headers = {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": KEY_ID,
            "Wechatpay-Signature": crypto.sign_response(platform, timestamp, nonce, self.body),
        }

    def send(  # type: ignore[override]  # the stand-in ignores timeouts, proxies and TLS
        self, request: requests.PreparedRequest, **_: object
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response._content = self.body
        response.headers.update(self.headers)
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release."""


def checkout_request() -> CheckoutRequest:
    return CheckoutRequest(
        reference="P20240520051415abcdef",
        amount=Money.parse("88.88"),
        subject="测试订单 Test Order",
        description=None,
        expires_at=datetime.now(UTC) + timedelta(minutes=15),
    )


def ours(body: bytes, headers: Mapping[str, str]) -> dict[str, Callable[[], object]]:
    config = settings()
    session = requests.Session()
    session.mount("http://", Canned())
    gateway = WeChatPayGateway(config, session=session)
    request = checkout_request()

    def sign() -> object:
        order, _ = _order.native_order(config, request)
        return crypto.authorization(
            config.private_key,
            mchid=MCHID,
            serial_no=SERIAL,
            method="POST",
            path=NATIVE,
            body=order,
            timestamp=int(datetime.now(UTC).timestamp()),
            nonce=crypto.new_nonce(),
        )

    assert gateway.parse_notification(body, headers) is not None  # noqa: S101
    assert gateway.open_checkout(request).order_string  # noqa: S101
    return {
        "ours sign": sign,
        "ours checkout": lambda: gateway.open_checkout(request),
        "ours notify": lambda: gateway.parse_notification(body, headers),
    }


def raw(body: bytes, headers: Mapping[str, str]) -> dict[str, Callable[[], object]]:
    key = load_private_key((DATA / "merchant_private_key.pem").read_text())
    public = load_private_key((DATA / "platform_private_key.pem").read_text()).public_key()
    resource = json.loads(body)["resource"]
    sealed = base64.b64decode(resource["ciphertext"])
    aead, nonce, associated = AESGCM(APIV3_KEY.encode()), b"fdasflkja484", b"transaction"
    signed = crypto.response_message(
        headers["wechatpay-timestamp"], headers["wechatpay-nonce"], body
    )
    signature = base64.b64decode(headers["wechatpay-signature"])
    order, _ = _order.native_order(settings(), checkout_request())
    message = crypto.request_message("POST", NATIVE, 1716182055, crypto.new_nonce(), order)
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()

    def verify_decrypt() -> object:
        public.verify(signature, signed, pkcs1, sha256)
        return aead.decrypt(nonce, sealed, associated)

    return {
        "raw sign": lambda: key.sign(message, pkcs1, sha256),
        "raw notify (verify+decrypt)": verify_decrypt,
    }


def sdk(body: bytes, headers: Mapping[str, str]) -> dict[str, Callable[[], object]]:
    from wechatpayv3 import utils
    from wechatpayv3.core import Core

    core = Core(
        mchid=MCHID,
        cert_serial_no=SERIAL,
        private_key=(DATA / "merchant_private_key.pem").read_text(),
        apiv3_key=APIV3_KEY,
        public_key=(DATA / "platform_public_key.pem").read_text(),
        public_key_id=KEY_ID,
    )
    key = utils.load_private_key((DATA / "merchant_private_key.pem").read_text())
    order = json.loads(_order.native_order(settings(), checkout_request())[0])
    titled = {name.title(): value for name, value in headers.items()}
    assert core.decrypt_callback(titled, body)  # noqa: S101
    return {
        "sdk sign": lambda: utils.build_authorization(
            NATIVE, "POST", MCHID, SERIAL, key, data=order
        ),
        "sdk notify": lambda: json.loads(core.decrypt_callback(titled, body)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="total measuring time")
    args = parser.parse_args()
    body, headers = sample_notification()
    operations = {**raw(body, headers), **ours(body, headers)}
    try:
        operations |= sdk(body, headers)
    except ImportError:
        print("wechatpayv3 is not installed: skipping the SDK comparison (pip install wechatpayv3)")
    # like is timed in turns with like: a 2 ms RSA sign between two 80 us notifications
    # would evict their caches and charge the cheaper operation for it
    rates: dict[str, float] = {}
    for group in ("sign", "notify", "checkout"):
        chosen = {name: op for name, op in operations.items() if group in name}
        rates |= measure(chosen, args.seconds / 3)
    for name, value in rates.items():
        print(f"{name:28s} {value:10.0f}/s")
    sign, notify = rates["ours sign"], rates["ours notify"]
    print(
        f"orders signed/s: {sign:.0f} = {sign / rates['raw sign']:.2f} x raw sign (target >= 0.80)"
        + (f", {sign / rates['sdk sign']:.2f} x wechatpayv3" if "sdk sign" in rates else "")
    )
    print(
        f"notifications verified+decrypted/s: {notify:.0f} = "
        f"{notify / rates['raw notify (verify+decrypt)']:.2f} x raw verify+decrypt (target >= 0.50)"
        + (f", {notify / rates['sdk notify']:.2f} x wechatpayv3" if "sdk notify" in rates else "")
    )
    print(f"whole checkouts/s (in-process stand-in): {rates['ours checkout']:.0f}")


if __name__ == "__main__":
    main()
