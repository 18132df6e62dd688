"""One JSON error shape for every failure: `{"error": {"code", "message", "details"}}`.

Validation errors name the field and the reason but never echo the input, which may be a secret
or a candidate's name.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from interview.store import StoreRejected, StoreUnavailable

log = logging.getLogger("token_server.errors")


class ApiError(Exception):
    """An error the API reports to its caller as it is."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def error_body(code: str, message: str, details: object = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _code_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), status_code=exc.status, headers=exc.headers
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return JSONResponse(
        error_body(_code_for(exc.status_code), message),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    fields = ", ".join(".".join(d["loc"]) for d in details[:5])
    return JSONResponse(
        error_body("validation_error", f"the request is invalid: {fields}", details),
        status_code=422,
    )


async def _store_unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("store unavailable", extra={"error": type(exc).__name__})
    return JSONResponse(
        error_body("store_unavailable", "the database did not answer in time; try again"),
        status_code=503,
        headers={"Retry-After": "2"},
    )


async def _store_rejected(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StoreRejected)
    log.warning("store rejected a write", extra={"code": exc.code})
    return JSONResponse(
        error_body("conflict", "the database refused the write", {"code": exc.code}),
        status_code=409,
    )


async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc, extra={"error": type(exc).__name__})
    return JSONResponse(error_body("internal", "internal server error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(StoreRejected, _store_rejected)
    app.add_exception_handler(Exception, _unhandled)
