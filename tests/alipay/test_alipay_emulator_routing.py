"""The emulator's router: no redirects, and JSON errors for paths and methods it does not serve.

It is mounted inside the demo server, which answers no path by a redirect (Starlette would
build the Location from the request's Host header); the emulator must not either.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from payments_alipay.emulator import AlipayEmulator


@pytest.fixture(scope="module")
def emulator(platform_key: RSAPrivateKey) -> Iterator[AlipayEmulator]:
    emulator = AlipayEmulator(platform_private_key=platform_key)
    yield emulator
    emulator.shutdown()


@pytest.fixture(scope="module")
def client(emulator: AlipayEmulator) -> Iterator[TestClient]:
    with TestClient(emulator.app, base_url="http://shop.example", follow_redirects=False) as c:
        yield c


@pytest.fixture(scope="module")
def mounted(emulator: AlipayEmulator) -> Iterator[TestClient]:
    host = Starlette(routes=[Mount("/emulator", app=emulator.app)])
    host.router.redirect_slashes = False
    with TestClient(host, base_url="http://shop.example", follow_redirects=False) as c:
        yield c


def _json_error(response: httpx2.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert "location" not in response.headers
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/control/trades/"),
        ("GET", "/control/keys/"),
        ("POST", "/control/reset/"),
        ("GET", "/gateway.do/"),
        ("POST", "/pay/T1/"),
    ],
)
def test_a_trailing_slash_is_a_json_404_not_a_redirect(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path, headers={"Host": "evil.example"})

    _json_error(response, 404, "not_found")


@pytest.mark.parametrize("path", ["/nothing", "/control", "/control/nothing", "/pay"])
def test_an_unknown_path_is_a_json_404(client: TestClient, path: str) -> None:
    _json_error(client.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/control/reset"), ("GET", "/pay/T1"), ("DELETE", "/control/trades")],
)
def test_a_method_a_route_does_not_take_is_a_json_405(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path)

    _json_error(response, 405, "method_not_allowed")
    assert response.headers["allow"]


def test_mounted_under_a_prefix_a_trailing_slash_is_still_a_404(mounted: TestClient) -> None:
    response = mounted.get("/emulator/control/trades/", headers={"Host": "evil.example"})

    _json_error(response, 404, "not_found")
    assert mounted.get("/emulator/control/trades").status_code == 200


def test_the_served_paths_still_answer(client: TestClient) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/control/trades").json() == {"data": []}
    assert "platform_public_key" in client.get("/control/keys").json()["data"]
