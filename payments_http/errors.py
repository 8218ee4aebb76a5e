"""The core's errors as Starlette responses, from the one mapping in ``payments_http.problems``."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from payments_core.errors import PaymentsError
from payments_http.problems import Problem, code_for, error_body, problem, problem_for, status_for

__all__ = ["code_for", "error_body", "error_response", "response_for", "status_for", "to_response"]


def to_response(answer: Problem) -> Response:
    """The Starlette response of an error answer."""
    return Response(
        answer.body_bytes(),
        status_code=answer.status,
        media_type="application/json",
        headers=dict(answer.headers),
    )


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> Response:
    """A JSON error response; 503s carry ``Retry-After``."""
    return to_response(problem(status, code, message, headers=headers, extra=extra))


def response_for(exc: PaymentsError) -> Response:
    """The response for a core error, with the data its code carries."""
    return to_response(problem_for(exc))
