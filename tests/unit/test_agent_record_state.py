"""What the interviewer's record keeps: fallback questions without a bank id, the candidate's
whole answer even when its transcript arrives late, and usage that adds up and is priced."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from livekit.agents.metrics.usage import AgentSessionUsage, LLMModelUsage
from livekit.agents.voice.events import SessionUsageUpdatedEvent

from agent.interviewer import Interviewer
from agent.questions import fallback_questions
from agent.settings import AgentSettings
from agent.usage import UsageMeter, UsageWriter
from interview.store import InterviewDetail, Usage
from tests.unit.test_agent_tools import _setup

pytestmark = pytest.mark.unit


# ---- fallback questions ---------------------------------------------------------------------


async def test_a_fallback_question_is_stored_without_a_bank_id() -> None:
    agent, ctx, store = _setup()
    ctx.userdata.pool = []  # the bank could not be read at job start
    agent = Interviewer(ctx.userdata, "instructions")

    q = await agent.fetch_next_question(ctx)

    fallback_texts = {
        f.text for f in fallback_questions("Backend engineer", ctx.userdata.meta.level)
    }
    assert q["text"] in fallback_texts
    assert [w.bank_question_id for w in store.of("question")] == [None]


async def test_a_fallback_question_asked_when_the_bank_ran_out_has_no_bank_id() -> None:
    agent, ctx, store = _setup(question_count=2)
    ctx.userdata.pool = ctx.userdata.pool[:1]
    first = await agent.fetch_next_question(ctx)
    await agent.skip_question(ctx, first["question_id"])

    await agent.fetch_next_question(ctx)

    ids = [w.bank_question_id for w in store.of("question") if w.ordinal == 2]
    assert ids == [None]


async def test_a_resumed_interview_does_not_ask_an_asked_fallback_question_again() -> None:
    agent, ctx, store = _setup(question_count=3)
    ctx.userdata.pool = []
    agent = Interviewer(ctx.userdata, "instructions")
    first = await agent.fetch_next_question(ctx)
    await agent.skip_question(ctx, first["question_id"])
    latest = {q.ordinal: q for q in store.of("question")}
    detail = InterviewDetail.model_construct(
        interview=None, questions=list(latest.values()), answers=[], feedback=[]
    )

    resumed, rctx, _ = _setup(question_count=3)
    rctx.userdata.meta = ctx.userdata.meta
    rctx.userdata.pool = []
    resumed = Interviewer(rctx.userdata, "instructions")
    rctx.userdata.restore(detail)
    second = await resumed.fetch_next_question(rctx)

    assert second["question_id"] == 2 and second["text"] != first["text"]


# ---- the whole answer ---------------------------------------------------------------------


async def test_a_transcript_that_arrives_after_the_answer_was_stored_completes_it() -> None:
    agent, ctx, store = _setup()
    state = ctx.userdata
    q = await agent.fetch_next_question(ctx)
    spoke = state.now()
    state.note_candidate_words("I would shard by tenant.", spoke)

    await agent.store_answer(ctx, q["question_id"], "Sharding by tenant, then caching.", 3, 3, 3, 3)
    await agent.fetch_next_question(ctx)
    # The last sentence of answer 1 is transcribed only now, after question 2 was asked; it
    # was spoken before the answer was stored.
    state.note_candidate_words("Then I would add a cache in front.", spoke + timedelta(seconds=1))

    answers = [a for a in store.of("answer") if a.ordinal == 1]
    assert answers[-1].transcript == "I would shard by tenant. Then I would add a cache in front."
    assert answers[-1].scores == answers[0].scores  # the scores stay as the model gave them


async def test_the_model_words_stand_in_until_the_candidate_words_arrive() -> None:
    agent, ctx, store = _setup()
    state = ctx.userdata
    q = await agent.fetch_next_question(ctx)
    spoke = state.now()

    await agent.store_answer(ctx, q["question_id"], "They described retries.", 3, 3, 3, 3)
    stored_first = store.of("answer")[-1].transcript
    state.note_candidate_words("I retry with backoff and jitter.", spoke)

    assert stored_first == "They described retries."
    assert store.of("answer")[-1].transcript == "I retry with backoff and jitter."


async def test_words_for_the_next_question_do_not_change_the_stored_answer() -> None:
    agent, ctx, store = _setup()
    state = ctx.userdata
    q = await agent.fetch_next_question(ctx)
    state.note_candidate_words("Answer one.", state.now())
    await agent.store_answer(ctx, q["question_id"], "x", 3, 3, 3, 3)
    await agent.fetch_next_question(ctx)

    state.note_candidate_words("Answer two begins.", state.now())

    assert [a.transcript for a in store.of("answer")] == ["Answer one."]


# ---- usage and cost -------------------------------------------------------------------------


def _usage_event(**fields: int) -> SessionUsageUpdatedEvent:
    usage = LLMModelUsage(provider="openai", model="gpt-realtime", **fields)
    return SessionUsageUpdatedEvent(usage=AgentSessionUsage(model_usage=[usage]))


def test_cached_input_tokens_are_priced_at_the_cached_rate() -> None:
    settings = AgentSettings(price_text_in=4.0, price_audio_in=32.0)
    meter = UsageMeter(settings)

    meter.update(
        _usage_event(
            input_tokens=2_000_000,
            input_text_tokens=1_000_000,
            input_audio_tokens=1_000_000,
            input_cached_tokens=2_000_000,
            input_cached_text_tokens=1_000_000,
            input_cached_audio_tokens=1_000_000,
        )
    )

    # Every input token came from the cache: the cached rates apply, not 4 + 32.
    assert meter.usage().cost_usd == pytest.approx(0.4 + 0.4)


def test_a_resumed_job_adds_its_usage_to_what_the_interview_had_recorded() -> None:
    settings = AgentSettings()
    earlier = Usage(
        input_tokens=1000,
        output_tokens=500,
        input_audio_tokens=800,
        output_audio_tokens=400,
        cost_usd=0.05,
    )
    _agent, ctx, _ = _setup()
    detail = InterviewDetail.model_construct(
        interview=_interview_with(earlier), questions=[], answers=[], feedback=[]
    )
    ctx.userdata.restore(detail)
    meter = UsageMeter(settings, ctx.userdata.usage_base)

    meter.update(_usage_event(input_tokens=100, input_audio_tokens=60, output_tokens=10))

    total = meter.usage()
    assert (total.input_tokens, total.input_audio_tokens, total.output_tokens) == (1100, 860, 510)
    assert total.cost_usd == pytest.approx(0.05 + (40 * 4 + 60 * 32 + 10 * 16) / 1e6)


def _interview_with(usage: Usage) -> Any:
    from interview.store import Interview

    return Interview.model_construct(usage=usage)


def test_the_offline_rehearsal_costs_nothing_and_says_so() -> None:
    meter = UsageMeter(AgentSettings(rehearsal_model=True))

    meter.update(_usage_event(input_tokens=5000, output_tokens=3000, output_audio_tokens=2000))

    assert meter.usage().input_tokens == 5000  # still counted
    assert meter.usage().cost_usd == 0
    assert meter.summary()["pricing"] == "rehearsal"


class _UsageStore:
    def __init__(self) -> None:
        self.usages: list[Usage] = []
        self.written = asyncio.Event()

    def record_usage(self, interview_id: Any, usage: Usage) -> None:
        self.usages.append(usage)
        self.written.set()


async def test_usage_is_written_while_the_interview_runs_and_once_more_at_the_end() -> None:
    meter = UsageMeter(AgentSettings())
    store = _UsageStore()
    writer = UsageWriter(meter, store, uuid.uuid4(), interval=0.01)  # type: ignore[arg-type]
    writer.start()

    meter.update(_usage_event(input_tokens=10, output_tokens=5))
    await asyncio.wait_for(store.written.wait(), 5)
    written_while_running = list(store.usages)
    meter.update(_usage_event(input_tokens=30, output_tokens=9))
    await writer.aclose()

    assert [u.input_tokens for u in written_while_running] == [10]
    assert store.usages[-1].input_tokens == 30 and store.usages[-1].output_tokens == 9
    # Unchanged totals are not written again.
    assert len({u.input_tokens for u in store.usages}) == len(store.usages)
