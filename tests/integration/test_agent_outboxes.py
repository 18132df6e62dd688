"""Outboxes a job left behind are replayed by a later job's sweep; busy ones are left alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.outboxes import DEAD_SUFFIX, lease, outbox_path, sweep
from devstack import SupabaseStack
from devstack.proc import free_port
from interview.store import Answer, AskedQuestion, Scores
from interview.supabase_store import SupabaseStore, open_store
from tests.fixtures.store import new_interview, store_settings

pytestmark = pytest.mark.integration


async def _strand(supabase_stack: SupabaseStack, path: Path, *writes: object) -> None:
    """Writes made by a job whose Supabase was unreachable until it shut down."""
    unreachable = open_store(
        store_settings(f"http://127.0.0.1:{free_port()}", supabase_stack.service_role_key),
        path,
        retry_cap=0.2,
    )
    await unreachable.start()
    for write in writes:
        if isinstance(write, AskedQuestion):
            unreachable.record_question(write)
        elif isinstance(write, Answer):
            unreachable.record_answer(write)
    await unreachable.aclose(0.5)


async def test_a_stranded_outbox_is_replayed_and_removed(
    supabase_stack: SupabaseStack, store: SupabaseStore, tmp_path: Path
) -> None:
    interview = await store.create_interview(new_interview())
    question = AskedQuestion(
        interview_id=interview.id,
        ordinal=1,
        bank_question_id=None,
        text="Why?",
        topic="t",
        difficulty=2,
        asked_at=datetime.now(UTC),
    )
    answer = Answer(
        interview_id=interview.id,
        ordinal=1,
        transcript="Because.",
        scores=Scores(clarity=4, relevance=4, depth=3, accuracy=5),
    )
    stranded = outbox_path(tmp_path, str(interview.id))
    await _strand(supabase_stack, stranded, question, answer)
    busy = outbox_path(tmp_path, "busy")
    await _strand(supabase_stack, busy, question)

    async def open_real(path: Path) -> SupabaseStore:
        real = open_store(store_settings(supabase_stack.url, supabase_stack.service_role_key), path)
        await real.start()
        return real

    assert stranded.exists()
    with lease(busy) as held:
        assert held
        result = await sweep(tmp_path, open_real, timeout=10)

    detail = await store.interview_detail(interview.id)
    assert detail is not None
    assert [a.transcript for a in detail.answers] == ["Because."]
    assert [q.ordinal for q in detail.questions] == [1]
    assert (result.replayed_files, result.skipped_busy, result.left_undelivered) == (1, 1, 0)
    assert not stranded.exists()
    assert busy.exists()  # a running job's outbox is never touched


async def test_an_outbox_of_refused_writes_is_set_aside(
    supabase_stack: SupabaseStack, store: SupabaseStore, tmp_path: Path
) -> None:
    interview = await store.create_interview(new_interview())
    orphan_answer = Answer(  # no question 9: the foreign key refuses it for good
        interview_id=interview.id,
        ordinal=9,
        transcript="x",
        scores=Scores(clarity=1, relevance=1, depth=1, accuracy=1),
    )
    path = outbox_path(tmp_path, "refused")
    await _strand(supabase_stack, path, orphan_answer)

    async def open_real(p: Path) -> SupabaseStore:
        real = open_store(store_settings(supabase_stack.url, supabase_stack.service_role_key), p)
        await real.start()
        return real

    first = await sweep(tmp_path, open_real, timeout=10)
    second = await sweep(tmp_path, open_real, timeout=10)

    assert first.replayed_files == 1 and first.left_undelivered == 0
    assert second.replayed_files == 0  # set aside, not reopened on every sweep
    assert (tmp_path / f"refused{DEAD_SUFFIX}").exists()
