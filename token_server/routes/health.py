"""Liveness and readiness (with the count of writes Supabase refused for good)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from livekit import api

from interview.deadletters import DEFAULT_DIR, count_dead, dead_files
from interview.outbox import Outbox
from token_server.deps import Services
from token_server.schemas import Health

log = logging.getLogger("token_server.health")

router = APIRouter(tags=["ops"])


class Ready(Health):
    # Writes parked as dead letters: in this server's outbox and in the agents' set-aside
    # `*.dead.sqlite` files of the same folder. They do not make the server unready (it still
    # serves); see `python -m interview.deadletters`.
    dead_letters: int = 0


async def _dead_letters(services: Services) -> int:
    total = 0
    outbox = getattr(services.store, "outbox", None)
    if isinstance(outbox, Outbox):
        total += (await outbox.counts()).dead
    directory = Path(services.settings.outbox_dir or DEFAULT_DIR)

    def count_files() -> int:
        return sum(count_dead(p) for p in dead_files(directory))

    return total + await asyncio.to_thread(count_files)


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: the process is up and serving."""
    return Health(status="ok")


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
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
    try:
        dead = await asyncio.wait_for(_dead_letters(services), timeout)
    except Exception as exc:
        log.warning("could not count dead letters", extra={"error": type(exc).__name__})
        dead = -1  # unknown
    if dead:
        log.warning("writes parked as dead letters", extra={"dead_letters": dead})
    body = Ready(status="ready" if ok else "unavailable", checks=checks, dead_letters=dead)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
