"""The Starlette adapter of ``payments``: the API's endpoints, authentication, the command.

``create_app(service, authenticator=...)`` serves an already composed ``PaymentService``
(mounted, enter ``payments_lifespan(app)`` in the parent app's lifespan);
``create_app_from_settings(settings)`` composes one from the settings (README) and the
installed plugins; ``payments_http.cli:main`` is the ``payments`` command.
"""

from __future__ import annotations

from payments_core.background import Background
from payments_http.app import create_app
from payments_http.auth import Authenticator, JwtAuthenticator, Unauthenticated, issue_token
from payments_http.compose import (
    authenticator_from_settings,
    build_service,
    create_app_from_settings,
    orders_from_settings,
)
from payments_http.lifespan import payments_lifespan
from payments_http.orders import HttpOrders
from payments_http.sweeper import Sweeper

__all__ = [
    "Authenticator",
    "Background",
    "HttpOrders",
    "JwtAuthenticator",
    "Sweeper",
    "Unauthenticated",
    "authenticator_from_settings",
    "build_service",
    "create_app",
    "create_app_from_settings",
    "issue_token",
    "orders_from_settings",
    "payments_lifespan",
]
