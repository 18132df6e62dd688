"""A job waits, bounded, for an outbox lock a sweep holds, instead of taking it for a
duplicate job at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.outboxes import acquire, lease, outbox_path

pytestmark = pytest.mark.unit


async def test_a_lock_let_go_while_waiting_is_taken(tmp_path: Path) -> None:
    path = outbox_path(tmp_path, "interview")
    with lease(path) as sweeping:
        assert sweeping

        async def job() -> bool:
            async with acquire(path, wait=30) as mine:
                return mine

        waiting = asyncio.ensure_future(job())
        await asyncio.sleep(0)  # its first try finds the lock held
        assert not waiting.done()
    assert await waiting


async def test_a_lock_still_held_after_the_wait_is_not_taken(tmp_path: Path) -> None:
    path = outbox_path(tmp_path, "interview")
    with lease(path) as running:
        assert running
        async with acquire(path, wait=0.3) as mine:
            assert not mine
