"""``payments wechatpay-emulator`` (or ``python -m payments_wechatpay.emulator``): run it alone.

It generates throwaway keys (the merchant's API key, the platform key, the APIv3 key),
writes the private ones to a folder of its own that is removed when it stops, prints
the ``WECHATPAY_*`` settings that reach it, and serves until interrupted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa

from payments_vendorkit.emulation.cli import add_resend_factor, write_private
from payments_wechatpay.emulator.state import WeChatPayEmulator

if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_MCHID = "1900000109"
DEFAULT_APPID = "wxd678efh567hg6787"
_PEM_SETTINGS = ("WECHATPAY_PRIVATE_KEY", "WECHATPAY_PUBLIC_KEY")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator's options."""
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--mchid", default=DEFAULT_MCHID, help="the merchant's mchid")
    parser.add_argument("--appid", default=DEFAULT_APPID, help="the merchant's appid")
    add_resend_factor(parser, "WeChat Pay")


def settings_lines(settings: dict[str, str], directory: Path) -> list[str]:
    """``NAME=value`` lines; the PEM keys go to files in ``directory`` (``@path``)."""
    lines = []
    for name, value in settings.items():
        if name in _PEM_SETTINGS:
            value = f"@{write_private(directory, name.lower() + '.pem', value)}"
        lines.append(f"{name}={value}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, print the ``WECHATPAY_*`` settings, and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m payments_wechatpay.emulator", description=__doc__
    )
    add_arguments(parser)
    return serve(parser.parse_args(argv))


def serve(args: argparse.Namespace) -> int:
    """Print the settings that reach an emulator for ``args``, serve it, and clean up."""
    directory = Path(tempfile.mkdtemp(prefix="wechatpay-emulator-"))
    emulator = WeChatPayEmulator(resend_factor=args.resend_factor)
    try:
        settings = emulator.merchant_settings(
            mchid=args.mchid,
            appid=args.appid,
            private_key=rsa.generate_private_key(65537, 2048),
            gateway_url=f"http://{args.host}:{args.port}",
        )
        sys.stdout.write(
            f"WeChat Pay emulator settings for the merchant (files in {directory}, removed at exit):\n"
        )
        sys.stdout.write(
            "".join(f"export {line}\n" for line in settings_lines(settings, directory))
        )
        sys.stdout.flush()
        uvicorn.run(emulator.app, host=args.host, port=args.port, log_level="info")
    finally:
        emulator.shutdown()
        shutil.rmtree(directory, ignore_errors=True)
    return 0
