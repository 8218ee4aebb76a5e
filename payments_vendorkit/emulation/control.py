"""The control endpoints every emulator has: ``fail-next``, ``reset`` and ``keys``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from starlette.responses import JSONResponse, Response

from payments_vendorkit.emulation.web import REFUSALS, json_body, refused

if TYPE_CHECKING:
    from starlette.requests import Request

    from payments_vendorkit.emulation.faults import FailureQueue


class Controllable(Protocol):
    """What the shared endpoints ask of an emulator."""

    @property
    def failures(self) -> FailureQueue: ...

    def reset(self) -> None: ...

    def keys_view(self) -> dict[str, str]: ...


class ControlBase:
    """The shared part of an emulator's control API; each emulator adds its own endpoints
    (and narrows ``emulator`` to its own class)."""

    emulator: Controllable

    def __init__(self, emulator: Controllable) -> None:
        self.emulator = emulator

    async def fail_next(self, request: Request) -> Response:
        """Queue failures for the next server calls: ``{"mode", "count", "seconds", "method"}``."""
        try:
            body = await json_body(request)
            method = body.get("method")
            self.emulator.failures.add(
                str(body.get("mode")),
                count=body.get("count", 1),
                seconds=body.get("seconds", 2.0),
                method=None if method is None else str(method),
            )
        except REFUSALS as exc:
            return refused(exc)
        return JSONResponse({"data": {"queued": True}})

    async def reset(self, request: Request) -> Response:
        """Forget what the emulator holds (its merchants and keys stay)."""
        self.emulator.reset()
        return JSONResponse({"data": {"reset": True}})

    async def keys(self, request: Request) -> Response:
        """The platform public key."""
        return JSONResponse({"data": self.emulator.keys_view()})
