"""The observer feed (server-sent events) over a scripted in-memory store.

Starlette's test client (and httpx's ASGI transport) return a streamed body once the app has
finished it, so each test scripts what the store holds at every poll and reads the whole stream
afterwards. Tests that count polls gate the store's reads (`GatedStore`): a poll reads only
when the test allows it, so counts are exact whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from livekit import api
from pydantic import SecretStr

from devstack.proc import free_port
from interview.contract import InterviewPlan
from interview.steering import Steer, SteerKind, SteerState
from interview.store import (
    Answer,
    Feedback,
    Interview,
    InterviewDetail,
    InterviewStatus,
    NewInterview,
    Scores,
    Speaker,
    StoreUnavailable,
    TranscriptEntry,
    TranscriptMessage,
)
from tests.fixtures.token_server import MemoryStore
from token_server import feedhub, tokens
from token_server.app import create_app
from token_server.presence import room_state_of
from token_server.routes import feed
from token_server.schemas import Presence
from token_server.settings import Settings

pytestmark = pytest.mark.unit

API_KEY = "interviewer-key-" + "f" * 24
AUTH = {"Authorization": f"Bearer {API_KEY}"}
PLAN = {
    "candidate_name": "Grace Hopper",
    "role": "Backend engineer",
    "level": "senior",
    "type": "technical",
    "mode": "screening",
    "question_count": 2,
}

Step = Callable[["ScriptedStore", UUID], None]


@dataclass
class ScriptedStore(MemoryStore):
    """Runs one scripted step before each `interview_detail` read (the route's first read,
    then one per poll); `reads` counts the reads."""

    script: list[Step | None] = field(default_factory=list)
    reads: int = 0

    async def interview_detail(self, interview_id: UUID) -> InterviewDetail | None:
        self.reads += 1
        if self.script:
            step = self.script.pop(0)
            if step is not None:
                step(self, interview_id)
        return await super().interview_detail(interview_id)


def answer(ordinal: int, score: int) -> Step:
    def step(store: ScriptedStore, iid: UUID) -> None:
        store.record_answer(
            Answer(
                interview_id=iid,
                ordinal=ordinal,
                transcript="I would add an index.",
                scores=Scores(clarity=score, relevance=score, depth=score, accuracy=score),
            )
        )

    return step


def status(value: InterviewStatus) -> Step:
    def step(store: ScriptedStore, iid: UUID) -> None:
        store.record_status(iid, value, at=datetime.now(UTC))

    return step


def unavailable(store: ScriptedStore, iid: UUID) -> None:
    raise StoreUnavailable("scripted outage")


@pytest.fixture(autouse=True)
def fast_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feedhub, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(feed, "MAX_LIFETIME_SECONDS", 30.0)


@pytest.fixture
def store() -> ScriptedStore:
    return ScriptedStore()


def make_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        livekit_url=f"ws://127.0.0.1:{free_port()}",
        livekit_api_key="testkey",
        livekit_api_secret=SecretStr("t" * 40),
        interviewer_api_keys=SecretStr(API_KEY),
        web_dist_dir=tmp_path / "no-dist",
    )  # type: ignore[call-arg]


@pytest.fixture
def client(tmp_path: Path, store: ScriptedStore) -> Iterator[TestClient]:
    with TestClient(
        create_app(make_settings(tmp_path), store=store), base_url="http://127.0.0.1"
    ) as c:
        yield c


async def live_interview(store: ScriptedStore) -> UUID:
    iid = uuid4()
    await store.create_interview(
        NewInterview(
            id=iid,
            plan=InterviewPlan.model_validate(PLAN),
            room_name=tokens.room_name(iid),
            invite_hash=tokens.invite_hash(tokens.new_invite_secret()),
        )
    )
    store.record_status(iid, InterviewStatus.live, at=datetime.now(UTC))
    return iid


def events(text: str) -> list[tuple[str, Any]]:
    """(event, parsed data) for each event in an SSE body; comments as ('comment', text)."""
    out: list[tuple[str, Any]] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        if block.startswith(":"):
            out.append(("comment", block[1:].strip()))
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
        else:
            out.append(("retry" if "retry" in fields else "?", fields))
    return out


async def test_the_feed_sends_each_change_once_and_ends_with_the_interview(
    client: TestClient, store: ScriptedStore
) -> None:
    iid = await live_interview(store)
    # first read (before streaming), then polls: unchanged, answer 1, unchanged, answer 2 and
    # completed together.
    store.script = [None, None, answer(1, 4), None, answer(2, 2), status(InterviewStatus.completed)]

    resp = client.get(f"/api/interviews/{iid}/feed", headers=AUTH)

    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["cache-control"] == "no-store"
    got = events(resp.text)
    assert got[0] == ("retry", {"retry": str(feed.RETRY_MS)})
    details = [data for kind, data in got if kind == "detail"]
    assert [len(d["answers"]) for d in details] == [0, 1, 2, 2]
    assert [d["interview"]["status"] for d in details] == ["live", "live", "live", "completed"]
    assert details[1]["answers"][0]["scores"]["clarity"] == 4
    assert details[2]["answers"][1]["scores"] == {
        "clarity": 2,
        "relevance": 2,
        "depth": 2,
        "accuracy": 2,
    }
    assert got[-1] == ("end", {"status": "completed"})
    assert store.reads == 6  # nothing read after the end


async def test_feedback_reaches_the_feed(client: TestClient, store: ScriptedStore) -> None:
    iid = await live_interview(store)

    def feedback(s: ScriptedStore, i: UUID) -> None:
        s.record_feedback(Feedback(interview_id=i, ordinal=None, bullets=["Be concrete."]))

    store.script = [None, feedback, status(InterviewStatus.completed)]
    got = events(client.get(f"/api/interviews/{iid}/feed", headers=AUTH).text)
    details = [data for kind, data in got if kind == "detail"]
    assert details[-1]["feedback"] == [
        {"interview_id": str(iid), "ordinal": None, "bullets": ["Be concrete."]}
    ]


async def test_an_ended_interview_gets_one_detail_and_the_end(
    client: TestClient, store: ScriptedStore
) -> None:
    iid = await live_interview(store)
    store.record_status(iid, InterviewStatus.abandoned, at=datetime.now(UTC))
    got = events(client.get(f"/api/interviews/{iid}/feed", headers=AUTH).text)
    assert [kind for kind, _ in got] == ["retry", "detail", "transcript", "end"]
    assert got[-1][1] == {"status": "abandoned"}
    assert store.reads == 1


async def test_the_feed_has_a_bounded_lifetime(
    client: TestClient, store: ScriptedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed, "MAX_LIFETIME_SECONDS", 0.2)
    iid = await live_interview(store)
    got = events(client.get(f"/api/interviews/{iid}/feed", headers=AUTH).text)
    assert got[-1] == ("reconnect", {"after_ms": feed.RETRY_MS})
    assert [kind for kind, _ in got].count("detail") == 1  # nothing changed


async def test_idle_feeds_send_keep_alive_comments(
    client: TestClient, store: ScriptedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing changes during the stream's lifetime; the library's pings (comment lines) come
    # at the keep-alive interval, which is shorter than the lifetime.
    monkeypatch.setattr(feed, "KEEPALIVE_SECONDS", 0.05)
    monkeypatch.setattr(feed, "MAX_LIFETIME_SECONDS", 0.4)
    iid = await live_interview(store)
    got = events(client.get(f"/api/interviews/{iid}/feed", headers=AUTH).text)
    assert [kind for kind, _ in got if kind != "comment"] == [
        "retry",
        "detail",
        "transcript",
        "reconnect",
    ]
    assert any(kind == "comment" and text.startswith("ping") for kind, text in got)


async def test_a_store_outage_is_reported_once_and_the_feed_goes_on(
    client: TestClient, store: ScriptedStore
) -> None:
    iid = await live_interview(store)
    store.script = [None, unavailable, unavailable, answer(1, 5), status(InterviewStatus.completed)]
    got = events(client.get(f"/api/interviews/{iid}/feed", headers=AUTH).text)
    kinds = [kind for kind, _ in got]
    assert kinds == ["retry", "detail", "transcript", "unavailable", "detail", "detail", "end"]


async def test_a_feed_opened_during_a_store_outage_is_a_503_and_polls_no_more(
    client: TestClient, store: ScriptedStore
) -> None:
    iid = await live_interview(store)
    store.script = [unavailable]
    resp = client.get(f"/api/interviews/{iid}/feed", headers=AUTH)
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "store_unavailable"
    hub = client.app.state.services.feeds  # type: ignore[attr-defined]
    assert hub.subscribers(iid) == 0
    await until(lambda: hub.polling() == 0, "the poll stopped")
    assert store.reads == 1


def test_the_feed_needs_an_interviewer_key(client: TestClient) -> None:
    resp = client.get(f"/api/interviews/{uuid4()}/feed")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthenticated"
    resp = client.get(f"/api/interviews/{uuid4()}/feed", headers={"Authorization": "Bearer no"})
    assert resp.status_code == 401


def test_the_feed_of_an_unknown_interview_is_404(client: TestClient) -> None:
    resp = client.get(f"/api/interviews/{uuid4()}/feed", headers=AUTH)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "interview_not_found"
    assert resp.headers["cache-control"] == "no-store"


def test_a_malformed_id_is_a_validation_error(client: TestClient) -> None:
    resp = client.get("/api/interviews/not-a-uuid/feed", headers=AUTH)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_error"


async def test_the_feed_detail_carries_presence_null_without_livekit(
    client: TestClient, store: ScriptedStore
) -> None:
    # LiveKit is unreachable here: presence is null rather than a guess; the field is there
    # for the observer page's "candidate waiting, no interviewer yet".
    iid = await live_interview(store)
    store.script = [None, status(InterviewStatus.completed)]
    got = events(client.get(f"/api/interviews/{iid}/feed", headers=AUTH).text)
    details = [data for kind, data in got if kind == "detail"]
    assert details and all("presence" in d and d["presence"] is None for d in details)


# ---- the transcript -------------------------------------------------------------------------

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def said(n: int) -> Step:
    """Store the n-th message (alternating speakers), as the agent's writer does."""

    def step(store: ScriptedStore, iid: UUID) -> None:
        store.append_transcript(
            TranscriptMessage(
                interview_id=iid,
                item_id=f"item_{n}",
                speaker=Speaker.interviewer if n % 2 else Speaker.candidate,
                text=f"message {n}",
                started_at=T0 + timedelta(seconds=n),
                ended_at=T0 + timedelta(seconds=n, milliseconds=800),
            )
        )

    return step


async def test_a_late_feed_gets_the_stored_transcript_then_only_new_messages(
    client: TestClient, store: ScriptedStore
) -> None:
    iid = await live_interview(store)
    for n in (1, 2, 3):
        said(n)(store, iid)
    # first poll, then: message 4, nothing new, the end.
    store.script = [None, said(4), None, status(InterviewStatus.completed)]

    got = events(client.get(f"/api/interviews/{iid}/feed", headers=AUTH).text)

    transcripts = [data["entries"] for kind, data in got if kind == "transcript"]
    assert [[e["item_id"] for e in batch] for batch in transcripts] == [
        ["item_1", "item_2", "item_3"],
        ["item_4"],
    ]
    first = transcripts[0][0]
    assert set(first) == {
        "id",
        "item_id",
        "speaker",
        "text",
        "started_at",
        "ended_at",
        "interrupted",
    }
    assert (first["speaker"], first["text"], first["interrupted"]) == (
        "interviewer",
        "message 1",
        False,
    )
    ids = [e["id"] for batch in transcripts for e in batch]
    assert ids == sorted(set(ids))  # each once, in row order
    # connect: detail, then the backfill; the end after the final detail.
    assert [k for k, _ in got][:3] == ["retry", "detail", "transcript"]
    assert [k for k, _ in got][-2:] == ["detail", "end"]


async def test_steers_and_their_state_changes_reach_the_feed(
    client: TestClient, store: ScriptedStore
) -> None:
    iid = await live_interview(store)
    steer = await store.create_steer(
        Steer(
            id=uuid4(),
            interview_id=iid,
            kind=SteerKind.note,
            text="Ask about the migration.",
            sent_by="key-abc",
            sent_by_name="Dana",
        )
    )

    def delivered(s: ScriptedStore, i: UUID) -> None:
        s.steers[steer.id] = s.steers[steer.id].model_copy(update={"state": SteerState.delivered})

    store.script = [None, delivered, status(InterviewStatus.completed)]
    got = events(client.get(f"/api/interviews/{iid}/feed", headers=AUTH).text)
    details = [data for kind, data in got if kind == "detail"]
    assert [[s["state"] for s in d["steers"]] for d in details] == [
        ["pending"],
        ["delivered"],
        ["delivered"],
    ]
    assert details[0]["steers"][0]["text"] == "Ask about the migration."
    assert details[0]["steers"][0]["sent_by_name"] == "Dana"
    assert all(d["watchers"] is None for d in details)  # LiveKit does not answer here


# ---- one poll per interview, whatever the number of feeds -------------------------------------


@dataclass
class GatedStore(MemoryStore):
    """Counts the reads by name; every `interview_detail` read (one per poll) first waits for
    the test to `allow` it, then runs the next scripted step."""

    counts: Counter[str] = field(default_factory=Counter)
    script: list[Step | None] = field(default_factory=list)
    _gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(0))
    waiting: int = 0

    def allow(self, polls: int) -> None:
        for _ in range(polls):
            self._gate.release()

    async def interview_detail(self, interview_id: UUID) -> InterviewDetail | None:
        self.waiting += 1
        try:
            await self._gate.acquire()
        finally:
            self.waiting -= 1
        self.counts["interview_detail"] += 1
        if self.script:
            step = self.script.pop(0)
            if step is not None:
                step(self, interview_id)  # type: ignore[arg-type]
        return await super().interview_detail(interview_id)

    async def list_steers(self, interview_id: UUID) -> list[Steer]:
        self.counts["list_steers"] += 1
        return await super().list_steers(interview_id)

    async def transcript_after(
        self, interview_id: UUID, after_id: int, *, limit: int
    ) -> list[TranscriptEntry]:
        self.counts["transcript_after"] += 1
        return await super().transcript_after(interview_id, after_id, limit=limit)


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan, in this test's event loop (so the gate is shared)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=AUTH, timeout=30
        ) as http:
            yield http


async def until(probe: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not probe():
            await asyncio.sleep(0.005)


FEEDS = 5


async def test_five_feeds_share_one_poll_of_the_store(tmp_path: Path) -> None:
    store = GatedStore()
    iid = await live_interview(store)  # type: ignore[arg-type]
    app = create_app(make_settings(tmp_path), store=store)
    async with served(app) as http:
        hub = app.state.services.feeds
        feeds = [asyncio.create_task(http.get(f"/api/interviews/{iid}/feed")) for _ in range(FEEDS)]
        await until(lambda: hub.subscribers(iid) == FEEDS, "five feeds subscribed")
        # The first poll; then an answer; then the end.
        store.script = [None, answer(1, 4), status(InterviewStatus.completed)]  # type: ignore[list-item]
        store.allow(3)
        bodies = [(await f).text for f in feeds]

    for body in bodies:
        got = events(body)
        assert [k for k, _ in got] == ["retry", "detail", "transcript", "detail", "detail", "end"]
        details = [d for k, d in got if k == "detail"]
        assert [len(d["answers"]) for d in details] == [0, 1, 1]
    # One read of each kind per poll, not one per feed.
    assert store.counts == {"interview_detail": 3, "list_steers": 3, "transcript_after": 3}
    assert hub.polling() == 0


async def test_the_last_feed_leaving_stops_the_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed, "MAX_LIFETIME_SECONDS", 0.3)
    store = GatedStore()
    iid = await live_interview(store)  # type: ignore[arg-type]
    app = create_app(make_settings(tmp_path), store=store)
    async with served(app) as http:
        hub = app.state.services.feeds
        store.allow(1)
        feeds = [asyncio.create_task(http.get(f"/api/interviews/{iid}/feed")) for _ in range(FEEDS)]
        # The poll after the first waits at the gate while the feeds run out their lifetime.
        await until(lambda: store.waiting == 1, "the second poll waiting")
        bodies = [(await f).text for f in feeds]
        await until(lambda: hub.polling() == 0, "the poll stopped")
        assert hub.subscribers(iid) == 0
        assert store.waiting == 0  # the waiting poll was cancelled, not left behind
    assert all(events(b)[-1] == ("reconnect", {"after_ms": feed.RETRY_MS}) for b in bodies)
    assert store.counts["interview_detail"] == 1


async def test_a_slow_subscriber_gets_the_latest_snapshot_and_holds_up_nobody(
    tmp_path: Path,
) -> None:
    store = GatedStore()
    iid = await live_interview(store)  # type: ignore[arg-type]
    polls = 2 * feedhub.QUEUE_SIZE + 4
    store.script = [None] + [answer(n, 3) for n in range(1, polls + 1)]  # type: ignore[list-item]
    app = create_app(make_settings(tmp_path), store=store)
    async with served(app):
        services = app.state.services
        hub = services.feeds
        async with (
            hub.subscription(services, iid) as fast,
            hub.subscription(services, iid) as slow,
        ):
            store.allow(1)
            assert len((await fast.first()).view.answers) == 0  # type: ignore[union-attr]
            seen = []
            for _ in range(polls):
                store.allow(1)
                snapshot = await fast.next()
                assert snapshot.view is not None
                seen.append(len(snapshot.view.answers))
            # The slow one never read (not even the first of the polls + 1 snapshots): its
            # backlog was dropped for the newest snapshot twice, and what it has left is what
            # came since, ending with the newest.
            assert slow.dropped == 2
            assert slow.pending() == polls + 1 - 2 * feedhub.QUEUE_SIZE
            left = [await slow.next() for _ in range(slow.pending())]
        assert seen == list(range(1, polls + 1))
        assert [len(s.view.answers) for s in left if s.view] == list(
            range(2 * feedhub.QUEUE_SIZE, polls + 1)
        )
        assert store.counts["interview_detail"] == polls + 1


async def test_a_feed_is_told_to_reconnect_when_the_server_stops(tmp_path: Path) -> None:
    store = GatedStore()
    iid = await live_interview(store)  # type: ignore[arg-type]
    app = create_app(make_settings(tmp_path), store=store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", headers=AUTH, timeout=30
    ) as http:
        async with app.router.lifespan_context(app):
            hub = app.state.services.feeds
            store.allow(1)
            pending = asyncio.create_task(http.get(f"/api/interviews/{iid}/feed"))
            await until(lambda: store.waiting == 1, "the feed open, the next poll waiting")
        body = (await pending).text  # the lifespan has ended: the hub closed
    assert events(body)[-1] == ("reconnect", {"after_ms": feed.RETRY_MS})
    assert hub.polling() == 0


# ---- observer tokens carry the observer's name ----------------------------------------------


async def test_the_observer_token_carries_the_name_given(
    client: TestClient, store: ScriptedStore
) -> None:
    iid = await live_interview(store)
    url = f"/api/interviews/{iid}/observer-token"
    verifier = api.TokenVerifier("testkey", "t" * 40)

    named = client.post(url, headers=AUTH, json={"name": "  Dana Scully "})
    assert named.status_code == 200, named.text
    claims = verifier.verify(named.json()["token"])
    assert claims.name == "Dana Scully"
    assert claims.identity.startswith("observer-")

    unnamed = client.post(url, headers=AUTH)  # an old caller: no body
    assert unnamed.status_code == 200, unnamed.text
    assert verifier.verify(unnamed.json()["token"]).name == "Observer"
    assert len(store.audits) == 2

    for bad in ({"name": ""}, {"name": "x" * 61}, {"name": "Dana", "role": "lead"}):
        resp = client.post(url, headers=AUTH, json=bad)
        assert resp.status_code == 422, bad
        assert resp.json()["error"]["code"] == "validation_error"
    assert len(store.audits) == 2  # refused requests write nothing


def test_watchers_are_the_observers_in_the_room_oldest_first() -> None:
    iid = uuid4()
    interview = Interview(
        id=iid,
        plan=InterviewPlan.model_validate(PLAN),
        status=InterviewStatus.live,
        room_name=tokens.room_name(iid),
        created_at=datetime.now(UTC),
    )
    state = api.ParticipantInfo.State
    people = [
        api.ParticipantInfo(identity="observer-bbb", name="Lee", joined_at_ms=2_000),
        api.ParticipantInfo(identity=tokens.candidate_identity(iid), name="Grace"),
        api.ParticipantInfo(identity="agent-1", kind=api.ParticipantInfo.Kind.AGENT),
        api.ParticipantInfo(identity="observer-aaa", name="Dana", joined_at=1),
        api.ParticipantInfo(
            identity="observer-ccc", name="Gone", joined_at_ms=500, state=state.DISCONNECTED
        ),
        api.ParticipantInfo(identity="marker", name="Not an observer", joined_at_ms=100),
    ]
    found = room_state_of(interview, people)
    assert found.presence == Presence(candidate=True, interviewer=True)
    assert [(w.identity, w.name) for w in found.watchers] == [
        ("observer-aaa", "Dana"),
        ("observer-bbb", "Lee"),
    ]
    assert found.watchers[0].joined_at == datetime.fromtimestamp(1, UTC)
