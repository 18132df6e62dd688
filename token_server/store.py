"""Build the real store (Supabase) from the token server's settings."""

from __future__ import annotations

from interview.store import Store
from token_server.settings import Settings


def build_store(settings: Settings) -> Store:
    from interview import supabase_store  # type: ignore[attr-defined]

    store: Store = supabase_store.create_store(settings)
    return store
