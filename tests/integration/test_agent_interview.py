"""The interviewer worker end to end: real LiveKit server, real Supabase stack, the real
RealtimeModel against the local Realtime server's rehearsal interviewer, and a Python candidate
speaking espeak-ng sentences into a microphone track."""

from __future__ import annotations

import pytest
from livekit import api

from devstack import LiveKitServer, SupabaseStack
from interview.store import InterviewStatus, QuestionOutcome
from interview.supabase_store import SupabaseStore
from realtime_local.evaluator import live_scores
from tests.fixtures.agent import (
    Candidate,
    WorkerStarter,
    dispatch,
    eventually,
    interview_closed,
    join_candidate,
    new_plan,
    rows,
)

pytestmark = pytest.mark.integration

ANSWERS = [
    "I would start with the logs and reproduce the failure.",
    "I split the migration into small steps behind a feature flag.",
]


async def test_a_spoken_interview_is_run_scored_and_saved(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(questions=2)
    worker.realtime.set_scenario({"user_transcripts": ANSWERS})
    interview = await dispatch(livekit_server, store, worker, new_plan(question_count=2))
    candidate = await join_candidate(livekit_server, interview, candidates)

    for words in ANSWERS:
        # The interviewer greets / asks, then listens: answer each question in turn.
        await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)
        await candidate.say(words)
    # A candidate who tries to read the conversation (and its scores) gets nothing back.
    await candidate.ask_for_the_chat_history()

    await eventually(
        lambda: interview_closed(supabase_stack, interview.interview_id),
        "the interview to close",
        90,
    )
    final = await store.get_interview(interview.interview_id)
    assert final is not None
    detail = await store.interview_detail(interview.interview_id)
    assert detail is not None

    assert final.status is InterviewStatus.completed
    assert final.summary == "Offline rehearsal finished after 2 questions."
    assert final.started_at is not None and final.ended_at is not None
    # Nothing of the agent's session (tool calls, scores, history) was sent into the room.
    assert candidate.session_messages == []
    # The interviewer's voice reached the candidate.
    assert candidate.agent_frames > 100
    assert candidate.agent_loudest > 500
    # Exactly the planned questions, each answered, with the candidate's own words and scores.
    assert [q.ordinal for q in detail.questions] == [1, 2]
    assert all(q.outcome is QuestionOutcome.answered for q in detail.questions)
    assert [a.transcript for a in sorted(detail.answers, key=lambda a: a.ordinal)] == ANSWERS
    # The rehearsal interviewer scores each answer from its words, the question and the bank's
    # strong-answer notes (realtime_local.evaluator): the stored scores are exactly those.
    for question, answer in zip(
        sorted(detail.questions, key=lambda q: q.ordinal),
        sorted(detail.answers, key=lambda a: a.ordinal),
        strict=True,
    ):
        notes = "|".join(
            rows(
                supabase_stack,
                "select b.strong_answer from question_bank b join interview_questions q "
                f"on q.bank_question_id = b.id where q.interview_id = '{interview.interview_id}' "
                f"and q.ordinal = {question.ordinal}",
            )[0]
        )
        assert answer.scores.model_dump() == live_scores(answer.transcript, question.text, notes)
    assert sorted(f.ordinal or 0 for f in detail.feedback) == [1, 2]
    # The transcript holds both sides, in order, and the candidate's lines are what was said.
    transcript = rows(
        supabase_stack,
        "select speaker, text from transcript_messages "
        f"where interview_id = '{interview.interview_id}' order by started_at, id",
    )
    said = [text for speaker, text in transcript if speaker == "candidate"]
    asked = [text for speaker, text in transcript if speaker == "interviewer"]
    assert said == ANSWERS
    assert any(q.text in " ".join(asked) for q in detail.questions)
    assert len(asked) >= 3  # question 1, question 2, the closing words
    # Usage was recorded, and the room is gone.
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0
    assert final.usage.cost_usd > 0
    async with api.LiveKitAPI(
        livekit_server.http_url, livekit_server.api_key, livekit_server.api_secret
    ) as lk:
        rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[interview.room]))
    assert list(rooms.rooms) == []
