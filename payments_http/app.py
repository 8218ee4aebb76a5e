"""The HTTP adapter's app factory, ``create_app``.

It takes an already composed ``PaymentService`` so that a team can build the service
by hand (see ``examples/server.py``) and mount the app in its own Starlette
application; ``payments_http.compose`` builds everything from the settings.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from payments_core.background import Background
from payments_core.errors import PaymentsError
from payments_core.inmemory import InMemoryOrders
from payments_http import apidocs, openapi, wire
from payments_http._requestlog import RequestLog
from payments_http.auth import Unauthenticated
from payments_http.buyer_return import return_route
from payments_http.errors import error_response, response_for
from payments_http.lifespan import BackgroundWork, StartOnFirstRequest
from payments_http.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from payments_http.metrics import HttpMetrics, Metrics
from payments_http.notify import DEFAULT_NOTIFY_PATH
from payments_http.routes import Endpoints
from payments_http.wire import RequestProblem

if TYPE_CHECKING:
    from payments_core.services import PaymentService
    from payments_http.auth import Authenticator

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def create_app(
    service: PaymentService,
    *,
    authenticator: Authenticator,
    offload_create: bool | None = None,
    background: Sequence[Background] = (),
    extra_routes: Sequence[BaseRoute] = (),
    notify_path: str = DEFAULT_NOTIFY_PATH,
    return_to: str | None = None,
    debug: bool = False,
    metrics: Metrics | None = None,
) -> Starlette:
    """The Starlette app serving the payments API for ``service``.

    Args:
        service: the composed core.
        authenticator: turns ``Authorization`` into a ``Caller`` (see ``payments_http.auth``).
        offload_create: run ``create`` in the thread pool; by default unless the orders
            are the in-memory order book (any other may wait on the network).
        background: started in this order with the app's lifespan, stopped in reverse
            (the in-process sweeper, status-change delivery, resources to close). Mounted,
            the app's lifespan never runs: enter ``payments_lifespan(app)`` in the parent's
            (see ``payments_http.lifespan``); else the first request starts them.
        extra_routes: mounted before the payments routes (the demo mounts the emulator).
        notify_path: where vendors' notifications arrive, ``{vendor}`` in it
            (``PAYMENTS_NOTIFY_PATH``; each vendor's notify URL must name the same path).
        return_to: where a buyer back from a vendor's checkout goes next
            (``PAYMENTS_SHOP_RETURN_URL``; see ``payments_http.buyer_return``).
        debug: Starlette's debug mode; never in production.
        metrics: served at ``/metrics`` and fed each request (``payments_http.metrics``);
            None: no such endpoint, and nothing counted.
    """
    if offload_create is None:
        offload_create = not isinstance(service.orders, InMemoryOrders)
    endpoints = Endpoints(
        service, authenticator, offload_create=offload_create, notify_path=notify_path
    )
    document = openapi.document(notify_path, metrics=metrics is not None)

    work = BackgroundWork(background)

    async def openapi_json(request: Request) -> Response:
        served = openapi.served_at(document, request.scope.get("root_path", ""))
        return Response(openapi.dumps_document(served), media_type="application/json")

    routes: list[BaseRoute] = [
        *extra_routes,
        *endpoints.routes(),
        return_route(service, return_to),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        *apidocs.routes(),
        Route("/", _index, methods=["GET"]),
    ]
    middleware = [
        Middleware(StartOnFirstRequest, work=work),
        Middleware(RequestLog, reraise=debug),  # also answers the uncaught
    ]
    if metrics is not None:
        routes.append(Route("/metrics", _metrics_endpoint(metrics), methods=["GET"]))
        middleware.insert(0, Middleware(HttpMetrics, metrics=metrics))  # sees every answer
    app = Starlette(
        debug=debug,
        routes=routes,
        middleware=middleware,
        exception_handlers={
            PaymentsError: _payments_error,
            Unauthenticated: _unauthenticated,
            RequestProblem: _request_problem,
            HTTPException: _http_exception,
        },
        lifespan=lambda _app: work.running_in(),
    )
    app.state.payments_background = work
    app.state.payments_service = service  # for routes added beside ours (the demo's shop)
    # No path is answered by a redirect: Starlette would build its Location from the
    # request's Host header, and "/api/v1/payments/1/" names nothing here (404).
    app.router.redirect_slashes = False
    return app


async def _index(request: Request) -> Response:
    """``GET /``: where things are, for someone who opens the server's address."""
    root = request.scope.get("root_path", "")
    links = {
        "payments": "/api/v1/payments",
        "openapi": "/openapi.json",
        "docs": "/docs",
        "health": "/health",
    }
    return wire.data({name: f"{root}{path}" for name, path in links.items()})


def _metrics_endpoint(metrics: Metrics) -> Callable[[Request], Awaitable[Response]]:
    async def scrape(request: Request) -> Response:
        del request
        # reads the outbox and, with several workers, their files: off the event loop
        text = await run_in_threadpool(metrics.exposition)
        return Response(text, media_type=METRICS_CONTENT_TYPE)

    return scrape


async def _payments_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PaymentsError)  # noqa: S101 - registered for this type
    response = response_for(exc)
    if response.status_code >= 500:
        log.warning("request_id=%s error=%s", _rid(request), exc.code)
    return response


async def _unauthenticated(request: Request, exc: Exception) -> Response:
    del request
    assert isinstance(exc, Unauthenticated)  # noqa: S101 - registered for this type
    return error_response(
        401,
        "unauthenticated",
        exc.reason,
        headers={"WWW-Authenticate": 'Bearer realm="payments"'},
    )


async def _request_problem(request: Request, exc: Exception) -> Response:
    del request
    assert isinstance(exc, RequestProblem)  # noqa: S101 - registered for this type
    return error_response(exc.status, exc.code, exc.message)


async def _http_exception(request: Request, exc: Exception) -> Response:
    del request
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for this type
    code = _HTTP_CODES.get(exc.status_code, "invalid_request")
    message = "no such resource" if exc.status_code == 404 else str(exc.detail)
    headers: Mapping[str, str] = exc.headers or {}
    return error_response(exc.status_code, code, message, headers=headers)


def _rid(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "-"))
