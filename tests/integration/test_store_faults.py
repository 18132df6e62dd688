"""Faults: PostgREST stops while interviews are writing, and a process restarts mid-outage.

Each test stops the session's PostgREST and starts it again on the same port (the gateway
keeps pointing at it); a `finally` makes sure it is running for the tests that follow.
"""

from __future__ import annotations

import asyncio
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from devstack import SupabaseStack
from interview.outbox import Outbox
from interview.store import Answer, AskedQuestion, Interview, Scores, StoreUnavailable
from interview.supabase_store import SupabaseStore
from tests.fixtures.store import StoreFactory, new_interview

pytestmark = pytest.mark.integration

INTERVIEWS = 10
QUESTIONS = 20  # 10 interviews x 20 answers = 200 answers
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def postgrest_restored(supabase_stack: SupabaseStack) -> Iterator[SupabaseStack]:
    yield supabase_stack
    if not supabase_stack.postgrest.running():
        supabase_stack.postgrest.start()


async def _interviews(store: SupabaseStore) -> list[Interview]:
    return [await store.create_interview(new_interview()) for _ in range(INTERVIEWS)]


async def _interview_writes(store: SupabaseStore, interview_id: UUID, pause: float) -> None:
    """One interview's questions and answers, as the agent's tools would write them."""
    rng = random.Random(str(interview_id))
    for n in range(1, QUESTIONS + 1):
        store.record_question(
            AskedQuestion(
                interview_id=interview_id,
                ordinal=n,
                bank_question_id=None,
                text=f"Question {n}",
                topic="systems",
                difficulty=3,
                asked_at=T0 + timedelta(minutes=n),
            )
        )
        await asyncio.sleep(rng.uniform(0, pause))
        store.record_answer(
            Answer(
                interview_id=interview_id,
                ordinal=n,
                transcript=f"answer {n}",
                scores=Scores(clarity=3, relevance=4, depth=3, accuracy=4),
            )
        )
        await asyncio.sleep(rng.uniform(0, pause))


def _answer_counts(stack: SupabaseStack, interviews: list[Interview]) -> tuple[int, int]:
    ids = ",".join(f"'{i.id}'" for i in interviews)
    total, distinct = stack.postgres.psql(
        "select count(*), count(distinct (interview_id, ordinal)) from answers"
        f" where interview_id in ({ids})"
    ).split("|")
    return int(total), int(distinct)


async def test_reads_fail_clearly_while_postgrest_is_down(
    store: SupabaseStore, postgrest_restored: SupabaseStack
) -> None:
    interview = await store.create_interview(new_interview())
    postgrest_restored.postgrest.stop()

    with pytest.raises(StoreUnavailable):
        await store.get_interview(interview.id)
    with pytest.raises(StoreUnavailable):
        await store.create_interview(new_interview())


async def test_200_answers_survive_a_postgrest_restart(
    store_factory: StoreFactory, postgrest_restored: SupabaseStack
) -> None:
    stack = postgrest_restored
    store = await store_factory(retry_base=0.05, retry_cap=0.5)
    interviews = await _interviews(store)
    stack.postgrest.stop()

    async def restart_later() -> None:
        await asyncio.sleep(1.5)
        await asyncio.to_thread(stack.postgrest.start)

    # Writers keep going through the outage, the restart and after it.
    await asyncio.gather(
        restart_later(), *(_interview_writes(store, i.id, pause=0.1) for i in interviews)
    )
    undelivered = await store.flush(30)
    counts = await store.outbox.counts()

    assert store.stats.spilled > 0, "the outage was never seen: the test proved nothing"
    assert undelivered == 0
    assert (counts.live, counts.dead) == (0, 0)
    assert _answer_counts(stack, interviews) == (200, 200)


async def test_200_answers_survive_a_process_restart_from_the_outbox(
    store_factory: StoreFactory, postgrest_restored: SupabaseStack, tmp_path: Path
) -> None:
    stack = postgrest_restored
    outbox_path = tmp_path / "agent-outbox.sqlite3"
    first = await store_factory(outbox_path=outbox_path, retry_base=0.05, retry_cap=0.5)
    interviews = await _interviews(first)
    stack.postgrest.stop()

    await asyncio.gather(*(_interview_writes(first, i.id, pause=0.01) for i in interviews))
    await first.aclose(timeout=1.0)  # Supabase is down: everything stays in the outbox
    left = Outbox(outbox_path)
    counts = await left.open()
    await left.close()
    # A copy of the outbox as it was: replaying it again later models a process that died
    # after delivering but before deleting its outbox rows.
    stale_copy = tmp_path / "stale-copy.sqlite3"
    shutil.copy(outbox_path, stale_copy)
    stack.postgrest.start()

    assert counts.live == 2 * INTERVIEWS * QUESTIONS
    assert _answer_counts(stack, interviews) == (0, 0)

    second = await store_factory(outbox_path=outbox_path, retry_base=0.05, retry_cap=0.5)
    assert await second.flush(30) == 0
    assert _answer_counts(stack, interviews) == (200, 200)

    third = await store_factory(outbox_path=stale_copy, retry_base=0.05, retry_cap=0.5)
    assert await third.flush(30) == 0
    replayed = await third.outbox.counts()

    assert third.stats.replayed == 2 * INTERVIEWS * QUESTIONS
    assert (replayed.live, replayed.dead) == (0, 0)
    assert _answer_counts(stack, interviews) == (200, 200)
