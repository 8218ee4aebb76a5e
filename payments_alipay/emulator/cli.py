"""``payments emulator`` (or ``python -m payments_alipay.emulator``): the emulator alone.

It prints the ``ALIPAY_*`` settings that reach it; the key files they name live in a
temporary folder that is removed when the emulator stops.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa

from payments_alipay.emulator.state import DEFAULT_SELLER_ID, AlipayEmulator
from payments_alipay.keys import load_private_key, load_public_key, private_pem, public_pem
from payments_vendorkit.emulation.cli import add_resend_factor, write_private

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey


DESCRIPTION = (
    "Run the local Alipay gateway emulator and print the ALIPAY_* settings that reach it."
    " Keys it generates are written to a temporary folder, removed when it stops."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator's options, for ``python -m payments_alipay.emulator`` and ``payments emulator``."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8765, help="port (default %(default)s)")
    parser.add_argument(
        "--app-id", default="2021000000000001", help="the merchant's app id (default %(default)s)"
    )
    parser.add_argument(
        "--merchant-public-key", help="PEM, base64 or @path; generated when omitted"
    )
    parser.add_argument(
        "--platform-private-key", help="PEM, base64 or @path; generated when omitted"
    )
    parser.add_argument(
        "--seller-id",
        default=DEFAULT_SELLER_ID,
        help="the seller id it reports (default %(default)s)",
    )
    add_resend_factor(parser, "Alipay")


def _merchant_key(given: str | None, directory: Path) -> tuple[RSAPublicKey, list[str]]:
    """The merchant's public key, and its ``ALIPAY_PRIVATE_KEY`` line when generated here."""
    if given:
        return load_public_key(given), []
    app_key = rsa.generate_private_key(65537, 2048)
    path = write_private(directory, "app_private_key.pem", private_pem(app_key))
    return app_key.public_key(), [f"ALIPAY_PRIVATE_KEY=@{path}"]


def _print_settings(lines: list[str]) -> None:
    sys.stdout.write("Alipay emulator settings for the merchant (key files kept while it runs):\n")
    sys.stdout.write("".join(f"export {line}\n" for line in lines))
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, print the ``ALIPAY_*`` settings for the merchant, and serve."""
    parser = argparse.ArgumentParser(prog="payments emulator", description=DESCRIPTION)
    add_arguments(parser)
    return serve(parser.parse_args(argv))


def serve(args: argparse.Namespace) -> int:
    """Print the ``ALIPAY_*`` settings that reach an emulator for ``args``, and serve it.

    The key files live as long as the emulator: a merchant started from the printed
    settings reads them at its start.
    """
    # uvicorn stops on SIGTERM, then raises it again with the handler it found: make that
    # (and a SIGTERM before uvicorn starts) an exit that unwinds and removes the folder.
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        with tempfile.TemporaryDirectory(prefix="alipay-emulator-") as folder:
            return _serve_with_keys_in(Path(folder), args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve_with_keys_in(directory: Path, args: argparse.Namespace) -> int:
    merchant, key_lines = _merchant_key(args.merchant_public_key, directory)
    platform = load_private_key(args.platform_private_key) if args.platform_private_key else None
    emulator = AlipayEmulator(
        merchants={args.app_id: merchant},
        platform_private_key=platform,
        seller_id=args.seller_id,
        resend_factor=args.resend_factor,
    )
    platform_public = public_pem(emulator.platform_public_key)
    _print_settings(
        [
            f"ALIPAY_APP_ID={args.app_id}",
            *key_lines,
            f"ALIPAY_PUBLIC_KEY=@{write_private(directory, 'alipay_public_key.pem', platform_public)}",
            f"ALIPAY_GATEWAY=http://{args.host}:{args.port}/gateway.do",
            f"ALIPAY_SELLER_ID={args.seller_id}",
        ]
    )
    _run_until_stopped(emulator, args.host, args.port)
    return 0


def _run_until_stopped(emulator: AlipayEmulator, host: str, port: int) -> None:
    try:
        uvicorn.run(emulator.app, host=host, port=port, log_level="info")
    finally:
        emulator.shutdown()


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    del frame
    raise SystemExit(128 + signum)
