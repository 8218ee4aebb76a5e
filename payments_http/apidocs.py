"""``GET /docs``: the API reference, Swagger UI rendering ``/openapi.json``.

Swagger UI's files come from the installed ``swagger-ui-bundle-v2`` package and are
served by this app: the page fetches nothing from any other host, and Swagger UI's
online validator is turned off. Paths are relative, so the page works under a mount.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from swagger_ui_bundle import swagger_ui_path

if TYPE_CHECKING:
    from starlette.requests import Request

DOCS: Final = "/docs"
# The files the page uses, and nothing else of the bundle (its sample page points at
# a petstore on the internet).
ASSETS: Final = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_START: Final = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""
_PAGE: Final = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>payments API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/start.js"></script>
</body>
</html>
"""
# Only this server's own files; Swagger UI sets inline styles and shows data: images.
CSP: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def routes() -> list[Route]:
    """``/docs`` and the files it loads, under ``/docs/``."""
    return [
        Route(DOCS, _page, methods=["GET"]),
        Route(DOCS + "/start.js", _start, methods=["GET"]),
        Route(DOCS + "/{asset}", _asset, methods=["GET"]),
    ]


async def _page(request: Request) -> Response:
    del request
    return Response(
        _PAGE, media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": CSP}
    )


async def _start(request: Request) -> Response:
    del request
    return Response(_START, media_type="text/javascript; charset=utf-8")


async def _asset(request: Request) -> Response:
    name = request.path_params["asset"]
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404)
    return FileResponse(str(swagger_ui_path / name), media_type=media_type)
