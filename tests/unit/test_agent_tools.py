"""The interviewer's tools: question flow, validation answered with ToolError, what is stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from livekit.agents import ToolError

from agent.interviewer import Interviewer, InterviewState
from agent.questions import fallback_questions
from interview.contract import InterviewMetadata, InterviewType, Level
from interview.store import BankQuestion, InterviewStatus, QuestionOutcome

pytestmark = pytest.mark.unit


class RecordingStore:
    """Collects the queued writes the tools make (unit tests only; integration uses the real
    store)."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, Any]] = []

    def record_question(self, q: Any) -> None:
        self.writes.append(("question", q))

    def record_answer(self, a: Any) -> None:
        self.writes.append(("answer", a))

    def record_feedback(self, f: Any) -> None:
        self.writes.append(("feedback", f))

    def record_status(
        self, interview_id: Any, status: Any, *, at: Any, summary: Any = None
    ) -> None:
        self.writes.append(("status", (status, summary)))

    def of(self, kind: str) -> list[Any]:
        return [w for k, w in self.writes if k == kind]


@dataclass
class Ctx:
    userdata: InterviewState


def _bank(n: int, qtype: InterviewType, topic: str = "apis", difficulty: int = 3) -> BankQuestion:
    return BankQuestion(
        id=uuid.uuid4(),
        role="backend engineer",
        level=Level.senior,
        type=qtype,
        topic=topic,
        difficulty=difficulty,
        text=f"{qtype.value} question {n} about {topic}",
        strong_answer="covers the basics",
    )


def _setup(
    question_count: int = 2, qtype: str = "technical"
) -> tuple[Interviewer, Ctx, RecordingStore]:
    meta = InterviewMetadata(
        interview_id=uuid.uuid4(),
        candidate_identity="cand-1",
        candidate_name="Ada",
        role="Backend engineer",
        level="senior",
        type=qtype,
        mode="practice",
        question_count=question_count,
    )
    store = RecordingStore()
    clock = iter(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i) for i in range(1000))
    state = InterviewState(
        meta=meta,
        store=store,  # type: ignore[arg-type]
        pool=[_bank(i, InterviewType.technical, difficulty=i % 5 + 1) for i in range(5)],
        now=lambda: next(clock),
    )
    return Interviewer(state, "instructions"), Ctx(state), store


async def test_a_full_question_cycle_stores_question_answer_and_feedback() -> None:
    agent, ctx, store = _setup()

    q = await agent.fetch_next_question(ctx)
    ctx.userdata.note_candidate_words("I would use idempotency keys.", ctx.userdata.now())
    reply = await agent.store_answer(ctx, q["question_id"], "summary", 4, 5, 3, 4, ["concrete"])
    await agent.store_feedback(ctx, ["Name the failure modes."], question_id=q["question_id"])

    assert q["question_id"] == 1 and q["progress"] == "question 1 of 2"
    (answer,) = store.of("answer")
    assert answer.transcript == "I would use idempotency keys."  # the words heard, verbatim
    assert (answer.scores.clarity, answer.scores.depth, answer.scores.overall) == (4, 3, 4.0)
    assert answer.tags == ["concrete"]
    assert [w.outcome for w in store.of("question")] == [
        QuestionOutcome.pending,
        QuestionOutcome.answered,
    ]
    assert store.of("feedback")[0].ordinal == 1
    assert "Fetch the next question" in reply


async def test_the_model_summary_is_kept_when_no_words_were_heard() -> None:
    agent, ctx, store = _setup()
    q = await agent.fetch_next_question(ctx)

    await agent.store_answer(ctx, q["question_id"], "They described retries.", 3, 3, 3, 3)

    assert store.of("answer")[0].transcript == "They described retries."


async def test_one_question_at_a_time() -> None:
    agent, ctx, _ = _setup()
    await agent.fetch_next_question(ctx)

    with pytest.raises(ToolError, match="Question 1 is still open"):
        await agent.fetch_next_question(ctx)


async def test_no_more_than_the_planned_questions() -> None:
    agent, ctx, _ = _setup(question_count=1)
    q = await agent.fetch_next_question(ctx)
    await agent.skip_question(ctx, q["question_id"])

    with pytest.raises(ToolError, match="All 1 planned questions"):
        await agent.fetch_next_question(ctx)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((7, "x", 3, 3, 3, 3), "There is no question 7"),
        ((1, "x", 0, 3, 3, 3), "clarity must be a whole number from 1 to 5"),
        ((1, "x", 3, 6, 3, 3), "relevance must be"),
        ((1, "  ", 3, 3, 3, 3), "transcript is empty"),
    ],
)
async def test_bad_store_answer_calls_are_explained_to_the_model(
    args: tuple[Any, ...], message: str
) -> None:
    agent, ctx, store = _setup()
    await agent.fetch_next_question(ctx)

    with pytest.raises(ToolError, match=message):
        await agent.store_answer(ctx, *args)
    assert store.of("answer") == []


async def test_feedback_needs_bullets_and_a_known_question() -> None:
    agent, ctx, store = _setup()

    with pytest.raises(ToolError, match="at least one"):
        await agent.store_feedback(ctx, ["  "])
    with pytest.raises(ToolError, match="no question 3"):
        await agent.store_feedback(ctx, ["ok"], question_id=3)
    await agent.store_feedback(ctx, ["Strong structure."])

    (final,) = store.of("feedback")
    assert final.ordinal is None and final.bullets == ["Strong structure."]


async def test_end_interview_closes_open_questions_and_writes_status_once() -> None:
    agent, ctx, store = _setup()
    await agent.fetch_next_question(ctx)

    await agent.end_interview(ctx, "Solid fundamentals.")
    again = await agent.end_interview(ctx, "twice")

    assert store.of("status") == [(InterviewStatus.completed, "Solid fundamentals.")]
    assert store.of("question")[-1].outcome is QuestionOutcome.skipped
    assert "already ended" in again
    with pytest.raises(ToolError, match="has ended"):
        await agent.fetch_next_question(ctx)


async def test_a_requested_topic_is_preferred_and_no_question_repeats() -> None:
    agent, ctx, _ = _setup(question_count=3)
    ctx.userdata.pool = [
        _bank(1, InterviewType.technical, "apis", 3),
        _bank(2, InterviewType.technical, "databases", 3),
        _bank(3, InterviewType.technical, "caching", 3),
    ]
    asked = []
    for topic in ("databases", None, None):
        q = await agent.fetch_next_question(ctx, topic=topic)
        asked.append(q["text"])
        await agent.skip_question(ctx, q["question_id"])

    assert "databases" in asked[0]
    assert len(set(asked)) == 3


async def test_a_mixed_interview_alternates_technical_and_behavioral() -> None:
    agent, ctx, _ = _setup(question_count=4, qtype="mixed")
    ctx.userdata.pool = [_bank(i, InterviewType.technical) for i in range(3)] + [
        _bank(i, InterviewType.behavioral) for i in range(3)
    ]
    kinds = []
    for _ in range(4):
        q = await agent.fetch_next_question(ctx)
        kinds.append(q["text"].split()[0])
        await agent.skip_question(ctx, q["question_id"])

    assert kinds in (["technical", "behavioral"] * 2, ["behavioral", "technical"] * 2)


def test_fallback_questions_cover_both_types_with_stable_ids() -> None:
    first = fallback_questions("Chef", Level.mid)
    second = fallback_questions("Chef", Level.mid)

    assert {q.type for q in first} == {InterviewType.technical, InterviewType.behavioral}
    assert [q.id for q in first] == [q.id for q in second]


async def test_a_resumed_interview_re_asks_the_open_question_then_carries_on() -> None:
    from interview.store import InterviewDetail

    agent, ctx, store = _setup(question_count=3)
    first = await agent.fetch_next_question(ctx)
    await agent.store_answer(ctx, first["question_id"], "answer one", 3, 3, 3, 3)
    second = await agent.fetch_next_question(ctx)
    stored = [q for q in store.of("question")]
    latest = {q.ordinal: q for q in stored}
    interview = ctx.userdata  # the previous agent's state; a new job starts from the store
    detail = InterviewDetail.model_construct(
        interview=None, questions=list(latest.values()), answers=[], feedback=[]
    )
    resumed, rctx, _ = _setup(question_count=3)
    rctx.userdata.meta = interview.meta
    rctx.userdata.pool = interview.pool

    rctx.userdata.restore(detail)
    again = await resumed.fetch_next_question(rctx)
    with pytest.raises(ToolError, match="Question 2 is still open"):
        await resumed.fetch_next_question(rctx)
    await resumed.store_answer(rctx, again["question_id"], "answer two", 3, 3, 3, 3)
    third = await resumed.fetch_next_question(rctx)

    assert (again["question_id"], again["text"]) == (2, second["text"])
    assert "connection dropped" in again["note"]
    assert third["question_id"] == 3
    assert third["text"] not in (first["text"], second["text"])
