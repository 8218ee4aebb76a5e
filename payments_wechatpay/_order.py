"""What a Native order, a query, a close and a refund send: paths, bodies, and their rules."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from payments_core.errors import VendorError
from payments_wechatpay.settings import VENDOR

if TYPE_CHECKING:
    from payments_core.money import Money
    from payments_core.values import CheckoutRequest
    from payments_wechatpay.settings import WeChatPaySettings

NATIVE: Final = "/v3/pay/transactions/native"
REFUNDS: Final = "/v3/refund/domestic/refunds"
CHINA: Final = timezone(timedelta(hours=8), "CST")
DESCRIPTION_BYTES: Final = 127
REASON_BYTES: Final = 80
_OUT_TRADE_NO: Final = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
_OUT_REFUND_NO: Final = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")


def check_reference(reference: str) -> str:
    """``reference`` if it can be an ``out_trade_no``: 6 to 32 of ``0-9 A-Z a-z _ - | *``.

    Raises:
        VendorError: it cannot.
    """
    if not _OUT_TRADE_NO.fullmatch(reference):
        raise VendorError(
            VENDOR, "invalid_reference", "an out_trade_no is 6 to 32 of 0-9 A-Z a-z _ - | *"
        )
    return reference


def check_refund_reference(refund_reference: str) -> str:
    """``refund_reference`` if it can be an ``out_refund_no``. Raises: VendorError."""
    if not _OUT_REFUND_NO.fullmatch(refund_reference):
        raise VendorError(
            VENDOR, "invalid_reference", "an out_refund_no is 1 to 64 of 0-9 A-Z a-z _ - | * @"
        )
    return refund_reference


def trade_path(reference: str, *, close: bool = False) -> str:
    """The query (with ``?mchid=`` to add) or close path of one ``out_trade_no``."""
    path = "/v3/pay/transactions/out-trade-no/" + quote(check_reference(reference), safe="")
    return path + "/close" if close else path


def refund_path(refund_reference: str) -> str:
    """The refund query path of one ``out_refund_no``."""
    return f"{REFUNDS}/{quote(check_refund_reference(refund_reference), safe='')}"


def wechat_time(moment: datetime) -> datetime:
    """``moment`` in China Standard Time, whole seconds (never later than ``moment``).

    Raises:
        VendorError: a naive time.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise VendorError(VENDOR, "naive_time", "times must be timezone-aware")
    return moment.astimezone(CHINA).replace(microsecond=0)


def cut_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character.

    Raises:
        VendorError: the text holds a lone surrogate (it has no UTF-8 form).
    """
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        raise VendorError(VENDOR, "invalid_text", "the text is not valid Unicode") from None
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", errors="ignore")


def fen(amount: Money) -> int:
    """``amount`` as an integer number of fen. Raises: VendorError (not CNY, or zero)."""
    if amount.currency != "CNY":
        raise VendorError(VENDOR, "currency_not_supported", "WeChat Pay Native takes CNY only")
    if amount.minor <= 0:
        raise VendorError(VENDOR, "invalid_amount", "the amount must be above zero")
    return amount.minor


def json_bytes(value: object) -> bytes:
    """Compact UTF-8 JSON, the exact bytes that are signed and sent."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def native_order(settings: WeChatPaySettings, request: CheckoutRequest) -> tuple[bytes, datetime]:
    """The Native order body, and the expiry it states (whole seconds).

    Raises:
        VendorError: the reference, amount, currency, subject or expiry cannot be sent.
    """
    description = cut_utf8(request.subject.strip(), DESCRIPTION_BYTES)
    if not description:
        raise VendorError(VENDOR, "invalid_subject", "the subject is empty")
    expires = wechat_time(request.expires_at)
    body = {
        "appid": settings.appid,
        "mchid": settings.mchid,
        "description": description,
        "out_trade_no": check_reference(request.reference),
        "time_expire": expires.isoformat(),
        "notify_url": settings.notify_url,
        "amount": {"total": fen(request.amount), "currency": "CNY"},
    }
    return json_bytes(body), expires


def refund_order(
    settings: WeChatPaySettings,
    reference: str,
    refund_reference: str,
    amount: Money,
    total: Money,
    reason: str | None,
) -> bytes:
    """The refund body: ``amount`` back from the order ``reference`` of ``total``.

    Raises:
        VendorError: a reference or amount that cannot be sent.
    """
    body: dict[str, object] = {
        "out_trade_no": check_reference(reference),
        "out_refund_no": check_refund_reference(refund_reference),
        "notify_url": settings.notify_url,
        "amount": {"refund": fen(amount), "total": fen(total), "currency": "CNY"},
    }
    cut = cut_utf8((reason or "").strip(), REASON_BYTES)
    if cut:
        body["reason"] = cut
    return json_bytes(body)
