"""The durable local outbox: where writes wait while Supabase cannot take them.

A SQLite file (stdlib `sqlite3`, WAL journal, `synchronous=FULL`, so every commit is fsynced)
used from one dedicated thread: the event loop never waits on the disk, and the connection is
only ever touched by the thread that opened it. Rows are kept in write order (`seq`) and each
carries the write's `op_id`, unique, so spilling the same write twice stores it once.

Live rows are replayed in order, deleted once delivered, and counted as undelivered until then.
Dead letters (writes Supabase refused for good, such as a constraint violation) stay in the file
with the error code and message, never retried automatically; `requeue_dead()` puts them back
in line after the cause is fixed. The file holds interview content, so it is created readable by
its owner only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from interview.writes import Failure, Op

log = logging.getLogger("interview.outbox")

T = TypeVar("T")

_SCHEMA = """
create table if not exists outbox (
  seq integer primary key autoincrement,
  op_id text not null unique,
  table_name text not null,
  payload text not null,
  created_at real not null,
  attempts integer not null default 0,
  dead integer not null default 0,
  error_code text,
  error_message text
);
create index if not exists outbox_live_seq on outbox (dead, seq);
"""


@dataclass(frozen=True)
class OutboxCounts:
    live: int
    dead: int
    live_by_table: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    op: Op
    error_code: str | None
    error_message: str | None
    attempts: int


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    # ---- running work on the outbox thread ----------------------------------------------

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None:
            raise RuntimeError("the outbox is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._with_conn, fn)

    def _with_conn(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise RuntimeError("the outbox is not open")
        return fn(self._conn)

    # ---- lifecycle ----------------------------------------------------------------------

    async def open(self) -> OutboxCounts:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._open_sync)
        return await self.counts()

    def _open_sync(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        conn.execute("pragma journal_mode=wal")
        conn.execute("pragma synchronous=full")
        conn.executescript(_SCHEMA)
        self._conn = conn

    async def close(self) -> None:
        executor = self._executor
        if executor is None:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(executor, self._close_sync)
        executor.shutdown(wait=True)
        self._executor = None

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ---- writes -------------------------------------------------------------------------

    async def append(self, ops: Sequence[Op]) -> None:
        """Store writes to be replayed, in the given order; a write already stored is kept once."""
        if ops:
            rows = [(op.op_id, op.table, op.to_json(), time.time()) for op in ops]
            await self._call(lambda conn: _append(conn, rows))
            log.debug("writes kept in the outbox", extra={"count": len(ops)})

    async def append_dead(self, items: Sequence[tuple[Op, Failure]]) -> None:
        """Park writes that can never succeed, with their error, for a person to look at."""
        if items:
            rows = [
                (op.op_id, op.table, op.to_json(), time.time(), f.code, f.message)
                for op, f in items
            ]
            await self._call(lambda conn: _append_dead(conn, rows))

    async def pending(self, limit: int) -> list[Op]:
        """The oldest live writes, in write order."""

        def read(conn: sqlite3.Connection) -> list[Op]:
            cur = conn.execute(
                "select seq, op_id, payload from outbox where dead = 0 order by seq limit ?",
                (limit,),
            )
            return [Op.from_json(payload, op_id=op_id, seq=seq) for seq, op_id, payload in cur]

        return await self._call(read)

    async def settle(
        self,
        *,
        delivered: Iterable[int],
        dead: Iterable[tuple[int, Failure]],
        retry: Iterable[int],
        failure: Failure | None,
    ) -> int:
        """Record a replay's outcome in one transaction; return how many live rows remain."""
        delivered_rows = [(seq,) for seq in delivered]
        dead_rows = [(f.code, f.message, seq) for seq, f in dead]
        retry_rows = [
            (failure.code if failure else None, failure.message if failure else None, seq)
            for seq in retry
        ]

        def apply(conn: sqlite3.Connection) -> int:
            with _transaction(conn):
                conn.executemany("delete from outbox where seq = ?", delivered_rows)
                conn.executemany(
                    "update outbox set dead = 1, attempts = attempts + 1, error_code = ?,"
                    " error_message = ? where seq = ?",
                    dead_rows,
                )
                conn.executemany(
                    "update outbox set attempts = attempts + 1, error_code = ?,"
                    " error_message = ? where seq = ?",
                    retry_rows,
                )
            (live,) = conn.execute("select count(*) from outbox where dead = 0").fetchone()
            return int(live)

        return await self._call(apply)

    async def requeue_dead(self) -> int:
        """Put every dead letter back in line (after fixing what made it fail)."""

        def apply(conn: sqlite3.Connection) -> int:
            with _transaction(conn):
                cur = conn.execute("update outbox set dead = 0, attempts = 0 where dead = 1")
            return int(cur.rowcount)

        return await self._call(apply)

    # ---- reads --------------------------------------------------------------------------

    async def counts(self) -> OutboxCounts:
        def read(conn: sqlite3.Connection) -> OutboxCounts:
            by_table = dict(
                conn.execute(
                    "select table_name, count(*) from outbox where dead = 0 group by table_name"
                ).fetchall()
            )
            (dead,) = conn.execute("select count(*) from outbox where dead = 1").fetchone()
            return OutboxCounts(sum(by_table.values()), int(dead), by_table)

        return await self._call(read)

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        def read(conn: sqlite3.Connection) -> list[DeadLetter]:
            cur = conn.execute(
                "select seq, op_id, payload, error_code, error_message, attempts from outbox"
                " where dead = 1 order by seq limit ?",
                (limit,),
            )
            return [
                DeadLetter(seq, Op.from_json(payload, op_id=op_id, seq=seq), code, msg, attempts)
                for seq, op_id, payload, code, msg, attempts in cur
            ]

        return await self._call(read)


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT (or ROLLBACK) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("begin immediate")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("rollback" if exc_type else "commit")


def _append(conn: sqlite3.Connection, rows: list[tuple[str, str, str, float]]) -> None:
    with _transaction(conn):
        conn.executemany(
            "insert or ignore into outbox (op_id, table_name, payload, created_at)"
            " values (?, ?, ?, ?)",
            rows,
        )


def _append_dead(
    conn: sqlite3.Connection, rows: list[tuple[str, str, str, float, str, str]]
) -> None:
    with _transaction(conn):
        # A write replayed from the outbox is already there: mark it dead instead.
        conn.executemany(
            "insert into outbox (op_id, table_name, payload, created_at, dead, error_code,"
            " error_message) values (?, ?, ?, ?, 1, ?, ?) on conflict (op_id) do update set"
            " dead = 1, error_code = excluded.error_code, error_message = excluded.error_message",
            rows,
        )
