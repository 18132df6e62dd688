"""Offline rehearsal: `python -m realtime_local --rehearsal` interviews through the agent's tools.

The agent here declares the planned tools with the planned signatures (scores per rubric);
the rehearsal server reads their schemas, calls them, speaks the questions they return and
ends the interview, over a real WebSocket to a subprocess, with the real RealtimeModel.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from livekit.agents import Agent, AgentSession, RunContext, function_tool, llm
from livekit.plugins import silero
from livekit.plugins.openai.realtime import RealtimeModel

from tests.fixtures.realtime import RealtimeProcess, SimulatedSpeaker

pytestmark = pytest.mark.integration

os.environ.setdefault("LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE", "0")

QUESTIONS = ["What is a database index?", "How would you shard a users table?", "Why use a queue?"]
NOTES = [
    "A B-tree beside the table; faster lookups; every write pays to update it.",
    "A shard key such as a hash of the user id; rebalancing; cross-shard queries.",
    "Decoupling producers from consumers; absorbing bursts; retries.",
]
ANSWERS = [
    "An index is a B-tree kept beside the table: lookups get faster, and every write pays "
    "to update it.",
    "Um, I don't know.",
    "Decoupling.",
]


class PlannedTools(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Interview the candidate for a backend role.")
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.ended = asyncio.Event()

    @function_tool
    async def fetch_next_question(
        self, context: RunContext, topic: str | None = None, difficulty: int | None = None
    ) -> dict[str, Any]:
        """Get the next interview question.

        Args:
            topic: Optional topic.
            difficulty: Optional difficulty from 1 to 5.
        """
        n = sum(1 for name, _ in self.calls if name == "fetch_next_question") + 1
        self.calls.append(("fetch_next_question", {"topic": topic, "difficulty": difficulty}))
        return {
            "question_id": n,
            "text": QUESTIONS[n - 1],
            "progress": f"{n} of 3",
            "strong_answer_covers": NOTES[n - 1],
        }

    @function_tool
    async def store_answer(
        self,
        context: RunContext,
        question_id: int,
        transcript: str,
        clarity: int,
        relevance: int,
        depth: int,
        accuracy: int,
        tags: list[str] | None = None,
    ) -> str:
        """Record the answer with rubric scores from 1 to 5.

        Args:
            question_id: The question_id from fetch_next_question.
            transcript: The answer.
            clarity: 1 to 5.
            relevance: 1 to 5.
            depth: 1 to 5.
            accuracy: 1 to 5.
            tags: Short labels.
        """
        args = {"question_id": question_id, "transcript": transcript, "clarity": clarity}
        args |= {"relevance": relevance, "depth": depth, "accuracy": accuracy, "tags": tags}
        self.calls.append(("store_answer", args))
        return f"Answer to question {question_id} stored."

    @function_tool
    async def store_feedback(
        self, context: RunContext, bullets: list[str], question_id: int | None = None
    ) -> str:
        """Save feedback bullets.

        Args:
            bullets: One to five points.
            question_id: The question the feedback is about.
        """
        self.calls.append(("store_feedback", {"bullets": bullets, "question_id": question_id}))
        return "Feedback saved."

    @function_tool
    async def end_interview(self, context: RunContext, summary: str) -> str:
        """End the interview.

        Args:
            summary: A short summary.
        """
        self.calls.append(("end_interview", {"summary": summary}))
        self.ended.set()
        return "Interview ended. Say goodbye."


async def _said(session: AgentSession, text: str) -> bool:
    for _ in range(300):
        if any(
            isinstance(m, llm.ChatMessage)
            and m.role == "assistant"
            and text in (m.text_content or "")
            for m in session.history.items
        ):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_rehearsal_interview_runs_through_the_agents_tools(
    rehearsal_process: RealtimeProcess,
) -> None:
    model = RealtimeModel(
        base_url=rehearsal_process.base_url, api_key="offline", turn_detection=None
    )
    session: AgentSession = AgentSession(
        llm=model,
        vad=silero.VAD.load(),
        turn_handling={"turn_detection": "vad", "preemptive_generation": {"enabled": False}},
        max_tool_steps=6,
        aec_warmup_duration=None,
    )
    session.output.audio = SimulatedSpeaker()
    agent = PlannedTools()
    await session.start(agent, record=False)
    try:
        session.generate_reply()
        assert await _said(session, QUESTIONS[0])
        for i, answer in enumerate(ANSWERS):
            session.generate_reply(user_input=answer)
            if i < 2:
                assert await _said(session, QUESTIONS[i + 1])
        await asyncio.wait_for(agent.ended.wait(), 30)
        assert await _said(session, "end of this rehearsal")
    finally:
        await session.aclose()
        await model.aclose()

    names = [name for name, _ in agent.calls]
    assert names == (
        ["fetch_next_question"]
        + ["store_answer", "store_feedback", "fetch_next_question"] * 2
        + ["store_answer", "store_feedback", "end_interview"]
    )
    assert agent.calls[0][1] == {"topic": None, "difficulty": None}
    answers = [args for name, args in agent.calls if name == "store_answer"]
    assert [a["question_id"] for a in answers] == [1, 2, 3]
    assert answers[0]["transcript"] == ANSWERS[0]
    assert all(a["tags"] == ["rehearsal"] for a in answers)
    # the live scores follow the answers: the one that covers the notes beats "I don't know"
    strong, poor = answers[0], answers[1]
    for rubric in ("clarity", "relevance", "depth", "accuracy"):
        assert 1 <= poor[rubric] < strong[rubric] <= 5, (rubric, strong, poor)
    sent = rehearsal_process.events("client")
    outputs = [e["event"]["item"] for e in sent if e["event"]["type"] == "conversation.item.create"]
    assert any(QUESTIONS[0] in str(item.get("output", "")) for item in outputs)
