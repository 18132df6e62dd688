"""The durable writer: an in-memory queue drained in batches through a send function, with a
SQLite outbox for outages and bisection for writes refused for good.

`submit` appends a write (`interview.writes.Op`) to the queue: no network, no disk. One task
drains the queue: `plan_batch` cuts a batch into groups (one request each, tables in foreign-key
order) and `send` delivers each group. The writer knows nothing of Supabase: `send` raises on
failure, and `interview.writes.classify` says whether the failure is worth retrying.

- A transient failure (network, timeout, 5xx, a missing migration): the group and every write
  after it go to the outbox, and so do new writes until the outbox is empty, so order holds
  across an outage. The outbox is replayed in write order with exponential backoff and jitter,
  rows deleted as they land. A writer started on an outbox with rows left in it replays them.
- A permanent failure: the group is bisected until the offending writes are isolated; the
  others land, the offenders are logged (table and key, never content) and parked in the outbox
  as dead letters. `on_parked` may turn each parked write into one more write (the store audits
  it); a parked write that came from `on_parked` itself is not passed to it again, so an audit
  that is refused cannot loop.

Use it from one event loop: `submit` is not thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from interview.outbox import Outbox, OutboxCounts
from interview.writes import Failure, Group, Op, backoff_delay, classify, plan_batch

log = logging.getLogger("interview.store")

Send = Callable[[Group], Awaitable[None]]
OnParked = Callable[[Op, Failure], Op | None]


@dataclass
class WriterStats:
    """Counters for logs, tests and benchmarks."""

    enqueued: int = 0
    delivered: int = 0
    requests: int = 0
    dead_letters: int = 0
    spilled: int = 0
    replayed: int = 0
    retries: int = 0


@dataclass
class _Outcome:
    delivered: list[Op] = field(default_factory=list)
    dead: list[tuple[Op, Failure]] = field(default_factory=list)
    unsent: list[Op] = field(default_factory=list)
    failure: Failure | None = None


class Writer:
    def __init__(
        self,
        send: Send,
        outbox: Outbox,
        *,
        batch_rows: int = 500,
        retry_base: float = 0.2,
        retry_cap: float = 5.0,
        rng: random.Random | None = None,
        on_parked: OnParked | None = None,
    ) -> None:
        self._send_group = send
        self.outbox = outbox
        self._batch_rows = batch_rows
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._rng = rng or random.Random()
        self._on_parked = on_parked
        self.stats = WriterStats()

        self._queue: deque[Op] = deque()
        self._inflight: list[Op] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._outbox_live = 0
        self._attempt = 0
        self._retry_at = 0.0
        self._outage_since: float | None = None
        self._derived: set[str] = set()  # op ids of writes `on_parked` made
        self._task: asyncio.Task[None] | None = None
        self._started = False
        self._closed = False

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> OutboxCounts:
        """Open the outbox and start draining; needs no network."""
        if self._started:
            return await self.outbox.counts()
        counts = await self.outbox.open()
        self._outbox_live = counts.live
        if counts.live:
            self._idle.clear()
            log.info(
                "replaying writes left in the outbox",
                extra={"live": counts.live, "by_table": counts.live_by_table},
            )
        if counts.dead:
            log.warning(
                "the outbox holds dead letters (writes Supabase refused);"
                " see `python -m interview.deadletters list`",
                extra={"dead_letters": counts.dead, "outbox": str(self.outbox.path)},
            )
        self._started = True
        self._task = asyncio.create_task(self._run(), name="interview.store.writer")
        return counts

    def submit(self, op: Op) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")
        self._push(op)

    def _push(self, op: Op) -> None:
        self._queue.append(op)
        self.stats.enqueued += 1
        self._idle.clear()
        self._wakeup.set()

    def undelivered(self) -> int:
        """Writes queued, in flight or waiting in the outbox."""
        return len(self._queue) + len(self._inflight) + self._outbox_live

    async def flush(self, timeout: float) -> int:
        """Deliver what is queued (retrying now, whatever the backoff); wait at most `timeout`
        seconds; return how many writes are still undelivered."""
        if self._task is None or self._task.done():
            return self.undelivered()
        self._retry_at = 0.0
        self._wakeup.set()
        try:
            async with asyncio.timeout(max(0.0, timeout)):
                await self._idle.wait()
        except TimeoutError:
            pass
        return self.undelivered()

    async def aclose(self, timeout: float = 5.0) -> None:
        """Flush within `timeout`, stop, and keep whatever did not land in the outbox for the
        next start (logged by table). Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            # Leave a little of the bound for stopping and writing leftovers to the local disk.
            await self.flush(max(0.0, timeout - min(0.5, timeout / 4)))
        task = self._task
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("the store writer failed")
        leftovers = [op for op in self._inflight if op.seq is None] + list(self._queue)
        self._queue.clear()
        self._inflight = []
        if not self._started:
            if leftovers:
                log.error(
                    "store closed before it started: queued writes not kept",
                    extra={"count": len(leftovers)},
                )
            return
        try:
            if leftovers:
                await self.outbox.append(leftovers)
                self.stats.spilled += len(leftovers)
            self._log_undelivered(await self.outbox.counts())
        finally:
            await self.outbox.close()

    def _log_undelivered(self, counts: OutboxCounts) -> None:
        if counts.live:
            log.warning(
                "store closed with undelivered writes; they stay in the outbox for the next start",
                extra={
                    "undelivered": counts.live,
                    "by_table": counts.live_by_table,
                    "dead_letters": counts.dead,
                    "outbox": str(self.outbox.path),
                },
            )
        else:
            log.info(
                "store closed, every write delivered",
                extra={"delivered": self.stats.delivered, "dead_letters": counts.dead},
            )

    # ---- the drain loop ------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wait_for_work()
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug or a broken outbox file: keep the writes, pause, try again.
                log.exception("store writer step failed; retrying", extra=self._state())
                self._queue.extendleft(reversed([op for op in self._inflight if op.seq is None]))
                self._inflight = []
                await asyncio.sleep(1.0)
            self._update_idle()

    def _state(self) -> dict[str, Any]:
        return {"queued": len(self._queue), "outbox_live": self._outbox_live}

    async def _wait_for_work(self) -> None:
        while True:
            if self._queue:
                return
            timeout: float | None = None
            if self._outbox_live:
                timeout = self._retry_at - time.monotonic()
                if timeout <= 0:
                    return
            self._update_idle()
            self._wakeup.clear()
            if self._queue:
                return
            try:
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    def _update_idle(self) -> None:
        if not self._queue and not self._inflight and self._outbox_live == 0:
            self._idle.set()

    async def _step(self) -> None:
        count = min(len(self._queue), self._batch_rows)
        ops = [self._queue.popleft() for _ in range(count)]
        self._inflight = ops
        if self._outbox_live:
            if ops:
                await self.outbox.append(ops)
                self._outbox_live += len(ops)
                self.stats.spilled += len(ops)
            self._inflight = []
            if time.monotonic() >= self._retry_at:
                await self._replay()
            return
        outcome = await self._deliver(ops)
        if outcome.dead:
            await self.outbox.append_dead(outcome.dead)
            self._parked(outcome.dead)
        if outcome.unsent:
            await self.outbox.append(outcome.unsent)
            self._outbox_live += len(outcome.unsent)
            self.stats.spilled += len(outcome.unsent)
            self._note_outage(outcome.failure)
        self._inflight = []

    async def _replay(self) -> None:
        ops = await self.outbox.pending(self._batch_rows)
        if not ops:
            self._outbox_live = 0
            return
        outcome = await self._deliver(ops)
        self._outbox_live = await self.outbox.settle(
            delivered=[op.seq for op in outcome.delivered if op.seq is not None],
            dead=[(op.seq, f) for op, f in outcome.dead if op.seq is not None],
            retry=[op.seq for op in outcome.unsent if op.seq is not None],
            failure=outcome.failure,
        )
        self._parked(outcome.dead)
        self.stats.replayed += len(outcome.delivered)
        if outcome.unsent:
            self._note_outage(outcome.failure)
            return
        self._attempt = 0
        self._retry_at = 0.0
        if self._outbox_live == 0 and self._outage_since is not None:
            log.info(
                "supabase reachable again; outbox replayed",
                extra={"outage_seconds": round(time.monotonic() - self._outage_since, 3)},
            )
            self._outage_since = None

    def _note_outage(self, failure: Failure | None) -> None:
        delay = backoff_delay(
            self._attempt, base=self._retry_base, cap=self._retry_cap, rng=self._rng
        )
        self._attempt += 1
        self.stats.retries += 1
        self._retry_at = time.monotonic() + delay
        extra = {
            "code": failure.code if failure else None,
            "error": failure.message if failure else None,
            "attempt": self._attempt,
            "retry_in": round(delay, 3),
            **self._state(),
        }
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            log.warning("supabase unreachable; writes go to the outbox", extra=extra)
        else:
            log.info("supabase still unreachable", extra=extra)

    def _parked(self, dead: list[tuple[Op, Failure]]) -> None:
        """Log each parked write and queue what `on_parked` makes of it (not for its own)."""
        for op, failure in dead:
            self.stats.dead_letters += 1
            log.error(
                "supabase refused a write; parked in the outbox as a dead letter",
                extra={**op.describe(), "code": failure.code, "error": failure.message},
            )
            if self._on_parked is None or op.op_id in self._derived:
                continue
            extra_op = self._on_parked(op, failure)
            if extra_op is not None:
                self._derived.add(extra_op.op_id)
                # Also while closing: what the final flush cannot send is kept in the outbox.
                self._push(extra_op)

    # ---- delivery ------------------------------------------------------------------------

    async def _deliver(self, ops: list[Op]) -> _Outcome:
        outcome = _Outcome()
        groups = plan_batch(ops, max_rows=self._batch_rows)
        for i, group in enumerate(groups):
            sub = await self._deliver_group(group)
            outcome.delivered += sub.delivered
            outcome.dead += sub.dead
            if sub.unsent:
                outcome.unsent = sub.unsent + [m for g in groups[i + 1 :] for m in g.members]
                outcome.failure = sub.failure
                break
        self.stats.delivered += len(outcome.delivered)
        return outcome

    async def _deliver_group(self, group: Group) -> _Outcome:
        """Send a group; on a permanent failure, bisect it so only the offenders are parked."""
        try:
            self.stats.requests += 1
            await self._send_group(group)
            return _Outcome(delivered=list(group.members))
        except Exception as exc:
            failure = classify(exc)
        if failure.transient:
            return _Outcome(unsent=list(group.members), failure=failure)
        if len(group.ops) == 1:
            return _Outcome(dead=[(m, failure) for m in group.members])
        outcome = _Outcome()
        first, second = group.halves()
        for i, half in enumerate((first, second)):
            sub = await self._deliver_group(half)
            outcome.delivered += sub.delivered
            outcome.dead += sub.dead
            if sub.unsent:
                outcome.unsent = sub.unsent + (list(second.members) if i == 0 else [])
                outcome.failure = sub.failure
                break
        return outcome
