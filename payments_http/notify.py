"""A vendor's notification over HTTP, framework-neutral: request body in, status, headers, body out.

Any web framework's route can serve notifications with ``handle_notification_http``;
ours (``payments_http.routes``) does. Where the route lives is ``PAYMENTS_NOTIFY_PATH``,
and the notify URL each vendor is given follows the same setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from attrs import field, frozen

from payments_core.errors import PaymentsError
from payments_core.values import NotificationOutcome, Reply
from payments_http.problems import JSON, Problem, problem, problem_for

if TYPE_CHECKING:
    from payments_core.services import PaymentService

DEFAULT_NOTIFY_PATH: Final = "/api/v1/payments/notify/{vendor}"
MAX_NOTIFICATION: Final = 64 * 1024  # bytes; a vendor's notification is a few KiB
# What a notification's outcome means over HTTP unless the vendor's reply names a status.
# A vendor resends on a reply other than its processed one, so RETRY can stay a 200.
NOTIFICATION_STATUS: Final[Mapping[NotificationOutcome, int]] = {
    NotificationOutcome.APPLIED: 200,
    NotificationOutcome.RETRY: 200,
    NotificationOutcome.REFUSED: 400,
}
_HEAD: Final = re.compile(r"/(?:[A-Za-z0-9_~\-][A-Za-z0-9._~\-]*/)*")
_TAIL: Final = re.compile(r"(?:/[A-Za-z0-9_~\-][A-Za-z0-9._~\-]*)*")


@frozen(kw_only=True)
class HttpAnswer:
    """What to send back: ``status``, ``headers`` (``Content-Type`` among them) and ``body``."""

    status: int
    headers: Mapping[str, str] = field(factory=dict)
    body: bytes = b""


def handle_notification_http(
    service: PaymentService, vendor: str, body: bytes, headers: Mapping[str, str]
) -> HttpAnswer:
    """Verify and apply one notification; the answer the vendor expects, in its own format.

    An unknown vendor is 404 and a body over ``MAX_NOTIFICATION`` 413, both as our error
    bodies. Waits on the database only (no vendor call): see docs/embedding.md for where
    to run it. ``headers`` are the request's, with lowercase names: a vendor may
    verify a signature carried in them.
    """
    if len(body) > MAX_NOTIFICATION:
        too_large = problem(
            413, "payload_too_large", f"the body is larger than {MAX_NOTIFICATION // 1024} KiB"
        )
        return _error(too_large)
    try:
        outcome = service.handle_notification(vendor, body, headers)
        reply = service.vendor(vendor).reply(outcome)
    except PaymentsError as exc:
        return _error(problem_for(exc))
    headers = {"Content-Type": _content_type(reply.media_type)} if reply.media_type else {}
    return HttpAnswer(
        status=notification_status(outcome, reply), headers=headers, body=reply.body.encode()
    )


def notification_status(outcome: NotificationOutcome, reply: Reply) -> int:
    """The status of the answer to a notification: the reply's own, else the outcome's."""
    return NOTIFICATION_STATUS[outcome] if reply.status is None else reply.status


def notify_path(settings: Mapping[str, str]) -> str:
    """``PAYMENTS_NOTIFY_PATH``: where vendors' notifications are served, ``{vendor}`` in it.

    Raises:
        ValueError: naming PAYMENTS_NOTIFY_PATH.
    """
    path = settings.get("PAYMENTS_NOTIFY_PATH", "").strip() or DEFAULT_NOTIFY_PATH
    head, marker, tail = path.partition("{vendor}")
    if not marker or not _HEAD.fullmatch(head) or not _TAIL.fullmatch(tail):
        raise ValueError(
            "PAYMENTS_NOTIFY_PATH must be a path such as /api/v1/payments/notify/{vendor}: "
            "starting with /, holding {vendor} once as a whole segment"
        )
    return path


def _content_type(media_type: str) -> str:
    if media_type.startswith("text/") and "charset" not in media_type:
        return f"{media_type}; charset=utf-8"  # replies are str, sent as UTF-8
    return media_type


def _error(answer: Problem) -> HttpAnswer:
    return HttpAnswer(
        status=answer.status,
        headers={**answer.headers, "Content-Type": JSON},
        body=answer.body_bytes(),
    )
