"""The write path's pure parts: queued operations, batches in dependency order, which failures
are worth retrying, and the backoff between retries.

An `Op` is one queued write: an upsert on the table's natural key, or (for the interview row,
which the token server creates before anything else writes) an update by id with an optional
guard on the current status. A batch is cut into groups, one bulk request each, and the groups
go out in foreign-key order: a question before its answer and its feedback. Within a group, two
writes with the same key collapse into one (the latest for merges, the first for
ignore-duplicates), because Postgres refuses to touch one row twice in a single upsert.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from postgrest.exceptions import APIError

# Dependencies first: interview_questions <- answers, feedback. The interview row itself exists
# before any queued write (created synchronously), so its updates can go last.
TABLE_ORDER = (
    "interview_questions",
    "answers",
    "feedback",
    "transcript_messages",
    "audit_events",
    "interviews",
)

_op_ids = itertools.count()
_op_prefix = f"{os.getpid():x}-{random.getrandbits(32):08x}"


def _new_op_id() -> str:
    return f"{_op_prefix}-{next(_op_ids)}"


@dataclass(slots=True)
class Op:
    table: str
    kind: Literal["upsert", "update"]
    row: dict[str, Any]
    # Upserts: the conflict columns. Updates: the columns that select the row.
    key: tuple[str, ...]
    # Upserts: merge (the latest write wins) or ignore duplicates (the first write wins).
    merge: bool = True
    # Updates: apply only while `status` is one of these (empty: unconditional).
    only_from: tuple[str, ...] = ()
    # Unique per write, so the outbox stores a write once however often it is spilled.
    op_id: str = field(default_factory=_new_op_id)
    # The outbox row this op was read from, if any.
    seq: int | None = None

    def key_values(self) -> tuple[Any, ...]:
        return tuple(self.row.get(column) for column in self.key)

    def describe(self) -> dict[str, Any]:
        """What a log line may say about this write: table and key, never the content."""
        return {"table": self.table, "key": dict(zip(self.key, self.key_values(), strict=True))}

    def to_json(self) -> str:
        return json.dumps(
            {
                "table": self.table,
                "kind": self.kind,
                "row": self.row,
                "key": list(self.key),
                "merge": self.merge,
                "only_from": list(self.only_from),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str, *, op_id: str, seq: int | None = None) -> Op:
        data = json.loads(raw)
        return cls(
            table=data["table"],
            kind=data["kind"],
            row=data["row"],
            key=tuple(data["key"]),
            merge=bool(data["merge"]),
            only_from=tuple(data["only_from"]),
            op_id=op_id,
            seq=seq,
        )


@dataclass
class Group:
    """Writes that go out as one request: same table, same kind, same columns."""

    table: str
    kind: Literal["upsert", "update"]
    key: tuple[str, ...]
    merge: bool
    # What is sent, one per key.
    ops: list[Op] = field(default_factory=list)
    # Everything the group stands for, including writes superseded by a later one.
    members: list[Op] = field(default_factory=list)
    _index: dict[tuple[Any, ...], int] = field(default_factory=dict, repr=False)

    def add(self, op: Op) -> None:
        self.members.append(op)
        if self.kind == "update":
            self.ops.append(op)
            return
        key = op.key_values()
        at = self._index.get(key)
        if at is None:
            self._index[key] = len(self.ops)
            self.ops.append(op)
        elif self.merge:
            self.ops[at] = op

    def split(self, max_rows: int) -> list[Group]:
        """Cut into groups of at most `max_rows` writes each (members follow their op's key)."""
        if len(self.ops) <= max_rows:
            return [self]
        parts: list[Group] = []
        for start in range(0, len(self.ops), max_rows):
            part = Group(self.table, self.kind, self.key, self.merge)
            chunk = self.ops[start : start + max_rows]
            keys = {op.key_values() for op in chunk}
            part.ops = list(chunk)
            part.members = [m for m in self.members if m.key_values() in keys]
            parts.append(part)
        return parts

    def halves(self) -> tuple[Group, Group]:
        middle = len(self.ops) // 2
        first = Group(self.table, self.kind, self.key, self.merge)
        second = Group(self.table, self.kind, self.key, self.merge)
        first.ops, second.ops = self.ops[:middle], self.ops[middle:]
        first_keys = {op.key_values() for op in first.ops}
        if self.kind == "update":
            first_ids = {op.op_id for op in first.ops}
            first.members = [m for m in self.members if m.op_id in first_ids]
            second.members = [m for m in self.members if m.op_id not in first_ids]
        else:
            first.members = [m for m in self.members if m.key_values() in first_keys]
            second.members = [m for m in self.members if m.key_values() not in first_keys]
        return first, second


def plan_batch(ops: list[Op], *, max_rows: int = 500) -> list[Group]:
    """Group a batch per table and columns, collapse same-key writes, order by dependency.

    Updates are never merged: each is its own request, in the order written (`live` before
    `completed`).
    """
    groups: list[Group] = []
    by_shape: dict[tuple[Any, ...], Group] = {}
    for op in ops:
        if op.kind == "update":
            group = Group(op.table, op.kind, op.key, op.merge)
            group.add(op)
            groups.append(group)
            continue
        shape = (op.table, op.merge, op.key, tuple(sorted(op.row)))
        found = by_shape.get(shape)
        if found is None:
            found = by_shape[shape] = Group(op.table, op.kind, op.key, op.merge)
            groups.append(found)
        found.add(op)
    rank = {table: i for i, table in enumerate(TABLE_ORDER)}
    groups.sort(key=lambda g: rank.get(g.table, len(rank)))  # stable: keeps write order
    return [part for group in groups for part in group.split(max_rows)]


# ---- failures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    transient: bool
    code: str
    message: str


# SQLSTATE classes worth retrying: connection, resources, operator intervention (restart,
# cancel), system errors, serialization failures and deadlocks.
_TRANSIENT_SQLSTATE_CLASSES = {"08", "53", "57", "58", "40", "XX"}
# Configuration problems (a wrong key, missing grants) are fixed by people, not by dropping
# writes: keep them in the outbox and keep retrying with backoff.
# An undefined table or column: a migration has not run yet (or PostgREST has not reloaded its
# schema cache), which time fixes; parking these would drop every write of a rolling deploy.
_TRANSIENT_SQLSTATES = {"55P03", "42501", "42P01", "42703"}


def classify(exc: BaseException) -> Failure:
    """Is this failure worth retrying? Messages never include row values (PostgREST puts those
    in `details`, which is dropped here)."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return Failure(True, "timeout", type(exc).__name__)
    if isinstance(exc, httpx.TransportError | OSError):
        return Failure(True, "network", type(exc).__name__)
    if isinstance(exc, APIError):
        code = str(exc.code or "")
        message = str(exc.message or "")[:300]
        return Failure(_api_error_is_transient(code), code or "unknown", message)
    return Failure(True, "unexpected", type(exc).__name__)


def _api_error_is_transient(code: str) -> bool:
    if not code:
        return True
    if code.isdigit() and len(code) == 3:  # an HTTP status without a PostgREST body (gateway)
        status = int(code)
        return status >= 500 or status in {401, 403, 408, 425, 429}
    if code.startswith("PGRST"):
        number = code[5:]
        # PGRST0xx: cannot reach the database; PGRST2xx: the schema cache lacks a table, column
        # or relation (a migration not applied yet); PGRST3xx: JWT problems (configuration).
        return number.startswith(("0", "2", "3"))
    if len(code) == 5:
        return code[:2] in _TRANSIENT_SQLSTATE_CLASSES or code in _TRANSIENT_SQLSTATES
    return True


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: between half and all of min(cap, base * 2**attempt),
    so writers that failed together do not retry together."""
    ceiling = min(cap, base * (2 ** min(attempt, 30)))
    return float(ceiling / 2 + rng.uniform(0, ceiling / 2))
