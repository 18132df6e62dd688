"""Queued writes never wait on the network: with Supabase unreachable (a closed port), every
write returns at once and ends up in the outbox, delivered to no one but lost by no one."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack.proc import free_port
from interview.outbox import Outbox
from interview.store import (
    Answer,
    AskedQuestion,
    InterviewStatus,
    Scores,
    Speaker,
    StoreUnavailable,
    TranscriptMessage,
)
from interview.supabase_store import open_store
from tests.fixtures.store import store_settings

pytestmark = pytest.mark.unit

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def test_writes_to_an_unreachable_supabase_end_up_in_the_outbox(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite3"
    store = open_store(
        store_settings(f"http://127.0.0.1:{free_port()}", "key"), path, retry_cap=0.1
    )
    await store.start()
    iid = uuid.uuid4()

    store.record_question(
        AskedQuestion(
            interview_id=iid,
            ordinal=1,
            bank_question_id=None,
            text="Why?",
            topic="t",
            difficulty=2,
            asked_at=AT,
        )
    )
    store.record_answer(
        Answer(
            interview_id=iid,
            ordinal=1,
            transcript="private words",
            scores=Scores(clarity=3, relevance=3, depth=3, accuracy=3),
        )
    )
    store.append_transcript(
        TranscriptMessage(
            interview_id=iid,
            item_id="item_1",
            speaker=Speaker.candidate,
            text="private words",
            started_at=AT,
        )
    )
    store.record_status(iid, InterviewStatus.live, at=AT)
    store.audit("participant.joined", interview_id=iid, detail={}, key="evt_1")
    queued = store.undelivered()
    with caplog.at_level(logging.INFO, logger="interview"):
        still = await store.flush(0.5)
        with pytest.raises(StoreUnavailable):
            await store.get_interview(iid)
        await store.aclose(timeout=0.5)
    reopened = Outbox(path)
    counts = await reopened.open()
    await reopened.close()

    assert queued == 5
    assert still == 5
    assert (counts.live, counts.dead) == (5, 0)
    assert counts.live_by_table == {
        "interview_questions": 1,
        "answers": 1,
        "transcript_messages": 1,
        "interviews": 1,
        "audit_events": 1,
    }
    assert any("undelivered" in r.getMessage() for r in caplog.records)
    assert all("private words" not in r.getMessage() + str(r.__dict__) for r in caplog.records)


async def test_a_closed_store_refuses_writes(tmp_path: Path) -> None:
    store = open_store(
        store_settings(f"http://127.0.0.1:{free_port()}", "key"), tmp_path / "o.sqlite3"
    )
    await store.start()
    await store.aclose(timeout=0.1)

    with pytest.raises(RuntimeError):
        store.record_status(uuid.uuid4(), InterviewStatus.live, at=AT)
