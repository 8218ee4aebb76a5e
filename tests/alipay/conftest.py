"""Fixtures for the Alipay plugin tests: the fixed test-only keys and vectors in ``data/``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from payments_alipay import AlipayGateway, AlipaySettings, Timeouts
from payments_alipay.emulator import ServerThread
from payments_alipay.keys import load_private_key, load_public_key
from payments_alipay.settings import PRODUCTION_GATEWAY
from payments_core.inmemory import FrozenClock
from tests.alipay.emulator_fixtures import Shop, frozen_now

DATA = Path(__file__).parent / "data"
APP_ID = "2021000000000001"
SELLER_ID = "2088102100000002"
FIXED_NOW = datetime(2024, 5, 20, 5, 14, 15, tzinfo=UTC)  # 13:14:15 in Shanghai


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def vectors() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = json.loads(read("vectors.json"))
    return loaded


@pytest.fixture(scope="session")
def app_key() -> RSAPrivateKey:
    return load_private_key(read("app_private_key_pkcs8.pem"))


@pytest.fixture(scope="session")
def app_public() -> RSAPublicKey:
    return load_public_key(read("app_public_key.pem"))


@pytest.fixture(scope="session")
def platform_key() -> RSAPrivateKey:
    return load_private_key(read("alipay_platform_private_key_pkcs8.pem"))


@pytest.fixture(scope="session")
def platform_public() -> RSAPublicKey:
    return load_public_key(read("alipay_platform_public_key.pem"))


@pytest.fixture
def alipay_settings(app_key: RSAPrivateKey, platform_public: RSAPublicKey) -> AlipaySettings:
    return AlipaySettings(
        app_id=APP_ID,
        private_key=app_key,
        alipay_public_key=platform_public,
        gateway_url=PRODUCTION_GATEWAY,
        notify_url="https://shop.example.com/pay/alipay/notify",
        return_url="https://shop.example.com/pay/alipay/return",
        seller_id=SELLER_ID,
    )


GatewayFactory = Callable[..., AlipayGateway]


@pytest.fixture
def make_gateway(alipay_settings: AlipaySettings) -> Iterator[GatewayFactory]:
    """Build gateways on the test keys: fast timeouts, no backoff, a frozen clock by default."""
    made: list[AlipayGateway] = []

    def make(
        *, clock: Callable[[], datetime] = lambda: FIXED_NOW, retries: int = 2, **changes: Any
    ) -> AlipayGateway:
        settings = dataclasses.replace(alipay_settings, **changes)
        timeouts = Timeouts(connect=1.0, read=1.0, retries=retries, backoff=0.0)
        gateway = AlipayGateway(
            settings, timeouts=timeouts, session=requests.Session(), clock=clock
        )
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    """A clock frozen at the real current second, one per module (the emulator honours time_expire)."""
    return frozen_now()


@pytest.fixture(scope="module")
def shop() -> Iterator[tuple[Shop, ServerThread]]:
    """The merchant's notify endpoint served on 127.0.0.1, one per module."""
    receiver = Shop()
    with ServerThread(receiver.app) as server:
        yield receiver, server
