"""Steers: the hiring team watching an interview asks its interviewer to do something.

`POST /api/interviews/{id}/steers` stores the steer, audits it, and sends it to the agent alone
(token_server.steering); `GET` lists them. Authorised like the observer token: whoever may watch
an interview may steer it. Each request is a new steer; a client that may retry sends an
`Idempotency-Key`, and the same key from the same key holder for the same interview names the
same steer (its id is derived from them), so a retry neither stores nor audits a second one.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header

from interview.steering import Steer, SteerRequest, SteerState
from token_server.agents import LIVEKIT_ERRORS
from token_server.auth import Principal
from token_server.deps import Interviewer, ServicesDep, enforce
from token_server.errors import ApiError
from token_server.schemas import error_responses
from token_server.steering import deliver

log = logging.getLogger("token_server.steer")

router = APIRouter(prefix="/api/interviews", tags=["steering"])

# Steer ids derived from an Idempotency-Key live in a namespace of their own.
_IDEMPOTENCY_NS = uuid.UUID("6b1d3c2e-5f0a-4e7b-9a61-0d2f8c4b7e13")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="Optional; a retry with the same key returns the same steer",
    ),
]


def steer_id(who: Principal, interview_id: UUID, idempotency_key: str | None) -> UUID:
    if idempotency_key is None:
        return uuid.uuid4()
    return uuid.uuid5(_IDEMPOTENCY_NS, f"{who.id}\n{interview_id}\n{idempotency_key}")


@router.post(
    "/{interview_id}/steers",
    status_code=202,
    response_model=Steer,
    responses=error_responses(
        401,
        404,
        409,
        410,
        422,
        429,
        503,
        s409="The Idempotency-Key was used for a different steer",
        s503="The database or LiveKit did not answer; a stored steer stays pending",
    ),
)
async def send_steer(
    interview_id: UUID,
    body: SteerRequest,
    services: ServicesDep,
    who: Interviewer,
    idempotency_key: IdempotencyKey = None,
) -> Steer:
    """Ask the interviewer to do something (a private note, next, deeper, extend, pause,
    resume, end). Accepted (202) once stored and handed to LiveKit for the interviewer, or
    stored for the interviewer that joins next (`undelivered`); the agent's progress shows in
    the steer's state (GET, or the feed). Every steer is audited."""
    enforce(services.steer_limiter, who.id, "steer")
    interview = await services.store.get_interview(interview_id)
    if interview is None:
        raise ApiError(404, "interview_not_found", "no interview with this id")
    if interview.status.ended:
        raise ApiError(
            410,
            "interview_ended",
            "the interview has ended; there is nobody to steer",
            details={"status": interview.status.value},
        )
    wanted = Steer(
        id=steer_id(who, interview_id, idempotency_key),
        interview_id=interview_id,
        kind=body.kind,
        text=body.text,
        sent_by=who.id,
        sent_by_name=body.observer_name,
    )
    steer = await services.store.create_steer(wanted)
    if (steer.kind, steer.text) != (wanted.kind, wanted.text):
        raise ApiError(
            409,
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different steer",
            details={"steer_id": str(steer.id)},
        )
    extra = {
        "interview_id": str(interview_id),
        "steer_id": str(steer.id),
        "kind": steer.kind.value,
        "principal": who.id,
    }
    # Never the note's text: the audit log is read more widely than the interview.
    services.store.audit(
        "steer_sent",
        interview_id=interview_id,
        detail={"principal": who.id, "kind": steer.kind.value, "steer_id": str(steer.id)},
        key=f"steer_sent:{steer.id}",
    )
    if steer.state is not SteerState.pending:
        log.info("steer retried: already sent", extra={**extra, "state": steer.state.value})
        return steer
    try:
        return await deliver(services, steer, interview.room_name)
    except LIVEKIT_ERRORS as exc:
        log.warning(
            "steer stored, not sent: LiveKit did not answer",
            extra={**extra, "state": steer.state.value, "error": type(exc).__name__},
        )
        raise ApiError(
            503,
            "livekit_unavailable",
            "LiveKit did not answer; the steer is stored (pending) and an interviewer that "
            "joins will take it up; retry with the same Idempotency-Key to send it now",
            details={"steer_id": str(steer.id), "state": steer.state.value},
            headers={"Retry-After": "2"},
        ) from None


@router.get(
    "/{interview_id}/steers",
    response_model=list[Steer],
    responses=error_responses(401, 404, 422, 503),
)
async def list_steers(interview_id: UUID, services: ServicesDep, who: Interviewer) -> list[Steer]:
    """The interview's steers with their states, oldest first."""
    interview = await services.store.get_interview(interview_id)
    if interview is None:
        raise ApiError(404, "interview_not_found", "no interview with this id")
    return await services.store.list_steers(interview_id)
