"""The lower bound for bench/http.py: the least a server can do per request, and no more.

Async Starlette endpoints that call the crypto and SQLAlchemy Core directly, with keys
loaded once and a prepared table of the same width as ours:

- ``POST /api/v1/payments``: parse the JSON body, one RSA2 signature over a page-pay
  parameter string, one row insert (autocommit transaction);
- ``GET /api/v1/payments/{id}``: one select by primary key (autocommit read);
- ``POST /api/v1/payments/notify/alipay``: parse the form, one RSA2 verification,
  one update by reference.

No authentication, no orders lookup, no status transitions, no outbox: those are what our
server adds, and the ratio says what they cost. Served by uvicorn with
``bench._lowerbound:create_app --factory``; configured by ``LB_DATABASE_URL``,
``LB_PRIVATE_KEY`` and ``LB_PUBLIC_KEY`` (paths to PEM files).
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final
from urllib.parse import parse_qsl, quote_plus, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    update,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

_PADDING: Final = padding.PKCS1v15()
metadata = MetaData()
lb_payments: Final = Table(
    "lb_payments",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("order_id", String, nullable=False),
    Column("reference", String, nullable=False, unique=True),
    Column("order_string", Text, nullable=False),
    Column("payer", String, nullable=False),
    Column("subject", Text, nullable=False),
    Column("description", Text),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Column("confirmed_at", String),
    Column("vendor_trade_id", String),
    Column("valid", Boolean, nullable=False),
)


def make_engine(url: str) -> Engine:
    """SQLite in WAL mode (as ours), or PostgreSQL through psycopg with a small pool."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 5, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection: Any, _record: object) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

        return engine
    return create_engine(url, pool_size=5, max_overflow=5)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _row_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "order": row.order_id,
        "orderString": row.order_string,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "payer": row.payer,
        "subject": row.subject,
        "description": row.description,
        "totalAmount": row.amount_minor / 100,
        "status": row.status,
        "vendorTradeId": row.vendor_trade_id,
        "confirmedAt": row.confirmed_at,
        "confirmed": row.status == "CONFIRMED",
        "valid": row.valid,
    }


def _page_pay_text(reference: str, subject: str, now: str) -> str:
    biz = json.dumps(
        {"out_trade_no": reference, "product_code": "FAST_INSTANT_TRADE_PAY"},
        separators=(",", ":"),
    )
    params = {
        "app_id": "2021000000000001",
        "biz_content": biz,
        "charset": "utf-8",
        "method": "alipay.trade.page.pay",
        "sign_type": "RSA2",
        "subject": subject,
        "timestamp": now,
        "version": "1.0",
    }
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()))


def create_app() -> Starlette:
    """The lower-bound app for the database and keys named by the environment."""
    engine = make_engine(os.environ["LB_DATABASE_URL"])
    reads = engine.execution_options(isolation_level="AUTOCOMMIT")
    private = serialization.load_pem_private_key(
        Path(os.environ["LB_PRIVATE_KEY"]).read_bytes(), password=None
    )
    public = serialization.load_pem_public_key(Path(os.environ["LB_PUBLIC_KEY"]).read_bytes())
    assert isinstance(private, rsa.RSAPrivateKey)  # noqa: S101 - the bench writes these keys
    assert isinstance(public, rsa.RSAPublicKey)  # noqa: S101 - the bench writes these keys
    get_one = select(lb_payments).where(lb_payments.c.id == bindparam("id"))

    async def create(request: Request) -> Response:
        body = json.loads(await request.body())
        now = _now()
        reference = "L" + os.urandom(12).hex()
        text = _page_pay_text(reference, body["subject"], now)
        sign = base64.b64encode(private.sign(text.encode(), _PADDING, hashes.SHA256())).decode()
        row = {
            "order_id": body["orderId"],
            "reference": reference,
            "order_string": "https://gw/gateway.do?" + text + "&sign=" + quote_plus(sign),
            "payer": "bench",
            "subject": body["subject"],
            "description": body.get("description"),
            "amount_minor": 1000,
            "currency": "CNY",
            "status": "PENDING",
            "created_at": now,
            "updated_at": now,
            "valid": False,
        }
        with engine.begin() as conn:
            new_id = conn.execute(insert(lb_payments), row).inserted_primary_key[0]  # type: ignore[index]  # never None after a one-row INSERT
        view = _row_view(SimpleNamespace(id=new_id, confirmed_at=None, vendor_trade_id=None, **row))
        headers = {"Location": f"/api/v1/payments/{new_id}"}
        return JSONResponse({"data": view}, 201, headers=headers)

    async def get(request: Request) -> Response:
        with reads.connect() as conn:
            row = conn.execute(get_one, {"id": int(request.path_params["id"])}).first()
        if row is None:
            return JSONResponse({"error": {"code": "payment_not_found", "message": "no"}}, 404)
        return JSONResponse({"data": _row_view(row)})

    async def notify(request: Request) -> Response:
        fields = dict(parse_qsl((await request.body()).decode()))
        sign = fields.pop("sign", "")
        fields.pop("sign_type", None)
        text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if v)
        try:
            public.verify(base64.b64decode(sign), text.encode(), _PADDING, hashes.SHA256())
        except (InvalidSignature, ValueError):
            return PlainTextResponse("failure", 400)
        with engine.begin() as conn:
            conn.execute(
                update(lb_payments)
                .where(lb_payments.c.reference == fields["out_trade_no"])
                .values(status="CONFIRMED", confirmed_at=_now(), vendor_trade_id=fields["trade_no"])
            )
        return PlainTextResponse("success")

    return Starlette(
        routes=[
            Route("/api/v1/payments", create, methods=["POST"]),
            Route("/api/v1/payments/notify/alipay", notify, methods=["POST"]),
            Route("/api/v1/payments/{id}", get, methods=["GET"]),
        ]
    )


def prepare(url: str) -> None:
    """Create the lower bound's table, empty."""
    engine = make_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    engine.dispose()


def references(url: str) -> list[str]:
    """Every reference the lower bound has issued."""
    engine = make_engine(url)
    with engine.connect() as conn:
        found = [r[0] for r in conn.execute(select(lb_payments.c.reference).order_by("id"))]
    engine.dispose()
    return found


def encode_form(params: dict[str, str]) -> str:
    """A form body, as Alipay sends it."""
    return urlencode(list(params.items()), quote_via=quote_plus)
