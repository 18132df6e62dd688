"""The evaluation's input document and the checks on the model's answer before it is stored."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from interview.contract import InterviewPlan
from interview.evaluation import (
    EvaluationInput,
    EvaluationOut,
    build_input,
    check_evaluation,
)
from interview.store import AskedQuestion, Interview, InterviewStatus, Speaker, TranscriptEntry

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BANK_ID = uuid.uuid4()


def interview(question_count: int = 5, started_at: datetime | None = T0) -> Interview:
    plan = InterviewPlan(
        candidate_name="Ada",
        role="Backend Engineer",
        level="senior",
        type="technical",
        mode="screening",
        question_count=question_count,
    )
    return Interview(
        id=uuid.uuid4(),
        plan=plan,
        status=InterviewStatus.completed,
        room_name="iv-x",
        created_at=T0 - timedelta(minutes=5),
        started_at=started_at,
        ended_at=T0 + timedelta(minutes=10),
    )


def question(iv: Interview, ordinal: int, at_s: float, bank: uuid.UUID | None) -> AskedQuestion:
    return AskedQuestion(
        interview_id=iv.id,
        ordinal=ordinal,
        bank_question_id=bank,
        text=f"Question {ordinal}?",
        topic="databases",
        difficulty=2,
        asked_at=T0 + timedelta(seconds=at_s),
    )


def message(iv: Interview, mid: int, speaker: Speaker, text: str, at_s: float) -> TranscriptEntry:
    return TranscriptEntry(
        id=mid,
        interview_id=iv.id,
        item_id=f"item_{mid}",
        speaker=speaker,
        text=text,
        started_at=T0 + timedelta(seconds=at_s),
    )


def two_question_input(planned: int = 2) -> tuple[Interview, EvaluationInput]:
    iv = interview(question_count=planned)
    questions = [question(iv, 1, 5, BANK_ID), question(iv, 2, 60, None)]
    transcript = [
        message(iv, 10, Speaker.interviewer, "Welcome.", 1),
        message(iv, 11, Speaker.interviewer, "Question 1?", 6),
        message(iv, 12, Speaker.candidate, "An index is a  B-tree\nthat speeds up reads.", 12.5),
        message(iv, 13, Speaker.interviewer, "Question 2?", 61),
        message(iv, 14, Speaker.candidate, "Not sure.", 70),
    ]
    return iv, build_input(iv, questions, transcript, {BANK_ID: "B-tree, write cost."})


def out(questions: list[dict[str, Any]], recommendation: str = "yes") -> EvaluationOut:
    return EvaluationOut.model_validate(
        {
            "questions": questions,
            "strengths": ["Knows indexes."],
            "concerns": [],
            "recommendation": recommendation,
        }
    )


def scored(ordinal: int, value: int, quotes: list[tuple[int, str]]) -> dict[str, Any]:
    score = {"value": value, "reason": "because"}
    return {
        "ordinal": ordinal,
        "outcome": "answered",
        "clarity": score,
        "relevance": score,
        "depth": score,
        "accuracy": score,
        "evidence": [{"message_id": m, "quote": q} for m, q in quotes],
    }


# ---- the input -------------------------------------------------------------------------


def test_the_input_is_the_contract_document() -> None:
    _, given = two_question_input(planned=4)
    doc = json.loads(given.model_dump_json())

    assert doc["kind"] == "interview_evaluation" and doc["version"] == 1
    assert doc["interview"] == {
        "role": "Backend Engineer",
        "level": "senior",
        "type": "technical",
        "mode": "screening",
        "planned_questions": 4,
    }
    # Asked questions carry the bank's strong answer; the rest of the plan is marked not asked.
    assert [(q["ordinal"], q["asked"], q["strong_answer"]) for q in doc["questions"]] == [
        (1, True, "B-tree, write cost."),
        (2, True, ""),
        (3, False, ""),
        (4, False, ""),
    ]
    assert doc["transcript"][2] == {
        "id": 12,
        "speaker": "candidate",
        "text": "An index is a  B-tree\nthat speeds up reads.",
        "at_s": 12.5,
        "question_ordinal": 1,
    }
    # Before the first question: none; each message belongs to the last question asked.
    assert [m["question_ordinal"] for m in doc["transcript"]] == [None, 1, 1, 2, 2]


def test_times_count_from_the_first_message_when_it_precedes_the_start() -> None:
    iv = interview(started_at=T0 + timedelta(seconds=3))
    given = build_input(iv, [], [message(iv, 1, Speaker.interviewer, "Hello.", 0)], {})

    assert given.transcript[0].at_s == 0.0
    assert not given.evaluable()  # nobody answered a question


# ---- the checks ------------------------------------------------------------------------


def test_a_verbatim_quote_is_kept_with_its_time_and_the_scores_are_supported() -> None:
    _, given = two_question_input()
    report = check_evaluation(
        out(
            [
                scored(1, 4, [(12, "is a B-tree that speeds up reads")]),  # whitespace differs
                scored(2, 2, [(14, "Not sure.")]),
            ]
        ),
        given,
    )

    q1 = report.questions[0]
    assert [(e.message_id, e.quote, e.at_s) for e in q1.evidence] == [
        (12, "is a B-tree that speeds up reads", 12.5)
    ]
    assert q1.depth is not None and q1.depth.supported and q1.depth.value == 4
    assert report.dropped_quotes == 0
    assert report.recommendation == "yes"


def test_a_quote_not_in_the_cited_message_is_dropped_and_its_scores_unsupported() -> None:
    _, given = two_question_input()
    report = check_evaluation(
        out(
            [
                # Invented words, an interviewer's line, an unknown id, a different case.
                scored(1, 5, [(12, "I designed the B-tree myself"), (11, "Question 1?")]),
                scored(2, 4, [(999, "Not sure."), (14, "not sure.")]),
            ]
        ),
        given,
    )

    for q in report.questions:
        assert q.evidence == []
        assert q.dropped_quotes == 2
        assert q.clarity is not None and q.clarity.supported is False
    assert report.dropped_quotes == 4
    # No question is scored with evidence: no recommendation.
    assert report.scored_questions == 0
    assert report.recommendation == "insufficient_evidence"
    assert report.model_recommendation == "yes"


def test_fewer_than_half_of_the_planned_questions_scored_is_insufficient_evidence() -> None:
    iv = interview(question_count=5)
    given = build_input(
        iv,
        [question(iv, 1, 5, None)],
        [message(iv, 1, Speaker.candidate, "I would add an index.", 10)],
        {},
    )
    report = check_evaluation(
        out([scored(1, 5, [(1, "I would add an index.")])], "strong_yes"), given
    )

    assert report.scored_questions == 1 and report.planned_questions == 5
    assert report.recommendation == "insufficient_evidence"
    assert [q.outcome for q in report.questions] == [
        "answered",
        "not_asked",
        "not_asked",
        "not_asked",
        "not_asked",
    ]


def test_half_of_the_planned_questions_scored_keeps_the_models_recommendation() -> None:
    _, given = two_question_input(planned=4)
    report = check_evaluation(
        out([scored(1, 4, [(12, "B-tree")]), scored(2, 2, [(14, "Not sure.")])], "no"), given
    )

    assert report.scored_questions == 2
    assert report.recommendation == "no"


def test_scores_for_questions_not_asked_or_unknown_are_not_kept() -> None:
    _, given = two_question_input(planned=3)
    answer = out(
        [
            scored(1, 4, [(12, "B-tree")]),
            scored(3, 5, [(12, "B-tree")]),  # question 3 was never asked
            scored(9, 5, [(12, "B-tree")]),  # no such question
            {**scored(2, 3, [(14, "Not sure.")]), "outcome": "skipped"},
        ]
    )
    report = check_evaluation(answer, given)

    assert [q.ordinal for q in report.questions] == [1, 2, 3]
    assert report.questions[1].outcome == "skipped" and report.questions[1].depth is None
    assert report.questions[2].outcome == "not_asked" and report.questions[2].depth is None
    assert report.scored_questions == 1


def test_an_asked_question_the_model_left_out_is_interrupted_and_unscored() -> None:
    _, given = two_question_input()
    report = check_evaluation(out([scored(1, 4, [(12, "B-tree")])]), given)

    assert report.questions[1].outcome == "interrupted"
    assert report.questions[1].clarity is None
