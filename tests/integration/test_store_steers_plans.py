"""Steers and question plans round-trip through PostgREST with the migrations' rules."""

from __future__ import annotations

from uuid import uuid4

import pytest

from interview.planning import PlannedQuestion, QuestionSource, StoredPlan
from interview.rows import plan_row
from interview.steering import Steer, SteerKind, SteerState, SteerUpdate
from interview.store import AskedQuestion, QuestionOutcome, StoreRejected
from interview.supabase_store import SupabaseStore
from tests.fixtures.store import new_interview

pytestmark = pytest.mark.integration


async def test_a_steer_is_stored_once_and_its_state_only_moves_forward(
    store: SupabaseStore,
) -> None:
    interview = await store.create_interview(new_interview())
    steer = Steer(
        id=uuid4(),
        interview_id=interview.id,
        kind=SteerKind.note,
        text="Ask about the migration they mentioned",
        sent_by="key-abc",
        sent_by_name="Dana",
    )

    first = await store.create_steer(steer)
    again = await store.create_steer(steer)  # a retried request
    moved = await store.advance_steer(
        SteerUpdate(steer_id=steer.id, interview_id=interview.id, state=SteerState.received)
    )
    back = await store.advance_steer(
        SteerUpdate(steer_id=steer.id, interview_id=interview.id, state=SteerState.delivered)
    )
    done = await store.advance_steer(
        SteerUpdate(
            steer_id=steer.id,
            interview_id=interview.id,
            state=SteerState.applied,
            detail="guidance given before question 3",
        )
    )

    assert first.state is SteerState.pending and first.created_at is not None
    assert again.id == first.id
    assert (moved, back, done) == (True, False, True)
    [stored] = await store.list_steers(interview.id)
    assert stored.state is SteerState.applied
    assert stored.detail == "guidance given before question 3"
    assert stored.text == steer.text and stored.sent_by_name == "Dana"
    with pytest.raises(StoreRejected):  # text belongs to notes only
        await store.create_steer(steer.model_copy(update={"id": uuid4(), "kind": SteerKind.next}))


async def test_a_plan_is_read_by_id_and_questions_may_close_skipped_by_the_interviewer(
    store: SupabaseStore,
) -> None:
    interview = await store.create_interview(new_interview())
    plan = StoredPlan(
        id=uuid4(),
        interview_id=interview.id,
        questions=[
            PlannedQuestion(
                text="Walk me through the last Postgres migration you ran.",
                source=QuestionSource.custom,
                verbatim=True,
                ideal_answer="Backfill, dual writes, a reversible cut-over.",
                time_limit_s=120,
            )
        ],
        role_summary="Backend engineer on the data platform.",
        drafted_by="offline",
    )
    # Plans are written by the create endpoint; here the row goes in as PostgREST takes it.
    await store._require_client().table("question_plans").insert(plan_row(plan)).execute()
    store.record_question(
        AskedQuestion(
            interview_id=interview.id,
            ordinal=1,
            bank_question_id=None,
            text=plan.questions[0].text,
            topic="general",
            difficulty=3,
            asked_at=interview.created_at,
            outcome=QuestionOutcome.skipped_by_interviewer,
            plan_item=1,
        )
    )
    assert await store.flush(10) == 0

    loaded = await store.load_plan(plan.id)
    detail = await store.interview_detail(interview.id)

    assert loaded == plan.model_copy(update={"created_at": loaded.created_at if loaded else None})
    assert await store.load_plan(uuid4()) is None
    assert detail is not None
    [asked] = detail.questions
    assert asked.outcome is QuestionOutcome.skipped_by_interviewer and asked.plan_item == 1
