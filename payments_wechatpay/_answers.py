"""Reading what WeChat Pay sends: signed headers, JSON objects, fields, amounts in fen."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from payments_core.errors import SignatureInvalid, VendorError
from payments_core.money import Money
from payments_wechatpay.crypto import SCHEME, verify_response
from payments_wechatpay.settings import VENDOR

if TYPE_CHECKING:
    from payments_wechatpay.settings import WeChatPaySettings

SIGNATURE_HEADERS: Final = (
    "wechatpay-signature",
    "wechatpay-timestamp",
    "wechatpay-nonce",
    "wechatpay-serial",
)
_MAX_TIMESTAMP_DIGITS: Final = 12
_CODE: Final = re.compile(r"[A-Z0-9_]{1,64}")  # WeChat Pay's codes; anything else is not echoed

JSONObject = dict[str, object]


def lowercase(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers with lower-case names (the last of repeated names wins)."""
    return {name.lower(): value for name, value in headers.items()}


def is_signed(headers: Mapping[str, str]) -> bool:
    """Whether the message carries all four signature headers (valid or not)."""
    named = lowercase(headers)
    return all(named.get(name) for name in SIGNATURE_HEADERS)


def check_signature(headers: Mapping[str, str], body: bytes, settings: WeChatPaySettings) -> int:
    """The signed ``Wechatpay-Timestamp``, once the platform key's signature verifies.

    Raises:
        SignatureInvalid: a header missing, another key or scheme, or a bad signature.
    """
    named = lowercase(headers)
    for name in SIGNATURE_HEADERS:
        if not named.get(name):
            raise SignatureInvalid(VENDOR, f"unsigned: no {name} header")
    if named.get("wechatpay-signature-type", SCHEME) != SCHEME:
        raise SignatureInvalid(VENDOR, "signed with an unsupported scheme")
    if named["wechatpay-serial"] != settings.platform_key_id:
        raise SignatureInvalid(VENDOR, "signed with another key than WECHATPAY_PUBLIC_KEY_ID")
    timestamp = named["wechatpay-timestamp"]
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise SignatureInvalid(VENDOR, "the signature timestamp is not a number")
    nonce, signature = named["wechatpay-nonce"], named["wechatpay-signature"]
    if not verify_response(settings.platform_key, timestamp, nonce, body, signature):
        raise SignatureInvalid(VENDOR)
    return int(timestamp)


def _unique_members(pairs: list[tuple[str, object]]) -> JSONObject:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("a member is named twice")
    return members


_DECODER: Final = json.JSONDecoder(object_pairs_hook=_unique_members)  # built once: it is not cheap


def json_object(raw: bytes, what: str) -> JSONObject:
    """``raw`` as a JSON object with no repeated member.

    Raises:
        VendorError: not UTF-8 JSON, not an object, or a member named twice.
    """
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise VendorError(VENDOR, "malformed", f"the {what} is not a JSON object") from None
    if not isinstance(value, dict):
        raise VendorError(VENDOR, "malformed", f"the {what} is not a JSON object")
    return value


def text(node: Mapping[str, object], name: str) -> str:
    """The non-empty string member ``name``. Raises: VendorError."""
    value = node.get(name)
    if not isinstance(value, str) or not value:
        raise VendorError(VENDOR, "malformed", f"no {name} in the answer")
    return value


def member(node: Mapping[str, object], name: str) -> Mapping[str, object]:
    """The object member ``name``. Raises: VendorError."""
    value = node.get(name)
    if not isinstance(value, dict):
        raise VendorError(VENDOR, "malformed", f"no {name} object in the answer")
    return value


def fen(node: Mapping[str, object], name: str) -> Money:
    """``amount.{name}`` (an integer number of fen) with ``amount.currency`` as Money.

    Raises:
        VendorError: missing, not a non-negative integer, or not CNY.
    """
    amount = member(node, "amount")
    value = amount.get(name)
    currency = amount.get("currency", "CNY")
    if type(value) is not int or value < 0:
        raise VendorError(VENDOR, "malformed", f"amount.{name} is not a number of fen")
    if currency != "CNY":
        raise VendorError(VENDOR, "currency_not_supported", "the amount is not in CNY")
    return Money(minor=value, currency="CNY")


def error_code(raw: bytes, status: int) -> str:
    """The ``code`` of an error answer, or ``http_{status}`` when it has none."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return f"http_{status}"
    code = value.get("code") if isinstance(value, dict) else None
    return code if isinstance(code, str) and _CODE.fullmatch(code) else f"http_{status}"
