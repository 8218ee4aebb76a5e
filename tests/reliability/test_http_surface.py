"""The HTTP surface of the real server (``payments serve``: uvicorn, uvloop, httptools).

What a client can do with nothing but requests: race one Idempotency-Key, forge access
log lines through a token's subject, make the server build redirects from its ``Host``,
feed it an endless header, and read cacheable, sniffable answers.
"""

from __future__ import annotations

import json
import re
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import jwt
import pytest
import requests

from tests.reliability._system import SECRET, Server, auth, create, hide, order_id

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

PAYMENTS: Final = "/api/v1/payments"
TWINS: Final = 8
LOG_LINE: Final = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+ ")
HUGE: Final = 16 * 1024 * 1024  # far past any sane header; the probe sent 64 MB
ACCEPTABLE: Final = 1024 * 1024  # what the server may read of it before it stops


# -- finding 2: racing idempotent creates -----------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment of a server on SQLite, then on PostgreSQL."""
    fixture = {"sqlite": "sqlite_env", "postgresql": "postgres_env"}[request.param]
    env: dict[str, str] = request.getfixturevalue(fixture)
    return env


def _racing_creates(servers: list[Server], payer: str) -> list[tuple[int, dict[str, Any]]]:
    """``TWINS`` creates with one key and body, released at once over warm connections."""
    body = {"orderId": order_id(payer), "subject": "twins"}
    headers = auth(payer) | {"Idempotency-Key": secrets.token_hex(8)}
    start = threading.Barrier(TWINS)

    def one(n: int) -> tuple[int, dict[str, Any]]:
        server = servers[n % len(servers)]
        with requests.Session() as session:
            session.get(server.url + "/health", timeout=10)  # the connection is open
            start.wait(timeout=30)
            response = session.post(server.url + PAYMENTS, json=body, headers=headers, timeout=40)
        return response.status_code, response.json()

    with ThreadPoolExecutor(TWINS) as pool:
        return list(pool.map(one, range(TWINS)))


@pytest.mark.timeout(300)
def test_racing_creates_with_one_idempotency_key_all_get_the_first_payment(
    database_env: dict[str, str], start_server: Callable[..., Server]
) -> None:
    servers = [start_server(database_env, "twin-a"), start_server(database_env, "twin-b")]
    outcomes = [_racing_creates(servers, f"twin{n}") for n in range(5)]

    for answers in outcomes:
        assert [status for status, _ in answers] == [201] * TWINS, answers
        assert len({document["data"]["id"] for _, document in answers}) == 1, answers


# -- finding 5: log forging ------------------------------------------------------


def _token_of(subject: str) -> str:
    claims = {"sub": subject, "roles": ["CUSTOMER"], "exp": int(time.time()) + 600}
    return hide(jwt.encode(claims, SECRET, algorithm="HS256"))


FORGED: Final = "FORGED INFO payments_http.access request_id=0 method=GET path=/ user=admin"
_VALUE: Final = r'(?:"(?:[^"\\]|\\.)*"|[^\s"]+)'
_FIELDS: Final = re.compile(rf"\w+={_VALUE}(?: \w+={_VALUE})*")
_FIELD: Final = re.compile(rf"(\w+)=({_VALUE})")
ACCESS_KEYS: Final = ["request_id", "method", "path", "status", "duration_ms", "user"]


def _fields(line: str) -> dict[str, str]:
    """The key=value pairs of an access log line; a quoted value is JSON-unescaped."""
    message = LOG_LINE.sub("", line, count=1)
    assert _FIELDS.fullmatch(message), line
    pairs = _FIELD.findall(message)
    assert [key for key, _ in pairs] == ACCESS_KEYS, line
    return {key: json.loads(v) if v.startswith('"') else v for key, v in pairs}


@pytest.mark.timeout(120)
def test_a_client_cannot_write_a_log_line_of_its_own(
    sqlite_env: dict[str, str], start_server: Callable[..., Server]
) -> None:
    server = start_server(sqlite_env, "forge")
    subjects = [f"mallory\n{FORGED}", f"mallory\r{FORGED}", f"mallory\u2028{FORGED}"]
    subjects += [f"mallory\x85{FORGED}", f"mallory\x1b[2K\r{FORGED}", 'mallory" user="admin']
    for subject in subjects:
        headers = {"Authorization": f"Bearer {_token_of(subject)}"}
        assert server.request("GET", f"{PAYMENTS}/1", headers=headers).status_code == 404
    server.request("GET", f"{PAYMENTS}/1%0A{FORGED.replace(' ', '%20')}")
    server.stop()

    text = server.log.read_text(encoding="utf-8", errors="replace")
    lines = re.split(r"\r\n|\r|\n|\u2028|\u2029|\x85", text)  # every break a viewer makes
    assert not [line for line in lines if FORGED in line and not LOG_LINE.match(line)]
    assert not [line for line in lines if "\x1b" in line]
    access = [_fields(line) for line in lines if " payments_http.access " in line]
    assert {fields["user"] for fields in access} >= set(subjects)
    assert f"{PAYMENTS}/1\n{FORGED}" in {fields["path"] for fields in access}


# -- finding 6: no redirects, unknown paths are JSON 404 ---------------------------


@pytest.mark.timeout(120)
def test_a_trailing_slash_is_a_json_404_never_a_redirect_built_from_host(
    sqlite_env: dict[str, str], start_server: Callable[..., Server]
) -> None:
    server = start_server(sqlite_env, "slash")
    created = create(server, "slasher")
    attacker_host = {"Host": "evil.example"}
    paths = [
        ("GET", f"{PAYMENTS}/{created.id}/"),
        ("POST", f"{PAYMENTS}/"),
        ("GET", f"{PAYMENTS}/retry/{created.id}/"),
        ("GET", f"{PAYMENTS}/verify/{created.id}/"),
        ("POST", f"{PAYMENTS}/notify/alipay/"),
        ("GET", "/health/"),
        ("GET", "/openapi.json/"),
        ("GET", "/nowhere"),
        ("GET", "//evil.example/api/v1/payments"),
    ]
    answers = {}
    for method, path in paths:
        headers = auth("slasher") | attacker_host
        response = server.request(method, path, headers=headers, allow_redirects=False)
        answers[(method, path)] = (
            response.status_code,
            response.headers.get("content-type"),
            response.json()["error"]["code"],
            response.headers.get("location"),
        )

    assert set(answers.values()) == {(404, "application/json", "not_found", None)}, answers


# -- finding 7: header size and count ---------------------------------------------


def _feed_header(
    port: int, head: bytes, filler: bytes, tail: bytes, total: int = HUGE
) -> tuple[int, bytes]:
    """Send ``head``, ``filler`` until ``total`` bytes or until the server answers, closes
    or stops reading, then ``tail``.

    Returns:
        The bytes of filler sent, and what the server answered (b"" if nothing).
    """
    sent = 0
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)  # we see what it reads
        sock.settimeout(5)
        sock.connect(("127.0.0.1", port))
        sock.sendall(head)
        try:
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(filler)
                sent += len(filler)
            sock.sendall(tail)
        except OSError:  # reset, broken pipe, or a server that stopped reading (timeout)
            pass
        return sent, _answer(sock)


def _answer(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except OSError:
        pass
    return b"".join(chunks)


def _refused(answer: bytes) -> bool:
    return answer == b"" or answer.startswith(b"HTTP/1.1 431 ")


def _peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+)", status)
    assert found is not None, "no VmHWM line in /proc/PID/status"
    return int(found[1])


@pytest.mark.timeout(180)
def test_huge_or_countless_headers_are_refused_early(
    sqlite_env: dict[str, str], start_server: Callable[..., Server]
) -> None:
    server = start_server(sqlite_env, "headers")
    assert server.proc is not None
    rss_before = _peak_rss_kib(server.proc.pid)
    started = time.monotonic()

    request = b"GET /health HTTP/1.1\r\nHost: x\r\n"
    one_value = _feed_header(server.port, request + b"X-Big: ", b"a" * 16384, b"\r\n\r\n")
    many = _feed_header(server.port, request, b"X-N: 1\r\n" * 150, b"\r\n", 1200)  # 1.2 KB
    url = _feed_header(server.port, b"GET /health?", b"q" * 16384, b" HTTP/1.1\r\n\r\n")
    name = _feed_header(server.port, request + b"X-", b"b" * 16384, b": 1\r\n\r\n")

    elapsed = time.monotonic() - started
    grown_kib = _peak_rss_kib(server.proc.pid) - rss_before
    for sent, answer in (one_value, many, url, name):
        assert sent <= ACCEPTABLE, (sent, answer[:200])
        assert _refused(answer), answer[:200]
    assert many[1].startswith(b"HTTP/1.1 431 "), many  # all sent: nothing cut the answer off
    assert elapsed < 60
    assert grown_kib < 8 * 1024, grown_kib
    assert requests.get(server.url + "/health", timeout=5).status_code == 200


@pytest.mark.timeout(120)
def test_a_large_but_sane_request_is_still_served(
    sqlite_env: dict[str, str], start_server: Callable[..., Server]
) -> None:
    server = start_server(sqlite_env, "sane")
    headers = auth("sane") | {f"X-Extra-{n}": "v" * 100 for n in range(60)}  # about 8 KiB
    body = "a=" + "b" * (60 * 1024)  # read with the head in one piece: no part of it

    health = server.request("GET", "/health", headers=headers)
    notify = server.request(
        "POST",
        f"{PAYMENTS}/notify/alipay",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert health.status_code == 200
    assert notify.status_code == 400, notify.text  # Alipay's "resend": not 431
    twice = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 10_000 + b"\r\n\r\n"
    pipelined = _raw_exchange(
        server.port, twice * 2 + b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"
    )
    assert pipelined.count(b"HTTP/1.1 200 ") == 3, pipelined  # each head has its own room


# -- finding 10: response hygiene -----------------------------------------------------


@pytest.mark.timeout(120)
def test_every_answer_is_uncacheable_unsniffable_and_anonymous(
    sqlite_env: dict[str, str], start_server: Callable[..., Server]
) -> None:
    server = start_server(sqlite_env, "hygiene")
    created = create(server, "hygienic")
    bad_token = {"Authorization": "Bearer nope"}
    responses = {
        "create": server.request(
            "POST",
            PAYMENTS,
            json={"orderId": order_id("hygienic"), "subject": "s"},
            headers=auth("hygienic"),
        ),
        "get": server.request("GET", f"{PAYMENTS}/{created.id}", headers=auth("hygienic")),
        "retry": server.request("GET", f"{PAYMENTS}/retry/{created.id}", headers=auth("hygienic")),
        "unauthenticated": server.request("GET", f"{PAYMENTS}/{created.id}", headers=bad_token),
        "not found": server.request("GET", "/nowhere"),
        "method": server.request("DELETE", f"{PAYMENTS}/{created.id}"),
        "invalid": server.request("POST", PAYMENTS, data=b"{", headers=auth("hygienic")),
        "notify": server.request("POST", f"{PAYMENTS}/notify/alipay", data="x=1"),
        "health": server.request("GET", "/health"),
        "openapi": server.request("GET", "/openapi.json"),
    }
    raw = _raw_exchange(server.port, b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n")

    hygiene = {
        name: (
            response.headers.get("cache-control"),
            response.headers.get("x-content-type-options"),
            response.headers.get("server"),
        )
        for name, response in responses.items()
    }
    assert set(hygiene.values()) == {("no-store", "nosniff", None)}, hygiene
    assert responses["create"].json()["data"]["orderString"]
    status_line, _, rest = raw.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 400 "), raw
    assert b"\r\nserver:" not in b"\r\n" + rest.lower().partition(b"\r\n\r\n")[0], raw
    assert b"cache-control: no-store" in rest.lower(), raw


def _raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        return _answer(sock)
