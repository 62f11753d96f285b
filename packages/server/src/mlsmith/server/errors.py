"""The one place that maps errors to HTTP: ``MlsmithError.code`` -> status, body
``{"code", "message", "details"}`` for every error the server answers, whoever raised it.

Choices worth a note:
- ``integrity_error`` -> 409: the request is well formed, but the stored object it names failed
  verification (hash or signature mismatch), i.e. it conflicts with the recorded state of the
  resource; 422 would tell the client to change its request, which cannot help.
- ``config_error`` -> 500 with a generic message: the operator must fix it, the details (setting
  names, installed adapters) are logged, not shown to callers.
- a body that is not syntactically JSON -> 400 (the client sent something malformed); a body that
  parses but fails validation -> 422.
"""

from __future__ import annotations

import math
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mlsmith.core.errors import MlsmithError

log = structlog.get_logger("mlsmith.server.errors")

STATUS_BY_CODE: dict[str, int] = {
    "not_found": 404,
    "already_exists": 409,
    "conflict": 409,
    "cancelled": 409,
    "integrity_error": 409,
    "invalid_input": 422,
    "unauthenticated": 401,
    "permission_denied": 403,
    "throttled": 429,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "backend_unavailable": 503,
    "config_error": 500,
}
CODE_BY_STATUS: dict[int, str] = {
    400: "invalid_input",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "throttled",
    503: "backend_unavailable",
}
INTERNAL_MESSAGE = "internal server error; quote the request id when reporting it"


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"code": code, "message": message, "details": jsonable_encoder(details or {})}
    return JSONResponse(body, status_code=status, headers=headers)


def mlsmith_error_response(exc: MlsmithError) -> JSONResponse:
    status = STATUS_BY_CODE.get(exc.code, 500)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry = exc.details.get("retry_after_s")
    if status in (429, 503) and isinstance(retry, int | float) and not isinstance(retry, bool):
        headers["Retry-After"] = str(max(1, math.ceil(retry)))
    if status >= 500 and status != 503:
        log.error("server_error", code=exc.code, error=exc.message, details=exc.details)
        return error_response(status, exc.code, INTERNAL_MESSAGE, headers=headers)
    return error_response(status, exc.code, exc.message, exc.details, headers)


async def _mlsmith_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MlsmithError)
    return mlsmith_error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]  # "input" is left out on purpose: it would echo whatever the client sent (passwords too)
    malformed = any(e["type"] == "json_invalid" for e in errors)
    status = 400 if malformed else 422
    message = "request body is not valid JSON" if malformed else "request validation failed"
    return error_response(status, "invalid_input", message, {"errors": errors})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = CODE_BY_STATUS.get(status, "http_error")
    if status == 404 and exc.detail == "Not Found":
        message = f"no route for {request.url.path}"
    elif status == 405:
        message = f"method {request.method} not allowed here"
    else:
        message = str(exc.detail)
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return error_response(status, code, message, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers. Unexpected exceptions are turned into a generic 500 by the request
    context middleware (outermost), which logs them with the request id."""
    app.add_exception_handler(MlsmithError, _mlsmith_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
