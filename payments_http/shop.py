"""The demo's shop: the seeded orders with a Pay button, and a page for the result.

Only ``payments serve --demo`` serves it, acting as the demo's customer without a
token: a browser walks order → Pay → the vendor's stand-in → back through the return
handler → the result page, which reads the payment as stored (never the status the
return URL carries).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from payments_core.errors import PaymentExists, PaymentsError
from payments_core.payment import PaymentStatus
from payments_http import wire

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from starlette.requests import Request

    from payments_core.payment import Payment
    from payments_core.services import PaymentService
    from payments_core.values import Caller, Order

RESULT_PATH: Final = "/shop/result"
_PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}
td,th{{padding:.3em .8em;text-align:left}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def shop_routes(
    buyer: Caller,
    orders: Sequence[Order],
    vendors: Sequence[str],
    pay_pages: Mapping[str, Callable[[str], str]] | None = None,
) -> list[Route]:
    """``/``, ``POST /shop/pay`` and ``/shop/result`` for ``buyer``, paying with ``vendors``.

    ``pay_pages`` maps a vendor whose order string is no web page (a code to scan) to
    the page where a browser pays it.

    The routes go beside the payments routes of one app (``create_app``'s
    ``extra_routes``): they use the service that app serves.
    """
    shop = _Shop(buyer, orders, vendors, pay_pages or {})
    return [
        Route("/", shop.index, methods=["GET"]),
        Route("/shop/pay", shop.pay, methods=["POST"]),
        Route(RESULT_PATH, shop.result, methods=["GET"]),
    ]


class _Shop:
    def __init__(
        self,
        buyer: Caller,
        orders: Sequence[Order],
        vendors: Sequence[str],
        pay_pages: Mapping[str, Callable[[str], str]],
    ) -> None:
        self._pay_pages = pay_pages
        self._buyer = buyer
        self._orders = [o for o in orders if o.buyer == buyer.username]
        self._vendors = vendors

    async def index(self, request: Request) -> Response:
        del request
        rows = "".join(self._row(order) for order in self._orders)
        body = (
            f"<p>Signed in as <b>{html.escape(self._buyer.username)}</b>.</p>"
            f"<table><tr><th>order</th><th>total</th><th>status</th><th></th></tr>{rows}</table>"
        )
        return HTMLResponse(_PAGE.format(title="Demo shop", body=body))

    def _row(self, order: Order) -> str:
        oid = html.escape(order.id)
        buttons = "".join(
            f'<form method="post" action="/shop/pay" style="display:inline">'
            f'<input type="hidden" name="order" value="{oid}">'
            f'<button id="pay-{oid}-{html.escape(v)}" name="vendor" value="{html.escape(v)}">'
            f"Pay with {html.escape(v)}</button></form> "
            for v in self._vendors
        )
        action = buttons if order.payable else ""
        return (
            f"<tr><td>{oid}</td><td>{order.total} {html.escape(order.currency)}</td>"
            f"<td>{html.escape(order.status)}</td><td>{action}</td></tr>"
        )

    async def pay(self, request: Request) -> Response:
        form = dict(parse_qsl((await wire.read_body(request, 4096)).decode("utf-8", "replace")))
        order_id = form.get("order", "")
        vendor = form.get("vendor", "")
        if vendor not in self._vendors:
            return _message("Cannot pay", "no such vendor in this shop", 409)
        try:
            payment = await run_in_threadpool(
                self._payment_for, _service(request), order_id, vendor
            )
        except PaymentsError as exc:
            return _message("Cannot pay", exc.message, 409)
        if payment.order_string is None:  # paid already, or nothing payable: show where it is
            return RedirectResponse(f"{RESULT_PATH}?payment={payment.id}", 303)
        page = self._pay_pages.get(payment.vendor)
        return RedirectResponse(page(payment.order_string) if page else payment.order_string, 303)

    def _payment_for(self, service: PaymentService, order_id: str, vendor: str) -> Payment:
        """The order's payment with something to pay: new, or a fresh attempt of the open one.

        An open payment keeps its vendor: paying it again is a new attempt there.
        """
        try:
            subject = f"Order {order_id}"
            return service.create(self._buyer, order_id=order_id, subject=subject, vendor=vendor)
        except PaymentExists as exists:
            payment = service.get(self._buyer, exists.payment_id)
            if payment.status in (PaymentStatus.CONFIRMED, PaymentStatus.INVALID):
                return payment
            return service.retry(self._buyer, exists.payment_id)

    async def result(self, request: Request) -> Response:
        pid = wire.payment_id(request.query_params.get("payment", ""))
        if pid is None:
            return _message("No such payment", "the link names no payment", 404)
        try:
            payment = _service(request).get(self._buyer, pid)
        except PaymentsError as exc:
            return _message("No such payment", exc.message, 404)
        body = (
            f"<p>Order <b>{html.escape(payment.order_id)}</b>, {payment.amount} "
            f'{html.escape(payment.amount.currency)}: <b id="status">{payment.status.value}</b></p>'
            '<p><a href="/">Back to the shop</a></p>'
        )
        return HTMLResponse(_PAGE.format(title=f"Payment {payment.id}", body=body))


def _service(request: Request) -> PaymentService:
    service: PaymentService = request.app.state.payments_service
    return service


def _message(title: str, text: str, status: int) -> Response:
    body = f'<p>{html.escape(text)}</p><p><a href="/">Back to the shop</a></p>'
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status)
