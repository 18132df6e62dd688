"""Steering: what the hiring team watching an interview asks its interviewer to do.

An observer's steer goes observer page -> token server (authenticated, audited) -> LiveKit's
server API as a data packet addressed to the agent's identity alone, on `STEER_TOPIC`. The
agent applies it at the next turn boundary and reports how it went by writing the steer's state
to the store; the observers' feed reads it from there. Nothing about a steer ever travels to the
candidate: no data packet, text stream or attribute.

A steer's state only moves forward (`STATE_RANK`): `pending` (stored, not yet sent) ->
`delivered` (LiveKit accepted the packet for an agent in the room) or `undelivered` (no
interviewer in the room; an agent that joins later picks it up from the store) -> `received`
(the agent has it, waiting for a turn boundary) -> `applied` or `declined` (with a reason in
`detail`, e.g. "already paused").
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

# The data packets' topic: the agent ignores steers on any other topic, and any packet on it
# that a participant (rather than the server API) sent.
STEER_TOPIC = "interview.steer"
PACKET_VERSION: Literal[1] = 1
MAX_NOTE_CHARS = 500
MAX_DETAIL_CHARS = 300
MAX_PACKET_BYTES = 2048
# Each "extend" adds this much; the agent declines one that would pass its maximum.
EXTEND_MINUTES = 5


class SteerKind(StrEnum):
    note = "note"  # private guidance for the model ("ask about the migration they mentioned")
    next = "next"  # close the current question as skipped by the interviewer, move on
    deeper = "deeper"  # one more, deeper follow-up on the current question
    extend = "extend"  # EXTEND_MINUTES more, up to the agent's maximum
    pause = "pause"  # tell the candidate there is a short pause, then wait (clock stopped)
    resume = "resume"
    end = "end"  # polite wrap-up now, then end


class SteerState(StrEnum):
    pending = "pending"
    delivered = "delivered"
    undelivered = "undelivered"
    received = "received"
    applied = "applied"
    declined = "declined"

    @property
    def final(self) -> bool:
        return self in {SteerState.applied, SteerState.declined}


STATE_RANK: dict[SteerState, int] = {
    SteerState.pending: 0,
    SteerState.delivered: 1,
    SteerState.undelivered: 1,
    SteerState.received: 2,
    SteerState.applied: 3,
    SteerState.declined: 3,
}

NoteText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE_CHARS)
]
ObserverName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class SteerRequest(BaseModel):
    """The body of `POST /api/interviews/{id}/steers`: `text` for a note and only for a note."""

    model_config = ConfigDict(extra="forbid")

    kind: SteerKind
    text: NoteText | None = None
    # The name the observer gave (shown to the other observers next to the steer).
    observer_name: ObserverName | None = None

    @model_validator(mode="after")
    def _text_only_for_notes(self) -> SteerRequest:
        if self.kind is SteerKind.note and self.text is None:
            raise ValueError("a note needs text")
        if self.kind is not SteerKind.note and self.text is not None:
            raise ValueError(f"a {self.kind.value} steer takes no text")
        return self


class Steer(BaseModel):
    """One steer as stored (table `steers`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: UUID
    interview_id: UUID
    kind: SteerKind
    text: str | None = None
    # The interviewer key's id (`key-...`), never the key; and the name the observer gave.
    sent_by: str
    sent_by_name: str | None = None
    state: SteerState = SteerState.pending
    # Why it was declined, or what applying it did ("ends at 14:35"); never the note's text.
    detail: str | None = Field(default=None, max_length=MAX_DETAIL_CHARS)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class SteerUpdate(BaseModel):
    """A state change written by the token server (delivery) or the agent (received, applied,
    declined). The store applies it only if it moves the state forward."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steer_id: UUID
    interview_id: UUID
    state: SteerState
    detail: str | None = Field(default=None, max_length=MAX_DETAIL_CHARS)


class SteerPacket(BaseModel):
    """The data packet's payload (JSON, UTF-8): what the agent needs to apply the steer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = PACKET_VERSION
    id: UUID
    interview_id: UUID
    kind: SteerKind
    text: NoteText | None = None
    sent_at: datetime

    def encode(self) -> bytes:
        raw = self.model_dump_json().encode()
        if len(raw) > MAX_PACKET_BYTES:
            raise SteerPacketError(f"steer packet is {len(raw)} bytes, over {MAX_PACKET_BYTES}")
        return raw

    @classmethod
    def from_steer(cls, steer: Steer, sent_at: datetime) -> SteerPacket:
        return cls(
            id=steer.id,
            interview_id=steer.interview_id,
            kind=steer.kind,
            text=steer.text,
            sent_at=sent_at,
        )


class SteerPacketError(ValueError):
    """A packet on the steer topic that is not a steer of this version (reason, never text)."""


def decode_packet(raw: bytes) -> SteerPacket:
    if len(raw) > MAX_PACKET_BYTES:
        raise SteerPacketError(f"steer packet is over {MAX_PACKET_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SteerPacketError("steer packet is not JSON") from None
    try:
        return SteerPacket.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(
            ".".join(str(p) for p in err["loc"]) or "(root)"
            for err in exc.errors(include_input=False)
        )
        raise SteerPacketError(f"steer packet is invalid ({fields})") from None
