"""Token-server throughput: interviews created end to end and observer tokens minted.

Starts what it needs from devstack on free 127.0.0.1 ports (Postgres + PostgREST + gateway,
LiveKit server), serves the token server with uvicorn in this process, drives it over HTTP with
a few concurrent clients, prints figures and stops everything.

    uv run --frozen python bench/bench_token_server.py [--interviews 100] [--observers 500]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import uvicorn
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devstack import LiveKitServer, SupabaseStack
from devstack.proc import free_port, http_ok
from token_server.app import create_app
from token_server.settings import Settings

PLAN = {
    "candidate_name": "Bench Candidate",
    "role": "Backend engineer",
    "level": "mid",
    "type": "technical",
    "mode": "screening",
    "duration_minutes": 20,
    "question_count": 5,
    "focus_areas": ["apis"],
    "language": "en",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def run_load(
    name: str, total: int, concurrency: int, call: Callable[[int], Awaitable[None]]
) -> list[float]:
    latencies: list[float] = []
    counter = iter(range(total))
    lock = asyncio.Lock()

    async def worker() -> None:
        while True:
            async with lock:
                i = next(counter, None)
            if i is None:
                return
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), 300)
    elapsed = time.perf_counter() - started
    print(
        f"{name:<34} n={total:<5} concurrency={concurrency:<3} "
        f"{total / elapsed:8.1f}/s   p50 {percentile(latencies, 0.5) * 1000:7.1f} ms   "
        f"p95 {percentile(latencies, 0.95) * 1000:7.1f} ms"
    )
    return latencies


async def drive(base: str, api_key: str, interviews: int, observers: int) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=30, limits=limits
    ) as client:
        created: list[str] = []

        async def create(_: int) -> None:
            resp = await client.post("/api/interviews", json=PLAN)
            if resp.status_code != 201:
                raise RuntimeError(f"create failed: {resp.status_code} {resp.text[:200]}")
            created.append(resp.json()["interview"]["id"])

        # Warm up connections, the store and LiveKit before measuring.
        for i in range(3):
            await create(i)
        await run_load("interviews created (db+room)", interviews, 8, create)

        target = created[0]

        async def observe(_: int) -> None:
            resp = await client.post(f"/api/interviews/{target}/observer-token")
            if resp.status_code != 200:
                raise RuntimeError(f"observer token failed: {resp.status_code} {resp.text[:200]}")

        await run_load("observer tokens (read + audit)", observers, 16, observe)

        async def list_page(_: int) -> None:
            resp = await client.get("/api/interviews", params={"limit": 20})
            if resp.status_code != 200:
                raise RuntimeError(f"list failed: {resp.status_code}")

        await run_load("interview list pages (20 rows)", min(observers, 200), 8, list_page)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=100)
    parser.add_argument("--observers", type=int, default=500)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    work = Path(tempfile.mkdtemp(prefix="iv-bench-"))
    work.chmod(0o755)  # Postgres runs as `postgres` when started by root
    livekit = LiveKitServer(
        work / "livekit", api_key="benchkey", api_secret=secrets.token_urlsafe(32)
    )
    supabase = SupabaseStack(
        work / "supabase",
        pg_data_dir=work / "pg" / "data",
        jwt_secret=secrets.token_urlsafe(32),
        durable=False,
    )
    api_key = secrets.token_urlsafe(32)
    port = free_port()
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    try:
        (work / "pg").mkdir()
        (work / "pg").chmod(0o755)
        supabase.start()
        livekit.start()
        settings = Settings(
            _env_file=None,
            environment="test",
            livekit_url=livekit.url,
            livekit_api_key=livekit.api_key,
            livekit_api_secret=SecretStr(livekit.api_secret),
            supabase_url=supabase.url,
            supabase_service_role_key=SecretStr(supabase.service_role_key),
            interviewer_api_keys=SecretStr(api_key),
            outbox_dir=work / "outbox",
            create_rate_per_minute=1e9,
            create_burst=1_000_000,
            join_rate_per_minute=1e9,
            join_burst=1_000_000,
        )
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not (server.started and http_ok(f"http://127.0.0.1:{port}/health")):
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the token server did not start")
            time.sleep(0.05)
        print(f"token server on 127.0.0.1:{port}; LiveKit {livekit.url}; store {supabase.url}")
        asyncio.run(drive(f"http://127.0.0.1:{port}", api_key, args.interviews, args.observers))
        return 0
    finally:
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(15)
        livekit.stop()
        supabase.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
