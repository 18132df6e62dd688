"""Choosing the next question from a pool fetched once at the start of the interview.

The pool is read from the question bank before the candidate is greeted, so the
`fetch_next_question` tool never waits on the network. When the bank cannot be reached or has
too few questions for the role, general questions written here keep the interview going.
"""

from __future__ import annotations

import uuid

from interview.contract import InterviewType, Level
from interview.store import BankQuestion

# The difficulty a level is expected to handle comfortably (1 to 5).
LEVEL_DIFFICULTY = {Level.junior: 2, Level.mid: 3, Level.senior: 4, Level.lead: 4}

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


def fallback_questions(role: str, level: Level) -> list[BankQuestion]:
    """General questions for any role, used only when the bank has nothing better."""
    return [
        BankQuestion(
            id=uuid.uuid5(_FALLBACK_NAMESPACE, text),
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


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


def choose(
    pool: list[BankQuestion],
    *,
    asked: set[uuid.UUID],
    level: Level,
    plan_type: InterviewType,
    turn: int,
    topic: str | None = None,
    difficulty: int | None = None,
) -> BankQuestion | None:
    """The best unasked question: the requested topic first, then the type this turn calls
    for (a mixed interview alternates technical and behavioral), then closeness to the wanted
    difficulty. Pool order breaks ties, so the choice is deterministic."""
    candidates = [q for q in pool if q.id not in asked]
    if not candidates:
        return None
    want_difficulty = difficulty if difficulty and 1 <= difficulty <= 5 else LEVEL_DIFFICULTY[level]
    if plan_type is InterviewType.mixed:
        want_type = InterviewType.technical if turn % 2 == 1 else InterviewType.behavioral
    else:
        want_type = plan_type
    wanted_topic = _norm(topic) if topic else None

    def score(item: tuple[int, BankQuestion]) -> tuple[int, int, int, int]:
        index, q = item
        topic_miss = 0
        if wanted_topic:
            topic_miss = (
                0 if wanted_topic in _norm(q.topic) or _norm(q.topic) in wanted_topic else 1
            )
        type_miss = 0 if q.type is want_type else 1
        return (topic_miss, type_miss, abs(q.difficulty - want_difficulty), index)

    return min(enumerate(candidates), key=score)[1]
