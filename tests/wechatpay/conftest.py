"""Fixtures for the WeChat Pay plugin tests: fixed test-only keys and vectors in ``data/``,
and a stand-in WeChat Pay that signs what it answers and sends (``Platform``)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_core.inmemory import FrozenClock
from payments_vendorkit.keys import load_private_key
from payments_vendorkit.timeouts import Timeouts
from payments_wechatpay import crypto
from payments_wechatpay.gateway import WeChatPayGateway
from payments_wechatpay.settings import WeChatPaySettings

DATA = Path(__file__).parent / "data"
FIXED_NOW = datetime(2024, 5, 20, 5, 14, 15, tzinfo=UTC)  # 13:14:15 in Shanghai
MCHID = "1900000001"
APPID = "wxd678efh567hg6787"
CERT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
KEY_ID = "PUB_KEY_ID_0119000000012024052000000000000001"
APIV3_KEY = "a7cde1ef52f6a5d1e1fb3b7f7f0b3a9c"
BASE = "https://api.mch.weixin.qq.com"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def merchant_settings(**changes: str) -> dict[str, str]:
    """The environment-style settings of the test merchant, with ``changes`` applied."""
    values = {
        "WECHATPAY_MCHID": MCHID,
        "WECHATPAY_APPID": APPID,
        "WECHATPAY_PRIVATE_KEY": read("merchant_private_key.pem"),
        "WECHATPAY_CERT_SERIAL": CERT_SERIAL,
        "WECHATPAY_PUBLIC_KEY": read("platform_public_key.pem"),
        "WECHATPAY_PUBLIC_KEY_ID": KEY_ID,
        "WECHATPAY_APIV3_KEY": APIV3_KEY,
        "PAYMENTS_PUBLIC_URL": "https://shop.example",
    }
    values.update(changes)
    return values


@pytest.fixture(scope="session")
def vectors() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = json.loads(read("vectors.json"))
    return loaded


@pytest.fixture(scope="session")
def merchant_key() -> RSAPrivateKey:
    return load_private_key(read("merchant_private_key.pem"))


@pytest.fixture(scope="session")
def platform_key() -> RSAPrivateKey:
    return load_private_key(read("platform_private_key.pem"))


@pytest.fixture(scope="session")
def settings() -> WeChatPaySettings:
    return WeChatPaySettings.from_settings(merchant_settings())


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(FIXED_NOW)


class Platform:
    """Plays WeChat Pay's side: signs answers and builds signed, encrypted notifications."""

    def __init__(self, key: RSAPrivateKey, clock: FrozenClock) -> None:
        self.key = key
        self.clock = clock
        self.key_id = KEY_ID
        self.apiv3_key = APIV3_KEY.encode()

    def headers(self, body: bytes, **changes: str) -> dict[str, str]:
        """Signed answer headers, as WeChat Pay names them; ``changes`` override any."""
        timestamp = str(int(self.clock.now().timestamp()))
        nonce = crypto.new_nonce()
        headers = {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": self.key_id,
            "Wechatpay-Signature-Type": crypto.SCHEME,
            "Wechatpay-Signature": crypto.sign_response(self.key, timestamp, nonce, body),
        }
        headers.update(changes)
        return headers

    def transaction(self, reference: str, **changes: object) -> dict[str, object]:
        """A paid Native transaction of the test merchant, 88.88 CNY."""
        transaction: dict[str, object] = {
            "appid": APPID,
            "mchid": MCHID,
            "out_trade_no": reference,
            "transaction_id": "4200002024052012345678901234",
            "trade_type": "NATIVE",
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "success_time": "2024-05-20T13:14:10+08:00",
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {"total": 8888, "payer_total": 8888, "currency": "CNY"},
        }
        transaction.update(changes)
        return transaction

    def notification(
        self,
        resource: Mapping[str, object],
        *,
        event_type: str = "TRANSACTION.SUCCESS",
        original_type: str = "transaction",
        apiv3_key: bytes | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A notification body and its headers with lower-case names, as the port hands them."""
        nonce = "fdasflkja484"
        plain = json.dumps(resource, ensure_ascii=False).encode()
        ciphertext = crypto.encrypt_resource(
            apiv3_key or self.apiv3_key, plain, nonce, original_type
        )
        body = json.dumps(
            {
                "id": "EV-2018022511223320873",
                "create_time": "2024-05-20T13:14:12+08:00",
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": "支付成功",
                "resource": {
                    "original_type": original_type,
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": ciphertext,
                    "associated_data": original_type,
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        ).encode()
        headers = {name.lower(): value for name, value in self.headers(body).items()}
        headers["content-type"] = "application/json"
        return body, headers


@pytest.fixture
def platform(platform_key: RSAPrivateKey, clock: FrozenClock) -> Platform:
    return Platform(platform_key, clock)


@pytest.fixture
def gateway(settings: WeChatPaySettings, clock: FrozenClock) -> Iterator[WeChatPayGateway]:
    """The gateway on the test keys: fast timeouts, no backoff, the frozen clock."""
    made = WeChatPayGateway(
        settings,
        timeouts=Timeouts(connect=1.0, read=1.0, retries=2, backoff=0.0, total=5.0),
        session=requests.Session(),
        clock=clock.now,
    )
    yield made
    made.close()


def later(clock: FrozenClock, seconds: float) -> None:
    clock.advance(timedelta(seconds=seconds))


def answer_json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
