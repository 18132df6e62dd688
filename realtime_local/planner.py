"""A deterministic plan drafter: the local stand-in for the planning model.

It reads the document the token server's planner sends (kind `interview_plan_draft`: settings,
job description, résumé text, custom questions, bank candidates) and answers the planner's
`PlanDraftOut` field for field:

1. the custom questions first, in the team's order, their text as given;
2. then one question per skill of a fixed vocabulary (Kubernetes, Postgres, Go, Python, ...)
   named in the job description or the résumé, strongest first (named in both, then the job
   description only, then the résumé only; by where the job description names it first): the
   bank candidate whose topic, tags or text name the skill, else a question from the skill's
   templates. When the résumé already states how long the candidate has used a skill ("five
   years of Go"), the template asks what they built with it, never how much experience they
   have;
3. then the remaining bank candidates, those naming more of the skills first, then a general
   question, until `settings.question_count`.

Summaries name the role, the level and the skills, never the candidate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PLAN_KIND = "interview_plan_draft"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PlanSettings(_Lenient):
    role: str = ""
    level: str = ""
    type: str = ""
    question_count: int = Field(default=5, ge=1, le=20)


class PlanCustom(_Lenient):
    position: int = 0
    text: str


class PlanCandidate(_Lenient):
    id: str
    text: str
    topic: str = ""
    tags: list[str] = Field(default_factory=list)
    difficulty: int = Field(default=3, ge=1, le=5)


class PlanInput(_Lenient):
    kind: Literal["interview_plan_draft"]
    version: int
    settings: PlanSettings
    job_description: str = ""
    resume_text: str = ""
    custom_questions: list[PlanCustom] = Field(default_factory=list)
    bank_candidates: list[PlanCandidate] = Field(default_factory=list)


class DraftQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Literal["custom", "bank", "generated"]
    bank_question_id: str | None
    text: str
    topic: str
    difficulty: int
    strong_answer: str | None
    rationale: str


class PlanDraftOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    questions: list[DraftQuestion]
    role_summary: str
    candidate_summary: str


@dataclass(frozen=True)
class Skill:
    name: str
    topic: str
    pattern: re.Pattern[str]
    # Asked when the résumé does not say how long they have used it.
    experience: str
    # Asked when it does: what they did with it.
    depth: str
    strong_answer: str


def _skill(name: str, topic: str, pattern: str, experience: str, depth: str, strong: str) -> Skill:
    return Skill(name, topic, re.compile(pattern), experience, depth, strong)


SKILLS: tuple[Skill, ...] = (
    _skill(
        "Kubernetes",
        "kubernetes",
        r"(?i)\b(kubernetes|k8s)\b",
        "What have you run on Kubernetes, and how long have you worked with it?",
        "Tell me about a production problem you debugged on Kubernetes: what failed, how you "
        "found it and what you changed.",
        "Pods, deployments and services; requests and limits; probes; rollouts and rollbacks; "
        "reading events and logs; a concrete incident with its cause and fix.",
    ),
    _skill(
        "Postgres",
        "postgres",
        r"(?i)\b(postgres(ql)?|psql)\b",
        "How much have you worked with Postgres, and on what kind of data?",
        "A Postgres query you own got slow as the table grew. How do you find out why and fix it?",
        "EXPLAIN ANALYZE; indexes and their cost; statistics and vacuum; locking; partitioning "
        "or archiving; measuring before and after.",
    ),
    _skill(
        "Go",
        "go",
        r"\b(Go|golang|Golang)\b(?! to\b)",
        "How much Go experience do you have, and what have you written in it?",
        "Describe a concurrent service you wrote in Go: how goroutines and channels were used, "
        "and how you avoided leaks and races.",
        "Goroutines and channels; context cancellation; sync primitives; the race detector; "
        "bounded worker pools; profiling with pprof.",
    ),
    _skill(
        "Python",
        "python",
        r"(?i)\bpython\b",
        "How long have you worked with Python, and on what?",
        "Tell me about a Python codebase you made faster or easier to change: what you did and "
        "how you measured it.",
        "Profiling; data structures; typing and tests; packaging; concurrency choices "
        "(asyncio, processes); a measured result.",
    ),
    _skill(
        "React",
        "react",
        r"(?i)\breact(\.js|js)?\b",
        "How much React have you written, and for what kind of product?",
        "Tell me about a React screen that re-rendered too often or held stale state: how you "
        "found it and fixed it.",
        "Component state versus props; effects and their dependencies; memoisation; the "
        "profiler; a concrete fix.",
    ),
    _skill(
        "AWS",
        "aws",
        r"\b(AWS|Amazon Web Services)\b",
        "Which AWS services have you used, and for how long?",
        "How would you design an AWS deployment for a service that must survive losing an "
        "availability zone?",
        "Multi-AZ load balancing and databases; health checks; autoscaling; IAM least "
        "privilege; cost awareness.",
    ),
    _skill(
        "Docker",
        "docker",
        r"(?i)\bdocker\b",
        "How have you used Docker, and for how long?",
        "How do you keep a service's Docker image small, fast to build and safe?",
        "Multi-stage builds; layer caching; minimal base images; non-root users; scanning.",
    ),
    _skill(
        "Terraform",
        "terraform",
        r"(?i)\bterraform\b",
        "How much infrastructure have you managed with Terraform?",
        "How do you organise Terraform for several environments and change it safely?",
        "Modules; remote state with locking; plan review; drift; environment separation.",
    ),
    _skill(
        "Kafka",
        "kafka",
        r"(?i)\bkafka\b",
        "How have you used Kafka, and for how long?",
        "How do you make a Kafka consumer process each message once, even across restarts?",
        "Offsets and commits; idempotent processing; partitions and ordering; rebalancing; "
        "dead-letter topics.",
    ),
    _skill(
        "Redis",
        "redis",
        r"(?i)\bredis\b",
        "What have you used Redis for, and for how long?",
        "When would you put Redis in front of a database, and what can go wrong?",
        "Cache-aside; TTLs and invalidation; stampedes; persistence and eviction; consistency.",
    ),
    _skill(
        "TypeScript",
        "typescript",
        r"(?i)\btypescript\b",
        "How long have you worked with TypeScript?",
        "How do you use TypeScript's types to make invalid states impossible in a front end?",
        "Discriminated unions; narrowing; strict mode; typing API responses; generics.",
    ),
    _skill(
        "Java",
        "java",
        r"\bJava\b(?!Script)",
        "How long have you worked with Java, and on what?",
        "Tell me about a Java service you tuned for memory or latency: what you measured and "
        "changed.",
        "GC behaviour; heap and allocation profiling; thread pools; a measured change.",
    ),
)
_NUMBER = r"(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen)"
_YEARS = re.compile(rf"(?i)\b{_NUMBER}\+?\s*(years?|yrs?)\b")
GENERAL_QUESTION = (
    "Walk me through a recent project you are proud of: your part in it and what you would do "
    "differently."
)
GENERAL_STRONG = "A concrete project; their own decisions; trade-offs; results; honest lessons."


def plan_input(text: str) -> dict[str, Any] | None:
    """The JSON object in a message's text if it is a plan draft document, else None."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("kind") == PLAN_KIND:
        return data
    return None


def _first(skill: Skill, text: str) -> int | None:
    found = skill.pattern.search(text)
    return found.start() if found else None


def states_experience(skill: Skill, resume: str) -> bool:
    """The résumé says how long they have used the skill ("five years of Go", "Go, 5 yrs")."""
    for line in re.split(r"[\n.;]", resume):
        if skill.pattern.search(line) and _YEARS.search(line):
            return True
    return False


def skills_named(jd: str, resume: str) -> list[Skill]:
    """The vocabulary's skills in the documents, strongest first."""
    ranked = []
    for i, skill in enumerate(SKILLS):
        in_jd, in_cv = _first(skill, jd), _first(skill, resume)
        if in_jd is None and in_cv is None:
            continue
        strength = (2 if in_jd is not None else 0) + (1 if in_cv is not None else 0)
        ranked.append((-strength, in_jd if in_jd is not None else len(jd), i, skill))
    return [r[3] for r in sorted(ranked, key=lambda r: r[:3])]


def _names(skill: Skill, candidate: PlanCandidate) -> bool:
    haystack = " ".join([candidate.topic, *candidate.tags, candidate.text])
    return bool(skill.pattern.search(haystack)) or skill.topic in (
        t.lower() for t in [candidate.topic, *candidate.tags]
    )


def draft_plan(doc: PlanInput) -> PlanDraftOut:
    count = doc.settings.question_count
    out = [
        DraftQuestion(
            source="custom",
            bank_question_id=None,
            text=q.text,
            topic="custom",
            difficulty=3,
            strong_answer=None,
            rationale="The hiring team's question.",
        )
        for q in doc.custom_questions
    ][:count]
    skills = skills_named(doc.job_description, doc.resume_text)
    used: set[str] = set()
    for skill in skills:
        if len(out) >= count:
            break
        in_jd = _first(skill, doc.job_description) is not None
        in_cv = _first(skill, doc.resume_text) is not None
        where = (
            "the job description and the résumé"
            if in_jd and in_cv
            else "the job description"
            if in_jd
            else "the résumé"
        )
        match = next(
            (c for c in doc.bank_candidates if c.id not in used and _names(skill, c)), None
        )
        if match is not None:
            used.add(match.id)
            out.append(
                DraftQuestion(
                    source="bank",
                    bank_question_id=match.id,
                    text=match.text,
                    topic=match.topic or skill.topic,
                    difficulty=match.difficulty,
                    strong_answer=None,
                    rationale=f"{skill.name} is named in {where}; from the bank.",
                )
            )
            continue
        known = states_experience(skill, doc.resume_text)
        out.append(
            DraftQuestion(
                source="generated",
                bank_question_id=None,
                text=skill.depth if known else skill.experience,
                topic=skill.topic,
                difficulty=4 if known else 3,
                strong_answer=skill.strong_answer,
                rationale=f"{skill.name} is named in {where}"
                + ("; the résumé gives the years, so this asks what they built." if known else "."),
            )
        )
    rest = sorted(
        (c for c in doc.bank_candidates if c.id not in used),
        key=lambda c: -sum(_names(s, c) for s in skills),
    )
    for candidate in rest:
        if len(out) >= count:
            break
        used.add(candidate.id)
        out.append(
            DraftQuestion(
                source="bank",
                bank_question_id=candidate.id,
                text=candidate.text,
                topic=candidate.topic or "general",
                difficulty=candidate.difficulty,
                strong_answer=None,
                rationale="From the bank for this role and level.",
            )
        )
    if len(out) < count:
        out.append(
            DraftQuestion(
                source="generated",
                bank_question_id=None,
                text=GENERAL_QUESTION,
                topic="general",
                difficulty=3,
                strong_answer=GENERAL_STRONG,
                rationale="A general question: the bank had nothing more for this role.",
            )
        )
    while len(out) < count:  # a tiny bank: numbered project questions stay distinct
        n = len(out) + 1
        out.append(
            DraftQuestion(
                source="generated",
                bank_question_id=None,
                text=f"Tell me about another project (number {n}) and the hardest decision in it.",
                topic="general",
                difficulty=3,
                strong_answer=GENERAL_STRONG,
                rationale="A general question: the bank had nothing more for this role.",
            )
        )
    s = doc.settings
    jd_skills = [k.name for k in skills if _first(k, doc.job_description) is not None]
    cv_skills = [k.name for k in skills if _first(k, doc.resume_text) is not None]
    role_summary = f"{s.level} {s.role} ({s.type} interview).".strip().capitalize()
    if jd_skills:
        role_summary += f" The job description names {', '.join(jd_skills)}."
    candidate_summary = (
        f"The résumé mentions {', '.join(cv_skills)}." if cv_skills else "No résumé skills found."
    )
    return PlanDraftOut(
        questions=out[:count], role_summary=role_summary, candidate_summary=candidate_summary
    )


SPOILERS = ("plan_unknown_bank_id", "plan_wrong_count", "plan_custom_changed")


def spoil(plan: dict[str, Any], how: str) -> dict[str, Any]:
    """A plan the caller must refuse (fault injection): an id that was never offered, one
    question short, or the first custom question reworded."""
    questions = [dict(q) for q in plan["questions"]]
    if how == "plan_wrong_count":
        questions = questions[:-1] if len(questions) > 1 else questions * 2
    elif how == "plan_unknown_bank_id":
        questions[-1] = {
            **questions[-1],
            "source": "bank",
            "bank_question_id": "00000000-0000-4000-8000-000000000000",
        }
    elif how == "plan_custom_changed":
        first = questions[0]
        questions[0] = {**first, "source": "custom", "text": "Reworded: " + first["text"]}
    return {**plan, "questions": questions}
