"""The WeChat Pay plugin's ``payments`` subcommand: ``wechatpay-emulator``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from payments_wechatpay.emulator import cli as emulator_cli

if TYPE_CHECKING:
    import argparse

    from payments_core.contributions import Subcommands
    from payments_core.values import Settings


def add_commands(commands: Subcommands) -> None:
    """Add ``payments wechatpay-emulator`` to ``commands``."""
    emulator = commands.add_parser(
        "wechatpay-emulator",
        help="the local WeChat Pay emulator alone; prints the WECHATPAY_* settings that reach it",
        description=(
            "Run the local WeChat Pay (API v3) emulator with throwaway keys; print the"
            " settings that reach it."
        ),
    )
    emulator_cli.add_arguments(emulator)
    emulator.set_defaults(run=_emulator)


def _emulator(args: argparse.Namespace, settings: Settings) -> int:
    del settings  # the emulator is configured by its own options
    return emulator_cli.serve(args)
