"""The evaluation after a spoken interview, end to end: the real worker interviews a candidate
who answers one question with what a strong answer covers and the other poorly; the token
server's evaluation job (its lifespan task) evaluates the interview once with the local text
API, and its report ranks the strong answer higher, with verbatim quotes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from devstack import LiveKitServer, SupabaseStack
from interview.evaluation import normalise
from interview.supabase_store import SupabaseStore
from tests.fixtures.agent import (
    Candidate,
    WorkerStarter,
    audit_kinds,
    dispatch,
    eventually,
    interview_closed,
    join_candidate,
    new_plan,
    rows,
)
from tests.fixtures.token_server import TokenServerStarter

pytestmark = pytest.mark.integration

POOR = "Um, I am not sure. Maybe, uh, I would just restart it and hope."


async def test_a_spoken_interview_is_evaluated_once_and_the_strong_answer_ranks_higher(
    livekit_server: LiveKitServer,
    supabase_stack: SupabaseStack,
    store: SupabaseStore,
    start_worker: WorkerStarter,
    start_token_server: TokenServerStarter,
    candidates: list[Candidate],
) -> None:
    worker = start_worker(questions=2)
    server = start_token_server(
        evaluator_enabled=True,
        openai_base_url=worker.realtime.base_url,
        openai_api_key=SecretStr("local-test-key"),
        rehearsal_model=True,
        # Only this test's interview: the session database holds other tests' ended ones.
        evaluator_ended_after=datetime.now(UTC),
        evaluator_settle_s=2,
        evaluator_interval_s=0.5,
    )
    interview = await dispatch(livekit_server, store, worker, new_plan(question_count=2))
    iid = interview.interview_id
    candidate = await join_candidate(livekit_server, interview, candidates)

    await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)

    async def first_question() -> Any:
        detail = await store.interview_detail(iid)
        return detail.questions[0] if detail and detail.questions else None

    asked = await eventually(first_question, "the first question to be stored")
    assert asked.bank_question_id is not None
    notes = (await store.bank_questions({asked.bank_question_id}))[asked.bank_question_id]
    # What the local model hears for each turn: the strong answer's notes, then a poor answer.
    strong = f"I would say this. {notes.strong_answer}"
    worker.realtime.set_scenario({"user_transcripts": [strong, POOR]})
    await candidate.say("Here is my answer to that.")
    await candidate.wait_until_agent("listening", timeout=60, after_speaking=True)
    await candidate.say("Here is my answer to that one.")
    await eventually(lambda: interview_closed(supabase_stack, iid), "the interview to close", 90)

    async with httpx.AsyncClient(base_url=server.url, headers=server.auth_headers) as client:

        async def evaluated() -> Any:
            body = (await client.get(f"/api/interviews/{iid}/report")).json()
            return body if body["evaluation"]["state"] in {"done", "failed"} else None

        report = await eventually(evaluated, "the evaluation", 60)
        page = (await client.get(f"/api/interviews/{iid}/transcript?limit=500")).json()

    assert report["evaluation"]["state"] == "done", report["evaluation"]
    good, poor = report["questions"]
    for rubric in ("depth", "accuracy"):
        assert good["scores"][rubric]["effective"] > poor["scores"][rubric]["effective"], rubric
    assert good["scores"]["depth"]["supported"]
    # Every stored quote is the candidate's own words, in the message it cites.
    said = {m["id"]: m for m in page["items"] if m["speaker"] == "candidate"}
    quotes = [e for q in report["questions"] for e in q["evidence"]]
    assert quotes
    for quote in quotes:
        assert quote["message_id"] in said, quote
        assert normalise(quote["quote"]) in normalise(said[quote["message_id"]]["text"])
    assert normalise(strong) in {normalise(m["text"]) for m in said.values()}
    # The live scores stay beside the evaluation's.
    assert good["live_scores"] is not None
    # Evaluated exactly once: one model call, one claim, one attempt, one start and one done.
    assert worker.realtime._call("GET", "/_control/text_calls") == {"calls": 1}
    ((claims, attempts),) = rows(
        supabase_stack, f"select claims, attempts from evaluations where interview_id = '{iid}'"
    )
    assert (claims, attempts) == ("1", "1")

    async def evaluation_audits() -> list[str]:
        kinds = [k for k in audit_kinds(supabase_stack, iid) if k.startswith("evaluation_")]
        return kinds if "evaluation_done" in kinds else []

    # Audit events are queued writes: wait for the last one to land.
    kinds = await eventually(evaluation_audits, "the evaluation's audit events", 15)
    assert kinds == ["evaluation_started", "evaluation_done"]
    assert report["evaluation"]["cost_usd"] == 0.0
