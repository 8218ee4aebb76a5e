"""The composed system for reliability tests: real ``payments`` processes and their peers.

- ``Server``: ``payments serve`` (or ``payments reconcile``) as a subprocess on 127.0.0.1
  and an ephemeral port, its log captured to a file;
- ``OrdersStandIn``: the orders service (``PAYMENTS_ORDERS_URL``); an order id ``o.<buyer>.<fen>.<x>``
  names its buyer and amount, so it needs no state;
- ``FaultyGateway``: the Alipay emulator behind a stand-in that injects faults per
  trade (timeout, 500, HTML, bad or missing signature, ACQ.SYSTEM_ERROR, paid shown as
  unpaid) and can refuse connections altogether;
- ``probe_plugin``: a ``payments_status_changed`` plugin "installed" for the subprocesses
  through a dist-info folder on PYTHONPATH, writing one line per call;
- helpers for tokens, notifications and counts.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, quote_plus, urlencode

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from payments_alipay.emulator import (
    DEFAULT_BUYER_ID,
    AlipayEmulator,
    ServerThread,
    notification_body,
    signed_answer,
)
from payments_alipay.keys import private_pem, public_pem
from payments_alipay.signing import NOTIFICATION_EXCLUDED, canonical_string, sign_rsa2

ROOT: Final = Path(__file__).resolve().parents[2]
APP_ID: Final = "2021000000000001"
SECRET: Final = "reliability-" + secrets.token_urlsafe(32)
PAYMENTS_BIN: Final = str(Path(sys.executable).with_name("payments"))
TIMEOUT_SLEEP: Final = 10.5  # longer than AlipayGateway's 10 s read timeout
HIDDEN: Final[set[str]] = {SECRET}
"""Tokens, signatures and secrets handed out in this run: no log line may contain one."""


def hide(text: str) -> str:
    """Remember ``text`` (and its first 32 characters) as never to be logged; returns it."""
    HIDDEN.add(text)
    HIDDEN.add(text[:32])
    return text


def full_scale() -> bool:
    """The counts the issue states (CI=true, or PAYMENTS_RELIABILITY_FULL=1)."""
    return os.environ.get("CI") == "true" or os.environ.get("PAYMENTS_RELIABILITY_FULL") == "1"


def scaled(full: int, laptop: int) -> int:
    """``full`` in CI, ``laptop`` elsewhere."""
    return full if full_scale() else laptop


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def token(user: str, roles: tuple[str, ...] = ("CUSTOMER",), *, secret: str = SECRET) -> str:
    """A valid HS256 bearer token."""
    claims = {"sub": user, "roles": list(roles), "exp": int(time.time()) + 3600}
    issued = jwt.encode(claims, secret, algorithm="HS256")
    hide(issued.rpartition(".")[2])
    return hide(issued)


def auth(user: str, roles: tuple[str, ...] = ("CUSTOMER",)) -> dict[str, str]:
    """The Authorization header of ``user``."""
    return {"Authorization": f"Bearer {token(user, roles)}"}


def order_id(buyer: str, fen: int = 1000) -> str:
    """An order the stand-in knows: ``buyer`` owns it and it costs ``fen``/100 CNY."""
    return f"o.{buyer}.{fen}.{secrets.token_hex(6)}"


# -- keys ---------------------------------------------------------------------------


@dataclass
class Keys:
    """The app's key pair, the emulated Alipay platform's, and an attacker's."""

    folder: Path
    app: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    platform: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(65537, 2048)
    )
    attacker: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(65537, 2048)
    )

    def __post_init__(self) -> None:
        (self.folder / "app.pem").write_text(private_pem(self.app))
        (self.folder / "platform_public.pem").write_text(public_pem(self.platform.public_key()))

    def settings(self, gateway_url: str) -> dict[str, str]:
        """The ``ALIPAY_*`` settings (keys as ``@path``)."""
        return {
            "ALIPAY_APP_ID": APP_ID,
            "ALIPAY_PRIVATE_KEY": f"@{self.folder / 'app.pem'}",
            "ALIPAY_PUBLIC_KEY": f"@{self.folder / 'platform_public.pem'}",
            "ALIPAY_GATEWAY": gateway_url,
        }

    def secrets_to_hide(self) -> list[str]:
        """Text that must never appear in a log: private key bodies."""
        lines: list[str] = []
        for key in (self.app, self.platform):
            body = [ln for ln in private_pem(key).splitlines() if not ln.startswith("-----")]
            lines += body[1:-1]
        return lines


# -- the orders stand-in ------------------------------------------------------------


def orders_app() -> Starlette:
    """``GET /api/v1/orders/{id}`` for ids ``o.<buyer>.<fen>.<anything>``."""

    async def order(request: Request) -> Response:
        parts = request.path_params["id"].split(".")
        if len(parts) != 4 or parts[0] != "o" or not parts[2].isdigit():
            return JSONResponse({"error": {"code": "not_found", "message": "no"}}, 404)
        total = str(Decimal(int(parts[2])) / 100)
        data = {"id": request.path_params["id"], "buyer": parts[1], "totalAmount": total}
        return JSONResponse({"data": data | {"status": "CREATED"}})

    return Starlette(routes=[Route("/api/v1/orders/{id}", order)])


# -- the faulty gateway -------------------------------------------------------------

FAULTS: Final = ("timeout", "500", "html", "bad-signature", "unsigned", "system-error", "flip")


class FaultyGateway:
    """The emulator, served through a stand-in that misbehaves per trade on demand.

    ``faults`` maps an ``out_trade_no`` to one of ``FAULTS`` for its query/close calls;
    ``refuse()`` closes the listening socket (connections are refused) until ``recover()``.
    """

    def __init__(self, keys: Keys) -> None:
        self.emulator = AlipayEmulator(
            merchants={APP_ID: keys.app.public_key()},
            platform_private_key=keys.platform,
            resend_factor=1000.0,
        )
        self.faults: dict[str, str] = {}
        self.calls: dict[str, int] = {}
        self._port = free_port()
        self._thread: ServerThread | None = None

    @property
    def url(self) -> str:
        """The gateway URL for ``ALIPAY_GATEWAY``."""
        return f"http://127.0.0.1:{self._port}/gateway.do"

    def start(self) -> None:
        """Listen (again) on the same port."""

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await self._app(scope, receive, send)

        self._thread = ServerThread(app, port=self._port)
        self._thread.start()

    def refuse(self) -> None:
        """Stop listening: every connection is refused."""
        if self._thread is not None:
            self._thread.stop()
            self._thread = None

    def recover(self) -> None:
        """No more faults, and listening."""
        self.faults.clear()
        if self._thread is None:
            self.start()

    def stop(self) -> None:
        """Stop serving and the emulator's notifier."""
        self.refuse()
        self.emulator.shutdown()

    def open(self, order_string: str) -> str:
        """Open the order string as the buyer's browser would; returns the out_trade_no."""
        return str(self.emulator.open(order_string)["out_trade_no"])

    def pay(self, reference: str, amount: str | None = None) -> None:
        """Pay the opened trade at the emulator, without sending its notification."""
        with self.emulator.trades.lock:
            self.emulator.trades.pay(
                reference,
                amount=amount,
                seller_id=self.emulator.seller_id,
                buyer_id=DEFAULT_BUYER_ID,
            )

    def notification(self, reference: str) -> str:
        """The genuine signed notification body of the trade as it stands."""
        with self.emulator.trades.lock:
            trade = self.emulator.trades.get(reference)
            assert trade is not None
            body = notification_body(trade, self.emulator.platform_private_key, datetime.now(UTC))
        hide(signature_of(body))
        return body

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/gateway.do"):
            await self.emulator.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        params = dict(parse_qsl(body.decode()))
        biz = json.loads(params.get("biz_content", "{}") or "{}")
        reference = str(biz.get("out_trade_no", ""))
        self.calls[reference] = self.calls.get(reference, 0) + 1
        fault = self.faults.get(reference)
        status, headers, answer = await self._forward(scope, body)
        if fault is not None:
            status, headers, answer = await self._spoil(fault, params, answer, status, headers)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def _forward(self, scope: Scope, body: bytes) -> tuple[int, list[Any], bytes]:
        sent = False
        out: dict[str, Any] = {"body": b""}

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                out["status"], out["headers"] = message["status"], message.get("headers", [])
            else:
                out["body"] += message.get("body", b"")

        await self.emulator.app(scope, receive, send)
        return out["status"], out["headers"], out["body"]

    async def _spoil(
        self, fault: str, params: Mapping[str, str], answer: bytes, status: int, headers: list[Any]
    ) -> tuple[int, list[Any], bytes]:
        plain = [(b"content-type", b"text/plain")]
        if fault == "timeout":
            await asyncio.sleep(TIMEOUT_SLEEP)
            return 504, plain, b"Gateway Timeout"
        if fault == "500":
            return 500, plain, b"Internal Server Error"
        if fault == "html":
            return 200, [(b"content-type", b"text/html")], b"<html><body>busy</body></html>"
        method = params.get("method", "")
        name = method.replace(".", "_") + "_response"
        node = json.loads(answer).get(name, {})
        key = self.emulator.platform_private_key
        if fault == "flip" and node.get("trade_status") in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            node = {k: node[k] for k in ("code", "msg", "out_trade_no", "trade_no")}
            node |= {"trade_status": "WAIT_BUYER_PAY", "total_amount": "10.00"}
        elif fault == "system-error":
            node = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR"}
            node |= {"sub_msg": "系统错误"}
        elif fault in ("bad-signature", "unsigned"):
            node = {**node, "trade_status": "TRADE_SUCCESS", "total_amount": "10.00"}
            node.setdefault("trade_no", "2099010122001000000000000001")
        text = signed_answer(
            method, node, key, sign=fault != "unsigned", tamper=fault == "bad-signature"
        )
        return 200, [(b"content-type", b"application/json;charset=utf-8")], text.encode()


def forged_notification(reference: str, attacker: rsa.RSAPrivateKey, *, tamper: bool) -> str:
    """A TRADE_SUCCESS notification for ``reference`` that Alipay never sent.

    Signed by the attacker's key, or (``tamper``) signed correctly-shaped but with the
    amount changed after signing.
    """
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    params = {
        "app_id": APP_ID,
        "charset": "utf-8",
        "gmt_payment": stamp,
        "notify_id": secrets.token_hex(16),
        "notify_time": stamp,
        "notify_type": "trade_status_sync",
        "out_trade_no": reference,
        "seller_id": "2088102100000002",
        "total_amount": "10.00",
        "trade_no": "2099" + secrets.token_hex(10),
        "trade_status": "TRADE_SUCCESS",
        "version": "1.0",
    }
    params["sign"] = sign_rsa2(attacker, canonical_string(params, NOTIFICATION_EXCLUDED))
    params["sign_type"] = "RSA2"
    hide(params["sign"])
    if tamper:
        params["total_amount"] = "0.01"
    return urlencode(list(params.items()), quote_via=quote_plus)


def signature_of(body: str) -> str:
    """The ``sign`` value of a notification body."""
    return dict(parse_qsl(body))["sign"]


# -- the probe plugin ---------------------------------------------------------------

PROBE_MODULE: Final = '''
"""Records every payments_status_changed and payments_refund_changed call: one line each,
appended atomically."""
import os
import pluggy

hookimpl = pluggy.HookimplMarker("payments")
_PATH = os.environ["PAYMENTS_PROBE_FILE"]


def _append(line):
    fd = os.open(_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@hookimpl
def payments_status_changed(payment, previous, current):
    _append(f"{payment.id} {previous.value if previous else '-'} {current.value} {os.getpid()}\\n")


@hookimpl
def payments_refund_changed(refund, previous, current):
    _append(
        f"refund {refund.id} {previous.value if previous else '-'} {current.value} {os.getpid()}\\n"
    )
'''


def probe_plugin(folder: Path) -> tuple[str, Path]:
    """A plugin installed for subprocesses: (PYTHONPATH entry, the file it writes)."""
    site = folder / "probe-site"
    info = site / "payments_reliability_probe-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "payments_reliability_probe.py").write_text(PROBE_MODULE)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: payments-reliability-probe\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[payments]\nreliability_probe = payments_reliability_probe\n"
    )
    return str(site), folder / "hook-calls.txt"


def hook_calls(path: Path) -> list[tuple[int, str, str]]:
    """(payment id, previous, current) of every recorded status hook call."""
    if not path.exists():
        return []
    calls = []
    for line in path.read_text().splitlines():
        if line.startswith("refund "):
            continue
        pid, previous, current, _ = line.split()
        calls.append((int(pid), previous, current))
    return calls


def refund_hook_calls(path: Path) -> list[tuple[int, str, str]]:
    """(refund id, previous, current) of every recorded refund hook call."""
    if not path.exists():
        return []
    calls = []
    for line in path.read_text().splitlines():
        if line.startswith("refund "):
            _, rid, previous, current, _ = line.split()
            calls.append((int(rid), previous, current))
    return calls


# -- the server processes -----------------------------------------------------------


class Server:
    """``payments serve`` in a subprocess of its own session, its output in a log file."""

    def __init__(self, env: Mapping[str, str], log: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.env = dict(env) | {"PAYMENTS_PORT": str(self.port)}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.session = requests.Session()
        self.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        """Start and wait until ``/health`` answers 200."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - fixed arguments
                [PAYMENTS_BIN, "serve", "--log-level", "info"],
                env=self.env,
                cwd=self.log.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"payments serve exited: {self.log.read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("payments serve did not become healthy in time")

    def kill(self) -> None:
        """kill -9 the server's process group."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request to this server (40 s timeout unless given)."""
        kwargs.setdefault("timeout", 40)
        return self.session.request(method, self.url + path, **kwargs)


def reconcile(env: Mapping[str, str], log: Path, timeout: float = 120) -> subprocess.Popen[bytes]:
    """``payments reconcile`` started (not waited for), its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - fixed arguments
            [PAYMENTS_BIN, "reconcile"],
            env=dict(env),
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def base_env(
    folder: Path, database_url: str, gateway_url: str, orders_url: str, keys: Keys
) -> dict[str, str]:
    """The environment of every ``payments`` process of one test."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("PAYMENTS_", "ALIPAY_"))}
    return (
        kept
        | keys.settings(gateway_url)
        | {
            "PAYMENTS_DATABASE_URL": database_url,
            "PAYMENTS_JWT_SECRET": SECRET,
            "PAYMENTS_ORDERS_URL": orders_url,
            "PAYMENTS_RECONCILE_INTERVAL": "0",
            "PAYMENTS_PUBLIC_URL": "http://127.0.0.1:9",  # the emulator's own notices go nowhere
            "ALIPAY_SELLER_ID": "2088102100000002",
            "PYTHONUNBUFFERED": "1",
        }
    )


def scan_logs(logs: list[Path], hidden: list[str]) -> list[str]:
    """Log lines that contain any of ``hidden``."""
    found = []
    for log in logs:
        if not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            if any(h and h in line for h in hidden):
                found.append(f"{log.name}: {line[:200]}")
    return found


@dataclass
class Created:
    """A payment the server answered 201 for."""

    id: int
    payer: str
    reference: str
    order_string: str


def create(server: Server, payer: str, fen: int = 1000, subject: str = "reliability") -> Created:
    """POST a payment for a new order of ``payer``; asserts 201."""
    response = server.request(
        "POST",
        "/api/v1/payments",
        json={"orderId": order_id(payer, fen), "subject": subject},
        headers=auth(payer),
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    reference = dict(parse_qsl(data["orderString"].partition("?")[2]))["biz_content"]
    return Created(
        id=data["id"],
        payer=payer,
        reference=json.loads(reference)["out_trade_no"],
        order_string=data["orderString"],
    )


def status_of(server: Server, created: Created) -> str:
    """The payment's status as the payer sees it."""
    response = server.request("GET", f"/api/v1/payments/{created.id}", headers=auth(created.payer))
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["status"])


def wait_until(predicate: Any, timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def iterate_in_chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
