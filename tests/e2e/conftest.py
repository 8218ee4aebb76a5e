"""``payments serve --demo`` as a subprocess on 127.0.0.1 and a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from attrs import frozen


@frozen
class Demo:
    base: str
    customer_token: str
    admin_token: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _read_exports(process: subprocess.Popen[str], timeout: float) -> dict[str, str]:
    exports: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while "ADMIN_TOKEN" not in exports:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the demo exited with {process.wait(5)} before printing tokens")
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exports[name] = value
        if time.monotonic() > deadline:
            raise RuntimeError("the demo printed no tokens in time")
    return exports


def _wait_healthy(base: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the demo server did not become healthy")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")
    script = Path(sys.executable).with_name("payments")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYMENTS_", "ALIPAY_"))}
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [str(script), "serve", "--demo", "--port", str(_free_port()), "--log-level", "warning"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        exports = _read_exports(process, timeout=60)
        _wait_healthy(exports["PAYMENTS"], timeout=30)
        yield Demo(exports["PAYMENTS"], exports["CUSTOMER_TOKEN"], exports["ADMIN_TOKEN"])
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stdout:
            process.stdout.close()
