"""Reading the JSON fields of a merchant's request by WeChat Pay's rules (``PARAM_ERROR`` otherwise)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from payments_wechatpay.emulator.errors import WeChatError

if TYPE_CHECKING:
    from collections.abc import Mapping

CHINA: Final = timezone(timedelta(hours=8), "Asia/Shanghai")
MAX_FEN: Final = 10_000_000_000  # 100 000 000.00 CNY, the most one payment may be here
OUT_TRADE_NO: Final = re.compile(r"[0-9A-Za-z_\-|*]{6,32}", re.ASCII)
OUT_REFUND_NO: Final = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}", re.ASCII)
_RFC3339: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}:\d{2}|Z)", re.ASCII
)


def rfc3339(moment: datetime) -> str:
    """WeChat Pay's time format, in China Standard Time: ``2026-11-30T08:15:00+08:00``."""
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


def json_object(raw: bytes) -> dict[str, object]:
    """The request body as a JSON object.

    Raises:
        WeChatError: PARAM_ERROR when it is not a UTF-8 JSON object.
    """
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WeChatError("PARAM_ERROR", "the body is not a JSON object") from None
    if not isinstance(value, dict):
        raise WeChatError("PARAM_ERROR", "the body is not a JSON object")
    return value


def text(body: Mapping[str, object], name: str, high: int, *, required: bool = True) -> str | None:
    """A string field of 1 to ``high`` characters (None when absent and not ``required``).

    Raises:
        WeChatError: PARAM_ERROR naming the field.
    """
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= high:
        raise WeChatError("PARAM_ERROR", f"{name} must be a string of 1 to {high} characters")
    return value


def matching(body: Mapping[str, object], name: str, pattern: re.Pattern[str]) -> str:
    """A string field that matches ``pattern`` in full.

    Raises:
        WeChatError: PARAM_ERROR naming the field.
    """
    value = body.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise WeChatError("PARAM_ERROR", f"{name} is malformed")
    return value


def fen(body: Mapping[str, object], name: str) -> int:
    """An amount in fen: a JSON whole number from 1 to ``MAX_FEN``.

    Raises:
        WeChatError: PARAM_ERROR naming the field.
    """
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_FEN:
        raise WeChatError("PARAM_ERROR", f"amount.{name} must be a whole number of fen > 0")
    return value


def amount(body: Mapping[str, object]) -> Mapping[str, object]:
    """The ``amount`` object, whose ``currency`` is absent or ``CNY``.

    Raises:
        WeChatError: PARAM_ERROR.
    """
    value = body.get("amount")
    if not isinstance(value, dict):
        raise WeChatError("PARAM_ERROR", "amount must be an object")
    if value.get("currency", "CNY") != "CNY":
        raise WeChatError("PARAM_ERROR", "amount.currency must be CNY")
    return value


def notify_url(body: Mapping[str, object], *, required: bool) -> str | None:
    """An absolute http(s) URL of at most 256 characters, without a query (WeChat Pay's rule).

    Raises:
        WeChatError: PARAM_ERROR.
    """
    url = text(body, "notify_url", 256, required=required)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise WeChatError("PARAM_ERROR", "notify_url must be an http(s) URL without parameters")
    return url


def time_expire(body: Mapping[str, object], now: datetime) -> datetime | None:
    """``time_expire`` (RFC 3339 with an offset), later than ``now``, or None when absent.

    Raises:
        WeChatError: PARAM_ERROR when malformed or already past.
    """
    value = body.get("time_expire")
    if value is None:
        return None
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise WeChatError(
            "PARAM_ERROR", "time_expire must be RFC 3339, e.g. 2026-01-02T15:04:05+08:00"
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise WeChatError("PARAM_ERROR", "time_expire is not a valid time") from None
    if moment <= now:
        raise WeChatError("PARAM_ERROR", "time_expire has already passed")
    return moment
