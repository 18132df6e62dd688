"""Choosing the next question from the bank: pure functions, so the rules are testable alone.

The plan's role is free text ("Senior back-end developer"); the bank's roles are slugs
("backend-engineer"). `match_role` finds the bank role a plan means: the exact slug, then with
common synonyms and seniority words removed, then the bank role whose words the plan's role
contains. Questions of the `general` role suit any role and fill in when the role has none left.

`choose_question` keeps to the type (a mixed interview alternates technical and behavioral,
taking the kind asked less so far) and to the level (the plan's level first, then the
neighbouring levels, never further), then prefers the role's own questions over general ones,
the requested topic, and the difficulty closest to the one asked for. Ties are broken at random
so two candidates for the same role do not hear the same interview.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from uuid import UUID

from interview.contract import InterviewType, Level
from interview.store import BankQuestion

GENERAL_ROLE = "general"

_LEVEL_RANK = {Level.junior: 0, Level.mid: 1, Level.senior: 2, Level.lead: 3}
# How far from the plan's level a question may be when the plan's level has none left.
MAX_LEVEL_DISTANCE = 1

_SYNONYMS = {
    "developer": "engineer",
    "dev": "engineer",
    "programmer": "engineer",
    "swe": "engineer",
    "admin": "administrator",
    "datascientist": "data-scientist",
    "pm": "product-manager",
    "ae": "account-executive",
}
_PHRASES = {"back-end": "backend", "front-end": "frontend", "sales-force": "salesforce"}
_SENIORITY = {
    "junior",
    "jr",
    "mid",
    "middle",
    "intermediate",
    "senior",
    "sr",
    "lead",
    "staff",
    "principal",
    "head",
    "chief",
    "associate",
    "i",
    "ii",
    "iii",
}


def role_slug(text: str) -> str:
    """'Senior Back-end Developer' -> 'senior-back-end-developer'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _normalise(slug: str) -> str:
    for phrase, replacement in _PHRASES.items():
        slug = re.sub(rf"(^|-){phrase}(-|$)", rf"\g<1>{replacement}\g<2>", slug)
    words = [_SYNONYMS.get(word, word) for word in slug.split("-") if word]
    words = [word for word in words if word not in _SENIORITY]
    return "-".join(words)


def match_role(role: str, bank_roles: Iterable[str]) -> str | None:
    """The bank role a plan's free-text role means, or None (then only general questions)."""
    roles = {r for r in bank_roles if r != GENERAL_ROLE}
    slug = role_slug(role)
    if slug in roles:
        return slug
    normal = _normalise(slug)
    if normal in roles:
        return normal
    for candidate in sorted(roles):
        if _normalise(candidate) == normal:
            return candidate
    words = set(normal.split("-"))
    contained = [r for r in roles if set(_normalise(r).split("-")) <= words]
    if contained:
        # The most specific: 'data-scientist' over a hypothetical 'scientist'.
        return max(contained, key=lambda r: (len(r.split("-")), r))
    return None


def _topic_rank(question: BankQuestion, topic: str | None) -> int:
    if not topic:
        return 0
    wanted = role_slug(topic)
    have = role_slug(question.topic)
    if wanted and (wanted in have or have in wanted):
        return 0
    if wanted and wanted.replace("-", " ") in question.text.lower():
        return 1
    return 2


def choose_question(
    questions: Sequence[BankQuestion],
    *,
    role: str | None,
    level: Level,
    type: InterviewType,
    exclude: set[UUID],
    topic: str | None = None,
    difficulty: int | None = None,
    rng: random.Random | None = None,
) -> BankQuestion | None:
    rng = rng or random.Random()
    if type is InterviewType.mixed:
        asked = [q for q in questions if q.id in exclude]
        technical = sum(q.type is InterviewType.technical for q in asked)
        behavioral = sum(q.type is InterviewType.behavioral for q in asked)
        order = (
            [InterviewType.technical, InterviewType.behavioral]
            if technical <= behavioral
            else [InterviewType.behavioral, InterviewType.technical]
        )
    else:
        order = [type]
    want = _LEVEL_RANK[level]
    for kind in order:
        pool = [
            q
            for q in questions
            if q.type is kind
            and q.id not in exclude
            and abs(_LEVEL_RANK[q.level] - want) <= MAX_LEVEL_DISTANCE
        ]
        if pool:
            keyed = [
                (
                    abs(_LEVEL_RANK[q.level] - want),
                    0 if role is not None and q.role == role else 1,
                    _topic_rank(q, topic),
                    abs(q.difficulty - difficulty) if difficulty is not None else 0,
                    rng.random(),
                    q,
                )
                for q in pool
            ]
            return min(keyed, key=lambda k: k[:5])[5]
    return None


def bank_pool(
    questions: Sequence[BankQuestion],
    *,
    role: str | None,
    level: Level,
    type: InterviewType,
    limit: int,
) -> list[BankQuestion]:
    """The bank questions a plan may draw from (the planner's candidates): the interview's type
    (both for mixed), its level or a neighbouring one; the role's own first, then the closest
    level, the bank's order otherwise (deterministic: the planner's input is reproducible)."""
    kinds = (
        {InterviewType.technical, InterviewType.behavioral}
        if type is InterviewType.mixed
        else {type}
    )
    want = _LEVEL_RANK[level]
    pool = [
        q
        for q in questions
        if q.type in kinds and abs(_LEVEL_RANK[q.level] - want) <= MAX_LEVEL_DISTANCE
    ]
    pool.sort(
        key=lambda q: (
            0 if role is not None and q.role == role else 1,
            abs(_LEVEL_RANK[q.level] - want),
            q.topic,
            q.text,
        )
    )
    return pool[:limit]
