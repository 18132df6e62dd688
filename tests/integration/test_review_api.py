"""Review on the real stack: an override, a note and a decision through the token server show
in the report (the model's value beside the override), the list, the Markdown download and the
audit log with the reviewer; the list's search, status and decision filters and paging beyond
100 on Postgres + PostgREST."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from postgrest.exceptions import APIError

from devstack import SupabaseStack
from interview.evaluation import CheckedQuestion, CheckedScore, EvaluationReport
from interview.store import (
    INTERVIEW_LIST_VIEW,
    Answer,
    AskedQuestion,
    EvaluationResult,
    EvaluationState,
    InterviewStatus,
    QuestionOutcome,
    Scores,
    Table,
)
from interview.supabase_store import SupabaseStore
from supabase import create_async_client
from tests.fixtures.agent import eventually
from tests.fixtures.store import new_interview
from tests.fixtures.token_server import TokenServer
from token_server.auth import key_id

pytestmark = pytest.mark.integration


async def _evaluated_interview(store: SupabaseStore, name: str) -> UUID:
    """An ended interview with two questions, its evaluation done (as the runner leaves it).
    It ends now: the session token server's runner waits its settle time before claiming, so
    the test's claim (no settle) is first."""
    t0 = datetime.now(UTC) - timedelta(minutes=6)
    iid = (await store.create_interview(new_interview(candidate_name=name))).id
    store.record_status(iid, InterviewStatus.live, at=t0)
    for ordinal in (1, 2):
        store.record_question(
            AskedQuestion(
                interview_id=iid,
                ordinal=ordinal,
                bank_question_id=None,
                text=f"Question {ordinal}?",
                topic="systems",
                difficulty=3,
                asked_at=t0 + timedelta(minutes=ordinal),
                outcome=QuestionOutcome.answered,
            )
        )
        store.record_answer(
            Answer(
                interview_id=iid,
                ordinal=ordinal,
                transcript="An answer.",
                scores=Scores(clarity=3, relevance=3, depth=3, accuracy=3),
            )
        )
    store.record_status(iid, InterviewStatus.completed, at=datetime.now(UTC))
    assert await store.flush(10) == 0
    owner = f"test-{uuid.uuid4().hex[:8]}"
    claimed = await store.claim_evaluation(owner=owner, lease_s=60, interview_id=iid)
    assert claimed is not None
    score = CheckedScore(value=2, reason="thin", supported=True)
    checked = [
        CheckedQuestion(
            ordinal=o,
            outcome="answered",
            clarity=score,
            relevance=score,
            depth=score,
            accuracy=score,
        )
        for o in (1, 2)
    ]
    report = EvaluationReport(
        questions=checked,
        strengths=[],
        concerns=["thin"],
        recommendation="no",
        model_recommendation="no",
        planned_questions=2,
        scored_questions=2,
        dropped_quotes=0,
    )
    finished = await store.finish_evaluation(
        iid,
        owner=owner,
        result=EvaluationResult(
            state=EvaluationState.done, model="local", report=report.model_dump(mode="json")
        ),
    )
    assert finished
    return iid


async def test_override_note_and_decision_round_trip(
    token_server: TokenServer, store: SupabaseStore, supabase_stack: SupabaseStack
) -> None:
    name = f"Review {uuid.uuid4().hex[:8]}"
    iid = await _evaluated_interview(store, name)
    reviewer = key_id(token_server.api_key)

    async with httpx.AsyncClient(
        base_url=token_server.url, headers=token_server.auth_headers
    ) as api:
        overridden = await api.put(
            f"/api/interviews/{iid}/review/scores/1/depth",
            json={"value": 5, "reason": "covered sharding"},
        )
        noted = await api.post(
            f"/api/interviews/{iid}/review/notes", json={"text": "Ask about queues next"}
        )
        decided = await api.put(f"/api/interviews/{iid}/review/decision", json={"value": "advance"})
        report = (await api.get(f"/api/interviews/{iid}/report")).json()
        listed = (await api.get("/api/interviews", params={"q": name.upper()})).json()["items"]
        markdown = await api.get(f"/api/interviews/{iid}/report.md")

    assert [r.status_code for r in (overridden, noted, decided)] == [200, 200, 200]
    assert decided.json() == report
    depth = report["questions"][0]["scores"]["depth"]
    assert (depth["value"], depth["effective"], depth["override"]["value"]) == (2, 5, 5)
    assert depth["override"]["reviewer"] == reviewer
    assert report["overall"]["depth"] == 3.5
    assert report["review"]["decision"]["value"] == "advance"
    assert report["review"]["notes"][0]["text"] == "Ask about queues next"
    assert [(i["id"], i["recommendation"], i["decision"]) for i in listed] == [
        (str(iid), "no", "advance")
    ]
    assert markdown.status_code == 200
    assert f"| Depth | 2 | 5 ({reviewer}: covered sharding) | 5 |" in markdown.text

    async def audited() -> list[str]:
        rows = supabase_stack.postgres.psql(
            "select kind || ' ' || (detail->>'reviewer') from audit_events"
            f" where interview_id = '{iid}' and kind like 'review%' order by occurred_at"
        )
        return rows.splitlines() if len(rows.splitlines()) == 3 else []

    assert await eventually(audited, "the review audit events", timeout=15) == [
        f"review_score_override {reviewer}",
        f"review_note {reviewer}",
        f"review_decision {reviewer}",
    ]


async def test_list_filters_and_pages_beyond_a_hundred(
    token_server: TokenServer, store: SupabaseStore
) -> None:
    role = f'Pager {uuid.uuid4().hex[:8]} (50%_off, "x")'
    made = await asyncio.gather(
        *(store.create_interview(new_interview(role=role)) for _ in range(105))
    )
    ended = [i.id for i in made[:3]]
    now = datetime.now(UTC)
    for iid in ended:
        store.record_question(
            AskedQuestion(
                interview_id=iid,
                ordinal=1,
                bank_question_id=None,
                text="Q?",
                topic="t",
                difficulty=1,
                asked_at=now,
            )
        )
        store.record_status(iid, InterviewStatus.completed, at=now)
    assert await store.flush(10) == 0

    async with httpx.AsyncClient(
        base_url=token_server.url, headers=token_server.auth_headers
    ) as api:
        decided = await api.put(
            f"/api/interviews/{ended[0]}/review/decision", json={"value": "reject"}
        )

        async def page(**params: Any) -> dict[str, Any]:
            response = await api.get("/api/interviews", params={"q": role.lower(), **params})
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        first = await page(limit=100)
        second = await page(limit=100, offset=first["next_offset"])
        completed = await page(status="completed")
        rejected = await page(decision="reject")
        undecided = await page(decision="none", limit=100, offset=100)
        wildcard = await page(q=role[:14] + "%")

    assert decided.status_code == 200
    assert (len(first["items"]), first["next_offset"]) == (100, 100)
    assert (len(second["items"]), second["next_offset"]) == (5, None)
    seen = [i["id"] for i in first["items"] + second["items"]]
    assert sorted(seen) == sorted(str(i.id) for i in made)
    created = [i["created_at"] for i in first["items"] + second["items"]]
    assert created == sorted(created, reverse=True)
    assert {i["id"] for i in completed["items"]} == {str(i) for i in ended}
    assert [i["id"] for i in rejected["items"]] == [str(ended[0])]
    # 104 without a decision: the second page holds the last 4.
    assert len(undecided["items"]) == 4
    assert wildcard["items"] == []


async def test_anon_is_refused_on_the_list_view_and_the_review_log(
    supabase_stack: SupabaseStack,
) -> None:
    anon = await create_async_client(supabase_stack.url, supabase_stack.anon_key)
    codes = []
    try:
        for relation in (INTERVIEW_LIST_VIEW, Table.review_events.value):
            with pytest.raises(APIError) as refused:
                await anon.table(relation).select("*").limit(1).execute()
            codes.append(refused.value.code)
    finally:
        await anon.postgrest.aclose()

    assert codes == ["42501", "42501"]  # permission denied, not an empty answer
