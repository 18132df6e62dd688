"""Store benchmark: enqueue latency of the write path, and sustained rows per second into a real
PostgREST, with and without an outage.

Starts its own Postgres + PostgREST + gateway (devstack) on free 127.0.0.1 ports and stops them
at the end. Bounded in time (each phase flushes with a timeout). Prints figures; asserts nothing.

    uv run --frozen python bench/bench_store.py [--rows 20000] [--durable]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import quantiles

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr

from devstack import SupabaseStack
from interview.contract import InterviewPlan
from interview.settings import ServiceSettings
from interview.store import (
    Answer,
    AskedQuestion,
    NewInterview,
    Scores,
    Speaker,
    TranscriptMessage,
)
from interview.supabase_store import SupabaseStore, open_store

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TEXT = (
    "I would start by measuring where the time goes, then add a cache in front of the reads. " * 3
)


def _fmt_us(ns: float) -> str:
    return f"{ns / 1000:.1f} µs"


async def _interviews(store: SupabaseStore, count: int) -> list[uuid.UUID]:
    ids = []
    for _ in range(count):
        iid = uuid.uuid4()
        plan = InterviewPlan(
            candidate_name="Bench Candidate",
            role="Backend engineer",
            level="senior",
            type="mixed",
            mode="practice",
        )
        await store.create_interview(
            NewInterview(
                id=iid, plan=plan, room_name=f"iv-{iid}", invite_hash=secrets.token_hex(32)
            )
        )
        ids.append(iid)
    return ids


def _message(iid: uuid.UUID, n: int) -> TranscriptMessage:
    return TranscriptMessage(
        interview_id=iid,
        item_id=f"item_{n}",
        speaker=Speaker.candidate if n % 2 else Speaker.interviewer,
        text=TEXT,
        started_at=T0 + timedelta(seconds=n),
    )


async def bench_enqueue(store: SupabaseStore, rows: int) -> None:
    """Latency of the caller's side only: model already built, time the store call."""
    (iid,) = await _interviews(store, 1)
    messages = [_message(iid, n) for n in range(rows)]
    question_ids = await _interviews(store, max(1, rows // 1000))
    answers = [
        (
            AskedQuestion(
                interview_id=question_ids[n // 1000],
                ordinal=n % 1000 + 1,
                bank_question_id=None,
                text="Question",
                topic="caching",
                difficulty=3,
                asked_at=T0,
            ),
            Answer(
                interview_id=question_ids[n // 1000],
                ordinal=n % 1000 + 1,
                transcript=TEXT,
                scores=Scores(clarity=4, relevance=4, depth=3, accuracy=5),
                tags=["caching"],
            ),
        )
        for n in range(rows)
    ]
    timings: dict[str, list[int]] = {"append_transcript": [], "record_question+answer": []}
    clock = time.perf_counter_ns
    for n, message in enumerate(messages):
        start = clock()
        store.append_transcript(message)
        timings["append_transcript"].append(clock() - start)
        question, answer = answers[n]
        start = clock()
        store.record_question(question)
        store.record_answer(answer)
        timings["record_question+answer"].append(clock() - start)
        if n % 50 == 0:
            await asyncio.sleep(0)  # let the writer run alongside, as in a live interview
    left = await store.flush(60)
    for name, values in timings.items():
        cuts = quantiles(values, n=100)
        print(
            f"enqueue {name:<24} n={len(values)}  p50={_fmt_us(cuts[49])}  "
            f"p95={_fmt_us(cuts[94])}  p99={_fmt_us(cuts[98])}  max={_fmt_us(max(values))}"
        )
    print(f"  (undelivered after flush: {left}; a max in the tens of ms is a gen-2 GC pause of")
    print("   this process, which holds every benchmark model in memory, not the store)")


async def bench_throughput(store: SupabaseStore, rows: int) -> None:
    (iid,) = await _interviews(store, 1)
    messages = [_message(iid, n) for n in range(rows)]
    requests_before = store.stats.requests
    start = time.perf_counter()
    for message in messages:
        store.append_transcript(message)
    left = await store.flush(60)
    elapsed = time.perf_counter() - start
    requests = store.stats.requests - requests_before
    print(
        f"sustained transcript rows into PostgREST: {rows - left} rows in {elapsed:.2f} s = "
        f"{(rows - left) / elapsed:,.0f} rows/s ({requests} requests, "
        f"{(rows - left) / max(1, requests):.0f} rows/request)"
    )


async def bench_outage(store: SupabaseStore, stack: SupabaseStack, rows: int) -> None:
    (iid,) = await _interviews(store, 1)
    stack.postgrest.stop()
    try:
        start = time.perf_counter()
        for n in range(rows):
            store.append_transcript(_message(iid, n))
        for _ in range(600):  # at most 30 s
            if store.stats.spilled >= rows:
                break
            await asyncio.sleep(0.05)
        spilled = time.perf_counter() - start
    finally:
        stack.postgrest.start()
    start = time.perf_counter()
    left = await store.flush(60)
    replayed = time.perf_counter() - start
    print(
        f"outage: {store.stats.spilled} writes spilled to the outbox in {spilled:.2f} s "
        f"(fsynced SQLite); replay after restart: {rows - left} rows in "
        f"{replayed:.2f} s = {(rows - left) / replayed:,.0f} rows/s"
    )


async def run(stack: SupabaseStack, outbox_path: Path, rows: int) -> None:
    store = open_store(
        ServiceSettings(
            _env_file=None,  # type: ignore[call-arg]
            supabase_url=stack.url,
            supabase_service_role_key=SecretStr(stack.service_role_key),
        ),
        outbox_path,
        retry_cap=0.5,
    )
    await store.start()
    try:
        await bench_enqueue(store, rows)
        await bench_throughput(store, rows)
        await bench_outage(store, stack, rows)
    finally:
        await store.aclose(timeout=10)


def main(rows: int, durable: bool) -> None:
    # As root, Postgres runs as `postgres`, which needs to enter its data directory's parent.
    pg_dir = Path(tempfile.mkdtemp(prefix="iv-bench-pg-"))
    pg_dir.chmod(0o755)
    run_dir = Path(tempfile.mkdtemp(prefix="iv-bench-run-"))
    stack = SupabaseStack(
        run_dir / "supabase",
        pg_data_dir=pg_dir / "data",
        jwt_secret=secrets.token_urlsafe(32),
        durable=durable,
    )
    try:
        stack.start()
        print(f"stack: {stack.url} (postgres durable={durable}); rows per phase: {rows}")
        asyncio.run(asyncio.wait_for(run(stack, run_dir / "outbox.sqlite3", rows), timeout=300))
    finally:
        stack.stop()
        shutil.rmtree(pg_dir, ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--durable", action="store_true", help="fsync in Postgres as in production")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    main(args.rows, args.durable)
