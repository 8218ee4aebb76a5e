"""The real server with a gateway that never answers: verify and retry end by ``ALIPAY_TIMEOUT``.

A correctness bound with a generous margin, not a timing: without one deadline per
vendor call each of these requests waited 3 tries x 10 s.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from payments_alipay.emulator import ServerThread
from tests.alipay.slow_peer import SlowPeer
from tests.reliability._system import SECRET, Server, auth, create, orders_app

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

DATA: Final = Path(__file__).resolve().parents[1] / "alipay" / "data"
DEADLINE: Final = 2
MARGIN: Final = 3.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("PAYMENTS_", "ALIPAY_"))}
    with SlowPeer("trickle") as gateway, ServerThread(orders_app()) as orders:
        env = kept | {
            "PAYMENTS_DATABASE_URL": f"sqlite:///{tmp_path / 'payments.db'}",
            "PAYMENTS_JWT_SECRET": SECRET,
            "PAYMENTS_ORDERS_URL": orders.url,
            "PAYMENTS_RECONCILE_INTERVAL": "0",
            "ALIPAY_APP_ID": "2021000000000001",
            "ALIPAY_PRIVATE_KEY": f"@{DATA / 'app_private_key_pkcs8.pem'}",
            "ALIPAY_PUBLIC_KEY": f"@{DATA / 'alipay_platform_public_key.pem'}",
            "ALIPAY_GATEWAY": gateway.url,
            "ALIPAY_TIMEOUT": str(DEADLINE),
        }
        running = Server(env, tmp_path / "server.log").start()
        yield running
        running.stop()


@pytest.mark.parametrize("action", ["verify", "retry"])
def test_a_request_waits_on_a_silent_gateway_no_longer_than_alipay_timeout(
    server: Server, action: str
) -> None:
    payment = create(server, "dora")

    started = time.monotonic()
    response = server.request(
        "GET", f"/api/v1/payments/{action}/{payment.id}", headers=auth("dora")
    )
    waited = time.monotonic() - started

    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "vendor_unavailable"
    assert waited < DEADLINE + MARGIN
