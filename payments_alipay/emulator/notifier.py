"""Alipay's resend schedule and answer rule for the shared notification sender.

Alipay sends each asynchronous notification up to 8 times; the gaps between sends are
4 min, 10 min, 10 min, 1 h, 2 h, 6 h and 15 h, as it documents, until the merchant
answers 200 with the plain text ``success``.
"""

from __future__ import annotations

from typing import Final

from payments_vendorkit.emulation.notifier import Notifier, OutgoingNotification

RESEND_GAPS: Final = (240.0, 600.0, 600.0, 3600.0, 7200.0, 21600.0, 54000.0)
FORM: Final = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}

__all__ = ["FORM", "RESEND_GAPS", "Notifier", "OutgoingNotification", "alipay_notifier"]


def answered_success(status: int, text: str) -> bool:
    """Whether the merchant took the notification: 200 and exactly ``success``."""
    return status == 200 and text == "success"


def alipay_notifier(*, factor: float = 1.0, timeout: float = 5.0) -> Notifier:
    """A sender on Alipay's schedule (``factor`` scales its gaps)."""
    return Notifier(
        gaps=RESEND_GAPS,
        accepted=answered_success,
        factor=factor,
        timeout=timeout,
        name="alipay-emulator-notifier",
    )
