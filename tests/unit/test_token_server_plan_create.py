"""Creating an interview with the plan the hiring team confirmed, over the in-memory store:
bad plans are refused naming the field with nothing written, a plan sets the question count and
is stored with its documents, and GET .../plan gives the team's view of it.

LiveKit is not running in the unit tier, so a create that passes validation ends in 502 (the
interview marked failed) after its rows are written: enough to see what was stored. The whole
path with LiveKit and PostgREST is tests/integration/test_planned_interview.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from interview.contract import InterviewPlan, dispatch_metadata
from interview.planning import InterviewDocuments, PlannedQuestion, StoredPlan
from interview.store import NewInterview
from tests.fixtures.token_server import MemoryStore
from tests.unit.test_token_server_api import AUTH, VALID, assert_error, make_settings
from token_server import tokens
from token_server.app import create_app

pytestmark = pytest.mark.unit

BANK_ID = str(uuid4())
QUESTIONS: list[dict[str, Any]] = [
    {
        "text": "Walk me through the last Postgres migration you ran.",
        "source": "custom",
        "verbatim": True,
        "ideal_answer": "Backfill, dual writes, a reversible cut-over.",
        "time_limit_s": 120,
        "follow_up": "one",
    },
    {
        "text": "How would you roll out a Kubernetes upgrade with no downtime?",
        "source": "generated",
        "topic": "kubernetes",
        "strong_answer": "Surge capacity, pod disruption budgets, canary node pools.",
    },
    {
        "text": "Explain how an index speeds up a query.",
        "source": "bank",
        "bank_question_id": BANK_ID,
        "topic": "databases",
    },
]
DOCUMENTS = {
    "job_description": "We run Kubernetes and Postgres.",
    "resume_text": "Five years of Go.",
    "resume_filename": "cv.pdf",
    "resume_pages": 1,
}


def planned_body(**changes: Any) -> dict[str, Any]:
    return {
        **VALID,
        "question_plan": {
            "questions": QUESTIONS,
            "role_summary": "Backend engineer on the data platform.",
            "candidate_summary": "Five years of Go.",
        },
        "documents": DOCUMENTS,
        "drafted_by": "offline",
        **changes,
    }


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def client(tmp_path: Path, store: MemoryStore) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path), store=store)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def assert_nothing_written(store: MemoryStore) -> None:
    assert store.interviews == {}
    assert store.plans == {}
    assert store.documents == {}
    assert store.audits == []


def question(index: int, **changes: Any) -> list[dict[str, Any]]:
    questions = [dict(q) for q in QUESTIONS]
    questions[index].update(changes)
    return questions


def plan_with(questions: list[dict[str, Any]]) -> dict[str, Any]:
    return planned_body(question_plan={"questions": questions})


BAD_PLANS = [
    ("an empty plan", plan_with([]), ["body", "question_plan", "questions"], "too_short"),
    (
        "21 questions",
        plan_with([QUESTIONS[1]] * 21),
        ["body", "question_plan", "questions"],
        "too_long",
    ),
    (
        "a question text of 2 characters",
        plan_with(question(2, text="ok")),
        ["body", "question_plan", "questions", "2", "text"],
        "string_too_short",
    ),
    (
        "a bank question without its bank id",
        plan_with(question(2, bank_question_id=None)),
        ["body", "question_plan", "questions", "2", "bank_question_id"],
        "value_error",
    ),
    (
        "a custom question with a bank id",
        plan_with(question(0, bank_question_id=BANK_ID)),
        ["body", "question_plan", "questions", "0", "bank_question_id"],
        "value_error",
    ),
    (
        "a time limit under 30 seconds",
        plan_with(question(0, time_limit_s=10)),
        ["body", "question_plan", "questions", "0", "time_limit_s"],
        "greater_than_equal",
    ),
    (
        "an unknown follow-up policy",
        plan_with(question(0, follow_up="twice")),
        ["body", "question_plan", "questions", "0", "follow_up"],
        "enum",
    ),
    (
        "an unknown field in a question",
        plan_with(question(1, answer_key="x")),
        ["body", "question_plan", "questions", "1", "answer_key"],
        "extra_forbidden",
    ),
    (
        "a role summary over 600 characters",
        planned_body(question_plan={"questions": QUESTIONS, "role_summary": "r" * 601}),
        ["body", "question_plan", "role_summary"],
        "string_too_long",
    ),
    (
        "a résumé text over 30000 characters",
        planned_body(documents={**DOCUMENTS, "resume_text": "x" * 30_001}),
        ["body", "documents", "resume_text"],
        "string_too_long",
    ),
    (
        "a résumé of 11 pages",
        planned_body(documents={**DOCUMENTS, "resume_pages": 11}),
        ["body", "documents", "resume_pages"],
        "less_than_equal",
    ),
    (
        "documents without a plan",
        {**VALID, "documents": DOCUMENTS},
        ["body", "documents"],
        "value_error",
    ),
    (
        "an unknown drafter",
        planned_body(drafted_by="intern"),
        ["body", "drafted_by"],
        "literal_error",
    ),
]


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [pytest.param(body, loc, kind, id=what) for what, body, loc, kind in BAD_PLANS],
)
def test_a_bad_plan_is_refused_naming_the_field_and_nothing_is_written(
    client: TestClient, store: MemoryStore, body: dict[str, Any], loc: list[str], kind: str
) -> None:
    resp = client.post("/api/interviews", json=body, headers=AUTH)

    error = assert_error(resp, 422, "validation_error")
    details = error["error"]["details"]
    assert [d["loc"] for d in details] == [loc], details
    assert details[0]["type"] == kind
    assert ".".join(loc) in error["error"]["message"]
    # The reason never echoes the input (the documents are personal data).
    assert "Five years of Go" not in resp.text and "x" * 50 not in resp.text
    assert_nothing_written(store)


def test_a_plan_too_large_to_dispatch_is_refused_before_anything_is_written(
    client: TestClient, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the plan's id travels in the metadata; the check still runs before writing.
    plain = len(dispatch_metadata(uuid4(), InterviewPlan.model_validate(VALID)).encode())
    monkeypatch.setattr("interview.contract.MAX_METADATA_BYTES", plain + 10)

    resp = client.post("/api/interviews", json=planned_body(), headers=AUTH)

    assert_error(resp, 413, "metadata_too_large")
    assert_nothing_written(store)


def test_a_plan_is_stored_with_its_documents_and_sets_the_question_count(
    client: TestClient, store: MemoryStore
) -> None:
    resp = client.post("/api/interviews", json=planned_body(question_count=9), headers=AUTH)

    # No LiveKit here: the rows are in, the interview is marked failed.
    error = assert_error(resp, 502, "livekit_unavailable")
    [interview] = store.interviews.values()
    assert str(interview.id) == error["error"]["details"]["interview_id"]
    assert interview.plan.question_count == 3  # the plan's length, not the body's 9
    [plan] = store.plans.values()
    assert interview.plan_id == plan.id
    assert plan.interview_id == interview.id
    assert plan.drafted_by == "offline"
    assert [q.text for q in plan.questions] == [q["text"] for q in QUESTIONS]
    assert plan.questions[0].ideal_answer == QUESTIONS[0]["ideal_answer"]
    assert plan.questions[0].verbatim and plan.questions[0].time_limit_s == 120
    assert store.documents == {interview.id: InterviewDocuments.model_validate(DOCUMENTS)}
    # The documents are never in the answer.
    assert "Five years of Go" not in resp.text and "Kubernetes and Postgres" not in resp.text


def test_without_a_plan_the_create_is_as_before(client: TestClient, store: MemoryStore) -> None:
    resp = client.post("/api/interviews", json=VALID, headers=AUTH)

    assert_error(resp, 502, "livekit_unavailable")
    [interview] = store.interviews.values()
    assert interview.plan == InterviewPlan.model_validate(VALID)
    assert interview.plan_id is None
    assert store.plans == {} and store.documents == {}


async def add_planned(store: MemoryStore) -> StoredPlan:
    iid = uuid4()
    plan = StoredPlan(
        id=uuid4(),
        interview_id=iid,
        questions=[PlannedQuestion.model_validate(q) for q in QUESTIONS],
        role_summary="Backend engineer on the data platform.",
        drafted_by="model",
    )
    await store.create_interview(
        NewInterview(
            id=iid,
            plan=InterviewPlan.model_validate({**VALID, "question_count": 3}),
            room_name=tokens.room_name(iid),
            invite_hash=tokens.invite_hash(tokens.new_invite_secret()),
        ),
        plan=plan,
        documents=InterviewDocuments.model_validate(DOCUMENTS),
    )
    return plan


async def test_the_stored_plan_is_the_teams_view_with_the_ideal_answers(
    client: TestClient, store: MemoryStore
) -> None:
    plan = await add_planned(store)

    resp = client.get(f"/api/interviews/{plan.interview_id}/plan", headers=AUTH)

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["id"] == str(plan.id) and body["interview_id"] == str(plan.interview_id)
    assert body["drafted_by"] == "model"
    assert body["questions"][0]["ideal_answer"] == QUESTIONS[0]["ideal_answer"]
    assert body["questions"][1]["strong_answer"] == QUESTIONS[1]["strong_answer"]
    assert [q["source"] for q in body["questions"]] == ["custom", "generated", "bank"]
    assert body["questions"][2]["bank_question_id"] == BANK_ID
    assert body["role_summary"] == plan.role_summary
    assert body["created_at"]
    text = json.dumps(body)
    assert "Five years of Go" not in text and "documents" not in body  # never the documents


async def test_a_plan_is_found_only_for_an_interview_that_has_one(
    client: TestClient, store: MemoryStore
) -> None:
    iid = uuid4()
    await store.create_interview(
        NewInterview(
            id=iid,
            plan=InterviewPlan.model_validate(VALID),
            room_name=tokens.room_name(iid),
            invite_hash=tokens.invite_hash(tokens.new_invite_secret()),
        )
    )
    planned = await add_planned(store)

    none = client.get(f"/api/interviews/{iid}/plan", headers=AUTH)
    unknown = client.get(f"/api/interviews/{uuid4()}/plan", headers=AUTH)
    anonymous = client.get(f"/api/interviews/{planned.interview_id}/plan")

    assert_error(none, 404, "plan_not_found")
    assert_error(unknown, 404, "interview_not_found")
    assert_error(anonymous, 401, "unauthenticated")
