"""The writer with a fake send function: order, batching, bisection, outages and the outbox,
flush and close. No network: `send` records what it was given and fails as each test says."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from postgrest.exceptions import APIError

from interview.outbox import Outbox
from interview.writer import Writer
from interview.writes import Failure, Group, Op

pytestmark = pytest.mark.unit


def _op(ordinal: int, table: str = "answers") -> Op:
    return Op(
        table=table,
        kind="upsert",
        row={"interview_id": "i", "ordinal": ordinal},
        key=("interview_id", "ordinal"),
    )


class FakeSend:
    """Records every request; `down` makes it fail like a network outage, `refuse` refuses
    any group holding one of those ordinals for good (a foreign key)."""

    def __init__(self) -> None:
        self.requests: list[list[int]] = []
        self.landed: list[int] = []
        self.down = False
        self.refuse: set[int] = set()

    async def __call__(self, group: Group) -> None:
        ordinals = [int(op.row["ordinal"]) for op in group.ops]
        self.requests.append(ordinals)
        if self.down:
            raise httpx.ConnectError("refused")
        if self.refuse & set(ordinals):
            raise APIError({"code": "23503", "message": "fk"})
        self.landed += ordinals


async def _writer(
    tmp_path: Path, send: FakeSend, *, name: str = "o.sqlite3", **options: object
) -> Writer:
    writer = Writer(send, Outbox(tmp_path / name), retry_base=0.01, retry_cap=0.05, **options)  # type: ignore[arg-type]
    await writer.start()
    return writer


async def test_writes_land_in_order_in_batches(tmp_path: Path) -> None:
    send = FakeSend()
    writer = await _writer(tmp_path, send, batch_rows=3)

    for n in range(1, 8):
        writer.submit(_op(n))
    assert await writer.flush(5) == 0
    await writer.aclose(1)

    assert send.landed == list(range(1, 8))
    assert all(len(r) <= 3 for r in send.requests)
    assert len(send.requests) < 7  # batched, not one request per write


async def test_bisection_parks_only_the_offenders(tmp_path: Path) -> None:
    send = FakeSend()
    send.refuse = {3, 6}
    writer = await _writer(tmp_path, send)

    for n in range(1, 9):
        writer.submit(_op(n))
    assert await writer.flush(5) == 0
    dead = await writer.outbox.dead_letters()
    await writer.aclose(1)

    assert sorted(send.landed) == [1, 2, 4, 5, 7, 8]
    assert [(d.op.row["ordinal"], d.error_code) for d in dead] == [(3, "23503"), (6, "23503")]


async def test_an_outage_goes_to_the_outbox_and_replays_in_order(tmp_path: Path) -> None:
    send = FakeSend()
    send.down = True
    writer = await _writer(tmp_path, send)

    for n in range(1, 4):
        writer.submit(_op(n))
    assert await writer.flush(0.2) == 3
    assert (await writer.outbox.counts()).live == 3
    for n in range(4, 6):  # written during the outage: behind the first ones
        writer.submit(_op(n))
    send.down = False
    assert await writer.flush(5) == 0
    await writer.aclose(1)

    assert send.landed == [1, 2, 3, 4, 5]
    assert writer.stats.spilled == 5


async def test_close_keeps_what_did_not_land_and_the_next_writer_replays_it(
    tmp_path: Path,
) -> None:
    send = FakeSend()
    send.down = True
    first = await _writer(tmp_path, send)
    for n in range(1, 4):
        first.submit(_op(n))
    await first.aclose(0.2)
    with pytest.raises(RuntimeError):
        first.submit(_op(9))

    send.down = False
    second = await _writer(tmp_path, send)
    assert await second.flush(5) == 0
    await second.aclose(1)

    assert send.landed == [1, 2, 3]


async def test_flush_waits_for_writes_in_flight(tmp_path: Path) -> None:
    gate = asyncio.Event()
    landed: list[int] = []

    async def slow(group: Group) -> None:
        await gate.wait()
        landed.extend(int(op.row["ordinal"]) for op in group.ops)

    writer = Writer(slow, Outbox(tmp_path / "o.sqlite3"))
    await writer.start()
    writer.submit(_op(1))
    assert await writer.flush(0.05) == 1
    gate.set()
    assert await writer.flush(5) == 0
    await writer.aclose(1)

    assert landed == [1]


async def test_a_parked_write_is_reported_once_and_a_refused_report_does_not_loop(
    tmp_path: Path,
) -> None:
    send = FakeSend()
    send.refuse = {1, 100}  # the write and its report are both refused
    reports: list[tuple[int, str]] = []

    def on_parked(op: Op, failure: Failure) -> Op:
        reports.append((int(op.row["ordinal"]), failure.code))
        return _op(100, table="audit_events")

    writer = await _writer(tmp_path, send, on_parked=on_parked)
    writer.submit(_op(1))
    assert await writer.flush(5) == 0
    counts = await writer.outbox.counts()
    await writer.aclose(1)

    assert reports == [(1, "23503")]
    assert (counts.live, counts.dead) == (0, 2)


async def test_a_write_parked_while_closing_is_still_reported(tmp_path: Path) -> None:
    send = FakeSend()
    send.refuse = {1}
    writer = await _writer(tmp_path, send, on_parked=lambda op, f: _op(100, table="audit_events"))

    writer.submit(_op(1))
    await writer.aclose(5)  # the refusal happens during close's own flush

    assert 100 in send.landed
