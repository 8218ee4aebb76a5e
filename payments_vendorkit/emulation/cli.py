"""What an emulator's command shares: its ``--resend-factor`` option and private key files."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from payments_vendorkit.emulation.limits import MAX_RESEND_FACTOR, factor

if TYPE_CHECKING:
    from pathlib import Path


def add_resend_factor(parser: argparse.ArgumentParser, vendor: str) -> None:
    """``--resend-factor``: scales ``vendor``'s resend gaps, from 0 to ``MAX_RESEND_FACTOR``."""
    parser.add_argument(
        "--resend-factor",
        type=_resend_factor,
        default=1.0,
        help=f"scales {vendor}'s resend gaps (0 to {MAX_RESEND_FACTOR:g})",
    )


def _resend_factor(text: str) -> float:
    try:
        return factor(float(text), "--resend-factor", MAX_RESEND_FACTOR)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def write_private(directory: Path, name: str, text: str) -> Path:
    """Write ``text`` to a new file ``name`` in ``directory`` that only its owner can read."""
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)
    return path
