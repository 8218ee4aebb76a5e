"""WeChat Pay API v3 signatures and notification resource encryption, as pure functions.

Formats (all text UTF-8, every line ending in ``\\n``, the last one included):

* request message: ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n``: the upper-case
  method, the URL path with its query exactly as sent, Unix seconds, the nonce, and the
  exact body bytes (empty for GET and for a bodiless POST);
* response and notification message: ``TIMESTAMP\\nNONCE\\nBODY\\n`` from the headers
  ``Wechatpay-Timestamp`` and ``Wechatpay-Nonce`` and the exact body bytes;
* signature: RSASSA-PKCS1-v1_5 over SHA-256 of the message, standard base64 on one line;
* ``Authorization``: ``WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",
  timestamp="…",serial_no="…"``;
* resource: AEAD_AES_256_GCM with the 32-byte APIv3 key, the resource's ``nonce`` (12 ASCII
  characters) and ``associated_data`` as UTF-8; ``ciphertext`` is standard base64 of the
  encrypted bytes followed by the 16-byte tag.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import secrets
from typing import Final, NamedTuple

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SCHEME: Final = "WECHATPAY2-SHA256-RSA2048"
APIV3_KEY_BYTES: Final = 32
_PADDING: Final = padding.PKCS1v15()
_SHA256: Final = hashes.SHA256()
_FIELD: Final = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')
_AUTH_FIELDS: Final = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")


class ResourceError(ValueError):
    """The resource does not decrypt with this key, nonce and associated data."""


class Authorization(NamedTuple):
    """The fields of a parsed ``Authorization`` header."""

    mchid: str
    nonce_str: str
    signature: str
    timestamp: str
    serial_no: str


def _bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def new_nonce() -> str:
    """A fresh random nonce: 32 upper-case hexadecimal characters."""
    return secrets.token_hex(16).upper()


def request_message(
    method: str, path: str, timestamp: str | int, nonce: str, body: bytes | str = b""
) -> bytes:
    """``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n`` as bytes."""
    head = f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n".encode()
    return head + _bytes(body) + b"\n"


def response_message(timestamp: str | int, nonce: str, body: bytes | str) -> bytes:
    """``TIMESTAMP\\nNONCE\\nBODY\\n`` as bytes (responses and notifications alike)."""
    return f"{timestamp}\n{nonce}\n".encode() + _bytes(body) + b"\n"


def sign(key: RSAPrivateKey, message: bytes) -> str:
    """SHA256withRSA (PKCS#1 v1.5) of ``message``, standard base64 on one line."""
    return base64.b64encode(key.sign(message, _PADDING, _SHA256)).decode("ascii")


def verify(key: RSAPublicKey, message: bytes, signature: str) -> bool:
    """Whether ``signature`` (standard base64) is a valid SHA256withRSA signature of ``message``."""
    try:
        raw = binascii.a2b_base64(signature, strict_mode=True)
        key.verify(raw, message, _PADDING, _SHA256)
    except (InvalidSignature, ValueError):
        return False
    return True


def authorization(
    key: RSAPrivateKey,
    *,
    mchid: str,
    serial_no: str,
    method: str,
    path: str,
    body: bytes | str = b"",
    timestamp: str | int,
    nonce: str,
) -> str:
    """The ``Authorization`` header value for one request."""
    signature = sign(key, request_message(method, path, timestamp, nonce, body))
    return (
        f'{SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


def parse_authorization(value: str) -> Authorization:
    """The fields of an ``Authorization`` header value, in any order.

    Raises:
        ValueError: another scheme, a missing or repeated field, or a malformed pair.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme != SCHEME:
        raise ValueError("the authorization scheme is not " + SCHEME)
    fields: dict[str, str] = {}
    for part in rest.split(","):
        match = _FIELD.fullmatch(part)
        if match is None or match[1] in fields:
            raise ValueError("the authorization header is malformed")
        fields[match[1]] = match[2]
    missing = [name for name in _AUTH_FIELDS if name not in fields]
    if missing:
        raise ValueError("the authorization header lacks " + ", ".join(missing))
    return Authorization(*(fields[name] for name in _AUTH_FIELDS))


def verify_request(
    key: RSAPublicKey, auth: Authorization, method: str, path: str, body: bytes | str = b""
) -> bool:
    """Whether ``auth`` signs this request with the private half of ``key``."""
    message = request_message(method, path, auth.timestamp, auth.nonce_str, body)
    return verify(key, message, auth.signature)


def sign_response(key: RSAPrivateKey, timestamp: str | int, nonce: str, body: bytes | str) -> str:
    """The ``Wechatpay-Signature`` value of a response or notification."""
    return sign(key, response_message(timestamp, nonce, body))


def verify_response(
    key: RSAPublicKey, timestamp: str | int, nonce: str, body: bytes | str, signature: str
) -> bool:
    """Whether ``signature`` is the platform's signature of this response or notification."""
    return verify(key, response_message(timestamp, nonce, body), signature)


def check_apiv3_key(key: bytes) -> bytes:
    """``key`` unchanged if it has the 32 bytes AES-256 needs.

    Raises:
        ValueError: another length (the message gives only the length).
    """
    if len(key) != APIV3_KEY_BYTES:
        raise ValueError(f"the APIv3 key has {len(key)} bytes; it needs {APIV3_KEY_BYTES}")
    return key


def encrypt_resource(
    apiv3_key: bytes, plaintext: bytes | str, nonce: str, associated_data: str = ""
) -> str:
    """The ``ciphertext`` field: base64 of AES-256-GCM(plaintext) with its tag appended."""
    sealed = _aead(apiv3_key).encrypt(
        nonce.encode("utf-8"), _bytes(plaintext), associated_data.encode("utf-8")
    )
    return base64.b64encode(sealed).decode("ascii")


def decrypt_resource(
    apiv3_key: bytes, ciphertext: str, nonce: str, associated_data: str = ""
) -> bytes:
    """The plaintext of a resource's ``ciphertext``.

    Raises:
        ValueError: the key is not 32 bytes.
        ResourceError: not base64, an unusable nonce, or the tag does not match.
    """
    aead = _aead(apiv3_key)
    try:
        sealed = binascii.a2b_base64(ciphertext, strict_mode=True)
        return aead.decrypt(nonce.encode("utf-8"), sealed, associated_data.encode("utf-8"))
    except (InvalidTag, ValueError):  # binascii.Error and UnicodeEncodeError are ValueErrors
        raise ResourceError("the resource does not decrypt") from None


@functools.lru_cache(maxsize=8)
def _aead(apiv3_key: bytes) -> AESGCM:
    """The cipher of one key, built once (a process holds one or two APIv3 keys)."""
    return AESGCM(check_apiv3_key(apiv3_key))
