"""The evaluator's input for an interview built from a plan: a planned question's notes are the
team's ideal answer (or the plan's note), found through the asked question's `plan_item`, with
the bank's note as before for the rest; and the offline evaluator scores against them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from interview.evaluator import load_input
from interview.planning import PlannedQuestion, QuestionSource, StoredPlan
from interview.store import (
    AskedQuestion,
    BankQuestion,
    InterviewDetail,
    Speaker,
    TranscriptMessage,
)
from realtime_local.evaluator import EvaluationInput as LocalInput
from realtime_local.evaluator import evaluate
from tests.fixtures.store import new_interview
from tests.fixtures.token_server import MemoryStore

pytestmark = pytest.mark.unit

IDEAL = "Backfill the new column, dual writes, then a reversible cut-over."
GENERATED_NOTE = "Surge capacity, pod disruption budgets, canary node pools."
BANK_NOTE = "B-tree lookups, fewer pages read, a cost on every write."
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


async def planned_interview() -> tuple[MemoryStore, InterviewDetail]:
    """Four asked questions: plan items 1 (custom, ideal answer), 2 (generated, its note),
    3 (from the bank, no note in the plan), then one drawn from the bank outside the plan."""
    store = MemoryStore()
    bank_id, extra_bank_id = uuid4(), uuid4()
    for qid in (bank_id, extra_bank_id):
        store.bank[qid] = BankQuestion(
            id=qid,
            role="backend-engineer",
            level="senior",
            type="technical",
            topic="databases",
            difficulty=3,
            text="Explain how an index speeds up a query.",
            strong_answer=BANK_NOTE,
        )
    new = new_interview(question_count=3)
    plan = StoredPlan(
        id=uuid4(),
        interview_id=new.id,
        questions=[
            PlannedQuestion(
                text="Walk me through the last Postgres migration you ran.",
                source=QuestionSource.custom,
                ideal_answer=IDEAL,
            ),
            PlannedQuestion(
                text="How would you upgrade a Kubernetes cluster with no downtime?",
                source=QuestionSource.generated,
                strong_answer=GENERATED_NOTE,
            ),
            PlannedQuestion(
                text="Explain how an index speeds up a query.",
                source=QuestionSource.bank,
                bank_question_id=bank_id,
            ),
        ],
    )
    interview = await store.create_interview(new, plan=plan)
    asked = [
        (1, None, 1, plan.questions[0].text),
        (2, None, 2, plan.questions[1].text),
        (3, bank_id, 3, plan.questions[2].text),
        (4, extra_bank_id, None, "Explain how an index speeds up a query."),
    ]
    for ordinal, bank_question_id, plan_item, text in asked:
        at = T0 + timedelta(minutes=ordinal)
        store.record_question(
            AskedQuestion(
                interview_id=interview.id,
                ordinal=ordinal,
                bank_question_id=bank_question_id,
                text=text,
                topic="general",
                difficulty=3,
                asked_at=at,
                plan_item=plan_item,
            )
        )
        store.append_transcript(
            TranscriptMessage(
                interview_id=interview.id,
                item_id=f"q{ordinal}",
                speaker=Speaker.interviewer,
                text=text,
                started_at=at,
            )
        )
    store.append_transcript(
        TranscriptMessage(
            interview_id=interview.id,
            item_id="a1",
            speaker=Speaker.candidate,
            text="We added the column, ran a backfill in batches, kept dual writes on both "
            "schemas for a week, and made the cut-over reversible with a flag.",
            started_at=T0 + timedelta(minutes=1, seconds=20),
        )
    )
    detail = await store.interview_detail(interview.id)
    assert detail is not None
    return store, detail


async def test_a_planned_questions_notes_are_its_ideal_answer_found_through_its_plan_item() -> None:
    store, detail = await planned_interview()

    given = await load_input(store, detail)

    notes = {q.ordinal: q.strong_answer for q in given.questions}
    assert notes == {1: IDEAL, 2: GENERATED_NOTE, 3: BANK_NOTE, 4: BANK_NOTE}
    assert given.interview.planned_questions == 3


async def test_without_its_plan_a_custom_question_has_no_notes_as_before() -> None:
    store, detail = await planned_interview()
    store.plans.clear()  # the plan cannot be read: the bank's notes still are

    given = await load_input(store, detail)

    assert {q.ordinal: q.strong_answer for q in given.questions} == {
        1: "",
        2: "",
        3: BANK_NOTE,
        4: BANK_NOTE,
    }


async def test_the_offline_evaluator_scores_a_custom_question_against_its_ideal_answer() -> None:
    store, detail = await planned_interview()
    with_plan = await load_input(store, detail)
    store.plans.clear()
    without_plan = await load_input(store, detail)

    def first(doc: object) -> tuple[int, str]:
        out = evaluate(LocalInput.model_validate(json.loads(json.dumps(doc))))
        accuracy = out.questions[0].accuracy
        assert accuracy is not None
        return accuracy.value, accuracy.reason

    scored, reason = first(with_plan.model_dump(mode="json"))
    _, unguided = first(without_plan.model_dump(mode="json"))

    # Judged against the ideal answer's points (backfill, dual writes, reversible cut-over),
    # which the answer covers; without the plan, only against the question's own words.
    assert "strong-answer notes" in reason and "question's terms" in unguided
    assert "of 7 key points" in reason and "(backfill, column, dual, writes" in reason
    assert scored >= 4
