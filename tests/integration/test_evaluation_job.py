"""The evaluation job on the real store against the local server's text API (realtime_local,
the `openai` package's real Chat Completions calls): insufficient evidence after one of five
questions, a failing or refusing model retried until it answers, once, with the retries audited,
and the worker command.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from devstack import SupabaseStack
from devstack.tools import REPO_ROOT
from interview.evaluator import EvaluationRunner, build_client
from interview.settings import EvaluatorSettings
from interview.store import (
    AskedQuestion,
    EvaluationState,
    InterviewStatus,
    QuestionOutcome,
    Speaker,
    TranscriptMessage,
)
from interview.supabase_store import SupabaseStore
from realtime_local import RealtimeServer
from tests.fixtures.agent import audit_kinds
from tests.fixtures.realtime import ServerFactory
from tests.fixtures.store import new_interview
from tests.fixtures.token_server import TokenServer

pytestmark = pytest.mark.integration

ANSWER = "An index is a B-tree kept in sorted order, so lookups are fast but writes cost more."


def evaluator_settings(text: RealtimeServer, **overrides: Any) -> EvaluatorSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "openai_api_key": SecretStr("local-test-key"),
        "openai_base_url": text.base_url,
        "evaluator_settle_s": 0,
        "evaluator_retry_base_s": 0.05,
        "evaluator_retry_cap_s": 0.2,
        "evaluator_timeout_s": 10,
        "evaluator_lease_s": 30,
        **overrides,
    }
    return EvaluatorSettings(_env_file=None, **values)  # type: ignore[call-arg]


async def ended_interview(store: SupabaseStore, *, planned: int, asked: int) -> uuid.UUID:
    """An interview that ended after `asked` of `planned` questions, each answered."""
    iid = (await store.create_interview(new_interview(question_count=planned))).id
    # It ends now: a runner given EVALUATOR_ENDED_AFTER=<its end> sees no earlier test's.
    t0 = datetime.now(UTC) - timedelta(minutes=3)
    store.record_status(iid, InterviewStatus.live, at=t0)
    for n in range(1, asked + 1):
        at = t0 + timedelta(seconds=30 * n)
        store.record_question(
            AskedQuestion(
                interview_id=iid,
                ordinal=n,
                bank_question_id=None,
                text="Explain what a database index is and what it costs.",
                topic="databases",
                difficulty=2,
                asked_at=at,
                outcome=QuestionOutcome.answered,
            )
        )
        for k, (speaker, text) in enumerate(
            [
                (Speaker.interviewer, "Explain what a database index is."),
                (Speaker.candidate, ANSWER),
            ]
        ):
            store.append_transcript(
                TranscriptMessage(
                    interview_id=iid,
                    item_id=f"item_{n}_{k}",
                    speaker=speaker,
                    text=text,
                    started_at=at + timedelta(seconds=1 + 5 * k),
                )
            )
    store.record_status(iid, InterviewStatus.completed, at=datetime.now(UTC))
    assert await store.flush(10) == 0
    return iid


async def report(token_server: TokenServer, iid: uuid.UUID) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=token_server.url, headers=token_server.auth_headers
    ) as client:
        resp = await client.get(f"/api/interviews/{iid}/report")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_an_interview_ended_after_one_of_five_questions_is_insufficient_evidence(
    store: SupabaseStore,
    make_realtime_server: ServerFactory,
    token_server: TokenServer,
) -> None:
    text = await make_realtime_server(None)
    iid = await ended_interview(store, planned=5, asked=1)
    settings = evaluator_settings(text)
    async with build_client(settings) as client:
        runner = EvaluationRunner(store, settings, client)
        assert await runner.run_once(interview_id=iid) == iid

    body = await report(token_server, iid)

    assert body["evaluation"]["state"] == "done"
    assert body["evaluation"]["recommendation"] == "insufficient_evidence"
    assert body["interview"]["questions_asked"] == 1
    assert body["interview"]["questions_planned"] == 5
    (q1,) = body["questions"]
    assert q1["scores"]["depth"] is not None and q1["scores"]["depth"]["supported"]
    assert all(e["quote"] in ANSWER for e in q1["evidence"])
    assert text.text.calls == 1


async def test_a_failing_model_is_retried_and_two_runners_evaluate_the_interview_once(
    store: SupabaseStore,
    make_realtime_server: ServerFactory,
    supabase_stack: SupabaseStack,
) -> None:
    text = await make_realtime_server(None)
    text.faults.update({"text_failures": 2, "text_failure_kind": "error"})
    iid = await ended_interview(store, planned=2, asked=2)
    settings = evaluator_settings(text)
    async with build_client(settings) as client:
        # Two runners (two token server replicas) race for the same interview.
        runners = [EvaluationRunner(store, settings, client) for _ in range(2)]
        claimed = await asyncio.gather(*(r.run_once(interview_id=iid) for r in runners))
    assert await store.flush(10) == 0

    assert sorted(claimed, key=str) == sorted([iid, None], key=str)
    stored = await store.get_evaluation(iid)
    assert stored is not None
    assert stored.state is EvaluationState.done
    assert stored.attempts == 3 and stored.claims == 1
    assert stored.report is not None and stored.report["recommendation"] != "insufficient_evidence"
    # Three calls: two failed, one answered; nothing more.
    assert text.text.calls == 3
    kinds = [k for k in audit_kinds(supabase_stack, iid) if k.startswith("evaluation_")]
    assert kinds == [
        "evaluation_started",
        "evaluation_retried",
        "evaluation_retried",
        "evaluation_done",
    ]


async def test_the_worker_command_retries_a_refusing_model_and_stores_one_report(
    store: SupabaseStore,
    make_realtime_server: ServerFactory,
    supabase_stack: SupabaseStack,
    tmp_path: Any,
) -> None:
    text = await make_realtime_server(None)
    text.faults.update({"text_failures": 2, "text_failure_kind": "refusal"})
    iid = await ended_interview(store, planned=2, asked=2)
    ended = await store.get_interview(iid)
    assert ended is not None and ended.ended_at is not None
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "SUPABASE_URL": supabase_stack.url,
        "SUPABASE_SERVICE_ROLE_KEY": supabase_stack.service_role_key,
        "OPENAI_API_KEY": "local-test-key",
        "OPENAI_BASE_URL": text.base_url,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        # Only this test's interview: the session database holds other tests' ended ones.
        "EVALUATOR_ENDED_AFTER": ended.ended_at.isoformat(),
        "EVALUATOR_SETTLE_S": "0",
        "EVALUATOR_RETRY_BASE_S": "0.05",
        "EVALUATOR_RETRY_CAP_S": "0.2",
        "REHEARSAL_MODEL": "true",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "interview.evaluator",
        "--once",
        env=env,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, output.decode(errors="replace")[-2000:]

    stored = await store.get_evaluation(iid)
    assert stored is not None and stored.state is EvaluationState.done, stored
    assert stored.attempts == 3
    assert stored.cost_usd == 0.0  # the local server is not paid for
    assert stored.input_tokens > 0
    assert text.text.calls == 3
    retried = supabase_stack.postgres.psql(
        "select detail->>'code' from audit_events "
        f"where interview_id = '{iid}' and kind = 'evaluation_retried' order by occurred_at"
    ).split()
    assert retried == ["refusal", "refusal"]
