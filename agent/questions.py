"""General questions for when the question bank cannot be reached.

The interviewer's pool is read from the bank before the candidate is greeted (so the
`fetch_next_question` tool never waits on the network) and ranked with the store's own
`interview.question_choice.choose_question`. When the bank is unreachable or has too few
questions for the role, these keep the interview going.
"""

from __future__ import annotations

import uuid

from interview.contract import InterviewType, Level
from interview.store import BankQuestion

_FALLBACK_NAMESPACE = uuid.UUID("8d7c62a4-3d0e-4c4b-9f53-0f9d3c1b6a10")

_FALLBACKS: list[tuple[InterviewType, str, int, str, str]] = [
    (
        InterviewType.behavioral,
        "ownership",
        2,
        "Tell me about a piece of work you owned from start to finish. What was hard about it?",
        "A concrete project, the candidate's own role, an obstacle, how they handled it, result.",
    ),
    (
        InterviewType.behavioral,
        "collaboration",
        2,
        "Describe a disagreement with a colleague about how to do something. How was it settled?",
        "A real situation, listening to the other view, a resolution, what they learned.",
    ),
    (
        InterviewType.technical,
        "problem solving",
        3,
        "Walk me through how you would investigate a problem in your work that you had never "
        "seen before.",
        "Gathering facts first, forming and testing hypotheses, narrowing down, verifying the fix.",
    ),
    (
        InterviewType.technical,
        "trade-offs",
        3,
        "Tell me about a decision where you had to trade quality against speed. What did you "
        "choose and why?",
        "The options, the constraints, an explicit trade-off, the outcome and what they'd change.",
    ),
    (
        InterviewType.behavioral,
        "learning",
        2,
        "What is something you learned recently for your work, and how did you learn it?",
        "A specific skill, a deliberate way of learning, how it was applied.",
    ),
    (
        InterviewType.technical,
        "quality",
        3,
        "How do you make sure the work you deliver is correct before anyone else sees it?",
        "Concrete checks, tests or reviews, catching their own mistakes, examples.",
    ),
]


def fallback_id(text: str) -> uuid.UUID:
    """A stable id for a general question, so the choice can exclude it like a bank question.

    It names no row of the bank: a question asked from these is stored with `bank_question_id`
    null (the foreign key would refuse this id, and with it the question's answer and feedback).
    """
    return uuid.uuid5(_FALLBACK_NAMESPACE, text)


def is_fallback(question: BankQuestion) -> bool:
    return question.id == fallback_id(question.text)


def fallback_questions(role: str, level: Level) -> list[BankQuestion]:
    """General questions for any role, used only when the bank has nothing better."""
    return [
        BankQuestion(
            id=fallback_id(text),
            role=role,
            level=level,
            type=qtype,
            topic=topic,
            difficulty=difficulty,
            text=text,
            strong_answer=strong,
        )
        for qtype, topic, difficulty, text, strong in _FALLBACKS
    ]
