"""Interviewer authentication behind a small Protocol.

Today interviewers present a bearer API key from the settings. The `Authenticator` protocol is
the seam for Supabase Auth JWTs later: an implementation that verifies the JWT and returns a
`Principal` with the user's id can be added and tried before (or instead of) the API keys.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Principal:
    """Who is calling. `id` is safe to log and to audit; it is never the credential itself."""

    id: str
    kind: str


class Authenticator(Protocol):
    async def authenticate(self, credential: str) -> Principal | None: ...


def key_id(key: str) -> str:
    """A stable, non-secret name for an API key (for audit rows and rate-limit buckets)."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:12]


class ApiKeyAuthenticator:
    """Bearer keys compared in constant time against every configured key (no early exit, so
    the time taken does not tell which key, or how much of one, matched)."""

    def __init__(self, keys: list[str]) -> None:
        self._keys = [(k.encode(), key_id(k)) for k in keys if k]

    async def authenticate(self, credential: str) -> Principal | None:
        given = credential.encode()
        matched: str | None = None
        for key, ident in self._keys:
            if hmac.compare_digest(given, key):
                matched = ident
        return Principal(id=matched, kind="api_key") if matched else None
