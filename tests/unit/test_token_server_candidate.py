"""The candidate's feedback endpoint: the invite secret, practice mode only, after the end, and
feedback bullets only (no scores, tags, answers or summary)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from devstack.proc import free_port
from interview.contract import InterviewPlan
from interview.store import Answer, Feedback, InterviewStatus, NewInterview, Scores
from tests.fixtures.token_server import MemoryStore
from token_server import tokens
from token_server.app import create_app
from token_server.settings import Settings

pytestmark = pytest.mark.unit

PLAN = {
    "candidate_name": "Katherine Johnson",
    "role": "Data engineer",
    "level": "mid",
    "type": "technical",
    "mode": "practice",
    "question_count": 2,
}


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def client(tmp_path: Path, store: MemoryStore) -> Iterator[TestClient]:
    settings = Settings(
        _env_file=None,
        environment="test",
        livekit_url=f"ws://127.0.0.1:{free_port()}",
        livekit_api_key="testkey",
        livekit_api_secret=SecretStr("t" * 40),
        interviewer_api_keys=SecretStr("k" * 40),
        web_dist_dir=tmp_path / "no-dist",
        join_burst=3,
        join_rate_per_minute=1,
    )  # type: ignore[call-arg]
    with TestClient(create_app(settings, store=store), base_url="http://127.0.0.1") as c:
        yield c


async def interview(
    store: MemoryStore, *, mode: str = "practice", status: InterviewStatus | None = None
) -> tuple[str, object]:
    iid = uuid4()
    secret = tokens.new_invite_secret()
    await store.create_interview(
        NewInterview(
            id=iid,
            plan=InterviewPlan.model_validate({**PLAN, "mode": mode}),
            room_name=tokens.room_name(iid),
            invite_hash=tokens.invite_hash(secret),
        )
    )
    store.record_answer(
        Answer(
            interview_id=iid,
            ordinal=1,
            transcript="Partition by day and cluster by customer.",
            scores=Scores(clarity=4, relevance=5, depth=3, accuracy=4),
            tags=["partitioning"],
        )
    )
    store.record_feedback(Feedback(interview_id=iid, ordinal=2, bullets=["Mention costs."]))
    store.record_feedback(Feedback(interview_id=iid, ordinal=1, bullets=["Name the trade-off."]))
    store.record_feedback(
        Feedback(interview_id=iid, ordinal=None, bullets=["Clear structure.", "Go deeper."])
    )
    if status is not None:
        store.record_status(iid, InterviewStatus.live, at=datetime.now(UTC))
        store.record_status(iid, status, at=datetime.now(UTC))
    return secret, iid


async def test_practice_feedback_after_the_end_is_bullets_only(
    client: TestClient, store: MemoryStore
) -> None:
    secret, _ = await interview(store, status=InterviewStatus.completed)
    resp = client.post("/api/join/feedback", json={"secret": secret})
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    assert resp.json() == {
        "status": "completed",
        "final": ["Clear structure.", "Go deeper."],
        "by_question": [
            {"ordinal": 1, "bullets": ["Name the trade-off."]},
            {"ordinal": 2, "bullets": ["Mention costs."]},
        ],
    }
    # Nothing of the scoring or the answers reaches the candidate.
    for private in ("scores", "clarity", "partitioning", "Partition by day", "summary"):
        assert private not in resp.text


@pytest.mark.parametrize("ended", [InterviewStatus.abandoned, InterviewStatus.cancelled])
async def test_any_end_opens_the_feedback(
    client: TestClient, store: MemoryStore, ended: InterviewStatus
) -> None:
    secret, _ = await interview(store, status=ended)
    resp = client.post("/api/join/feedback", json={"secret": secret})
    assert resp.status_code == 200
    assert resp.json()["status"] == ended.value


@pytest.mark.parametrize("running", [None, InterviewStatus.live])
async def test_no_feedback_while_the_interview_runs(
    client: TestClient, store: MemoryStore, running: InterviewStatus | None
) -> None:
    secret, iid = await interview(store)
    if running is not None:
        store.record_status(iid, running, at=datetime.now(UTC))  # type: ignore[arg-type]
    resp = client.post("/api/join/feedback", json={"secret": secret})
    assert resp.status_code == 409
    body = resp.json()["error"]
    assert body["code"] == "interview_not_ended"
    assert body["details"] == {"status": "live" if running else "waiting"}
    assert "Clear structure" not in resp.text


async def test_screening_feedback_is_never_shared(client: TestClient, store: MemoryStore) -> None:
    secret, _ = await interview(store, mode="screening", status=InterviewStatus.completed)
    resp = client.post("/api/join/feedback", json={"secret": secret})
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "feedback_not_shared"
    assert "Clear structure" not in resp.text


def test_an_unknown_invite_is_404(client: TestClient) -> None:
    resp = client.post("/api/join/feedback", json={"secret": tokens.new_invite_secret()})
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "invite_not_found"


@pytest.mark.parametrize("body", [{}, {"secret": "short"}, {"secret": "x" * 30, "more": 1}])
def test_malformed_bodies_are_refused_without_echo(client: TestClient, body: object) -> None:
    resp = client.post("/api/join/feedback", json=body)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_error"
    assert "x" * 30 not in resp.text


def test_feedback_reads_share_the_join_rate_limit(client: TestClient) -> None:
    codes = [
        client.post("/api/join/feedback", json={"secret": tokens.new_invite_secret()}).status_code
        for _ in range(5)
    ]
    assert codes[:3] == [404, 404, 404]
    assert codes[3:] == [429, 429]
