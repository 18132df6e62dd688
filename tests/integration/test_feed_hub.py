"""The observers' feed on the real stack: the session token server (Supabase store, LiveKit).

Two named observers join the room hidden; each one's feed lists both as watchers (LiveKit's
ListParticipants lists hidden participants; ListRooms does not count them). A steer written to
the store shows in both feeds with its state, and so does its state moving on; a transcript
message stored during the interview arrives once as a `transcript` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from livekit import api, rtc

from interview.steering import Steer, SteerKind, SteerState, SteerUpdate
from interview.store import Speaker, TranscriptMessage
from interview.supabase_store import SupabaseStore
from tests.fixtures.token_server import TokenServer
from token_server import feedhub

pytestmark = pytest.mark.integration

PLAN: dict[str, Any] = {
    "candidate_name": "Grace Hopper",
    "role": "Platform engineer",
    "level": "senior",
    "type": "technical",
    "mode": "screening",
    "question_count": 2,
}
WAIT = 20.0


@dataclass
class Feed:
    """One observer's feed, read in the background: every event, and the latest detail."""

    events: list[tuple[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def details(self) -> list[dict[str, Any]]:
        return [data for kind, data in self.events if kind == "detail"]

    def entries(self) -> list[dict[str, Any]]:
        return [e for kind, data in self.events if kind == "transcript" for e in data["entries"]]

    async def wait_for(self, ok: Callable[[Feed], bool], what: str) -> None:
        try:
            async with asyncio.timeout(WAIT):
                while not ok(self):
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            raise AssertionError(f"{what}: not within {WAIT:.0f}s; got {self.events!r}") from None


async def read_feed(http: httpx.AsyncClient, url: str, feed: Feed) -> None:
    """Parse the stream as the spec says: fields until a blank line; comments ignored."""
    async with http.stream("GET", url) as resp:
        assert resp.status_code == 200, await resp.aread()
        kind, data = "message", ""
        async for line in resp.aiter_lines():
            if line == "":
                if data:
                    feed.events.append((kind, json.loads(data)))
                    feed.changed.set()
                kind, data = "message", ""
            elif line.startswith("event:"):
                kind = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data += line.removeprefix("data:").strip()


@contextlib.asynccontextmanager
async def feeds(http: httpx.AsyncClient, url: str, n: int) -> AsyncIterator[list[Feed]]:
    found = [Feed() for _ in range(n)]
    tasks = [asyncio.create_task(read_feed(http, url, f)) for f in found]
    try:
        yield found
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def watcher_names(feed: Feed) -> set[str]:
    details = feed.details()
    return {w["name"] for w in (details[-1]["watchers"] or [])} if details else set()


def steer_states(feed: Feed, steer_id: UUID) -> list[str]:
    details = feed.details()
    if not details:
        return []
    return [s["state"] for s in details[-1]["steers"] if s["id"] == str(steer_id)]


async def test_two_named_observers_see_each_other_and_a_steer_moving_on(
    token_server: TokenServer, store: SupabaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feedhub, "POLL_SECONDS", 0.2)  # the server runs in this process
    async with httpx.AsyncClient(
        base_url=token_server.url, headers=token_server.auth_headers, timeout=WAIT
    ) as http:
        created = (await http.post("/api/interviews", json=PLAN)).json()
        iid = UUID(created["interview"]["id"])
        rooms = [rtc.Room(), rtc.Room()]
        lk = token_server.livekit
        try:
            grants = []
            for name, room in zip(("Dana", "Lee"), rooms, strict=True):
                resp = await http.post(f"/api/interviews/{iid}/observer-token", json={"name": name})
                assert resp.status_code == 200, resp.text
                grants.append(resp.json())
                await room.connect(lk.url, resp.json()["token"])

            async with feeds(http, f"/api/interviews/{iid}/feed", 2) as both:
                for feed in both:
                    await feed.wait_for(
                        lambda f: watcher_names(f) == {"Dana", "Lee"}, "both watchers listed"
                    )
                watchers = both[0].details()[-1]["watchers"]
                assert {w["identity"] for w in watchers} == {g["identity"] for g in grants}
                assert all(datetime.fromisoformat(w["joined_at"]) for w in watchers)
                assert [k for k, _ in both[0].events][:2] == ["detail", "transcript"]
                assert both[0].entries() == []  # nothing said yet

                steer = await store.create_steer(
                    Steer(
                        id=uuid4(),
                        interview_id=iid,
                        kind=SteerKind.deeper,
                        sent_by="key-test",
                        sent_by_name="Dana",
                    )
                )
                for feed in both:
                    await feed.wait_for(
                        lambda f: steer_states(f, steer.id) == ["pending"], "the steer listed"
                    )
                moved = await store.advance_steer(
                    SteerUpdate(
                        steer_id=steer.id,
                        interview_id=iid,
                        state=SteerState.delivered,
                        detail="sent to the interviewer",
                    )
                )
                assert moved
                store.append_transcript(
                    TranscriptMessage(
                        interview_id=iid,
                        item_id="item_feed_1",
                        speaker=Speaker.interviewer,
                        text="Tell me about a migration you led.",
                        started_at=datetime.now(UTC),
                    )
                )
                assert await store.flush(10) == 0
                for feed in both:
                    await feed.wait_for(
                        lambda f: steer_states(f, steer.id) == ["delivered"], "the steer moved on"
                    )
                    await feed.wait_for(lambda f: len(f.entries()) == 1, "the message arrived")
                [entry] = both[1].entries()
                assert (entry["item_id"], entry["speaker"]) == ("item_feed_1", "interviewer")
                [shown] = [s for s in both[1].details()[-1]["steers"] if s["id"] == str(steer.id)]
                assert (shown["kind"], shown["sent_by_name"], shown["detail"]) == (
                    "deeper",
                    "Dana",
                    "sent to the interviewer",
                )
        finally:
            for room in rooms:
                await room.disconnect()
            async with api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret) as client:
                with contextlib.suppress(api.ServerError):
                    await client.room.delete_room(api.DeleteRoomRequest(room=created["room"]))
