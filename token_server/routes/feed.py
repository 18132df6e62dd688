"""The observer's live feed: server-sent events carrying the interview as it changes.

Scores, feedback and steers never travel through the LiveKit room (the candidate is in it); the
observer page reads them here. The events (sse-starlette's `EventSourceResponse`, whose pings
keep idle proxies from closing the stream):

- `retry` first (how long the client waits before reconnecting);
- `detail`: the whole `InterviewView` (detail, presence, watchers, steers) on connect and
  whenever it changes, so a client that connects late or reconnects needs no history;
- `transcript`: `{"entries": [...]}`, on connect every stored message so far (the last 500),
  then only the messages stored since (by row id), each once;
- `end` `{"status": ...}` after the final detail once the interview has ended (`deleted` if it
  went while watched); `reconnect` `{"after_ms": ...}` at the end of the stream's bounded
  lifetime or when the server shuts down; `unavailable` `{}` once per store outage (the stream
  goes on).

Every feed of an interview reads the same snapshots from one shared poll
(`token_server.feedhub`), so observers cost the store nothing each.

Auth is the ordinary interviewer Bearer header. Browsers' `EventSource` cannot send headers, so
the web client reads this stream with `fetch`; that keeps the API key out of URLs (and so out of
access logs and browser history) and needs no second kind of token.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from interview.store import StoreUnavailable
from token_server.deps import Interviewer, ServicesDep
from token_server.errors import ApiError
from token_server.feedhub import Phase, Snapshot, Subscription
from token_server.schemas import FeedEntry, FeedTranscript, error_responses

log = logging.getLogger("token_server.feed")

router = APIRouter(prefix="/api/interviews", tags=["interviews"])

# Module settings (tests shorten them).
KEEPALIVE_SECONDS = 15.0
MAX_LIFETIME_SECONDS = 600.0
RETRY_MS = 2000
# Plain LF line ends: every SSE parser takes them (the spec allows CR, LF or CRLF, and the
# library's default CRLF trips parsers that split on "\n\n").
_SEP = "\n"


def _event(event: str, data: str) -> ServerSentEvent:
    return ServerSentEvent(data, event=event, sep=_SEP)


def _transcript(entries: tuple[FeedEntry, ...] | list[FeedEntry]) -> ServerSentEvent:
    return _event("transcript", FeedTranscript(entries=list(entries)).model_dump_json())


async def feed_events(sub: Subscription, first: Snapshot) -> AsyncIterator[ServerSentEvent]:
    extra = {"interview_id": str(sub.interview_id)}
    deadline = asyncio.get_running_loop().time() + MAX_LIFETIME_SECONDS
    yield ServerSentEvent(retry=RETRY_MS, sep=_SEP)
    yield _event("detail", first.detail_json)
    yield _transcript(first.transcript)
    sent_json, last_id, unavailable = first.detail_json, first.last_id, False
    snapshot = first
    while snapshot.phase is not Phase.ended:
        try:
            async with asyncio.timeout_at(deadline):
                snapshot = await sub.next()
        except TimeoutError:
            yield _event("reconnect", json.dumps({"after_ms": RETRY_MS}))
            log.info("feed finished: lifetime reached", extra=extra)
            return
        if snapshot.phase is Phase.closing:
            yield _event("reconnect", json.dumps({"after_ms": RETRY_MS}))
            log.info("feed finished: server stopping", extra=extra)
            return
        if snapshot.phase is Phase.unavailable:
            if not unavailable:  # once per outage; the next poll may succeed
                yield _event("unavailable", "{}")
            unavailable = True
            continue
        unavailable = False
        if snapshot.phase is Phase.gone:  # deleted while watched
            yield _event("end", json.dumps({"status": "deleted"}))
            return
        if snapshot.detail_json != sent_json:
            sent_json = snapshot.detail_json
            yield _event("detail", sent_json)
        new = [e for e in snapshot.transcript if e.id > last_id]
        if new:
            last_id = new[-1].id
            yield _transcript(new)
    assert snapshot.view is not None
    yield _event("end", json.dumps({"status": snapshot.view.interview.status.value}))
    log.info("feed finished: interview ended", extra=extra)


class FeedResponse(EventSourceResponse):
    """Leaves the hub however the response ends: the client going, the lifetime, an error, or
    before its body generator ever started (whose own cleanup would then never run)."""

    def __init__(self, content: AsyncIterator[ServerSentEvent], *, release: Callable[[], None]):
        super().__init__(content, ping=KEEPALIVE_SECONDS, sep=_SEP)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


_EVENTS_DOC: dict[str, Any] = {
    "content": {"text/event-stream": {}},
    "description": "Server-sent events: `detail` (an InterviewView as JSON) on connect and "
    'whenever it changes, `transcript` (`{"entries": [...]}`: on connect the stored messages '
    "so far, the last 500, then only new ones), `end` when the interview has ended, `reconnect` "
    "at the end of the stream's lifetime, `unavailable` while the store does not answer",
}


@router.get(
    "/{interview_id}/feed",
    response_class=EventSourceResponse,
    responses={200: _EVENTS_DOC, **error_responses(401, 404, 422, 503)},
)
async def interview_feed(
    interview_id: UUID, services: ServicesDep, who: Interviewer
) -> EventSourceResponse:
    """Live interview detail (questions, answers with scores, feedback, watchers, steers) and
    transcript as server-sent events."""
    hub = services.feeds
    sub = hub.subscribe(services, interview_id)
    try:
        first = await sub.first()
    except BaseException:
        hub.unsubscribe(sub)
        raise
    if first.phase is not Phase.live and first.phase is not Phase.ended:
        hub.unsubscribe(sub)
        if first.phase is Phase.gone:
            raise ApiError(404, "interview_not_found", "no interview with this id")
        if first.phase is Phase.closing:
            raise ApiError(503, "stopping", "the server is stopping; try again")
        raise StoreUnavailable("the interview could not be read")
    log.info("feed opened", extra={"interview_id": str(interview_id), "principal": who.id})
    return FeedResponse(feed_events(sub, first), release=lambda: hub.unsubscribe(sub))
