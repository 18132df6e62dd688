"""Who is in an interview's room, for the hiring team: "candidate waiting, no interviewer yet".

One ListRooms for all the rooms asked about, then ListParticipants only for rooms that have
participants, all under a short bound: the dashboard must not wait on LiveKit, so presence is
null when it does not answer in time (and for ended interviews, whose rooms are gone).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from livekit import api

from interview.store import Interview, InterviewDetail
from token_server import tokens
from token_server.agents import LIVEKIT_ERRORS, has_agent, room_participants
from token_server.schemas import InterviewItem, InterviewView, Presence

if TYPE_CHECKING:
    from token_server.deps import Services

log = logging.getLogger("token_server.presence")


async def presence_of(
    services: Services, interviews: Sequence[Interview]
) -> dict[UUID, Presence | None]:
    found: dict[UUID, Presence | None] = {i.id: None for i in interviews}
    open_ = [i for i in interviews if not i.status.ended]
    if not open_:
        return found
    try:
        async with asyncio.timeout(services.settings.presence_timeout_seconds):
            listed = await services.livekit.room.list_rooms(
                api.ListRoomsRequest(names=[i.room_name for i in open_])
            )
            occupied = {r.name for r in listed.rooms if r.num_participants > 0}
            busy = [i for i in open_ if i.room_name in occupied]
            people = await asyncio.gather(*(room_participants(services, i.room_name) for i in busy))
    except LIVEKIT_ERRORS as exc:
        log.warning("presence unknown: LiveKit did not answer", extra={"error": type(exc).__name__})
        return found
    by_id = {i.id: p for i, p in zip(busy, people, strict=True)}
    for interview in open_:
        participants = by_id.get(interview.id, [])
        candidate = tokens.candidate_identity(interview.id)
        found[interview.id] = Presence(
            candidate=any(p.identity == candidate for p in participants),
            interviewer=has_agent(participants),
        )
    return found


async def items_with_presence(
    services: Services, interviews: Sequence[Interview]
) -> list[InterviewItem]:
    presence = await presence_of(services, interviews)
    return [InterviewItem(**i.model_dump(), presence=presence[i.id]) for i in interviews]


async def view_with_presence(services: Services, detail: InterviewDetail) -> InterviewView:
    presence = await presence_of(services, [detail.interview])
    return InterviewView(**dict(detail), presence=presence[detail.interview.id])
