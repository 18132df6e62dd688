"""The rehearsal interviewer: arguments from declared schemas, and a deterministic interview."""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtime_local.brain import (
    END,
    FETCH,
    STORE_ANSWER,
    STORE_FEEDBACK,
    EchoBrain,
    RehearsalBrain,
    ResponseContext,
    fill_arguments,
    question_from_output,
)
from realtime_local.scenario import CallTool, Say
from tests.fixtures.realtime import INDEX_NOTES, POOR_INDEX_ANSWER, STRONG_INDEX_ANSWER

pytestmark = pytest.mark.unit

# the shapes livekit's build_legacy_openai_schema gives for the agent's planned tools
NULLABLE_INT = {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": FETCH,
        "parameters": {
            "type": "object",
            "properties": {
                "topic": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
                "difficulty": NULLABLE_INT,
            },
        },
    },
    {
        "type": "function",
        "name": STORE_ANSWER,
        "parameters": {
            "type": "object",
            "properties": {
                "question_id": {"type": "integer"},
                "transcript": {"type": "string"},
                "clarity": {"type": "integer", "minimum": 1, "maximum": 5},
                "relevance": {"type": "integer"},
                "depth": {"type": "integer", "maximum": 2},
                "accuracy": {"type": "number"},
                "tags": {
                    "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]
                },
            },
            "required": ["question_id", "transcript", "clarity", "relevance", "depth", "accuracy"],
        },
    },
    {
        "type": "function",
        "name": STORE_FEEDBACK,
        "parameters": {
            "type": "object",
            "properties": {"bullets": {"type": "array", "items": {"type": "string"}}},
        },
    },
    {
        "type": "function",
        "name": END,
        "parameters": {"type": "object", "properties": {"summary": {"type": "string"}}},
    },
]


def test_fill_arguments_follows_the_schema() -> None:
    schema = {
        "type": "object",
        "$defs": {"Level": {"type": "string", "enum": ["easy", "medium", "hard"]}},
        "properties": {
            "difficulty": {"$ref": "#/$defs/Level"},
            "score": {"type": "integer", "minimum": 4, "maximum": 5},
            "ok": {"type": "boolean"},
            "notes": {"type": "object", "properties": {"n": {"type": "number"}}},
            "maybe": {"type": ["string", "null"]},
            "question_id": {"type": "integer"},
        },
    }
    args = fill_arguments(schema, {"question_id": "7"})
    assert args == {
        "difficulty": "medium",
        "score": 4,
        "ok": False,
        "notes": {"n": 3.0},
        "maybe": None,
        "question_id": 7,
    }
    assert fill_arguments(None, {}) == {}


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"question_id": 2, "text": "What is a join?"}', ("2", "What is a join?")),
        ("{'question': {'id': 'q9', 'prompt': 'Why?'}}", ("q9", "Why?")),
        ("What is an index?", ("q1", "What is an index?")),
        ("No questions are left. Wrap up now and call end_interview.", None),
        ("error: boom", None),
    ],
)
def test_question_from_output(output: str, expected: tuple[str, str] | None) -> None:
    assert question_from_output(output, "q1") == expected


def _call(item_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": f"c_{item_id}",
        "name": name,
        "arguments": json.dumps(args),
    }


def _out(item_id: str, output: str) -> dict[str, Any]:
    return {
        "id": f"o_{item_id}",
        "type": "function_call_output",
        "call_id": f"c_{item_id}",
        "output": output,
    }


def _run_interview(
    questions: int, answer: str | None = None, notes: str | None = None
) -> list[tuple[str, Any]]:
    """Play the client's part: run each tool call, answer each question (with `answer`, or
    audio without a transcript); return the plan. `notes`: the questions' strong answer."""
    brain = RehearsalBrain(max_questions=questions)
    items: list[dict[str, Any]] = []
    trace: list[tuple[str, Any]] = []
    for step_no in range(40):
        steps = brain.plan(ResponseContext(items=items, tools=TOOLS))
        assert len(steps) == 1
        step = steps[0]
        if isinstance(step, CallTool):
            assert step.arguments is not None
            trace.append((step.name, dict(step.arguments)))
            items.append(_call(str(step_no), step.name, dict(step.arguments)))
            if step.name == FETCH:
                n = sum(1 for name, _ in trace if name == FETCH)
                question = {"question_id": n, "text": f"Q{n}?", "strong_answer_covers": notes}
                items.append(_out(str(step_no), json.dumps(question)))
            else:
                items.append(_out(str(step_no), "ok"))
        else:
            assert isinstance(step, Say)
            trace.append(("say", step.text))
            items.append(
                {
                    "id": f"a{step_no}",
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_audio", "transcript": step.text}],
                }
            )
            if "end of this rehearsal" in step.text:
                return trace
            items.append(
                {
                    "id": f"u{step_no}",
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_audio", "transcript": answer}],
                }
            )
    raise AssertionError(f"the interview never ended: {trace}")


def test_rehearsal_runs_the_interview_through_the_tools() -> None:
    trace = _run_interview(questions=2)
    names = [name for name, _ in trace]
    assert names == [
        FETCH,
        "say",
        STORE_ANSWER,
        STORE_FEEDBACK,
        FETCH,
        "say",
        STORE_ANSWER,
        STORE_FEEDBACK,
        END,
        "say",
    ]
    assert trace[0][1] == {"topic": None, "difficulty": None}
    assert "offline rehearsal" in trace[1][1] and "Q1?" in trace[1][1]
    answer = trace[6][1]
    assert answer["question_id"] == 2
    # nothing was said: the lowest scores, within each declared range (depth has maximum 2)
    assert answer["clarity"] == 1 and answer["depth"] == 1 and answer["accuracy"] == 1.0
    assert answer["tags"] == ["rehearsal"]
    assert trace[8][1]["summary"].startswith("Offline rehearsal finished after 2 questions")
    assert _run_interview(questions=2) == trace  # deterministic


def test_rehearsal_scores_follow_the_answer() -> None:
    def scores(answer: str) -> dict[str, Any]:
        trace = _run_interview(questions=1, answer=answer, notes=INDEX_NOTES)
        (args,) = [args for name, args in trace if name == STORE_ANSWER]
        return dict(args)

    strong, poor = scores(STRONG_INDEX_ANSWER), scores(POOR_INDEX_ANSWER)
    assert strong["transcript"] == STRONG_INDEX_ANSWER
    assert strong["clarity"] > poor["clarity"] and strong["accuracy"] > poor["accuracy"]
    assert strong["depth"] == 2 >= poor["depth"]  # clamped to the declared maximum
    assert 1 <= poor["relevance"] < strong["relevance"] <= 5


def test_rehearsal_without_tools_asks_builtin_questions() -> None:
    brain = RehearsalBrain(max_questions=2)
    first = brain.plan(ResponseContext(items=[], tools=[]))
    assert isinstance(first[0], Say) and first[0].text.startswith("Welcome to this offline")
    items = [
        {
            "id": "a",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_audio", "transcript": first[0].text}],
        },
        {
            "id": "u",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "x"}],
        },
    ]
    second = brain.plan(ResponseContext(items=items, tools=[]))
    assert isinstance(second[0], Say) and second[0].text.startswith("Question 2:")


def test_echo_brain_repeats_the_user() -> None:
    items = [{"id": "u", "type": "message", "role": "user", "content": [{"type": "input_audio"}]}]
    steps = EchoBrain().plan(ResponseContext(items=items, tools=[], transcripts={"u": "hi there"}))
    assert steps == [Say("You said: hi there")]
