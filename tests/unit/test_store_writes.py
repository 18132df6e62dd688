"""The write path's pure parts: batching in dependency order, collapsing, failure classes,
backoff."""

from __future__ import annotations

import random

import httpx
import pytest
from postgrest.exceptions import APIError

from interview.writes import Op, backoff_delay, classify, plan_batch

pytestmark = pytest.mark.unit


def _upsert(table: str, key_value: int, value: str = "v", *, merge: bool = True) -> Op:
    return Op(
        table=table,
        kind="upsert",
        row={"interview_id": "i", "ordinal": key_value, "value": value},
        key=("interview_id", "ordinal"),
        merge=merge,
    )


def _status(status: str) -> Op:
    return Op(
        table="interviews",
        kind="update",
        row={"id": "i", "status": status},
        key=("id",),
        only_from=("waiting",),
    )


def test_groups_go_out_in_foreign_key_order() -> None:
    ops = [
        _status("live"),
        _upsert("answers", 1),
        _upsert("feedback", 1),
        _upsert("interview_questions", 1),
        _upsert("audit_events", 1, merge=False),
        _upsert("transcript_messages", 1),
        _upsert("interview_questions", 2),
    ]

    groups = plan_batch(ops)

    assert [g.table for g in groups] == [
        "interview_questions",
        "answers",
        "feedback",
        "transcript_messages",
        "audit_events",
        "interviews",
    ]
    assert [op.row["ordinal"] for op in groups[0].ops] == [1, 2]


def test_same_key_writes_collapse_latest_wins_for_merges() -> None:
    first, second, other = (
        _upsert("answers", 1, "old"),
        _upsert("answers", 1, "new"),
        _upsert("answers", 2),
    )

    (group,) = plan_batch([first, other, second])

    assert [op.row["value"] for op in group.ops] == ["new", "v"]
    assert group.members == [first, other, second]


def test_same_key_writes_collapse_first_wins_for_ignore_duplicates() -> None:
    (group,) = plan_batch(
        [
            _upsert("audit_events", 1, "first", merge=False),
            _upsert("audit_events", 1, "again", merge=False),
        ]
    )

    assert [op.row["value"] for op in group.ops] == ["first"]
    assert len(group.members) == 2


def test_updates_are_never_merged_and_keep_their_order() -> None:
    groups = plan_batch([_status("live"), _status("completed")])

    assert [[op.row["status"] for op in g.ops] for g in groups] == [["live"], ["completed"]]


def test_large_groups_are_split_and_halved_with_their_members() -> None:
    ops = [_upsert("answers", n) for n in range(1, 8)] + [_upsert("answers", 3, "newer")]

    parts = plan_batch(ops, max_rows=3)
    first, second = parts[0].halves()

    assert [len(p.ops) for p in parts] == [3, 3, 1]
    assert sum(len(p.members) for p in parts) == 8
    assert [op.row["ordinal"] for op in first.ops] == [1]
    assert [op.row["ordinal"] for op in second.ops] == [2, 3]
    assert len(second.members) == 3  # ordinal 3 stands for two writes


def test_columns_shape_the_groups() -> None:
    narrow = _upsert("answers", 1)
    wide = _upsert("answers", 2)
    wide.row["tags"] = []

    assert len(plan_batch([narrow, wide])) == 2


def test_an_op_survives_its_json_form() -> None:
    op = _status("completed")

    back = Op.from_json(op.to_json(), op_id=op.op_id, seq=7)

    assert (back.table, back.kind, back.row, back.key, back.only_from, back.seq) == (
        "interviews",
        "update",
        {"id": "i", "status": "completed"},
        ("id",),
        ("waiting",),
        7,
    )
    assert op.describe() == {"table": "interviews", "key": {"id": "i"}}


@pytest.mark.parametrize(
    ("exc", "transient", "code"),
    [
        (httpx.ConnectError("refused"), True, "network"),
        (httpx.ReadTimeout("slow"), True, "timeout"),
        (TimeoutError(), True, "timeout"),
        (APIError({"code": "502", "message": "Bad Gateway"}), True, "502"),
        (APIError({"code": "PGRST001", "message": "no connection"}), True, "PGRST001"),
        (APIError({"code": "PGRST301", "message": "JWT invalid"}), True, "PGRST301"),
        (APIError({"code": "40001", "message": "serialization"}), True, "40001"),
        (APIError({"code": "57P01", "message": "admin shutdown"}), True, "57P01"),
        (APIError({"code": "23514", "message": "check"}), False, "23514"),
        (APIError({"code": "23503", "message": "fk"}), False, "23503"),
        (APIError({"code": "22P02", "message": "bad uuid"}), False, "22P02"),
        # The schema cache lacks a column, table or relation: a migration has not run yet.
        (APIError({"code": "PGRST204", "message": "no column"}), True, "PGRST204"),
        (APIError({"code": "PGRST205", "message": "no table"}), True, "PGRST205"),
        (APIError({"code": "PGRST200", "message": "no relationship"}), True, "PGRST200"),
        (APIError({"code": "42P01", "message": "undefined table"}), True, "42P01"),
        (APIError({"code": "42703", "message": "undefined column"}), True, "42703"),
        # Other requests PostgREST refuses stay permanent.
        (APIError({"code": "PGRST102", "message": "bad body"}), False, "PGRST102"),
        (APIError({"code": "42601", "message": "syntax"}), False, "42601"),
        (APIError({"code": "400", "message": "Bad Request"}), False, "400"),
        (APIError({"code": "429", "message": "Too Many"}), True, "429"),
    ],
)
def test_failures_are_classified(exc: BaseException, transient: bool, code: str) -> None:
    failure = classify(exc)

    assert (failure.transient, failure.code) == (transient, code)


def test_classified_messages_drop_the_row_details() -> None:
    exc = APIError(
        {"code": "23514", "message": "violates check", "details": "Failing row contains (secret)"}
    )

    assert "secret" not in repr(classify(exc))


def test_backoff_grows_is_capped_and_jittered() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, base=0.2, cap=5.0, rng=rng) for n in range(12)]

    for n, delay in enumerate(delays):
        ceiling = min(5.0, 0.2 * 2**n)
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays[6:]}) > 1  # capped, but not in lockstep
