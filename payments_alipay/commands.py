"""The Alipay plugin's ``payments`` subcommands: ``emulator`` and ``keys generate``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from payments_alipay.emulator import cli as emulator_cli
from payments_alipay.keys import generate

if TYPE_CHECKING:
    import argparse

    from payments_core.contributions import Subcommands
    from payments_core.values import Settings


def add_commands(commands: Subcommands) -> None:
    """Add ``payments emulator`` and ``payments keys generate`` to ``commands``."""
    emulator = commands.add_parser(
        "emulator",
        help="the local Alipay gateway emulator alone; prints the ALIPAY_* settings that reach it",
        description=emulator_cli.DESCRIPTION,
    )
    emulator_cli.add_arguments(emulator)
    emulator.set_defaults(run=_emulator)
    keys = commands.add_parser("keys", help="key pairs")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    pair = keys_commands.add_parser(
        "generate", help="an RSA-2048 pair in the forms Alipay's console takes"
    )
    pair.add_argument("--out", type=Path, default=Path(), help="folder (default: here)")
    pair.add_argument("--name", default="app", help="file name prefix (default: app)")
    pair.set_defaults(run=_keys_generate)


def _emulator(args: argparse.Namespace, settings: Settings) -> int:
    del settings  # the emulator is configured by its own options
    return emulator_cli.serve(args)


def _keys_generate(args: argparse.Namespace, settings: Settings) -> int:
    del settings  # the pair depends on the options only
    for line in generate(args.out, args.name):
        sys.stdout.write(line + "\n")
    return 0
