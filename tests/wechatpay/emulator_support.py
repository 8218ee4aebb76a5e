"""What the WeChat Pay emulator tests share: a merchant, the independent SDK, a notification receiver."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from wechatpayv3 import WeChatPay, WeChatPayType

from payments_vendorkit.emulation.server import ServerThread
from payments_wechatpay import crypto
from payments_wechatpay.emulator import EmulatorServer

MCHID = "1900000109"
APPID = "wxd678efh567hg6787"


@dataclass
class Received:
    """One notification as the merchant's server got it."""

    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """The merchant's notify endpoint: records each POST and answers the next queued status (204)."""

    received: list[Received] = field(default_factory=list)
    answers: deque[int] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def notify(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.received.append(Received(dict(request.headers), body))
            status = self.answers.popleft() if self.answers else 204
        return Response(b"" if status == 204 else b'{"code":"FAIL","message":"later"}', status)

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/notify", self.notify, methods=["POST"]),
                Route("/notify/{vendor}", self.notify, methods=["POST"]),
            ]
        )

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"{count} notifications expected, got {len(self.received)}")

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.answers.clear()


@dataclass
class Merchant:
    """A registered merchant: its settings, key, and the SDK configured with them."""

    settings: dict[str, str]
    key: RSAPrivateKey
    sdk: WeChatPay
    base: str

    @property
    def notify_url(self) -> str:
        return self.settings["NOTIFY_URL"]

    def sign(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        *,
        key: RSAPrivateKey | None = None,
        timestamp: int | None = None,
        mchid: str = MCHID,
        serial_no: str | None = None,
    ) -> str:
        """An ``Authorization`` value made with our crypto, each part overridable to forge it."""
        return crypto.authorization(
            key or self.key,
            mchid=mchid,
            serial_no=serial_no or self.settings["WECHATPAY_CERT_SERIAL"],
            method=method,
            path=target,
            body=body,
            timestamp=int(time.time()) if timestamp is None else timestamp,
            nonce=crypto.new_nonce(),
        )

    def call(
        self,
        method: str,
        target: str,
        node: object = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        key: RSAPrivateKey | None = None,
        timestamp: int | None = None,
        mchid: str = MCHID,
        serial_no: str | None = None,
        signed_target: str | None = None,
    ) -> requests.Response:
        """A call signed with our crypto; each part can be forged, ``headers`` replace them all."""
        body = raw if raw is not None else b"" if node is None else json.dumps(node).encode()
        if headers is None:
            authorization = self.sign(
                method,
                signed_target or target,
                body,
                key=key,
                timestamp=timestamp,
                mchid=mchid,
                serial_no=serial_no,
            )
            headers = {
                "Authorization": authorization,
                "Content-Type": "application/json",
                "User-Agent": "tests",
            }
        return requests.request(
            method,
            self.base + target,
            data=body,
            headers=headers,
            timeout=10,
            allow_redirects=False,
        )

    def order(self, out_trade_no: str, total: int = 100, **extra: object) -> dict[str, object]:
        """A Native order body."""
        return {
            "appid": APPID,
            "mchid": MCHID,
            "description": "Green tea",
            "out_trade_no": out_trade_no,
            "notify_url": self.notify_url,
            "amount": {"total": total, "currency": "CNY"},
            **extra,
        }

    def verified(self, response: requests.Response) -> bool:
        """Whether the answer carries a valid platform signature, by our crypto."""
        headers = response.headers
        if headers.get("Wechatpay-Serial") != self.settings["WECHATPAY_PUBLIC_KEY_ID"]:
            return False
        key = rsa_public(self.settings["WECHATPAY_PUBLIC_KEY"])
        return crypto.verify_response(
            key,
            headers.get("Wechatpay-Timestamp", ""),
            headers.get("Wechatpay-Nonce", ""),
            response.content,
            headers.get("Wechatpay-Signature", ""),
        )


def rsa_public(pem: str) -> rsa.RSAPublicKey:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pem.encode("ascii"))
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def sdk_for(settings: dict[str, str], base: str) -> WeChatPay:
    """The independent SDK, configured as a merchant of the emulator at ``base``."""
    sdk = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=settings["WECHATPAY_MCHID"],
        private_key=settings["WECHATPAY_PRIVATE_KEY"],
        cert_serial_no=settings["WECHATPAY_CERT_SERIAL"],
        appid=settings["WECHATPAY_APPID"],
        apiv3_key=settings["WECHATPAY_APIV3_KEY"],
        notify_url=settings["NOTIFY_URL"],
        public_key=settings["WECHATPAY_PUBLIC_KEY"],
        public_key_id=settings["WECHATPAY_PUBLIC_KEY_ID"],
        timeout=(3, 5),
    )
    sdk._core._gate_way = base  # the SDK knows only WeChat Pay's own host
    return sdk


@pytest.fixture(scope="module")
def merchant_key() -> RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, ServerThread]]:
    shop = Receiver()
    with ServerThread(shop.app) as server:
        yield shop, server


def make_merchant(server: EmulatorServer, key: RSAPrivateKey, receiver_url: str) -> Merchant:
    settings = server.merchant_settings(mchid=MCHID, appid=APPID, private_key=key)
    settings["NOTIFY_URL"] = f"{receiver_url}/notify"
    return Merchant(settings=settings, key=key, sdk=sdk_for(settings, server.url), base=server.url)


def snapshot(server: EmulatorServer, out_trade_no: str) -> dict[str, Any]:
    """The transaction as the control API shows it."""
    found = server.emulator.transaction(out_trade_no)
    assert found is not None, out_trade_no
    return found


def notifications(server: EmulatorServer, out_trade_no: str) -> list[dict[str, Any]]:
    """The transaction's notification history, as the control API shows it."""
    history = snapshot(server, out_trade_no)["notifications"]
    assert isinstance(history, list)
    return history


@pytest.fixture(scope="module")
def merchant(
    server: EmulatorServer, merchant_key: RSAPrivateKey, receiver: tuple[Receiver, ServerThread]
) -> Merchant:
    """The merchant registered with the module's ``server``, notified at ``receiver``."""
    return make_merchant(server, merchant_key, receiver[1].url)


@pytest.fixture
def shop(server: EmulatorServer, receiver: tuple[Receiver, ServerThread]) -> Iterator[Receiver]:
    """The receiver, with the emulator and it emptied before and after the test."""
    server.emulator.reset()
    receiver[0].clear()
    yield receiver[0]
    server.emulator.reset()
