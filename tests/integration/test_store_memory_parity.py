"""The real store runs the scenario the unit tier runs on `MemoryStore`
(tests/unit/test_store_memory.py), so the two agree on what a store keeps."""

from __future__ import annotations

from uuid import UUID

import pytest

from devstack import SupabaseStack
from interview.supabase_store import SupabaseStore
from tests.fixtures.store import EXPECTED_BEHAVIOUR, store_behaviour

pytestmark = pytest.mark.integration


async def test_the_real_store_keeps_what_the_memory_store_keeps(
    store: SupabaseStore, supabase_stack: SupabaseStack
) -> None:
    async def audit_kinds(interview_id: UUID) -> list[str]:
        return supabase_stack.postgres.psql(
            f"select kind from audit_events where interview_id = '{interview_id}'"
        ).split()

    assert (
        await store_behaviour(store, transcript=store.transcript, audit_kinds=audit_kinds)
        == EXPECTED_BEHAVIOUR
    )
