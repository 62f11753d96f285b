"""Pure ASGI middleware: request context (id, access log, metrics, last-resort 500), trusted hosts
and the request body cap. Pure ASGI rather than ``BaseHTTPMiddleware`` so streamed responses (SSE,
downloads) pass through untouched and contextvars reach the endpoint.

The API authenticates with an ``Authorization`` header only (never cookies), which a browser does
not attach to cross-site requests by itself, so a forged cross-site request carries no
credentials; CORS decides which origins may read responses. The Origin check below is defence in
depth for state-changing requests (a future cookie, a public deployment): a browser's cross-site
write from an origin that is not configured is refused before it reaches a route.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlsmith.server.errors import INTERNAL_MESSAGE, error_response
from mlsmith.server.metrics import Metrics

access_log = structlog.get_logger("mlsmith.access")
log = structlog.get_logger("mlsmith.server")

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MULTIPART_OVERHEAD = 1024 * 1024  # part headers and boundaries around the uploaded file


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestContextMiddleware:
    """Outermost: binds the request id for every log line, echoes it, logs one access line and
    records metrics; an unexpected exception becomes a generic 500 logged with the request id."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, REQUEST_ID_HEADER.encode())
        request_id = incoming if incoming and _SANE_ID.match(incoming) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k != REQUEST_ID_HEADER.encode()
                ]
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        start = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                log.exception(
                    "unhandled_error",
                    method=scope["method"],
                    route=self.metrics.route_template(scope),
                )
                if started:
                    raise
                response = error_response(500, "internal_error", INTERNAL_MESSAGE)
                await response(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - start
                route = self.metrics.route_template(scope)
                self.metrics.observe(scope["method"], route, status, elapsed)
                fields: dict[str, Any] = {
                    "method": scope["method"],
                    "path": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                }
                if state.get("user_id"):
                    fields["user_id"] = state["user_id"]
                access_log.info("request", **fields)


class TrustedHostMiddleware:
    """Refuses a ``Host`` header outside ``allowed`` (DNS rebinding), answering in our error
    shape. ``*.example.com`` allows subdomains; ``*`` allows any host."""

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.allowed = [h.lower() for h in allowed]
        self.any = "*" in self.allowed

    def _ok(self, host: str) -> bool:
        if self.any:
            return True
        host = host.lower()
        # "[::1]:8000" -> "[::1]", "example.com:443" -> "example.com"
        host = host.split("]", 1)[0] + "]" if host.startswith("[") else host.split(":", 1)[0]
        for pattern in self.allowed:
            if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host") or ""
        if not self._ok(host):
            response = error_response(400, "invalid_host", "the Host header is not allowed here")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class OriginCheckMiddleware:
    """Refuses POST/PUT/PATCH/DELETE whose ``Origin`` header is neither the server's own origin
    nor a configured CORS origin. Requests without ``Origin`` (the CLI, servers, curl) pass."""

    UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.allowed = {o.rstrip("/").lower() for o in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.UNSAFE:
            origin = (_header(scope, b"origin") or "").rstrip("/").lower()
            host = (_header(scope, b"host") or "").lower()
            own = {f"http://{host}", f"https://{host}"}
            if origin and origin not in self.allowed and origin not in own:
                response = error_response(
                    403, "forbidden_origin", "cross-site requests from this origin are not allowed"
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds {limit} bytes")


class BodyLimitMiddleware:
    """Caps request bodies on the bytes actually received (Content-Length is checked first but
    not trusted). Multipart bodies (dataset uploads) get the upload cap plus framing; the upload
    service enforces the exact cap on the file bytes it streams."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_multipart = max_upload + MULTIPART_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctype = (_header(scope, b"content-type") or "").lower()
        limit = self.max_multipart if ctype.startswith("multipart/") else self.max_body
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await error_response(400, "invalid_input", "invalid Content-Length")(
                    scope, receive, send
                )
                return
            if int(declared) > limit:
                await error_response(
                    413,
                    "payload_too_large",
                    f"request body exceeds {limit} bytes",
                    {"limit": limit},
                )(scope, receive, send)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)
