"""HTTP throughput and latency of our server against a lower bound measured in the same run.

For each database (SQLite WAL, PostgreSQL) and each worker count (1, 2), it serves the
lower-bound app (``bench/_lowerbound.py``: the irreducible work only) and our real server
(``bench/_served.py``: ``create_app_from_settings``, with the uvicorn options of ``payments
serve``) side by side, both under uvicorn with uvloop and httptools on 127.0.0.1, and
drives them with wrk (``--latency``) for POST create, GET payment and POST notify, in that
order:

- create: a new ``bench-*`` order each request (ours also checks the JWT, looks the order
  up, signs the order string, stores payment + attempt + outbox row);
- get: a random existing payment;
- notify: signed TRADE_SUCCESS notifications for payments made by create, a fresh set
  each round, cycled (the first pass confirms, later passes are duplicates, as Alipay's
  resends are).

Each endpoint is run ``--rounds`` times on each server, taking turns and changing who
goes first each round: this shared machine drifts by tens of percent within a minute, and
a ratio of two runs made far apart measured the drift as much as the servers. It prints
the median requests/s, p50 and p99 of both, the median of the rounds' ratios (targets:
throughput >= 0.7 of the lower bound, p99 <= 2x its p99), each round's ratios, and how
wrk's connections were split between uvicorn's worker processes (sampled mid-run with
``ss``). Run from the project root::

    python -m bench.http                      # everything: 3 rounds of 5 s per endpoint
    python -m bench.http --duration 3 --rounds 1 --databases sqlite --workers 1

``--compare metrics`` measures what ``/metrics`` costs instead: our server with
``PAYMENTS_METRICS=off`` in place of the lower bound, against it as served by default
(metrics on, and with several workers their shared folder, as ``payments serve`` runs
them); the target is then x0.95 of the throughput::

    python -m bench.http --compare metrics

PostgreSQL comes from ``--postgres-url`` or ``PAYMENTS_TEST_POSTGRES_URL``; each run uses
a schema of its own (dropped afterwards). Needs ``wrk`` (Debian: ``apt-get install wrk``).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # `python bench/http.py` would put bench/ first on sys.path, and
    # this file would then shadow the standard library's `http` package: drop that entry.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

ROOT: Final = Path(__file__).resolve().parent.parent
APP_ID: Final = "2021000000000001"
ENDPOINTS: Final = ("create", "get", "notify")
SERVED: Final = "bench._served:create_app"
_UNITS: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0}

LUA_COMMON: Final = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local token = os.getenv("BENCH_TOKEN") or ""
local auth = {["Authorization"] = "Bearer " .. token}
"""
LUA_CREATE: Final = (
    LUA_COMMON
    + """
local run = os.getenv("BENCH_RUN")
local n = 0
local headers = {["Authorization"] = auth["Authorization"], ["Content-Type"] = "application/json"}
function request()
  n = n + 1
  local body = '{"orderId":"bench-' .. run .. '-' .. tid .. '-' .. n .. '","subject":"bench"}'
  return wrk.format("POST", "/api/v1/payments", headers, body)
end
"""
)
LUA_GET: Final = (
    LUA_COMMON
    + """
local last = tonumber(os.getenv("BENCH_MAX_ID"))
function init(args)
  math.randomseed(tid * 7919 + os.time())
end
function request()
  return wrk.format("GET", "/api/v1/payments/" .. math.random(1, last), auth)
end
"""
)
LUA_NOTIFY: Final = (
    LUA_COMMON
    + """
local bodies = {}
local i = 0
local form = {["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"}
function init(args)
  for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
  i = tid * 7919
end
function request()
  i = i + 1
  return wrk.format("POST", "/api/v1/payments/notify/alipay", form, bodies[(i % #bodies) + 1])
end
"""
)


@dataclass
class Result:
    """One wrk run."""

    rps: float
    p50: float
    p99: float
    requests: int
    errors: int
    split: list[int] = field(default_factory=list)

    def cell(self) -> str:
        """``rps p50/p99`` for the table."""
        return f"{self.rps:8.0f} {self.p50:7.2f}/{self.p99:7.2f}"


@dataclass
class Keys:
    """PEM files of the app key pair and of the (emulated) Alipay platform key pair."""

    app_private: Path
    platform_private: Path
    platform_public: Path
    signer: RSAPrivateKey


def _make_keys(directory: Path) -> Keys:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from payments_alipay.keys import private_pem, public_pem

    app, platform = (rsa.generate_private_key(65537, 2048) for _ in range(2))
    keys = Keys(
        app_private=directory / "app.pem",
        platform_private=directory / "platform.pem",
        platform_public=directory / "platform_public.pem",
        signer=platform,
    )
    keys.app_private.write_text(private_pem(app))
    keys.platform_private.write_text(private_pem(platform))
    keys.platform_public.write_text(public_pem(platform.public_key()))
    return keys


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start in time")


def _start(app: str, port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    if app == SERVED:  # uvicorn as `payments serve` configures it (bounded head, ...)
        command = [sys.executable, "-m", "bench._served", str(port), str(workers)]
    else:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={workers}",
            "--loop=uvloop",
            "--http=httptools",
            "--no-access-log",
            "--log-level=warning",
        ]
    proc = subprocess.Popen(  # noqa: S603 - fixed arguments
        command, cwd=ROOT, env=env, start_new_session=True
    )
    _wait_ready(port, proc)
    time.sleep(1.0 if workers > 1 else 0.2)  # let every worker finish its start-up
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _split(port: int) -> list[int]:
    """Established server-side connections on ``port`` per process, largest first."""
    out = subprocess.run(  # noqa: S603 - fixed arguments
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    pids = Counter(re.findall(r"pid=(\d+)", out))
    return sorted(pids.values(), reverse=True)


def _millis(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def _found(pattern: str, output: str) -> str:
    """The first group of ``pattern`` in wrk's ``output``."""
    match = re.search(pattern, output)
    if not match:
        raise ValueError(f"no {pattern!r} in wrk's output:\n{output}")
    return match[1]


def _parse(output: str) -> Result:
    rps = float(_found(r"Requests/sec:\s+([\d.]+)", output))
    p50 = _millis(_found(r"\s50%\s+(\S+)", output))
    p99 = _millis(_found(r"\s99%\s+(\S+)", output))
    total = int(_found(r"(\d+) requests in", output))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = (int(bad[1]) if bad else 0) + (sum(int(g) for g in sock.groups()) if sock else 0)
    return Result(rps=rps, p50=p50, p99=p99, requests=total, errors=errors)


def _wrk(port: int, script: Path, args: argparse.Namespace, env: dict[str, str]) -> Result:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "--timeout=10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
    ]
    splits: list[list[int]] = []
    sampler = threading.Timer(args.duration / 2, lambda: splits.append(_split(port)))
    sampler.start()
    done = subprocess.run(  # noqa: S603 - fixed arguments
        command, capture_output=True, text=True, env=env, check=True, timeout=args.duration + 60
    )
    sampler.join()
    result = _parse(done.stdout)
    result.split = splits[0] if splits else []
    return result


def _notification(reference: str, signer: RSAPrivateKey, now: datetime) -> str:
    from bench._lowerbound import encode_form
    from payments_alipay.signing import canonical_string, sign_rsa2

    stamp = now.astimezone(UTC) + timedelta(hours=8)
    params = {
        "app_id": APP_ID,
        "auth_app_id": APP_ID,
        "charset": "utf-8",
        "gmt_payment": stamp.strftime("%Y-%m-%d %H:%M:%S"),
        "notify_id": secrets.token_hex(16),
        "notify_time": stamp.strftime("%Y-%m-%d %H:%M:%S"),
        "notify_type": "trade_status_sync",
        "out_trade_no": reference,
        "total_amount": "10.00",
        "trade_no": "2026" + secrets.token_hex(10),
        "trade_status": "TRADE_SUCCESS",
        "version": "1.0",
    }
    params["sign"] = sign_rsa2(signer, canonical_string(params, ("sign", "sign_type")))
    params["sign_type"] = "RSA2"
    return encode_form(params)


def _write_bodies(path: Path, references: list[str], keys: Keys, limit: int) -> int:
    now = datetime.now(UTC)
    chosen = references[:limit]
    path.write_text("".join(_notification(r, keys.signer, now) + "\n" for r in chosen))
    return len(chosen)


def _our_references(url: str) -> list[str]:
    from sqlalchemy import select

    from payments_sqlstore.engine import make_engine
    from payments_sqlstore.tables import attempts

    engine = make_engine(url)
    with engine.connect() as conn:
        found = [r[0] for r in conn.execute(select(attempts.c.reference))]
    engine.dispose()
    return found


def _token(secret: str) -> str:
    import jwt

    claims = {
        "sub": "bench",
        "roles": ["CUSTOMER"],
        "exp": datetime.now(UTC) + timedelta(hours=2),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


@dataclass
class Target:
    """One server to measure: its app, environment and how to list its references."""

    name: str
    app: str
    env: dict[str, str]
    url: str


def _databases(args: argparse.Namespace, tmp: Path, tag: str) -> dict[str, str]:
    """Fresh database URLs for the lower bound and ours."""
    if tag.startswith("sqlite"):
        for name in ("lb", "ours"):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{tmp}/{name}.db{suffix}").unlink(missing_ok=True)
        return {"lb": f"sqlite:///{tmp}/lb.db", "ours": f"sqlite:///{tmp}/ours.db"}
    import psycopg

    base = args.postgres_url.replace("postgresql+psycopg://", "postgresql://")
    urls = {}
    with psycopg.connect(base, autocommit=True) as conn:
        for name in ("lb", "ours"):
            schema = f"bench_http_{name}"
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {schema}")
            sep = "&" if "?" in args.postgres_url else "?"
            urls[name] = f"{args.postgres_url}{sep}options=-csearch_path%3D{schema}"
    return urls


def _drop_postgres_schemas(args: argparse.Namespace) -> None:
    import psycopg

    base = args.postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as conn:
        for name in ("lb", "ours"):
            conn.execute(f"DROP SCHEMA IF EXISTS bench_http_{name} CASCADE")


def _targets(urls: dict[str, str], keys: Keys, secret: str, compare: str) -> list[Target]:
    """The baseline first, then the server measured against it."""
    from bench import _lowerbound
    from payments_sqlstore.schema import upgrade

    base = {k: v for k, v in os.environ.items() if not k.startswith(("PAYMENTS_", "ALIPAY_"))}

    def ours_env(url: str) -> dict[str, str]:
        return base | {
            "PAYMENTS_DATABASE_URL": url,
            "PAYMENTS_JWT_SECRET": secret,
            "PAYMENTS_RECONCILE_INTERVAL": "0",
            "ALIPAY_APP_ID": APP_ID,
            "ALIPAY_PRIVATE_KEY": f"@{keys.app_private}",
            "ALIPAY_PUBLIC_KEY": f"@{keys.platform_public}",
            "ALIPAY_GATEWAY": "http://127.0.0.1:9/gateway.do",
        }

    upgrade(urls["ours"])
    if compare == "metrics":
        upgrade(urls["lb"])
        return [
            Target(
                "metrics off",
                SERVED,
                ours_env(urls["lb"]) | {"PAYMENTS_METRICS": "off"},
                urls["lb"],
            ),
            Target(
                "metrics on",
                SERVED,
                ours_env(urls["ours"]) | {"PAYMENTS_METRICS": "on"},
                urls["ours"],
            ),
        ]
    _lowerbound.prepare(urls["lb"])
    lb_env = base | {
        "LB_DATABASE_URL": urls["lb"],
        "LB_PRIVATE_KEY": str(keys.app_private),
        "LB_PUBLIC_KEY": str(keys.platform_public),
    }
    return [
        Target("lower bound", "bench._lowerbound:create_app", lb_env, urls["lb"]),
        Target("ours", SERVED, ours_env(urls["ours"]), urls["ours"]),
    ]


def _references(target: Target) -> list[str]:
    from bench import _lowerbound

    if target.app == SERVED:
        return _our_references(target.url)
    return _lowerbound.references(target.url)


@dataclass
class Served:
    """One target's server, running."""

    target: Target
    port: int
    proc: subprocess.Popen[bytes]


def _serve(target: Target, workers: int) -> Served:
    port = _free_port()
    env = target.env | {
        "PAYMENTS_PORT": str(port),
        "PAYMENTS_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    return Served(target, port, _start(target.app, port, workers, env))


def _rounds(
    servers: list[Served],
    endpoint: str,
    args: argparse.Namespace,
    keys: Keys,
    tmp: Path,
    token: str,
) -> list[dict[str, Result]]:
    """``args.rounds`` wrk runs of ``endpoint`` on each server, taking turns (and turning
    the order round each time), so that the machine drifting affects both alike."""
    script = tmp / f"{endpoint}.lua"
    script.write_text({"create": LUA_CREATE, "get": LUA_GET, "notify": LUA_NOTIFY}[endpoint])
    envs: dict[str, list[dict[str, str]]] = {}
    for served in servers:
        references = _references(served.target)
        if endpoint in ("get", "notify") and not references:
            raise RuntimeError("get and notify need the payments made by create: keep create")
        envs[served.target.name] = [
            _wrk_env(served, endpoint, references, n, args, keys, tmp, token)
            for n in range(args.rounds)
        ]
    rounds = []
    for n in range(args.rounds):
        turn = servers if n % 2 == 0 else servers[::-1]
        rounds.append(
            {s.target.name: _wrk(s.port, script, args, envs[s.target.name][n]) for s in turn}
        )
    return rounds


def _wrk_env(
    served: Served,
    endpoint: str,
    references: list[str],
    n: int,
    args: argparse.Namespace,
    keys: Keys,
    tmp: Path,
    token: str,
) -> dict[str, str]:
    env = os.environ | {
        "BENCH_TOKEN": token,
        "BENCH_RUN": secrets.token_hex(4),
        "BENCH_MAX_ID": str(len(references)),
    }
    if endpoint == "notify":  # each round its own payments: a first pass confirms them all
        bodies = tmp / f"bodies-{served.port}-{n}.txt"
        _write_bodies(bodies, references[n :: args.rounds], keys, args.notifications)
        env["BENCH_BODIES"] = str(bodies)
    return env


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _summary(rounds: list[dict[str, Result]], name: str) -> Result:
    """The median round of ``name`` (by requests/s), with every round's errors."""
    mine = sorted((r[name] for r in rounds), key=lambda result: result.rps)
    middle = mine[len(mine) // 2]
    return Result(
        rps=_median([r.rps for r in mine]),
        p50=_median([r.p50 for r in mine]),
        p99=_median([r.p99 for r in mine]),
        requests=sum(r.requests for r in mine),
        errors=sum(r.errors for r in mine),
        split=middle.split,
    )


# (least throughput ratio, most p99 ratio) each comparison must keep
TARGETS: Final = {"lowerbound": (0.7, 2.0), "metrics": (0.95, 2.0)}


def _ratio_line(
    endpoint: str, rounds: list[dict[str, Result]], names: tuple[str, str], compare: str
) -> str:
    first, second = names
    lower, ours = _summary(rounds, first), _summary(rounds, second)
    each = [(r[second].rps / r[first].rps if r[first].rps else 0.0) for r in rounds]
    tails = [(r[second].p99 / r[first].p99 if r[first].p99 else float("inf")) for r in rounds]
    throughput, p99 = _median(each), _median(tails)
    least, most = TARGETS[compare]
    verdict = "ok" if throughput >= least and p99 <= most else "MISSES TARGET"
    per_round = " ".join(f"{t:.2f}/{q:.2f}" for t, q in zip(each, tails, strict=True))
    splits = f"split {first} {lower.split} {second} {ours.split}"
    errors = f"errors {first} {lower.errors} {second} {ours.errors}"
    return (
        f"  {endpoint:<7} {lower.cell()} | {ours.cell()} | x{throughput:5.2f} rps"
        f"  x{p99:5.2f} p99  {verdict:<13} rounds {per_round}  {splits}  {errors}"
    )


def _compare(
    workers: int, urls: dict[str, str], args: argparse.Namespace, keys: Keys, tmp: Path, secret: str
) -> None:
    token = _token(secret)
    servers: list[Served] = []
    try:
        targets = _targets(urls, keys, secret, args.compare)
        for target in targets:
            servers.append(_serve(target, workers))
        names = (targets[0].name, targets[1].name)
        for endpoint in args.endpoints:
            rounds = _rounds(servers, endpoint, args, keys, tmp, token)
            print(_ratio_line(endpoint, rounds, names, args.compare))
    finally:
        for served in servers:
            _stop(served.proc)


def run(args: argparse.Namespace) -> int:
    """Every configuration asked for; prints as it goes. Returns the exit status."""
    if shutil.which("wrk") is None:
        print("wrk is MISSING: install it (Debian: apt-get install -y wrk); nothing measured.")
        return 2
    secret = secrets.token_urlsafe(48)
    with tempfile.TemporaryDirectory(prefix="bench-http-") as name:
        tmp = Path(name)
        keys = _make_keys(tmp)
        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency,"
            f" {args.rounds} rounds per endpoint taken in turns"
        )
        least, most = TARGETS[args.compare]
        first, second = (
            ("metrics off", "metrics on")
            if args.compare == "metrics"
            else ("the lower bound", "ours")
        )
        print(
            f"columns: median req/s p50/p99 ms for {first} | {second} | median of the"
            f" rounds' ratios (targets x{least:.2f}, x{most:.2f}) | each round's rps/p99 ratios"
        )
        for database in args.databases:
            if database == "postgres" and not args.postgres_url:
                print("postgres: SKIPPED, no --postgres-url or PAYMENTS_TEST_POSTGRES_URL")
                continue
            for workers in args.workers:
                print(f"{database}, {workers} worker(s):", flush=True)
                urls = _databases(args, tmp, database)
                _compare(workers, urls, args, keys, tmp, secret)
        if "postgres" in args.databases and args.postgres_url:
            _drop_postgres_schemas(args)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="wrk runs per endpoint and server, in turns"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--databases", type=lambda s: s.split(","), default=["sqlite", "postgres"])
    parser.add_argument("--workers", type=lambda s: [int(w) for w in s.split(",")], default=[1, 2])
    parser.add_argument("--endpoints", type=lambda s: s.split(","), default=list(ENDPOINTS))
    parser.add_argument(
        "--notifications",
        type=int,
        default=20000,
        help="distinct notification bodies per round at most",
    )
    parser.add_argument("--postgres-url", default=os.environ.get("PAYMENTS_TEST_POSTGRES_URL", ""))
    parser.add_argument(
        "--compare",
        choices=sorted(TARGETS),
        default="lowerbound",
        help="lowerbound: ours against the lower bound; metrics: metrics on against off",
    )
    return parser


if __name__ == "__main__":
    raise SystemExit(run(_parser().parse_args()))
