"""The emulator itself: its trades, merchants, keys, queued failures and notifications.

This is what a local Alipay knows and does; the HTTP side (``handlers``, ``control``)
only parses requests into calls on it and renders what it returns.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from payments_alipay.emulator import limits, refunds
from payments_alipay.emulator.app import build_app
from payments_alipay.emulator.faults import FailureQueue
from payments_alipay.emulator.notifier import Notifier, OutgoingNotification
from payments_alipay.emulator.protocol import (
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
from payments_alipay.emulator.trades import Trade, TradeBook, TradeError
from payments_alipay.keys import (
    load_private_key,
    load_public_key,
    private_pem,
    public_base64,
    public_pem,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
    from starlette.applications import Starlette

    from payments_alipay.emulator.refunds import RefundRecord

DEFAULT_SELLER_ID: Final = "2088102100000002"
DEFAULT_BUYER_ID: Final = "2088102100000001"


def utc_now() -> datetime:
    """The emulator's default clock."""
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
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if isinstance(platform_private_key, str):
            platform_private_key = load_private_key(platform_private_key)
        self.platform_private_key = platform_private_key or rsa.generate_private_key(65537, 2048)
        self.seller_id = seller_id
        self.clock = clock
        self.trades = TradeBook(clock, on_close=self._notify)
        self.notifier = Notifier(
            factor=limits.factor(resend_factor, "resend_factor", limits.MAX_RESEND_FACTOR),
            timeout=limits.factor(notify_timeout, "notify_timeout", limits.MAX_NOTIFY_TIMEOUT),
        )
        self._merchants: dict[str, RSAPublicKey] = {}
        self.failures = FailureQueue()
        self._lock = threading.Lock()
        for app_id, key in (merchants or {}).items():
            self.register_merchant(app_id, key)
        self.app: Starlette = build_app(self)

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
        return self.open_page(params).snapshot()

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

    # -- the protocol, as the HTTP handlers call it -------------------------------------

    def open_page(self, params: dict[str, str]) -> Trade:
        """The trade a verified page/WAP pay request opens (created on first sight).

        Raises:
            GatewayError: the request does not verify, or is not a page/WAP pay.
            TradeError: the trade cannot be opened (expired, paid, inconsistent).
        """
        biz = check_request(params, self._merchant_keys())
        if params["method"] not in PAGE_METHODS:
            raise GatewayError("40002", "isv.invalid-method", "not a page or WAP pay method")
        return self.trades.open(params["app_id"], params["method"], params, biz)

    def answer_server_call(self, params: dict[str, str]) -> str:
        """The signed answer body of a query, close, refund or refund query, failures included."""
        try:
            biz = check_request(params, self._merchant_keys())
        except GatewayError as exc:
            node = failure_node(exc.code, exc.sub_code, exc.message)
            return signed_answer(params.get("method"), node, self.platform_private_key)
        method, reference = params["method"], str(biz.get("out_trade_no") or "")
        calls = {
            "alipay.trade.query": self._query,
            "alipay.trade.close": self._close,
            refunds.REFUND: self._refund,
            refunds.REFUND_QUERY: self._query_refund,
        }
        try:
            with self.trades.lock:
                node = calls[method](biz)
        except TradeError as exc:
            extra = {"out_trade_no": reference} if reference else {}
            node = failure_node("40004", exc.sub_code, exc.message, **extra)
        return signed_answer(method, node, self.platform_private_key)

    def return_query(self, trade: Trade) -> str:
        """The signed query string the buyer's browser brings back to ``return_url``."""
        return return_query(trade, self.platform_private_key, self.clock())

    def _merchant_keys(self) -> dict[str, RSAPublicKey]:
        with self._lock:
            return dict(self._merchants)

    def _found(self, biz: Mapping[str, object]) -> Trade:
        trade = self.trades.find(biz)
        if trade is None:
            raise TradeError("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return trade

    def _query(self, biz: Mapping[str, object]) -> dict[str, object]:
        return query_node(self._found(biz))

    def _close(self, biz: Mapping[str, object]) -> dict[str, object]:
        trade = self.trades.close(biz)
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": trade.out_trade_no,
            "trade_no": trade.trade_no,
        }

    def _refund(self, biz: Mapping[str, object]) -> dict[str, object]:
        trade, now = self._found(biz), self.clock()
        record = refunds.refund(trade, biz, now)
        if record is not None:
            self._notify(trade, refund=record)
        return refunds.refund_node(trade, record, now)

    def _query_refund(self, biz: Mapping[str, object]) -> dict[str, object]:
        return refunds.query_node(self.trades.find(biz), biz)

    def _notify(self, trade: Trade, *, refund: RefundRecord | None = None) -> None:
        if not trade.notify_url:
            return
        body = notification_body(trade, self.platform_private_key, self.clock(), refund)
        outgoing = OutgoingNotification(
            url=trade.notify_url, body=body, record=trade.notifications.append
        )
        self.notifier.send(outgoing)


def create_emulator_app(
    *,
    merchants: Mapping[str, RSAPublicKey | str] | None = None,
    platform_private_key: RSAPrivateKey | str | None = None,
    seller_id: str = DEFAULT_SELLER_ID,
    resend_factor: float = 1.0,
    notify_timeout: float = 5.0,
    clock: Callable[[], datetime] = utc_now,
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
