"""Failures the emulator is told to answer next (``POST /control/fail-next``), bounded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from payments_alipay.emulator.protocol import SERVER_METHODS, failure_node, signed_answer
from payments_vendorkit.emulation.faults import FailureQueue

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

FAIL_MODES: Final = frozenset(
    {"timeout", "500", "html", "bad-signature", "unsigned", "system-error", "lost-answer"}
)


def failure_queue() -> FailureQueue:
    """An empty queue of Alipay's fail modes, for its server calls."""
    return FailureQueue(modes=FAIL_MODES, methods=SERVER_METHODS)


def signed_fault(mode: str, params: Mapping[str, str], key: RSAPrivateKey) -> str:
    """The answer body of a JSON fault: ``system-error``, ``bad-signature`` or ``unsigned``."""
    method = params.get("method")
    if mode == "system-error":
        node = failure_node("40004", "ACQ.SYSTEM_ERROR", "系统错误")
        return signed_answer(method, node, key)
    tamper = mode == "bad-signature"  # else "unsigned"
    node = _forged_success(method, params)
    return signed_answer(method, node, key, sign=tamper, tamper=tamper)


def _forged_success(method: str | None, params: Mapping[str, str]) -> dict[str, object]:
    """What a forger would like the merchant to believe: success, and paid."""
    reference = params.get("biz_content", "").partition('"out_trade_no":"')[2].partition('"')[0]
    node: dict[str, object] = {"code": "10000", "msg": "Success", "out_trade_no": reference}
    if method == "alipay.trade.query":
        node |= {
            "trade_no": "2099010122001000000000000001",
            "trade_status": "TRADE_SUCCESS",
            "total_amount": "0.01",
        }
    if method == "alipay.trade.refund":
        node |= {"fund_change": "Y", "refund_fee": "100000000.00"}
    if method == "alipay.trade.fastpay.refund.query":
        request = params.get("biz_content", "").partition('"out_request_no":"')[2].partition('"')[0]
        node |= {
            "out_request_no": request,
            "refund_amount": "100000000.00",
            "refund_status": "REFUND_SUCCESS",
        }
    return node
