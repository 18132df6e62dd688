"""Build the real store (Supabase) from the token server's settings."""

from __future__ import annotations

from interview.store import Store
from interview.supabase_store import create_store
from token_server.settings import Settings


def build_store(settings: Settings) -> Store:
    """The Supabase store; its outbox file lives in `settings.outbox_dir` (default
    `.local/outbox`), one file per service."""
    return create_store(settings)
