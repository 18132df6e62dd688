"""Candidate join: the invite secret buys a short-lived token for that interview's room."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, Request

from token_server import tokens
from token_server.agents import LIVEKIT_ERRORS, ensure_agent
from token_server.deps import ServicesDep, client_ip, enforce
from token_server.errors import ApiError
from token_server.schemas import CandidateJoin, CandidateSession, JoinRequest, error_responses

log = logging.getLogger("token_server.join")

router = APIRouter(prefix="/api", tags=["candidate"])


@router.post(
    "/join",
    response_model=CandidateJoin,
    responses=error_responses(404, 410, 413, 422, 429, 503, s404="The invite is not valid"),
)
async def join(body: JoinRequest, request: Request, services: ServicesDep) -> CandidateJoin:
    """Exchange the invite secret (from the link's #fragment) for the candidate's room token."""
    enforce(services.join_limiter, client_ip(request), "join")
    interview = await services.store.get_interview_by_invite(tokens.invite_hash(body.secret))
    if interview is None:
        raise ApiError(404, "invite_not_found", "this invite link is not valid")
    if interview.status.ended:
        raise ApiError(
            410,
            "interview_ended",
            "this interview has ended; the invite no longer works",
            details={"status": interview.status.value},
        )
    try:
        await ensure_agent(services, interview)
    except LIVEKIT_ERRORS as exc:
        # The token still works once LiveKit is back, and the page says it is waiting.
        log.warning(
            "could not ensure an interviewer for a joining candidate",
            extra={"interview_id": str(interview.id), "error": type(exc).__name__},
        )
    settings = services.settings
    identity = tokens.candidate_identity(interview.id)
    ttl = settings.candidate_token_ttl_seconds
    plan = interview.plan
    token = tokens.candidate_token(
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret.get_secret_value(),
        room=interview.room_name,
        identity=identity,
        name=plan.candidate_name,
        ttl=timedelta(seconds=ttl),
    )
    services.store.audit(
        "candidate_token",
        interview_id=interview.id,
        detail={"identity": identity, "ip": client_ip(request)},
    )
    log.info("candidate token issued", extra={"interview_id": str(interview.id)})
    return CandidateJoin(
        token=token,
        livekit_url=settings.livekit_url,
        room=interview.room_name,
        identity=identity,
        expires_in=ttl,
        interview=CandidateSession(
            interview_id=interview.id,
            candidate_name=plan.candidate_name,
            role=plan.role,
            mode=plan.mode,
            duration_minutes=plan.duration_minutes,
            question_count=plan.question_count,
            language=plan.language,
        ),
    )
