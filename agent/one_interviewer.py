"""Exactly one interviewer per room: which of two agents in a room stays.

Dispatches can overlap (a join, a webhook and a resume racing), so two agents may end up in one
room. Each checks after connecting (the job) and again right before it greets (the conductor);
the later one leaves without a word. "Later" must be a rule both agents reach on their own,
with no messages: the one that joined later (LiveKit's `joined_at`, in milliseconds) leaves,
and on a tie the one whose identity sorts higher. An agent whose join time is not known yet
sorts last.
"""

from __future__ import annotations

import datetime

from livekit import rtc

_UNKNOWN = datetime.datetime.max.replace(tzinfo=datetime.UTC)


def _order(p: rtc.Participant) -> tuple[datetime.datetime, str]:
    return (p.joined_at or _UNKNOWN, p.identity)


def is_later_interviewer(room: rtc.Room) -> bool:
    """Whether another agent in `room` comes before this one."""
    me = _order(room.local_participant)
    return any(
        p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT and _order(p) < me
        for p in room.remote_participants.values()
    )
