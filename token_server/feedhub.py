"""One poll per watched interview, shared by every observer's feed (`token_server.routes.feed`).

The first feed to subscribe to an interview starts one polling task for it; each poll reads the
detail, the steers and the transcript stored since the last poll once, asks LiveKit once who is
in the room (presence and watchers), and offers the result to every subscriber as an immutable
`Snapshot`. The last subscriber to leave stops the task, so the store sees one poll per
interview per process whatever the number of observers.

A snapshot is cumulative: the whole detail, and the last `TRANSCRIPT_WINDOW` stored messages by
row id. A subscriber can therefore skip snapshots without losing anything but intermediate
states, which is what happens to a slow one: its bounded queue is never waited on; when it is
full, the backlog is dropped and only the newest snapshot is kept ("latest wins"), so a slow
subscriber never holds up the poll or the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID

from interview.store import StoreUnavailable, TranscriptEntry
from token_server.presence import interview_view, room_state
from token_server.schemas import FeedEntry, InterviewView

if TYPE_CHECKING:
    from token_server.deps import Services

log = logging.getLogger("token_server.feedhub")

# Module settings (tests shorten them); read when used.
POLL_SECONDS = 1.0
# Snapshots a subscriber may have waiting before its backlog is dropped for the newest.
QUEUE_SIZE = 8
# Stored messages a snapshot holds (the backfill a new subscriber gets) and the page size of
# the transcript reads; at most MAX_TRANSCRIPT_PAGES pages are read in one poll.
TRANSCRIPT_WINDOW = 500
MAX_TRANSCRIPT_PAGES = 20


class Phase(StrEnum):
    live = "live"  # the interview is open: more snapshots follow
    ended = "ended"  # the interview has ended: this snapshot is the last
    gone = "gone"  # no such interview (never was, or deleted while watched)
    unavailable = "unavailable"  # the store did not answer; view and transcript are the last known
    closing = "closing"  # the server is shutting down: reconnect (to another replica)

    @property
    def final(self) -> bool:
        return self in {Phase.ended, Phase.gone, Phase.closing}


@dataclass(frozen=True)
class Snapshot:
    seq: int
    phase: Phase
    view: InterviewView | None = None
    # The view as JSON, made once for every subscriber.
    detail_json: str = ""
    transcript: tuple[FeedEntry, ...] = ()

    @property
    def last_id(self) -> int:
        return self.transcript[-1].id if self.transcript else 0

    def same_as(self, other: Snapshot | None) -> bool:
        return (
            other is not None
            and other.phase is self.phase
            and other.detail_json == self.detail_json
            and other.last_id == self.last_id
        )


class Subscription:
    """One feed's place in an interview's topic: `first()` once, then `next()`."""

    def __init__(self, topic: _Topic) -> None:
        self.topic = topic
        self._queue: asyncio.Queue[Snapshot] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._seen = 0
        # Times the backlog was dropped for the newest snapshot.
        self.dropped = 0

    @property
    def interview_id(self) -> UUID:
        return self.topic.interview_id

    def offer(self, snapshot: Snapshot) -> None:
        if self._queue.full():
            while not self._queue.empty():
                self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(snapshot)

    def pending(self) -> int:
        return self._queue.qsize()

    async def first(self) -> Snapshot:
        """The topic's latest snapshot, after its first poll if it has not had one yet."""
        await self.topic.ready.wait()
        assert self.topic.latest is not None
        self._seen = self.topic.latest.seq
        return self.topic.latest

    async def next(self) -> Snapshot:
        """The next snapshot newer than any this subscription has had."""
        while True:
            found = await self._queue.get()
            if found.seq > self._seen:
                self._seen = found.seq
                return found


@dataclass(eq=False)
class _Topic:
    interview_id: UUID
    subscribers: set[Subscription] = field(default_factory=set)
    latest: Snapshot | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    window: deque[FeedEntry] = field(default_factory=lambda: deque(maxlen=TRANSCRIPT_WINDOW))
    polls: int = 0
    seq: int = 0

    @property
    def after_id(self) -> int:
        return self.window[-1].id if self.window else 0

    def snapshot(self, phase: Phase, view: InterviewView | None = None) -> Snapshot:
        self.seq += 1
        if view is None and self.latest is not None and phase is not Phase.gone:
            view = self.latest.view  # unavailable or closing: the last known view
        return Snapshot(
            seq=self.seq,
            phase=phase,
            view=view,
            detail_json=view.model_dump_json() if view is not None else "",
            transcript=tuple(self.window),
        )

    def publish(self, snapshot: Snapshot) -> None:
        if snapshot.same_as(self.latest):
            return
        self.latest = snapshot
        self.ready.set()
        for sub in self.subscribers:
            sub.offer(snapshot)


def _entry(e: TranscriptEntry) -> FeedEntry:
    return FeedEntry(
        id=e.id,
        item_id=e.item_id,
        speaker=e.speaker,
        text=e.text,
        started_at=e.started_at,
        ended_at=e.ended_at,
        interrupted=e.interrupted,
    )


class FeedHub:
    """The polling topics of this process, one per watched interview."""

    def __init__(self) -> None:
        self._topics: dict[UUID, _Topic] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def subscribe(self, services: Services, interview_id: UUID) -> Subscription:
        """Join the interview's topic, starting its poll if it is the first; pair with
        `unsubscribe` (the feed's response does, however it ends)."""
        topic = self._topics.get(interview_id)
        if topic is None:
            topic = _Topic(interview_id)
            if self._closed:
                topic.publish(topic.snapshot(Phase.closing))
            else:
                self._topics[interview_id] = topic
                topic.task = asyncio.create_task(
                    self._run(services, topic), name=f"feed-{interview_id}"
                )
                self._tasks.add(topic.task)
                topic.task.add_done_callback(self._tasks.discard)
        sub = Subscription(topic)
        topic.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Leave (idempotent); the last one out stops the topic's poll."""
        topic = sub.topic
        topic.subscribers.discard(sub)
        if topic.subscribers or self._topics.get(topic.interview_id) is not topic:
            return
        del self._topics[topic.interview_id]
        if topic.task is not None:
            topic.task.cancel()

    @asynccontextmanager
    async def subscription(
        self, services: Services, interview_id: UUID
    ) -> AsyncIterator[Subscription]:
        sub = self.subscribe(services, interview_id)
        try:
            yield sub
        finally:
            self.unsubscribe(sub)

    def subscribers(self, interview_id: UUID) -> int:
        topic = self._topics.get(interview_id)
        return len(topic.subscribers) if topic else 0

    def polls(self, interview_id: UUID) -> int:
        topic = self._topics.get(interview_id)
        return topic.polls if topic else 0

    def polling(self) -> int:
        """Poll tasks still running (a stopped one counts until it has finished)."""
        return sum(1 for t in self._tasks if not t.done())

    async def aclose(self) -> None:
        """Stop every poll; open feeds are told to reconnect (to another replica)."""
        self._closed = True
        topics = list(self._topics.values())
        self._topics.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for topic in topics:
            topic.publish(topic.snapshot(Phase.closing))

    # ---- the poll ------------------------------------------------------------------------

    async def _run(self, services: Services, topic: _Topic) -> None:
        extra = {"interview_id": str(topic.interview_id)}
        log.info("feed poll started", extra=extra)
        try:
            while True:
                try:
                    snapshot = await self._poll(services, topic, extra)
                except Exception:
                    # A bug or an unexpected row must not leave the feeds waiting forever.
                    log.exception("feed poll failed", extra=extra)
                    snapshot = topic.snapshot(Phase.unavailable)
                topic.publish(snapshot)
                if snapshot.phase.final:
                    return
                await asyncio.sleep(POLL_SECONDS)
        finally:
            # An ended interview's topic goes at once: a feed opened later polls afresh.
            if self._topics.get(topic.interview_id) is topic:
                del self._topics[topic.interview_id]
            log.info("feed poll stopped", extra={**extra, "polls": topic.polls})

    async def _poll(self, services: Services, topic: _Topic, extra: dict[str, str]) -> Snapshot:
        store, iid = services.store, topic.interview_id
        topic.polls += 1
        try:
            detail, steers, page = await asyncio.gather(
                store.interview_detail(iid),
                store.list_steers(iid),
                store.transcript_after(iid, topic.after_id, limit=TRANSCRIPT_WINDOW),
            )
            if detail is None:
                return topic.snapshot(Phase.gone)
            pages = 1
            topic.window.extend(_entry(e) for e in page)
            while len(page) == TRANSCRIPT_WINDOW and pages < MAX_TRANSCRIPT_PAGES:
                page = await store.transcript_after(iid, topic.after_id, limit=TRANSCRIPT_WINDOW)
                topic.window.extend(_entry(e) for e in page)
                pages += 1
        except StoreUnavailable:
            if topic.latest is None or topic.latest.phase is not Phase.unavailable:
                log.warning("feed: store unavailable", extra=extra)
            return topic.snapshot(Phase.unavailable)
        state = await room_state(services, detail.interview)
        view = interview_view(detail, state, steers)
        return topic.snapshot(Phase.ended if detail.interview.status.ended else Phase.live, view)
