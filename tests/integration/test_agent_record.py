"""The interview's record as the agent writes it, on the real stack: what the interviewer's
tools write lands in Supabase (nothing parked as a dead letter), a dropped candidate is not
ended for silence, and usage is written while the interview runs."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

import pytest

from agent.interviewer import Interviewer, InterviewState
from agent.questions import fallback_questions
from devstack import LiveKitServer, SupabaseStack
from interview.contract import InterviewMetadata
from interview.store import InterviewStatus, QuestionOutcome
from interview.supabase_store import SupabaseStore
from tests.fixtures.agent import (
    Candidate,
    WorkerStarter,
    audit_kinds,
    dispatch,
    eventually,
    interview_closed,
    join_candidate,
    new_plan,
    rows,
)
from tests.fixtures.store import new_interview

pytestmark = pytest.mark.integration


@dataclass
class _Ctx:
    userdata: InterviewState


async def test_an_interview_on_fallback_questions_keeps_its_questions_answers_and_feedback(
    store: SupabaseStore,
) -> None:
    new = new_interview(question_count=2)
    interview = await store.create_interview(new)
    meta = InterviewMetadata(
        **interview.plan.model_dump(),
        interview_id=interview.id,
        candidate_identity="cand-fallback",
    )
    # An empty pool: the bank could not be read when the job started.
    state = InterviewState(meta=meta, store=store, pool=[])
    agent, ctx = Interviewer(state, "instructions"), _Ctx(state)

    q = await agent.fetch_next_question(ctx)
    state.note_candidate_words("I would write a runbook first.", state.now())
    await agent.store_answer(ctx, q["question_id"], "A runbook.", 4, 4, 3, 4)
    await agent.store_feedback(ctx, ["Name the owner."], question_id=q["question_id"])
    await agent.end_interview(ctx, "Clear and practical.")
    assert await store.flush(15) == 0
    detail = await store.interview_detail(interview.id)

    assert q["text"] in {f.text for f in fallback_questions(meta.role, meta.level)}
    assert store.stats.dead_letters == 0
    assert detail is not None
    assert [(x.ordinal, x.bank_question_id, x.outcome) for x in detail.questions] == [
        (1, None, QuestionOutcome.answered)
    ]
    assert [a.transcript for a in detail.answers] == ["I would write a runbook first."]
    assert [f.bullets for f in detail.feedback] == [["Name the owner."]]
    assert detail.interview.status is InterviewStatus.completed


async def test_a_candidate_who_dropped_is_not_ended_for_silence_during_the_grace_window(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    # Silence would end the interview after one check-in, well inside the grace window.
    worker = start_worker(SILENCE_CHECKIN_S="2", SILENCE_MAX_CHECKINS="1", RECONNECT_GRACE_S="15")
    interview = await dispatch(livekit_server, store, worker, new_plan())
    candidate = await join_candidate(livekit_server, interview, candidates)

    async def checked_in() -> bool:
        return "candidate_silent" in audit_kinds(supabase_stack, interview.interview_id)

    # The session stops timing silence itself once the candidate is gone; the check-in under
    # way when they drop is the conductor's own watch, which must stop too.
    await eventually(checked_in, "a first silence check-in", 60)
    candidates.remove(candidate)
    await candidate.leave()
    await eventually(
        lambda: interview_closed(supabase_stack, interview.interview_id), "the end", 60
    )
    final = await store.get_interview(interview.interview_id)
    kinds = audit_kinds(supabase_stack, interview.interview_id)

    assert final is not None and final.status is InterviewStatus.abandoned
    assert final.summary == "The candidate left and did not return."
    assert kinds.count("candidate_silent") == 1, kinds
    assert "candidate_silent" not in kinds[kinds.index("candidate_left") :]


async def test_usage_is_written_during_the_interview_and_the_rehearsal_costs_nothing(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(REHEARSAL_MODEL="true", USAGE_WRITE_INTERVAL_S="1")
    interview = await dispatch(livekit_server, store, worker, new_plan())
    candidate = await join_candidate(livekit_server, interview, candidates)
    await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)

    async def usage_while_live() -> object:
        found = await store.get_interview(interview.interview_id)
        live = found is not None and found.status is InterviewStatus.live
        return found.usage if live and found.usage.output_tokens > 0 else None

    running = await eventually(usage_while_live, "usage written while the interview is live")
    agent = candidate.agent
    assert agent is not None
    await candidate.room.local_participant.perform_rpc(
        destination_identity=agent.identity, method="interview.end", payload=""
    )
    await eventually(
        lambda: interview_closed(supabase_stack, interview.interview_id), "the end", 60
    )
    final = await store.get_interview(interview.interview_id)
    [[pricing, cost]] = rows(
        supabase_stack,
        "select detail->>'pricing', detail->>'cost_usd' from audit_events "
        f"where kind = 'interview_ended' and interview_id = '{interview.interview_id}'",
    )

    assert running.cost_usd == 0  # type: ignore[attr-defined]
    assert final is not None and final.usage.output_tokens >= running.output_tokens  # type: ignore[attr-defined]
    assert final.usage.cost_usd == 0
    assert (pricing, float(cost)) == ("rehearsal", 0.0)


async def test_a_transcript_that_arrives_after_the_reply_started_completes_the_stored_answer(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(questions=1, SILENCE_CHECKIN_S="120")
    spoken = "I would shard by tenant."
    scores = {"clarity": 3, "relevance": 3, "depth": 3, "accuracy": 3}
    worker.realtime.set_scenario(
        {
            "responses": [
                [{"say": "Hello."}, {"call": "fetch_next_question", "arguments": {}}],
                [{"say": "How would you scale the database?"}],
                # The reply to the answer stores it before its transcript has arrived, with the
                # model's own account of it.
                [
                    {
                        "call": "store_answer",
                        "arguments": {
                            "question_id": 1,
                            "transcript": "They mentioned sharding.",
                            **scores,
                        },
                    }
                ],
                [{"say": "Thank you."}],
            ],
            "user_transcripts": [spoken],
        }
    )
    worker.realtime.set_transcript_delay(1500)
    interview = await dispatch(livekit_server, store, worker, new_plan(question_count=1))
    candidate = await join_candidate(livekit_server, interview, candidates)
    await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)
    await candidate.say(spoken)

    async def answer() -> str | None:
        detail = await store.interview_detail(interview.interview_id)
        answers = detail.answers if detail else []
        return answers[0].transcript if answers else None

    # Without the late words the answer would keep the model's account ("They mentioned
    # sharding."): the transcript came after the reply that stored it had started.
    try:
        await eventually(lambda: _equals(answer(), spoken), "the answer to hold the spoken words")
    except AssertionError as exc:
        raise AssertionError(f"the stored answer: {await answer()!r}") from exc


async def _equals(value: Awaitable[str | None], want: str) -> bool:
    return (await value) == want
