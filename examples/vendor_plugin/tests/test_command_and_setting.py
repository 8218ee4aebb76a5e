"""ExamplePay's own command and setting, as the ``payments`` command shows them."""

from __future__ import annotations

import secrets

import pytest
from payments_core.money import Money
from payments_core.values import TradeStatus
from payments_http import cli

from payments_examplepay import ExamplePayGateway

SECRET = secrets.token_hex(32)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_the_notification_command_prints_a_body_the_gateway_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EXAMPLEPAY_SECRET", SECRET)

    status, out, _ = run(["examplepay", "notification", "R1", "--amount", "10.5"], capsys)
    report = ExamplePayGateway(SECRET.encode()).parse_notification(out.strip().encode(), {})

    assert status == 0
    assert report is not None
    assert report.reference == "R1"
    assert report.status is TradeStatus.PAID
    assert report.amount == Money.parse("10.50")
    assert SECRET not in out


def test_the_notification_command_without_the_secret_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EXAMPLEPAY_SECRET", raising=False)

    status, out, err = run(["examplepay", "notification", "R1", "--amount", "1.00"], capsys)

    assert status == 2
    assert out == ""
    assert err == "payments: EXAMPLEPAY_SECRET is not set; the notification is signed with it\n"


def test_a_short_secret_stops_the_command_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EXAMPLEPAY_SECRET", "tooshort")

    status, _, err = run(["examplepay", "notification", "R1", "--amount", "1.00"], capsys)

    assert status == 2
    assert "EXAMPLEPAY_SECRET must be at least 32 characters" in err
    assert "tooshort" not in err


def test_the_secret_is_an_option_of_serve_marked_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["serve", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())

    assert done.value.code == 0
    assert "--examplepay-secret VALUE EXAMPLEPAY_SECRET: the HMAC key" in help_text
    assert "(at least 32 characters); a secret: prefer the environment" in help_text
