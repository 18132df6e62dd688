"""The observer feed (server-sent events) over a scripted in-memory store.

Starlette's test client returns a streamed body once the app has finished it, so each test
scripts what the store holds at every poll and reads the whole stream afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from devstack.proc import free_port
from interview.contract import InterviewPlan
from interview.store import (
    Answer,
    Feedback,
    InterviewDetail,
    InterviewStatus,
    NewInterview,
    Scores,
    StoreUnavailable,
)
from tests.fixtures.token_server import MemoryStore
from token_server import tokens
from token_server.app import create_app
from token_server.routes import feed
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
    monkeypatch.setattr(feed, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(feed, "MAX_LIFETIME_SECONDS", 30.0)


@pytest.fixture
def store() -> ScriptedStore:
    return ScriptedStore()


@pytest.fixture
def client(tmp_path: Path, store: ScriptedStore) -> Iterator[TestClient]:
    settings = Settings(
        _env_file=None,
        environment="test",
        livekit_url=f"ws://127.0.0.1:{free_port()}",
        livekit_api_key="testkey",
        livekit_api_secret=SecretStr("t" * 40),
        interviewer_api_keys=SecretStr(API_KEY),
        web_dist_dir=tmp_path / "no-dist",
    )  # type: ignore[call-arg]
    with TestClient(create_app(settings, store=store), base_url="http://127.0.0.1") as c:
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
    assert [kind for kind, _ in got] == ["retry", "detail", "end"]
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
    monkeypatch.setattr(feed, "KEEPALIVE_SECONDS", 0.0)
    iid = await live_interview(store)
    store.script = [None, None, None, status(InterviewStatus.completed)]
    got = events(client.get(f"/api/interviews/{iid}/feed", headers=AUTH).text)
    assert ("comment", "keep-alive") in got


async def test_a_store_outage_is_reported_once_and_the_feed_goes_on(
    client: TestClient, store: ScriptedStore
) -> None:
    iid = await live_interview(store)
    store.script = [None, unavailable, unavailable, answer(1, 5), status(InterviewStatus.completed)]
    got = events(client.get(f"/api/interviews/{iid}/feed", headers=AUTH).text)
    kinds = [kind for kind, _ in got]
    assert kinds == ["retry", "detail", "unavailable", "detail", "detail", "end"]


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
