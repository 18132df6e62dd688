"""One interview job: validate the dispatch, open the store, read the question plan (or the
question pool), run.

A job that cannot run (bad metadata, or a plan that is not stored) says why in one log line,
marks the interview failed when it can tell which interview it was, and ends without raising,
so the worker does not retry it in a loop. A job that cannot read its interview's stored state
ends without writing or joining (it may be a live interview to resume: starting it again as new
would overwrite it); the token server dispatches again until an interviewer is in the room. The
same goes for a plan that cannot be read while the store is out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from livekit.agents import JobContext

from agent.conductor import Conductor
from agent.interviewer import InterviewState, utcnow
from agent.model import build_session
from agent.one_interviewer import is_later_interviewer
from agent.outboxes import acquire, outbox_path, settle
from agent.settings import AgentSettings
from interview.contract import (
    InterviewMetadata,
    MetadataError,
    decode_metadata,
    interview_id_from_room,
)
from interview.planning import StoredPlan
from interview.store import (
    BankQuestion,
    InterviewDetail,
    InterviewStatus,
    Store,
    StoreUnavailable,
)
from interview.supabase_store import SupabaseStore, open_store

log = logging.getLogger("agent.job")

StoreFactory = Callable[[AgentSettings, Path], SupabaseStore]
T = TypeVar("T")


async def load_pool(
    store: Store, meta: InterviewMetadata, *, timeout: float = 5.0
) -> list[BankQuestion]:
    """Read a few more bank questions than planned, focus areas first; an unreachable bank
    yields an empty pool (the interviewer then uses its general questions)."""
    want = meta.question_count + 3
    pool: list[BankQuestion] = []
    seen: set[UUID] = set()

    async def take(topic: str | None) -> bool:
        q = await store.next_question(
            role=meta.role, level=meta.level, type=meta.type, exclude=seen, topic=topic
        )
        if q is None or q.id in seen:
            return False
        pool.append(q)
        seen.add(q.id)
        return True

    async def fill() -> None:
        for area in meta.focus_areas:
            await take(area)
        while len(pool) < want and await take(None):
            pass

    try:
        await asyncio.wait_for(fill(), timeout=timeout)
    except (StoreUnavailable, TimeoutError):
        log.warning(
            "question bank unavailable; using general questions",
            extra={"interview_id": str(meta.interview_id), "got": len(pool)},
        )
    return pool


async def run_interview(
    ctx: JobContext,
    settings: AgentSettings,
    *,
    store_factory: StoreFactory = open_store,
) -> None:
    extra = {"room": ctx.room.name, "job_id": ctx.job.id}
    try:
        meta = decode_metadata(ctx.job.metadata)
    except MetadataError as exc:
        log.error("invalid dispatch metadata; ending the job", extra={**extra, "reason": str(exc)})
        interview_id = interview_id_from_room(ctx.room.name)
        if interview_id is not None:
            path = outbox_path(settings.outbox_dir, f"failed-{ctx.job.id}")
            store = store_factory(settings, path)
            await store.start()
            store.record_status(
                interview_id,
                InterviewStatus.failed,
                at=utcnow(),
                summary="Invalid dispatch metadata.",
            )
            store.audit("invalid_metadata", interview_id=interview_id, detail={"reason": str(exc)})
            await settle(store, path, settings.store_flush_timeout_s)
        ctx.shutdown(reason="invalid dispatch metadata")
        return

    outbox = outbox_path(settings.outbox_dir, str(meta.interview_id))
    held = contextlib.AsyncExitStack()
    # A sweep replaying this interview's outbox holds its lock for at most a flush and a
    # close; only a job still holding it after that is a duplicate.
    if not await held.enter_async_context(
        acquire(outbox, wait=2 * settings.store_flush_timeout_s + 5)
    ):
        # Checked before joining: a duplicate must not show up in the room, or its leaving
        # would look like the interviewer dropping out.
        log.error("another job is running this interview; ending this one", extra=extra)
        await held.aclose()
        ctx.shutdown(reason="duplicate dispatch")
        return
    store = store_factory(settings, outbox)
    await store.start()

    async def close_store() -> None:
        try:
            await settle(store, outbox, settings.store_flush_timeout_s)
        finally:
            await held.aclose()

    ctx.add_shutdown_callback(close_store)

    try:
        detail = await _read_detail(store, meta, settings.agent_state_read_attempts)
    except (StoreUnavailable, TimeoutError):
        log.error(
            "could not read the interview's stored state; ending the job without joining",
            extra={**extra, "interview_id": str(meta.interview_id)},
        )
        ctx.shutdown(reason="interview state unreadable")
        return
    if detail is not None and detail.interview.status.ended:
        log.warning("dispatched for an interview that has ended; not joining", extra=extra)
        ctx.shutdown(reason="interview already ended")
        return
    plan: StoredPlan | None = None
    if meta.plan_id is not None:
        try:
            plan = await _read_plan(store, meta, settings.agent_state_read_attempts)
        except (StoreUnavailable, TimeoutError):
            log.error(
                "could not read the interview's question plan; ending the job without joining",
                extra={**extra, "interview_id": str(meta.interview_id)},
            )
            ctx.shutdown(reason="question plan unreadable")
            return
        if plan is None:
            log.error(
                "the interview's question plan is not stored; failing the interview",
                extra={**extra, "interview_id": str(meta.interview_id)},
            )
            store.record_status(
                meta.interview_id,
                InterviewStatus.failed,
                at=utcnow(),
                summary="The interview's question plan is missing.",
            )
            store.audit(
                "plan_missing",
                interview_id=meta.interview_id,
                detail={"plan_id": str(meta.plan_id)},
            )
            ctx.shutdown(reason="question plan missing")
            return
    # With a plan the questions are the plan's (bank ones included): no pool to read.
    pool = await load_pool(store, meta) if plan is None else []
    state = InterviewState(meta=meta, store=store, pool=pool, plan=plan)
    resumed_from = None
    if detail is not None and detail.interview.status is InterviewStatus.live:
        state.restore(detail)
        resumed_from = detail.interview.started_at or utcnow()
    session = build_session(settings, state, ctx.proc.userdata["vad"])
    await ctx.connect()
    if is_later_interviewer(ctx.room):
        # Dispatches may overlap (a candidate joining as the previous agent left); one
        # interviewer is enough, and both agents agree which one stays.
        log.warning("another interviewer was first in the room; leaving", extra=extra)
        ctx.shutdown(reason="interviewer already present")
        return
    log.info("interview job started", extra={**extra, "interview_id": str(meta.interview_id)})
    await Conductor(ctx, session, state, settings, resumed_from=resumed_from).run()
    ctx.shutdown(reason=f"interview {state.end_status or 'not started'}")


async def _read_detail(
    store: Store, meta: InterviewMetadata, attempts: int
) -> InterviewDetail | None:
    """The interview as stored (None: no such row); a live one is being resumed by this job.
    Raises StoreUnavailable/TimeoutError when it stays unreadable for `attempts` tries."""
    return await _read_retrying(
        lambda: store.interview_detail(meta.interview_id), meta, attempts, "the interview"
    )


async def _read_plan(store: Store, meta: InterviewMetadata, attempts: int) -> StoredPlan | None:
    """The interview's confirmed plan (None: not stored, or another interview's). Raises
    StoreUnavailable/TimeoutError when it stays unreadable for `attempts` tries."""
    assert meta.plan_id is not None
    plan_id = meta.plan_id
    plan = await _read_retrying(lambda: store.load_plan(plan_id), meta, attempts, "the plan")
    if plan is not None and plan.interview_id != meta.interview_id:
        log.error(
            "the dispatched plan belongs to another interview",
            extra={"interview_id": str(meta.interview_id), "plan_id": str(plan_id)},
        )
        return None
    return plan


async def _read_retrying(
    read: Callable[[], Awaitable[T]], meta: InterviewMetadata, attempts: int, what: str
) -> T:
    for attempt in range(1, attempts + 1):
        try:
            return await asyncio.wait_for(read(), timeout=5)
        except (StoreUnavailable, TimeoutError):
            if attempt == attempts:
                raise
            log.warning(
                "could not read the stored state; trying again",
                extra={"interview_id": str(meta.interview_id), "attempt": attempt, "what": what},
            )
            await asyncio.sleep(min(0.5 * 2**attempt, 4))
    raise AssertionError("attempts must be at least 1")


async def entrypoint(ctx: JobContext) -> None:
    """The worker's job entry (module level, so job processes can import it)."""
    await run_interview(ctx, AgentSettings())
