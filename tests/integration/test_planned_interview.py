"""An interview created with the plan the hiring team confirmed, on the real stack (Postgres +
PostgREST, the token server, LiveKit): the interview, its plan and its documents are stored
together or not at all, the plan reads back, the candidate's arrival dispatches version-2
metadata naming the plan, the plan and the documents are for the service role only, and they
go with the interview when it is deleted; the report's evaluation judges a custom question
against its ideal answer.

No agent worker runs here: the dispatch is read back from LiveKit's API (a dispatch no worker
takes stays listed), under an agent name of this module's own so no other test's worker takes
it.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from livekit import api, rtc
from postgrest.exceptions import APIError
from pydantic import SecretStr

from devstack import LiveKitServer, SupabaseStack
from devstack.services import make_supabase_key
from interview.contract import SCHEMA_VERSION, decode_metadata
from interview.evaluator import EvaluationRunner, build_client
from interview.planning import InterviewDocuments, PlannedQuestion, QuestionSource, StoredPlan
from interview.settings import EvaluatorSettings
from interview.store import (
    AskedQuestion,
    EvaluationState,
    InterviewStatus,
    QuestionOutcome,
    Speaker,
    StoreRejected,
    TranscriptMessage,
)
from interview.supabase_store import SupabaseStore
from supabase import create_async_client
from tests.fixtures.agent import eventually
from tests.fixtures.realtime import ServerFactory
from tests.fixtures.store import new_interview
from tests.fixtures.token_server import TokenServer, TokenServerStarter, agree_and_join

pytestmark = pytest.mark.integration

SETTINGS: dict[str, Any] = {
    "candidate_name": "Planned Candidate",
    "role": "Backend engineer",
    "level": "senior",
    "type": "technical",
    "mode": "screening",
    "duration_minutes": 10,
    "question_count": 5,
}
DOCUMENTS = {
    "job_description": "We run Kubernetes and Postgres at scale.",
    "resume_text": "Five years of Go at a payments company.",
    "resume_filename": "cv.pdf",
    "resume_pages": 1,
}


def questions(bank_id: str) -> list[dict[str, Any]]:
    return [
        {
            "text": "Walk me through the last Postgres migration you ran.",
            "source": "custom",
            "verbatim": True,
            "ideal_answer": "Backfill, dual writes, a reversible cut-over.",
            "time_limit_s": 120,
            "follow_up": "one",
        },
        {
            "text": "Tell me about a production incident you led.",
            "source": "custom",
            "ideal_answer": "Timeline, mitigation first, blameless review, follow-ups.",
            "follow_up": "none",
        },
        {
            "text": "Explain how an index speeds up a query.",
            "source": "bank",
            "bank_question_id": bank_id,
            "topic": "databases",
        },
    ]


async def service_rows(supabase: SupabaseStack, table: str, **params: str) -> list[Any]:
    key = supabase.service_role_key
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.get(
            f"{supabase.url}/rest/v1/{table}",
            params=params,
            headers={"apikey": key, "Authorization": f"Bearer {key}"},
        )
    assert resp.status_code == 200, resp.text
    found: list[Any] = resp.json()
    return found


@pytest.fixture(scope="module")
def agent_name() -> str:
    return f"planned-test-{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def server(start_token_server: TokenServerStarter, agent_name: str) -> TokenServer:
    return start_token_server(agent_name=agent_name, agent_dispatch_grace_s=30.0)


@pytest.fixture
async def http(server: TokenServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server.url, headers=server.auth_headers, timeout=20
    ) as client:
        yield client


@pytest.fixture
async def lkapi(livekit_server: LiveKitServer) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(livekit_server.url, livekit_server.api_key, livekit_server.api_secret)
    yield client
    await client.aclose()


async def test_a_planned_interview_is_stored_read_back_and_dispatched_with_its_plan_id(
    http: httpx.AsyncClient,
    lkapi: api.LiveKitAPI,
    supabase_stack: SupabaseStack,
    agent_name: str,
) -> None:
    [bank] = await service_rows(supabase_stack, "question_bank", select="id", limit="1")
    plan = {
        "questions": questions(bank["id"]),
        "role_summary": "Backend engineer on the data platform.",
        "candidate_summary": "Five years of Go.",
    }
    body = {**SETTINGS, "question_plan": plan, "documents": DOCUMENTS, "drafted_by": "offline"}

    resp = await http.post("/api/interviews", json=body)

    assert resp.status_code == 201, resp.text
    created = resp.json()
    iid = created["interview"]["id"]
    plan_id = created["interview"]["plan_id"]
    assert plan_id and created["interview"]["plan"]["question_count"] == 3
    room = created["room"]
    try:
        # What is stored, read with the service key.
        [row] = await service_rows(
            supabase_stack, "interviews", id=f"eq.{iid}", select="plan_id,question_count"
        )
        assert row == {"plan_id": plan_id, "question_count": 3}
        [stored_plan] = await service_rows(
            supabase_stack, "question_plans", interview_id=f"eq.{iid}", select="*"
        )
        assert stored_plan["id"] == plan_id and stored_plan["drafted_by"] == "offline"
        assert [q["text"] for q in stored_plan["questions"]] == [
            q["text"] for q in plan["questions"]
        ]
        assert stored_plan["questions"][0]["ideal_answer"] == plan["questions"][0]["ideal_answer"]
        assert stored_plan["questions"][2]["bank_question_id"] == bank["id"]
        [documents] = await service_rows(
            supabase_stack, "interview_documents", interview_id=f"eq.{iid}", select="*"
        )
        assert {k: documents[k] for k in DOCUMENTS} == DOCUMENTS
        audits = await service_rows(
            supabase_stack, "audit_events", interview_id=f"eq.{iid}", kind="eq.interview_created"
        )
        assert audits[0]["detail"]["plan_id"] == plan_id
        assert audits[0]["detail"]["planned_questions"] == 3
        assert "payments company" not in str(audits) and "Kubernetes" not in str(audits)

        # The team's view of the plan.
        read = await http.get(f"/api/interviews/{iid}/plan")
        assert read.status_code == 200, read.text
        view = read.json()
        assert view["id"] == plan_id and view["interview_id"] == iid
        assert view["questions"] == [
            PlannedQuestion.model_validate(q).model_dump(mode="json") for q in plan["questions"]
        ]
        assert view["candidate_summary"] == plan["candidate_summary"]
        detail = await http.get(f"/api/interviews/{iid}")
        assert detail.json()["interview"]["plan_id"] == plan_id
        assert "payments company" not in detail.text + read.text  # the résumé

        # The candidate arrives: the dispatch names the plan, in version 2 of the contract.
        join = await agree_and_join(
            http, created["invite"]["secret"], headers={"Authorization": ""}
        )
        assert join.status_code == 200, join.text
        grant = join.json()
        candidate = rtc.Room()
        await candidate.connect(
            grant["livekit_url"], grant["token"], rtc.RoomOptions(auto_subscribe=False)
        )
        try:

            async def ours() -> list[api.AgentDispatch]:
                listed = await lkapi.agent_dispatch.list_dispatch(room)
                return [d for d in listed if d.agent_name == agent_name]

            [dispatch] = await eventually(ours, "the interviewer's dispatch", timeout=20)
        finally:
            await candidate.disconnect()
        metadata = decode_metadata(dispatch.metadata)
        assert metadata.plan_id == UUID(plan_id)
        assert metadata.schema_version == SCHEMA_VERSION == 2
        assert metadata.question_count == 3
        assert "Postgres migration" not in dispatch.metadata  # the id, never the text
    finally:
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=room))


PLAN_LOC = ["body", "question_plan", "questions"]
BAD: list[tuple[str, list[dict[str, Any]], list[str]]] = [
    ("empty", [], PLAN_LOC),
    ("21 questions", [{"text": "Tell me about yourself.", "source": "custom"}] * 21, PLAN_LOC),
    ("text of 2", [{"text": "ok", "source": "custom"}], [*PLAN_LOC, "0", "text"]),
    (
        "bank without id",
        [{"text": "Explain an index.", "source": "bank"}],
        [*PLAN_LOC, "0", "bank_question_id"],
    ),
]


async def test_bad_plans_are_refused_naming_the_field_and_nothing_is_written(
    token_server: TokenServer, supabase_stack: SupabaseStack
) -> None:
    name = f"Refused {secrets.token_hex(4)}"
    async with httpx.AsyncClient(
        base_url=token_server.url, headers=token_server.auth_headers, timeout=20
    ) as http:
        for what, items, loc in BAD:
            body = {
                **SETTINGS,
                "candidate_name": name,
                "question_plan": {"questions": items},
                "documents": DOCUMENTS,
            }
            resp = await http.post("/api/interviews", json=body)
            assert resp.status_code == 422, (what, resp.text)
            error = resp.json()["error"]
            assert error["code"] == "validation_error"
            assert [d["loc"] for d in error["details"]] == [loc], what

    assert await service_rows(supabase_stack, "interviews", candidate_name=f"eq.{name}") == []


async def test_a_plan_the_database_refuses_leaves_no_interview(store: SupabaseStore) -> None:
    """The documents' row is refused (a résumé of 11 pages, past the column's check; the API
    refuses it before, so the model is built unchecked): the interview and the plan, written
    first in the same function, are not kept either. Then a plan of no questions."""
    new = new_interview()
    plan = StoredPlan(
        id=uuid4(),
        interview_id=new.id,
        questions=[PlannedQuestion(text="Explain an index.", source=QuestionSource.custom)],
    )
    refused_documents = InterviewDocuments.model_construct(
        job_description="", resume_text="Go.", resume_filename=None, resume_pages=11
    )

    with pytest.raises(StoreRejected) as refused:
        await store.create_interview(new, plan=plan, documents=refused_documents)

    assert refused.value.code == "23514"  # check_violation
    assert await store.get_interview(new.id) is None
    assert await store.load_plan(plan.id) is None

    empty = StoredPlan.model_construct(
        id=uuid4(), interview_id=new.id, questions=[], role_summary="", candidate_summary=""
    )
    with pytest.raises(StoreRejected):
        await store.create_interview(new, plan=empty.model_copy(update={"drafted_by": "manual"}))
    assert await store.get_interview(new.id) is None

    # The same create succeeds once the documents are good, and a retry writes nothing new.
    good = InterviewDocuments(resume_text="Go.", resume_pages=1)
    first = await store.create_interview(new, plan=plan, documents=good)
    again = await store.create_interview(new, plan=plan, documents=good)
    assert first.plan_id == plan.id and again == first
    loaded = await store.load_plan(plan.id)
    assert loaded is not None and loaded.questions == plan.questions


async def test_plans_and_documents_are_for_the_service_role_only(
    supabase_stack: SupabaseStack, store: SupabaseStore
) -> None:
    new = new_interview()
    plan = StoredPlan(
        id=uuid4(),
        interview_id=new.id,
        questions=[PlannedQuestion(text="Explain an index.", source=QuestionSource.custom)],
    )
    await store.create_interview(new, plan=plan, documents=InterviewDocuments(resume_text="Go."))
    authenticated = make_supabase_key(supabase_stack.jwt_secret, "authenticated")
    params = {
        "p_interview": {"id": str(uuid4())},
        "p_plan": {"id": str(uuid4())},
        "p_documents": None,
    }
    refused: dict[tuple[str, str], str | None] = {}
    for role, key in (("anon", supabase_stack.anon_key), ("authenticated", authenticated)):
        client = await create_async_client(supabase_stack.url, key)
        try:
            for table in ("question_plans", "interview_documents"):
                with pytest.raises(APIError) as read:
                    await client.table(table).select("*").limit(1).execute()
                refused[(role, table)] = read.value.code
            with pytest.raises(APIError) as call:
                await client.rpc("create_planned_interview", params).execute()
            refused[(role, "create_planned_interview")] = call.value.code
        finally:
            await client.postgrest.aclose()

    # 42501: permission denied, not an empty answer.
    assert refused == {
        (role, what): "42501"
        for role in ("anon", "authenticated")
        for what in ("question_plans", "interview_documents", "create_planned_interview")
    }


async def test_deleting_an_interview_deletes_its_plan_and_documents(
    supabase_stack: SupabaseStack, store: SupabaseStore
) -> None:
    """The product has no delete endpoint: the cascade is checked at the database (as the
    service role deletes through PostgREST)."""
    new = new_interview()
    plan = StoredPlan(
        id=uuid4(),
        interview_id=new.id,
        questions=[PlannedQuestion(text="Explain an index.", source=QuestionSource.custom)],
    )
    await store.create_interview(new, plan=plan, documents=InterviewDocuments(resume_text="Go."))
    iid = f"eq.{new.id}"
    assert len(await service_rows(supabase_stack, "question_plans", interview_id=iid)) == 1
    assert len(await service_rows(supabase_stack, "interview_documents", interview_id=iid)) == 1

    service = await create_async_client(supabase_stack.url, supabase_stack.service_role_key)
    try:
        await service.table("interviews").delete().eq("id", str(new.id)).execute()
    finally:
        await service.postgrest.aclose()

    assert await service_rows(supabase_stack, "interviews", id=iid) == []
    assert await service_rows(supabase_stack, "question_plans", interview_id=iid) == []
    assert await service_rows(supabase_stack, "interview_documents", interview_id=iid) == []


IDEAL = "Backfill the new column, dual writes, then a reversible cut-over behind a flag."
MIGRATION_ANSWER = (
    "We added the column, ran a backfill in batches, kept dual writes on both schemas for a "
    "week, and made the cut-over reversible with a flag."
)


async def test_the_report_scores_a_custom_question_against_its_ideal_answer(
    store: SupabaseStore, make_realtime_server: ServerFactory
) -> None:
    """The evaluation job on the real store and the local server's text API: the custom
    question's ideal answer, read from the stored plan through `plan_item`, is what the
    answer is judged against."""
    new = new_interview(question_count=1)
    plan = StoredPlan(
        id=uuid4(),
        interview_id=new.id,
        questions=[
            PlannedQuestion(
                text="Walk me through the last schema migration you ran.",
                source=QuestionSource.custom,
                ideal_answer=IDEAL,
            )
        ],
    )
    iid = (await store.create_interview(new, plan=plan)).id
    t0 = datetime.now(UTC) - timedelta(minutes=2)
    store.record_status(iid, InterviewStatus.live, at=t0)
    store.record_question(
        AskedQuestion(
            interview_id=iid,
            ordinal=1,
            bank_question_id=None,
            text=plan.questions[0].text,
            topic="general",
            difficulty=3,
            asked_at=t0 + timedelta(seconds=5),
            outcome=QuestionOutcome.answered,
            plan_item=1,
        )
    )
    for k, (speaker, text) in enumerate(
        [(Speaker.interviewer, plan.questions[0].text), (Speaker.candidate, MIGRATION_ANSWER)]
    ):
        store.append_transcript(
            TranscriptMessage(
                interview_id=iid,
                item_id=f"planned_{k}",
                speaker=speaker,
                text=text,
                started_at=t0 + timedelta(seconds=6 + 5 * k),
            )
        )
    store.record_status(iid, InterviewStatus.completed, at=datetime.now(UTC))
    assert await store.flush(10) == 0
    text_api = await make_realtime_server(None)
    settings = EvaluatorSettings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        openai_api_key=SecretStr("local-test-key"),
        openai_base_url=text_api.base_url,
        evaluator_settle_s=0,
        evaluator_timeout_s=10,
    )

    async with build_client(settings) as client:
        assert await EvaluationRunner(store, settings, client).run_once(interview_id=iid) == iid

    stored = await store.get_evaluation(iid)
    assert stored is not None and stored.state is EvaluationState.done and stored.report
    [q1] = stored.report["questions"]
    reason = q1["accuracy"]["reason"]
    assert "of the strong-answer notes" in reason, reason
    assert "(backfill, column, dual, writes" in reason, reason
    assert q1["accuracy"]["value"] >= 4
