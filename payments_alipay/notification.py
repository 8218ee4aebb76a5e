"""Asynchronous notifications: parse the raw form body once, verify it, and report evidence.

The body is split on ``&`` and ``=`` and each name and value is percent-decoded exactly
once (``+`` is a space) in the charset the body declares. A repeated name is refused,
so no value is ever a list. The Content-Type header is not trusted (Alipay's has been
seen non-standard); the body itself must be a form.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from payments_alipay._form import FormError, decode_form
from payments_alipay.signing import NOTIFICATION_EXCLUDED, canonical_string, verify_rsa2
from payments_alipay.trade import trade_report
from payments_core.errors import SignatureInvalid, VendorError

if TYPE_CHECKING:
    from payments_alipay.settings import AlipaySettings
    from payments_core.values import TradeReport

VENDOR: Final = "alipay"
MAX_BODY: Final = 64 * 1024
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


def read_notification(body: bytes, settings: AlipaySettings) -> TradeReport:
    """Verified evidence from one notification body.

    Raises:
        SignatureInvalid: no or a wrong signature, a sign_type other than RSA2, or an
            app_id other than ours (not addressed to us).
        VendorError: malformed, or a field needed for the report is missing or wrong.
    """
    fields = parse_form(body)
    _verify(fields, settings)
    if fields.get("app_id") != settings.app_id:
        log.warning("alipay notification for another app_id refused")
        raise SignatureInvalid(VENDOR, "the notification is not addressed to this application")
    return trade_report(fields, settings, reference=None)


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
