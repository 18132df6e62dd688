"""Parked writes are visible: counted on /ready, listed and re-queued by one command."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from interview import deadletters
from interview.outbox import Outbox, OutboxCounts
from interview.writes import Failure, Op
from tests.fixtures.token_server import MemoryStore
from tests.unit.test_token_server_api import make_settings
from token_server.app import create_app

pytestmark = pytest.mark.unit

SECRET = "the candidate's private words"


def _op(ordinal: int) -> Op:
    return Op(
        table="answers",
        kind="upsert",
        row={"interview_id": "i", "ordinal": ordinal, "transcript": SECRET},
        key=("interview_id", "ordinal"),
    )


async def _park(path: Path, *ordinals: int) -> None:
    outbox = Outbox(path)
    await outbox.open()
    await outbox.append_dead([(_op(n), Failure(False, "23503", "fk")) for n in ordinals])
    await outbox.append([_op(99)])  # a live write is not a dead letter
    await outbox.close()


async def _counts(path: Path) -> OutboxCounts:
    outbox = Outbox(path)
    counts = await outbox.open()
    await outbox.close()
    return counts


async def test_ready_counts_the_dead_letters_agents_left(tmp_path: Path) -> None:
    await _park(tmp_path / "0b7c.dead.sqlite", 1, 2)
    await _park(tmp_path / "other.dead.sqlite", 3)
    settings = make_settings(tmp_path, outbox_dir=tmp_path)

    with TestClient(create_app(settings, store=MemoryStore())) as client:
        body = client.get("/ready").json()

    assert body["dead_letters"] == 3


def test_list_names_table_and_key_only_and_requeue_puts_them_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = tmp_path / "0b7c.dead.sqlite"
    asyncio.run(_park(dead, 1, 2))

    assert deadletters.main(["list", "--outbox-dir", str(tmp_path)]) == 0
    listed = capsys.readouterr().out
    assert deadletters.main(["requeue", "--outbox-dir", str(tmp_path)]) == 0
    requeued = capsys.readouterr().out

    assert listed.count('"table": "answers"') == 2
    assert '"key": {"interview_id": "i", "ordinal": 1}' in listed
    assert SECRET not in listed
    assert "requeued 2 write(s) from 1 file(s)" in requeued
    live = tmp_path / "0b7c.sqlite"  # back where the agents' sweep replays it
    assert not dead.exists()
    counts = asyncio.run(_counts(live))
    assert (counts.live, counts.dead) == (3, 0)
