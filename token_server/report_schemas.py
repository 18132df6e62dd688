"""Bodies of the report and transcript reads (CONTRACT-12 §3), apart from `schemas` so the
report's parts can grow without touching the rest of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from interview.contract import InterviewType, Level, Mode
from interview.evaluation import Outcome, Recommendation
from interview.store import InterviewStatus, Speaker

EvaluationView = Literal["pending", "running", "done", "failed", "not_applicable"]
DecisionValue = Literal["advance", "hold", "reject"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReportInterview(_Out):
    id: UUID
    candidate_name: str
    role: str
    level: Level
    type: InterviewType
    mode: Mode
    status: InterviewStatus
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None = Field(description="From the start to the end; null until both")
    questions_planned: int
    questions_asked: int
    summary: str | None = Field(description="The interviewer's closing summary")


class ReportEvaluation(_Out):
    state: EvaluationView = Field(
        description="pending: not run yet; running: claimed by a runner; done; failed: every "
        "attempt failed; not_applicable: nothing to evaluate (no answer)"
    )
    model: str | None
    attempts: int
    finished_at: datetime | None
    recommendation: Recommendation | None = Field(
        description="insufficient_evidence whenever fewer than half of the planned questions "
        "could be scored"
    )
    strengths: list[str]
    concerns: list[str]
    cost_usd: float | None


class Overall(_Out):
    """Means of the effective (override-aware) scores over the questions scored on each."""

    clarity: float | None
    relevance: float | None
    depth: float | None
    accuracy: float | None


class LiveScores(_Out):
    clarity: int
    relevance: int
    depth: int
    accuracy: int


class ScoreOverride(_Out):
    value: int = Field(ge=1, le=5)
    reason: str
    reviewer: str
    at: datetime


class Score(_Out):
    value: int = Field(ge=1, le=5, description="The evaluation's score")
    reason: str
    supported: bool = Field(
        description="False when none of the question's quotes was found in the candidate's "
        "transcript (they were dropped), or the model gave none"
    )
    override: ScoreOverride | None = None
    effective: int = Field(ge=1, le=5, description="The override's value if any, else value")


class Scores(_Out):
    clarity: Score | None
    relevance: Score | None
    depth: Score | None
    accuracy: Score | None


class Evidence(_Out):
    message_id: int = Field(description="The transcript message quoted (see /transcript)")
    quote: str
    at_s: float = Field(description="Seconds from the interview start")


class ReportQuestion(_Out):
    ordinal: int
    text: str
    topic: str
    outcome: Outcome
    live_scores: LiveScores | None = Field(
        description="The interviewer's in-conversation scores (the observers' running view)"
    )
    scores: Scores = Field(description="The evaluation's scores, checked against evidence")
    evidence: list[Evidence]
    answer_text: str | None
    feedback: list[str]


class Decision(_Out):
    value: DecisionValue
    reviewer: str
    at: datetime


class Note(_Out):
    text: str
    reviewer: str
    at: datetime


class HistoryEntry(_Out):
    kind: str
    detail: str
    reviewer: str
    at: datetime


class Review(_Out):
    decision: Decision | None = None
    notes: list[Note] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)


class Cost(_Out):
    interview_usd: float | None
    evaluation_usd: float | None


class Report(_Out):
    interview: ReportInterview
    evaluation: ReportEvaluation
    overall: Overall
    questions: list[ReportQuestion]
    review: Review
    cost: Cost


class TranscriptItem(_Out):
    id: int
    speaker: Speaker
    text: str
    at_s: float = Field(description="Seconds from the interview start")
    started_at: datetime
    interrupted: bool


class TranscriptPage(_Out):
    items: list[TranscriptItem]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last page")
