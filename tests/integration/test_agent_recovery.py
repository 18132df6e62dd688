"""An interviewer is there whenever the candidate is.

A worker that dies mid-interview does not lose the interview: LiveKit's webhook tells the token
server the agent left a live interview, the token server dispatches a new agent, and the new job
resumes from the stored questions and answers, on the interview's original clock. And an invite
opened after the first agent gave up waiting (a candidate who comes the next day) brings a new
agent."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import pytest

from devstack import LiveKitServer, SupabaseStack
from interview.store import InterviewStatus, QuestionOutcome
from interview.supabase_store import SupabaseStore
from tests.fixtures.agent import (
    Candidate,
    WorkerStarter,
    audit_kinds,
    eventually,
    interview_closed,
)
from tests.fixtures.token_server import TokenServer, agree_and_join

pytestmark = pytest.mark.integration

PLAN = {
    "candidate_name": "Resume Candidate",
    "role": "Backend engineer",
    "level": "mid",
    "type": "technical",
    "mode": "screening",
    "question_count": 2,
}


async def test_a_new_agent_resumes_an_interview_whose_worker_died(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    token_server: TokenServer,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    agent_name = token_server.settings.agent_name
    # Two workers, as in production: LiveKit hands a dispatch only to a worker registered at
    # that moment, so the re-dispatch needs one that is still alive.
    workers = [
        start_worker(questions=2, AGENT_NAME=agent_name, SILENCE_CHECKIN_S="120") for _ in range(2)
    ]
    try:
        async with httpx.AsyncClient(base_url=token_server.url, timeout=20) as http:
            created = (
                await http.post("/api/interviews", json=PLAN, headers=token_server.auth_headers)
            ).json()
            secret = created["invite"]["secret"]
            joined = (await agree_and_join(http, secret)).json()
        interview_id = created["interview"]["id"]

        async def running() -> list[int]:
            # By this interview's id: a stray job (another test's live interview whose agent
            # left, re-dispatched under the same agent name) must not be mistaken for it.
            started = f'"interview_id": "{interview_id}"'
            return [
                i
                for i, w in enumerate(workers)
                if any(
                    "interview job started" in line and started in line
                    for line in w.log().splitlines()
                )
            ]

        [taken] = await eventually(running, "a worker to take the interview", timeout=30)
        first_worker, second_worker = workers[taken], workers[1 - taken]
        first_worker.realtime.set_scenario({"user_transcripts": ["The first answer."]})
        second_worker.realtime.set_scenario({"user_transcripts": ["The second answer."]})
        candidate = Candidate(joined["livekit_url"], joined["token"])
        candidates.append(candidate)
        await candidate.join()

        await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)
        await candidate.say("The first answer.")
        # The answer is stored and question 2 has been asked: then the worker dies.
        await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)
        detail = await store.interview_detail(interview_id)  # type: ignore[arg-type]
        assert detail is not None and len(detail.questions) == 2
        second_text = sorted(detail.questions, key=lambda q: q.ordinal)[1].text
        first_agent = candidate.agent
        assert first_agent is not None
        os.killpg(first_worker.proc.pid or 0, signal.SIGKILL)

        # A new interviewer joins, apologises, asks the open question again and listens.
        await candidate.wait_for_new_interviewer(first_agent.identity, timeout=120)
        await candidate.say("The second answer.")

        await eventually(
            lambda: interview_closed(supabase_stack, interview_id),
            "the resumed interview to end",
            timeout=90,
        )
        final = await store.interview_detail(interview_id)  # type: ignore[arg-type]

        assert final is not None
        assert final.interview.status is InterviewStatus.completed
        assert [(q.ordinal, q.outcome) for q in final.questions] == [
            (1, QuestionOutcome.answered),
            (2, QuestionOutcome.answered),
        ]
        assert final.questions[1].text == second_text  # the open question was asked again
        assert [a.transcript for a in sorted(final.answers, key=lambda a: a.ordinal)] == [
            "The first answer.",
            "The second answer.",
        ]
        kinds = audit_kinds(supabase_stack, interview_id)
        assert kinds.count("agent_redispatched") == 1
        assert kinds.index("agent_left_live") < kinds.index("interview_resumed")
    finally:
        for worker in workers:
            worker.stop()  # the next test's interviews must not go to them


async def test_an_invite_opened_after_the_agent_gave_up_waiting_gets_an_interviewer(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    token_server: TokenServer,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The token server (in this process) takes a job under 15 s old to be joining; the agent
    # here waits 3 s instead of 10 minutes, so the window shrinks with it.
    monkeypatch.setattr("token_server.arrival.JOINING_JOB_S", 5.0)
    worker = start_worker(
        questions=1,
        AGENT_NAME=token_server.settings.agent_name,
        CANDIDATE_JOIN_TIMEOUT_S="3",
        SILENCE_CHECKIN_S="120",
    )
    worker.realtime.set_scenario({"user_transcripts": ["Sorry I am late, here is my answer."]})
    async with httpx.AsyncClient(base_url=token_server.url, timeout=20) as http:
        created = (
            await http.post("/api/interviews", json=PLAN, headers=token_server.auth_headers)
        ).json()
        interview_id = created["interview"]["id"]
        # The candidate opens the invite (which brings the interviewer) and does not come in.
        first = await agree_and_join(http, created["invite"]["secret"])
        assert first.status_code == 200, first.text

        async def gave_up() -> bool:
            return "agent_left_waiting" in audit_kinds(supabase_stack, interview_id)

        await eventually(gave_up, "the first agent to stop waiting", timeout=30)
        # Past the moment a departed agent's dispatch could pass for one on its way: this wait
        # is what the test is about (the token server's JOINING_JOB_S window, 5 s here,
        # running out), not a wait for some state.
        await asyncio.sleep(6)
        still = await store.get_interview(interview_id)  # type: ignore[arg-type]
        joined = (await agree_and_join(http, created["invite"]["secret"])).json()

    candidate = Candidate(joined["livekit_url"], joined["token"])
    candidates.append(candidate)
    await candidate.join()
    await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)
    await candidate.say("Sorry I am late, here is my answer.")

    await eventually(
        lambda: interview_closed(supabase_stack, interview_id), "the interview to end", timeout=60
    )
    final = await store.interview_detail(interview_id)  # type: ignore[arg-type]

    assert still is not None and still.status is InterviewStatus.waiting
    assert final is not None and final.interview.status is InterviewStatus.completed
    assert [a.transcript for a in final.answers] == ["Sorry I am late, here is my answer."]
    kinds = audit_kinds(supabase_stack, interview_id)
    # One interviewer for the first opening, another after it gave up waiting.
    dispatched = [i for i, kind in enumerate(kinds) if kind == "agent_dispatched"]
    assert dispatched and dispatched[0] < kinds.index("agent_left_waiting") < dispatched[-1]
