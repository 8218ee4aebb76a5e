"""A FastAPI shop that takes payment with ``payments``: its own orders table, its own JWTs.

It shows the ways of embedding side by side (docs/embedding.md):

- the payments app mounted under ``/pay`` (``GET /pay/api/v1/payments/{id}``, retry, ...),
  its background work run by ``payments_lifespan`` in the shop's lifespan;
- the core called from the shop's own handlers: ``POST /shop/orders/{id}/payment`` through
  ``AsyncPaymentService``, answered with ``payment_document`` and ``problem_for``;
- vendor notifications served by the shop's own route, ``/shop/notify/{vendor}``, through
  ``handle_notification_http``, with ``PAYMENTS_NOTIFY_PATH`` naming it for the vendors;
- a ``payments_status_changed`` hook, registered under a stable name, marking orders PAID.

The Alipay emulator stands in for Alipay, mounted under ``/emulator``. Run it with::

    SHOP_JWT_SECRET=... SHOP_PUBLIC_URL=http://127.0.0.1:8000 SHOP_DATA=/tmp/shop \\
        uvicorn shop_app:create_shop_from_env --factory --app-dir examples/fastapi_shop
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from shop_auth import caller_of
from shop_orders import HOOK_NAME, MarkOrdersPaid, OrderTable, ShopOrders

from payments_alipay.emulator import AlipayEmulator
from payments_core import AsyncPaymentService, Caller, Order, PaymentsError, payment_document
from payments_core.background import Sweeper
from payments_core.plugins import make_plugin_manager
from payments_http import JwtAuthenticator, build_service, create_app, payments_lifespan
from payments_http.notify import handle_notification_http
from payments_http.problems import problem_for

NOTIFY_PATH = "/shop/notify/{vendor}"


def current_caller(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    """The shop's own authentication, as a FastAPI dependency."""
    return caller_of(request.app.state.jwt_secret, authorization)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


class _Stopper:
    """Stops the emulator after the payments work that may still call it has stopped."""

    def __init__(self, emulator: AlipayEmulator) -> None:
        self._emulator = emulator

    def start(self) -> None:
        return None

    def stop(self) -> None:
        self._emulator.shutdown()


def create_shop(settings: Mapping[str, str]) -> FastAPI:
    """The shop for ``SHOP_JWT_SECRET``, ``SHOP_PUBLIC_URL`` and ``SHOP_DATA`` (a folder)."""
    secret = settings["SHOP_JWT_SECRET"]
    base = settings["SHOP_PUBLIC_URL"].rstrip("/")
    data = Path(settings["SHOP_DATA"])
    table = OrderTable(data / "shop.db")

    emulator = AlipayEmulator()
    alipay = emulator.merchant_settings(
        app_id="2021000000000001",
        private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        gateway_url=f"{base}/emulator/gateway.do",
    )
    plugins = make_plugin_manager()  # the installed plugins: alipay, sqlstore
    plugins.register(MarkOrdersPaid(table), name=HOOK_NAME)
    service, delivery = build_service(
        {
            "PAYMENTS_DATABASE_URL": f"sqlite:///{data / 'payments.db'}",
            "PAYMENTS_PUBLIC_URL": base,
            "PAYMENTS_NOTIFY_PATH": NOTIFY_PATH,
            "PAYMENTS_VENDOR": "alipay",
            **alipay,
        },
        plugin_manager=plugins,
        orders=ShopOrders(table),
        background_delivery=True,
    )
    assert delivery is not None  # noqa: S101 - asked for above
    payments = create_app(
        service,
        authenticator=JwtAuthenticator.from_secret(secret),
        background=[_Stopper(emulator), delivery, Sweeper(service, 60)],
        notify_path=NOTIFY_PATH,
    )
    core = AsyncPaymentService(service, max_workers=4)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        del app
        # Left in reverse: the sweeper and delivery stop, then the core closes the service.
        async with core, payments_lifespan(payments):
            yield

    shop = FastAPI(title="shop", lifespan=lifespan)
    shop.state.jwt_secret = secret

    @shop.exception_handler(PaymentsError)
    async def payments_error(request: Request, exc: PaymentsError) -> Response:
        del request
        answer = problem_for(exc)
        return JSONResponse(answer.body(), answer.status, dict(answer.headers))

    @shop.post("/shop/orders", status_code=201)
    def place_order(body: dict[str, str], who: CurrentCaller) -> Any:
        try:
            total = Decimal(body["total"])
        except (KeyError, InvalidOperation):
            raise HTTPException(422, "total must be a decimal string") from None
        order = Order(
            id=f"S-{secrets.token_hex(4)}", buyer=who.username, total=total, status="CREATED"
        )
        table.put(order)
        return _order_json(order)

    @shop.get("/shop/orders/{order_id}")
    def get_order(order_id: str, who: CurrentCaller) -> Any:
        order = table.find(order_id)
        if order is None or order.buyer != who.username:
            raise HTTPException(404, "no such order")
        return _order_json(order)

    @shop.post("/shop/orders/{order_id}/payment", status_code=201)
    async def pay_order(order_id: str, who: CurrentCaller) -> Any:
        payment = await core.create(who, order_id=order_id, subject=f"Shop order {order_id}")
        return {"data": payment_document(payment)}  # JSON-native: FastAPI's encoder takes it

    @shop.post(NOTIFY_PATH)
    async def notify(vendor: str, request: Request) -> Response:
        body = await request.body()
        answer = await run_in_threadpool(
            handle_notification_http, service, vendor, body, dict(request.headers)
        )
        return Response(answer.body, answer.status, dict(answer.headers))

    shop.mount("/emulator", emulator.app)
    shop.mount("/pay", payments)
    return shop


def _order_json(order: Order) -> dict[str, str]:
    return {"id": order.id, "buyer": order.buyer, "total": str(order.total), "status": order.status}


def create_shop_from_env() -> FastAPI:
    """``uvicorn --factory`` calls this: the shop for the ``SHOP_*`` environment variables."""
    return create_shop(os.environ)
