"""AlipayGateway: the core's VendorGateway port on Alipay's Open Platform (RSA2)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from payments_alipay._checkout import check_reference, common_params, order_string
from payments_alipay._response import failure, sub_code, verified_node
from payments_alipay._transport import Timeouts, Transport, make_session
from payments_alipay.notification import read_notification
from payments_alipay.refund import (
    REFUND,
    REFUND_QUERY,
    Ask,
    refund_biz,
    refund_query_report,
    refund_verdict,
)
from payments_alipay.signing import signed_params
from payments_alipay.trade import trade_report
from payments_core.errors import VendorDeclined, VendorUnavailable
from payments_core.values import (
    Checkout,
    NotificationOutcome,
    RefundReport,
    RefundState,
    Reply,
    TradeReport,
    TradeStatus,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import requests

    from payments_alipay.settings import AlipaySettings
    from payments_core.money import Money
    from payments_core.values import CheckoutRequest

VENDOR: Final = "alipay"
QUERY: Final = "alipay.trade.query"
CLOSE: Final = "alipay.trade.close"
NOT_EXIST: Final = "ACQ.TRADE_NOT_EXIST"
STATUS_ERRORS: Final = frozenset(
    {"ACQ.TRADE_STATUS_ERROR", "ACQ.REASON_TRADE_STATUS_INVALID", "ACQ.REASON_ILLEGAL_STATUS"}
)
PROCESSED: Final = Reply(body="success", media_type="text/plain")
RESEND: Final = Reply(body="failure", media_type="text/plain")  # Alipay resends on anything else
log = logging.getLogger("payments_alipay")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AlipayGateway:
    """Page/WAP checkout, trade query and close, refunds, and notifications for one Alipay app.

    Keys are parsed once (in ``AlipaySettings``); server calls share one pooled
    ``requests.Session`` with connect/read timeouts and bounded retries on transport
    faults, and ``query``, ``close``, ``refund`` and ``query_refund`` each end by one
    deadline (``ALIPAY_TIMEOUT``, ``Timeouts.total``) whatever the gateway does. Every
    gateway answer is signature-checked before anything in it is used.
    """

    def __init__(
        self,
        settings: AlipaySettings,
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
        )

    def __repr__(self) -> str:
        return (
            f"AlipayGateway(app_id={self.settings.app_id!r}, gateway={self.settings.gateway_url!r})"
        )

    @property
    def name(self) -> str:
        """``alipay``: the name in notify URLs and in ``PAYMENTS_VENDOR``."""
        return VENDOR

    def open_checkout(self, request: CheckoutRequest) -> Checkout:
        """The signed page (or WAP) pay URL for one attempt; no network call is made.

        Raises:
            VendorError: the reference, amount, currency, subject or expiry cannot be sent.
        """
        url = order_string(self.settings, request, self._clock())
        return Checkout(order_string=url, expires_at=request.expires_at)

    def query(self, reference: str) -> TradeReport:
        """What Alipay knows of the attempt; a trade it never saw is UNPAID.

        Raises:
            VendorUnavailable: no answer in time, HTTP 5xx, or Alipay asked to retry later.
            SignatureInvalid: the answer's signature does not verify.
            VendorError: a business error or an answer that makes no sense.
        """
        return self._query(reference, self._transport.deadline())

    def close_attempt(self, reference: str) -> None:
        """Make the attempt unpayable; an unknown or already closed trade is fine.

        Raises:
            VendorDeclined: the trade was paid meanwhile (or another refusal).
            VendorUnavailable, SignatureInvalid, VendorError: as for ``query``.
        """
        deadline = self._transport.deadline()  # one for the close and the query it may need
        node = self._call(CLOSE, reference, deadline)
        code = sub_code(node)
        if code is None or code == NOT_EXIST:
            return
        if code in STATUS_ERRORS and self._query(reference, deadline).status is TradeStatus.CLOSED:
            return
        if code in STATUS_ERRORS:
            raise VendorDeclined(VENDOR, code, "the trade can no longer be closed")
        raise failure(node, CLOSE)

    def refund(
        self, reference: str, refund_reference: str, amount: Money, reason: str | None
    ) -> RefundReport:
        """Send ``alipay.trade.refund`` with ``out_request_no`` = ``refund_reference``.

        Alipay pays one out_request_no of a trade out once, so sending it again after a
        lost answer is safe. ``fund_change`` Y is SUCCEEDED. Any other success (``N``:
        nothing moved by this call, e.g. it was paid out by an earlier one) is settled by
        the refund query within the same deadline: SUCCEEDED if it reports the refund
        paid, else PENDING (Alipay has it). A refusal by Alipay's business rules
        (``40004``, e.g. ``ACQ.TRADE_STATUS_ERROR``) is FAILED with the sub_code.

        Raises:
            VendorUnavailable: no answer in time, HTTP 5xx, or Alipay asked to send it
                again later (``ACQ.SYSTEM_ERROR``, ``ACQ.SELLER_BALANCE_NOT_ENOUGH``, ...).
            VendorDeclined: Alipay refused the call itself (signature, app id, permission).
            SignatureInvalid: the answer's signature does not verify.
            VendorError: an answer that makes no sense, or a refund that cannot be sent.
        """
        biz = refund_biz(reference, refund_reference, amount, reason)
        deadline = self._transport.deadline()  # one for the refund and the query it may need
        node = self._send(REFUND, biz, deadline)
        verdict = refund_verdict(node, reference, refund_reference, amount)
        if not isinstance(verdict, Ask):
            return verdict
        try:
            found = self._query_refund(reference, refund_reference, deadline)
        except VendorUnavailable:
            if verdict.otherwise.state is RefundState.PENDING:
                return verdict.otherwise  # acknowledged: the sweep asks again
            raise
        return found if found.state is RefundState.SUCCEEDED else verdict.otherwise

    def query_refund(self, reference: str, refund_reference: str) -> RefundReport:
        """Ask ``alipay.trade.fastpay.refund.query`` about one refund of the attempt.

        A refund Alipay has no record of (``10000`` without the refund's number and
        amount, or an unknown trade) is NOT_FOUND.

        Raises: VendorUnavailable, VendorDeclined, SignatureInvalid, VendorError (as for ``refund``).
        """
        return self._query_refund(reference, refund_reference, self._transport.deadline())

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> TradeReport | RefundReport:
        """Verify a notification body exactly as received and report its evidence.

        ``headers`` are not trusted, the Content-Type among them (Alipay's has been
        non-standard); the body must be a URL-encoded form in the charset it declares.
        A notification that names a refund (``out_biz_no``, ``refund_fee``,
        ``gmt_refund``) is a RefundReport, never evidence of a payment.

        Raises:
            SignatureInvalid: forged, tampered, not RSA2, or for another app_id.
            VendorError: malformed, or missing what its trade status or refund needs.
        """
        del headers  # Alipay signs within the body
        return read_notification(body, self.settings)

    def reply(self, outcome: NotificationOutcome) -> Reply:
        """Plain-text ``success`` once applied; ``failure`` otherwise, so Alipay resends."""
        return PROCESSED if outcome is NotificationOutcome.APPLIED else RESEND

    def close(self) -> None:
        """Release pooled connections (the gateway stays usable; the pool refills)."""
        self._transport.close()

    def _query(self, reference: str, deadline: float) -> TradeReport:
        node = self._call(QUERY, reference, deadline)
        code = sub_code(node)
        if code == NOT_EXIST:
            return TradeReport(vendor=VENDOR, reference=reference, status=TradeStatus.UNPAID)
        if code is not None:
            raise failure(node, QUERY)
        return trade_report(node, self.settings, reference=reference)

    def _query_refund(self, reference: str, refund_reference: str, deadline: float) -> RefundReport:
        biz = {
            "out_trade_no": check_reference(reference),
            "out_request_no": check_reference(refund_reference),
        }
        node = self._send(REFUND_QUERY, biz, deadline)
        return refund_query_report(node, reference, refund_reference)

    def _call(self, method: str, reference: str, deadline: float) -> dict[str, object]:
        return self._send(method, {"out_trade_no": check_reference(reference)}, deadline)

    def _send(self, method: str, biz: dict[str, str], deadline: float) -> dict[str, object]:
        params = common_params(self.settings, method, biz, self._clock())
        pairs = signed_params(params, self.settings.private_key)
        body = self._transport.post(method, pairs, deadline)
        return verified_node(body, method, self.settings.alipay_public_key)
