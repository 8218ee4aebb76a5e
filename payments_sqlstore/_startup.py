"""Start-up's word on an unreachable database: the setting, where, and the driver's reason.

At run time ``StoreUnavailable`` names only the kind of failure, since its text reaches
clients (503 ``store_unavailable``). At start-up (``serve``, ``reconcile``, ``db
upgrade``) it reaches the operator, who needs to know which database could not be
reached and why; the password never appears.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from payments_core.errors import StoreUnavailable

SETTING: Final = "PAYMENTS_DATABASE_URL"
_REASON_MAX: Final = 200


@contextmanager
def naming_the_database(url: str) -> Iterator[None]:
    """Re-raise ``StoreUnavailable`` with what the operator needs to fix it.

    Raises:
        StoreUnavailable: one line naming the setting, the host or file, and the reason.
    """
    try:
        yield
    except StoreUnavailable as exc:
        cause = exc.__cause__ or exc
        raise StoreUnavailable(
            f"{SETTING}: the database {_where(url)} cannot be reached: {_reason(url, cause)}"
        ) from cause


def _where(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "it names"
    if parsed.get_backend_name() == "sqlite":
        return f"file {Path(parsed.database or '').resolve()}" if parsed.database else "in memory"
    port = f":{parsed.port}" if parsed.port else ""
    return f"at {parsed.host or 'localhost'}{port}/{parsed.database or ''}"


def _reason(url: str, cause: BaseException) -> str:
    """The driver's own words, on one line, without the password."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        parsed = None
    if parsed is not None and parsed.get_backend_name() == "sqlite" and parsed.database:
        folder = Path(parsed.database).resolve().parent
        if not folder.is_dir():
            return f"the folder {folder} does not exist"
    original = cause.orig if isinstance(cause, DBAPIError) else cause
    reason = " ".join(str(original).split()) or type(original).__name__
    password = parsed.password if parsed is not None else None
    if password:
        reason = reason.replace(str(password), "***")
    return reason[:_REASON_MAX]
