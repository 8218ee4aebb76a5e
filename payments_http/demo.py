"""``payments serve --demo``: the whole system on one port with nothing to configure.

SQLite in the working folder (recreated on each start), a vendor's local stand-in
mounted in the same server as its gateway (the Alipay plugin offers its emulator
under ``/emulator``, with generated keys), a generated JWT secret, the vendor's seed
orders, and ready-to-paste commands with tokens. The vendor's parts come from the
``payments_demo_vendor`` hook.
"""

from __future__ import annotations

import secrets
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from attrs import frozen
from starlette.routing import Mount

from payments_core.inmemory import InMemoryOrders
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.values import Caller
from payments_http import settings as config
from payments_http.auth import issue_token
from payments_http.compose import create_app_from_settings
from payments_http.shop import RESULT_PATH, shop_routes

if TYPE_CHECKING:
    import pluggy
    from starlette.applications import Starlette

    from payments_core.contributions import DemoVendor
    from payments_core.values import Order

DATABASE_FILE: Final = "payments-demo.db"
TOKEN_LIFETIME: Final = 24 * 3600
CUSTOMER: Final = "alice"
OTHER_CUSTOMER: Final = "bob"  # unless the vendor seeds an order for someone else
ADMIN: Final = "admin"


@frozen
class Demo:
    """The demo server and what to tell its user."""

    app: Starlette
    banner: str
    settings: Mapping[str, str]


def build(
    settings: Mapping[str, str], folder: Path, *, plugin_manager: pluggy.PluginManager | None = None
) -> Demo:
    """The demo app for ``PAYMENTS_HOST``/``PAYMENTS_PORT`` of ``settings``; other settings are ignored.

    Raises:
        ValueError: the host or port setting is unusable, or no plugin offers a demo.
    """
    port = config.integer(settings, "PAYMENTS_PORT", 1, 65535)
    host = settings.get("PAYMENTS_HOST", "127.0.0.1")
    base = config.public_url({"PAYMENTS_HOST": host, "PAYMENTS_PORT": str(port)})
    pm = plugin_manager or make_plugin_manager()
    vendor = PaymentHooks(pm).demo_vendor(public_url=base, buyer=CUSTOMER)
    _fresh_database(folder)
    demo_settings = {
        "PAYMENTS_HOST": host,
        "PAYMENTS_PORT": str(port),
        "PAYMENTS_PUBLIC_URL": base,
        "PAYMENTS_DATABASE_URL": f"sqlite:///{folder / DATABASE_FILE}",
        "PAYMENTS_VENDOR": vendor.vendor,
        "PAYMENTS_CHECKOUT_TTL": settings.get("PAYMENTS_CHECKOUT_TTL", "900"),
        "PAYMENTS_RECONCILE_INTERVAL": settings.get("PAYMENTS_RECONCILE_INTERVAL", "60"),
        "PAYMENTS_JWT_SECRET": secrets.token_urlsafe(32),
        "PAYMENTS_SHOP_RETURN_URL": f"{base}{RESULT_PATH}",
        **vendor.settings,
    }
    app = _app(demo_settings, vendor, pm)
    text = banner(base, demo_settings["PAYMENTS_JWT_SECRET"], vendor)
    return Demo(app=app, banner=text, settings=demo_settings)


def _app(settings: Mapping[str, str], vendor: DemoVendor, pm: pluggy.PluginManager) -> Starlette:
    """The server with the vendor's stand-in mounted; the stand-in stops if that fails."""
    try:
        return create_app_from_settings(
            settings,
            plugin_manager=pm,
            orders=InMemoryOrders(vendor.orders),
            extra_routes=[
                Mount(vendor.mount_path, app=vendor.app),
                *shop_routes(
                    Caller(username=CUSTOMER, roles={"CUSTOMER"}), vendor.orders, [vendor.vendor]
                ),
            ],
            background=[_Stopper(vendor.stop)],
        )
    except BaseException:
        vendor.stop()
        raise


class _Stopper:
    """Stops the vendor's stand-in with the server."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop

    def start(self) -> None:
        return None

    def stop(self) -> None:
        self._stop()


def _fresh_database(folder: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        (folder / (DATABASE_FILE + suffix)).unlink(missing_ok=True)


def _first_payable(orders: Sequence[Order]) -> str:
    return next((o.id for o in orders if o.buyer == CUSTOMER and o.payable), "ORDER-ID")


def _other_customer(orders: Sequence[Order]) -> str:
    """A second customer, to try another user's payment: the owner of a seeded order if any."""
    return next((o.buyer for o in orders if o.buyer != CUSTOMER), OTHER_CUSTOMER)


def banner(base: str, secret: str, vendor: DemoVendor) -> str:
    """What the demo prints: where things are, tokens, and commands to paste."""
    now = time.time()
    customer = issue_token(secret, CUSTOMER, ["CUSTOMER"], lifetime_seconds=TOKEN_LIFETIME, now=now)
    other = _other_customer(vendor.orders)
    other_token = issue_token(secret, other, ["CUSTOMER"], lifetime_seconds=TOKEN_LIFETIME, now=now)
    admin = issue_token(secret, ADMIN, ["ADMIN"], lifetime_seconds=TOKEN_LIFETIME, now=now)
    auth_c = '-H "Authorization: Bearer $CUSTOMER_TOKEN"'
    auth_a = '-H "Authorization: Bearer $ADMIN_TOKEN"'
    order_id = _first_payable(vendor.orders)
    body = shlex.quote(f'{{"orderId": "{order_id}", "subject": "Green tea"}}')
    orders = "\n".join(
        f"  {o.id}  {o.total:>8}  {o.status:<8} buyer {o.buyer}" for o in vendor.orders
    )
    notes = "".join(f"  {note}\n" for note in vendor.notes)
    return f"""\
payments demo: nothing configured, nothing to keep. State: ./{DATABASE_FILE} (recreated at each start).
  Shop             {base}/  (pay an order in the browser, as {CUSTOMER})
  API              {base}/api/v1/payments      OpenAPI {base}/openapi.json
{notes}Demo orders:
{orders}
Tokens are valid for 24 hours: {CUSTOMER} and {other} have the role CUSTOMER, {ADMIN} the role ADMIN.

# paste into a shell:
export PAYMENTS={base}
export CUSTOMER_TOKEN={customer}
export ADMIN_TOKEN={admin}
export OTHER_CUSTOMER_TOKEN={other_token}

# 1. create the payment of order {order_id} (201, with an orderString)
curl -s -X POST "$PAYMENTS/api/v1/payments" {auth_c} -H 'Content-Type: application/json' -d {body}
# 2. open the orderString in a browser and press Pay; the emulator notifies the server
# 3. see it CONFIRMED
curl -s "$PAYMENTS/api/v1/payments/1" {auth_c}
# ask the vendor now (true once paid), as the admin
curl -s "$PAYMENTS/api/v1/payments/verify/1" {auth_a}
# a new orderString and checkout window (while unpaid)
curl -s "$PAYMENTS/api/v1/payments/retry/1" {auth_c}
# {other} may not see {CUSTOMER}'s payment: 404, as if it did not exist
curl -s "$PAYMENTS/api/v1/payments/1" -H "Authorization: Bearer $OTHER_CUSTOMER_TOKEN"
"""
