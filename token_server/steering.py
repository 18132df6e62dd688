"""Delivering a steer to the interview's interviewer (the agent) and to nobody else.

Observers join hidden and subscribe-only: they can neither publish data nor call RPC, so a
steer goes through the token server, which sends it with LiveKit's server API (`SendData`)
addressed to the agent participants' identities. LiveKit forwards such a packet only to the
destination identities, so the candidate and the other observers never receive it, and the
agent can tell a steer from anything a participant could send: a packet from the server API
has no sending participant.

An empty destination list means "everyone in the room" to LiveKit, so with no agent in the room
nothing is sent at all: the steer is marked `undelivered` and waits in the store for the agent
that joins next (it reads `list_steers` when it starts).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from livekit import api

from interview.steering import STEER_TOPIC, Steer, SteerPacket, SteerState, SteerUpdate
from token_server.agents import room_participants

if TYPE_CHECKING:
    from token_server.deps import Services

log = logging.getLogger("token_server.steering")

_AGENT = api.ParticipantInfo.Kind.AGENT


async def agent_identities(services: Services, room: str) -> list[str]:
    """The identities of the agent participants now in `room` (normally one)."""
    participants = await room_participants(services, room)
    return sorted(p.identity for p in participants if p.kind == _AGENT)


async def deliver(services: Services, steer: Steer, room: str) -> Steer:
    """Send a stored `pending` steer to the agents in `room` and record the outcome.

    Raises what the LiveKit client raises (`token_server.agents.LIVEKIT_ERRORS`) when LiveKit
    refuses or does not answer; the steer then stays `pending` in the store, where an agent
    that starts later still finds it. Returns the steer as stored afterwards (the agent may
    already have moved it further)."""
    agents = await agent_identities(services, room)
    extra = {
        "interview_id": str(steer.interview_id),
        "steer_id": str(steer.id),
        "kind": steer.kind.value,
        "agents": len(agents),
    }
    if agents:
        packet = SteerPacket.from_steer(steer, sent_at=datetime.now(UTC)).encode()
        await services.livekit.room.send_data(
            api.SendDataRequest(
                room=room,
                data=packet,
                kind=api.DataPacket.Kind.RELIABLE,
                topic=STEER_TOPIC,
                destination_identities=agents,
            )
        )
        state = SteerState.delivered
    else:
        state = SteerState.undelivered
    moved = await services.store.advance_steer(
        SteerUpdate(steer_id=steer.id, interview_id=steer.interview_id, state=state)
    )
    log.info(
        "steer sent" if agents else "steer waiting for an agent",
        extra={**extra, "state": state.value},
    )
    if moved:
        return steer.model_copy(update={"state": state, "updated_at": datetime.now(UTC)})
    # Someone moved it first (the agent received it already, or a concurrent retry).
    for stored in await services.store.list_steers(steer.interview_id):
        if stored.id == steer.id:
            return stored
    return steer.model_copy(update={"state": state})
