"""The ``payments`` command: serve, reconcile, db upgrade, keys generate, emulator.

Every setting of ``payments_http.settings`` is an option of ``serve`` and ``reconcile`` and an environment
variable; options win. A bad setting prints one line naming it and exits with 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

from payments_core.errors import PaymentsError
from payments_http import settings as config
from payments_http._logsafe import configure_logging

EXIT_CONFIG: Final = 2


def _add_settings(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (each also read from its environment variable)")
    for setting in config.SETTINGS:
        default = f" (default {setting.default})" if setting.default else ""
        group.add_argument(
            setting.option,
            dest=setting.name,
            metavar="VALUE",
            help=f"{setting.name}: {setting.help}{default}",
        )


def _parser() -> argparse.ArgumentParser:
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
    _add_settings(serve)
    sweep = commands.add_parser("reconcile", help="one sweep over the open payments, then exit")
    sweep.add_argument("--batch-size", type=int, default=100)
    sweep.add_argument("--concurrency", type=int, default=4)
    _add_settings(sweep)
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="apply the schema migrations")
    upgrade.add_argument("--database-url", dest="PAYMENTS_DATABASE_URL", metavar="URL")
    keys = commands.add_parser("keys", help="key pairs")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    generate = keys_commands.add_parser(
        "generate", help="an RSA-2048 pair in the forms Alipay's console takes"
    )
    generate.add_argument("--out", type=Path, default=Path(), help="folder (default: here)")
    generate.add_argument("--name", default="app", help="file name prefix (default: app)")
    commands.add_parser(
        "emulator",
        help="the local Alipay gateway emulator alone (--help for its options)",
        add_help=False,
    )
    return parser


def _settings(args: argparse.Namespace) -> dict[str, str]:
    options = {s.name: getattr(args, s.name, None) for s in config.SETTINGS}
    return config.effective(os.environ, options)


_LOG_LEVELS: Final = ("debug", "info", "warning")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``payments`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        from payments_alipay.emulator import main as emulator_main

        return emulator_main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "log_level", "info") not in _LOG_LEVELS:  # a bad PAYMENTS_LOG_LEVEL
        levels = ", ".join(_LOG_LEVELS)
        sys.stderr.write(f"payments: PAYMENTS_LOG_LEVEL must be one of {levels}\n")
        return 2
    handlers: Mapping[str, Callable[[argparse.Namespace], int]] = {
        "serve": _serve,
        "reconcile": _reconcile,
        "db": _db_upgrade,
        "keys": _keys_generate,
    }
    try:
        return handlers[args.command](args)
    except (ValueError, PaymentsError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"payments: {first_line}\n")
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace) -> int:
    from payments_http import serve

    configure_logging(args.log_level.upper())
    if args.workers < 1:
        raise ValueError("--workers must be at least 1")
    return serve.run(
        _settings(args), demo=args.demo, workers=args.workers, log_level=args.log_level
    )


def _reconcile(args: argparse.Namespace) -> int:
    from payments_core.sweep import reconcile
    from payments_http.compose import build_service

    configure_logging(logging.WARNING)
    service, _ = build_service(_settings(args))
    progress = _ProgressBar() if sys.stderr.isatty() else None
    try:
        report = reconcile(
            service, batch_size=args.batch_size, concurrency=args.concurrency, progress=progress
        )
    finally:
        if progress:
            progress.done()
        service.close()
    sys.stdout.write(f"{report}\n")
    return 1 if report.failed else 0


class _ProgressBar:
    """A count of attempts checked on one terminal line (the total is not known ahead)."""

    def __init__(self) -> None:
        self._checked = 0

    def __call__(self, handled: int) -> None:
        self._checked += handled
        bar = "#" * min(40, self._checked // 25 + 1)
        sys.stderr.write(f"\rreconciling [{bar:<40}] {self._checked} attempts")
        sys.stderr.flush()

    def done(self) -> None:
        if self._checked:
            sys.stderr.write("\n")


def _db_upgrade(args: argparse.Namespace) -> int:
    url = config.effective(os.environ, {"PAYMENTS_DATABASE_URL": args.PAYMENTS_DATABASE_URL})[
        "PAYMENTS_DATABASE_URL"
    ]
    if url.startswith("memory://"):
        sys.stdout.write("memory:// has no schema to upgrade\n")
        return 0
    from payments_sqlstore import current_revision, upgrade

    upgrade(url)
    sys.stdout.write(f"database schema at revision {current_revision(url)}\n")
    return 0


def _keys_generate(args: argparse.Namespace) -> int:
    from payments_http.keys import generate

    for line in generate(args.out, args.name):
        sys.stdout.write(line + "\n")
    return 0
