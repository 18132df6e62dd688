"""Request and response bodies of the API. The create body is the shared `InterviewPlan`, with
an optional confirmed question plan (`CreateInterview`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from interview.contract import InterviewPlan, Mode
from interview.planning import InterviewDocuments, QuestionPlan, StoredPlan
from interview.review import Decision
from interview.steering import ObserverName, Steer
from interview.store import Interview, InterviewDetail, Speaker

# token_urlsafe(32) is 43 characters; allow some room without accepting arbitrary blobs.
InviteSecret = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{20,128}$")]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorDetail(_Out):
    code: str = Field(description="Stable machine-readable code, e.g. validation_error")
    message: str
    details: Any = None


class ErrorResponse(_Out):
    error: ErrorDetail


def error_responses(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries with the error body for the given statuses."""
    defaults = {
        400: "The request is malformed",
        401: "No or an invalid interviewer API key",
        404: "Not found",
        410: "The interview has ended",
        413: "The body or the plan is too large",
        422: "The request is invalid; details name the fields",
        429: "Rate limited; see Retry-After",
        502: "LiveKit refused or did not answer",
        503: "The database did not answer in time",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        text = described.get(f"s{status}", defaults.get(status, ""))
        out[status] = {"model": ErrorResponse, "description": text}
    return out


class Invite(_Out):
    url: str = Field(description="The candidate's link; the secret rides in the #fragment")
    secret: str = Field(description="Shown once; only its SHA-256 is stored")


class CreatedInterview(_Out):
    interview: Interview
    invite: Invite
    room: str
    candidate_identity: str


class Presence(_Out):
    """Who is in the interview's room right now, as LiveKit sees it."""

    candidate: bool
    interviewer: bool


_PRESENCE = Field(
    default=None,
    description="Who is in the room, for waiting and live interviews; null once the interview "
    "has ended or when LiveKit did not answer in time",
)


class InterviewItem(Interview):
    presence: Presence | None = _PRESENCE
    recommendation: str | None = Field(
        default=None, description="The evaluation's recommendation; null until it has run"
    )
    decision: Decision | None = Field(
        default=None, description="The reviewer's decision in effect; null when none"
    )


class Watcher(_Out):
    """An observer in the interview's room now (a hidden participant, as LiveKit lists it)."""

    identity: str = Field(description="The observer's room identity, `observer-...`")
    name: str = Field(description="The name the observer gave for their token")
    joined_at: datetime | None = Field(description="When it joined the room, as LiveKit says")


class InterviewView(InterviewDetail):
    """One interview's detail, with who is in its room and the hiring team's steers."""

    presence: Presence | None = _PRESENCE
    watchers: list[Watcher] | None = Field(
        default=None,
        description="The observers in the room now, oldest first; null once the interview has "
        "ended or when LiveKit did not answer in time",
    )
    steers: list[Steer] = Field(
        default_factory=list, description="Every steer sent to this interview, oldest first"
    )


class FeedEntry(_Out):
    """One stored transcript message, as the feed's `transcript` event carries it."""

    id: int = Field(description="The row id: entries arrive in its order, each once")
    item_id: str = Field(description="The conversation item id (the live transcription's id)")
    speaker: Speaker
    text: str
    started_at: datetime
    ended_at: datetime | None = None
    interrupted: bool = False


class FeedTranscript(_Out):
    """The feed's `transcript` event: on connect every stored message so far (the last 500),
    then only the ones stored since."""

    entries: list[FeedEntry]


class InterviewPage(_Out):
    items: list[InterviewItem]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last page")


class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: InviteSecret


ArrivalState = Literal["present", "connecting", "retrying", "unavailable"]


class InterviewerArrival(_Out):
    """Where the interviewer is, for the candidate's waiting page."""

    state: ArrivalState = Field(
        description="present: in the room; connecting: the first dispatch is on its way; "
        "retrying: a dispatch was not taken and another was sent; unavailable: none arrived "
        "within the bound (offer a retry)"
    )
    attempts: int = Field(ge=0, description="Dispatches sent since the candidate arrived")


class ArrivalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: InviteSecret
    retry: bool = Field(
        default=False, description="Start ensuring the interviewer again if it is unavailable"
    )


class CandidateSession(_Out):
    """What the candidate page needs to join and to frame the interview."""

    interview_id: UUID
    candidate_name: str
    role: str
    mode: Mode
    duration_minutes: int
    question_count: int
    language: str


class ConsentTerms(_Out):
    """The consent text the page shows before joining, exactly as the decision stores it."""

    version: str = Field(description="The text's version; the decision is stored with it")
    text: list[str] = Field(description="The paragraphs to show, in order")
    retention_days: int = Field(description="Days the transcript and scores are kept")
    privacy_notice_url: str | None = Field(
        description="The organisation's privacy notice; null: the text says to ask the team"
    )


class CandidateWelcome(_Out):
    """What the page reads before joining: the interview, the consent text and the decision
    already made (null: none yet). Reading it dispatches nobody."""

    interview: CandidateSession
    consent: ConsentTerms
    # Not named "decision": the candidate's pages never carry the hiring team's words.
    agreed: bool = Field(
        description="The candidate already agreed (a reload); a declined invite is 410"
    )


class ConsentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: InviteSecret
    decision: Literal["agree", "decline"]
    text_version: str = Field(
        min_length=1, max_length=64, description="The version of the text the page showed"
    )


class ConsentRecord(_Out):
    agreed: bool = Field(description="The decision stored: true agreed, false declined")
    text_version: str
    decided_at: datetime


class JoinGrant(_Out):
    token: str
    livekit_url: str
    room: str
    identity: str
    expires_in: int = Field(description="Seconds until the token can no longer be used to join")


class CandidateJoin(JoinGrant):
    interview: CandidateSession
    interviewer: InterviewerArrival


class ObserverTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ObserverName = Field(
        default="Observer", description="Shown to the other observers as who is watching"
    )


class ObserverJoin(JoinGrant):
    interview_id: UUID
    candidate_identity: str = Field(
        description="The candidate's identity in the room: their transcript lines carry it"
    )


class Health(_Out):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


class WebhookAck(_Out):
    status: str
    event: str


class QuestionFeedback(_Out):
    ordinal: int = Field(description="The question the feedback is about (1-based)")
    bullets: list[str]


class CandidateFeedback(_Out):
    """What a practice candidate may see after the interview: feedback words, never scores."""

    status: str = Field(description="The interview's final status")
    final: list[str] = Field(description="The interviewer's closing feedback bullets")
    by_question: list[QuestionFeedback] = Field(
        description="Feedback given per question, in question order"
    )


# ---- interviews created from a confirmed question plan (issue 14) ---------------------------

DraftedBy = Literal["model", "offline", "manual"]


class CreateInterview(InterviewPlan):
    """The create body: the interview's settings and, optionally, the plan the hiring team
    confirmed with the documents it was drafted from."""

    question_plan: QuestionPlan | None = Field(
        default=None,
        description="The confirmed question plan, asked in order. With it, `question_count` "
        "is the plan's length (whatever the body says), and the interview, the plan and the "
        "documents are stored together or not at all",
    )
    documents: InterviewDocuments | None = Field(
        default=None,
        description="The job description and the résumé's text the plan was drafted from "
        "(personal data: stored for the service role only, never returned, logged or sent "
        "into the room); only with `question_plan`",
    )
    drafted_by: DraftedBy = Field(
        default="manual",
        description="Who drafted the plan: the text model, the offline planner, or the team",
    )

    @field_validator("documents")
    @classmethod
    def _documents_with_a_plan(
        cls, value: InterviewDocuments | None, info: ValidationInfo
    ) -> InterviewDocuments | None:
        # An invalid plan is reported on its own; only a plan left out makes documents wrong.
        if (
            value is not None
            and "question_plan" in info.data
            and info.data["question_plan"] is None
        ):
            raise ValueError("documents are stored with a question_plan only")
        return value

    def settings(self) -> InterviewPlan:
        """The interview's settings, `question_count` taken from the plan when there is one."""
        values = self.model_dump(exclude={"question_plan", "documents", "drafted_by"})
        if self.question_plan is not None:
            values["question_count"] = len(self.question_plan.questions)
        return InterviewPlan.model_validate(values)


class InterviewPlanView(StoredPlan):
    """An interview's stored plan as the hiring team sees it: hidden ideal answers included."""

    drafted_by: DraftedBy = "manual"
