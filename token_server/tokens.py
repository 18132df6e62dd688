"""Pure functions: room names, invite secrets and the two kinds of LiveKit join tokens.

Nothing here talks to a server, so the grants can be tested by decoding the tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from uuid import UUID

from livekit import api

ROOM_PREFIX = "iv-"
INVITE_SECRET_BYTES = 32
# Track sources the candidate may publish: their voice, nothing else.
CANDIDATE_SOURCES = ["microphone"]


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


def new_invite_secret() -> str:
    return secrets.token_urlsafe(INVITE_SECRET_BYTES)


def invite_hash(secret: str) -> str:
    """What the store keeps instead of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def candidate_token(
    *,
    api_key: str,
    api_secret: str,
    room: str,
    identity: str,
    name: str,
    ttl: timedelta,
) -> str:
    """Join one room; publish the microphone and data only; subscribe."""
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        can_publish=True,
        can_publish_sources=list(CANDIDATE_SOURCES),
        can_publish_data=True,
        can_subscribe=True,
        can_update_own_metadata=False,
    )
    return (
        api.AccessToken(api_key, api_secret)
        .with_identity(identity)
        .with_name(name)
        .with_kind("standard")
        .with_grants(grants)
        .with_ttl(ttl)
        .to_jwt()
    )


def observer_token(
    *, api_key: str, api_secret: str, room: str, identity: str, ttl: timedelta
) -> str:
    """Join one room hidden (no other participant sees it); subscribe only."""
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        can_publish=False,
        can_publish_data=False,
        can_subscribe=True,
        can_update_own_metadata=False,
        hidden=True,
    )
    return (
        api.AccessToken(api_key, api_secret)
        .with_identity(identity)
        .with_name("observer")
        .with_kind("standard")
        .with_grants(grants)
        .with_ttl(ttl)
        .to_jwt()
    )
