"""WeChatPayGateway: the core's VendorGateway port on WeChat Pay API v3, Native payment."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from payments_core.errors import VendorDeclined, VendorError, VendorUnavailable
from payments_core.values import (
    Checkout,
    NotificationOutcome,
    RefundReport,
    RefundState,
    Reply,
    TradeReport,
    TradeStatus,
)
from payments_vendorkit.timeouts import Timeouts
from payments_wechatpay import _order
from payments_wechatpay._answers import check_signature, error_code, is_signed, json_object, text
from payments_wechatpay._evidence import refund_report, refused_refund, trade_report
from payments_wechatpay._transport import Answer, Transport, make_session
from payments_wechatpay.crypto import authorization, new_nonce
from payments_wechatpay.notification import read_notification
from payments_wechatpay.settings import VENDOR

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import requests

    from payments_core.money import Money
    from payments_core.values import CheckoutRequest
    from payments_wechatpay.settings import WeChatPaySettings

NOT_FOUND: Final = frozenset({"ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS"})
LATER: Final = frozenset({"SYSTEM_ERROR", "BANK_ERROR", "FREQUENCY_LIMITED", "USER_PAYING"})
PROCESSED: Final = Reply(status=204, body="")
log = logging.getLogger("payments_wechatpay")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _fail(status: int, message: str) -> Reply:
    body = json.dumps({"code": "FAIL", "message": message}, separators=(",", ":"))
    return Reply(status=status, body=body, media_type="application/json")


RESEND: Final = _fail(500, "not processed; send it again")
REFUSED: Final = _fail(400, "refused: the notification did not verify")


class WeChatPayGateway:
    """Native orders, queries, closes, refunds and notifications for one merchant and app.

    Keys are parsed once (in ``WeChatPaySettings``). Calls share one pooled Session
    with timeouts, retries on transport faults only and one deadline per call
    (``WECHATPAY_TIMEOUT``). Every 2xx answer is signature-checked before anything in
    it is used; an error's code is believed without a signature only to fail.
    """

    def __init__(
        self,
        settings: WeChatPaySettings,
        *,
        timeouts: Timeouts | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._transport = Transport(
            session or make_session(),
            settings.gateway_url,
            timeouts or Timeouts(total=settings.timeout),
            self._authorize,
            settings.platform_key_id,
        )

    def __repr__(self) -> str:
        return f"WeChatPayGateway(mchid={self.settings.mchid!r}, gateway={self.settings.gateway_url!r})"

    @property
    def name(self) -> str:
        """``wechatpay``: the name in notify URLs and in ``PAYMENTS_VENDOR``."""
        return VENDOR

    def open_checkout(self, request: CheckoutRequest) -> Checkout:
        """Create the Native order; its ``code_url`` is the order string.

        Raises:
            VendorError: the request cannot be sent, was refused, or the answer is unusable.
            VendorUnavailable: no usable answer in time.
        """
        body, expires = _order.native_order(self.settings, request)
        answer = self._call("POST", _order.NATIVE, body, self._transport.deadline())
        if answer.status != 200:
            raise self._refusal(answer, "native order")
        code_url = text(json_object(answer.body, "answer"), "code_url")
        return Checkout(order_string=code_url, expires_at=expires)

    def query(self, reference: str) -> TradeReport:
        """What WeChat Pay knows of the order; one it never saw is UNPAID.

        Raises:
            VendorUnavailable: no answer in time, 5xx, or asked to try later.
            SignatureInvalid: a 2xx answer's signature does not verify.
            VendorError: a business error or an answer that makes no sense.
        """
        return self._query(reference, self._transport.deadline())

    def _query(self, reference: str, deadline: float) -> TradeReport:
        path = f"{_order.trade_path(reference)}?mchid={self.settings.mchid}"
        answer = self._call("GET", path, b"", deadline)
        if answer.status == 200:
            transaction = json_object(answer.body, "answer")
            return trade_report(transaction, self.settings, reference=reference)
        if self._signed_code(answer) in NOT_FOUND:
            return TradeReport(vendor=VENDOR, reference=reference, status=TradeStatus.UNPAID)
        raise self._refusal(answer, "query")

    def close_attempt(self, reference: str) -> None:
        """Close the order so that its code_url cannot be paid; unknown or closed is fine.

        Raises:
            VendorDeclined: paid meanwhile (``ORDERPAID``) or another refusal.
            VendorUnavailable, SignatureInvalid, VendorError: as for ``query``.
        """
        body = _order.json_bytes({"mchid": self.settings.mchid})
        path = _order.trade_path(reference, close=True)
        answer = self._call("POST", path, body, self._transport.deadline())
        if answer.status == 204:
            return
        code = self._signed_code(answer)
        if code in NOT_FOUND or code == "ORDER_CLOSED":
            return
        raise self._refusal(answer, "close")

    def refund(
        self, reference: str, refund_reference: str, amount: Money, reason: str | None
    ) -> RefundReport:
        """Ask for ``amount`` back from the paid order; the order's total is queried first.

        Raises:
            VendorUnavailable: no answer in time, or WeChat Pay asked to try later.
            VendorError: a reference or amount that cannot be sent, or an unverified answer.
        """
        _order.check_refund_reference(refund_reference)
        deadline = self._transport.deadline()  # one for the refund and the query it needs
        paid = self._query(reference, deadline)
        if paid.status is not TradeStatus.PAID or paid.amount is None:
            return refused_refund(reference, refund_reference, "ORDER_NOT_PAID")
        body = _order.refund_order(
            self.settings, reference, refund_reference, amount, paid.amount, reason
        )
        answer = self._call("POST", _order.REFUNDS, body, deadline)
        if answer.status == 200:
            refund = json_object(answer.body, "answer")
            return refund_report(refund, reference=reference, refund_reference=refund_reference)
        code = self._signed_code(answer)
        if code is None:
            raise self._refusal(answer, "refund")
        return refused_refund(reference, refund_reference, code)

    def query_refund(self, reference: str, refund_reference: str) -> RefundReport:
        """What WeChat Pay knows of one refund; one it never saw is NOT_FOUND.

        Raises: VendorUnavailable, VendorError (as for ``refund``).
        """
        _order.check_reference(reference)
        path = _order.refund_path(refund_reference)
        answer = self._call("GET", path, b"", self._transport.deadline())
        if answer.status == 200:
            refund = json_object(answer.body, "answer")
            return refund_report(refund, reference=reference, refund_reference=refund_reference)
        if self._signed_code(answer) in NOT_FOUND:
            return RefundReport(
                vendor=VENDOR,
                reference=reference,
                refund_reference=refund_reference,
                state=RefundState.NOT_FOUND,
            )
        raise self._refusal(answer, "refund query")

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> TradeReport | RefundReport | None:
        """Verify a notification exactly as received and report its evidence.

        Raises:
            SignatureInvalid: unsigned, forged, stale, undecryptable, or for another merchant.
            VendorError: too large or malformed.
        """
        return read_notification(body, headers, self.settings, self._clock)

    def reply(self, outcome: NotificationOutcome) -> Reply:
        """204 once applied; 500 FAIL to have it resent; 400 FAIL when refused."""
        if outcome is NotificationOutcome.APPLIED:
            return PROCESSED
        return RESEND if outcome is NotificationOutcome.RETRY else REFUSED

    def close(self) -> None:
        """Release pooled connections (the gateway stays usable; the pool refills)."""
        self._transport.close()

    def _authorize(self, method: str, path: str, body: bytes) -> str:
        return authorization(
            self.settings.private_key,
            mchid=self.settings.mchid,
            serial_no=self.settings.cert_serial,
            method=method,
            path=path,
            body=body,
            timestamp=int(self._clock().timestamp()),
            nonce=new_nonce(),
        )

    def _call(self, method: str, path: str, body: bytes, deadline: float) -> Answer:
        """The answer, its signature checked when it is a success.

        Raises:
            VendorUnavailable: no answer, 5xx, or 429.
            SignatureInvalid: a 2xx answer without a valid signature.
        """
        answer = self._transport.send(method, path, body, deadline)
        if answer.status >= 500 or answer.status == 429:
            log.warning("wechatpay %s %s answered HTTP %d", method, path, answer.status)
            raise VendorUnavailable(VENDOR, f"answered HTTP {answer.status}")
        if 200 <= answer.status < 300:
            check_signature(answer.headers, answer.body, self.settings)
        return answer

    def _signed_code(self, answer: Answer) -> str | None:
        """The error code of an answer whose signature verifies, else None."""
        if not is_signed(answer.headers):
            return None
        check_signature(answer.headers, answer.body, self.settings)
        return error_code(answer.body, answer.status)

    def _refusal(self, answer: Answer, call: str) -> VendorError:
        code = error_code(answer.body, answer.status)
        log.warning("wechatpay %s refused: HTTP %d %s", call, answer.status, code)
        if code in LATER or answer.status == 202:
            return VendorUnavailable(VENDOR, f"{code}: try later")
        return VendorDeclined(VENDOR, code, f"WeChat Pay refused the {call}")
