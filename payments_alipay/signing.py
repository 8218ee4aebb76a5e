"""Alipay RSA2 signatures: the canonical string, signing, verifying, and signed response nodes.

* Requests sign every parameter except ``sign`` (``sign_type`` included).
* Notifications and return redirects are verified without ``sign`` and ``sign_type``.
* Both drop empty values, sort by name and join raw ``name=value`` pairs with ``&``.
* Gateway responses are verified over the exact text of the method node, found by
  walking the raw JSON with the standard decoder (quotes and escapes honoured).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Collection, Mapping
from typing import Final
from urllib.parse import quote_plus

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

REQUEST_EXCLUDED: Final = frozenset({"sign"})
NOTIFICATION_EXCLUDED: Final = frozenset({"sign", "sign_type"})
_PADDING: Final = padding.PKCS1v15()
_SHA256: Final = hashes.SHA256()
_WHITESPACE: Final = " \t\r\n"
_DECODER: Final = json.JSONDecoder()
_SHORT: Final = 120  # values up to this length are cached once encoded


def canonical_string(params: Mapping[str, str | None], exclude: Collection[str]) -> str:
    """The text Alipay signs: non-empty, non-excluded pairs sorted by name, raw values."""
    return "&".join([f"{k}={params[k]}" for k in sorted(params) if params[k] and k not in exclude])


def sign_rsa2(key: RSAPrivateKey, text: str) -> str:
    """RSASSA-PKCS1-v1_5 over SHA-256 of the UTF-8 text, standard base64 on one line."""
    signature = key.sign(text.encode("utf-8"), _PADDING, _SHA256)
    return base64.b64encode(signature).decode("ascii")


def verify_rsa2(key: RSAPublicKey, text: str, sign: str) -> bool:
    """Whether ``sign`` (standard base64) is a valid RSA2 signature of ``text``."""
    try:
        signature = binascii.a2b_base64(sign, strict_mode=True)
        key.verify(signature, text.encode("utf-8"), _PADDING, _SHA256)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def signed_params(params: Mapping[str, str | None], key: RSAPrivateKey) -> list[tuple[str, str]]:
    """The non-empty request parameters sorted by name, with ``sign`` appended last."""
    sent = sorted((k, v) for k, v in params.items() if v and k != "sign")
    sign = sign_rsa2(key, "&".join(f"{k}={v}" for k, v in sent))
    return [*sent, ("sign", sign)]


def encode_query(pairs: list[tuple[str, str]]) -> str:
    """Percent-encode pairs as UTF-8 with ``quote_plus`` rules, in the given order.

    Equal to ``urlencode(pairs, quote_via=quote_plus)``, but short values (names,
    settings, timestamps) are encoded once and remembered, and a base64 ``sign`` is
    encoded by replacing its three unsafe characters.
    """
    return "&".join([f"{_quote_short(k)}={_quote(k, v)}" for k, v in pairs])


def _quote(name: str, value: str) -> str:
    if name == "sign":
        return value.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    return _quote_short(value) if len(value) <= _SHORT else quote_plus(value)


@functools.lru_cache(maxsize=512)
def _quote_short(text: str) -> str:
    return quote_plus(text)


def response_members(raw: str) -> dict[str, tuple[str, object]]:
    """Every member of the top-level JSON object: name to (exact raw text, parsed value).

    Raises:
        ValueError: not one JSON object, or a member name occurs twice (a spliced body).
    """
    members: dict[str, tuple[str, object]] = {}
    i = _skip(raw, 0)
    if raw[i : i + 1] != "{":
        raise ValueError("not a JSON object")
    i = _skip(raw, i + 1)
    if raw[i : i + 1] == "}":
        return members
    while True:
        name, i = _DECODER.raw_decode(raw, i)
        if not isinstance(name, str) or name in members:
            raise ValueError("a member name is repeated or not a string")
        i = _skip(raw, i)
        if raw[i : i + 1] != ":":
            raise ValueError("a colon is missing")
        start = _skip(raw, i + 1)
        value, end = _DECODER.raw_decode(raw, start)
        members[name] = (raw[start:end], value)
        i = _skip(raw, end)
        if raw[i : i + 1] == "}":
            if raw[_skip(raw, i + 1) :]:
                raise ValueError("text after the JSON object")
            return members
        if raw[i : i + 1] != ",":
            raise ValueError("a comma is missing")
        i = _skip(raw, i + 1)


def _skip(raw: str, i: int) -> int:
    while i < len(raw) and raw[i] in _WHITESPACE:
        i += 1
    return i


def signed_node(raw: str, node: str) -> str:
    """The exact text of the value of the top-level member ``node`` (the signed content).

    Raises:
        ValueError: malformed JSON, a repeated member, or no such member.
    """
    members = response_members(raw)
    if node not in members:
        raise ValueError(f"no {node} member")
    return members[node][0]
