"""The `Store` on Supabase (supabase-py's async client over PostgREST), with a write path that
never blocks its caller and never loses a write.

Writes (`record_*`, `append_transcript`, `audit`) turn the model into a row and append it to an
in-memory queue: no network, no disk, a few microseconds. One background writer drains the
queue in batches: per table, one bulk upsert on the table's natural key (`on_conflict`), tables
in foreign-key order so a question lands before its answer. While Supabase answers, that is all.

When a batch fails in a way worth retrying (network, timeout, 5xx, a restarting database), the
batch and every write after it go to the SQLite outbox (`interview.outbox`, fsynced) and the
writer retries from there with exponential backoff and jitter, in write order, deleting rows as
they land. New writes keep going to the outbox until it is empty, so order holds across the
outage. A store started on an outbox with rows left in it (the last process stopped during an
outage) replays them first. Every write is an idempotent upsert (or a guarded update), so a
write that is sent twice (its response was lost, the process died before deleting it from the
outbox) still yields one row.

A write Supabase refuses for good (a constraint violation, a 4xx) is not retried: its group is
bisected until the offending writes are isolated, the others land, and the offenders are logged
(table, key, error code; never transcript text or names) and parked in the outbox as dead
letters.

Reads wait, bounded by `read_timeout`, and raise `StoreUnavailable` when Supabase cannot answer.
Question-bank reads are cached for `bank_ttl` seconds (and served stale if a refresh fails), so
the interviewer can still draw questions during a short outage.

Use it from one event loop: the write methods are not thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from postgrest import APIResponse
from postgrest.types import ReturnMethod

from interview import rows
from interview.contract import InterviewType, Level
from interview.outbox import Outbox, OutboxCounts
from interview.question_choice import GENERAL_ROLE, choose_question, match_role
from interview.settings import ServiceSettings
from interview.store import (
    Answer,
    AskedQuestion,
    BankQuestion,
    Feedback,
    Interview,
    InterviewDetail,
    InterviewStatus,
    NewInterview,
    StoreRejected,
    StoreUnavailable,
    Table,
    TranscriptMessage,
    Usage,
)
from interview.writes import Failure, Group, Op, backoff_delay, classify, plan_batch
from supabase import AsyncClient, AsyncClientOptions, create_async_client

log = logging.getLogger("interview.store")

_HEX64 = frozenset("0123456789abcdef")
_MAX_LIST = 200


@dataclass
class StoreStats:
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


class SupabaseStore:
    """See the module docstring. Build it with `open_store` (or `create_store` from settings)."""

    def __init__(
        self,
        url: str,
        service_role_key: str,
        outbox_path: Path,
        *,
        read_timeout: float = 2.0,
        write_timeout: float = 5.0,
        batch_rows: int = 500,
        retry_base: float = 0.2,
        retry_cap: float = 5.0,
        bank_ttl: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        self._url = url
        self._key = service_role_key
        self.outbox = Outbox(outbox_path)
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._batch_rows = batch_rows
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._bank_ttl = bank_ttl
        self._rng = rng or random.Random()
        self.stats = StoreStats()

        self._queue: deque[Op] = deque()
        self._inflight: list[Op] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._outbox_live = 0
        self._attempt = 0
        self._retry_at = 0.0
        self._outage_since: float | None = None

        self._http: httpx.AsyncClient | None = None
        self._client: AsyncClient | None = None
        self._writer: asyncio.Task[None] | None = None
        self._started = False
        self._closed = False
        self._bank_cache: dict[str, tuple[float, list[BankQuestion]]] = {}
        self._roles_cache: tuple[float, frozenset[str]] | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the outbox and start the writer. Needs no network: a store starts (and takes
        writes into its outbox) while Supabase is down."""
        if self._started:
            return
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self._write_timeout, connect=min(2.0, self._write_timeout)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        )
        options = AsyncClientOptions(
            httpx_client=self._http,
            postgrest_client_retry=False,  # retries are ours, with backoff and the outbox
            auto_refresh_token=False,
            persist_session=False,
        )
        self._client = await create_async_client(self._url, self._key, options=options)
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
                "the outbox holds dead letters (writes Supabase refused); see Outbox.dead_letters",
                extra={"dead_letters": counts.dead},
            )
        self._started = True
        self._writer = asyncio.create_task(self._run(), name="interview.store.writer")

    async def flush(self, timeout: float) -> int:
        """Deliver what is queued (retrying now, whatever the backoff); wait at most `timeout`
        seconds; return how many writes are still undelivered (queued or in the outbox)."""
        if self._writer is None or self._writer.done():
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
        """Flush within `timeout`, stop the writer and keep whatever did not land in the outbox
        for the next start (logged by table)."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            # Leave a little of the bound for stopping and writing leftovers to the local disk.
            await self.flush(max(0.0, timeout - min(0.5, timeout / 4)))
        writer = self._writer
        if writer is not None:
            writer.cancel()
            try:
                await writer
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("the store writer failed")
        leftovers = [op for op in self._inflight if op.seq is None] + list(self._queue)
        self._queue.clear()
        self._inflight = []
        if self._started:
            try:
                if leftovers:
                    await self.outbox.append(leftovers)
                    self.stats.spilled += len(leftovers)
                counts = await self.outbox.counts()
                self._log_undelivered(counts)
            finally:
                await self.outbox.close()
        elif leftovers:
            log.error(
                "store closed before it started: queued writes not kept",
                extra={"count": len(leftovers)},
            )
        if self._http is not None:
            await self._http.aclose()

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

    def undelivered(self) -> int:
        return len(self._queue) + len(self._inflight) + self._outbox_live

    # ---- queued writes --------------------------------------------------------------------

    def _enqueue(self, op: Op) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")
        self._queue.append(op)
        self.stats.enqueued += 1
        self._idle.clear()
        self._wakeup.set()

    def record_status(
        self,
        interview_id: UUID,
        status: InterviewStatus,
        *,
        at: datetime,
        summary: str | None = None,
    ) -> None:
        self._enqueue(rows.status_op(interview_id, status, at=at, summary=summary))

    def record_question(self, question: AskedQuestion) -> None:
        self._enqueue(rows.question_op(question))

    def record_answer(self, answer: Answer) -> None:
        self._enqueue(rows.answer_op(answer))

    def record_feedback(self, feedback: Feedback) -> None:
        self._enqueue(rows.feedback_op(feedback))

    def append_transcript(self, message: TranscriptMessage) -> None:
        self._enqueue(rows.transcript_op(message))

    def record_usage(self, interview_id: UUID, usage: Usage) -> None:
        self._enqueue(rows.usage_op(interview_id, usage))

    def audit(
        self,
        kind: str,
        *,
        interview_id: UUID | None,
        detail: dict[str, object],
        key: str | None = None,
    ) -> None:
        at = datetime.now(UTC)
        self._enqueue(rows.audit_op(kind, interview_id=interview_id, detail=detail, key=key, at=at))

    # ---- the writer -----------------------------------------------------------------------

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

    def _take(self) -> list[Op]:
        count = min(len(self._queue), self._batch_rows)
        return [self._queue.popleft() for _ in range(count)]

    async def _step(self) -> None:
        ops = self._take()
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
        await self._park(outcome.dead)
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
        for op, failure in outcome.dead:
            self._log_dead(op, failure)
        self._outbox_live = await self.outbox.settle(
            delivered=[op.seq for op in outcome.delivered if op.seq is not None],
            dead=[(op.seq, f) for op, f in outcome.dead if op.seq is not None],
            retry=[op.seq for op in outcome.unsent if op.seq is not None],
            failure=outcome.failure,
        )
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

    async def _park(self, dead: list[tuple[Op, Failure]]) -> None:
        if dead:
            for op, failure in dead:
                self._log_dead(op, failure)
            await self.outbox.append_dead(dead)

    def _log_dead(self, op: Op, failure: Failure) -> None:
        self.stats.dead_letters += 1
        log.error(
            "supabase refused a write; parked in the outbox as a dead letter",
            extra={**op.describe(), "code": failure.code, "error": failure.message},
        )

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
            await self._send(group)
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

    async def _send(self, group: Group) -> None:
        client = self._require_client()
        table = client.table(group.table)
        self.stats.requests += 1
        async with asyncio.timeout(self._write_timeout):
            if group.kind == "upsert":
                await table.upsert(
                    [op.row for op in group.ops],
                    on_conflict=",".join(group.key),
                    ignore_duplicates=not group.merge,
                    returning=ReturnMethod.minimal,
                ).execute()
                return
            (op,) = group.ops
            body = {k: v for k, v in op.row.items() if k not in op.key}
            query = table.update(body, returning=ReturnMethod.minimal)
            for column in op.key:
                query = query.eq(column, op.row[column])
            if op.only_from:
                query = query.in_("status", list(op.only_from))
            await query.execute()

    def _require_client(self) -> AsyncClient:
        if self._client is None:
            raise StoreUnavailable("the store is not started")
        return self._client

    # ---- reads ----------------------------------------------------------------------------

    async def _read(
        self, what: str, call: Callable[[AsyncClient], Awaitable[APIResponse]]
    ) -> list[dict[str, Any]]:
        """Run a select, bounded by the read timeout; the rows it returned."""
        client = self._require_client()
        try:
            async with asyncio.timeout(self._read_timeout):
                response = await call(client)
            return [row for row in response.data if isinstance(row, dict)]
        except Exception as exc:
            failure = classify(exc)
            log.warning(
                "store read failed",
                extra={"read": what, "code": failure.code, "error": failure.message},
            )
            raise StoreUnavailable(f"{what} failed ({failure.code})") from exc

    async def get_interview(self, interview_id: UUID) -> Interview | None:
        found = await self._read(
            "get_interview",
            lambda c: (
                c.table(Table.interviews)
                .select(rows.INTERVIEW_COLUMNS)
                .eq("id", str(interview_id))
                .limit(1)
                .execute()
            ),
        )
        return rows.interview_from_row(found[0]) if found else None

    async def get_interview_by_invite(self, invite_hash: str) -> Interview | None:
        if len(invite_hash) != 64 or not set(invite_hash) <= _HEX64:
            return None
        found = await self._read(
            "get_interview_by_invite",
            lambda c: (
                c.table(Table.interviews)
                .select(rows.INTERVIEW_COLUMNS)
                .eq("invite_hash", invite_hash)
                .limit(1)
                .execute()
            ),
        )
        return rows.interview_from_row(found[0]) if found else None

    async def list_interviews(
        self, *, status: InterviewStatus | None = None, limit: int = 50, offset: int = 0
    ) -> list[Interview]:
        limit = max(1, min(limit, _MAX_LIST))
        offset = max(0, offset)

        def call(c: AsyncClient) -> Awaitable[Any]:
            query = c.table(Table.interviews).select(rows.INTERVIEW_COLUMNS)
            if status is not None:
                query = query.eq("status", status.value)
            return (
                query.order("created_at", desc=True)
                .order("id")
                .range(offset, offset + limit - 1)
                .execute()
            )

        found = await self._read("list_interviews", call)
        return [rows.interview_from_row(row) for row in found]

    async def interview_detail(self, interview_id: UUID) -> InterviewDetail | None:
        # One request, so questions, answers and feedback come from one snapshot.
        select = (
            f"{rows.INTERVIEW_COLUMNS},"
            f"questions:interview_questions!interview_questions_interview_fk({rows.QUESTION_COLUMNS}),"
            f"answers:answers!answers_interview_fk({rows.ANSWER_COLUMNS}),"
            f"feedback:feedback!feedback_interview_fk({rows.FEEDBACK_COLUMNS})"
        )
        found = await self._read(
            "interview_detail",
            lambda c: (
                c.table(Table.interviews)
                .select(select)
                .eq("id", str(interview_id))
                .limit(1)
                .execute()
            ),
        )
        if not found:
            return None
        row = found[0]
        return InterviewDetail(
            interview=rows.interview_from_row(row),
            questions=sorted(
                (rows.question_from_row(q) for q in row["questions"]), key=lambda q: q.ordinal
            ),
            answers=sorted(
                (rows.answer_from_row(a) for a in row["answers"]), key=lambda a: a.ordinal
            ),
            feedback=sorted(
                (rows.feedback_from_row(f) for f in row["feedback"]),
                key=lambda f: (f.ordinal is None, f.ordinal or 0),
            ),
        )

    async def transcript(self, interview_id: UUID) -> list[TranscriptMessage]:
        """The interview's transcript in speaking order (not part of the `Store` protocol)."""
        found = await self._read(
            "transcript",
            lambda c: (
                c.table(Table.transcript_messages)
                .select("interview_id,item_id,speaker,text,started_at,ended_at,interrupted")
                .eq("interview_id", str(interview_id))
                .order("started_at")
                .order("id")
                .limit(10_000)
                .execute()
            ),
        )
        return [rows.transcript_from_row(row) for row in found]

    async def next_question(
        self,
        *,
        role: str,
        level: Level,
        type: InterviewType,
        exclude: set[UUID],
        topic: str | None = None,
        difficulty: int | None = None,
    ) -> BankQuestion | None:
        matched = match_role(role, await self._bank_roles())
        questions = await self._bank_questions(matched)
        return choose_question(
            questions,
            role=matched,
            level=level,
            type=type,
            exclude=exclude,
            topic=topic,
            difficulty=difficulty,
            rng=self._rng,
        )

    async def _bank_roles(self) -> frozenset[str]:
        cached = self._roles_cache
        if cached is not None and time.monotonic() - cached[0] < self._bank_ttl:
            return cached[1]
        try:
            found = await self._read(
                "question_bank roles",
                lambda c: (
                    c.table(Table.question_bank)
                    .select("role")
                    .eq("active", True)
                    .limit(100_000)
                    .execute()
                ),
            )
        except StoreUnavailable:
            if cached is not None:
                log.warning("serving cached question bank roles")
                return cached[1]
            raise
        roles = frozenset(str(row["role"]) for row in found)
        self._roles_cache = (time.monotonic(), roles)
        return roles

    async def _bank_questions(self, role: str | None) -> list[BankQuestion]:
        wanted = [r for r in (role, GENERAL_ROLE) if r]
        cache_key = ",".join(wanted)
        cached = self._bank_cache.get(cache_key)
        if cached is not None and time.monotonic() - cached[0] < self._bank_ttl:
            return cached[1]
        try:
            found = await self._read(
                "question_bank",
                lambda c: (
                    c.table(Table.question_bank)
                    .select(rows.BANK_COLUMNS)
                    .in_("role", wanted)
                    .eq("active", True)
                    .limit(5_000)
                    .execute()
                ),
            )
        except StoreUnavailable:
            if cached is not None:
                log.warning("serving cached question bank", extra={"roles": cache_key})
                return cached[1]
            raise
        questions = [rows.bank_question_from_row(row) for row in found]
        self._bank_cache[cache_key] = (time.monotonic(), questions)
        return questions

    # ---- the confirmed write --------------------------------------------------------------

    async def create_interview(self, new: NewInterview) -> Interview:
        """Insert the interview and return it; a retry with the same id returns the first row."""
        client = self._require_client()
        try:
            async with asyncio.timeout(self._write_timeout):
                response = (
                    await client.table(Table.interviews)
                    .upsert(
                        rows.new_interview_row(new),
                        on_conflict="id",
                        ignore_duplicates=True,
                        returning=ReturnMethod.representation,
                    )
                    .execute()
                )
        except Exception as exc:
            failure = classify(exc)
            if failure.transient:
                log.warning(
                    "create_interview failed",
                    extra={"code": failure.code, "error": failure.message},
                )
                raise StoreUnavailable(f"create_interview failed ({failure.code})") from exc
            log.error(
                "supabase refused an interview",
                extra={"interview_id": str(new.id), "code": failure.code, "error": failure.message},
            )
            raise StoreRejected(failure.message, code=failure.code) from exc
        created = [row for row in response.data if isinstance(row, dict)]
        if created:
            return rows.interview_from_row(created[0])
        existing = await self.get_interview(new.id)
        if existing is None:
            raise StoreUnavailable("create_interview: the interview vanished after a conflict")
        return existing


def open_store(
    url: str,
    service_role_key: str,
    outbox_path: Path,
    **options: Any,
) -> SupabaseStore:
    """The store the services use. Call `await store.start()` before use and
    `await store.aclose(timeout)` at shutdown. `options` are `SupabaseStore`'s keyword
    arguments (timeouts, batch size, retry backoff)."""
    return SupabaseStore(url, service_role_key, outbox_path, **options)


def default_outbox_path(service: str, directory: Path = Path(".local/outbox")) -> Path:
    return directory / f"{service}.sqlite3"


def create_store(
    settings: ServiceSettings, *, outbox_path: Path | None = None, **options: Any
) -> SupabaseStore:
    """`open_store` from a service's settings. The outbox defaults to the settings'
    `outbox_dir` if it has one (else `.local/outbox`), one file per service."""
    if outbox_path is None:
        service = type(settings).__module__.split(".")[0] or "store"
        directory = getattr(settings, "outbox_dir", None) or Path(".local/outbox")
        outbox_path = default_outbox_path(service, Path(directory))
    return open_store(
        settings.supabase_url,
        settings.supabase_service_role_key.get_secret_value(),
        outbox_path,
        **options,
    )
