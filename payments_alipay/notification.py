"""Asynchronous notifications: parse the raw form body once, verify it, and report evidence.

The body is split on ``&`` and ``=`` and each name and value is percent-decoded exactly
once (``+`` is a space) in the charset the body declares. A repeated name is refused,
so no value is ever a list. The Content-Type header is not trusted (Alipay's has been
seen non-standard); the body itself must be a form.

Alipay signs the fields as raw ``name=value`` pairs joined with ``&``, so one signed
text can be cut into fields in more than one way. A notification is believed only when
its cut is the only one possible: every name is a plain name and no value holds ``&``
followed by a name and ``=`` (docs/alipay.md, "Unambiguous evidence").
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Final

from payments_alipay._form import FormError, decode_form
from payments_alipay.refund import is_refund_notification, refund_notification_report
from payments_alipay.signing import NOTIFICATION_EXCLUDED, canonical_string, verify_rsa2
from payments_alipay.trade import trade_report
from payments_core.errors import SignatureInvalid, VendorError

if TYPE_CHECKING:
    from payments_alipay.settings import AlipaySettings
    from payments_core.values import RefundReport, TradeReport

VENDOR: Final = "alipay"
MAX_BODY: Final = 64 * 1024
NOTIFY_TYPE: Final = "trade_status_sync"  # the only type that reports a trade's status
_NAMES: Final = re.compile(r"[A-Za-z0-9_]+(?:\x00[A-Za-z0-9_]+)*")  # parse_form refuses NULs
_ALIPAY_NAMES: Final = (  # what Alipay sends (protocol notes 8.2): plain names, looked up fast
    "notify_time notify_type notify_id app_id auth_app_id charset version sign_type sign"
    " trade_no out_trade_no out_biz_no buyer_id buyer_open_id buyer_logon_id seller_id"
    " seller_email trade_status total_amount receipt_amount invoice_amount buyer_pay_amount"
    " point_amount refund_fee subject body passback_params gmt_create gmt_payment gmt_refund"
    " gmt_close fund_bill_list voucher_detail_list merchant_app_id"
)
_KNOWN_NAMES: Final = frozenset(_ALIPAY_NAMES.split())
_FIELD_START: Final = re.compile(r"&[A-Za-z0-9_]+=")  # where a value could begin a field
log = logging.getLogger("payments_alipay")


def parse_form(body: bytes) -> dict[str, str]:
    """The form fields of ``body``, decoded once in the charset the body names.

    Raises:
        VendorError: not a form, a repeated field, or bytes invalid in the charset.
    """
    if len(body) > MAX_BODY:
        raise VendorError(VENDOR, "malformed_notification", "the body is too large")
    try:
        return decode_form(body)
    except FormError as exc:
        raise VendorError(VENDOR, "malformed_notification", str(exc)) from None


def read_notification(body: bytes, settings: AlipaySettings) -> TradeReport | RefundReport:
    """Verified evidence from one notification body: about a refund when it names one
    (``out_biz_no``, ``refund_fee`` or ``gmt_refund``), else about the trade's payment.

    Raises:
        SignatureInvalid: no or a wrong signature, a sign_type other than RSA2, a signed
            text that reads as other fields too, or an app_id other than ours.
        VendorError: malformed, not a trade_status_sync notification, or a field needed
            for the report is missing or wrong.
    """
    fields = parse_form(body)
    _check_one_reading(fields)
    _verify(fields, settings)
    if fields.get("app_id") != settings.app_id:
        log.warning("alipay notification for another app_id refused")
        raise SignatureInvalid(VENDOR, "the notification is not addressed to this application")
    if fields.get("notify_type") != NOTIFY_TYPE:
        log.warning("alipay notification of another notify_type refused")
        raise VendorError(VENDOR, "wrong_notify_type", f"notify_type is not {NOTIFY_TYPE}")
    if is_refund_notification(fields):
        return refund_notification_report(fields, settings)
    return trade_report(fields, settings, reference=None)


def _check_one_reading(fields: dict[str, str]) -> None:
    """Refuse fields whose signed text could also be cut into other fields.

    Cut anywhere else, the text would put ``&name=`` inside some value; with plain
    names and no such value, the received cut is the only one. Genuine notifications
    pass: Alipay's names are plain and it forbids ``&`` and ``=`` in subject and body.
    """
    plain = fields.keys() <= _KNOWN_NAMES or _NAMES.fullmatch("\x00".join(fields))
    if not plain or (
        "&" in "".join(fields.values())
        and any(_FIELD_START.search(value) for value in fields.values())
    ):
        log.warning("alipay notification that reads more than one way refused")
        raise SignatureInvalid(VENDOR, "the signed text can be read more than one way")


def _verify(fields: dict[str, str], settings: AlipaySettings) -> None:
    sign = fields.get("sign", "")
    if not sign:
        raise SignatureInvalid(VENDOR, "the notification is not signed")
    if fields.get("sign_type", "RSA2") != "RSA2":
        raise SignatureInvalid(VENDOR, "the notification is not signed with RSA2")
    content = canonical_string(fields, NOTIFICATION_EXCLUDED)
    if not verify_rsa2(settings.alipay_public_key, content, sign):
        log.warning("alipay notification failed signature verification")
        raise SignatureInvalid(VENDOR)
