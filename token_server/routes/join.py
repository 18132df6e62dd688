"""Candidate join: the page reads the interview and the consent text (`/join/session`), records
the candidate's decision (`/join/consent`), and only after an agreement does the invite secret buy
a short-lived token for the room and bring the interviewer (token_server.arrival); the waiting
page follows its arrival. Without an agreement nothing dispatches: join and the arrival poll
answer 403 `consent_required`, and 410 `consent_declined` once the candidate declined.

A decision is final: the first one is the record (the audit says when, the row which text
version). Repeating it answers the stored record again; the other decision is 409
`consent_already_decided`: an agreement the interview ran on is not rewritten by a later
click, and a declined interview is cancelled (withdrawing later is a request to the team).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request

from interview.consent import Consent, ConsentDecision
from interview.store import Interview, InterviewStatus, StoreRejected
from token_server import tokens
from token_server.arrival import Arrival, ensure_interviewer
from token_server.consent import CONSENT_VERSION, consent_text
from token_server.deps import Services, ServicesDep, client_ip, enforce
from token_server.errors import ApiError
from token_server.schemas import (
    ArrivalRequest,
    CandidateJoin,
    CandidateSession,
    CandidateWelcome,
    ConsentRecord,
    ConsentRequest,
    ConsentTerms,
    InterviewerArrival,
    JoinRequest,
    error_responses,
)

log = logging.getLogger("token_server.join")

router = APIRouter(prefix="/api", tags=["candidate"])


DECLINED_SUMMARY = "The candidate declined the consent"

_CONSENT_ERRORS = {
    "s403": "The candidate has not agreed to the consent text (consent_required)",
    "s404": "The invite is not valid",
    "s410": "The interview has ended, or the candidate declined the consent (consent_declined)",
}


@router.post(
    "/join/session",
    response_model=CandidateWelcome,
    responses=error_responses(404, 410, 413, 422, 429, 503, **_CONSENT_ERRORS),
)
async def candidate_session(
    body: JoinRequest, request: Request, services: ServicesDep
) -> CandidateWelcome:
    """What the page shows before joining: the interview and the consent text to agree to.
    Sends for no interviewer."""
    interview, consent = await _invited(services, request, body.secret)
    return CandidateWelcome(
        interview=_session(interview),
        consent=_terms(services),
        agreed=consent is not None,
    )


@router.post(
    "/join/consent",
    response_model=ConsentRecord,
    responses=error_responses(
        404,
        409,
        410,
        413,
        422,
        429,
        503,
        s409="Another decision was already recorded (consent_already_decided), or the text "
        "changed since the page loaded (consent_version_mismatch: reload)",
        **{k: v for k, v in _CONSENT_ERRORS.items() if k != "s403"},
    ),
)
async def record_consent(
    body: ConsentRequest, request: Request, services: ServicesDep
) -> ConsentRecord:
    """Record the candidate's decision on the consent text (same invite secret as joining).
    Declining cancels the interview and tells the hiring team."""
    wanted = ConsentDecision.agreed if body.decision == "agree" else ConsentDecision.declined
    interview, stored = await _invited(services, request, body.secret)
    if stored is None:
        if body.text_version != CONSENT_VERSION:
            raise ApiError(
                409,
                "consent_version_mismatch",
                "the consent text has changed since the page loaded; reload to read it",
                details={"current_version": CONSENT_VERSION},
            )
        try:
            stored, created = await services.store.record_consent(
                Consent(
                    interview_id=interview.id,
                    decision=wanted,
                    text_version=CONSENT_VERSION,
                    decided_at=datetime.now(UTC),
                )
            )
        except StoreRejected as exc:  # the interview vanished between the read and the write
            raise ApiError(404, "invite_not_found", "this invite link is not valid") from exc
        if created:
            _consent_recorded(services, interview, stored)
    if stored.decision is not wanted:
        raise ApiError(
            409,
            "consent_already_decided",
            "a different decision was already recorded for this interview",
            details={"agreed": stored.decision is ConsentDecision.agreed},
        )
    return ConsentRecord(
        agreed=stored.decision is ConsentDecision.agreed,
        text_version=stored.text_version,
        decided_at=stored.decided_at,
    )


def _consent_recorded(services: Services, interview: Interview, consent: Consent) -> None:
    store = services.store
    extra = {"interview_id": str(interview.id), "text_version": consent.text_version}
    key = f"consent:{interview.id}"  # audited once per interview, whatever retries
    if consent.decision is ConsentDecision.agreed:
        store.audit(
            "consent_given",
            interview_id=interview.id,
            detail={
                "text_version": consent.text_version,
                "retention_days": services.settings.retention_days,
            },
            key=key,
        )
        log.info("consent given", extra=extra)
        return
    store.audit(
        "consent_declined",
        interview_id=interview.id,
        detail={"text_version": consent.text_version},
        key=key,
    )
    # The team sees it in the list: the interview is cancelled, its summary says why.
    store.record_status(
        interview.id, InterviewStatus.cancelled, at=consent.decided_at, summary=DECLINED_SUMMARY
    )
    log.info("consent declined; interview cancelled", extra=extra)


def _terms(services: Services) -> ConsentTerms:
    settings = services.settings
    return ConsentTerms(
        version=CONSENT_VERSION,
        text=consent_text(settings),
        retention_days=settings.retention_days,
        privacy_notice_url=settings.privacy_notice_url or None,
    )


def _session(interview: Interview) -> CandidateSession:
    plan = interview.plan
    return CandidateSession(
        interview_id=interview.id,
        candidate_name=plan.candidate_name,
        role=plan.role,
        mode=plan.mode,
        duration_minutes=plan.duration_minutes,
        question_count=plan.question_count,
        language=plan.language,
    )


def _require_agreed(interview: Interview, consent: Consent | None) -> None:
    if consent is None:
        raise ApiError(
            403,
            "consent_required",
            "the candidate has not agreed to the consent text; record the decision first",
            details={"interview_id": str(interview.id)},
        )


@router.post(
    "/join",
    response_model=CandidateJoin,
    responses=error_responses(403, 404, 410, 413, 422, 429, 503, **_CONSENT_ERRORS),
)
async def join(body: JoinRequest, request: Request, services: ServicesDep) -> CandidateJoin:
    """Exchange the invite secret (from the link's #fragment) for the candidate's room token,
    once the candidate agreed to the consent text; the interviewer is sent for (`interviewer`
    says how that goes)."""
    interview, consent = await _invited(services, request, body.secret)
    _require_agreed(interview, consent)
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
        interview=_session(interview),
        interviewer=arrival,
    )


async def _invited(
    services: Services, request: Request, secret: str
) -> tuple[Interview, Consent | None]:
    """The invited interview and its consent decision; a declined or ended one is refused."""
    enforce(services.join_limiter, client_ip(request), "join")
    interview = await services.store.get_interview_by_invite(tokens.invite_hash(secret))
    if interview is None:
        raise ApiError(404, "invite_not_found", "this invite link is not valid")
    consent = await services.store.get_consent(interview.id)
    # Before the ended check: a decline also cancels the interview, and the page says why.
    if consent is not None and consent.decision is ConsentDecision.declined:
        raise ApiError(
            410,
            "consent_declined",
            "the candidate declined the consent; this interview will not take place",
            details={"text_version": consent.text_version},
        )
    if interview.status.ended:
        raise ApiError(
            410,
            "interview_ended",
            "this interview has ended; the invite no longer works",
            details={"status": interview.status.value},
        )
    return interview, consent


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
    # A present one that leaves is replaced through its participant_left webhook. A task that
    # stopped on its way (the candidate had left) starts again for the polling page.
    return retry or arrival.state not in ("present", "unavailable")


@router.post(
    "/join/interviewer",
    response_model=InterviewerArrival,
    responses=error_responses(403, 404, 410, 413, 422, 429, 503, **_CONSENT_ERRORS),
)
async def interviewer_arrival(
    body: ArrivalRequest, request: Request, services: ServicesDep
) -> InterviewerArrival:
    """Where the interviewer is, for the waiting page to poll. `retry: true` starts ensuring it
    again once it is unavailable."""
    interview, consent = await _invited(services, request, body.secret)
    _require_agreed(interview, consent)
    arrival = services.arrivals.get(interview.id)
    # None: nothing ran here (another replica took the join, or this one restarted).
    if arrival is None or _needs_restart(arrival, body.retry):
        reason = "candidate_retry" if body.retry else "candidate_poll"
        return await _arrive(services, interview, reason)
    return arrival.view()
