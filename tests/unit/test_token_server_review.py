"""The review endpoints and the list filters over the in-memory store: validation (each refusal
with its reason), the updated report they answer with, audit rows with the reviewer, the rate
limit, the Markdown download."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from interview.evaluation import CheckedQuestion, CheckedScore, EvaluationReport
from interview.store import (
    AskedQuestion,
    Evaluation,
    EvaluationState,
    InterviewStatus,
    QuestionOutcome,
)
from tests.fixtures.store import new_interview
from tests.fixtures.token_server import MemoryStore
from tests.unit.test_token_server_api import API_KEY, AUTH, make_settings
from token_server.app import create_app
from token_server.auth import key_id

pytestmark = pytest.mark.unit

_T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def client(tmp_path: Path, store: MemoryStore) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path), store=store)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def _checked(ordinal: int, value: int) -> CheckedQuestion:
    score = CheckedScore(value=value, reason=f"reason {value}", supported=True)
    return CheckedQuestion(
        ordinal=ordinal,
        outcome="answered",
        clarity=score,
        relevance=score,
        depth=score,
        accuracy=None,
    )


async def _ended(
    store: MemoryStore,
    *,
    name: str = "Ada Lovelace",
    role: str = "Backend engineer",
    evaluated: bool = True,
    status: InterviewStatus = InterviewStatus.completed,
) -> UUID:
    iid = (await store.create_interview(new_interview(candidate_name=name, role=role))).id
    store.record_status(iid, InterviewStatus.live, at=_T0)
    for ordinal in (1, 2):
        store.record_question(
            AskedQuestion(
                interview_id=iid,
                ordinal=ordinal,
                bank_question_id=None,
                text=f"Question {ordinal}",
                topic="systems",
                difficulty=3,
                asked_at=_T0 + timedelta(minutes=ordinal),
                outcome=QuestionOutcome.answered,
            )
        )
    store.record_status(iid, status, at=_T0 + timedelta(minutes=10))
    if evaluated:
        report = EvaluationReport(
            questions=[_checked(1, 2), _checked(2, 4)],
            strengths=["s"],
            concerns=["c"],
            recommendation="yes",
            model_recommendation="yes",
            planned_questions=2,
            scored_questions=2,
            dropped_quotes=0,
        )
        store.evaluations[iid] = Evaluation(
            interview_id=iid,
            state=EvaluationState.done,
            attempts=1,
            model="m",
            report=report.model_dump(mode="json"),
            finished_at=_T0,
        )
    return iid


def _error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def test_an_override_note_and_decision_come_back_in_the_report(
    client: TestClient, store: MemoryStore
) -> None:
    iid = await _ended(store)
    base = f"/api/interviews/{iid}/review"

    first = client.put(
        f"{base}/scores/1/depth", json={"value": 5, "reason": "  went deep  "}, headers=AUTH
    )
    client.put(f"{base}/scores/2/clarity", json={"value": 1, "reason": "rambled"}, headers=AUTH)
    removed = client.delete(f"{base}/scores/2/clarity", headers=AUTH)
    noted = client.post(f"{base}/notes", json={"text": "Good signal"}, headers=AUTH)
    decided = client.put(f"{base}/decision", json={"value": "hold"}, headers=AUTH)
    decided = client.put(f"{base}/decision", json={"value": "advance"}, headers=AUTH)

    assert [r.status_code for r in (first, removed, noted, decided)] == [200] * 4
    depth = first.json()["questions"][0]["scores"]["depth"]
    assert (depth["value"], depth["effective"]) == (2, 5)
    assert depth["override"]["reason"] == "went deep"
    assert depth["override"]["reviewer"] == key_id(API_KEY)
    report = decided.json()
    # Q1 depth overridden to 5, Q2 clarity's override removed: the means follow the overrides.
    assert report["overall"]["depth"] == 4.5 and report["overall"]["clarity"] == 3.0
    assert report["questions"][1]["scores"]["clarity"]["override"] is None
    assert report["review"]["decision"]["value"] == "advance"
    assert [n["text"] for n in report["review"]["notes"]] == ["Good signal"]
    assert [h["kind"] for h in report["review"]["history"]] == [
        "score_override",
        "score_override",
        "override_removed",
        "note",
        "decision",
        "decision",
    ]
    assert client.get(f"/api/interviews/{iid}/report", headers=AUTH).json() == report
    audits = [(a.kind, a.detail["reviewer"]) for a in store.audits if a.kind.startswith("review")]
    assert audits == [
        ("review_score_override", key_id(API_KEY)),
        ("review_score_override", key_id(API_KEY)),
        ("review_override_removed", key_id(API_KEY)),
        ("review_note", key_id(API_KEY)),
        ("review_decision", key_id(API_KEY)),
        ("review_decision", key_id(API_KEY)),
    ]


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("scores/9/depth", {"value": 3, "reason": "x"}, 404, "question_not_found"),
        ("scores/0/depth", {"value": 3, "reason": "x"}, 422, "validation_error"),
        ("scores/1/charm", {"value": 3, "reason": "x"}, 422, "validation_error"),
        ("scores/1/depth", {"value": 6, "reason": "x"}, 422, "validation_error"),
        ("scores/1/depth", {"value": 0, "reason": "x"}, 422, "validation_error"),
        ("scores/1/depth", {"value": 3}, 422, "validation_error"),
        ("scores/1/depth", {"value": 3, "reason": "   "}, 422, "validation_error"),
        ("scores/1/depth", {"value": 3, "reason": "x" * 501}, 422, "validation_error"),
        # The evaluation gave no accuracy score: there is nothing to put an override beside.
        ("scores/1/accuracy", {"value": 3, "reason": "x"}, 409, "score_not_available"),
    ],
)
async def test_overrides_are_validated(
    client: TestClient,
    store: MemoryStore,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    iid = await _ended(store)

    response = client.put(f"/api/interviews/{iid}/review/{path}", json=body, headers=AUTH)

    assert _error(response) == (status, code)
    assert await store.review_events(iid) == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "scores/1/depth", {"value": 3, "reason": "x"}),
        ("DELETE", "scores/1/depth", None),
        ("POST", "notes", {"text": "x"}),
        ("PUT", "decision", {"value": "advance"}),
    ],
)
async def test_a_running_interview_cannot_be_reviewed_and_an_unknown_one_is_not_found(
    client: TestClient, store: MemoryStore, method: str, path: str, body: Any
) -> None:
    iid = await _ended(store, status=InterviewStatus.live, evaluated=False)

    running = client.request(
        method, f"/api/interviews/{iid}/review/{path}", json=body, headers=AUTH
    )
    unknown = client.request(
        method, f"/api/interviews/{uuid4()}/review/{path}", json=body, headers=AUTH
    )
    anonymous = client.request(method, f"/api/interviews/{iid}/review/{path}", json=body)

    assert _error(running) == (409, "interview_not_ended")
    assert _error(unknown) == (404, "interview_not_found")
    assert _error(anonymous) == (401, "unauthenticated")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("notes", {"text": ""}),
        ("notes", {"text": "x" * 2001}),
        ("notes", {}),
        ("decision", {"value": "maybe"}),
        ("decision", {"value": "advance", "extra": 1}),
    ],
)
async def test_notes_and_decisions_are_validated(
    client: TestClient, store: MemoryStore, path: str, body: dict[str, Any]
) -> None:
    iid = await _ended(store)
    method = "POST" if path == "notes" else "PUT"

    response = client.request(
        method, f"/api/interviews/{iid}/review/{path}", json=body, headers=AUTH
    )

    assert _error(response) == (422, "validation_error")


async def test_review_changes_are_rate_limited_per_key(tmp_path: Path, store: MemoryStore) -> None:
    iid = await _ended(store)
    app = create_app(make_settings(tmp_path, review_burst=2, review_rate_per_minute=1), store=store)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        statuses = [
            client.post(
                f"/api/interviews/{iid}/review/notes", json={"text": "n"}, headers=AUTH
            ).status_code
            for _ in range(3)
        ]
        limited = client.post(
            f"/api/interviews/{iid}/review/notes", json={"text": "n"}, headers=AUTH
        )

    assert statuses == [200, 200, 429]
    assert limited.headers["Retry-After"]
    assert len(await store.review_events(iid)) == 2


async def test_the_markdown_download(client: TestClient, store: MemoryStore) -> None:
    iid = await _ended(store, name="Zoë O'Brien")
    client.put(
        f"/api/interviews/{iid}/review/scores/1/depth",
        json={"value": 5, "reason": "deep"},
        headers=AUTH,
    )

    response = client.get(f"/api/interviews/{iid}/report.md", headers=AUTH)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="interview-report-zoe-o-brien.md"'
    )
    assert response.headers["cache-control"] == "no-store"
    assert "# Interview report: Zoë O'Brien" in response.text
    assert f"| Depth | 2 | 5 ({key_id(API_KEY)}: deep) | 5 |" in response.text
    assert _error(client.get(f"/api/interviews/{uuid4()}/report.md", headers=AUTH)) == (
        404,
        "interview_not_found",
    )
    assert client.get(f"/api/interviews/{iid}/report.md").status_code == 401


async def test_the_list_searches_filters_by_decision_and_carries_the_outcome(
    client: TestClient, store: MemoryStore
) -> None:
    ada = await _ended(store, name="Ada Lovelace", role="Backend engineer")
    bob = await _ended(store, name="Bob 100%", role="Data_analyst", evaluated=False)
    cy = await _ended(
        store, name="Cy", role="Frontend", status=InterviewStatus.live, evaluated=False
    )
    client.put(f"/api/interviews/{ada}/review/decision", json={"value": "reject"}, headers=AUTH)

    def ids(**params: Any) -> list[UUID]:
        response = client.get("/api/interviews", params=params, headers=AUTH)
        assert response.status_code == 200, response.text
        return [UUID(i["id"]) for i in response.json()["items"]]

    items = {i["id"]: i for i in client.get("/api/interviews", headers=AUTH).json()["items"]}
    assert (items[str(ada)]["recommendation"], items[str(ada)]["decision"]) == ("yes", "reject")
    assert (items[str(bob)]["recommendation"], items[str(bob)]["decision"]) == (None, None)
    assert set(ids(q="LOVE")) == {ada}
    assert set(ids(q="backend")) == {ada}
    assert set(ids(q="100%")) == {bob}
    assert set(ids(q="a_a")) == {bob}
    assert ids(q="a%a") == []
    assert set(ids(decision="reject")) == {ada}
    assert set(ids(decision="none")) == {bob, cy}
    assert ids(decision="advance") == []
    assert set(ids(decision="none", status="completed")) == {bob}
    for bad in ({"decision": "maybe"}, {"q": ""}, {"q": "x" * 81}):
        assert _error(client.get("/api/interviews", params=bad, headers=AUTH)) == (
            422,
            "validation_error",
        )
