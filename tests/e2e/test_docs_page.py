"""/docs in headless Chromium: the reference renders every operation, from this server alone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Demo
from tests.e2e.test_demo import browser_page

pytestmark = pytest.mark.e2e
__all__ = ["browser_page"]  # the fixture, shared with the demo's browser test


def test_the_reference_renders_every_operation_from_this_server_alone(
    demo: Demo, browser_page: Any
) -> None:
    asked: list[str] = []
    errors: list[str] = []
    browser_page.on("request", lambda request: asked.append(request.url))
    browser_page.on("pageerror", lambda error: errors.append(str(error)))

    browser_page.goto(demo.base + "/docs")
    browser_page.wait_for_selector(".opblock", timeout=30_000)
    shown = browser_page.locator(".opblock-summary-path").all_text_contents()
    document = browser_page.request.get(demo.base + "/openapi.json").json()

    expected = {path for path, operations in document["paths"].items() for _ in operations}
    assert {text.replace("\u200b", "") for text in shown} == expected
    assert len(shown) == sum(len(operations) for operations in document["paths"].values())
    assert {"/metrics", "/docs"} <= expected
    assert asked
    assert all(url.startswith(demo.base + "/") for url in asked), asked
    assert errors == []
