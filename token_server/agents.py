"""LiveKit calls about an interview's room and its interviewer: the room, dispatches, who is in.

The policy that decides when to dispatch lives in `token_server.arrival`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aiohttp
from livekit import api

from interview.contract import dispatch_metadata
from interview.store import Interview

if TYPE_CHECKING:
    from token_server.deps import Services

_AGENT = api.ParticipantInfo.Kind.AGENT
# What the LiveKit API client raises when the server refuses or cannot be reached.
LIVEKIT_ERRORS = (api.ServerError, aiohttp.ClientError, asyncio.TimeoutError)


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
            metadata=dispatch_metadata(interview.id, interview.plan, plan_id=interview.plan_id),
        )
    )


async def room_participants(services: Services, room: str) -> list[api.ParticipantInfo]:
    found = await services.livekit.room.list_participants(api.ListParticipantsRequest(room=room))
    return list(found.participants)


def has_agent(participants: list[api.ParticipantInfo]) -> bool:
    return any(p.kind == _AGENT for p in participants)
