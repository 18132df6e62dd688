"""The worker's outbox files: one per interview, held by its job, swept by the worker.

Each job writes through a store whose durable outbox is `<outbox_dir>/<interview id>.sqlite`,
and holds an exclusive lock on it while it runs. A job that ended with writes still undelivered
(Supabase was down at shutdown, or the process died) leaves its file behind; the worker's main
process replays such files at start and every `OUTBOX_SWEEP_INTERVAL_S` (`sweep_forever`),
whether or not another job ever comes to that host. A sweep holds a file's lock while it
replays it, so a job dispatched for that interview meanwhile waits for the lock (`acquire`)
instead of taking the sweep for a duplicate job. A file that only holds dead letters (writes
Supabase refused for good) is renamed `*.dead.sqlite` and kept for a person to inspect, so it
is not reopened on every sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from interview.supabase_store import SupabaseStore

log = logging.getLogger("agent.outboxes")

SUFFIX = ".sqlite"
DEAD_SUFFIX = ".dead.sqlite"


def outbox_path(directory: Path, name: str) -> Path:
    return directory / f"{name}{SUFFIX}"


@contextlib.contextmanager
def lease(path: Path) -> Iterator[bool]:
    """Hold `path`'s lock file exclusively; yields False (and holds nothing) if another
    process has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# How often a job waiting for its outbox's lock tries again.
_LEASE_POLL_S = 0.2


@contextlib.asynccontextmanager
async def acquire(path: Path, wait: float) -> AsyncIterator[bool]:
    """`lease`, waiting up to `wait` seconds for a holder to let go (a sweep replaying the
    file holds it for at most a flush and a close); False if it is still held then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        with lease(path) as mine:
            if mine or loop.time() >= deadline:
                yield mine
                return
        await asyncio.sleep(_LEASE_POLL_S)


def remove(path: Path) -> None:
    for extra in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{extra}").unlink()
    with contextlib.suppress(FileNotFoundError):
        path.with_suffix(".lock").unlink()


async def settle(store: SupabaseStore, path: Path, timeout: float) -> tuple[int, int]:
    """Flush and close `store`; delete its outbox if nothing is left, set it aside if only dead
    letters are. Returns (undelivered, dead)."""
    await store.flush(timeout)
    counts = await store.outbox.counts()
    await store.aclose(timeout)
    if counts.live == 0 and counts.dead == 0:
        await asyncio.to_thread(remove, path)
    elif counts.live == 0:
        await asyncio.to_thread(
            path.rename, path.with_name(path.name[: -len(SUFFIX)] + DEAD_SUFFIX)
        )
        log.warning("outbox kept: writes Supabase refused", extra={"dead": counts.dead})
    return counts.live, counts.dead


def _outboxes(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(f"*{SUFFIX}") if not p.name.endswith(DEAD_SUFFIX))


@dataclass
class SweepResult:
    replayed_files: int = 0
    skipped_busy: int = 0
    left_undelivered: int = 0


async def sweep(
    directory: Path,
    open_store: Callable[[Path], Awaitable[SupabaseStore]],
    *,
    timeout: float,
) -> SweepResult:
    """Replay every outbox in `directory` that no running job holds."""
    result = SweepResult()
    for path in await asyncio.to_thread(_outboxes, directory):
        with lease(path) as mine:
            if not mine:
                result.skipped_busy += 1
                continue
            if not await asyncio.to_thread(path.exists):
                continue
            store = await open_store(path)
            live, _dead = await settle(store, path, timeout)
            result.replayed_files += 1
            result.left_undelivered += live
    if result.replayed_files:
        log.info(
            "swept outboxes",
            extra={"files": result.replayed_files, "undelivered": result.left_undelivered},
        )
    return result


async def sweep_forever(
    directory: Path,
    open_store: Callable[[Path], Awaitable[SupabaseStore]],
    *,
    timeout: float,
    interval: float,
) -> None:
    """Sweep now, then every `interval` seconds, until cancelled; a failed sweep is logged and
    the next one tries again."""
    while True:
        try:
            await sweep(directory, open_store, timeout=timeout)
        except Exception as exc:  # the loop outlives one bad file or outage
            log.warning("outbox sweep failed", extra={"error": type(exc).__name__})
        await asyncio.sleep(interval)
