"""The one log format: no record, whoever logs it, can write a line of its own."""

from __future__ import annotations

import json
import logging
import logging.config
import re

import pytest

from payments_http._logsafe import JsonFormatter, SafeFormatter, uvicorn_log_config

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


def _json(record: logging.LogRecord) -> dict[str, str]:
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert line.isascii()  # U+2028 and the like are escaped too
    parsed: dict[str, str] = json.loads(line)
    return parsed


def test_json_is_one_object_a_line_with_the_arguments_applied() -> None:
    entry = _json(_record("refused a %s notification\u2028", (FORGED,)))

    assert set(entry) == {"time", "level", "logger", "message"}
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "payments_core.outbox"
    assert entry["message"] == f"refused a {FORGED} notification\u2028"  # exact, once decoded
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])


def test_json_carries_the_traceback_with_the_exceptions_text_escaped() -> None:
    try:
        raise ValueError(FORGED)
    except ValueError as exc:
        entry = _json(_record("status hook %s failed", ("shop",), exc))

    assert entry["message"] == "status hook shop failed"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert "ValueError: tea\\n1999-01-01" in entry["exception"]
    assert not any(line.startswith("1999") for line in entry["exception"].splitlines())


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_uvicorns_loggers_write_through_our_formatter(
    log_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logging.config.dictConfig(uvicorn_log_config("info", log_format))
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "1.2.3.4", "GET", "/", "1.1", 200
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    lines = capsys.readouterr().err.splitlines()

    assert len(lines) == 2
    if log_format == "json":
        assert [json.loads(line)["logger"] for line in lines] == ["uvicorn.error", "uvicorn.access"]
    else:
        assert lines[0].endswith(" INFO uvicorn.error Started server process [42]")
        assert " INFO uvicorn.access 1.2.3.4 " in lines[1]
