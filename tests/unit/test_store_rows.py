"""Model <-> row mapping and the keys that make writes idempotent."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from interview.rows import (
    audit_event_id,
    audit_op,
    interview_from_row,
    new_interview_row,
    status_op,
    usage_op,
)
from interview.store import InterviewStatus, Usage
from tests.fixtures.store import new_interview

pytestmark = pytest.mark.unit

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_an_interview_row_maps_back_to_the_model() -> None:
    new = new_interview(focus_areas=["apis", "sql"], duration_minutes=30)
    row = new_interview_row(new) | {"created_at": AT.isoformat(), "cost_usd": 0.5}

    interview = interview_from_row(row)

    assert interview.id == new.id
    assert interview.plan == new.plan
    assert interview.status is InterviewStatus.waiting
    assert interview.usage == Usage(cost_usd=0.5)
    json.dumps(row)  # rows travel through the outbox as JSON


@pytest.mark.parametrize(
    ("status", "column", "allowed_from"),
    [
        (InterviewStatus.live, "started_at", ("waiting",)),
        # The agent's own ends replace the webhook's `abandoned` (see Store.record_status).
        (InterviewStatus.completed, "ended_at", ("waiting", "live", "abandoned")),
        (InterviewStatus.failed, "ended_at", ("waiting", "live", "abandoned")),
        (InterviewStatus.abandoned, "ended_at", ("waiting", "live")),
        (InterviewStatus.cancelled, "ended_at", ("waiting", "live")),
    ],
)
def test_status_updates_move_forward_only(
    status: InterviewStatus, column: str, allowed_from: tuple[str, ...]
) -> None:
    op = status_op(uuid.uuid4(), status, at=AT, summary=None)

    assert op.kind == "update"
    assert op.row[column] == AT.isoformat()
    assert "summary" not in op.row
    assert op.only_from == allowed_from


def test_usage_is_an_unconditional_update() -> None:
    op = usage_op(uuid.uuid4(), Usage(input_tokens=3))

    assert (op.kind, op.only_from, op.row["input_tokens"]) == ("update", (), 3)


def test_audit_ids_are_derived_from_kind_and_key() -> None:
    assert audit_event_id("webhook", "evt_1") == audit_event_id("webhook", "evt_1")
    assert audit_event_id("webhook", "evt_1") != audit_event_id("other", "evt_1")
    assert audit_event_id("webhook", None) != audit_event_id("webhook", None)


def test_audit_detail_is_made_json_safe() -> None:
    ident = uuid.uuid4()
    op = audit_op(
        "observer.joined", interview_id=ident, detail={"id": ident, "at": AT}, key=None, at=AT
    )

    assert op.row["detail"] == {"id": str(ident), "at": str(AT)}
    assert op.merge is False
