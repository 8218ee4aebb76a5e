"""The one log format: no record, whoever logs it, can write a line of its own."""

from __future__ import annotations

import logging

from payments_http._logsafe import SafeFormatter

FORGED = "tea\n1999-01-01 12:00:00,000 INFO payments_http.access status=200 user=admin"


def _record(
    msg: str, args: tuple[object, ...], exc: BaseException | None = None
) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord(
        "payments_core.outbox", logging.ERROR, __file__, 1, msg, args, exc_info
    )


def test_a_string_argument_cannot_start_a_line_of_its_own() -> None:
    line = SafeFormatter().format(_record("refused a %s notification", (FORGED,)))

    assert "\n" not in line
    assert "tea\\n1999-01-01" in line


def test_a_plugins_exception_text_stays_on_its_line_of_the_traceback() -> None:
    try:
        raise ValueError(FORGED)
    except ValueError as exc:
        text = SafeFormatter().format(_record("status hook %s failed", ("shop",), exc))

    assert not any(line.startswith("1999-01-01") for line in text.splitlines())
    assert "ValueError: tea\\n1999-01-01" in text


def test_the_codes_own_format_and_other_arguments_are_kept() -> None:
    line = SafeFormatter().format(_record("checked %d attempts in %s", (3, "0.5 s")))

    assert line.endswith("ERROR payments_core.outbox checked 3 attempts in 0.5 s")
