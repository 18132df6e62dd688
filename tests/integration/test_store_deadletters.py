"""A write Supabase refuses is parked, audited (table and key, never content) and, once its
cause is fixed, re-queued by `python -m interview.deadletters requeue` and delivered."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack import SupabaseStack
from interview import deadletters
from interview.store import Answer, AskedQuestion, Scores
from tests.fixtures.store import StoreFactory, new_interview

pytestmark = pytest.mark.integration

SECRET = "my private answer text"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def test_a_parked_write_is_audited_then_requeued_and_delivered(
    store_factory: StoreFactory, supabase_stack: SupabaseStack, tmp_path: Path
) -> None:
    path = tmp_path / "job.sqlite"
    store = await store_factory(outbox_path=path)
    interview = await store.create_interview(new_interview())
    # No question 1 yet: the foreign key refuses this answer for good.
    store.record_answer(
        Answer(
            interview_id=interview.id,
            ordinal=1,
            transcript=SECRET,
            scores=Scores(clarity=3, relevance=3, depth=3, accuracy=3),
        )
    )
    assert await store.flush(10) == 0
    assert (await store.outbox.counts()).dead == 1
    await store.aclose(5)
    audits = supabase_stack.postgres.psql(
        "select detail::text from audit_events"
        f" where interview_id = '{interview.id}' and kind = 'write_parked'"
    ).splitlines()

    assert len(audits) == 1
    detail = json.loads(audits[0])
    assert (detail["table"], detail["key"]["ordinal"], detail["code"]) == ("answers", 1, "23503")
    assert SECRET not in audits[0]

    fixer = await store_factory()
    fixer.record_question(
        AskedQuestion(
            interview_id=interview.id,
            ordinal=1,
            bank_question_id=None,
            text="Explain caching.",
            topic="caching",
            difficulty=3,
            asked_at=T0,
        )
    )
    assert await fixer.flush(10) == 0
    assert await deadletters.requeue([path]) == 1
    replay = await store_factory(outbox_path=path)
    assert await replay.flush(10) == 0
    detail_after = await replay.interview_detail(interview.id)

    assert detail_after is not None
    assert [a.transcript for a in detail_after.answers] == [SECRET]
    assert (await replay.outbox.counts()).dead == 0
