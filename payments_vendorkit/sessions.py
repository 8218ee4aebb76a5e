"""The HTTP side every vendor plugin shares: pooled sessions and the words for a transport fault."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter


def make_session(user_agent: str, pool_size: int = 10) -> requests.Session:
    """A Session with its own connection pool and no automatic retries (the plugin retries).

    ``user_agent`` names the plugin: some gateways refuse calls without one.
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


def fault_reason(exc: Exception) -> str:
    """What went wrong on the way, in words safe to log: never the URL or the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connecting timed out"
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "the connection failed"
    return "the answer was cut off"
