"""One interview job: validate the dispatch, open the store, read the question pool, run.

A job that cannot run (bad metadata) says why in one log line, marks the interview failed when
it can tell which interview it was, and ends without raising, so the worker does not retry it
in a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from livekit import rtc
from livekit.agents import JobContext

from agent.conductor import Conductor
from agent.interviewer import InterviewState, utcnow
from agent.model import build_session
from agent.outboxes import lease, outbox_path, settle, sweep
from agent.settings import AgentSettings
from interview.contract import (
    InterviewMetadata,
    MetadataError,
    decode_metadata,
    interview_id_from_room,
)
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
    held = contextlib.ExitStack()
    if not held.enter_context(lease(outbox)):
        # Checked before joining: a duplicate must not show up in the room, or its leaving
        # would look like the interviewer dropping out.
        log.error("another job is running this interview; ending this one", extra=extra)
        ctx.shutdown(reason="duplicate dispatch")
        return
    store = store_factory(settings, outbox)
    await store.start()

    async def close_store() -> None:
        try:
            await settle(store, outbox, settings.store_flush_timeout_s)
        finally:
            held.close()

    ctx.add_shutdown_callback(close_store)

    async def open_other(path: Path) -> SupabaseStore:
        other = store_factory(settings, path)
        await other.start()
        return other

    sweeping = asyncio.ensure_future(
        sweep(settings.outbox_dir, open_other, timeout=settings.store_flush_timeout_s)
    )
    sweeping.add_done_callback(_log_sweep_failure)
    detail = await _read_detail(store, meta)
    if detail is not None and detail.interview.status.ended:
        log.warning("dispatched for an interview that has ended; not joining", extra=extra)
        ctx.shutdown(reason="interview already ended")
        return
    pool = await load_pool(store, meta)
    state = InterviewState(meta=meta, store=store, pool=pool)
    resumed_from = None
    if detail is not None and detail.interview.status is InterviewStatus.live:
        state.restore(detail)
        resumed_from = detail.interview.started_at or utcnow()
    session = build_session(settings, state, ctx.proc.userdata["vad"])
    await ctx.connect()
    if any(
        p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
        for p in ctx.room.remote_participants.values()
    ):
        # Dispatches may overlap (a candidate joining as the previous agent left); one
        # interviewer is enough.
        log.warning("another interviewer is already in the room; leaving", extra=extra)
        ctx.shutdown(reason="interviewer already present")
        return
    log.info("interview job started", extra={**extra, "interview_id": str(meta.interview_id)})
    await Conductor(ctx, session, state, settings, resumed_from=resumed_from).run()
    ctx.shutdown(reason=f"interview {state.end_status or 'not started'}")


async def _read_detail(store: Store, meta: InterviewMetadata) -> InterviewDetail | None:
    """The interview as stored: a live one is being resumed by this job. Unreadable: start as
    planned (the status writes still move forward only)."""
    try:
        return await asyncio.wait_for(store.interview_detail(meta.interview_id), timeout=5)
    except (StoreUnavailable, TimeoutError):
        log.warning(
            "could not read the interview; starting it as new",
            extra={"interview_id": str(meta.interview_id)},
        )
        return None


def _log_sweep_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("outbox sweep failed", extra={"error": type(task.exception()).__name__})


async def entrypoint(ctx: JobContext) -> None:
    """The worker's job entry (module level, so job processes can import it)."""
    await run_interview(ctx, AgentSettings())
