"""GET /docs: Swagger UI over /openapi.json, every file it loads served by this app."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from payments_http.apidocs import CSP

EXTERNAL = re.compile(r"(?:https?:)?//", re.IGNORECASE)


class References(HTMLParser):
    """Every URL the page references: scripts, styles, icons, images, frames."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "data") and value is not None:
                self.urls.append(value)


def referenced(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return parser.urls


def load_docs(client: TestClient, page: str) -> dict[str, bytes]:
    """The page and every file it references, each asserted 200 from this app."""
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    loaded = {page: response.content}
    urls = referenced(response.text)
    assert len(urls) >= 3  # the stylesheet and both scripts at least
    for url in urls:
        assert not EXTERNAL.match(url), url
        target = urljoin("http://testserver" + page, url)
        assert urlsplit(target).netloc == "testserver"
        asset = client.get(target)
        assert asset.status_code == 200, target
        loaded[urlsplit(target).path] = asset.content
    return loaded


def test_the_page_and_every_file_it_references_come_from_this_server(client: TestClient) -> None:
    loaded = load_docs(client, "/docs")

    assert b"SwaggerUIBundle" in loaded["/docs/swagger-ui-bundle.js"]
    assert b".swagger-ui" in loaded["/docs/swagger-ui.css"]
    start = loaded["/docs/start.js"].decode()
    assert 'url: "openapi.json"' in start  # relative: /openapi.json, or under the mount
    assert "validatorUrl: null" in start  # Swagger UI would ask an online validator
    assert not EXTERNAL.search(loaded["/docs"].decode())
    assert not EXTERNAL.search(start)


def test_the_document_the_page_renders_is_served_next_to_it(client: TestClient) -> None:
    document = client.get(urljoin("http://testserver/docs", "openapi.json"))

    assert document.status_code == 200
    assert "/docs" in document.json()["paths"]


def test_the_page_forbids_loading_from_anywhere_else(client: TestClient) -> None:
    policy = client.get("/docs").headers["content-security-policy"]

    assert policy == CSP
    assert "default-src 'self'" in policy
    assert "http" not in policy


def test_mounted_the_page_loads_everything_under_the_mount(client: TestClient) -> None:
    parent = Starlette(routes=[Mount("/pay", app=client.app)])
    with TestClient(parent) as mounted:
        loaded = load_docs(mounted, "/pay/docs")
        document = mounted.get("/pay/openapi.json")

    assert "/pay/docs/swagger-ui-bundle.js" in loaded
    assert document.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/docs/index.html",  # the bundle's own sample page points at the internet
        "/docs/swagger-initializer.js",
        "/docs/swagger-ui-bundle.js.map",
        "/docs/..%2F__init__.py",
        "/docs/",
    ],
)
def test_nothing_else_of_the_bundle_is_served(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
