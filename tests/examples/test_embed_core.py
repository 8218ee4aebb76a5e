"""examples/embed_core.py runs and prints a confirmed payment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "embed_core.py"


def test_embed_core_example_prints_a_confirmed_payment() -> None:
    result = subprocess.run(  # noqa: S603 - our own example with this interpreter
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=True
    )

    payment = json.loads(result.stdout.splitlines()[-1])["data"]
    assert payment["status"] == "CONFIRMED"
    assert payment["confirmed"] is True
    assert payment["valid"] is True
    assert payment["totalAmount"] == 88.88
    assert list(payment) == [
        "id", "order", "orderString", "createdAt", "updatedAt", "payer", "subject",
        "description", "totalAmount", "status", "vendorTradeId", "confirmedAt", "confirmed", "valid",
    ]  # fmt: skip
