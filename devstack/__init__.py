"""The local stack: the real services the product runs on, started on free 127.0.0.1 ports.

Both the dev command (`python -m devstack`) and the test fixtures use this package, so what
developers run by hand and what the tests exercise are the same processes with the same
configuration. Nothing here is a mock: LiveKit server, Postgres, PostgREST behind a
Supabase-style `/rest/v1` gateway, and Redis.
"""

from devstack.errors import MissingToolError, ServiceError
from devstack.services import (
    Gateway,
    LiveKitServer,
    Postgres,
    PostgREST,
    Redis,
    SupabaseStack,
)

__all__ = [
    "Gateway",
    "LiveKitServer",
    "MissingToolError",
    "PostgREST",
    "Postgres",
    "Redis",
    "ServiceError",
    "SupabaseStack",
]
