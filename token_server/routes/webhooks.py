"""LiveKit webhooks: signature and body hash verified, stale events refused, effects idempotent.

LiveKit signs each webhook with a JWT (our API key and secret) whose `sha256` claim is the hash
of the body. A replay of a captured webhook is refused once its `created_at` is older than the
configured age; within that window a replay is harmless because every audit row is keyed by the
event id and the status changes are idempotent.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter, Request
from livekit import api

from interview.store import InterviewStatus
from token_server import tokens
from token_server.agents import LIVEKIT_ERRORS, room_participants
from token_server.arrival import ensure_interviewer
from token_server.deps import ServicesDep
from token_server.errors import ApiError
from token_server.schemas import WebhookAck, error_responses

log = logging.getLogger("token_server.webhooks")

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

# Clocks of LiveKit and of this server may disagree a little.
_FUTURE_SKEW_SECONDS = 60
_AGENT = api.ParticipantInfo.Kind.AGENT


def verify(receiver: api.WebhookReceiver, body: bytes, authorization: str) -> api.WebhookEvent:
    token = authorization.removeprefix("Bearer ").strip()
    if not token:
        raise ApiError(401, "webhook_unsigned", "the webhook has no Authorization token")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "webhook_malformed", "the webhook body is not UTF-8") from None
    try:
        return receiver.receive(text, token)
    except Exception as exc:
        # Bad signature, wrong key, expired token, missing or mismatched body hash, bad JSON:
        # the library raises plain exceptions; none of them may be acted on.
        log.warning("webhook refused", extra={"error": type(exc).__name__})
        raise ApiError(
            401, "webhook_invalid", "the webhook signature or body hash is not valid"
        ) from None


@router.post(
    "/livekit",
    response_model=WebhookAck,
    # The body is read raw (its hash is signed); this documents it for clients and fuzzers.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/webhook+json": {"schema": {"type": "object"}},
                "application/json": {"schema": {"type": "object"}},
            },
        },
        "parameters": [
            {
                "name": "Authorization",
                "in": "header",
                "required": True,
                "description": "The JWT LiveKit signs the webhook with (sha256 claim = body hash)",
                "schema": {"type": "string"},
            }
        ],
    },
    responses=error_responses(
        400,
        401,
        413,
        503,
        s400="Malformed, stale or future-dated event",
        s401="Signature or body hash invalid",
        s503="The database did not answer; LiveKit retries",
    ),
)
async def livekit_webhook(request: Request, services: ServicesDep) -> WebhookAck:
    """Receive a LiveKit server webhook (signed with the server's API key)."""
    settings = services.settings
    receiver = api.WebhookReceiver(
        api.TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret.get_secret_value())
    )
    event = verify(receiver, await request.body(), request.headers.get("authorization", ""))
    now = time.time()
    if not event.id or not event.created_at:
        raise ApiError(400, "webhook_malformed", "the event has no id or created_at")
    age = now - event.created_at
    if age > settings.webhook_max_age_seconds:
        log.warning("stale webhook refused", extra={"event_id": event.id, "age_s": round(age)})
        raise ApiError(
            400,
            "webhook_stale",
            f"the event is older than {settings.webhook_max_age_seconds}s; refused as a replay",
        )
    if age < -_FUTURE_SKEW_SECONDS:
        raise ApiError(400, "webhook_future", "the event is dated in the future")

    await handle_event(services, event)
    return WebhookAck(status="ok", event=event.event)


async def handle_event(services: ServicesDep, event: api.WebhookEvent) -> None:
    interview_id = tokens.interview_id_from_room(event.room.name)
    extra = {"event": event.event, "event_id": event.id, "room": event.room.name}
    if interview_id is None:
        log.debug("webhook for a room that is not an interview", extra=extra)
        return
    store = services.store
    extra["interview_id"] = str(interview_id)

    if event.event == "room_finished":
        interview = await store.get_interview(interview_id)
        if interview is None:
            log.warning("room finished for an unknown interview", extra=extra)
            return
        store.audit(
            "room_finished",
            interview_id=interview_id,
            detail={"status_before": interview.status.value},
            key=event.id,
        )
        if interview.status is InterviewStatus.live:
            store.record_status(interview_id, InterviewStatus.abandoned, at=datetime.now(UTC))
            log.info("interview abandoned: room finished before completion", extra=extra)
        # A waiting interview keeps waiting: its room closes when nobody comes, and opens
        # again (with a new agent) when the candidate uses the invite.
        return

    if event.event in ("participant_joined", "participant_left"):
        participant = event.participant
        is_agent = participant.kind == _AGENT
        # Identity and kind only: the display name may be the candidate's name.
        store.audit(
            event.event,
            interview_id=interview_id,
            detail={
                "identity": participant.identity,
                "kind": api.ParticipantInfo.Kind.Name(participant.kind).lower(),
                "hidden": participant.permission.hidden,
            },
            key=event.id,
        )
        log.info("participant event", extra={**extra, "agent": is_agent})
        await _participant_changed(services, event, interview_id, is_agent=is_agent)


async def _participant_changed(
    services: ServicesDep, event: api.WebhookEvent, interview_id: UUID, *, is_agent: bool
) -> None:
    """The candidate arriving brings the interviewer; an agent leaving while it is needed (a
    live interview: its worker died; or a candidate waiting in the room) is replaced. Both go
    through `ensure_interviewer`, the one path that dispatches."""
    joined = event.event == "participant_joined"
    participant = event.participant
    candidate = tokens.candidate_identity(interview_id)
    extra = {"interview_id": str(interview_id), "event_id": event.id}
    if joined and (is_agent or participant.identity != candidate):
        services.arrivals.poke(interview_id)  # an arrival task sees the agent sooner
        return
    if not joined and not is_agent:
        services.arrivals.poke(interview_id)  # the candidate left: its task stops
        return
    interview = await services.store.get_interview(interview_id)
    if interview is None or interview.status.ended:
        return
    if joined:
        ensure_interviewer(services, interview, "candidate_joined", event_id=event.id)
        return
    if interview.status is InterviewStatus.live:
        services.store.audit(
            "agent_left_live",
            interview_id=interview_id,
            detail={"identity": participant.identity},
            key=event.id,  # deduplicated per (kind, key)
        )
        log.warning("agent left a live interview", extra=extra)
    else:
        # A waiting interview needs a new agent only if its candidate is there (the agent gave
        # up waiting just as the candidate came); otherwise the invite brings one when used.
        try:
            participants = await room_participants(services, interview.room_name)
        except LIVEKIT_ERRORS as exc:
            log.warning("could not list the room", extra={**extra, "error": type(exc).__name__})
            return
        if not any(p.identity == candidate for p in participants):
            return
    ensure_interviewer(services, interview, "agent_left", event_id=event.id)
