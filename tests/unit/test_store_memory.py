"""The in-memory store of the unit tier keeps what the real store keeps (the integration tier
runs the same scenario on Supabase: tests/integration/test_store_memory_parity.py)."""

from __future__ import annotations

from uuid import UUID

import pytest

from interview.store import TranscriptMessage
from tests.fixtures.store import EXPECTED_BEHAVIOUR, store_behaviour
from tests.fixtures.token_server import MemoryStore

pytestmark = pytest.mark.unit


async def test_memory_store_behaves_like_the_real_one() -> None:
    store = MemoryStore()

    async def audit_kinds(interview_id: UUID) -> list[str]:
        return [a.kind for a in store.audits if a.interview_id == interview_id]

    async def transcript(interview_id: UUID) -> list[TranscriptMessage]:
        return await store.transcript(interview_id)

    assert await store_behaviour(store, transcript=transcript, audit_kinds=audit_kinds) == (
        EXPECTED_BEHAVIOUR
    )
