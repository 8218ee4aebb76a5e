"""A gateway that never finishes answering, on 127.0.0.1, bounded in time and connections.

``hang``: reads the request and says nothing. ``trickle``: starts a 200 answer and sends
one more header byte every ``gap`` seconds, so that no single read ever times out.
Every connection is closed after ``lifetime`` seconds, or at ``stop()``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Final, Literal, Self

Mode = Literal["hang", "trickle"]
MAX_CONNECTIONS: Final = 16


class SlowPeer:
    """A listening socket whose connections are answered slowly or never."""

    def __init__(self, mode: Mode, *, gap: float = 0.3, lifetime: float = 40.0) -> None:
        self.mode = mode
        self.gap = gap
        self.lifetime = lifetime
        self.connections = 0
        self._stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="slow-peer", daemon=True)

    @property
    def url(self) -> str:
        """The gateway URL to give ``ALIPAY_GATEWAY``."""
        return f"http://127.0.0.1:{self.port}/gateway.do"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Close the listener and every connection."""
        self._stopped.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        ends = time.monotonic() + self.lifetime
        while not self._stopped.is_set() and time.monotonic() < ends:
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            if self.connections >= MAX_CONNECTIONS:
                conn.close()
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, ends), daemon=True).start()

    def _serve(self, conn: socket.socket, ends: float) -> None:
        with conn:
            conn.settimeout(0.2)
            with contextlib.suppress(TimeoutError):
                conn.recv(65536)
            if self.mode == "trickle":
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not self._stopped.wait(self.gap) and time.monotonic() < ends:
                if self.mode == "trickle":
                    try:
                        conn.sendall(b"z")
                    except OSError:
                        return
