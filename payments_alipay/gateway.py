"""AlipayGateway: the core's VendorGateway port on Alipay's Open Platform (RSA2)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from payments_alipay._checkout import check_reference, common_params, order_string
from payments_alipay._response import failure, sub_code, verified_node
from payments_alipay._transport import Timeouts, Transport, make_session
from payments_alipay.notification import read_notification
from payments_alipay.signing import signed_params
from payments_alipay.trade import trade_report
from payments_core.errors import VendorDeclined
from payments_core.values import Checkout, NotificationOutcome, Reply, TradeReport, TradeStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import requests

    from payments_alipay.settings import AlipaySettings
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
    """Page/WAP checkout, trade query and close, and notifications for one Alipay app.

    Keys are parsed once (in ``AlipaySettings``); server calls share one pooled
    ``requests.Session`` with connect/read timeouts and bounded retries on transport
    faults, and ``query`` and ``close`` each end by one deadline (``ALIPAY_TIMEOUT``,
    ``Timeouts.total``) whatever the gateway does. Every gateway answer is
    signature-checked before anything in it is used.
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

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> TradeReport:
        """Verify a notification body exactly as received and report its evidence.

        ``headers`` are not trusted: the Content-Type (Alipay's header has been non-standard); the
        body must be a URL-encoded form in the charset it declares.

        Raises:
            SignatureInvalid: forged, tampered, not RSA2, or for another app_id.
            VendorError: malformed, or missing what its trade status needs.
        """
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

    def _call(self, method: str, reference: str, deadline: float) -> dict[str, object]:
        biz = {"out_trade_no": check_reference(reference)}
        params = common_params(self.settings, method, biz, self._clock())
        pairs = signed_params(params, self.settings.private_key)
        body = self._transport.post(method, pairs, deadline)
        return verified_node(body, method, self.settings.alipay_public_key)
