"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from livekit import api

from token_server.deps import Services
from token_server.schemas import Health

log = logging.getLogger("token_server.health")

router = APIRouter(tags=["ops"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: the process is up and serving."""
    return Health(status="ok")


@router.get("/ready", response_model=Health, responses={503: {"model": Health}})
async def ready(request: Request) -> JSONResponse:
    """Readiness: the store answers a read and the LiveKit server answers an API call."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse(Health(status="starting").model_dump(), status_code=503)
    timeout = services.settings.ready_timeout_seconds
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(services.store.list_interviews(limit=1), timeout)
        checks["store"] = "ok"
    except Exception as exc:
        checks["store"] = f"unavailable ({type(exc).__name__})"
    try:
        await asyncio.wait_for(
            services.livekit.room.list_rooms(api.ListRoomsRequest(names=["iv-ready-probe"])),
            timeout,
        )
        checks["livekit"] = "ok"
    except Exception as exc:
        checks["livekit"] = f"unavailable ({type(exc).__name__})"
    ok = all(v == "ok" for v in checks.values())
    if not ok:
        log.warning("not ready", extra={"checks": checks})
    body = Health(status="ready" if ok else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
