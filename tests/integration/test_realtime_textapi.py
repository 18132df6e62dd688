"""The local server's Chat Completions API, called by the real `openai` client as the report's
evaluator calls it (CONTRACT-12 §1): structured output parsed into a mirror of EvaluationOut,
faults (errors, refusals) through the control API, and bad requests."""

from __future__ import annotations

import json
from typing import Any, Literal

import aiohttp
import openai
import pytest
from openai import AsyncOpenAI
from pydantic import BaseModel, Field

from realtime_local import RealtimeServer, ServerOptions
from tests.fixtures.realtime import (
    POOR_INDEX_ANSWER,
    STRONG_INDEX_ANSWER,
    RealtimeProcess,
    ServerFactory,
    evaluation_document,
)

pytestmark = pytest.mark.integration


# EvaluationOut as CONTRACT-12 gives it, written here independently of realtime_local
class ScoreOut(BaseModel):
    value: int = Field(ge=1, le=5)
    reason: str


class QuoteOut(BaseModel):
    message_id: int
    quote: str


class QuestionEvaluationOut(BaseModel):
    ordinal: int
    outcome: Literal["answered", "partial", "skipped", "not_asked", "interrupted"]
    clarity: ScoreOut | None
    relevance: ScoreOut | None
    depth: ScoreOut | None
    accuracy: ScoreOut | None
    evidence: list[QuoteOut]


class EvaluationOut(BaseModel):
    questions: list[QuestionEvaluationOut]
    strengths: list[str]
    concerns: list[str]
    recommendation: Literal["strong_yes", "yes", "no", "strong_no", "insufficient_evidence"]


class WithExtraField(EvaluationOut):
    overall_score: float  # the local evaluator never writes this: its output must be refused


SYSTEM = {"role": "system", "content": "Score each question on the rubric, with evidence."}


def _messages(doc: dict[str, Any]) -> list[Any]:
    return [SYSTEM, {"role": "user", "content": json.dumps(doc)}]


def _client(server: RealtimeServer, key: str = "local") -> AsyncOpenAI:
    # no client retries: each call here is exactly one request, as the faults count them
    return AsyncOpenAI(base_url=server.base_url, api_key=key, max_retries=0)


async def _control(server: RealtimeServer, method: str, path: str, body: Any = None) -> Any:
    url = f"http://127.0.0.1:{server.port}{path}"
    async with aiohttp.ClientSession() as http, http.request(method, url, json=body) as resp:
        return resp.status, await resp.json()


async def test_the_openai_client_parses_an_evaluation(realtime_server: RealtimeServer) -> None:
    doc = evaluation_document({1: STRONG_INDEX_ANSWER, 2: POOR_INDEX_ANSWER})
    completion = await _client(realtime_server).chat.completions.parse(
        model="gpt-eval-test", messages=_messages(doc), response_format=EvaluationOut
    )
    message = completion.choices[0].message
    assert message.refusal is None and message.parsed is not None
    strong, poor = message.parsed.questions
    assert strong.depth and poor.depth and strong.accuracy and poor.accuracy
    assert strong.depth.value > poor.depth.value
    assert strong.accuracy.value > poor.accuracy.value
    said = {m["id"]: m["text"] for m in doc["transcript"] if m["speaker"] == "candidate"}
    quotes = [q for question in message.parsed.questions for q in question.evidence]
    assert quotes and all(q.quote in said[q.message_id] for q in quotes)
    assert completion.model == "gpt-eval-test"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert await _control(realtime_server, "GET", "/_control/text_calls") == (200, {"calls": 1})


async def test_a_plain_request_gets_a_plain_reply(realtime_server: RealtimeServer) -> None:
    completion = await _client(realtime_server).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "Hello?"}]
    )
    content = completion.choices[0].message.content
    assert content and "interview_evaluation" in content
    assert completion.choices[0].finish_reason == "stop"


async def test_failures_and_refusals_on_demand_then_an_answer(
    realtime_server: RealtimeServer,
) -> None:
    client = _client(realtime_server)
    doc = evaluation_document({1: STRONG_INDEX_ANSWER})
    status, _ = await _control(
        realtime_server, "PUT", "/_control/faults", {"text_failures": 2, "text_failure_kind": "x"}
    )
    assert status == 400  # an unknown kind is refused, and nothing is armed
    await _control(realtime_server, "PUT", "/_control/faults", {"text_failures": 2})
    for _ in range(2):
        with pytest.raises(openai.InternalServerError) as info:
            await client.chat.completions.parse(
                model="m", messages=_messages(doc), response_format=EvaluationOut
            )
        assert info.value.status_code == 500
        assert isinstance(info.value.body, dict) and info.value.body["type"] == "server_error"
    realtime_server.faults.text_failures = 1  # in-process, the same fault
    realtime_server.faults.text_failure_kind = "refusal"
    refused = await client.chat.completions.parse(
        model="m", messages=_messages(doc), response_format=EvaluationOut
    )
    assert refused.choices[0].message.refusal
    assert refused.choices[0].message.parsed is None
    ok = await client.chat.completions.parse(
        model="m", messages=_messages(doc), response_format=EvaluationOut
    )
    assert ok.choices[0].message.parsed is not None
    assert realtime_server.text.calls == 4


async def test_bad_requests_and_keys_are_refused_with_a_reason(
    make_realtime_server: ServerFactory,
) -> None:
    server = await make_realtime_server(ServerOptions(api_key="sekrit"))
    good = _messages(evaluation_document({1: STRONG_INDEX_ANSWER}))
    with pytest.raises(openai.AuthenticationError):
        await _client(server, "wrong").chat.completions.create(model="m", messages=good)
    client = _client(server, "sekrit")
    with pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(
            model="m",
            messages=[{"role": "robot", "content": "x"}],  # type: ignore[misc,list-item]
        )
    assert isinstance(info.value.body, dict) and info.value.body["param"] == "messages[0].role"
    broken = evaluation_document({1: STRONG_INDEX_ANSWER})
    del broken["transcript"][0]["id"]
    with pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(model="m", messages=_messages(broken))
    assert isinstance(info.value.body, dict)
    assert info.value.body["code"] == "invalid_evaluation_input"
    assert "transcript[0].id" in info.value.body["message"]
    # a caller whose model wants a field the evaluator does not write: a clear 500
    with pytest.raises(openai.InternalServerError) as info:
        await client.chat.completions.parse(
            model="m", messages=good, response_format=WithExtraField
        )
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "schema_mismatch"
    assert "overall_score" in info.value.body["message"]
    assert server.text.calls == 4


def test_the_subprocess_counts_its_text_calls(realtime_process: RealtimeProcess) -> None:
    realtime_process.reset()
    realtime_process.set_faults(text_failures=1, text_failure_kind="refusal")
    client = openai.OpenAI(base_url=realtime_process.base_url, api_key="local", max_retries=0)
    doc = evaluation_document({1: STRONG_INDEX_ANSWER})
    first = client.chat.completions.parse(
        model="m", messages=_messages(doc), response_format=EvaluationOut
    )
    second = client.chat.completions.parse(
        model="m", messages=_messages(doc), response_format=EvaluationOut
    )
    assert first.choices[0].message.refusal and second.choices[0].message.parsed is not None
    assert realtime_process.text_calls() == 2
    realtime_process.reset()
    assert realtime_process.text_calls() == 0
