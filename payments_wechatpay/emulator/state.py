"""The emulator itself: its merchants, keys, transactions, refunds, queued failures and notifications.

This is what a local WeChat Pay knows and does; the HTTP side (``handlers``, ``control``,
``pages``) only parses requests into calls on it and renders what it returns.
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from cryptography.hazmat.primitives.asymmetric import rsa

from payments_vendorkit.emulation import limits
from payments_vendorkit.emulation.faults import FailureQueue
from payments_vendorkit.emulation.notifier import Notifier, OutgoingNotification
from payments_vendorkit.emulation.web import build_app
from payments_vendorkit.keys import private_pem, public_pem
from payments_wechatpay.emulator import fields, forgeries
from payments_wechatpay.emulator.errors import WeChatError
from payments_wechatpay.emulator.protocol import Merchant, Platform, new_key_id, notification_body
from payments_wechatpay.emulator.routes import routes
from payments_wechatpay.emulator.transactions import Book, Order, Refund, Transaction

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
    from starlette.applications import Starlette

# WeChat Pay resends a notification it was not answered 2xx for after these gaps:
# 15 s, 15 s, 30 s, 3 min, 10 min, 20 min, 30 min, 30 min, 30 min, 60 min, 3 h, 3 h, 3 h, 6 h, 6 h.
RESEND_GAPS: Final = (15.0, 15.0, 30.0, 180.0, 600.0, 1200.0, 1800.0, 1800.0, 1800.0, 3600.0,
                      10800.0, 10800.0, 10800.0, 21600.0, 21600.0)  # fmt: skip
SERVER_METHODS: Final = frozenset({"native", "query", "close", "refund", "refund-query"})
FAIL_MODES: Final = frozenset(
    {
        "timeout",
        "500",
        "html",
        "garbage",
        "bad-signature",
        "unsigned",
        "unknown-key",
        "system-error",
        "not-enough",
        "frequency-limited",
    }
)
REFUND_MODES: Final = frozenset({"SUCCESS", "PROCESSING"})
_JSON: Final = {"Content-Type": "application/json"}


def utc_now() -> datetime:
    """The emulator's default clock."""
    return datetime.now(UTC)


def answered_2xx(status: int, text: str) -> bool:
    """Whether the merchant took a notification: WeChat Pay wants any 2xx (200 or 204)."""
    del text  # the body of a 2xx answer does not matter
    return 200 <= status < 300


class WeChatPayEmulator:
    """The emulator's state and its ASGI ``app``."""

    def __init__(
        self,
        *,
        platform_private_key: RSAPrivateKey | None = None,
        platform_key_id: str | None = None,
        resend_factor: float = 1.0,
        notify_timeout: float = 5.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.platform = Platform(
            private_key=platform_private_key or rsa.generate_private_key(65537, 2048),
            key_id=platform_key_id or new_key_id(),
        )
        self.clock = clock
        self.book = Book(clock)
        self.notifier = Notifier(
            gaps=RESEND_GAPS,
            accepted=answered_2xx,
            factor=limits.factor(resend_factor, "resend_factor", limits.MAX_RESEND_FACTOR),
            timeout=limits.factor(notify_timeout, "notify_timeout", limits.MAX_NOTIFY_TIMEOUT),
            name="wechatpay-emulator-notifier",
        )
        self.failures = FailureQueue(modes=FAIL_MODES, methods=SERVER_METHODS)
        self.refund_mode = "SUCCESS"
        self._merchants: dict[str, Merchant] = {}
        self._stranger: Platform | None = None
        self._lock = threading.Lock()
        self.app: Starlette = build_app(routes(self), self)

    def stranger(self) -> Platform:
        """A key of no platform the merchants know, made once (forged answers and notifications)."""
        with self._lock:
            if self._stranger is None:
                self._stranger = forgeries.stranger()
            return self._stranger

    @property
    def platform_public_key(self) -> RSAPublicKey:
        """The key merchants verify the emulator's answers and notifications with."""
        return self.platform.private_key.public_key()

    # -- merchants -------------------------------------------------------------------

    def register_merchant(
        self,
        mchid: str,
        public_key: RSAPublicKey,
        *,
        serial_no: str,
        appids: Iterable[str],
        apiv3_key: bytes,
    ) -> Merchant:
        """Accept requests from ``mchid`` signed by the private half of ``public_key``.

        Raises:
            ValueError: ``apiv3_key`` is not 32 bytes.
        """
        if len(apiv3_key) != 32:
            raise ValueError("the APIv3 key must be 32 bytes")
        merchant = Merchant(
            mchid=mchid,
            public_key=public_key,
            serial_no=serial_no,
            appids=frozenset(appids),
            apiv3_key=apiv3_key,
        )
        with self._lock:
            self._merchants[mchid] = merchant
        return merchant

    def merchants(self) -> dict[str, Merchant]:
        """The registered merchants by mchid."""
        with self._lock:
            return dict(self._merchants)

    def merchant_settings(
        self, *, mchid: str, appid: str, private_key: RSAPrivateKey, gateway_url: str
    ) -> dict[str, str]:
        """Register a merchant with a fresh serial and APIv3 key; return its ``WECHATPAY_*`` settings.

        ``gateway_url`` is where this emulator is served (``WECHATPAY_GATEWAY``), e.g.
        ``http://127.0.0.1:8000/wechatpay`` when mounted under ``/wechatpay``. The
        private key is returned as PEM text: meant for generated development keys.
        """
        serial_no = secrets.token_hex(20).upper()
        apiv3_key = secrets.token_hex(16)  # 32 ASCII characters, as the merchant platform takes
        self.register_merchant(
            mchid,
            private_key.public_key(),
            serial_no=serial_no,
            appids=[appid],
            apiv3_key=apiv3_key.encode("ascii"),
        )
        return {
            "WECHATPAY_MCHID": mchid,
            "WECHATPAY_APPID": appid,
            "WECHATPAY_PRIVATE_KEY": private_pem(private_key),
            "WECHATPAY_CERT_SERIAL": serial_no,
            "WECHATPAY_PUBLIC_KEY": public_pem(self.platform_public_key),
            "WECHATPAY_PUBLIC_KEY_ID": self.platform.key_id,
            "WECHATPAY_APIV3_KEY": apiv3_key,
            "WECHATPAY_GATEWAY": gateway_url,
        }

    def keys_view(self) -> dict[str, str]:
        """The platform public key and its id, for ``WECHATPAY_PUBLIC_KEY(_ID)``."""
        return {
            "platform_public_key_pem": public_pem(self.platform_public_key),
            "platform_public_key_id": self.platform.key_id,
        }

    # -- the API, as the handlers call it once the merchant is authenticated ----------

    def native(self, merchant: Merchant, body: Mapping[str, object]) -> Transaction:
        """The transaction a Native order opens (the same one for the same order again).

        Raises:
            WeChatError: invalid fields, another merchant's app, or the number is taken.
        """
        if body.get("mchid") != merchant.mchid:
            raise WeChatError("PARAM_ERROR", "mchid must be the mchid of the Authorization")
        appid = fields.text(body, "appid", 32)
        if appid not in merchant.appids:
            raise WeChatError(
                "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配 (appid and mchid do not match)"
            )
        order = Order(
            mchid=merchant.mchid,
            appid=str(appid),
            out_trade_no=fields.matching(body, "out_trade_no", fields.OUT_TRADE_NO),
            description=str(fields.text(body, "description", 127)),
            total=fields.fen(fields.amount(body), "total"),
            notify_url=str(fields.notify_url(body, required=True)),
            attach=fields.text(body, "attach", 128, required=False),
            time_expire=fields.time_expire(body, self.clock()),
        )
        return self.book.order(order)

    def query(self, merchant: Merchant, out_trade_no: str, mchid: str | None) -> dict[str, object]:
        """The merchant's transaction as a query answers it.

        Raises:
            WeChatError: PARAM_ERROR (``mchid`` not the merchant's), ORDER_NOT_EXIST.
        """
        if mchid != merchant.mchid:
            raise WeChatError(
                "PARAM_ERROR", "the query's mchid must be the mchid of the Authorization"
            )
        with self.book.lock:
            return self.book.owned(merchant.mchid, out_trade_no).resource()

    def close(self, merchant: Merchant, out_trade_no: str, body: Mapping[str, object]) -> None:
        """Close the merchant's unpaid transaction.

        Raises:
            WeChatError: PARAM_ERROR, ORDERPAID (an unknown order closes quietly, as at WeChat Pay).
        """
        if body.get("mchid") != merchant.mchid:
            raise WeChatError("PARAM_ERROR", "mchid must be the mchid of the Authorization")
        self.book.close(merchant.mchid, out_trade_no)

    def refund(self, merchant: Merchant, body: Mapping[str, object]) -> dict[str, object]:
        """Refund part or all of a paid transaction; the same ``out_refund_no`` is the same refund.

        Raises:
            WeChatError: PARAM_ERROR, RESOURCE_NOT_EXISTS, INVALID_REQUEST.
        """
        out_refund_no = fields.matching(body, "out_refund_no", fields.OUT_REFUND_NO)
        amount = fields.amount(body)
        refund, total = fields.fen(amount, "refund"), fields.fen(amount, "total")
        reason = fields.text(body, "reason", 80, required=False)
        notify_url = fields.notify_url(body, required=False)
        with self.book.lock:
            trade = self._refunded_trade(merchant, body)
            created, new = self.book.add_refund(
                trade, out_refund_no, refund, total, reason=reason, notify_url=notify_url
            )
            if new and self.refund_mode == "SUCCESS":
                self._settle(created, "SUCCESS")
            return created.resource()

    def _refunded_trade(self, merchant: Merchant, body: Mapping[str, object]) -> Transaction:
        missing = WeChatError("RESOURCE_NOT_EXISTS", "订单不存在 (no such order)")
        if "transaction_id" in body:
            transaction_id = fields.text(body, "transaction_id", 32)
            found = [t for t in self.book.all() if t.transaction_id == transaction_id]
            if not found or found[0].mchid != merchant.mchid:
                raise missing
            return found[0]
        out_trade_no = fields.matching(body, "out_trade_no", fields.OUT_TRADE_NO)
        trade = self.book.get(out_trade_no)
        if trade is None or trade.mchid != merchant.mchid:
            raise missing
        return trade

    def refund_query(self, merchant: Merchant, out_refund_no: str) -> dict[str, object]:
        """The merchant's refund.

        Raises:
            WeChatError: RESOURCE_NOT_EXISTS.
        """
        with self.book.lock:
            refund = self.book.refund(out_refund_no)
            if refund is None or refund.mchid != merchant.mchid:
                raise WeChatError("RESOURCE_NOT_EXISTS", "退款单不存在 (no such refund)")
            return refund.resource()

    # -- what the buyer and the control API do ---------------------------------------

    def transaction(self, out_trade_no: str) -> dict[str, object] | None:
        """A snapshot of the transaction, or None."""
        with self.book.lock:
            trade = self.book.get(out_trade_no)
            return trade.snapshot() if trade else None

    def pay(
        self,
        out_trade_no: str,
        *,
        payer_total: int | None = None,
        mchid: str | None = None,
        appid: str | None = None,
        notification: str | None = None,
    ) -> dict[str, object]:
        """Pay as the buyer would, then notify; returns the snapshot.

        ``payer_total``, ``mchid`` and ``appid`` override what is reported (to fake
        mismatches); ``notification`` sends it forged (``forgeries.NOTIFICATION_FORGERIES``).

        Raises:
            ValueError: an unknown ``notification``.
            WeChatError: unknown, closed or expired, or already paid.
        """
        forgeries.check(notification)
        with self.book.lock:
            trade = self.book.pay(out_trade_no, payer_total=payer_total)
            trade.reported_mchid, trade.reported_appid = mchid, appid
            self._notify(
                trade.mchid,
                trade.notify_url,
                "TRANSACTION.SUCCESS",
                trade.resource(),
                "transaction",
                trade.notifications.append,
                forgery=notification,
            )
            return trade.snapshot()

    def finish_refund(self, out_refund_no: str, status: str) -> dict[str, object]:
        """Settle a ``PROCESSING`` refund (SUCCESS, CLOSED or ABNORMAL), then notify.

        Raises:
            WeChatError: unknown, not processing, or a bad status.
        """
        with self.book.lock:
            refund = self.book.refund(out_refund_no)
            if refund is None:
                raise WeChatError("RESOURCE_NOT_EXISTS", "退款单不存在 (no such refund)")
            self._settle(refund, status)
            return refund.snapshot()

    def set_refund_mode(self, mode: str) -> None:
        """Whether new refunds succeed at once (``SUCCESS``) or stay ``PROCESSING``.

        Raises:
            ValueError: another mode.
        """
        if mode not in REFUND_MODES:
            raise ValueError("mode must be SUCCESS or PROCESSING")
        self.refund_mode = mode

    def _settle(self, refund: Refund, status: str) -> None:
        self.book.finish_refund(refund.out_refund_no, status)
        self._notify(
            refund.mchid,
            refund.notify_url or refund.transaction.notify_url,
            f"REFUND.{status}",
            refund.notification_resource(),
            "refund",
            refund.notifications.append,
        )

    def fail_next(
        self, mode: str, *, count: int = 1, seconds: float = 2.0, method: str | None = None
    ) -> None:
        """Make the next ``count`` API calls (of ``method``, or any) fail in ``mode``.

        Raises: ValueError, limits.Full (see ``FailureQueue.add``).
        """
        self.failures.add(mode, count=count, seconds=seconds, method=method)

    def reset(self) -> None:
        """Forget transactions, refunds, pending failures and resends (merchants and keys stay)."""
        self.failures.clear()
        self.book.reset()
        self.notifier.clear()
        self.refund_mode = "SUCCESS"

    def shutdown(self) -> None:
        """Stop the notification thread."""
        self.notifier.stop()

    def _notify(
        self,
        mchid: str,
        url: str,
        event_type: str,
        resource: Mapping[str, object],
        original_type: str,
        record: Callable[[dict[str, object]], None],
        *,
        forgery: str | None = None,
    ) -> None:
        key = forgeries.apiv3_key(forgery, self.merchants()[mchid].apiv3_key)
        body = notification_body(event_type, resource, original_type, key, self.clock())
        sign = forgeries.signer(forgery, self.platform, self.stranger)
        outgoing = OutgoingNotification(url=url, body=body, headers=_JSON, sign=sign, record=record)
        self.notifier.send(outgoing)
