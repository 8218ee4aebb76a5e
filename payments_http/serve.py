"""``payments serve``: check the configuration once, then hand the app to uvicorn.

With ``--workers N`` each worker builds its own app from the environment
(``app_from_environment``), after the parent process has checked it, and writes its
metrics into a folder of that run (``PROMETHEUS_MULTIPROC_DIR``) that any worker's
``/metrics`` reads whole. uvicorn runs with
a bounded request head (``_protocol``) and names no server software.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import uvicorn

from payments_http import settings as config
from payments_http._logsafe import configure_logging, uvicorn_log_config
from payments_http.compose import (
    authenticator_from_settings,
    build_service,
    create_app_from_settings,
)
from payments_http.metrics import MULTIPROC_DIR

if TYPE_CHECKING:
    import asyncio

    from starlette.applications import Starlette

MAX_HEAD_BYTES: Final = 16 * 1024
"""The request line and headers together; a longer head is refused (431 or closed)."""


def app_from_environment() -> Starlette:
    """The server's app from ``os.environ`` (the factory each uvicorn worker calls)."""
    settings = config.effective(os.environ, {})
    if not logging.getLogger().handlers:  # a spawned worker: log as the parent does
        level = os.environ.get("PAYMENTS_LOG_LEVEL", "INFO").upper()
        configure_logging(level, config.log_format(settings))
    return create_app_from_settings(settings)


def check(settings: Mapping[str, str]) -> None:
    """Everything a worker will need, built once and released.

    Raises:
        ValueError: one line naming the setting at fault.
        StoreUnavailable: the database could not be reached.
    """
    authenticator_from_settings(settings)
    service, _ = build_service(settings)
    service.close()


def uvicorn_options() -> dict[str, Any]:
    """How uvicorn serves the app, whoever starts it (``payments serve``, bench.http)."""
    return {
        "http": http_protocol(),
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,  # when h11 is what we have
        "server_header": False,
        "access_log": False,  # the app logs each request itself (_requestlog)
    }


def http_protocol() -> type[asyncio.Protocol] | str:
    """httptools with a bounded head; h11 (bounded by uvicorn) where httptools is missing."""
    try:
        from payments_http._protocol import BoundedHttpToolsProtocol
    except ImportError:
        return "h11"
    return BoundedHttpToolsProtocol


def check_free(host: str, port: int) -> None:
    """Bind ``host:port`` as uvicorn will, and let go.

    Raises:
        ValueError: one line naming the setting: the port is taken or not ours to take,
            or the host is not an address of this machine.
    """
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ValueError(f"PAYMENTS_HOST {host!r} cannot be resolved ({exc.strerror})") from None
    family, kind, proto, _, address = found[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise ValueError(
                    f"PAYMENTS_PORT {port} on {host} cannot be used ({exc.strerror}):"
                    " stop what listens there or choose another port (--port)"
                ) from None
            raise ValueError(
                f"PAYMENTS_HOST {host!r} cannot be listened on ({exc.strerror})"
            ) from None


def run(settings: Mapping[str, str], *, demo: bool, workers: int, log_level: str) -> int:
    """Serve until interrupted; returns the exit status."""
    host = settings.get("PAYMENTS_HOST", "127.0.0.1")
    port = config.integer(settings, "PAYMENTS_PORT", 1, 65535)
    check_free(host, port)  # before the demo prints tokens, or uvicorn says "startup complete"
    if not demo:
        config.require_orders(settings)
    options = {
        "host": host,
        "port": port,
        "log_level": log_level,
        **uvicorn_options(),
        "log_config": uvicorn_log_config(log_level, config.log_format(settings)),
    }
    if demo:
        from payments_http import demo as demo_server

        if workers > 1:
            sys.stderr.write("payments: the demo runs one worker (its emulator lives in memory)\n")
        built = demo_server.build(settings, Path.cwd())
        sys.stdout.write(built.banner)
        sys.stdout.flush()
        uvicorn.run(built.app, **options)
        return 0
    if workers == 1:
        uvicorn.run(create_app_from_settings(settings), **options)
        return 0
    check(settings)
    # Workers read the environment: put the options and defaults there (``settings`` is
    # the environment with those laid over it, see ``settings.effective``).
    os.environ.update(settings)
    os.environ["PAYMENTS_LOG_LEVEL"] = log_level
    with shared_metrics(on=config.switch(settings, "PAYMENTS_METRICS")):
        uvicorn.run(
            "payments_http.serve:app_from_environment",
            factory=True,
            workers=workers,
            **options,
        )
    return 0


@contextlib.contextmanager
def shared_metrics(*, on: bool) -> Iterator[None]:
    """A private, empty folder of this run where every worker writes its metrics.

    Never one given in the environment: samples a former run left there would be
    added to this run's. Removed when the server stops.
    """
    if not on:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="payments-metrics-") as folder:
        os.environ[MULTIPROC_DIR] = folder
        try:
            yield
        finally:
            del os.environ[MULTIPROC_DIR]
