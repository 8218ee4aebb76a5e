"""Text a client chose, made safe to write into a log line, and the one log format.

A client controls the path, the method and, through a signed token, the username. Any of
them could carry a line break (or U+2028, or an ANSI escape) and so write a forged line
of its own into the access log. Values are written logfmt-style: bare when they are plain
printable ASCII, else as a JSON string, which escapes every control character, quote,
backslash and non-ASCII character and can be decoded back exactly.

Every record of the process, ours, a plugin's and uvicorn's own, goes through one
formatter: ``SafeFormatter`` (a text line) or, with ``PAYMENTS_LOG_FORMAT=json``,
``JsonFormatter`` (one JSON object a line).
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from datetime import UTC, datetime
from typing import Any, Final

LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"
VALUE_MAX: Final = 200
"""Characters of one client value that reach the log; the rest is cut."""

# Printable ASCII but for space, '"', "=" and "\\": what logfmt writes bare.
_PLAIN: Final = re.compile(rf"[\x21\x23-\x3c\x3e-\x5b\x5d-\x7e]{{1,{VALUE_MAX}}}")
_FRAME: Final = "  File "


def log_value(text: str) -> str:
    """``text`` as one log field value: bare when plain, else a quoted JSON string."""
    if _PLAIN.fullmatch(text):
        return text
    return json.dumps(text[:VALUE_MAX])


def safe_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` with every exception's own text escaped onto its line.

    Frames (file, line, our source) are kept as they are; an exception's message, which
    may quote a client's input, keeps no line break or control character of its own.
    """
    chunks = traceback.TracebackException.from_exception(exc).format()
    return "".join(chunk if chunk.startswith(_FRAME) else _one_line(chunk) for chunk in chunks)


def _one_line(chunk: str) -> str:
    body = chunk.removesuffix("\n")
    return chunk if body.isprintable() else printable(body) + "\n"


def printable(text: str) -> str:
    """``text`` with every character that is not printable written as its escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


class SafeFormatter(logging.Formatter):
    """Our one log line format, safe for any record of any library or plugin.

    A record's arguments are data (a vendor name from a URL, a plugin's exception text
    quoting a payment's subject): each string argument loses its line breaks and control
    characters, and so does every exception message in a traceback. The format strings
    are the code's own and stay as written.
    """

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if isinstance(args, tuple) and any(
            isinstance(a, str) and not a.isprintable() for a in args
        ):
            record = logging.makeLogRecord(record.__dict__)
            record.args = tuple(printable(a) if isinstance(a, str) else a for a in args)
        return super().format(record)

    def formatException(self, ei: Any) -> str:
        exc = ei[1]
        if isinstance(exc, BaseException):
            return safe_traceback(exc).rstrip("\n")
        return super().formatException(ei)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time``, ``level``, ``logger``, ``message`` and, when there
    is one, ``exception`` (the traceback, each exception's own text escaped as in text).

    JSON escapes every control character, and ASCII output escapes U+2028 and the like:
    no value can end the line or forge another record.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, BaseException):
            entry["exception"] = safe_traceback(exc).rstrip("\n")
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=True)


FORMATTERS: Final = {"text": SafeFormatter, "json": JsonFormatter}


def configure_logging(level: int | str, log_format: str = "text") -> None:
    """Send every record of this process to stderr in the one safe format, at ``level``.

    Does nothing when the process's logging is already set up (a host application's).
    """
    handler = logging.StreamHandler()
    handler.setFormatter(FORMATTERS[log_format]())
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations say enough at WARNING


def uvicorn_log_config(level: str, log_format: str) -> dict[str, Any]:
    """uvicorn's ``log_config``: its loggers, like every other, write through our formatter.

    uvicorn applies it in the parent process and again in each worker it spawns.
    """
    formatter = FORMATTERS[log_format]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"payments": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "payments",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            name: {"level": level.upper(), "handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
        }
        | {"alembic": {"level": "WARNING"}},
    }
