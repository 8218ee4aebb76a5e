"""The emulator's side of the protocol: checking the merchant's signature, signing what WeChat Pay signs.

The signatures and the resource encryption are ``payments_wechatpay.crypto``'s: the
emulator holds the platform's half of each key.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from payments_wechatpay.crypto import (
    SCHEME,
    encrypt_resource,
    new_nonce,
    parse_authorization,
    sign_response,
    verify_request,
)
from payments_wechatpay.emulator.errors import WeChatError
from payments_wechatpay.emulator.fields import rfc3339

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

MAX_CLOCK_SKEW: Final = 300  # seconds between a request's timestamp and now
EVENT_SUMMARIES: Final = {
    "TRANSACTION.SUCCESS": "支付成功",
    "REFUND.SUCCESS": "退款成功",
    "REFUND.ABNORMAL": "退款异常",
    "REFUND.CLOSED": "退款关闭",
}


@dataclass(frozen=True, kw_only=True)
class Merchant:
    """A merchant the emulator serves: its API key, certificate serial, apps and APIv3 key."""

    mchid: str
    public_key: RSAPublicKey
    serial_no: str
    appids: frozenset[str]
    apiv3_key: bytes


@dataclass(frozen=True, kw_only=True)
class Platform:
    """The emulator's own signing key and its id (``Wechatpay-Serial``)."""

    private_key: RSAPrivateKey
    key_id: str

    def headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """The ``Wechatpay-*`` headers that sign ``body`` now."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = new_nonce()
        return {
            "Wechatpay-Serial": self.key_id,
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": sign_response(self.private_key, stamp, nonce, body),
            "Wechatpay-Signature-Type": SCHEME,
        }


def new_key_id() -> str:
    """A platform public key id in WeChat Pay's form, ``PUB_KEY_ID_`` and digits."""
    return f"PUB_KEY_ID_{secrets.randbelow(10**28):028d}"


def authenticate(
    merchants: Mapping[str, Merchant],
    authorization: str | None,
    method: str,
    target: str,
    body: bytes,
    wall: Callable[[], float] = time.time,
) -> Merchant:
    """The merchant whose ``Authorization`` signs this request.

    ``target`` is the path with its query exactly as the request line sent them. The
    timestamp must be within five minutes of the wall clock (not the emulated one: the
    signature's freshness is about transport, not about trades).

    Raises:
        WeChatError: SIGN_ERROR for a missing or malformed header, an unknown merchant
            or certificate serial, a stale timestamp or a signature that does not verify.
    """
    if not authorization:
        raise WeChatError("SIGN_ERROR", "the Authorization header is missing")
    try:
        auth = parse_authorization(authorization)
    except ValueError as exc:
        raise WeChatError("SIGN_ERROR", str(exc)) from None
    merchant = merchants.get(auth.mchid)
    if merchant is None or auth.serial_no != merchant.serial_no:
        raise WeChatError("SIGN_ERROR", "no merchant with this mchid and certificate serial")
    if not auth.timestamp.isdigit() or abs(wall() - int(auth.timestamp)) > MAX_CLOCK_SKEW:
        raise WeChatError("SIGN_ERROR", "the timestamp is more than 5 minutes off")
    if not verify_request(merchant.public_key, auth, method, target, body):
        raise WeChatError("SIGN_ERROR", "签名错误 (the signature does not verify)")
    return merchant


def encode(node: Mapping[str, object]) -> bytes:
    """Compact UTF-8 JSON, as WeChat Pay sends it."""
    return json.dumps(node, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def notification_body(
    event_type: str,
    resource: Mapping[str, object],
    original_type: str,
    apiv3_key: bytes,
    now: datetime,
) -> bytes:
    """A notification: ``resource`` encrypted with the merchant's APIv3 key."""
    nonce = secrets.token_urlsafe(9)[:12]  # 12 ASCII characters, as WeChat Pay's
    envelope = {
        "id": str(uuid.uuid4()),
        "create_time": rfc3339(now),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": EVENT_SUMMARIES.get(event_type, event_type),
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": encrypt_resource(apiv3_key, encode(resource), nonce, original_type),
            "associated_data": original_type,
            "nonce": nonce,
        },
    }
    return encode(envelope)
