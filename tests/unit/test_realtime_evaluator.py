"""The local server's deterministic evaluator and the text API's request checks (no servers)."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_local.evaluator import (
    EvaluationInput,
    EvaluationOut,
    evaluate,
    evaluation_input,
    features,
    live_scores,
)
from realtime_local.textapi import RequestError, validate_params
from tests.fixtures.realtime import (
    INDEX_NOTES,
    INDEX_QUESTION,
    POOR_INDEX_ANSWER,
    STRONG_INDEX_ANSWER,
    evaluation_document,
)

pytestmark = pytest.mark.unit


def _evaluate(doc: dict[str, Any]) -> EvaluationOut:
    return evaluate(EvaluationInput.model_validate(doc))


def _candidate_text(doc: dict[str, Any]) -> dict[int, str]:
    return {m["id"]: m["text"] for m in doc["transcript"] if m["speaker"] == "candidate"}


def test_a_strong_answer_scores_clearly_above_a_poor_one() -> None:
    out = _evaluate(evaluation_document({1: STRONG_INDEX_ANSWER, 2: POOR_INDEX_ANSWER}))
    strong, poor = out.questions
    assert strong.outcome == "answered" and poor.outcome == "partial"
    for rubric in ("depth", "accuracy"):
        s, p = getattr(strong, rubric), getattr(poor, rubric)
        assert s is not None and p is not None
        assert s.value >= p.value + 2, (rubric, s, p)
    assert strong.clarity is not None and poor.clarity is not None
    assert strong.clarity.value > poor.clarity.value  # the poor one hesitates
    for q in out.questions:
        for rubric in ("clarity", "relevance", "depth", "accuracy"):
            score = getattr(q, rubric)
            assert score is not None and 1 <= score.value <= 5
            assert score.reason and "\n" not in score.reason
    assert out.strengths and any("Question 1" in s for s in out.strengths)
    assert any("Question 2" in c for c in out.concerns)
    assert out.recommendation in ("yes", "no")  # one of each: neither extreme


def test_two_strong_answers_are_recommended_and_two_poor_ones_are_not() -> None:
    good = _evaluate(evaluation_document({1: STRONG_INDEX_ANSWER, 2: STRONG_INDEX_ANSWER}))
    bad = _evaluate(evaluation_document({1: POOR_INDEX_ANSWER, 2: POOR_INDEX_ANSWER}))
    assert good.recommendation == "strong_yes"
    assert bad.recommendation == "strong_no"


def test_fewer_than_half_scored_is_insufficient_evidence() -> None:
    doc = evaluation_document({1: STRONG_INDEX_ANSWER}, planned=5, asked=2)
    out = _evaluate(doc)
    assert out.recommendation == "insufficient_evidence"
    assert [q.outcome for q in out.questions] == [
        "answered",
        "skipped",
        "not_asked",
        "not_asked",
        "not_asked",
    ]
    for q in out.questions[1:]:
        assert q.clarity is q.relevance is q.depth is q.accuracy is None
        assert q.evidence == []
    assert "1 of 5" in out.concerns[0]
    # three of five scored is enough for a recommendation
    enough = _evaluate(evaluation_document({n: STRONG_INDEX_ANSWER for n in (1, 2, 3)}, planned=5))
    assert enough.recommendation != "insufficient_evidence"


def test_quotes_are_verbatim_slices_of_the_candidates_messages() -> None:
    long_sentence = (
        "Well, thinking about it for a while, when the orders table gets really large I would "
        "first of all look at the plan with EXPLAIN, then consider a composite index on the "
        "customer and date columns, and a covering index so the query never touches the heap, "
        "while keeping the write cost of every extra index in mind"
    )
    doc = evaluation_document(
        {
            1: ["Hmm.", long_sentence, "That is all."],
            2: ["I   would add   an index.  Then check   EXPLAIN output!"],
            3: [POOR_INDEX_ANSWER],
        }
    )
    texts = _candidate_text(doc)
    out = _evaluate(doc)
    for q in out.questions:
        assert 1 <= len(q.evidence) <= 2
        for quote in q.evidence:
            assert quote.quote in texts[quote.message_id], quote
            assert quote.quote == quote.quote.strip() and len(quote.quote) <= 200
    first = out.questions[0].evidence[0]
    assert "index" in first.quote and first.message_id == 102  # the long one, cut to a clause
    assert len(first.quote) < len(long_sentence)


def test_an_interrupted_answer_is_flagged_and_still_scored() -> None:
    doc = evaluation_document({1: "I would add a B-tree index on the"}, interrupted={1})
    (q,) = _evaluate(doc).questions
    assert q.outcome == "interrupted"
    assert q.depth is not None


def test_live_scores_vary_with_the_answer() -> None:
    strong = live_scores(STRONG_INDEX_ANSWER, INDEX_QUESTION, INDEX_NOTES)
    poor = live_scores(POOR_INDEX_ANSWER, INDEX_QUESTION, INDEX_NOTES)
    assert strong["depth"] > poor["depth"] and strong["accuracy"] > poor["accuracy"]
    # without notes the question's own terms stand in
    assert live_scores("", INDEX_QUESTION) == dict.fromkeys(
        ("clarity", "relevance", "depth", "accuracy"), 1
    )
    assert live_scores("I would add an index to the slow query.", INDEX_QUESTION)["depth"] > 1


def test_the_evaluation_input_is_recognised_only_by_its_kind() -> None:
    assert evaluation_input('{"kind": "interview_evaluation", "version": 1}') is not None
    assert evaluation_input('{"kind": "other"}') is None
    assert evaluation_input("Please evaluate this interview.") is None
    assert evaluation_input("{not json") is None


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model", "Field required"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", ""),
        (
            {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True},
            "stream",
            "",
        ),
        ({"model": "m", "messages": [], "temperature": 1}, "messages", "at least one"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "bogus": 1}, "bogus", ""),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "response_format": {"type": "json_schema"},
            },
            "response_format.json_schema",
            "Field required",
        ),
    ],
)
def test_bad_requests_name_the_parameter(body: dict[str, Any], param: str, words: str) -> None:
    with pytest.raises(RequestError) as info:
        validate_params(body)
    assert info.value.param == param
    assert words in info.value.message


def test_what_people_read_names_the_key_points_as_written_not_their_stems() -> None:
    f = features(
        "I would ask about the goal first.",
        "How do you approach a vague problem?",
        "Clarifying the goal, constraints and measuring success.",
    )
    assert "clarify" in f.terms  # the matching works on stems
    assert f.as_written(f.terms) == ["clarifying", "goal", "constraints", "measuring", "success"]
