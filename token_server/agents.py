"""Getting an interviewer into an interview's room.

LiveKit hands a dispatch to a worker registered at that moment and drops it otherwise; an agent
also leaves a room after waiting a while for a candidate who has not come. So the room and the
agent are ensured again whenever they are needed: at creation, when a candidate opens the invite
(perhaps a day later), and when a live interview's agent disappears (its worker died).
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
from livekit import api

from interview.contract import dispatch_metadata
from interview.store import Interview
from token_server.deps import Services

log = logging.getLogger("token_server.agents")

_AGENT = api.ParticipantInfo.Kind.AGENT
# What the LiveKit API client raises when the server refuses or cannot be reached.
LIVEKIT_ERRORS = (api.ServerError, aiohttp.ClientError, asyncio.TimeoutError)
# A dispatch no worker has taken yet, younger than this, is taken to be on its way.
PENDING_DISPATCH_S = 30.0
# A job that started this recently may still be joining; later, an absent agent has left.
JOINING_JOB_S = 15.0


async def ensure_room(services: Services, room: str) -> None:
    """Create the room, or leave the existing one as it is (LiveKit's create is idempotent)."""
    settings = services.settings
    await services.livekit.room.create_room(
        api.CreateRoomRequest(
            name=room,
            empty_timeout=settings.room_empty_timeout,
            max_participants=settings.room_max_participants,
        )
    )


async def dispatch_agent(services: Services, interview: Interview) -> api.AgentDispatch:
    return await services.livekit.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(
            agent_name=services.settings.agent_name,
            room=interview.room_name,
            metadata=dispatch_metadata(interview.id, interview.plan),
        )
    )


def _on_its_way(dispatch: api.AgentDispatch, now_ns: int) -> bool:
    """A dispatch not yet taken by a worker, or a job that started moments ago and is still
    joining. A job that ended, or started long ago without its agent in the room (its worker
    died), is not."""
    recent_ns = PENDING_DISPATCH_S * 1e9
    jobs = list(dispatch.state.jobs)
    if not jobs:
        return now_ns - dispatch.state.created_at < recent_ns
    live = (api.JobStatus.JS_PENDING, api.JobStatus.JS_RUNNING)
    return any(
        j.state.status in live
        and now_ns - (j.state.started_at or dispatch.state.created_at) < recent_ns
        for j in jobs
    )


async def room_participants(services: Services, room: str) -> list[api.ParticipantInfo]:
    found = await services.livekit.room.list_participants(api.ListParticipantsRequest(room=room))
    return list(found.participants)


def has_agent(participants: list[api.ParticipantInfo]) -> bool:
    return any(p.kind == _AGENT for p in participants)


async def ensure_agent(services: Services, interview: Interview) -> str:
    """Make sure an interviewer is in the room or on its way; returns "present", "pending" or
    "dispatched". Raises what the LiveKit client raises."""
    room = interview.room_name
    await ensure_room(services, room)
    extra = {"interview_id": str(interview.id)}
    if has_agent(await room_participants(services, room)):
        log.debug("interviewer present", extra=extra)
        return "present"
    dispatches = await services.livekit.agent_dispatch.list_dispatch(room)
    now_ns = time.time_ns()
    ours = [d for d in dispatches if d.agent_name == services.settings.agent_name]
    if any(_on_its_way(d, now_ns) for d in ours):
        jobs = [
            (api.JobStatus.Name(j.state.status), round((now_ns - j.state.started_at) / 1e9, 1))
            for d in ours
            for j in d.state.jobs
        ]
        log.info("interviewer on its way", extra={**extra, "jobs": jobs})
        return "pending"
    dispatch = await dispatch_agent(services, interview)
    services.store.audit(
        "agent_dispatched", interview_id=interview.id, detail={"dispatch_id": dispatch.id}
    )
    log.info("agent dispatched for a joining candidate", extra={"interview_id": str(interview.id)})
    return "dispatched"
