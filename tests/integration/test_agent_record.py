"""The interview's record as the agent writes it, on the real store: what the interviewer's
tools write lands in Supabase, nothing is parked as a dead letter."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from agent.interviewer import Interviewer, InterviewState
from agent.questions import fallback_questions
from interview.contract import InterviewMetadata
from interview.store import InterviewStatus, QuestionOutcome
from interview.supabase_store import SupabaseStore
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
