"""``payments serve`` refuses to start, in one line and before printing anything, when it cannot serve."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_http import cli
from payments_http.settings import declared
from tests.http.conftest import SECRET


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for setting in declared(PaymentHooks(make_plugin_manager())):
        monkeypatch.delenv(setting.name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize(
    "demo", [["--demo"], ["--orders-url", "memory://", "--jwt-secret", SECRET]]
)
def test_a_port_in_use_is_one_line_before_anything_is_printed_or_written(
    taken_port: int, demo: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["serve", *demo, "--port", str(taken_port)])
    out, err = capsys.readouterr()

    assert status == 2
    assert out == ""  # no demo tokens
    assert err.count("\n") == 1
    assert err.startswith(f"payments: PAYMENTS_PORT {taken_port} on 127.0.0.1 cannot be used (")
    assert list(tmp_path.iterdir()) == []  # no demo database either


def test_a_host_that_is_not_this_machine_s_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["serve", "--demo", "--host", "192.0.2.1", "--port", str(free_port())])
    _, err = capsys.readouterr()

    assert status == 2
    assert err.startswith("payments: PAYMENTS_HOST '192.0.2.1' cannot be listened on (")


def test_serve_without_an_orders_service_refuses_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = cli.main(["serve", "--jwt-secret", SECRET, "--port", str(free_port())])
    _, err = capsys.readouterr()

    assert status == 2
    assert err == (
        "payments: PAYMENTS_ORDERS_URL is not set: give the orders service's base URL,"
        " or memory:// for an in-memory order book\n"
    )


def test_memory_orders_said_out_loud_get_past_the_orders_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = cli.main(
        ["serve", "--jwt-secret", SECRET, "--orders-url", "memory://", "--port", str(free_port())]
    )
    _, err = capsys.readouterr()

    assert status == 2
    assert "PAYMENTS_VENDOR" in err  # the next thing missing: no vendor is configured
