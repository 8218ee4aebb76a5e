"""RSA keys in every form vendor consoles and key tools hand out (Alipay's and WeChat Pay's alike).

Accepted forms, for private and public keys alike:

* PEM: ``BEGIN PRIVATE KEY`` (PKCS#8), ``BEGIN RSA PRIVATE KEY`` (PKCS#1),
  ``BEGIN PUBLIC KEY`` (SubjectPublicKeyInfo) or ``BEGIN RSA PUBLIC KEY`` (PKCS#1);
* bare base64 of the DER bytes, on one line or wrapped, stray whitespace ignored
  (what Alipay's key tool writes and the consoles show);
* ``@path``: any of the above read from a file.

Errors are ``ValueError`` with a message that never contains the key material.
Loading a private key costs tens of milliseconds (the RSA consistency check), so
load each key once, at start-up.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

MIN_KEY_BITS: Final = 2048


def read_key_text(value: str) -> bytes:
    """The key text itself: ``value``, or the contents of the file ``@path``.

    Raises:
        ValueError: the file cannot be read, or the value is empty.
    """
    text = value.strip()
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the key file {path} ({type(exc).__name__})") from None
        text = text.strip()
    if not text:
        raise ValueError("the key is empty")
    return text.encode("ascii", errors="replace")


def _der(text: bytes) -> bytes:
    try:
        return base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the key is neither PEM nor base64") from None


def load_private_key(value: str) -> RSAPrivateKey:
    """An RSA private key (at least 2048 bits) from PEM, bare base64 or ``@path``.

    Raises:
        ValueError: unreadable, not an RSA private key, or too short.
    """
    text = read_key_text(value)
    try:
        if text.startswith(b"-----"):
            key = serialization.load_pem_private_key(text, password=None)
        else:
            key = serialization.load_der_private_key(_der(text), password=None)
    except (TypeError, UnsupportedAlgorithm):
        raise ValueError("the private key is encrypted or of an unsupported kind") from None
    except ValueError as exc:
        raise ValueError(_reason(exc, "the private key could not be parsed")) from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("the private key is not an RSA key")
    _check_size(key.key_size)
    return key


def load_public_key(value: str) -> RSAPublicKey:
    """An RSA public key (at least 2048 bits) from PEM, bare base64 or ``@path``.

    Raises:
        ValueError: unreadable, not an RSA public key, or too short.
    """
    text = read_key_text(value)
    try:
        if text.startswith(b"-----"):
            key = serialization.load_pem_public_key(text)
        else:
            key = _load_der_public(_der(text))
    except UnsupportedAlgorithm:
        raise ValueError("the public key is of an unsupported kind") from None
    except ValueError as exc:
        raise ValueError(_reason(exc, "the public key could not be parsed")) from None
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the public key is not an RSA key")
    _check_size(key.key_size)
    return key


def _load_der_public(der: bytes) -> PublicKeyTypes:
    try:
        return serialization.load_der_public_key(der)
    except ValueError:
        # PKCS#1 RSAPublicKey without the SPKI wrapper: rare, but some tools write it.
        pem = b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der)
        return serialization.load_pem_public_key(pem + b"-----END RSA PUBLIC KEY-----\n")


def _reason(exc: ValueError, fallback: str) -> str:
    # Our own messages from _der are safe; cryptography's may quote input, so drop them.
    message = str(exc)
    return message if message == "the key is neither PEM nor base64" else fallback


def _check_size(bits: int) -> None:
    if bits < MIN_KEY_BITS:
        raise ValueError(f"the key has {bits} bits; vendors need at least {MIN_KEY_BITS}")


def public_pem(key: RSAPublicKey) -> str:
    """The key as PEM SubjectPublicKeyInfo text."""
    raw = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return raw.decode("ascii")


def public_base64(key: RSAPublicKey) -> str:
    """The key as one line of bare base64 SubjectPublicKeyInfo, as the consoles show it."""
    raw = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(raw).decode("ascii")


def private_pem(key: RSAPrivateKey) -> str:
    """The key as unencrypted PEM PKCS#8 text (for generated development keys only)."""
    raw = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return raw.decode("ascii")


def same_key(private: RSAPrivateKey, public: RSAPublicKey) -> bool:
    """Whether ``public`` is the public half of ``private``."""
    return private.public_key().public_numbers() == public.public_numbers()
