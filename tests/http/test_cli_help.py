"""Each command's ``--help`` says what it does and lists only the settings it reads."""

from __future__ import annotations

import pytest

from payments_http import cli


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        cli.main([*argv, "--help"])
    assert done.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_reconcile_explains_itself_and_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["reconcile"], capsys)

    assert "One sweep, then exit (for cron)" in text
    assert "--batch-size BATCH_SIZE attempts claimed at a time (default 100)" in text
    assert "--concurrency CONCURRENCY vendor calls at once (default 4)" in text
    for applies in ("--database-url", "--vendor", "--database-timeout", "--alipay-app-id"):
        assert applies in text


@pytest.mark.parametrize(
    "option",
    [
        "--host",
        "--port",
        "--reconcile-interval",
        "--orders-url",
        "--jwt-secret",
        "--jwt-public-key",
    ],
)
def test_reconcile_lists_no_setting_only_a_server_reads(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert f"{option} " not in _help(["reconcile"], capsys)


def test_serve_still_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["serve"], capsys)

    for option in ("--host", "--port", "--orders-url", "--jwt-secret", "--reconcile-interval"):
        assert f"{option} VALUE" in text
    assert "{debug,info,warning,error}" in text


def test_db_upgrade_explains_itself_and_names_each_option_s_setting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(["db", "upgrade"], capsys)

    assert "Bring the database's tables to this release's schema" in text
    assert "--database-url URL PAYMENTS_DATABASE_URL: the database" in text
    assert "--database-table-prefix PREFIX PAYMENTS_DATABASE_TABLE_PREFIX:" in text
    assert "--database-version-table TABLE PAYMENTS_DATABASE_VERSION_TABLE:" in text
