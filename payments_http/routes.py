"""The endpoints of the payments API, bound to one composed ``PaymentService``.

Database and signing work runs inline on the event loop (measured faster than the
thread pool for this workload); anything that waits on a vendor over the network
(verify, retry, refunds, notifications, which may send a refund, and create when the
orders service is remote) runs in a thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from payments_core.converters import attempt_document, refund_document, status_change_document
from payments_core.errors import PaymentNotFound, RefundNotFound, StoreUnavailable
from payments_http import wire
from payments_http.errors import error_response
from payments_http.notify import (
    DEFAULT_NOTIFY_PATH,
    NOTIFICATION_STATUS,
    handle_notification_http,
    notification_status,
)

if TYPE_CHECKING:
    from payments_core.services import PaymentService
    from payments_core.values import Caller
    from payments_http.auth import Authenticator

PAYMENTS: Final = "/api/v1/payments"
__all__ = ["NOTIFICATION_STATUS", "PAYMENTS", "Endpoints", "notification_status"]
_P = ParamSpec("_P")
_T = TypeVar("_T")


class Endpoints:
    """The request handlers; ``routes()`` lists them for a Starlette app."""

    def __init__(
        self,
        service: PaymentService,
        authenticator: Authenticator,
        *,
        offload_create: bool,
        notify_path: str = DEFAULT_NOTIFY_PATH,
    ) -> None:
        self._service = service
        self._authenticator = authenticator
        self._offload_create = offload_create
        self._notify_path = notify_path

    def routes(self) -> list[Route]:
        """The routes, most specific first."""
        return [
            Route(PAYMENTS, self.create, methods=["POST"]),
            Route(PAYMENTS, self.list, methods=["GET"]),
            Route(PAYMENTS + "/retry/{id}", self.retry, methods=["GET", "POST"]),
            Route(PAYMENTS + "/verify/{id}", self.verify, methods=["GET"]),
            Route(self._notify_path, self.notify, methods=["POST"]),
            Route(PAYMENTS + "/{id}/refunds", self.refunds, methods=["GET", "POST"]),
            Route(PAYMENTS + "/{id}/refunds/{refundId}", self.refund, methods=["GET"]),
            Route(PAYMENTS + "/{id}/attempts", self.attempts, methods=["GET"]),
            Route(PAYMENTS + "/{id}/events", self.status_changes, methods=["GET"]),
            Route(PAYMENTS + "/{id}", self.get, methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
        ]

    def _caller(self, request: Request) -> Caller:
        caller = self._authenticator.authenticate(request.headers.get("authorization"))
        request.state.user = caller.username
        return caller

    async def create(self, request: Request) -> Response:
        """``POST /api/v1/payments``: 201 with the new payment and its Location."""
        caller = self._caller(request)
        self._service.check_may_create(caller)
        wire.require_json(request)
        body = wire.parse_create(await wire.read_body(request))
        key = wire.idempotency_key(request)
        payment = await self._run(
            self._offload_create,
            self._service.create,
            caller,
            order_id=body.order_id,
            subject=body.subject,
            description=body.description,
            idempotency_key=key,
            vendor=body.vendor,
        )
        # Under a mount (or uvicorn's --root-path) the client reaches us below root_path.
        location = f"{request.scope.get('root_path', '')}{PAYMENTS}/{payment.id}"
        return wire.payment_response(payment, 201, {"Location": location})

    async def get(self, request: Request) -> Response:
        """``GET /api/v1/payments/{id}``."""
        caller = self._caller(request)
        payment = self._service.get(caller, _path_id(request))
        return wire.payment_response(payment)

    async def list(self, request: Request) -> Response:
        """``GET /api/v1/payments``: a page of the payments the caller may see."""
        caller = self._caller(request)
        query = wire.parse_list(request.query_params)
        page = self._service.list_payments(
            caller,
            status=query.status,
            order_id=query.order_id,
            payer=query.payer,
            created_from=query.created_from,
            created_to=query.created_to,
            limit=query.limit,
            cursor=query.cursor,
        )
        return wire.page_response(page)

    async def attempts(self, request: Request) -> Response:
        """``GET /api/v1/payments/{id}/attempts``: for an ADMIN, oldest first."""
        caller = self._caller(request)
        self._service.check_may_see_attempts(caller)
        attempts = self._service.attempts(caller, _path_id(request))
        return wire.data([attempt_document(a) for a in attempts])

    async def status_changes(self, request: Request) -> Response:
        """``GET /api/v1/payments/{id}/events``: its status changes, oldest first."""
        caller = self._caller(request)
        changes = self._service.status_changes(caller, _path_id(request))
        return wire.data([status_change_document(c) for c in changes])

    async def retry(self, request: Request) -> Response:
        """``GET|POST /api/v1/payments/retry/{id}``: a new attempt and order string."""
        caller = self._caller(request)
        pid = _path_id(request)
        payment = await run_in_threadpool(self._service.retry, caller, pid)
        return wire.payment_response(payment)

    async def verify(self, request: Request) -> Response:
        """``GET /api/v1/payments/verify/{id}``: ask the vendor now."""
        caller = self._caller(request)
        pid = _path_id(request)
        confirmed = await run_in_threadpool(self._service.verify, caller, pid)
        return wire.data(confirmed)

    async def refunds(self, request: Request) -> Response:
        """``POST|GET /api/v1/payments/{id}/refunds``: request a refund, or list them."""
        caller = self._caller(request)
        pid = _path_id(request)
        if request.method == "GET":
            listed = self._service.refunds(caller, pid)
            return wire.data([refund_document(r) for r in listed])
        raw = await wire.read_body(request)
        if raw:  # no body at all asks for everything still refundable
            wire.require_json(request)
        body = wire.parse_refund(raw)
        refund = await run_in_threadpool(  # the vendor is called before the answer
            self._service.request_refund,
            caller,
            pid,
            amount=body.amount,
            reason=body.reason,
            idempotency_key=wire.idempotency_key(request),
        )
        location = f"{request.scope.get('root_path', '')}{PAYMENTS}/{pid}/refunds/{refund.id}"
        return wire.data(refund_document(refund), 201, {"Location": location})

    async def refund(self, request: Request) -> Response:
        """``GET /api/v1/payments/{id}/refunds/{refund}``: one refund of the payment."""
        caller = self._caller(request)
        pid = _path_id(request)
        text: str = request.path_params["refundId"]
        refund_id = wire.payment_id(text)  # ids of both kinds share one form
        if refund_id is None:
            self._service.get(caller, pid)  # an unknown payment is still payment_not_found
            raise RefundNotFound(text[:32])
        return wire.data(refund_document(self._service.get_refund(caller, pid, refund_id)))

    async def notify(self, request: Request) -> Response:
        """``POST {PAYMENTS_NOTIFY_PATH}``: the vendor's own format, both ways."""
        body = await wire.read_body(request)
        # In a thread: a notification that records a charge taken twice sends its refund to
        # the vendor at once, and that call must not hold the event loop (in the demo, the
        # vendor's stand-in is served by this very loop).
        answer = await run_in_threadpool(
            handle_notification_http,
            self._service,
            request.path_params["vendor"],
            body,
            dict(request.headers),  # Starlette's keys are lowercase already
        )
        return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))

    async def health(self, request: Request) -> Response:
        """``GET /health``: liveness and database reachability."""
        del request
        try:
            self._service.health()
        except StoreUnavailable:
            return error_response(503, "store_unavailable", "the database cannot be reached")
        return wire.data({"status": "ok", "database": "ok"})

    @staticmethod
    async def _run(
        offload: bool, func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        if offload:
            return await run_in_threadpool(func, *args, **kwargs)
        return func(*args, **kwargs)


def _path_id(request: Request) -> int:
    text: str = request.path_params["id"]
    pid = wire.payment_id(text)
    if pid is None:
        raise PaymentNotFound(text[:32])
    return pid
