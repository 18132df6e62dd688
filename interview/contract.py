"""The dispatch-metadata contract between the token server and the agent worker.

The token server encodes an `InterviewMetadata` into the agent dispatch; the worker decodes it
from `ctx.job.metadata`. The JSON carries `schema_version` so a worker can refuse a payload it
does not understand with a clear message instead of guessing. Bounds here are the product's
bounds: the token server's request body reuses them.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

# 2: `plan_id` (the interview's stored question plan, or null for questions drawn from the
# bank). A worker reads every version up to its own (`KNOWN_VERSIONS`); one it does not know it
# declines, so a newer worker takes the job during a rolling deploy.
SCHEMA_VERSION: Literal[2] = 2
KNOWN_VERSIONS = frozenset({1, 2})
# LiveKit caps room/dispatch metadata; ours stays far below it.
MAX_METADATA_BYTES = 4096


class Level(StrEnum):
    junior = "junior"
    mid = "mid"
    senior = "senior"
    lead = "lead"


class InterviewType(StrEnum):
    technical = "technical"
    behavioral = "behavioral"
    mixed = "mixed"


class Mode(StrEnum):
    practice = "practice"  # the candidate hears feedback at the end
    screening = "screening"  # scores are for interviewers only


ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
FocusArea = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Language = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=35, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
    ),
]
Identity = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class InterviewPlan(BaseModel):
    """What an interviewer chooses when creating an interview (shared with the create API)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    candidate_name: ShortText
    role: ShortText
    level: Level
    type: InterviewType
    mode: Mode
    duration_minutes: int = Field(default=20, ge=5, le=90)
    question_count: int = Field(default=5, ge=1, le=20)
    focus_areas: list[FocusArea] = Field(default_factory=list, max_length=8)
    language: Language = "en"


class InterviewMetadata(InterviewPlan):
    """The dispatch payload: the plan plus what the worker needs to find its room and store."""

    schema_version: Literal[1, 2] = SCHEMA_VERSION
    interview_id: UUID
    # The only participant the agent listens to; observers and anyone else are never linked.
    candidate_identity: Identity
    # The confirmed plan (`question_plans.id`) the agent reads from the store: never its text.
    plan_id: UUID | None = None

    def encode(self) -> str:
        raw = self.model_dump_json()
        if len(raw.encode()) > MAX_METADATA_BYTES:
            raise MetadataError(f"metadata is {len(raw.encode())} bytes, over {MAX_METADATA_BYTES}")
        return raw


ROOM_PREFIX = "iv-"


def room_name(interview_id: UUID) -> str:
    return f"{ROOM_PREFIX}{interview_id}"


def interview_id_from_room(name: str) -> UUID | None:
    if not name.startswith(ROOM_PREFIX):
        return None
    try:
        return UUID(name.removeprefix(ROOM_PREFIX))
    except ValueError:
        return None


def candidate_identity(interview_id: UUID) -> str:
    """Derived, not stored: the same interview always gives the same identity, which is the one
    the dispatch metadata pins the agent to."""
    return f"candidate-{interview_id}"


def dispatch_metadata(
    interview_id: UUID, plan: InterviewPlan, *, plan_id: UUID | None = None
) -> str:
    """The encoded dispatch for an interview's plan (raises MetadataError when too large)."""
    return InterviewMetadata(
        **plan.model_dump(),
        interview_id=interview_id,
        candidate_identity=candidate_identity(interview_id),
        plan_id=plan_id,
    ).encode()


class MetadataError(ValueError):
    """The dispatch metadata is missing, malformed, of another version or out of bounds."""


class NewerSchemaVersion(MetadataError):
    """The metadata is of a schema version this code does not know yet: not invalid, only for
    a newer worker (during a rolling deploy, one that knows it takes the job)."""

    def __init__(self, version: int) -> None:
        super().__init__(
            f"metadata schema_version {version} is not supported yet (this worker knows "
            f"{SCHEMA_VERSION}; a newer one takes it)"
        )
        self.version = version


def decode_metadata(raw: str | None) -> InterviewMetadata:
    """Parse the job's metadata string; every failure is a `MetadataError` saying what is wrong
    (field names and reasons, never the values, which may be personal data)."""
    if not raw:
        raise MetadataError("the job has no metadata")
    if len(raw.encode()) > MAX_METADATA_BYTES:
        raise MetadataError(f"metadata is over {MAX_METADATA_BYTES} bytes")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MetadataError(f"metadata is not JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(data, dict):
        raise MetadataError("metadata is not a JSON object")
    version = data.get("schema_version")
    # bool is an int in Python; `true` is not a version.
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise NewerSchemaVersion(version)
    if version not in KNOWN_VERSIONS or not isinstance(version, int) or isinstance(version, bool):
        raise MetadataError(
            f"metadata schema_version {version!r} is not supported (expected one of "
            f"{', '.join(str(v) for v in sorted(KNOWN_VERSIONS))})"
        )
    if version == 1 and "plan_id" in data:
        raise MetadataError("metadata is invalid: plan_id: not a field of schema_version 1")
    try:
        return InterviewMetadata.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors(include_input=False)
        )
        raise MetadataError(f"metadata is invalid: {problems}") from None
