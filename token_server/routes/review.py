"""A reviewer's changes to an ended interview's report, and the report as a Markdown download.

Overrides, notes and decisions are appended to the review log (`interview.review`), each
confirmed before the answer (the answer is the updated report), audited with who and when, and
rate-limited per interviewer key. The reviewer is the key's id, never the key.
"""

from __future__ import annotations

import logging
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from interview.review import (
    Decision,
    NewReviewEvent,
    NoteText,
    Reason,
    ReviewKind,
    Rubric,
    audit_kind,
)
from interview.store import InterviewDetail
from token_server.auth import Principal
from token_server.deps import Interviewer, Services, ServicesDep, enforce
from token_server.errors import ApiError
from token_server.report import build_report, load_review, transcript_items
from token_server.report_markdown import render_markdown, safe_filename
from token_server.report_schemas import Report
from token_server.schemas import error_responses

log = logging.getLogger("token_server.review")

router = APIRouter(prefix="/api/interviews", tags=["review"])

# The whole conversation of the longest interview (90 minutes) is far below this.
_MAX_TRANSCRIPT = 10_000

Ordinal = Annotated[int, Path(ge=1, le=1000, description="The question's ordinal (1-based)")]


class OverrideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: int = Field(ge=1, le=5, description="The reviewer's score, 1-5")
    reason: Reason = Field(description="Why the model's score is overridden (1-500 characters)")


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: NoteText = Field(description="1-2000 characters")


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Decision


_CHANGE_ERRORS = error_responses(
    401,
    404,
    409,
    422,
    429,
    503,
    s404="No such interview, or no such question in it",
    s409="The interview has not ended, or the evaluation has no such score to override",
)


async def _reviewable(services: Services, interview_id: UUID) -> InterviewDetail:
    detail = await services.store.interview_detail(interview_id)
    if detail is None:
        raise ApiError(404, "interview_not_found", "no interview with this id")
    if not detail.interview.status.ended:
        raise ApiError(
            409,
            "interview_not_ended",
            "the interview has not ended; it can be reviewed once it has",
            details={"status": detail.interview.status.value},
        )
    return detail


def _known_question(detail: InterviewDetail, ordinal: int) -> None:
    asked = [q.ordinal for q in detail.questions]
    if ordinal not in asked:
        raise ApiError(
            404,
            "question_not_found",
            f"the interview has no question {ordinal}",
            details={"ordinals": asked},
        )


async def _report(services: Services, detail: InterviewDetail) -> Report:
    """The report as `GET /report` answers it (evaluation and review read now)."""
    interview_id = detail.interview.id
    evaluation = await services.store.get_evaluation(interview_id)
    review = await load_review(services.store, interview_id)
    return build_report(detail, evaluation, review)


async def _record(
    services: Services, who: Principal, detail: InterviewDetail, event: NewReviewEvent
) -> Report:
    stored = await services.store.add_review_event(event)
    services.store.audit(
        audit_kind(stored.kind),
        interview_id=stored.interview_id,
        detail={
            "reviewer": who.id,
            "review_event_id": str(stored.event_id),
            "ordinal": stored.ordinal,
            "rubric": stored.rubric,
            "value": stored.value,
            "decision": stored.decision,
        },
        key=str(stored.event_id),
    )
    log.info(
        "review change recorded",
        extra={
            "interview_id": str(stored.interview_id),
            "kind": stored.kind.value,
            "principal": who.id,
        },
    )
    return await _report(services, detail)


def _event(
    interview_id: UUID, who: Principal, kind: ReviewKind, **fields: object
) -> NewReviewEvent:
    return NewReviewEvent.model_validate(
        {"event_id": uuid4(), "interview_id": interview_id, "kind": kind, "reviewer": who.id}
        | fields
    )


@router.put(
    "/{interview_id}/review/scores/{ordinal}/{rubric}",
    response_model=Report,
    responses=_CHANGE_ERRORS,
)
async def override_score(
    interview_id: UUID,
    ordinal: Ordinal,
    rubric: Rubric,
    body: OverrideBody,
    services: ServicesDep,
    who: Interviewer,
) -> Report:
    """Override one of the evaluation's scores, with a reason; the report keeps the model's
    value beside it. Returns the updated report."""
    enforce(services.review_limiter, who.id, "review")
    detail = await _reviewable(services, interview_id)
    _known_question(detail, ordinal)
    before = await _report(services, detail)
    question = next((q for q in before.questions if q.ordinal == ordinal), None)
    if question is None or getattr(question.scores, rubric.value) is None:
        raise ApiError(
            409,
            "score_not_available",
            f"the evaluation has no {rubric.value} score for question {ordinal} to override",
            details={"evaluation": before.evaluation.state},
        )
    event = _event(
        interview_id,
        who,
        ReviewKind.score_override,
        ordinal=ordinal,
        rubric=rubric,
        value=body.value,
        text=body.reason,
    )
    return await _record(services, who, detail, event)


@router.delete(
    "/{interview_id}/review/scores/{ordinal}/{rubric}",
    response_model=Report,
    responses=_CHANGE_ERRORS,
)
async def remove_override(
    interview_id: UUID,
    ordinal: Ordinal,
    rubric: Rubric,
    services: ServicesDep,
    who: Interviewer,
) -> Report:
    """Remove the override of one score (the model's value is in effect again); the removal is
    kept in the history. Returns the updated report."""
    enforce(services.review_limiter, who.id, "review")
    detail = await _reviewable(services, interview_id)
    _known_question(detail, ordinal)
    event = _event(interview_id, who, ReviewKind.override_removed, ordinal=ordinal, rubric=rubric)
    return await _record(services, who, detail, event)


@router.post(
    "/{interview_id}/review/notes",
    response_model=Report,
    responses=_CHANGE_ERRORS,
)
async def add_note(
    interview_id: UUID, body: NoteBody, services: ServicesDep, who: Interviewer
) -> Report:
    """Add a reviewer's note. Returns the updated report."""
    enforce(services.review_limiter, who.id, "review")
    detail = await _reviewable(services, interview_id)
    event = _event(interview_id, who, ReviewKind.note, text=body.text)
    return await _record(services, who, detail, event)


@router.put(
    "/{interview_id}/review/decision",
    response_model=Report,
    responses=_CHANGE_ERRORS,
)
async def record_decision(
    interview_id: UUID, body: DecisionBody, services: ServicesDep, who: Interviewer
) -> Report:
    """Record the decision (advance, hold, reject); the latest is in effect. Returns the
    updated report."""
    enforce(services.review_limiter, who.id, "review")
    detail = await _reviewable(services, interview_id)
    event = _event(interview_id, who, ReviewKind.decision, decision=body.value)
    return await _record(services, who, detail, event)


@router.get(
    "/{interview_id}/report.md",
    response_class=Response,
    responses={
        200: {"content": {"text/markdown": {}}, "description": "The report as Markdown"},
        **error_responses(401, 404, 422, 503),
    },
)
async def report_markdown(interview_id: UUID, services: ServicesDep, who: Interviewer) -> Response:
    """The whole report (with the review and the transcript) as a Markdown download."""
    detail = await services.store.interview_detail(interview_id)
    if detail is None:
        raise ApiError(404, "interview_not_found", "no interview with this id")
    report = await _report(services, detail)
    entries = await services.store.transcript_page(interview_id, limit=_MAX_TRANSCRIPT)
    transcript = transcript_items(detail, entries, entries[0] if entries else None)
    filename = safe_filename(report.interview.candidate_name)
    return Response(
        render_markdown(report, transcript),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
