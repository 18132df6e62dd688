"""The SQLite outbox: order, one row per write, settling replays, dead letters, restarts."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from interview.outbox import Outbox
from interview.writes import Failure, Op

pytestmark = pytest.mark.unit


def _op(n: int) -> Op:
    return Op(
        table="answers",
        kind="upsert",
        row={"interview_id": "i", "ordinal": n},
        key=("interview_id", "ordinal"),
    )


async def test_writes_come_back_in_order_once_each(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    await outbox.open()
    ops = [_op(n) for n in range(1, 6)]

    await outbox.append(ops[:3])
    await outbox.append(ops)  # spilled again: stored once
    pending = await outbox.pending(10)
    await outbox.close()

    assert [op.row["ordinal"] for op in pending] == [1, 2, 3, 4, 5]
    assert [op.op_id for op in pending] == [op.op_id for op in ops]
    assert all(op.seq is not None for op in pending)


async def test_settle_deletes_parks_and_counts_attempts(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    await outbox.open()
    await outbox.append([_op(n) for n in range(1, 5)])
    one, two, three, four = await outbox.pending(10)
    refused = Failure(False, "23503", "violates foreign key constraint")
    down = Failure(True, "502", "Bad Gateway")

    live = await outbox.settle(
        delivered=[one.seq or 0],
        dead=[(two.seq or 0, refused)],
        retry=[three.seq or 0],
        failure=down,
    )
    counts = await outbox.counts()
    dead = await outbox.dead_letters()
    pending = await outbox.pending(10)
    await outbox.close()

    assert live == 2
    assert (counts.live, counts.dead, counts.live_by_table) == (2, 1, {"answers": 2})
    assert [(d.op.row["ordinal"], d.error_code, d.attempts) for d in dead] == [(2, "23503", 1)]
    assert [op.row["ordinal"] for op in pending] == [3, 4]
    assert four.seq is not None


async def test_it_survives_a_restart_and_dead_letters_can_be_requeued(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "o.sqlite3"
    first = Outbox(path)
    await first.open()
    await first.append([_op(1)])
    bad = _op(2)
    await first.append_dead([(bad, Failure(False, "23514", "check"))])
    await first.append_dead([(bad, Failure(False, "23514", "check again"))])
    await first.close()

    second = Outbox(path)
    reopened = await second.open()
    requeued = await second.requeue_dead()
    after = await second.counts()
    await second.close()

    assert (reopened.live, reopened.dead) == (1, 1)
    assert requeued == 1
    assert (after.live, after.dead) == (2, 0)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
