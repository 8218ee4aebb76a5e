"""``payments serve --demo``: the whole system on one port with nothing to configure.

SQLite in the working folder (recreated on each start), every vendor's local stand-in
mounted in the same server as its gateway (each plugin offers its own, with generated
keys, under its own path), a generated JWT secret, the vendors' seed orders, and
ready-to-paste commands with tokens. The vendors' parts come from the
``payments_demo_vendor`` hook; the default vendor is ``PAYMENTS_VENDOR`` (``alipay``
unless set) when a plugin offers it, else the first one offered, and a create names
another with ``"vendor"``.
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
DEFAULT_VENDOR: Final = next(s.default for s in config.SETTINGS if s.name == "PAYMENTS_VENDOR")
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
    """The demo app for ``PAYMENTS_HOST``/``PAYMENTS_PORT`` of ``settings``.

    ``PAYMENTS_VENDOR`` (its declared default when absent), ``PAYMENTS_CHECKOUT_TTL`` and
    ``PAYMENTS_RECONCILE_INTERVAL`` are taken from ``settings`` too; other settings are
    ignored. A ``PAYMENTS_VENDOR`` no plugin offers leaves the first one offered as default.

    Raises:
        ValueError: the host or port setting is unusable, no plugin offers a demo, or
            the plugins' parts clash (vendor, mount path, setting or order id).
    """
    port = config.integer(settings, "PAYMENTS_PORT", 1, 65535)
    host = settings.get("PAYMENTS_HOST", "127.0.0.1")
    base = config.public_url({"PAYMENTS_HOST": host, "PAYMENTS_PORT": str(port)})
    pm = plugin_manager or make_plugin_manager()
    offered = PaymentHooks(pm).demo_vendors(public_url=base, buyer=CUSTOMER)
    try:
        vendors = _default_first(offered, settings.get("PAYMENTS_VENDOR") or DEFAULT_VENDOR)
        vendor_settings = _merged_settings(vendors)
        orders = _merged_orders(vendors)
    except ValueError:
        _stop_all(offered)
        raise
    _fresh_database(folder)
    demo_settings = {
        "PAYMENTS_HOST": host,
        "PAYMENTS_PORT": str(port),
        "PAYMENTS_PUBLIC_URL": base,
        "PAYMENTS_DATABASE_URL": f"sqlite:///{folder / DATABASE_FILE}",
        "PAYMENTS_VENDOR": vendors[0].vendor,
        "PAYMENTS_CHECKOUT_TTL": settings.get("PAYMENTS_CHECKOUT_TTL", "900"),
        "PAYMENTS_RECONCILE_INTERVAL": settings.get("PAYMENTS_RECONCILE_INTERVAL", "60"),
        "PAYMENTS_JWT_SECRET": secrets.token_urlsafe(32),
        "PAYMENTS_SHOP_RETURN_URL": f"{base}{RESULT_PATH}",
        **vendor_settings,
    }
    app = _app(demo_settings, vendors, orders, pm)
    text = banner(base, demo_settings["PAYMENTS_JWT_SECRET"], vendors, orders)
    return Demo(app=app, banner=text, settings=demo_settings)


def _default_first(vendors: Sequence[DemoVendor], preferred: str | None) -> list[DemoVendor]:
    """``vendors`` with the one named ``preferred`` first (when there is one), else as given."""
    chosen = next((v for v in vendors if v.vendor == preferred), vendors[0])
    return [chosen, *(v for v in vendors if v is not chosen)]


def _merged_settings(vendors: Sequence[DemoVendor]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for vendor in vendors:
        for name, value in vendor.settings.items():
            if name in merged:
                raise ValueError(f"two plugins' demos set {name}")
            merged[name] = value
    return merged


def _merged_orders(vendors: Sequence[DemoVendor]) -> list[Order]:
    merged: dict[str, Order] = {}
    for order in (o for vendor in vendors for o in vendor.orders):
        if order.id in merged:
            raise ValueError(f"two plugins' demos seed the order {order.id}")
        merged[order.id] = order
    return list(merged.values())


def _stop_all(vendors: Sequence[DemoVendor]) -> None:
    for vendor in vendors:
        vendor.stop()


def _app(
    settings: Mapping[str, str],
    vendors: Sequence[DemoVendor],
    orders: Sequence[Order],
    pm: pluggy.PluginManager,
) -> Starlette:
    """The server with every vendor's stand-in mounted; they stop if that fails."""
    try:
        return create_app_from_settings(
            settings,
            plugin_manager=pm,
            orders=InMemoryOrders(orders),
            # The stand-ins are served by this same event loop, and opening a checkout
            # may call one over HTTP (a WeChat Pay Native order): never block the loop.
            offload_create=True,
            extra_routes=[
                *(Mount(v.mount_path, app=v.app) for v in vendors),
                *shop_routes(
                    Caller(username=CUSTOMER, roles={"CUSTOMER"}),
                    orders,
                    [v.vendor for v in vendors],
                    {v.vendor: v.pay_page for v in vendors if v.pay_page is not None},
                ),
            ],
            background=[_Stopper(v.stop) for v in vendors],
        )
    except BaseException:
        _stop_all(vendors)
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


def banner(base: str, secret: str, vendors: Sequence[DemoVendor], orders: Sequence[Order]) -> str:
    """What the demo prints: where things are, tokens, and commands to paste.

    ``vendors[0]`` is the default vendor; the others are named in a create's body.
    """
    now = time.time()
    customer = issue_token(secret, CUSTOMER, ["CUSTOMER"], lifetime_seconds=TOKEN_LIFETIME, now=now)
    other = _other_customer(orders)
    other_token = issue_token(secret, other, ["CUSTOMER"], lifetime_seconds=TOKEN_LIFETIME, now=now)
    admin = issue_token(secret, ADMIN, ["ADMIN"], lifetime_seconds=TOKEN_LIFETIME, now=now)
    auth_c = '-H "Authorization: Bearer $CUSTOMER_TOKEN"'
    auth_a = '-H "Authorization: Bearer $ADMIN_TOKEN"'
    order_id = _first_payable(orders)
    body = shlex.quote(f'{{"orderId": "{order_id}", "subject": "Green tea"}}')
    listed = "\n".join(f"  {o.id}  {o.total:>8}  {o.status:<8} buyer {o.buyer}" for o in orders)
    notes = "".join(f"  {note}\n" for vendor in vendors for note in vendor.notes)
    names = ", ".join(v.vendor for v in vendors)
    others = "".join(
        f'# to pay with {v.vendor} instead, add "vendor": "{v.vendor}" to the body\n'
        for v in vendors[1:]
    )
    return f"""\
payments demo: nothing configured, nothing to keep. State: ./{DATABASE_FILE} (recreated at each start).
  Shop             {base}/  (pay an order in the browser, as {CUSTOMER})
  API              {base}/api/v1/payments      OpenAPI {base}/openapi.json
  Vendors          {names} (the first is the default)
{notes}Demo orders:
{listed}
Tokens are valid for 24 hours: {CUSTOMER} and {other} have the role CUSTOMER, {ADMIN} the role ADMIN.

# paste into a shell:
export PAYMENTS={base}
export CUSTOMER_TOKEN={customer}
export ADMIN_TOKEN={admin}
export OTHER_CUSTOMER_TOKEN={other_token}

# 1. create the payment of order {order_id} (201, with an orderString)
curl -s -X POST "$PAYMENTS/api/v1/payments" {auth_c} -H 'Content-Type: application/json' -d {body}
{others}# 2. open the orderString in a browser (or its vendor's emulator page) and pay; the emulator notifies the server
# 3. see it CONFIRMED
curl -s "$PAYMENTS/api/v1/payments/1" {auth_c}
# ask the vendor now (true once paid), as the admin
curl -s "$PAYMENTS/api/v1/payments/verify/1" {auth_a}
# a new orderString and checkout window (while unpaid)
curl -s "$PAYMENTS/api/v1/payments/retry/1" {auth_c}
# money taken twice goes back: retry before opening the first orderString, then pay both
# in the browser; the second charge is refunded by itself (kind DUPLICATE)
curl -s "$PAYMENTS/api/v1/payments/1/refunds" {auth_c}
# refund a CONFIRMED payment as the admin (all that is left, or add "amount": 1.00)
curl -s -X POST "$PAYMENTS/api/v1/payments/1/refunds" {auth_a} -H 'Content-Type: application/json' -d '{{"reason": "returned"}}'
# {other} may not see {CUSTOMER}'s payment: 404, as if it did not exist
curl -s "$PAYMENTS/api/v1/payments/1" -H "Authorization: Bearer $OTHER_CUSTOMER_TOKEN"
"""
