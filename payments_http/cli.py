"""The ``payments`` command: serve and reconcile (one sweep), and the commands plugins add.

Every setting (ours and each plugin's) is an option of ``serve`` and ``reconcile`` and
an environment variable; options win. A bad setting prints one line naming it and
exits with 2. Plugins add their own subcommands (``payments_commands``): the installed
ones add ``db upgrade`` (sqlstore), ``keys generate`` and ``emulator`` (alipay).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from payments_core.errors import PaymentsError
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_http import settings as config
from payments_http._logsafe import configure_logging
from payments_http.refund_commands import add_refund_commands
from payments_http.subscribers import add_hooks_command

if TYPE_CHECKING:
    from payments_core.contributions import Command, Setting
    from payments_core.values import Settings

EXIT_CONFIG: Final = 2
_LOG_LEVELS: Final = ("debug", "info", "warning")
_KEEP_OFF_COMMAND_LINE: Final = "; a secret: prefer the environment to the command line"


def _add_settings(parser: argparse.ArgumentParser, declared: Sequence[Setting]) -> None:
    group = parser.add_argument_group("settings (each also read from its environment variable)")
    for setting in declared:
        default = f" (default {setting.default})" if setting.default else ""
        hint = _KEEP_OFF_COMMAND_LINE if setting.secret else ""
        try:
            group.add_argument(
                setting.option,
                dest=setting.name,
                metavar="VALUE",
                help=f"{setting.name}: {setting.help}{default}{hint}",
            )
        except argparse.ArgumentError as exc:  # e.g. a plugin's PAYMENTS_WORKERS is --workers
            raise ValueError(f"the setting {setting.name} clashes: {exc.message}") from None


def _parser(hooks: PaymentHooks, declared: Sequence[Setting]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="payments", description="Take payment for orders through pluggable vendors."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the HTTP server (uvicorn)")
    serve.add_argument("--demo", action="store_true", help="run the no-configuration demo")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--log-level",
        default=os.environ.get("PAYMENTS_LOG_LEVEL", "info").lower(),
        choices=_LOG_LEVELS,
        help="log level (env PAYMENTS_LOG_LEVEL; default info)",
    )
    serve.set_defaults(run=_serve)
    _add_settings(serve, declared)
    # "reconcile" is the command's name for a sweep, kept for the scripts that run it
    sweep_parser = commands.add_parser(
        "reconcile", help="one sweep over the open payments, then exit"
    )
    sweep_parser.add_argument("--batch-size", type=int, default=100)
    sweep_parser.add_argument("--concurrency", type=int, default=4)
    sweep_parser.set_defaults(run=_sweep)
    _add_settings(sweep_parser, declared)
    add_hooks_command(commands, declared, _add_settings)
    add_refund_commands(commands, declared, _add_settings)
    hooks.add_commands(commands)
    return parser


def _settings(args: argparse.Namespace, declared: Sequence[Setting]) -> dict[str, str]:
    """The environment, the options given (any command's, by setting name) and the defaults."""
    options = {s.name: getattr(args, s.name, None) for s in declared}
    return config.effective(os.environ, options, declared)


def _command_of(args: argparse.Namespace) -> Command:
    """What the chosen command runs.

    Raises:
        ValueError: a plugin added the command without ``set_defaults(run=...)``.
    """
    run: Command | None = getattr(args, "run", None)
    if run is None:
        raise ValueError(f"{args.command}: the plugin that adds it gave it nothing to run")
    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``payments`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        hooks = PaymentHooks(make_plugin_manager())
        declared = config.declared(hooks)
        parser = _parser(hooks, declared)
    except ValueError as exc:  # the installed plugins do not fit together
        sys.stderr.write(f"payments: {exc}\n")
        return EXIT_CONFIG
    args = parser.parse_args(argv)
    if getattr(args, "log_level", "info") not in _LOG_LEVELS:  # a bad PAYMENTS_LOG_LEVEL
        levels = ", ".join(_LOG_LEVELS)
        sys.stderr.write(f"payments: PAYMENTS_LOG_LEVEL must be one of {levels}\n")
        return 2
    try:
        return _command_of(args)(args, _settings(args, declared))
    except (ValueError, PaymentsError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"payments: {first_line}\n")
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from payments_http import serve

    configure_logging(args.log_level.upper())
    if args.workers < 1:
        raise ValueError("--workers must be at least 1")
    return serve.run(settings, demo=args.demo, workers=args.workers, log_level=args.log_level)


def _sweep(args: argparse.Namespace, settings: Settings) -> int:
    from payments_core.sweep import sweep
    from payments_http.compose import build_service

    configure_logging(logging.WARNING)
    service, _ = build_service(settings)
    progress = _ProgressBar() if sys.stderr.isatty() else None
    try:
        report = sweep(
            service, batch_size=args.batch_size, concurrency=args.concurrency, progress=progress
        )
    finally:
        if progress:
            progress.done()
        service.close()
    sys.stdout.write(f"{report}\n")
    return 1 if report.failed or report.refunds.errors else 0


class _ProgressBar:
    """A count of attempts checked on one terminal line (the total is not known ahead)."""

    def __init__(self) -> None:
        self._checked = 0

    def __call__(self, handled: int) -> None:
        self._checked += handled
        bar = "#" * min(40, self._checked // 25 + 1)
        sys.stderr.write(f"\rsweeping [{bar:<40}] {self._checked} attempts")
        sys.stderr.flush()

    def done(self) -> None:
        if self._checked:
            sys.stderr.write("\n")
