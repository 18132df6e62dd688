"""Status precedence on the real store: a webhook's `abandoned` and an agent's `completed`
race when the agent deletes the room; the agent's word (with its summary) must win whatever
the order, and nothing reopens an ended interview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from interview.store import InterviewStatus
from tests.fixtures.store import StoreFactory, new_interview

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
S = InterviewStatus


async def _final(
    store_factory: StoreFactory, writes: list[tuple[str, InterviewStatus, str | None]]
) -> tuple[InterviewStatus, str | None, datetime | None]:
    """Apply status writes in order, each from the store of its writer (`agent` or `webhook`,
    two processes in production), flushing after each so the order is the order they land."""
    agent = await store_factory()
    webhook = await store_factory()
    stores = {"agent": agent, "webhook": webhook}
    interview = await agent.create_interview(new_interview())
    agent.record_status(interview.id, S.live, at=T0)
    assert await agent.flush(10) == 0
    for minute, (writer, status, summary) in enumerate(writes, start=1):
        stores[writer].record_status(
            interview.id, status, at=T0 + timedelta(minutes=minute), summary=summary
        )
        assert await stores[writer].flush(10) == 0
    read = await agent.get_interview(interview.id)
    assert read is not None
    return read.status, read.summary, read.ended_at


async def test_completed_after_the_webhook_abandoned_wins_with_its_summary(
    store_factory: StoreFactory,
) -> None:
    status, summary, ended_at = await _final(
        store_factory,
        [("webhook", S.abandoned, None), ("agent", S.completed, "Solid on caching.")],
    )

    assert (status, summary, ended_at) == (
        S.completed,
        "Solid on caching.",
        T0 + timedelta(minutes=2),
    )


async def test_the_webhook_abandoned_after_completed_changes_nothing(
    store_factory: StoreFactory,
) -> None:
    status, summary, ended_at = await _final(
        store_factory,
        [("agent", S.completed, "Solid on caching."), ("webhook", S.abandoned, None)],
    )

    assert (status, summary, ended_at) == (
        S.completed,
        "Solid on caching.",
        T0 + timedelta(minutes=1),
    )


@pytest.mark.parametrize(
    ("writes", "expected"),
    [
        # A replay of `live` (or of the abandoned webhook) never reopens or downgrades.
        ([("agent", S.completed, "s"), ("agent", S.live, None)], S.completed),
        ([("webhook", S.abandoned, None), ("agent", S.live, None)], S.abandoned),
        # The agent's `failed` says more than the room closing: it replaces `abandoned`.
        ([("webhook", S.abandoned, None), ("agent", S.failed, "model down")], S.failed),
        ([("agent", S.failed, "model down"), ("webhook", S.abandoned, None)], S.failed),
        # Among definite ends (completed, failed, cancelled) the first stands.
        ([("agent", S.completed, "s"), ("agent", S.failed, "late")], S.completed),
        ([("webhook", S.cancelled, None), ("agent", S.completed, "s")], S.cancelled),
        ([("agent", S.completed, "s"), ("webhook", S.cancelled, None)], S.completed),
        # `cancelled` is a person's call on a running interview, not a correction of an end.
        ([("webhook", S.abandoned, None), ("webhook", S.cancelled, None)], S.abandoned),
    ],
)
async def test_end_precedence(
    store_factory: StoreFactory,
    writes: list[tuple[str, InterviewStatus, str | None]],
    expected: InterviewStatus,
) -> None:
    status, _summary, _ended = await _final(store_factory, writes)

    assert status is expected
