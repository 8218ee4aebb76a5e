"""Small helpers to drive a running server over real HTTP."""

from __future__ import annotations

import time
from typing import Any

import requests


class ApiClient:
    """The payments API at ``base`` as one user."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"

    def create(self, order_id: str, subject: str) -> requests.Response:
        return self._session.post(
            f"{self.base}/api/v1/payments",
            json={"orderId": order_id, "subject": subject},
            timeout=10,
        )

    def get(self, payment_id: int) -> requests.Response:
        return self._session.get(f"{self.base}/api/v1/payments/{payment_id}", timeout=10)

    def verify(self, payment_id: int) -> requests.Response:
        return self._session.get(f"{self.base}/api/v1/payments/verify/{payment_id}", timeout=10)

    def wait_for_status(self, payment_id: int, status: str, timeout: float = 15) -> dict[str, Any]:
        """The payment once it has ``status``. Raises: AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            payment: dict[str, Any] = self.get(payment_id).json()["data"]
            if payment["status"] == status or time.monotonic() > deadline:
                assert payment["status"] == status, payment
                return payment
            time.sleep(0.2)

    def close(self) -> None:
        self._session.close()
