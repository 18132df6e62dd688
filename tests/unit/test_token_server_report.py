"""The report and transcript reads over an in-memory store: before and after the evaluation,
with nothing to evaluate, paged, and only for interviewers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from interview.contract import InterviewPlan
from interview.evaluation import CheckedQuestion, CheckedQuote, CheckedScore, EvaluationReport
from interview.store import (
    Answer,
    AskedQuestion,
    EvaluationResult,
    EvaluationState,
    Feedback,
    InterviewStatus,
    NewInterview,
    QuestionOutcome,
    Scores,
    Speaker,
    TranscriptMessage,
    Usage,
)
from tests.fixtures.token_server import MemoryStore
from tests.unit.test_token_server_api import AUTH, VALID, make_settings
from token_server import tokens
from token_server.app import create_app
from token_server.report import ReviewState, apply_review, build_report
from token_server.report_schemas import ScoreOverride

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def client(tmp_path: Path, store: MemoryStore) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, evaluator_enabled=False)
    with TestClient(create_app(settings, store=store), base_url="http://127.0.0.1") as c:
        yield c


async def ended_interview(store: MemoryStore, *, answered: bool = True) -> uuid.UUID:
    iid = uuid.uuid4()
    await store.create_interview(
        NewInterview(
            id=iid,
            plan=InterviewPlan.model_validate({**VALID, "question_count": 4}),
            room_name=tokens.room_name(iid),
            invite_hash=tokens.invite_hash(tokens.new_invite_secret()),
        )
    )
    store.record_status(iid, InterviewStatus.live, at=T0)
    store.append_transcript(
        TranscriptMessage(
            interview_id=iid,
            item_id="a",
            speaker=Speaker.interviewer,
            text="Welcome. What is an index?",
            started_at=T0 + timedelta(seconds=1),
        )
    )
    if answered:
        for ordinal in (1, 2):
            store.record_question(
                AskedQuestion(
                    interview_id=iid,
                    ordinal=ordinal,
                    bank_question_id=None,
                    text=f"Question {ordinal}?",
                    topic="databases",
                    difficulty=2,
                    asked_at=T0 + timedelta(seconds=ordinal),
                    outcome=QuestionOutcome.answered,
                )
            )
            store.record_answer(
                Answer(
                    interview_id=iid,
                    ordinal=ordinal,
                    transcript=f"answer {ordinal}",
                    scores=Scores(clarity=3, relevance=3, depth=3, accuracy=3),
                )
            )
        store.record_feedback(Feedback(interview_id=iid, ordinal=1, bullets=["Be concrete."]))
        store.append_transcript(
            TranscriptMessage(
                interview_id=iid,
                item_id="b",
                speaker=Speaker.candidate,
                text="A B-tree that speeds up reads.",
                started_at=T0 + timedelta(seconds=12.5),
            )
        )
    store.record_usage(iid, Usage(input_tokens=10, output_tokens=5, cost_usd=0.25))
    store.record_status(
        iid, InterviewStatus.completed, at=T0 + timedelta(minutes=3), summary="Solid basics."
    )
    return iid


def done_report() -> dict[str, Any]:
    def score(value: int, supported: bool = True) -> CheckedScore:
        return CheckedScore(value=value, reason="why", supported=supported)

    return EvaluationReport(
        questions=[
            CheckedQuestion(
                ordinal=1,
                outcome="answered",
                clarity=score(4),
                relevance=score(5),
                depth=score(4),
                accuracy=score(5),
                evidence=[CheckedQuote(message_id=2, quote="A B-tree", at_s=12.5)],
            ),
            CheckedQuestion(
                ordinal=2,
                outcome="partial",
                clarity=score(2, False),
                relevance=score(3, False),
                depth=score(2, False),
                accuracy=None,
                dropped_quotes=1,
            ),
            CheckedQuestion(ordinal=3, outcome="not_asked"),
            CheckedQuestion(ordinal=4, outcome="not_asked"),
        ],
        strengths=["Knows indexes."],
        concerns=["Thin on question 2."],
        recommendation="yes",
        model_recommendation="yes",
        planned_questions=4,
        scored_questions=1,
        dropped_quotes=1,
    ).model_dump(mode="json")


async def evaluated(store: MemoryStore, iid: uuid.UUID) -> None:
    claim = await store.claim_evaluation(owner="t", lease_s=60, interview_id=iid)
    assert claim is not None
    assert await store.begin_evaluation_attempt(iid, owner="t", lease_s=60) == 1
    assert await store.finish_evaluation(
        iid,
        owner="t",
        result=EvaluationResult(
            state=EvaluationState.done,
            model="gpt-4.1-mini",
            input_tokens=900,
            output_tokens=300,
            cost_usd=0.00084,
            report=done_report(),
        ),
    )


async def test_before_the_evaluation_the_report_is_pending_with_live_scores(
    client: TestClient, store: MemoryStore
) -> None:
    iid = await ended_interview(store)

    body = client.get(f"/api/interviews/{iid}/report", headers=AUTH).json()

    assert body["interview"]["questions_planned"] == 4
    assert body["interview"]["questions_asked"] == 2
    assert body["interview"]["duration_s"] == 180.0
    assert body["interview"]["summary"] == "Solid basics."
    assert body["interview"]["candidate_name"] == VALID["candidate_name"]
    assert body["evaluation"]["state"] == "pending"
    assert body["evaluation"]["recommendation"] is None
    assert body["overall"] == {"clarity": None, "relevance": None, "depth": None, "accuracy": None}
    q1 = body["questions"][0]
    assert q1["live_scores"] == {"clarity": 3, "relevance": 3, "depth": 3, "accuracy": 3}
    assert q1["scores"] == {"clarity": None, "relevance": None, "depth": None, "accuracy": None}
    assert q1["answer_text"] == "answer 1" and q1["feedback"] == ["Be concrete."]
    assert q1["outcome"] == "answered"
    assert body["review"] == {"decision": None, "notes": [], "history": []}
    assert body["cost"] == {"interview_usd": 0.25, "evaluation_usd": None}


async def test_after_the_evaluation_the_report_has_its_scores_quotes_and_overall(
    client: TestClient, store: MemoryStore
) -> None:
    iid = await ended_interview(store)
    await evaluated(store, iid)

    body = client.get(f"/api/interviews/{iid}/report", headers=AUTH).json()

    ev = body["evaluation"]
    assert ev["state"] == "done" and ev["model"] == "gpt-4.1-mini" and ev["attempts"] == 1
    assert ev["recommendation"] == "yes" and ev["strengths"] == ["Knows indexes."]
    assert ev["cost_usd"] == 0.00084 and body["cost"]["evaluation_usd"] == 0.00084
    q1, q2 = body["questions"]  # the report lists the questions asked
    assert q1["scores"]["depth"] == {
        "value": 4,
        "reason": "why",
        "supported": True,
        "override": None,
        "effective": 4,
    }
    assert q1["evidence"] == [{"message_id": 2, "quote": "A B-tree", "at_s": 12.5}]
    assert q2["outcome"] == "partial" and q2["scores"]["depth"]["supported"] is False
    assert q2["scores"]["accuracy"] is None
    # Means over the questions scored on each rubric.
    assert body["overall"] == {"clarity": 3.0, "relevance": 4.0, "depth": 3.0, "accuracy": 5.0}


async def test_an_override_changes_the_effective_score_and_the_overall_mean(
    store: MemoryStore,
) -> None:
    iid = await ended_interview(store)
    await evaluated(store, iid)
    detail = await store.interview_detail(iid)
    assert detail is not None
    report = build_report(detail, await store.get_evaluation(iid), ReviewState())
    override = ScoreOverride(value=1, reason="Misread the question", reviewer="key-1", at=T0)

    changed = apply_review(report, ReviewState(overrides={(1, "depth"): override}))

    depth = changed.questions[0].scores.depth
    assert depth is not None and depth.value == 4 and depth.effective == 1
    assert depth.override == override
    assert changed.overall.depth == 1.5
    assert report.overall.depth == 3.0


async def test_an_interview_with_nothing_to_evaluate_is_not_applicable(
    client: TestClient, store: MemoryStore
) -> None:
    iid = await ended_interview(store, answered=False)
    claim = await store.claim_evaluation(owner="t", lease_s=60, interview_id=iid)
    assert claim is not None
    await store.finish_evaluation(
        iid, owner="t", result=EvaluationResult(state=EvaluationState.skipped)
    )

    body = client.get(f"/api/interviews/{iid}/report", headers=AUTH).json()

    assert body["evaluation"]["state"] == "not_applicable"
    assert body["questions"] == []


async def test_the_transcript_is_paged_oldest_first_and_timed_from_the_start(
    client: TestClient, store: MemoryStore
) -> None:
    iid = await ended_interview(store)

    first = client.get(f"/api/interviews/{iid}/transcript?limit=1", headers=AUTH).json()
    second = client.get(f"/api/interviews/{iid}/transcript?limit=1&offset=1", headers=AUTH).json()

    assert [i["speaker"] for i in first["items"]] == ["interviewer"]
    assert first["items"][0]["at_s"] == 1.0 and first["next_offset"] == 1
    item = second["items"][0]
    assert set(item) == {"id", "speaker", "text", "at_s", "started_at", "interrupted"}
    assert item["text"] == "A B-tree that speeds up reads." and item["at_s"] == 12.5
    assert second["next_offset"] is None and second["limit"] == 1 and second["offset"] == 1


async def test_report_and_transcript_need_an_interviewer_and_a_known_interview(
    client: TestClient, store: MemoryStore
) -> None:
    iid = await ended_interview(store)
    for path in ("report", "transcript"):
        assert client.get(f"/api/interviews/{iid}/{path}").status_code == 401
        missing = client.get(f"/api/interviews/{uuid.uuid4()}/{path}", headers=AUTH)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "interview_not_found"
    bad = client.get(f"/api/interviews/{iid}/transcript?limit=0", headers=AUTH)
    assert bad.status_code == 422
