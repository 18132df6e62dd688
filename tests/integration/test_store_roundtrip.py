"""The Store's reads and writes round-trip real rows through PostgREST."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from devstack import SupabaseStack
from interview.contract import InterviewType, Level
from interview.store import (
    Answer,
    AskedQuestion,
    Feedback,
    InterviewStatus,
    QuestionOutcome,
    Scores,
    Speaker,
    StoreRejected,
    TranscriptMessage,
    Usage,
)
from interview.supabase_store import SupabaseStore
from tests.fixtures.store import new_interview

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _question(interview_id: UUID, ordinal: int, **changes: object) -> AskedQuestion:
    values: dict[str, object] = {
        "interview_id": interview_id,
        "ordinal": ordinal,
        "bank_question_id": None,
        "text": f"Question {ordinal}",
        "topic": "caching",
        "difficulty": 3,
        "asked_at": T0 + timedelta(minutes=ordinal),
    }
    values.update(changes)
    return AskedQuestion.model_validate(values)


def _answer(interview_id: UUID, ordinal: int, clarity: int = 4) -> Answer:
    return Answer(
        interview_id=interview_id,
        ordinal=ordinal,
        transcript=f"answer {ordinal}",
        scores=Scores(clarity=clarity, relevance=3, depth=2, accuracy=5),
        tags=["caching"],
    )


async def test_create_interview_is_idempotent_and_readable_three_ways(
    store: SupabaseStore,
) -> None:
    new = new_interview(focus_areas=["apis"], language="en-GB")

    created = await store.create_interview(new)
    again = await store.create_interview(new)
    by_id = await store.get_interview(new.id)
    by_invite = await store.get_interview_by_invite(new.invite_hash)
    listed = await store.list_interviews(status=InterviewStatus.waiting, limit=200)

    assert created.status is InterviewStatus.waiting
    assert created.plan == new.plan
    assert again == created
    assert by_id == created
    assert by_invite == created
    assert created.id in {i.id for i in listed}


async def test_unknown_interviews_read_as_none(store: SupabaseStore) -> None:
    assert await store.get_interview(uuid4()) is None
    assert await store.get_interview_by_invite("0" * 64) is None
    assert await store.get_interview_by_invite("not hex") is None
    assert await store.interview_detail(uuid4()) is None


async def test_a_duplicate_invite_is_rejected(store: SupabaseStore) -> None:
    first = await store.create_interview(new_interview())
    clash = new_interview().model_copy(update={"invite_hash": (await _hash_of(store, first.id))})

    with pytest.raises(StoreRejected) as rejected:
        await store.create_interview(clash)

    assert rejected.value.code == "23505"


async def _hash_of(store: SupabaseStore, interview_id: UUID) -> str:
    # The invite hash is not part of the Interview model; read it the way an operator would.
    client = store._require_client()
    row = (
        await client.table("interviews").select("invite_hash").eq("id", str(interview_id)).execute()
    )
    found = row.data[0]
    assert isinstance(found, dict)
    return str(found["invite_hash"])


async def test_list_interviews_is_newest_first_and_pages(store: SupabaseStore) -> None:
    made = [await store.create_interview(new_interview()) for _ in range(3)]

    first_page = await store.list_interviews(limit=2)
    second_page = await store.list_interviews(limit=2, offset=2)

    newest = sorted(made, key=lambda i: i.created_at, reverse=True)
    assert [i.id for i in first_page] == [i.id for i in newest[:2]]
    assert second_page[0].id == newest[2].id


async def test_status_moves_forward_only(store: SupabaseStore) -> None:
    interview = await store.create_interview(new_interview())

    store.record_status(interview.id, InterviewStatus.live, at=T0)
    store.record_status(
        interview.id,
        InterviewStatus.completed,
        at=T0 + timedelta(minutes=20),
        summary="Solid on caching.",
    )
    store.record_status(interview.id, InterviewStatus.live, at=T0 + timedelta(minutes=30))
    store.record_status(interview.id, InterviewStatus.abandoned, at=T0 + timedelta(minutes=40))
    assert await store.flush(10) == 0
    read = await store.get_interview(interview.id)

    assert read is not None
    assert read.status is InterviewStatus.completed
    assert read.started_at == T0
    assert read.ended_at == T0 + timedelta(minutes=20)
    assert read.summary == "Solid on caching."


async def test_usage_is_the_latest_total(store: SupabaseStore) -> None:
    interview = await store.create_interview(new_interview())

    store.record_usage(interview.id, Usage(input_tokens=10, output_tokens=5, cost_usd=0.01))
    store.record_usage(interview.id, Usage(input_tokens=30, output_tokens=9, cost_usd=0.0425))
    assert await store.flush(10) == 0
    read = await store.get_interview(interview.id)

    assert read is not None
    assert read.usage == Usage(input_tokens=30, output_tokens=9, cost_usd=0.0425)


async def test_interview_detail_round_trips_questions_answers_feedback(
    store: SupabaseStore,
) -> None:
    interview = await store.create_interview(new_interview())
    iid = interview.id

    store.record_question(_question(iid, 2))
    store.record_question(_question(iid, 1))
    store.record_answer(_answer(iid, 1, clarity=2))
    # Later writes to the same key replace earlier ones: the outcome, a re-score.
    store.record_question(
        _question(iid, 1, outcome=QuestionOutcome.answered, ended_at=T0 + timedelta(minutes=3))
    )
    store.record_answer(_answer(iid, 1, clarity=5))
    store.record_feedback(Feedback(interview_id=iid, ordinal=1, bullets=["Name the trade-off."]))
    store.record_feedback(Feedback(interview_id=iid, ordinal=None, bullets=["Good overall."]))
    assert await store.flush(10) == 0

    detail = await store.interview_detail(iid)

    assert detail is not None
    assert detail.interview.id == iid
    assert [q.ordinal for q in detail.questions] == [1, 2]
    assert detail.questions[0].outcome is QuestionOutcome.answered
    assert detail.questions[0].ended_at == T0 + timedelta(minutes=3)
    assert detail.questions[1] == _question(iid, 2)
    assert detail.answers == [_answer(iid, 1, clarity=5)]
    assert [(f.ordinal, f.bullets) for f in detail.feedback] == [
        (1, ["Name the trade-off."]),
        (None, ["Good overall."]),
    ]


async def test_transcript_messages_are_keyed_by_item(store: SupabaseStore) -> None:
    interview = await store.create_interview(new_interview())
    said = TranscriptMessage(
        interview_id=interview.id,
        item_id="item_a",
        speaker=Speaker.interviewer,
        text="Tell me about caching.",
        started_at=T0,
    )
    reply = TranscriptMessage(
        interview_id=interview.id,
        item_id="item_b",
        speaker=Speaker.candidate,
        text="I would start by",
        started_at=T0 + timedelta(seconds=5),
    )

    store.append_transcript(said)
    store.append_transcript(reply)
    finished = said.model_copy(update={"ended_at": T0 + timedelta(seconds=4), "interrupted": True})
    store.append_transcript(finished)
    assert await store.flush(10) == 0

    assert await store.transcript(interview.id) == [finished, reply]


async def test_audit_with_a_key_is_recorded_once(
    store: SupabaseStore, supabase_stack: SupabaseStack
) -> None:
    interview = await store.create_interview(new_interview())

    for _ in range(3):
        store.audit(
            "webhook.participant_joined",
            interview_id=interview.id,
            detail={"identity": "cand-1"},
            key="evt_123",
        )
    store.audit("observer.joined", interview_id=interview.id, detail={"at": T0})
    store.audit("observer.joined", interview_id=interview.id, detail={"at": T0})
    assert await store.flush(10) == 0

    kinds = supabase_stack.postgres.psql(
        f"select kind from audit_events where interview_id = '{interview.id}' order by kind"
    ).split()
    assert kinds == ["observer.joined", "observer.joined", "webhook.participant_joined"]


async def test_a_refused_write_is_parked_and_the_rest_land(
    store: SupabaseStore, caplog: pytest.LogCaptureFixture
) -> None:
    interview = await store.create_interview(new_interview())
    secret_words = "my private answer text"
    store.record_question(_question(interview.id, 1))
    store.record_answer(_answer(interview.id, 1))
    # No question 9: the foreign key refuses this answer for good.
    store.record_answer(_answer(interview.id, 9).model_copy(update={"transcript": secret_words}))
    store.record_question(_question(interview.id, 2))
    store.record_answer(_answer(interview.id, 2))

    with caplog.at_level(logging.ERROR, logger="interview.store"):
        undelivered = await store.flush(10)
    dead = await store.outbox.dead_letters()
    detail = await store.interview_detail(interview.id)

    assert undelivered == 0
    assert [(d.op.table, d.op.row["ordinal"], d.error_code) for d in dead] == [
        ("answers", 9, "23503")
    ]
    assert detail is not None
    assert [a.ordinal for a in detail.answers] == [1, 2]
    parked = [r for r in caplog.records if "dead letter" in r.getMessage()]
    assert len(parked) == 1
    assert parked[0].__dict__["table"] == "answers"
    assert parked[0].__dict__["code"] == "23503"
    assert all(secret_words not in str(r.__dict__) for r in caplog.records)


async def test_next_question_matches_the_role_and_respects_the_plan(
    store: SupabaseStore,
) -> None:
    asked: set[UUID] = set()
    drawn = []
    for _ in range(6):
        question = await store.next_question(
            role="Senior Back-end Developer",
            level=Level.senior,
            type=InterviewType.mixed,
            exclude=asked,
        )
        assert question is not None
        asked.add(question.id)
        drawn.append(question)

    assert {q.role for q in drawn} == {"backend-engineer"}
    assert {q.level for q in drawn} == {Level.senior}
    kinds = [q.type for q in drawn]
    assert kinds.count(InterviewType.technical) == kinds.count(InterviewType.behavioral) == 3


async def test_next_question_prefers_topic_and_falls_back_to_general(
    store: SupabaseStore,
) -> None:
    on_topic = await store.next_question(
        role="Data scientist",
        level=Level.mid,
        type=InterviewType.technical,
        exclude=set(),
        topic="experimentation",
    )
    unknown_role = await store.next_question(
        role="Marine biologist",
        level=Level.junior,
        type=InterviewType.behavioral,
        exclude=set(),
    )

    assert on_topic is not None
    assert (on_topic.role, on_topic.topic) == ("data-scientist", "experimentation")
    assert unknown_role is not None
    assert unknown_role.role == "general"
    assert unknown_role.level is Level.junior


async def test_next_question_runs_out(store: SupabaseStore) -> None:
    asked: set[UUID] = set()
    for _ in range(100):
        question = await store.next_question(
            role="Account executive",
            level=Level.lead,
            type=InterviewType.technical,
            exclude=asked,
        )
        if question is None:
            break
        asked.add(question.id)

    # Lead and the neighbouring senior level, the role's own and general questions: all used.
    assert question is None
    assert 6 <= len(asked) < 100
