"""Request parameters: the common ones, ``biz_content``, and the page/WAP pay order string."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final

from payments_alipay.signing import encode_query, signed_params
from payments_core.errors import VendorError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from payments_alipay.settings import AlipaySettings
    from payments_core.values import CheckoutRequest

VENDOR: Final = "alipay"
CHINA: Final = timezone(timedelta(hours=8), "Asia/Shanghai")  # no DST since 1991
TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
SUBJECT_MAX: Final = 256
BODY_MAX: Final = 128
PRODUCTS: Final = {
    "page": ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"),
    "wap": ("alipay.trade.wap.pay", "QUICK_WAP_WAY"),
}
_REFERENCE: Final = re.compile(r"[0-9A-Za-z_]{1,64}")
# Alipay forbids these three in subject and body; their full-width forms read the same.
FULL_WIDTH: Final = str.maketrans({"&": "\uff06", "=": "\uff1d", "/": "\uff0f"})


def alipay_time(moment: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in China Standard Time, whole seconds (rounded down)."""
    if moment.tzinfo is None:
        raise VendorError(VENDOR, "naive_time", "times must be timezone-aware")
    return moment.astimezone(CHINA).strftime(TIME_FORMAT)


def biz_json(biz: Mapping[str, str]) -> str:
    """``biz_content`` text: compact, sorted keys, UTF-8 kept as is."""
    return json.dumps(biz, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def common_params(
    settings: AlipaySettings, method: str, biz: Mapping[str, str], now: datetime
) -> dict[str, str | None]:
    """Every parameter of one gateway call, before signing; empty ones are dropped later."""
    return {
        "app_id": settings.app_id,
        "method": method,
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": alipay_time(now),
        "version": "1.0",
        "biz_content": biz_json(biz),
    }


def check_reference(reference: str) -> str:
    """An ``out_trade_no``: letters, digits and underscore, 1 to 64 of them.

    Raises:
        VendorError: the reference cannot be an Alipay out_trade_no.
    """
    if not _REFERENCE.fullmatch(reference):
        raise VendorError(
            VENDOR, "invalid_reference", "out_trade_no must be 1-64 letters, digits or _"
        )
    return reference


def cut(text: str, limit: int) -> str:
    """``text`` stripped and cut to at most ``limit`` characters (never inside a character)."""
    return text.strip()[:limit].rstrip()


def customer_text(text: str, limit: int) -> str:
    """Text a customer wrote, as Alipay may take it: cut, and ``& = /`` made full-width.

    Alipay signs raw ``name=value`` pairs joined with ``&``, and echoes ``subject`` and
    ``body`` in its notifications: a customer's ``&`` or ``=`` there would let the
    signed text be read as other fields (docs/alipay.md, "Unambiguous evidence"). The
    stored payment keeps what the customer wrote; only what Alipay sees is changed.
    """
    return cut(text, limit).translate(FULL_WIDTH)


def pay_biz(request: CheckoutRequest, product_code: str) -> dict[str, str]:
    """The ``biz_content`` of page or WAP pay for one attempt."""
    if request.amount.currency != "CNY":
        raise VendorError(VENDOR, "currency_not_supported", "Alipay takes CNY only")
    subject = customer_text(request.subject, SUBJECT_MAX)
    if not subject:
        raise VendorError(VENDOR, "invalid_subject", "the subject is empty")
    biz = {
        "out_trade_no": check_reference(request.reference),
        "product_code": product_code,
        "subject": subject,
        "total_amount": f"{request.amount.to_decimal():.2f}",
        "time_expire": alipay_time(request.expires_at),
    }
    body = customer_text(request.description or "", BODY_MAX)
    if body:
        biz["body"] = body
    return biz


def order_string(settings: AlipaySettings, request: CheckoutRequest, now: datetime) -> str:
    """The signed GET URL the buyer's browser opens to pay this attempt."""
    method, product_code = PRODUCTS[settings.product]
    params = common_params(settings, method, pay_biz(request, product_code), now)
    params["notify_url"] = settings.notify_url
    params["return_url"] = settings.return_url
    query = encode_query(signed_params(params, settings.private_key))
    separator = "&" if "?" in settings.gateway_url else "?"
    return f"{settings.gateway_url}{separator}{query}"
