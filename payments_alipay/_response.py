"""Reading a gateway response: nothing in it is believed before its signature verifies."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from payments_alipay.signing import response_members, verify_rsa2
from payments_core.errors import SignatureInvalid, VendorDeclined, VendorError, VendorUnavailable

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

VENDOR: Final = "alipay"
SUCCESS: Final = "10000"
TRANSIENT_CODES: Final = frozenset({"20000"})
TRANSIENT_SUB_CODES: Final = frozenset(  # AQC.: Alipay's own misspelling, documented as is
    {"ACQ.SYSTEM_ERROR", "AQC.SYSTEM_ERROR", "isp.unknow-error", "aop.unknow-error"}
)
_MESSAGE_MAX: Final = 120
log = logging.getLogger("payments_alipay")


def node_name(method: str) -> str:
    """``alipay.trade.query`` -> ``alipay_trade_query_response``."""
    return method.replace(".", "_") + "_response"


def verified_node(raw: bytes, method: str, key: RSAPublicKey) -> dict[str, object]:
    """The signed method node of a gateway response body, after checking its signature.

    An unsigned body is only ever read as a failure (VendorDeclined), never as data.

    Raises:
        SignatureInvalid: the signature is wrong, or a success arrived unsigned.
        VendorError: the body is not an Alipay response.
    """
    try:
        members = response_members(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise VendorError(VENDOR, "malformed_response", "the answer is not Alipay JSON") from None
    name = node_name(method) if node_name(method) in members else "error_response"
    if name not in members:
        raise VendorError(VENDOR, "malformed_response", "the answer has no response node")
    text, value = members[name]
    if not isinstance(value, dict):
        raise VendorError(VENDOR, "malformed_response", "the response node is not an object")
    sign = members.get("sign", ("", ""))[1]
    if not isinstance(sign, str) or not sign:
        _refuse_unsigned(value)
    elif not _verifies(key, text, sign):
        log.warning("alipay %s answer failed signature verification", method)
        raise SignatureInvalid(VENDOR, "the gateway answer's signature does not verify")
    return value


def _verifies(key: RSAPublicKey, text: str, sign: str) -> bool:
    if verify_rsa2(key, text, sign):
        return True
    return "\\/" in text and verify_rsa2(key, text.replace("\\/", "/"), sign)


def _refuse_unsigned(node: dict[str, object]) -> None:
    if node.get("code") == SUCCESS and not node.get("sub_code"):
        raise SignatureInvalid(VENDOR, "the gateway answered success without a signature")
    code, message = _codes(node)
    raise VendorDeclined(VENDOR, code, f"unsigned failure: {message}")


def _codes(node: dict[str, object]) -> tuple[str, str]:
    code = str(node.get("sub_code") or node.get("code") or "unknown")
    message = str(node.get("sub_msg") or node.get("msg") or "")
    return code, message[:_MESSAGE_MAX]


def sub_code(node: dict[str, object]) -> str | None:
    """The business result: None for success, else the sub_code (or the code)."""
    if node.get("code") == SUCCESS and not node.get("sub_code"):
        return None
    return str(node.get("sub_code") or node.get("code") or "unknown")


def failure(node: dict[str, object], method: str) -> VendorError:
    """The error for a verified failure answer: unavailable when Alipay says retry later."""
    code, message = _codes(node)
    log.warning("alipay %s failed: code=%s sub_code=%s", method, node.get("code"), code)
    if node.get("code") in TRANSIENT_CODES or code in TRANSIENT_SUB_CODES:
        return VendorUnavailable(VENDOR, f"Alipay asked to retry later ({code})")
    return VendorDeclined(VENDOR, code, message)


def text_field(node: dict[str, object], name: str) -> str | None:
    """A string field of the node, or None when absent, empty or not a string."""
    value = node.get(name)
    return value if isinstance(value, str) and value else None
