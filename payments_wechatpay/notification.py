"""Notifications: signed headers, a 5-minute window, an encrypted resource, our merchant.

The checks run cheapest first and each refuses on its own: size and headers, the
platform signature over the raw body, the timestamp window, the resource decryption
with the APIv3 key, and the merchant and app the decrypted resource names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Final

from payments_core.errors import SignatureInvalid, VendorError
from payments_wechatpay._answers import check_signature, json_object, member, text
from payments_wechatpay._evidence import refund_report, trade_report
from payments_wechatpay.crypto import ResourceError, decrypt_resource
from payments_wechatpay.settings import VENDOR

if TYPE_CHECKING:
    from payments_core.values import RefundReport, TradeReport
    from payments_wechatpay.settings import WeChatPaySettings

MAX_BODY: Final = 64 * 1024
WINDOW_SECONDS: Final = 300
ALGORITHM: Final = "AEAD_AES_256_GCM"
PAID_EVENT: Final = "TRANSACTION.SUCCESS"
REFUND_EVENTS: Final = frozenset({"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"})
log = logging.getLogger("payments_wechatpay")


def read_notification(
    body: bytes,
    headers: Mapping[str, str],
    settings: WeChatPaySettings,
    clock: Callable[[], datetime],
) -> TradeReport | RefundReport | None:
    """The verified evidence of one notification, or None for news we do not act on.

    Raises:
        SignatureInvalid: unsigned, forged, stale, undecryptable, or for another merchant.
        VendorError: too large or malformed.
    """
    if len(body) > MAX_BODY:
        raise VendorError(VENDOR, "too_large", "the notification is too large")
    timestamp = check_signature(headers, body, settings)
    if abs(clock().timestamp() - timestamp) > WINDOW_SECONDS:
        raise SignatureInvalid(VENDOR, "the notification is more than 5 minutes old or ahead")
    notice = json_object(body, "notification")
    event = text(notice, "event_type")
    if event != PAID_EVENT and event not in REFUND_EVENTS:
        return None
    resource = _decrypted(member(notice, "resource"), settings)
    if resource.get("mchid") != settings.mchid:
        raise SignatureInvalid(VENDOR, "not addressed to this merchant")
    if event in REFUND_EVENTS:
        return refund_report(resource, reference=None, refund_reference=None)
    if resource.get("appid") != settings.appid:
        raise SignatureInvalid(VENDOR, "not addressed to this app")
    if resource.get("trade_state") != "SUCCESS":
        raise VendorError(VENDOR, "malformed", "a TRANSACTION.SUCCESS that is not SUCCESS")
    return trade_report(resource, settings, reference=text(resource, "out_trade_no"))


def _decrypted(resource: Mapping[str, object], settings: WeChatPaySettings) -> dict[str, object]:
    if resource.get("algorithm") != ALGORITHM:
        raise VendorError(VENDOR, "malformed", f"the resource is not {ALGORITHM}")
    associated = resource.get("associated_data", "")
    if not isinstance(associated, str):
        raise VendorError(VENDOR, "malformed", "associated_data is not text")
    try:
        plain = decrypt_resource(
            settings.apiv3_key, text(resource, "ciphertext"), text(resource, "nonce"), associated
        )
    except ResourceError:
        log.warning("wechatpay: a signed notification does not decrypt; check WECHATPAY_APIV3_KEY")
        raise SignatureInvalid(VENDOR, "the resource does not decrypt") from None
    return json_object(plain, "resource")
