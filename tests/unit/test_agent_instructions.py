"""The interviewer's instructions are built from the prompt files and the metadata."""

from __future__ import annotations

import uuid

import pytest

from agent.instructions import build_instructions, load_prompt, wrap_up_instructions
from interview.contract import InterviewMetadata

pytestmark = pytest.mark.unit


def _meta(mode: str, **extra: object) -> InterviewMetadata:
    return InterviewMetadata.model_validate(
        {
            "interview_id": uuid.uuid4(),
            "candidate_identity": "c",
            "candidate_name": "Grace Hopper",
            "role": "Data scientist",
            "level": "lead",
            "type": "behavioral",
            "mode": mode,
            "language": "fr",
            "question_count": 4,
            **extra,
        }
    )


def test_instructions_carry_the_plan() -> None:
    text = build_instructions(_meta("practice", focus_areas=["experiment design"]))

    assert "lead Data scientist" in text
    assert "Grace Hopper" in text
    assert "4 questions" in text
    assert "Speak French" in text
    assert "experiment design" in text
    assert "one question at a time" in text
    for criterion in ("clarity", "relevance", "depth", "accuracy"):
        assert criterion in text
    assert "{" not in text  # every placeholder was filled


def test_practice_gives_spoken_feedback_and_screening_never_speaks_scores() -> None:
    practice = build_instructions(_meta("practice"))
    screening = build_instructions(_meta("screening"))

    assert "give your brief spoken feedback" in practice
    assert "Never tell the candidate how they did" in screening
    assert "spoken feedback" not in screening
    assert "Give your brief spoken feedback" in wrap_up_instructions(_meta("practice"))
    assert "spoken feedback" not in wrap_up_instructions(_meta("screening"))


def test_unknown_prompt_names_are_refused() -> None:
    with pytest.raises(KeyError):
        load_prompt("../README")
