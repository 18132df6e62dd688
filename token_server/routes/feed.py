"""The observer's live feed: server-sent events carrying the interview detail as it changes.

Scores and feedback never travel through the LiveKit room (the candidate is in it); the
observer page reads them here. The server polls the store about once a second and sends the
whole detail (`InterviewView`: the `InterviewDetail` and who is in the room) whenever it
differs from the last one sent, so a client that connects
late or reconnects needs no history. The stream ends when the interview has ended (after
sending the final detail), when the client goes, or after a bounded lifetime (the client then
reconnects); comment lines keep idle proxies from closing it.

Auth is the ordinary interviewer Bearer header. Browsers' `EventSource` cannot send headers, so
the web client reads this stream with `fetch` and a `ReadableStream`; that keeps the API key
out of URLs (and so out of access logs and browser history) and needs no second kind of token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from interview.store import InterviewDetail, StoreUnavailable
from token_server.deps import Interviewer, ServicesDep
from token_server.errors import ApiError
from token_server.presence import view_with_presence
from token_server.schemas import error_responses

log = logging.getLogger("token_server.feed")

router = APIRouter(prefix="/api/interviews", tags=["interviews"])

# Module settings (tests shorten them).
POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
MAX_LIFETIME_SECONDS = 600.0
RETRY_MS = 2000


def sse(event: str, data: str) -> bytes:
    """One server-sent event; `data` is a single line of JSON."""
    return f"event: {event}\ndata: {data}\n\n".encode()


async def detail_events(
    request: Request, services: ServicesDep, first: InterviewDetail
) -> AsyncIterator[bytes]:
    interview_id = first.interview.id
    extra = {"interview_id": str(interview_id)}
    started = time.monotonic()
    last_sent_at = started
    detail: InterviewDetail | None = first
    last_json = ""
    unavailable = False
    yield f"retry: {RETRY_MS}\n\n".encode()
    while True:
        if detail is not None:
            body = (await view_with_presence(services, detail)).model_dump_json()
            if body != last_json:
                last_json = body
                last_sent_at = time.monotonic()
                yield sse("detail", body)
            if detail.interview.status.ended:
                yield sse("end", json.dumps({"status": detail.interview.status.value}))
                log.info("feed finished: interview ended", extra=extra)
                return
        now = time.monotonic()
        if now - started >= MAX_LIFETIME_SECONDS:
            yield sse("reconnect", json.dumps({"after_ms": RETRY_MS}))
            log.info("feed finished: lifetime reached", extra=extra)
            return
        if now - last_sent_at >= KEEPALIVE_SECONDS:
            last_sent_at = now
            yield b": keep-alive\n\n"
        await asyncio.sleep(POLL_SECONDS)
        if await request.is_disconnected():
            log.info("feed finished: client left", extra=extra)
            return
        try:
            detail = await services.store.interview_detail(interview_id)
        except StoreUnavailable:
            # Keep the stream; the next poll may succeed. Say so once per outage.
            if not unavailable:
                log.warning("feed: store unavailable", extra=extra)
                yield sse("unavailable", "{}")
            unavailable = True
            detail = None
            continue
        unavailable = False
        if detail is None:  # deleted while watched
            yield sse("end", json.dumps({"status": "deleted"}))
            return


@router.get(
    "/{interview_id}/feed",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Server-sent events: `detail` (an InterviewView as JSON) whenever "
            "it changes, `end` when the interview has ended, `reconnect` at the end of the "
            "stream's lifetime, `unavailable` while the store does not answer",
        },
        **error_responses(401, 404, 422, 503),
    },
)
async def interview_feed(
    interview_id: UUID, request: Request, services: ServicesDep, who: Interviewer
) -> StreamingResponse:
    """Live interview detail (questions, answers with scores, feedback) as server-sent events."""
    first = await services.store.interview_detail(interview_id)
    if first is None:
        raise ApiError(404, "interview_not_found", "no interview with this id")
    log.info("feed opened", extra={"interview_id": str(interview_id), "principal": who.id})
    return StreamingResponse(
        detail_events(request, services, first),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )
