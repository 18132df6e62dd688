"""Who is in an interview's room, for the hiring team: "candidate waiting, no interviewer yet".

The list: one ListRooms for all the rooms asked about, then ListParticipants only for rooms that
have participants. One interview (its detail, the observers' feed): one ListParticipants, which
also gives the watchers, the observers in the room (hidden participants: ListRooms does not count
them, ListParticipants lists them). All under a short bound: the dashboard must not wait on
LiveKit, so presence (and watchers) are null when it does not answer in time (and for ended
interviews, whose rooms are gone).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from livekit import api

from interview.steering import Steer
from interview.store import Interview, InterviewDetail
from token_server import tokens
from token_server.agents import LIVEKIT_ERRORS, has_agent, room_participants
from token_server.schemas import InterviewItem, InterviewView, Presence, Watcher

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
        found[interview.id] = room_state_of(interview, by_id.get(interview.id, [])).presence
    return found


@dataclass(frozen=True)
class RoomState:
    presence: Presence
    watchers: list[Watcher]


_GONE = api.ParticipantInfo.State.DISCONNECTED


def _watcher(p: api.ParticipantInfo) -> Watcher:
    ms = p.joined_at_ms or p.joined_at * 1000
    joined = datetime.fromtimestamp(ms / 1000, UTC) if ms else None
    return Watcher(identity=p.identity, name=p.name, joined_at=joined)


def room_state_of(interview: Interview, participants: Sequence[api.ParticipantInfo]) -> RoomState:
    candidate = tokens.candidate_identity(interview.id)
    here = [p for p in participants if p.state != _GONE]
    watchers = sorted(
        (_watcher(p) for p in here if p.identity.startswith(tokens.OBSERVER_IDENTITY_PREFIX)),
        key=lambda w: (w.joined_at or datetime.min.replace(tzinfo=UTC), w.identity),
    )
    return RoomState(
        presence=Presence(
            candidate=any(p.identity == candidate for p in here), interviewer=has_agent(here)
        ),
        watchers=watchers,
    )


async def room_state(services: Services, interview: Interview) -> RoomState | None:
    """Presence and watchers of one interview from one ListParticipants (a room that does not
    exist lists nobody); None once it has ended or when LiveKit did not answer in time."""
    if interview.status.ended:
        return None
    try:
        async with asyncio.timeout(services.settings.presence_timeout_seconds):
            participants = await room_participants(services, interview.room_name)
    except LIVEKIT_ERRORS as exc:
        log.warning(
            "room state unknown: LiveKit did not answer", extra={"error": type(exc).__name__}
        )
        return None
    return room_state_of(interview, participants)


def interview_view(
    detail: InterviewDetail, state: RoomState | None, steers: Sequence[Steer]
) -> InterviewView:
    return InterviewView(
        **dict(detail),
        presence=state.presence if state else None,
        watchers=state.watchers if state else None,
        steers=list(steers),
    )


async def items_with_presence(
    services: Services, interviews: Sequence[Interview]
) -> list[InterviewItem]:
    presence = await presence_of(services, interviews)
    return [InterviewItem(**i.model_dump(), presence=presence[i.id]) for i in interviews]


async def view_with_presence(services: Services, detail: InterviewDetail) -> InterviewView:
    state, steers = await asyncio.gather(
        room_state(services, detail.interview),
        services.store.list_steers(detail.interview.id),
    )
    return interview_view(detail, state, steers)
