"""A local Alipay gateway for development and tests (Starlette).

It speaks the gateway protocol for ``alipay.trade.page.pay``/``wap.pay`` (the buyer's
browser opens the signed URL and gets a cashier page with Pay/Cancel), and for
``alipay.trade.query``/``close`` (signed JSON answers). It checks merchant signatures
with each registered app's public key and signs with its own platform key. After a
payment it POSTs the signed notification to ``notify_url`` and resends on anything but
``success`` on Alipay's schedule times ``resend_factor``. ``time_expire`` is honoured.

Routes (relative to wherever the app is mounted)::

    GET|POST /gateway.do                      the gateway
    POST     /pay/{out_trade_no}              the cashier form (action=pay|cancel)
    GET      /control/trades[/{out_trade_no}] trades with their notification history
    POST     /control/trades/{no}/pay         pay as the buyer; JSON {"total_amount", "seller_id"} optional
    POST     /control/fail-next               JSON {"mode", "count"=1, "seconds"=2, "method"=null}
    POST     /control/reset                   forget trades, pending failures and resends
    GET      /control/keys                    the platform public key (PEM and bare base64)

Fail modes for the next server calls (query/close), answered without processing them:
``timeout`` (no answer for ``seconds``), ``500``, ``html``, ``bad-signature``,
``unsigned``, ``system-error`` (a signed ``ACQ.SYSTEM_ERROR``). The control API has no
authentication: never expose the emulator beyond development. Every count, delay and
size it takes, and everything it keeps, is bounded (``_emulator_limits``).

Run it alone with ``python -m payments_alipay.emulator --port 8765``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, RedirectResponse, Response

from payments_alipay import _emulator_limits as limits
from payments_alipay import _emulator_pages as pages
from payments_alipay._emulator_delivery import Delivery, Notifier
from payments_alipay._emulator_faults import FAIL_MODES as FAIL_MODES  # kept importable here
from payments_alipay._emulator_faults import FailureQueue, failed_answer, json_answer
from payments_alipay._emulator_protocol import (
    PAGE_METHODS,
    GatewayError,
    check_request,
    failure_node,
    notification_body,
    parse_params,
    query_node,
    return_query,
    signed_answer,
)
from payments_alipay._emulator_trades import Trade, TradeBook, TradeError, cst
from payments_alipay.keys import (
    load_private_key,
    load_public_key,
    private_pem,
    public_base64,
    public_pem,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

DEFAULT_SELLER_ID: Final = "2088102100000002"
DEFAULT_BUYER_ID: Final = "2088102100000001"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AlipayEmulator:
    """The emulator's state (trades, merchants, keys, failures) and its ASGI ``app``."""

    def __init__(
        self,
        *,
        merchants: Mapping[str, RSAPublicKey | str] | None = None,
        platform_private_key: RSAPrivateKey | str | None = None,
        seller_id: str = DEFAULT_SELLER_ID,
        resend_factor: float = 1.0,
        notify_timeout: float = 5.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if isinstance(platform_private_key, str):
            platform_private_key = load_private_key(platform_private_key)
        self.platform_private_key = platform_private_key or rsa.generate_private_key(65537, 2048)
        self.seller_id = seller_id
        self.clock = clock
        self.trades = TradeBook(clock)
        self.notifier = Notifier(
            factor=limits.factor(resend_factor, "resend_factor", limits.MAX_RESEND_FACTOR),
            timeout=limits.factor(notify_timeout, "notify_timeout", limits.MAX_NOTIFY_TIMEOUT),
        )
        self._merchants: dict[str, RSAPublicKey] = {}
        self.failures = FailureQueue()
        self._lock = threading.Lock()
        for app_id, key in (merchants or {}).items():
            self.register_merchant(app_id, key)
        self.app = self._build_app()

    @property
    def platform_public_key(self) -> RSAPublicKey:
        """The key merchants verify the emulator's answers and notifications with."""
        return self.platform_private_key.public_key()

    def register_merchant(self, app_id: str, public_key: RSAPublicKey | str) -> None:
        """Accept requests from ``app_id`` signed by the private half of ``public_key``."""
        if isinstance(public_key, str):
            public_key = load_public_key(public_key)
        with self._lock:
            self._merchants[app_id] = public_key

    def trade(self, out_trade_no: str) -> dict[str, object] | None:
        """A snapshot of the trade, or None when the buyer never opened it."""
        with self.trades.lock:
            trade = self.trades.get(out_trade_no)
            return trade.snapshot() if trade else None

    def pay(
        self, out_trade_no: str, *, total_amount: str | None = None, seller_id: str | None = None
    ) -> dict[str, object]:
        """Pay an opened trade as the buyer would, then notify; returns its snapshot.

        ``total_amount`` and ``seller_id`` override what is reported (to fake mismatches).

        Raises:
            TradeError: unknown, closed or expired, or already paid.
        """
        with self.trades.lock:
            trade = self.trades.pay(
                out_trade_no,
                amount=total_amount,
                seller_id=seller_id or self.seller_id,
                buyer_id=DEFAULT_BUYER_ID,
            )
            self._notify(trade)
            return trade.snapshot()

    def open(self, order_string: str) -> dict[str, object]:
        """Open an order string as the buyer's browser would (creates the trade).

        Raises:
            GatewayError: the request does not verify.
            TradeError: the trade cannot be opened (expired, paid, inconsistent).
        """
        parts = urlsplit(order_string)
        params = parse_params([], parts.query.encode("utf-8"))
        return self._open(params).snapshot()

    def fail_next(
        self, mode: str, *, count: int = 1, seconds: float = 2.0, method: str | None = None
    ) -> None:
        """Make the next ``count`` server calls (of ``method``, or any) fail in ``mode``.

        Raises: ValueError, limits.Full (see ``FailureQueue.add``).
        """
        self.failures.add(mode, count=count, seconds=seconds, method=method)

    def reset(self) -> None:
        """Forget every trade, pending failure and notification (merchants and keys stay)."""
        self.failures.clear()
        self.trades.reset()
        self.notifier.clear()

    def shutdown(self) -> None:
        """Stop the notification thread."""
        self.notifier.stop()

    # -- protocol -------------------------------------------------------------------

    def _open(self, params: dict[str, str]) -> Trade:
        with self._lock:
            merchants = dict(self._merchants)
        biz = check_request(params, merchants)
        if params["method"] not in PAGE_METHODS:
            raise GatewayError("40002", "isv.invalid-method", "not a page or WAP pay method")
        return self.trades.open(params["app_id"], params["method"], params, biz)

    def _notify(self, trade: Trade) -> None:
        if not trade.notify_url:
            return
        body = notification_body(trade, self.platform_private_key, self.clock())
        self.notifier.send(
            Delivery(url=trade.notify_url, body=body, record=trade.notifications.append)
        )

    def _server_call(self, params: dict[str, str]) -> tuple[str | None, dict[str, object]]:
        with self._lock:
            merchants = dict(self._merchants)
        try:
            biz = check_request(params, merchants)
        except GatewayError as exc:
            return params.get("method"), failure_node(exc.code, exc.sub_code, exc.message)
        method, reference = params["method"], str(biz.get("out_trade_no") or "")
        try:
            with self.trades.lock:
                if method == "alipay.trade.query":
                    trade = self.trades.get(reference)
                    if trade is None:
                        raise TradeError("ACQ.TRADE_NOT_EXIST", "交易不存在")
                    return method, query_node(trade)
                trade = self.trades.close(reference)
                node: dict[str, object] = {
                    "code": "10000",
                    "msg": "Success",
                    "out_trade_no": reference,
                    "trade_no": trade.trade_no,
                }
                return method, node
        except TradeError as exc:
            return method, failure_node("40004", exc.sub_code, exc.message, out_trade_no=reference)

    # -- HTTP -----------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        from payments_alipay._emulator_routes import routes

        app = Starlette(routes=routes(self))
        app.state.emulator = self
        return app

    async def handle_gateway(self, request: Request) -> Response:
        """``/gateway.do``: page/WAP pay gives HTML, server calls give signed JSON."""
        try:
            body = await limits.read_body(request)
            params = parse_params(request.query_params.multi_items(), body)
        except limits.TooLarge as exc:
            return HTMLResponse(pages.message("Request refused", str(exc)), 413)
        except GatewayError as exc:
            return HTMLResponse(
                pages.message("Request refused", exc.message, code=exc.sub_code), 400
            )
        if params.get("method") in PAGE_METHODS:
            return self._cashier(params)
        failure = self.failures.take(params.get("method", ""))
        if failure is not None:
            return await failed_answer(params, *failure, self.platform_private_key)
        method, node = self._server_call(params)
        return json_answer(signed_answer(method, node, self.platform_private_key))

    def _cashier(self, params: dict[str, str]) -> Response:
        try:
            trade = self._open(params)
        except (GatewayError, TradeError) as exc:
            return HTMLResponse(
                pages.message("Payment refused", exc.message, code=exc.sub_code), 400
            )
        expires = cst(trade.time_expire) if trade.time_expire else None
        return HTMLResponse(pages.cashier(trade, expires))

    async def handle_pay_form(self, request: Request) -> Response:
        """The cashier's Pay/Cancel form."""
        out_trade_no = request.path_params["out_trade_no"]
        try:
            action = parse_params([], await limits.read_body(request)).get("action")
        except (GatewayError, limits.TooLarge):
            action = None  # a cancel: nothing is paid
        trade = self.trades.get(out_trade_no)
        if trade is None:
            return HTMLResponse(
                pages.message("Unknown trade", "no such trade", code="ACQ.TRADE_NOT_EXIST"), 404
            )
        if action != "pay":
            text = "You cancelled; the trade stays open until it expires."
            return HTMLResponse(
                pages.message("Payment cancelled", text, link=trade.quit_url or trade.return_url)
            )
        try:
            self.pay(out_trade_no)
        except TradeError as exc:
            return HTMLResponse(
                pages.message("Payment refused", exc.message, code=exc.sub_code), 409
            )
        if trade.return_url:
            query = return_query(trade, self.platform_private_key, self.clock())
            separator = "&" if "?" in trade.return_url else "?"
            return RedirectResponse(f"{trade.return_url}{separator}{query}", 303)
        return HTMLResponse(pages.message("Payment complete", f"Paid {trade.total_amount} CNY."))

    def merchant_settings(
        self,
        *,
        app_id: str,
        private_key: RSAPrivateKey,
        gateway_url: str,
        seller_id: str | None = None,
    ) -> dict[str, str]:
        """Register the merchant; return its ``ALIPAY_*`` settings for reaching this emulator.

        ``gateway_url`` is where this emulator's ``gateway.do`` is served, e.g.
        ``http://127.0.0.1:8000/emulator/gateway.do`` when mounted under ``/emulator``.
        The private key is returned as PEM text: meant for generated development keys.
        """
        self.register_merchant(app_id, private_key.public_key())
        settings = {
            "ALIPAY_APP_ID": app_id,
            "ALIPAY_PRIVATE_KEY": private_pem(private_key),
            "ALIPAY_PUBLIC_KEY": public_pem(self.platform_public_key),
            "ALIPAY_GATEWAY": gateway_url,
        }
        if seller_id:
            settings["ALIPAY_SELLER_ID"] = seller_id
        return settings

    def keys_view(self) -> dict[str, str]:
        """The platform public key, for ``ALIPAY_PUBLIC_KEY``."""
        key = self.platform_public_key
        return {
            "platform_public_key_pem": public_pem(key),
            "platform_public_key": public_base64(key),
        }


def create_emulator_app(
    *,
    merchants: Mapping[str, RSAPublicKey | str] | None = None,
    platform_private_key: RSAPrivateKey | str | None = None,
    seller_id: str = DEFAULT_SELLER_ID,
    resend_factor: float = 1.0,
    notify_timeout: float = 5.0,
    clock: Callable[[], datetime] = _utc_now,
) -> Starlette:
    """The ASGI app of a new AlipayEmulator, which is kept as ``app.state.emulator``."""
    emulator = AlipayEmulator(
        merchants=merchants,
        platform_private_key=platform_private_key,
        seller_id=seller_id,
        resend_factor=resend_factor,
        notify_timeout=notify_timeout,
        clock=clock,
    )
    return emulator.app


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator standalone (``python -m payments_alipay.emulator --help``)."""
    from payments_alipay._emulator_cli import run

    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())
