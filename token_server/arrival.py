"""Getting the interviewer into the room once the candidate comes, and keeping at it until it is.

LiveKit offers a dispatch to the workers registered at that moment, once: when none accepts (a
worker reports itself full, or none is registered yet) the dispatch stays listed, with no job,
and nothing more happens. So dispatching is driven by the candidate, not by creation: the join
call, the candidate's participant_joined webhook, and an agent leaving a live interview all call
`ensure_interviewer`, which starts or reuses ONE background task per interview in this process.
The task looks at the room about twice a second:

- an agent participant is in the room: done (`present`);
- a dispatch taken by a worker whose job started recently: the agent is joining, wait;
- a dispatch no worker took within the grace: dropped; delete it (only dispatches with no job:
  deleting one with a running job would remove that agent) and dispatch again, each time waiting
  longer (exponential backoff with jitter);
- nothing on its way: dispatch.

Nothing is dispatched for an interview whose candidate has not agreed to the consent text: the
join routes refuse first, and the task itself reads the stored decision before it dispatches
(a participant webhook also starts it). It stops when the agent is present, the candidate has
left the room, the interview has ended, there is no agreed consent, or the arrival bound is
reached (`unavailable`: the candidate's page offers a retry). Several
token-server replicas may each run such a task for one interview; a second agent that finds one
already in the room leaves before it speaks (the agent's side).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from livekit import api

from interview.consent import ConsentDecision
from interview.store import Interview, InterviewStatus, StoreUnavailable
from token_server import tokens
from token_server.agents import LIVEKIT_ERRORS, dispatch_agent, ensure_room, has_agent
from token_server.schemas import ArrivalState, InterviewerArrival

if TYPE_CHECKING:
    from token_server.deps import Services

log = logging.getLogger("token_server.arrival")

# How often a running task looks at the room (a participant webhook wakes it sooner).
POLL_S = 0.5
# A job that started this recently may still be joining; later, an absent agent has left.
JOINING_JOB_S = 15.0
# The wait for a dispatch to be taken grows to at most this many graces.
BACKOFF_CAP = 4
# The join call waits this long at most for the first look at the room.
FIRST_LOOK_S = 2.0
# Outcomes of finished tasks kept for polling pages (dicts keep insertion order: oldest go).
KEEP_FINISHED = 2000

_LIVE_JOB = (api.JobStatus.JS_PENDING, api.JobStatus.JS_RUNNING)


@dataclass(frozen=True)
class Decision:
    action: Literal["present", "wait", "dispatch"]
    # Dispatches no worker took, to delete before dispatching again.
    drop: tuple[str, ...] = ()


def decide(
    participants: list[api.ParticipantInfo],
    dispatches: list[api.AgentDispatch],
    *,
    agent_name: str,
    now_ns: int,
    grace_s: float,
) -> Decision:
    """What to do, given who is in the room and the room's dispatches."""
    if has_agent(participants):
        return Decision("present")
    ours = [d for d in dispatches if d.agent_name == agent_name]
    for d in ours:
        for job in d.state.jobs:
            started = job.state.started_at or d.state.created_at
            if job.state.status in _LIVE_JOB and now_ns - started < JOINING_JOB_S * 1e9:
                return Decision("wait")  # taken; the agent is on its way in
    untaken = [d for d in ours if not d.state.jobs]
    if any(now_ns - d.state.created_at < grace_s * 1e9 for d in untaken):
        return Decision("wait")
    return Decision("dispatch", drop=tuple(d.id for d in untaken))


def grace_for(attempt: int, grace_s: float) -> float:
    """How long dispatch number `attempt` may stay untaken before the next one is sent."""
    factor: int = min(2 ** max(attempt - 1, 0), BACKOFF_CAP)
    return grace_s * factor * random.uniform(0.8, 1.2)


@dataclass
class Arrival:
    """One interview's arrival task and what the candidate's page is told about it."""

    interview_id: UUID
    reason: str
    state: ArrivalState = "connecting"
    attempts: int = 0
    task: asyncio.Task[None] | None = None
    # Set once the task has looked at the room (or failed to): the join call answers then.
    looked: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def view(self) -> InterviewerArrival:
        return InterviewerArrival(state=self.state, attempts=self.attempts)

    async def first_look(self, timeout: float = FIRST_LOOK_S) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.looked.wait()), timeout)


class Arrivals:
    """The arrival tasks of this process, one per interview at most."""

    def __init__(self) -> None:
        self._by_id: dict[UUID, Arrival] = {}

    def get(self, interview_id: UUID) -> Arrival | None:
        return self._by_id.get(interview_id)

    def running(self) -> list[Arrival]:
        return [a for a in self._by_id.values() if a.running]

    def poke(self, interview_id: UUID) -> None:
        """Something changed in the room (a participant webhook): look again now."""
        found = self._by_id.get(interview_id)
        if found is not None:
            found.wake.set()

    def start(self, services: Services, interview: Interview, reason: str) -> Arrival:
        found = self._by_id.get(interview.id)
        if found is not None and found.running:
            return found
        self._forget_oldest()
        arrival = Arrival(interview.id, reason)
        arrival.task = asyncio.create_task(
            _run(services, arrival, interview), name=f"arrival-{interview.id}"
        )
        self._by_id[interview.id] = arrival
        return arrival

    def _forget_oldest(self) -> None:
        """Keep the outcome of finished tasks (the page polls it) for the latest interviews."""
        if len(self._by_id) < KEEP_FINISHED:
            return
        for key in [k for k, a in self._by_id.items() if not a.running][: KEEP_FINISHED // 10]:
            del self._by_id[key]

    async def aclose(self) -> None:
        tasks = [a.task for a in self._by_id.values() if a.task is not None and not a.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def ensure_interviewer(
    services: Services, interview: Interview, reason: str, *, event_id: str | None = None
) -> Arrival | None:
    """Start (or reuse) the task that gets an interviewer into the interview's room. An agent
    that left a live interview is replaced at most AGENT_REDISPATCH_LIMIT times (once per
    webhook event); past that, None."""
    if interview.status.ended:
        return None
    found = services.arrivals.get(interview.id)
    if found is not None and found.running:
        return found
    if reason == "agent_left" and interview.status is InterviewStatus.live:
        limit = services.settings.agent_redispatch_limit
        done = services.redispatches.setdefault(interview.id, set())
        key = event_id or f"agent_left:{len(done)}"
        if key not in done and len(done) >= limit:
            services.store.audit(
                "agent_redispatch_refused",
                interview_id=interview.id,
                detail={"limit": limit},
                key=key,
            )
            log.error(
                "agent left again; re-dispatch limit reached",
                extra={"interview_id": str(interview.id), "event_id": event_id},
            )
            return None
        done.add(key)
    return services.arrivals.start(services, interview, reason)


async def _look(
    services: Services, interview: Interview
) -> tuple[list[api.ParticipantInfo], list[api.AgentDispatch]]:
    room = interview.room_name
    lk = services.livekit
    listed, dispatches = await asyncio.gather(
        lk.room.list_participants(api.ListParticipantsRequest(room=room)),
        lk.agent_dispatch.list_dispatch(room),
    )
    return list(listed.participants), list(dispatches)


async def _current(services: Services, interview: Interview) -> Interview | None:
    """The interview as stored now; None once it has ended (or is gone)."""
    try:
        current = await services.store.get_interview(interview.id)
    except StoreUnavailable:
        return interview  # keep going; the next look may read it
    return current if current is not None and not current.status.ended else None


async def _consented(services: Services, interview: Interview) -> bool | None:
    """Whether the candidate agreed to the consent text; None when the store did not answer."""
    try:
        consent = await services.store.get_consent(interview.id)
    except StoreUnavailable:
        return None
    return consent is not None and consent.decision is ConsentDecision.agreed


async def _run(services: Services, arrival: Arrival, interview: Interview) -> None:
    settings = services.settings
    store = services.store
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + settings.agent_arrival_timeout_s
    candidate = tokens.candidate_identity(interview.id)
    extra: dict[str, object] = {"interview_id": str(interview.id), "reason": arrival.reason}
    grace = grace_for(1, settings.agent_dispatch_grace_s)
    seen_candidate = False
    # Only a candidate's arrival makes the room; an agent that left a live interview may have
    # left because the room was deleted at its end, which must not bring it back.
    candidate_driven = arrival.reason != "agent_left"
    room_made = not candidate_driven
    consented: bool | None = None
    log.info("ensuring an interviewer", extra=extra)
    try:
        while True:
            current = await _current(services, interview)
            if current is None:
                log.info("interview ended; no interviewer needed", extra=extra)
                return
            if not consented:
                consented = await _consented(services, interview)
                if consented is False:
                    arrival.state = "unavailable"
                    store.audit(
                        "agent_not_dispatched",
                        interview_id=interview.id,
                        detail={"reason": "no_consent", "trigger": arrival.reason},
                        key=f"no_consent:{interview.id}:{arrival.reason}",
                    )
                    log.warning("no agreed consent; no interviewer dispatched", extra=extra)
                    return
            try:
                if not room_made:
                    # The room closes when it stays empty: the candidate may come days later.
                    await ensure_room(services, interview.room_name)
                    room_made = True
                participants, dispatches = await _look(services, interview)
            except LIVEKIT_ERRORS as exc:
                if isinstance(exc, api.ServerError) and exc.code == "not_found" and room_made:
                    # An agent left because its room was deleted (the interview is ending):
                    # nobody is waiting for a new one.
                    log.info("room gone; no interviewer needed", extra=extra)
                    return
                room_made = not candidate_driven
                log.warning(
                    "could not look at the room", extra={**extra, "error": type(exc).__name__}
                )
            else:
                here = any(p.identity == candidate for p in participants)
                if here:
                    seen_candidate = True
                decision = decide(
                    participants,
                    dispatches,
                    agent_name=settings.agent_name,
                    now_ns=time.time_ns(),
                    grace_s=grace,
                )
                if decision.action == "present":
                    arrival.state = "present"
                    arrival.looked.set()
                    if arrival.attempts:  # an agent already there was audited when it came
                        store.audit(
                            "agent_arrived",
                            interview_id=interview.id,
                            detail={
                                "attempts": arrival.attempts,
                                "seconds": round(loop.time() - started, 1),
                                "reason": arrival.reason,
                            },
                        )
                    log.info("interviewer present", extra={**extra, "attempts": arrival.attempts})
                    return
                # A live interview's candidate may be rejoining: its new agent must be there.
                if seen_candidate and not here and current.status is not InterviewStatus.live:
                    arrival.looked.set()
                    log.info("candidate left before the interviewer arrived", extra=extra)
                    return
                # consented is None: the store did not answer; look again before dispatching.
                if decision.action == "dispatch" and consented and loop.time() < deadline:
                    await _dispatch(services, arrival, interview, decision.drop, extra)
                    grace = grace_for(arrival.attempts, settings.agent_dispatch_grace_s)
            arrival.looked.set()
            if loop.time() >= deadline:
                arrival.state = "unavailable"
                store.audit(
                    "agent_not_arrived",
                    interview_id=interview.id,
                    detail={
                        "attempts": arrival.attempts,
                        "seconds": settings.agent_arrival_timeout_s,
                        "reason": arrival.reason,
                    },
                )
                log.error(
                    "no interviewer arrived within the bound",
                    extra={**extra, "attempts": arrival.attempts},
                )
                return
            arrival.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    arrival.wake.wait(), min(POLL_S, max(deadline - loop.time(), 0.01))
                )
    except asyncio.CancelledError:
        raise
    except Exception:
        arrival.state = "unavailable"
        log.exception("the arrival task failed", extra=extra)
    finally:
        arrival.looked.set()


async def _dispatch(
    services: Services,
    arrival: Arrival,
    interview: Interview,
    drop: tuple[str, ...],
    extra: dict[str, object],
) -> None:
    lk = services.livekit
    try:
        for dispatch_id in drop:
            # Only dispatches no worker took: deleting one with a job removes its agent.
            await lk.agent_dispatch.delete_dispatch(dispatch_id, interview.room_name)
        dispatch = await dispatch_agent(services, interview)
    except LIVEKIT_ERRORS as exc:
        log.warning("dispatch failed", extra={**extra, "error": type(exc).__name__})
        return
    arrival.attempts += 1
    if arrival.attempts > 1:
        arrival.state = "retrying"
    # Today's kinds: a first interviewer is dispatched, one that left is re-dispatched.
    kind = "agent_redispatched" if arrival.reason == "agent_left" else "agent_dispatched"
    services.store.audit(
        kind,
        interview_id=interview.id,
        detail={
            "dispatch_id": dispatch.id,
            "attempt": arrival.attempts,
            "reason": arrival.reason,
            "replaced": list(drop),
        },
        key=dispatch.id,
    )
    log.info("agent dispatched", extra={**extra, "attempt": arrival.attempts})
