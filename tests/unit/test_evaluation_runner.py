"""The evaluation job over the in-memory store, where no model is needed: an interview with
no answer is skipped without a call, and nothing is claimed before the interview has ended and
settled."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from devstack.proc import free_port
from interview.evaluator import EvaluationRunner, build_client
from interview.settings import EvaluatorSettings
from interview.store import EvaluationState, InterviewStatus, Speaker, TranscriptMessage
from tests.fixtures.store import new_interview
from tests.fixtures.token_server import MemoryStore

pytestmark = pytest.mark.unit


def settings(**overrides: object) -> EvaluatorSettings:
    values: dict[str, object] = {
        "environment": "test",
        "openai_api_key": SecretStr("unused"),
        # Nothing listens there: a model call would fail, and the row would say so.
        "openai_base_url": f"http://127.0.0.1:{free_port()}/v1",
        "evaluator_settle_s": 0,
        "evaluator_attempts": 1,
        **overrides,
    }
    return EvaluatorSettings(_env_file=None, **values)  # type: ignore[arg-type]


async def test_an_interview_nobody_answered_is_skipped_without_a_model_call() -> None:
    store = MemoryStore()
    iid = (await store.create_interview(new_interview())).id
    now = datetime.now(UTC)
    store.record_status(iid, InterviewStatus.live, at=now)
    store.append_transcript(
        TranscriptMessage(
            interview_id=iid,
            item_id="greeting",
            speaker=Speaker.interviewer,
            text="Welcome.",
            started_at=now,
        )
    )
    store.record_status(iid, InterviewStatus.abandoned, at=now)
    s = settings()
    async with build_client(s) as client:
        assert await EvaluationRunner(store, s, client).run_once() == iid

    stored = await store.get_evaluation(iid)
    assert stored is not None
    assert stored.state is EvaluationState.skipped
    assert stored.attempts == 0 and stored.error_code is None
    assert [a.kind for a in store.audits if a.interview_id == iid] == ["evaluation_skipped"]


async def test_nothing_is_claimed_while_live_or_before_it_settled() -> None:
    store = MemoryStore()
    live = (await store.create_interview(new_interview())).id
    store.record_status(live, InterviewStatus.live, at=datetime.now(UTC))
    ended = (await store.create_interview(new_interview())).id
    store.record_status(ended, InterviewStatus.completed, at=datetime.now(UTC))
    s = settings(evaluator_settle_s=600)
    async with build_client(s) as client:
        runner = EvaluationRunner(store, s, client)
        assert await runner.run_once() is None
        assert await runner.run_once(interview_id=uuid.uuid4()) is None
    assert store.evaluations == {}
