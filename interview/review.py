"""Human review of an interview: score overrides, notes and a decision, as an append-only log.

Every change a reviewer makes is one `ReviewEvent` row (table `review_events`); nothing is
updated in place, so the log is its own history. What is in effect is derived from it
(`ReviewState.from_events`): the latest event per (question, rubric) decides that score's
override (a removal clears it), the latest decision stands, notes accumulate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Rubric(StrEnum):
    clarity = "clarity"
    relevance = "relevance"
    depth = "depth"
    accuracy = "accuracy"


class Decision(StrEnum):
    advance = "advance"
    hold = "hold"
    reject = "reject"


class ReviewKind(StrEnum):
    score_override = "score_override"
    override_removed = "override_removed"
    note = "note"
    decision = "decision"


MAX_REASON = 500
MAX_NOTE = 2000

Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON)
]
NoteText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE)
]


class NewReviewEvent(BaseModel):
    """One reviewer change, as the token server records it. Which fields are set depends on
    `kind` (the migration checks the same): an override has ordinal, rubric, value and text
    (its reason); a removal ordinal and rubric; a note its text; a decision its value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    interview_id: UUID
    kind: ReviewKind
    reviewer: str = Field(min_length=1, max_length=200)
    ordinal: int | None = Field(default=None, ge=1, le=1000)
    rubric: Rubric | None = None
    value: int | None = Field(default=None, ge=1, le=5)
    decision: Decision | None = None
    text: str | None = Field(default=None, max_length=MAX_NOTE)


class ReviewEvent(NewReviewEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    # The row's identity: insertion order, which is what "latest" means (not created_at, which
    # two concurrent requests may share or invert).
    seq: int
    created_at: datetime


@dataclass(frozen=True)
class Override:
    value: int
    reason: str
    reviewer: str
    at: datetime


@dataclass(frozen=True)
class ReviewState:
    """What the review log amounts to now."""

    overrides: dict[tuple[int, Rubric], Override] = field(default_factory=dict)
    decision: ReviewEvent | None = None
    notes: list[ReviewEvent] = field(default_factory=list)
    history: list[ReviewEvent] = field(default_factory=list)

    @classmethod
    def from_events(cls, events: list[ReviewEvent]) -> ReviewState:
        ordered = sorted(events, key=lambda e: e.seq)
        overrides: dict[tuple[int, Rubric], Override] = {}
        decision: ReviewEvent | None = None
        notes: list[ReviewEvent] = []
        for event in ordered:
            if event.kind is ReviewKind.note:
                notes.append(event)
            elif event.kind is ReviewKind.decision:
                decision = event
            elif event.ordinal is not None and event.rubric is not None:
                where = (event.ordinal, event.rubric)
                if event.kind is ReviewKind.score_override and event.value is not None:
                    overrides[where] = Override(
                        value=event.value,
                        reason=event.text or "",
                        reviewer=event.reviewer,
                        at=event.created_at,
                    )
                else:
                    overrides.pop(where, None)
        return cls(overrides=overrides, decision=decision, notes=notes, history=ordered)


def describe(event: ReviewEvent) -> str:
    """One line of history for the report: what changed, without the note's text (the notes
    list carries that)."""
    if event.kind is ReviewKind.score_override:
        return f"Q{event.ordinal} {event.rubric} set to {event.value}: {event.text}"
    if event.kind is ReviewKind.override_removed:
        return f"Q{event.ordinal} {event.rubric} override removed"
    if event.kind is ReviewKind.decision:
        return f"decision: {event.decision}"
    return "note added"


def audit_kind(kind: ReviewKind) -> str:
    """The `audit_events.kind` of each review change."""
    return f"review_{kind.value}"
