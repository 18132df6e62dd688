"""What the candidate may read after the interview, authorised by the invite secret alone.

Only practice interviews share feedback with the candidate, and only once the interview has
ended (feedback is still being written while it runs). The answer carries feedback bullets and
nothing else: scores, tags, transcripts of answers and the interviewer's summary stay with the
hiring team.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from interview.contract import Mode
from token_server import tokens
from token_server.deps import ServicesDep, client_ip, enforce
from token_server.errors import ApiError
from token_server.schemas import (
    CandidateFeedback,
    JoinRequest,
    QuestionFeedback,
    error_responses,
)

log = logging.getLogger("token_server.candidate")

router = APIRouter(prefix="/api/join", tags=["candidate"])


@router.post(
    "/feedback",
    response_model=CandidateFeedback,
    responses=error_responses(
        403,
        404,
        409,
        413,
        422,
        429,
        503,
        s403="A screening interview: feedback is for the hiring team only",
        s404="The invite is not valid",
        s409="The interview has not ended yet",
    ),
)
async def candidate_feedback(
    body: JoinRequest, request: Request, services: ServicesDep
) -> CandidateFeedback:
    """The candidate's feedback after a practice interview (bullets only, never scores)."""
    enforce(services.join_limiter, client_ip(request), "join")
    store = services.store
    interview = await store.get_interview_by_invite(tokens.invite_hash(body.secret))
    if interview is None:
        raise ApiError(404, "invite_not_found", "this invite link is not valid")
    if interview.plan.mode is not Mode.practice:
        raise ApiError(
            403, "feedback_not_shared", "feedback from a screening interview is not shared"
        )
    if not interview.status.ended:
        raise ApiError(
            409,
            "interview_not_ended",
            "feedback is available once the interview has ended",
            details={"status": interview.status.value},
        )
    detail = await store.interview_detail(interview.id)
    feedback = detail.feedback if detail is not None else []
    final: list[str] = []
    per_question: dict[int, list[str]] = {}
    for item in feedback:
        if item.ordinal is None:
            final.extend(item.bullets)
        else:
            per_question[item.ordinal] = list(item.bullets)
    log.info("candidate feedback read", extra={"interview_id": str(interview.id)})
    return CandidateFeedback(
        status=interview.status.value,
        final=final,
        by_question=[
            QuestionFeedback(ordinal=n, bullets=b) for n, b in sorted(per_question.items())
        ],
    )
