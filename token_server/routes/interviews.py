"""Interviews: create (store row, room, candidate invite; with the confirmed plan), read, read
the plan, list, observe.

Creation dispatches no agent: an invite used next week must not hold a job process and a model
session meanwhile. The candidate's arrival brings the interviewer (token_server.arrival).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Request
from livekit import api

from interview.contract import MetadataError, dispatch_metadata
from interview.planning import StoredPlan
from interview.store import DecisionFilter, InterviewStatus, NewInterview
from token_server import tokens
from token_server.agents import LIVEKIT_ERRORS, ensure_room
from token_server.deps import Interviewer, ServicesDep, client_ip, enforce
from token_server.errors import ApiError
from token_server.presence import items_with_presence, view_with_presence
from token_server.schemas import (
    CreatedInterview,
    CreateInterview,
    InterviewPage,
    InterviewPlanView,
    InterviewView,
    Invite,
    ObserverJoin,
    error_responses,
)

log = logging.getLogger("token_server.interviews")

router = APIRouter(prefix="/api/interviews", tags=["interviews"])

# Failures of the LiveKit server API: refused (4xx/5xx twirp), unreachable, or too slow.
_FLUSH_TIMEOUT = 3.0


def _invite_url(request: Request, base: str, secret: str) -> str:
    root = base.rstrip("/") if base else str(request.base_url).rstrip("/")
    return f"{root}/join#{secret}"


@router.post(
    "",
    status_code=201,
    response_model=CreatedInterview,
    responses=error_responses(
        401, 413, 422, 429, 502, 503, s502="LiveKit refused; the interview is marked failed"
    ),
)
async def create_interview(
    body: CreateInterview, request: Request, services: ServicesDep, who: Interviewer
) -> CreatedInterview:
    """Create an interview: its row, its room and the candidate invite. The interviewer is
    dispatched when the candidate joins.

    With `question_plan` (the plan the team confirmed), `question_count` becomes the plan's
    length, and the interview, its plan and its `documents` are stored together or not at all;
    the interviewer then asks the plan's questions in order."""
    enforce(services.create_limiter, who.id, "create")
    settings = services.settings
    interview_id = uuid4()
    room = tokens.room_name(interview_id)
    identity = tokens.candidate_identity(interview_id)
    plan = body.settings()
    stored_plan = (
        StoredPlan(
            **body.question_plan.model_dump(),
            id=uuid4(),
            interview_id=interview_id,
            drafted_by=body.drafted_by,
        )
        if body.question_plan is not None
        else None
    )
    plan_id = stored_plan.id if stored_plan is not None else None
    try:
        # Refuse a plan too large before writing.
        dispatch_metadata(interview_id, plan, plan_id=plan_id)
    except MetadataError as exc:
        raise ApiError(
            413, "metadata_too_large", f"the interview plan is too large to dispatch: {exc}"
        ) from None

    secret = tokens.new_invite_secret()
    interview = await services.store.create_interview(
        NewInterview(
            id=interview_id, plan=plan, room_name=room, invite_hash=tokens.invite_hash(secret)
        ),
        plan=stored_plan,
        documents=body.documents if stored_plan is not None else None,
    )
    extra = {"interview_id": str(interview_id), "room": room, "principal": who.id}
    try:
        await ensure_room(services, room)
    except LIVEKIT_ERRORS as exc:
        await _mark_failed(services, interview_id, room, reason=type(exc).__name__)
        log.error("interview setup failed", extra={**extra, "error": type(exc).__name__})
        raise ApiError(
            502,
            "livekit_unavailable",
            "LiveKit refused or did not answer while setting up the interview; "
            "it has been marked failed",
            details={"interview_id": str(interview_id), "status": InterviewStatus.failed.value},
        ) from None

    created: dict[str, object] = {"principal": who.id}
    if stored_plan is not None:
        # Counts and ids only: never the questions or the documents.
        created.update(
            plan_id=str(stored_plan.id),
            planned_questions=len(stored_plan.questions),
            drafted_by=stored_plan.drafted_by,
            documents=body.documents is not None,
        )
    services.store.audit(
        "interview_created",
        interview_id=interview_id,
        detail=created,
        key=f"interview_created:{interview_id}",
    )
    log.info("interview created", extra={**extra, "planned": stored_plan is not None})
    return CreatedInterview(
        interview=interview,
        invite=Invite(url=_invite_url(request, settings.public_base_url, secret), secret=secret),
        room=room,
        candidate_identity=identity,
    )


async def _mark_failed(services: ServicesDep, interview_id: UUID, room: str, reason: str) -> None:
    store = services.store
    store.record_status(interview_id, InterviewStatus.failed, at=datetime.now(UTC))
    store.audit(
        "interview_setup_failed",
        interview_id=interview_id,
        detail={"reason": reason},
        key=f"interview_setup_failed:{interview_id}",
    )
    # Confirm the status before answering, so the caller never reads a "waiting" interview
    # that cannot run; then take the room down if it was created (best effort).
    left = await store.flush(_FLUSH_TIMEOUT)
    if left:
        log.warning("failed status not yet delivered", extra={"interview_id": str(interview_id)})
    with contextlib.suppress(*LIVEKIT_ERRORS):
        await services.livekit.room.delete_room(api.DeleteRoomRequest(room=room))


@router.get("", response_model=InterviewPage, responses=error_responses(401, 422, 503))
async def list_interviews(
    services: ServicesDep,
    who: Interviewer,
    status: InterviewStatus | None = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=80,
            description="Case-insensitive substring of the candidate's name or the role",
        ),
    ] = None,
    decision: Annotated[
        DecisionFilter | None,
        Query(description="The reviewer's decision in effect; `none`: no decision yet"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> InterviewPage:
    """List interviews, newest first, optionally by status, decision or a search of name and
    role; each with its recommendation and decision; waiting and live ones say who is in their
    room."""
    # One extra row tells whether there is a next page.
    rows = await services.store.list_interviews(
        status=status,
        q=q.strip() or None if q else None,
        decision=decision,
        limit=limit + 1,
        offset=offset,
    )
    more = len(rows) > limit
    return InterviewPage(
        items=await items_with_presence(services, rows[:limit]),
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )


@router.get(
    "/{interview_id}",
    response_model=InterviewView,
    responses=error_responses(401, 404, 422, 503),
)
async def get_interview(
    interview_id: UUID, services: ServicesDep, who: Interviewer
) -> InterviewView:
    """One interview with its questions, answers, scores and feedback, and who is in its room."""
    detail = await services.store.interview_detail(interview_id)
    if detail is None:
        raise ApiError(404, "interview_not_found", "no interview with this id")
    return await view_with_presence(services, detail)


@router.get(
    "/{interview_id}/plan",
    response_model=InterviewPlanView,
    responses=error_responses(
        401, 404, 422, 503, s404="No such interview, or it was created without a plan"
    ),
)
async def get_interview_plan(
    interview_id: UUID, services: ServicesDep, who: Interviewer
) -> InterviewPlanView:
    """The interview's confirmed question plan, as the hiring team sees it (hidden ideal
    answers included; never the documents)."""
    interview = await services.store.get_interview(interview_id)
    if interview is None:
        raise ApiError(404, "interview_not_found", "no interview with this id")
    plan = await services.store.load_plan(interview.plan_id) if interview.plan_id else None
    if plan is None:
        raise ApiError(404, "plan_not_found", "this interview was created without a plan")
    return InterviewPlanView.model_validate(plan.model_dump())


@router.post(
    "/{interview_id}/observer-token",
    response_model=ObserverJoin,
    responses=error_responses(401, 404, 410, 422, 429, 503),
)
async def observer_token(
    interview_id: UUID, request: Request, services: ServicesDep, who: Interviewer
) -> ObserverJoin:
    """A hidden, subscribe-only token to watch one interview. Every call is audited."""
    enforce(services.join_limiter, who.id, "join")
    interview = await services.store.get_interview(interview_id)
    if interview is None:
        raise ApiError(404, "interview_not_found", "no interview with this id")
    if interview.status.ended:
        raise ApiError(
            410,
            "interview_ended",
            "the interview has ended; there is nothing to watch",
            details={"status": interview.status.value},
        )
    settings = services.settings
    identity = f"observer-{secrets.token_hex(6)}"
    ttl = settings.observer_token_ttl_seconds
    token = tokens.observer_token(
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret.get_secret_value(),
        room=interview.room_name,
        identity=identity,
        ttl=timedelta(seconds=ttl),
    )
    services.store.audit(
        "observer_join",
        interview_id=interview_id,
        detail={"principal": who.id, "identity": identity, "ip": client_ip(request)},
        key=f"observer_join:{identity}",
    )
    log.info(
        "observer token issued",
        extra={"interview_id": str(interview_id), "principal": who.id, "identity": identity},
    )
    return ObserverJoin(
        token=token,
        livekit_url=settings.livekit_url,
        room=interview.room_name,
        identity=identity,
        expires_in=ttl,
        interview_id=interview_id,
        candidate_identity=tokens.candidate_identity(interview_id),
    )
