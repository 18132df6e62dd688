"""An interview's question plan, built from the job description, the résumé and the team's own
questions (the shapes and bounds only; drafting lives in `interview.planner`).

Flow: the create form posts the job description, the résumé file and the custom questions to
the draft endpoint, which extracts the résumé's text and drafts a `QuestionPlan` (custom
questions first, in order, then questions tailored to the role and the candidate). Nothing is
stored by drafting. The team edits the plan and posts it with the interview (`PlannedInterview`);
then the interview, its plan (table `question_plans`) and its documents (table
`interview_documents`, service role only) are stored together. The dispatch metadata carries
the plan's id, never its text; the agent reads the plan from the store.

Résumé and job description are personal data: never logged, never sent into the room, deleted
with the interview (foreign keys cascade).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

MAX_JOB_DESCRIPTION_CHARS = 20_000
MAX_RESUME_BYTES = 2 * 1024 * 1024
MAX_RESUME_PAGES = 10
MAX_RESUME_CHARS = 30_000
MAX_CUSTOM_QUESTIONS = 10
MAX_PLAN_QUESTIONS = 20
MAX_SUMMARY_CHARS = 600
RESUME_MEDIA_TYPES = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/plain": "txt",
}

QuestionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500)
]
Topic = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_SUMMARY_CHARS)]


class FollowUp(StrEnum):
    none = "none"  # ask, take the answer, move on
    one = "one"  # at most one follow-up
    open = "open"  # as the interviewer judges (the default for bank and generated questions)


class QuestionSource(StrEnum):
    custom = "custom"  # written by the hiring team
    bank = "bank"  # from the question bank (`bank_question_id` set)
    generated = "generated"  # written by the text model for this candidate


class CustomQuestion(BaseModel):
    """A question the team writes on the create form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: QuestionText
    verbatim: bool = False  # read exactly as written
    ideal_answer: Note | None = None  # hidden from the candidate; the report scores against it
    time_limit_s: int | None = Field(default=None, ge=30, le=900)
    follow_up: FollowUp = FollowUp.open


class PlannedQuestion(BaseModel):
    """One question of a plan, in the order it is asked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: QuestionText
    source: QuestionSource
    # Checked even when left out, so a bank question without it is refused naming this field.
    bank_question_id: UUID | None = Field(default=None, validate_default=True)
    topic: Topic = "general"
    difficulty: int = Field(default=3, ge=1, le=5)
    verbatim: bool = False
    # What a strong answer covers: the bank's note, the model's for a generated question, or
    # the team's ideal answer for a custom one (hidden from the candidate either way).
    strong_answer: Note | None = None
    ideal_answer: Note | None = None
    time_limit_s: int | None = Field(default=None, ge=30, le=900)
    follow_up: FollowUp = FollowUp.open
    # Why it is in the plan, for the team ("the job description names Kubernetes").
    rationale: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = (
        None
    )

    @field_validator("bank_question_id")
    @classmethod
    def _bank_id_for_bank_questions(cls, value: UUID | None, info: ValidationInfo) -> UUID | None:
        source = info.data.get("source")  # absent when `source` itself was invalid
        if source is not None and (source is QuestionSource.bank) != (value is not None):
            raise ValueError("bank_question_id is set exactly for questions from the bank")
        return value


class QuestionPlan(BaseModel):
    """The plan as drafted, edited and confirmed (stored as `question_plans.questions`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    questions: list[PlannedQuestion] = Field(min_length=1, max_length=MAX_PLAN_QUESTIONS)
    # Short, bounded summaries for the interviewer's prompt (the prompt never gets the
    # documents themselves).
    role_summary: Summary = ""
    candidate_summary: Summary = ""


class StoredPlan(QuestionPlan):
    id: UUID
    interview_id: UUID
    # "model" (the text model drafted it), "offline" (the local deterministic planner) or
    # "manual" (the team wrote it without a draft).
    drafted_by: str = "manual"
    created_at: datetime | None = None


class InterviewDocuments(BaseModel):
    """The job description and the résumé's extracted text (table `interview_documents`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_description: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=MAX_JOB_DESCRIPTION_CHARS)
    ] = ""
    resume_text: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=MAX_RESUME_CHARS)
    ] = ""
    resume_filename: Annotated[str, StringConstraints(max_length=200)] | None = None
    resume_pages: int | None = Field(default=None, ge=0, le=MAX_RESUME_PAGES)


class PlanDraft(BaseModel):
    """What the draft endpoint answers: the plan to edit, the documents it was drafted from
    (to post back with the interview), who drafted it and what the team should know."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plan: QuestionPlan
    documents: InterviewDocuments
    # "model" (the text model) or "offline" (the local rehearsal server's deterministic planner).
    drafted_by: Annotated[str, StringConstraints(pattern=r"^(model|offline)$")]
    warnings: list[str] = Field(default_factory=list, max_length=20)
