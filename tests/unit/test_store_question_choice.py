"""Role matching and the choice of the next question from the bank."""

from __future__ import annotations

import random
import uuid

import pytest

from interview.contract import InterviewType, Level
from interview.question_choice import choose_question, match_role, role_slug
from interview.store import BankQuestion

pytestmark = pytest.mark.unit

BANK_ROLES = {
    "backend-engineer",
    "frontend-engineer",
    "data-scientist",
    "product-manager",
    "salesforce-administrator",
    "account-executive",
    "general",
}


def _q(
    role: str = "backend-engineer",
    level: Level = Level.senior,
    qtype: InterviewType = InterviewType.technical,
    topic: str = "caching",
    difficulty: int = 3,
) -> BankQuestion:
    return BankQuestion(
        id=uuid.uuid4(),
        role=role,
        level=level,
        type=qtype,
        topic=topic,
        difficulty=difficulty,
        text=f"A {qtype.value} question about {topic}",
        strong_answer="covers the essentials",
    )


@pytest.mark.parametrize(
    ("plan_role", "expected"),
    [
        ("Backend engineer", "backend-engineer"),
        ("backend-engineer", "backend-engineer"),
        ("Senior Back-end Developer", "backend-engineer"),
        ("Front End Engineer II", "frontend-engineer"),
        ("Salesforce Admin", "salesforce-administrator"),
        ("Lead Data Scientist (Growth)", "data-scientist"),
        ("Enterprise Account Executive", "account-executive"),
        ("PM", "product-manager"),
        ("Marine biologist", None),
        ("Engineer", None),
    ],
)
def test_free_text_roles_match_bank_roles(plan_role: str, expected: str | None) -> None:
    assert match_role(plan_role, BANK_ROLES) == expected


def test_role_slug() -> None:
    assert role_slug("  Senior Back-end Developer! ") == "senior-back-end-developer"


def test_the_plan_level_comes_first_then_neighbours_never_further() -> None:
    senior, mid, junior = _q(level=Level.senior), _q(level=Level.mid), _q(level=Level.junior)
    kw = {"role": "backend-engineer", "type": InterviewType.technical}

    first = choose_question([junior, mid, senior], level=Level.senior, exclude=set(), **kw)
    then = choose_question([junior, mid, senior], level=Level.senior, exclude={senior.id}, **kw)
    never = choose_question(
        [junior, mid, senior], level=Level.senior, exclude={senior.id, mid.id}, **kw
    )

    assert (first, then, never) == (senior, mid, None)


def test_the_role_own_questions_come_before_general_ones() -> None:
    general, own = _q(role="general"), _q(role="backend-engineer")

    picked = choose_question(
        [general, own],
        role="backend-engineer",
        level=Level.senior,
        type=InterviewType.technical,
        exclude=set(),
    )
    fallback = choose_question(
        [general, own],
        role="backend-engineer",
        level=Level.senior,
        type=InterviewType.technical,
        exclude={own.id},
    )

    assert (picked, fallback) == (own, general)


def test_topic_and_difficulty_are_preferences() -> None:
    easy_caching = _q(topic="caching", difficulty=2)
    hard_caching = _q(topic="caching", difficulty=5)
    queues = _q(topic="queues", difficulty=4)
    bank = [easy_caching, hard_caching, queues]
    kw = {"role": "backend-engineer", "level": Level.senior, "type": InterviewType.technical}

    assert choose_question(bank, exclude=set(), topic="Caching", difficulty=4, **kw) == hard_caching
    assert choose_question(bank, exclude=set(), topic="queue", **kw) == queues
    assert choose_question(bank, exclude=set(), topic="nothing-like-it", difficulty=2, **kw) == (
        easy_caching
    )


def test_mixed_interviews_alternate_types() -> None:
    bank = [_q(qtype=InterviewType.technical) for _ in range(3)] + [
        _q(qtype=InterviewType.behavioral) for _ in range(3)
    ]
    asked: set[uuid.UUID] = set()
    kinds = []
    for _ in range(6):
        q = choose_question(
            bank,
            role="backend-engineer",
            level=Level.senior,
            type=InterviewType.mixed,
            exclude=asked,
            rng=random.Random(3),
        )
        assert q is not None
        asked.add(q.id)
        kinds.append(q.type)

    assert kinds == [InterviewType.technical, InterviewType.behavioral] * 3


def test_a_single_type_interview_never_draws_the_other_type() -> None:
    bank = [_q(qtype=InterviewType.behavioral)]

    assert (
        choose_question(
            bank,
            role="backend-engineer",
            level=Level.senior,
            type=InterviewType.technical,
            exclude=set(),
        )
        is None
    )
