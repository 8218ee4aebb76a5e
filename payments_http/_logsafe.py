"""Text a client chose, made safe to write into a log line.

A client controls the path, the method and, through a signed token, the username. Any of
them could carry a line break (or U+2028, or an ANSI escape) and so write a forged line
of its own into the access log. Values are written logfmt-style: bare when they are plain
printable ASCII, else as a JSON string, which escapes every control character, quote,
backslash and non-ASCII character and can be decoded back exactly.
"""

from __future__ import annotations

import json
import re
import traceback
from typing import Final

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
    if body.isprintable():
        return chunk
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in body) + "\n"
