"""The store: what the agent and the token server read from and write to Supabase.

This module is the interface both services program against: the row models, the table names
and the `Store` protocol. The implementation on supabase-py's async client, with its durable
write path (in-memory queue -> batched upserts with retries -> SQLite outbox while Supabase is
unreachable), lives in `interview.supabase_store`.

Write methods (`record_*`, `append_*`, `audit`) never wait on the network: they enqueue and
return. Every write carries its natural key, so a replay is an idempotent upsert. Read methods
wait, with a short timeout, and raise `StoreUnavailable` when Supabase cannot answer in time.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from interview.consent import Consent
from interview.contract import InterviewPlan, InterviewType, Level
from interview.planning import InterviewDocuments, StoredPlan
from interview.review import Decision, NewReviewEvent, ReviewEvent
from interview.steering import Steer, SteerUpdate


class Table(StrEnum):
    """Every table the product uses; the migrations define them."""

    interviews = "interviews"
    question_bank = "question_bank"
    interview_questions = "interview_questions"
    answers = "answers"
    feedback = "feedback"
    transcript_messages = "transcript_messages"
    audit_events = "audit_events"
    evaluations = "evaluations"
    review_events = "review_events"
    steers = "steers"
    question_plans = "question_plans"
    interview_documents = "interview_documents"
    consents = "consents"


# A view (not a table): interviews with their decision and recommendation, for the list.
INTERVIEW_LIST_VIEW = "interview_list"


class InterviewStatus(StrEnum):
    waiting = "waiting"  # created, nobody has joined
    live = "live"  # the interviewer has greeted the candidate
    completed = "completed"
    abandoned = "abandoned"  # the candidate left and did not come back
    failed = "failed"  # the interview could not run (bad metadata, model unreachable)
    # An interviewer called it off before it ended, or the candidate declined the consent.
    cancelled = "cancelled"

    @property
    def ended(self) -> bool:
        return self in {
            InterviewStatus.completed,
            InterviewStatus.abandoned,
            InterviewStatus.failed,
            InterviewStatus.cancelled,
        }


class QuestionOutcome(StrEnum):
    pending = "pending"
    answered = "answered"
    skipped = "skipped"
    timed_out = "timed_out"
    # The hiring team asked the interviewer to move on (a "next" steer).
    skipped_by_interviewer = "skipped_by_interviewer"


class Speaker(StrEnum):
    candidate = "candidate"
    interviewer = "interviewer"


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Usage(_Row):
    """Model usage of one interview: running totals, so the latest report replaces the last."""

    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    input_audio_tokens: int = Field(default=0, ge=0)
    output_audio_tokens: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0)


class Interview(_Row):
    id: UUID
    plan: InterviewPlan
    status: InterviewStatus
    room_name: str
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    summary: str | None = None
    org_id: UUID | None = None
    owner_id: UUID | None = None
    usage: Usage = Field(default_factory=Usage)
    # Its confirmed question plan (`question_plans.id`); None: questions drawn from the bank.
    plan_id: UUID | None = None


class ListedInterview(Interview):
    """An interview as the dashboard lists it: with its review decision in effect and its
    evaluation's recommendation (each null when there is none)."""

    decision: Decision | None = None
    recommendation: str | None = None


class DecisionFilter(StrEnum):
    """The list's decision filter: a decision, or `none` for interviews without one."""

    advance = "advance"
    hold = "hold"
    reject = "reject"
    none = "none"


class NewInterview(_Row):
    """What the token server writes when an interviewer creates an interview."""

    id: UUID
    plan: InterviewPlan
    room_name: str
    # SHA-256 of the candidate invite secret; the secret itself is never stored.
    invite_hash: str
    org_id: UUID | None = None
    owner_id: UUID | None = None


class BankQuestion(_Row):
    id: UUID
    role: str
    level: Level
    type: InterviewType  # technical or behavioral (a mixed interview draws from both)
    topic: str
    difficulty: int = Field(ge=1, le=5)
    text: str
    strong_answer: str  # what a strong answer covers; for the model, never for the candidate


class Scores(_Row):
    clarity: int = Field(ge=1, le=5)
    relevance: int = Field(ge=1, le=5)
    depth: int = Field(ge=1, le=5)
    accuracy: int = Field(ge=1, le=5)

    @property
    def overall(self) -> float:
        return round((self.clarity + self.relevance + self.depth + self.accuracy) / 4, 2)


class AskedQuestion(_Row):
    interview_id: UUID
    ordinal: int = Field(ge=1)
    bank_question_id: UUID | None
    text: str
    topic: str
    difficulty: int = Field(ge=1, le=5)
    asked_at: datetime
    outcome: QuestionOutcome = QuestionOutcome.pending
    ended_at: datetime | None = None
    # Its 1-based position in the interview's question plan (None: drawn from the bank).
    plan_item: int | None = Field(default=None, ge=1, le=20)


class Answer(_Row):
    interview_id: UUID
    ordinal: int = Field(ge=1)  # the question it answers
    transcript: str
    scores: Scores
    tags: list[str] = Field(default_factory=list, max_length=10)


class Feedback(_Row):
    interview_id: UUID
    ordinal: int | None  # None: the final feedback for the whole interview
    bullets: list[str] = Field(min_length=1, max_length=10)


class TranscriptMessage(_Row):
    interview_id: UUID
    item_id: str  # the conversation item id: the message's idempotency key
    speaker: Speaker
    text: str
    started_at: datetime
    ended_at: datetime | None = None
    interrupted: bool = False


class TranscriptEntry(TranscriptMessage):
    """A stored transcript message with its row id (what evidence quotes cite)."""

    id: int


class EvaluationState(StrEnum):
    pending = "pending"
    running = "running"  # claimed by a runner, under a lease
    done = "done"
    failed = "failed"
    skipped = "skipped"  # nothing to evaluate (no candidate answer): no model call

    @property
    def finished(self) -> bool:
        return self in {EvaluationState.done, EvaluationState.failed, EvaluationState.skipped}


class Evaluation(_Row):
    """The evaluation job of one interview and its result (`report`: the checked evaluation,
    `interview.evaluation.EvaluationReport` as JSON)."""

    interview_id: UUID
    state: EvaluationState
    attempts: int = 0
    claims: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    error_code: str | None = None
    report: dict[str, Any] | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class EvaluationResult(_Row):
    """What a runner writes when it finishes a claim."""

    state: EvaluationState
    model: str | None = None
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cost_usd: float | None = Field(default=None, ge=0)
    error_code: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,64}$")
    report: dict[str, Any] | None = None


class InterviewDetail(_Row):
    """Everything an interviewer sees about one interview."""

    interview: Interview
    questions: list[AskedQuestion]
    answers: list[Answer]
    feedback: list[Feedback]


class StoreUnavailable(RuntimeError):
    """A read could not be answered in time; the caller decides what to tell its user."""


class StoreRejected(ValueError):
    """Supabase refused a confirmed write (a constraint: a duplicate room name or invite hash).

    `code` is the Postgres or PostgREST error code (`23505`, ...). Queued writes never raise it:
    they are parked in the outbox as dead letters instead.
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class Store(Protocol):
    # ---- reads: wait (bounded), may raise StoreUnavailable -------------------------------
    async def get_interview(self, interview_id: UUID) -> Interview | None: ...

    async def get_interview_by_invite(self, invite_hash: str) -> Interview | None: ...

    async def list_interviews(
        self,
        *,
        status: InterviewStatus | None = None,
        q: str | None = None,
        decision: DecisionFilter | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[ListedInterview]:
        """Newest first. `q`: a case-insensitive substring of the candidate's name or the role,
        matched literally (no wildcards)."""
        ...

    async def review_events(self, interview_id: UUID) -> list[ReviewEvent]:
        """The interview's review log, oldest first."""
        ...

    async def interview_detail(self, interview_id: UUID) -> InterviewDetail | None: ...

    async def next_question(
        self,
        *,
        role: str,
        level: Level,
        type: InterviewType,
        exclude: set[UUID],
        topic: str | None = None,
        difficulty: int | None = None,
    ) -> BankQuestion | None: ...

    async def transcript_page(
        self, interview_id: UUID, *, limit: int, offset: int = 0
    ) -> list[TranscriptEntry]:
        """The transcript in speaking order (started_at, then id), one page of it."""
        ...

    async def transcript_after(
        self, interview_id: UUID, after_id: int, *, limit: int
    ) -> list[TranscriptEntry]:
        """The messages stored after row `after_id`, in row id (storage) order, at most `limit`:
        what a feed that has sent up to `after_id` has not sent yet."""
        ...

    async def bank_questions(self, ids: set[UUID]) -> dict[UUID, BankQuestion]:
        """Question-bank entries by id (active or not: an asked question may since be retired)."""
        ...

    async def bank_candidates(
        self, *, role: str, level: Level, type: InterviewType, limit: int
    ) -> list[BankQuestion]:
        """Active bank questions a plan for this role, level and type may draw from (the
        role's and the general ones; `question_choice.bank_pool`), at most `limit`."""
        ...

    async def get_evaluation(self, interview_id: UUID) -> Evaluation | None: ...

    async def list_steers(self, interview_id: UUID) -> list[Steer]:
        """The interview's steers, oldest first."""
        ...

    async def load_plan(self, plan_id: UUID) -> StoredPlan | None:
        """A confirmed question plan by id."""
        ...

    # ---- synchronous writes the caller needs confirmed before it goes on -----------------
    async def create_interview(
        self,
        new: NewInterview,
        *,
        plan: StoredPlan | None = None,
        documents: InterviewDocuments | None = None,
    ) -> Interview:
        """Insert the interview and return it; a retry with the same id returns the first row.
        With `plan` (its `interview_id` is `new.id`), the interview, the plan and `documents`
        are stored together or not at all, and the interview's `plan_id` is the plan's id."""
        ...

    async def add_review_event(self, event: NewReviewEvent) -> ReviewEvent:
        """Append a reviewer change and return it as stored; a retry with the same `event_id`
        returns the first. The caller audits it."""
        ...

    async def create_steer(self, steer: Steer) -> Steer:
        """Insert a steer (state `pending`) and return it as stored; a retry with the same id
        returns the first. The caller audits it."""
        ...

    async def advance_steer(self, update: SteerUpdate) -> bool:
        """Move a steer's state forward (see `interview.steering.STATE_RANK`); False when it
        was already there or further (or the steer does not exist)."""
        ...

    async def claim_evaluation(
        self,
        *,
        owner: str,
        lease_s: float,
        settle_s: float = 0.0,
        ended_after: datetime | None = None,
        interview_id: UUID | None = None,
        max_claims: int = 3,
    ) -> Evaluation | None:
        """Claim the next due evaluation for `owner`, atomically; None when nothing is due.

        Due: an ended interview (completed, abandoned, failed, cancelled) that ended at least
        `settle_s` ago (and after `ended_after`, if given) with no evaluation yet, a pending one,
        or a running one whose lease has expired (its runner died: the claim is taken over).
        A claim taken over `max_claims` times is marked failed (`lease_expired`) instead. With
        `interview_id`, only that interview is considered."""
        ...

    async def begin_evaluation_attempt(
        self, interview_id: UUID, *, owner: str, lease_s: float
    ) -> int | None:
        """Count one more model call under `owner`'s claim and extend its lease by `lease_s`;
        the attempt number, or None when the claim is no longer `owner`'s."""
        ...

    async def finish_evaluation(
        self, interview_id: UUID, *, owner: str, result: EvaluationResult
    ) -> bool:
        """Write the result and release the lease, if the claim is still `owner`'s (False
        otherwise: another runner took it over and its result stands)."""
        ...

    # ---- the candidate's consent (confirmed: joining depends on it) ----------------------
    async def get_consent(self, interview_id: UUID) -> Consent | None:
        """The interview's consent decision; None when the candidate has not decided."""
        ...

    async def record_consent(self, consent: Consent) -> tuple[Consent, bool]:
        """Store the decision unless one is there; the stored decision and whether this call
        stored it (False: an earlier decision stands, returned as it is)."""
        ...

    # ---- queued writes: return at once, delivered durably and idempotently ---------------
    def record_status(
        self,
        interview_id: UUID,
        status: InterviewStatus,
        *,
        at: datetime,
        summary: str | None = None,
    ) -> None:
        """Statuses move forward only, so a late or replayed write never reopens an interview:

        - `live` replaces `waiting` only;
        - an end (`completed`, `abandoned`, `failed`, `cancelled`) replaces `waiting` or `live`;
        - the agent's own ends, `completed` (with its summary) and `failed`, also replace
          `abandoned`: that one is the token server's inference from LiveKit's room_finished
          webhook, which races the agent's last writes because the agent deletes the room as
          it finishes;
        - otherwise the first end stands: `abandoned` never replaces another end, `cancelled`
          (an interviewer's call on a running interview) replaces no end, and of `completed`
          and `failed` whichever landed first stays.

        A write that may not replace the current status changes nothing (not its times, not
        its summary)."""
        ...

    def record_question(self, question: AskedQuestion) -> None:
        """Keyed by (interview, ordinal): write it when asked, again with its outcome."""
        ...

    def record_answer(self, answer: Answer) -> None: ...

    def record_feedback(self, feedback: Feedback) -> None: ...

    def append_transcript(self, message: TranscriptMessage) -> None: ...

    def record_usage(self, interview_id: UUID, usage: Usage) -> None:
        """`usage` is the interview's running total; the latest replaces the last."""
        ...

    def audit(
        self,
        kind: str,
        *,
        interview_id: UUID | None,
        detail: dict[str, object],
        key: str | None = None,
    ) -> None:
        """With a `key` (a webhook id), the event is recorded once per (kind, key) however
        often it is replayed; without one, every call is an event of its own."""
        ...

    # ---- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None: ...

    async def flush(self, timeout: float) -> int:
        """Deliver what is queued; return how many writes are still undelivered."""
        ...

    async def aclose(self, timeout: float = 5.0) -> None: ...
