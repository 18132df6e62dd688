"""Interviews from a stored question plan on the real stack (the token server's API, LiveKit,
Postgres + PostgREST, agent workers, realtime_local): an interview created with its plan is
dispatched on the candidate's arrival (schema version 2, `plan_id`); a worker of the previous
release declines it and a current one runs it, in the plan's order, reading the verbatim
question as written and moving on when a question's time runs out. A dispatch whose plan is
not stored fails its interview."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from devstack import LiveKitServer, SupabaseStack
from interview.contract import InterviewPlan, dispatch_metadata
from interview.store import InterviewStatus, NewInterview, QuestionOutcome
from interview.supabase_store import SupabaseStore
from tests.fixtures.agent import (
    Candidate,
    Worker,
    WorkerStarter,
    audit_kinds,
    dispatch_only,
    eventually,
    interview_closed,
    new_plan,
    rows,
)
from tests.fixtures.token_server import TokenServer, TokenServerStarter, agree_and_join

pytestmark = pytest.mark.integration

VERBATIM = "In exactly these words: what would you check first when a Postgres replica lags?"
TIMED = "How would you roll out a Kubernetes version upgrade across three clusters?"
IDEAL = "Replay lag against the write volume, long-running queries, the network."
JOB_DESCRIPTION = "We run Kubernetes and Postgres at scale; on call one week in six."
RESUME = "Five years of Go at a payments company, owner of the ledger service."
ANSWERS = [
    "I would compare the replay lag with the write volume and look at long queries.",
    "Small services with clear metrics, graceful shutdown and structured logs.",
]
# Seconds for the timed question: the plan says 60 (the minimum is 30), the test waits 3.
TIME_LIMIT_S = "3"


@pytest.fixture(scope="module")
def agent_name() -> str:
    """The one agent name of this module's workers, old and current, as in production."""
    return f"interviewer-test-{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def server(start_token_server: TokenServerStarter, agent_name: str) -> TokenServer:
    """The token server dispatching to this module's workers; it keeps dispatching while the
    current worker starts (a loaded machine may take a minute)."""
    return start_token_server(agent_name=agent_name, agent_arrival_timeout_s=180.0)


@pytest.fixture(scope="module")
def current_worker(start_worker: WorkerStarter, agent_name: str) -> Callable[[], Worker]:
    """The current worker, started on first use (the first test starts the old one first)."""
    started: list[Worker] = []

    def get() -> Worker:
        if not started:
            worker = start_worker(
                questions=3,
                AGENT_NAME=agent_name,
                QUESTION_TIME_LIMIT_OVERRIDE_S=TIME_LIMIT_S,
                SILENCE_CHECKIN_S="120",
            )
            started.append(replace(worker, agent_name=agent_name))
        return started[0]

    return get


async def _new_interview(store: SupabaseStore, settings: InterviewPlan) -> uuid.UUID:
    interview_id = uuid.uuid4()
    await store.create_interview(
        NewInterview(
            id=interview_id,
            plan=settings,
            room_name=f"iv-{interview_id}",
            invite_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
        )
    )
    return interview_id


async def test_an_old_worker_declines_a_plan_interview_and_a_current_one_runs_it_in_order(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    server: TokenServer,
    start_worker: WorkerStarter,
    current_worker: Callable[[], Worker],
    agent_name: str,
    candidates: list[Candidate],
) -> None:
    bank = await store.next_question(
        role="Backend engineer", level=new_plan().level, type=new_plan().type, exclude=set()
    )
    assert bank is not None
    questions: list[dict[str, Any]] = [
        {
            "text": VERBATIM,
            "source": "custom",
            "verbatim": True,
            "ideal_answer": IDEAL,
            "follow_up": "none",
        },
        {
            "text": TIMED,
            "source": "generated",
            "strong_answer": "One cluster at a time, canary nodes, drain, a rollback plan.",
            "time_limit_s": 60,
        },
        {
            "text": bank.text,
            "source": "bank",
            "bank_question_id": str(bank.id),
            "topic": bank.topic,
            "difficulty": bank.difficulty,
            "strong_answer": bank.strong_answer,
        },
    ]
    body = {
        **new_plan(question_count=5).model_dump(mode="json"),
        "question_plan": {
            "questions": questions,
            "role_summary": "Backend engineer on the data platform (Postgres, Kubernetes).",
            "candidate_summary": "Five years of Go services.",
        },
        "documents": {"job_description": JOB_DESCRIPTION, "resume_text": RESUME},
        "drafted_by": "offline",
    }
    # A rolling deploy: only the previous release's worker is up when the candidate comes.
    old = replace(
        # It never runs a job here: no warm job process to start on a shared machine.
        start_worker(
            module="tests.fixtures.old_worker", AGENT_NAME=agent_name, AGENT_IDLE_PROCESSES="0"
        ),
        agent_name=agent_name,
    )
    async with httpx.AsyncClient(
        base_url=server.url, headers=server.auth_headers, timeout=20
    ) as http:
        created = await http.post("/api/interviews", json=body)
        assert created.status_code == 201, created.text
        interview_id = uuid.UUID(created.json()["interview"]["id"])
        join = await agree_and_join(
            http, created.json()["invite"]["secret"], headers={"Authorization": ""}
        )
        assert join.status_code == 200, join.text
    candidate = Candidate(join.json()["livekit_url"], join.json()["token"])
    candidates.append(candidate)
    await candidate.join()
    await eventually(
        lambda: asyncio.to_thread(
            lambda: "declined a dispatch of a newer schema version" in old.log()
        ),
        "the old worker to decline the dispatch",
        30,
    )
    untouched = await store.get_interview(interview_id)
    assert untouched is not None and untouched.status is InterviewStatus.waiting, untouched
    assert "invalid_metadata" not in audit_kinds(supabase_stack, interview_id)

    # The current release comes up next to it; the token server keeps dispatching until an
    # interviewer is in the room.
    worker = current_worker()
    worker.realtime.set_scenario({"user_transcripts": ANSWERS})
    # Question 1 (verbatim): answered.
    await candidate.wait_until_agent("listening", timeout=90, after_speaking=True)
    await candidate.say(ANSWERS[0])

    # Question 2 (timed): asked, then the candidate stays silent until it times out and the
    # interviewer asks question 3 by itself; the candidate answers once it has been asked.
    def interviewer_said(text: str) -> Callable[[], Awaitable[bool]]:
        async def said() -> bool:
            return any(
                speaker == "interviewer" and text in line
                for speaker, line in await asyncio.to_thread(
                    rows,
                    supabase_stack,
                    "select speaker, text from transcript_messages "
                    f"where interview_id = '{interview_id}'",
                )
            )

        return said

    await eventually(interviewer_said(TIMED), "question 2 to be asked", 60)
    await eventually(interviewer_said(bank.text), "question 3 to be asked after the time", 60)
    await candidate.wait_until_agent("listening", timeout=30)
    await candidate.say(ANSWERS[1])

    await eventually(
        lambda: interview_closed(supabase_stack, interview_id), "the interview to close", 90
    )
    assert "interview job started" not in old.log()
    assert f"iv-{interview_id}" in worker.log()
    final = await store.get_interview(interview_id)
    detail = await store.interview_detail(interview_id)
    assert final is not None and detail is not None
    assert final.status is InterviewStatus.completed, final

    stored = sorted(detail.questions, key=lambda q: q.ordinal)
    assert [q.text for q in stored] == [q["text"] for q in questions]
    assert [q.plan_item for q in stored] == [1, 2, 3]
    assert [q.outcome for q in stored] == [
        QuestionOutcome.answered,
        QuestionOutcome.timed_out,
        QuestionOutcome.answered,
    ]
    assert [q.bank_question_id for q in stored] == [None, None, bank.id]
    assert sorted(a.ordinal for a in detail.answers) == [1, 3]
    assert "question_timed_out" in audit_kinds(supabase_stack, interview_id)
    spoken = " ".join(
        text
        for speaker, text in rows(
            supabase_stack,
            "select speaker, text from transcript_messages "
            f"where interview_id = '{interview_id}' order by started_at, id",
        )
        if speaker == "interviewer"
    )
    assert VERBATIM in spoken  # word for word
    assert IDEAL not in spoken  # the hidden ideal answer is never read out
    # The documents stay out of the agent: not in its log (nor, so, in anything it sent).
    assert RESUME not in worker.log() and JOB_DESCRIPTION not in worker.log()


async def test_a_dispatch_whose_plan_is_not_stored_fails_its_interview(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    current_worker: Callable[[], Worker],
) -> None:
    worker = current_worker()
    settings = new_plan()
    interview_id = await _new_interview(store, settings)
    missing = uuid.uuid4()

    await dispatch_only(
        livekit_server,
        worker.agent_name,
        f"iv-{interview_id}",
        dispatch_metadata(interview_id, settings, plan_id=missing),
    )

    async def failed() -> bool:
        found = await store.get_interview(interview_id)
        return found is not None and found.status is InterviewStatus.failed

    await eventually(failed, "the interview to be marked failed", 30)
    final = await store.get_interview(interview_id)
    assert final is not None and final.summary == "The interview's question plan is missing."
    assert "plan_missing" in audit_kinds(supabase_stack, interview_id)
    assert "interview_live" not in audit_kinds(supabase_stack, interview_id)
