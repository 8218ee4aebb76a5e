"""Text a client chose, made safe to write into a log line.

A client controls the path, the method and, through a signed token, the username. Any of
them could carry a line break (or U+2028, or an ANSI escape) and so write a forged line
of its own into the access log. Values are written logfmt-style: bare when they are plain
printable ASCII, else as a JSON string, which escapes every control character, quote,
backslash and non-ASCII character and can be decoded back exactly.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
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


def configure_logging(level: int | str) -> None:
    """Send every record of this process to stderr in the one safe format, at ``level``."""
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations say enough at WARNING
