"""``payments serve --demo``: the whole system on one port with nothing to configure.

SQLite in the working folder (recreated on each start, like the emulator's trades),
the Alipay emulator mounted under ``/emulator`` as the gateway, generated keys and
JWT secret, a few seeded orders, and ready-to-paste commands with tokens.

This is a composition root: it names the Alipay emulator, which no other module of
this package may import.
"""

from __future__ import annotations

import secrets
import shlex
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final

from attrs import frozen
from starlette.routing import Mount

from payments_core.inmemory import InMemoryOrders
from payments_core.values import Order
from payments_http import settings as config
from payments_http.auth import issue_token
from payments_http.compose import create_app_from_settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

DATABASE_FILE: Final = "payments-demo.db"
APP_ID: Final = "2021000000000001"
EMULATOR_PATH: Final = "/emulator"
TOKEN_LIFETIME: Final = 24 * 3600
CUSTOMER: Final = "alice"
ADMIN: Final = "admin"
ORDERS: Final = (
    Order(id="DEMO-1001", buyer=CUSTOMER, total=Decimal("88.88"), status="CREATED"),
    Order(id="DEMO-1002", buyer=CUSTOMER, total=Decimal("1000.12"), status="CREATED"),
    Order(id="DEMO-1003", buyer=CUSTOMER, total=Decimal("0.30"), status="CREATED"),
    Order(id="DEMO-1004", buyer=CUSTOMER, total=Decimal("19.90"), status="PAID"),
    Order(id="DEMO-2001", buyer="bob", total=Decimal("5.00"), status="CREATED"),
)


@frozen
class Demo:
    """The demo server and what to tell its user."""

    app: Starlette
    banner: str
    settings: Mapping[str, str]


def build(settings: Mapping[str, str], folder: Path) -> Demo:
    """The demo app for ``PAYMENTS_HOST``/``PAYMENTS_PORT`` of ``settings``; other settings are ignored.

    Raises:
        ValueError: the host or port setting is unusable.
    """
    from cryptography.hazmat.primitives.asymmetric import rsa

    from payments_alipay.emulator import AlipayEmulator
    from payments_alipay.keys import private_pem, public_pem

    port = config.integer(settings, "PAYMENTS_PORT", 1, 65535)
    host = settings.get("PAYMENTS_HOST", "127.0.0.1")
    base = config.public_url({"PAYMENTS_HOST": host, "PAYMENTS_PORT": str(port)})
    _fresh_database(folder)
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    emulator = AlipayEmulator(merchants={APP_ID: app_key.public_key()})
    demo_settings = {
        "PAYMENTS_HOST": host,
        "PAYMENTS_PORT": str(port),
        "PAYMENTS_PUBLIC_URL": base,
        "PAYMENTS_DATABASE_URL": f"sqlite:///{folder / DATABASE_FILE}",
        "PAYMENTS_VENDOR": "alipay",
        "PAYMENTS_CHECKOUT_TTL": settings.get("PAYMENTS_CHECKOUT_TTL", "900"),
        "PAYMENTS_RECONCILE_INTERVAL": settings.get("PAYMENTS_RECONCILE_INTERVAL", "60"),
        "PAYMENTS_JWT_SECRET": secrets.token_urlsafe(32),
        "ALIPAY_APP_ID": APP_ID,
        "ALIPAY_PRIVATE_KEY": private_pem(app_key),
        "ALIPAY_PUBLIC_KEY": public_pem(emulator.platform_public_key),
        "ALIPAY_GATEWAY": f"{base}{EMULATOR_PATH}/gateway.do",
        "ALIPAY_SELLER_ID": emulator.seller_id,
    }
    app = create_app_from_settings(
        demo_settings,
        orders=InMemoryOrders(ORDERS),
        extra_routes=[Mount(EMULATOR_PATH, app=emulator.app)],
        background=[_Stopper(emulator)],
    )
    return Demo(
        app=app, banner=banner(base, demo_settings["PAYMENTS_JWT_SECRET"]), settings=demo_settings
    )


class _Stopper:
    def __init__(self, emulator: object) -> None:
        self._emulator = emulator

    def start(self) -> None:
        return None

    def stop(self) -> None:
        shutdown = getattr(self._emulator, "shutdown", None)
        if callable(shutdown):
            shutdown()


def _fresh_database(folder: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        (folder / (DATABASE_FILE + suffix)).unlink(missing_ok=True)


def banner(base: str, secret: str) -> str:
    """What the demo prints: where things are, tokens, and commands to paste."""
    now = time.time()
    customer = issue_token(secret, CUSTOMER, ["CUSTOMER"], lifetime_seconds=TOKEN_LIFETIME, now=now)
    admin = issue_token(secret, ADMIN, ["ADMIN"], lifetime_seconds=TOKEN_LIFETIME, now=now)
    auth_c = '-H "Authorization: Bearer $CUSTOMER_TOKEN"'
    auth_a = '-H "Authorization: Bearer $ADMIN_TOKEN"'
    body = shlex.quote('{"orderId": "DEMO-1001", "subject": "Green tea"}')
    orders = "\n".join(f"  {o.id}  {o.total:>8}  {o.status:<8} buyer {o.buyer}" for o in ORDERS)
    return f"""\
payments demo: nothing configured, nothing to keep. State: ./{DATABASE_FILE} (recreated at each start).
  API              {base}/api/v1/payments      OpenAPI {base}/openapi.json
  Alipay emulator  {base}{EMULATOR_PATH}/control/trades  (a local stand-in for Alipay)
Demo orders:
{orders}
Tokens are valid for 24 hours: {CUSTOMER} has the role CUSTOMER, {ADMIN} the role ADMIN.

# paste into a shell:
export PAYMENTS={base}
export CUSTOMER_TOKEN={customer}
export ADMIN_TOKEN={admin}

# 1. create the payment of order DEMO-1001 (201, with an orderString)
curl -s -X POST "$PAYMENTS/api/v1/payments" {auth_c} -H 'Content-Type: application/json' -d {body}
# 2. open the orderString in a browser and press Pay; the emulator notifies the server
# 3. see it CONFIRMED
curl -s "$PAYMENTS/api/v1/payments/1" {auth_c}
# ask the vendor now (true once paid), as the admin
curl -s "$PAYMENTS/api/v1/payments/verify/1" {auth_a}
# a new orderString and checkout window (while unpaid)
curl -s "$PAYMENTS/api/v1/payments/retry/1" {auth_c}
"""
