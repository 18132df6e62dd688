"""Pure functions: room names, invite secrets and the two kinds of LiveKit join tokens.

Nothing here talks to a server, so the grants can be tested by decoding the tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from livekit import api

from interview.contract import candidate_identity, interview_id_from_room, room_name

__all__ = [
    "candidate_identity",
    "candidate_token",
    "interview_id_from_room",
    "invite_hash",
    "new_invite_secret",
    "new_observer_identity",
    "observer_token",
    "room_name",
]

INVITE_SECRET_BYTES = 32
# Track sources the candidate may publish: their voice, nothing else.
CANDIDATE_SOURCES = ["microphone"]
# Observers' identities start with this; the feed lists the room's participants that do.
OBSERVER_IDENTITY_PREFIX = "observer-"


def new_invite_secret() -> str:
    return secrets.token_urlsafe(INVITE_SECRET_BYTES)


def new_observer_identity() -> str:
    return f"{OBSERVER_IDENTITY_PREFIX}{secrets.token_hex(6)}"


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
    *,
    api_key: str,
    api_secret: str,
    room: str,
    identity: str,
    ttl: timedelta,
    name: str = "Observer",
) -> str:
    """Join one room hidden (no other participant sees it); subscribe only. `name` is what
    the other observers see in the feed's watchers (the server API lists hidden participants)."""
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
        .with_name(name)
        .with_kind("standard")
        .with_grants(grants)
        .with_ttl(ttl)
        .to_jwt()
    )
