"""Candidate join: the invite secret buys a short-lived token for that interview's room, and
brings the interviewer (token_server.arrival); the waiting page follows its arrival."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, Request

from interview.store import Interview
from token_server import tokens
from token_server.arrival import Arrival, ensure_interviewer
from token_server.deps import Services, ServicesDep, client_ip, enforce
from token_server.errors import ApiError
from token_server.schemas import (
    ArrivalRequest,
    CandidateJoin,
    CandidateSession,
    InterviewerArrival,
    JoinRequest,
    error_responses,
)

log = logging.getLogger("token_server.join")

router = APIRouter(prefix="/api", tags=["candidate"])


@router.post(
    "/join",
    response_model=CandidateJoin,
    responses=error_responses(404, 410, 413, 422, 429, 503, s404="The invite is not valid"),
)
async def join(body: JoinRequest, request: Request, services: ServicesDep) -> CandidateJoin:
    """Exchange the invite secret (from the link's #fragment) for the candidate's room token;
    the interviewer is sent for (`interviewer` says how that goes)."""
    interview = await _invited(services, request, body.secret)
    arrival = await _arrive(services, interview, "candidate_join")
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
        interviewer=arrival,
    )


async def _invited(services: Services, request: Request, secret: str) -> Interview:
    enforce(services.join_limiter, client_ip(request), "join")
    interview = await services.store.get_interview_by_invite(tokens.invite_hash(secret))
    if interview is None:
        raise ApiError(404, "invite_not_found", "this invite link is not valid")
    if interview.status.ended:
        raise ApiError(
            410,
            "interview_ended",
            "this interview has ended; the invite no longer works",
            details={"status": interview.status.value},
        )
    return interview


async def _arrive(services: Services, interview: Interview, reason: str) -> InterviewerArrival:
    arrival = ensure_interviewer(services, interview, reason)
    if arrival is None:  # not reached for a joinable interview; say so rather than fail
        return InterviewerArrival(state="unavailable", attempts=0)
    # The first look at the room tells a present interviewer from one on its way.
    await arrival.first_look()
    return arrival.view()


def _needs_restart(arrival: Arrival, retry: bool) -> bool:
    if arrival.running:
        return False
    # Polling never restarts an unavailable interviewer by itself: the page offers a retry.
    return retry or arrival.state != "unavailable"


@router.post(
    "/join/interviewer",
    response_model=InterviewerArrival,
    responses=error_responses(404, 410, 413, 422, 429, 503, s404="The invite is not valid"),
)
async def interviewer_arrival(
    body: ArrivalRequest, request: Request, services: ServicesDep
) -> InterviewerArrival:
    """Where the interviewer is, for the waiting page to poll. `retry: true` starts ensuring it
    again once it is unavailable."""
    interview = await _invited(services, request, body.secret)
    arrival = services.arrivals.get(interview.id)
    # None: nothing ran here (another replica took the join, or this one restarted).
    if arrival is None or _needs_restart(arrival, body.retry):
        reason = "candidate_retry" if body.retry else "candidate_poll"
        return await _arrive(services, interview, reason)
    return arrival.view()
