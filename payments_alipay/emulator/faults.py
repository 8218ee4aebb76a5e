"""Failures the emulator is told to answer next (``POST /control/fail-next``), bounded."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from payments_alipay.emulator import limits
from payments_alipay.emulator.protocol import SERVER_METHODS, failure_node, signed_answer

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

FAIL_MODES: Final = frozenset(
    {"timeout", "500", "html", "bad-signature", "unsigned", "system-error", "lost-answer"}
)
Failure = tuple[str, str | None, float]  # mode, only this method (or any), seconds


class FailureQueue:
    """The failures waiting for the next server calls, at most ``MAX_QUEUED_FAILURES``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[Failure] = []

    def add(self, mode: str, *, count: object, seconds: object, method: str | None) -> None:
        """Queue ``count`` failures in ``mode`` for ``method`` (or any server call).

        Raises:
            ValueError: an unknown mode or method, ``count`` not a whole number from 1
                to 100, or ``seconds`` not a number from 0 to 60.
            limits.Full: more than 1000 failures would be waiting.
        """
        if mode not in FAIL_MODES:
            raise ValueError(f"mode must be one of {', '.join(sorted(FAIL_MODES))}")
        if method is not None and method not in SERVER_METHODS:
            raise ValueError(f"method must be null or one of {', '.join(sorted(SERVER_METHODS))}")
        times = limits.count(count, "count", limits.MAX_FAIL_COUNT)
        delay = limits.seconds(seconds, "seconds", limits.MAX_FAIL_SECONDS)
        with self._lock:
            if len(self._waiting) + times > limits.MAX_QUEUED_FAILURES:
                raise limits.Full(
                    f"at most {limits.MAX_QUEUED_FAILURES} failures may wait; POST /control/reset"
                )
            self._waiting.extend([(mode, method, delay)] * times)

    def take(self, method: str) -> tuple[str, float] | None:
        """The first failure waiting for ``method`` (mode and seconds), now used up."""
        with self._lock:
            for i, (mode, only, seconds) in enumerate(self._waiting):
                if only in (None, method):
                    del self._waiting[i]
                    return mode, seconds
        return None

    def waiting(self) -> int:
        """How many failures are queued."""
        with self._lock:
            return len(self._waiting)

    def clear(self) -> None:
        """Forget every queued failure."""
        with self._lock:
            self._waiting.clear()


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
