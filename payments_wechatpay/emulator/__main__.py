"""``python -m payments_wechatpay.emulator``: run the emulator alone (``--help`` for options)."""

from __future__ import annotations

from payments_wechatpay.emulator.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
