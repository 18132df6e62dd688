"""The real `RealtimeModel` inside an `AgentSession`, against the local server over a WebSocket.

No room: audio goes in through `QueueAudioInput` and out through `SimulatedSpeaker`, which
plays in real time so interruptions carry a true playback position. The assertions read what
the agent actually sent to the server (its event log) and what the session holds.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from livekit.agents import Agent, AgentSession, RunContext, ToolError, function_tool, llm
from livekit.agents.voice.turn import TurnHandlingOptions
from livekit.plugins import silero
from livekit.plugins.openai.realtime import RealtimeModel
from openai.types.realtime import AudioTranscription
from openai.types.realtime.realtime_audio_input_turn_detection import ServerVad

from realtime_local import CallTool, RealtimeServer, Say, Scenario, ServerOptions, Turn
from tests.fixtures.realtime import (
    QueueAudioInput,
    ServerFactory,
    SimulatedSpeaker,
    speech_frames,
    validate_server_event,
)

pytestmark = pytest.mark.integration

os.environ.setdefault("LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE", "0")
_VAD: silero.VAD | None = None


def _vad() -> silero.VAD:
    global _VAD
    if _VAD is None:
        _VAD = silero.VAD.load()
    return _VAD


class Interviewer(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are a strict but fair interviewer.")
        self.fetch_calls: list[dict[str, Any]] = []

    @function_tool
    async def fetch_next_question(
        self, context: RunContext, topic: str, difficulty: str
    ) -> dict[str, Any]:
        """Fetch the next interview question.

        Args:
            topic: The topic of the question.
            difficulty: easy, medium or hard.
        """
        self.fetch_calls.append({"topic": topic, "difficulty": difficulty})
        raise ToolError(f"No {difficulty} questions are left on {topic}; call end_interview.")


@dataclass
class Harness:
    server: RealtimeServer
    session: AgentSession
    model: RealtimeModel
    agent: Interviewer
    mic: QueueAudioInput
    speaker: SimulatedSpeaker


def _model(base_url: str, server_vad: bool) -> RealtimeModel:
    return RealtimeModel(
        base_url=base_url,
        api_key="local-test-key",
        turn_detection=ServerVad(
            type="server_vad",
            threshold=0.5,
            silence_duration_ms=400,
            create_response=True,
            interrupt_response=True,
        )
        if server_vad
        else None,
        input_audio_transcription=AudioTranscription(model="gpt-4o-mini-transcribe"),
    )


async def _start(server: RealtimeServer, *, server_vad: bool = True) -> Harness:
    turn_handling: TurnHandlingOptions = {
        "turn_detection": "realtime_llm" if server_vad else "vad",
        "interruption": {"enabled": True, "min_duration": 0.3},
        "endpointing": {"min_delay": 0.3, "max_delay": 2.0},
        "preemptive_generation": {"enabled": False},
    }
    model = _model(server.base_url, server_vad)
    # aec_warmup_duration: by default the session ignores barge-in for the first 3 s of each
    # reply (echo cancellation settling); the tests interrupt sooner than that.
    session: AgentSession = AgentSession(
        llm=model, vad=_vad(), turn_handling=turn_handling, aec_warmup_duration=None
    )
    mic, speaker = QueueAudioInput(), SimulatedSpeaker()
    session.input.audio = mic
    session.output.audio = speaker
    agent = Interviewer()
    await session.start(agent, record=False)
    return Harness(server, session, model, agent, mic, speaker)


async def _close(h: Harness) -> None:
    await h.session.aclose()
    await h.model.aclose()


@pytest.fixture
async def harness(make_realtime_server: ServerFactory) -> AsyncIterator[Harness]:
    server = await make_realtime_server(ServerOptions(pace=4.0))
    h = await _start(server)
    yield h
    await _close(h)


def _assistant_texts(session: AgentSession) -> list[str]:
    return [
        m.text_content or ""
        for m in session.history.items
        if isinstance(m, llm.ChatMessage) and m.role == "assistant"
    ]


def _user_texts(session: AgentSession) -> list[str]:
    return [
        m.text_content or ""
        for m in session.history.items
        if isinstance(m, llm.ChatMessage) and m.role == "user"
    ]


async def test_text_turn(harness: Harness) -> None:
    harness.server.scenario = Scenario([Turn(Say("Welcome. Tell me about yourself."))])
    handle = harness.session.generate_reply(user_input="Hello, I am ready.")
    await asyncio.wait_for(handle.wait_for_playout(), 20)

    created = harness.server.log.client_events("conversation.item.create")
    user_items = [e["item"] for e in created if e["item"].get("role") == "user"]
    assert user_items[-1]["content"][0]["text"] == "Hello, I am ready."
    updates = harness.server.log.client_events("session.update")
    assert any(
        e["session"].get("instructions") == "You are a strict but fair interviewer."
        for e in updates
    )
    tools = [t["name"] for e in updates for t in e["session"].get("tools") or []]
    assert "fetch_next_question" in tools
    assert harness.server.log.client_events("response.create")
    assert "Welcome. Tell me about yourself." in _assistant_texts(harness.session)
    assert harness.speaker.played_total > 0.5
    for event in harness.server.log.server_events():
        validate_server_event(event)


@pytest.mark.parametrize("server_vad", [True, False], ids=["server-turns", "client-commits"])
async def test_audio_turn(make_realtime_server: ServerFactory, server_vad: bool) -> None:
    server = await make_realtime_server(ServerOptions(pace=4.0))
    h = await _start(server, server_vad=server_vad)
    try:
        server.scenario = Scenario(
            [Turn(Say("Thanks, that is a good start."))],
            user_transcripts=["I have five years of backend experience."],
        )
        await h.mic.feed(speech_frames("I have five years of backend experience."))
        await server.wait_for("response.done", direction="server", timeout=20)
        for _ in range(200):
            if "Thanks, that is a good start." in _assistant_texts(h.session):
                break
            await asyncio.sleep(0.05)
    finally:
        await _close(h)

    updates = server.log.client_events("session.update")
    turn_detection = [
        e["session"]["audio"]["input"]["turn_detection"]
        for e in updates
        if "turn_detection" in (e["session"].get("audio") or {}).get("input", {})
    ]
    assert len(server.log.client_events("input_audio_buffer.append")) > 10
    if server_vad:
        assert turn_detection[-1]["type"] == "server_vad"
        assert server.log.server_events("input_audio_buffer.speech_stopped")
        assert not server.log.client_events("input_audio_buffer.commit")
    else:
        # Silero ends the turn: the session disables server turns, commits, asks for a reply
        assert turn_detection[-1] is None
        assert server.log.client_events("input_audio_buffer.commit")
        assert server.log.client_events("response.create")
        assert not server.log.server_events("input_audio_buffer.speech_started")
    assert "I have five years of backend experience." in _user_texts(h.session)
    assert "Thanks, that is a good start." in _assistant_texts(h.session)


async def test_tool_error_message_reaches_the_server(harness: Harness) -> None:
    harness.server.scenario = Scenario(
        [
            Turn(CallTool("fetch_next_question", {"topic": "sql", "difficulty": "hard"})),
            Turn(Say("Then we are done. Thank you.")),
        ]
    )
    harness.session.generate_reply(user_input="Next question, please.")

    def is_output(e: Any) -> bool:
        return e.type == "conversation.item.create" and (
            e.event["item"]["type"] == "function_call_output"
        )

    hits = await harness.server.wait_for(is_output, timeout=20)
    output = hits[0].event["item"]
    assert "No hard questions are left on sql; call end_interview." in output["output"]
    assert harness.agent.fetch_calls == [{"topic": "sql", "difficulty": "hard"}]
    call_items = harness.server.log.server_events("response.output_item.done")
    assert output["call_id"] == call_items[0]["item"]["call_id"]
    # the session asks for a reply to the tool output, and speaks the scripted one
    await harness.server.wait_for("response.done", direction="server", count=2, timeout=20)
    for _ in range(200):
        if "Then we are done. Thank you." in _assistant_texts(harness.session):
            break
        await asyncio.sleep(0.05)
    assert "Then we are done. Thank you." in _assistant_texts(harness.session)


async def test_barge_in_cancels_and_truncates(make_realtime_server: ServerFactory) -> None:
    server = await make_realtime_server(ServerOptions(pace=1.0))
    h = await _start(server)
    try:
        long_text = (
            "Let me describe the next part of the interview in some detail, because there are "
            "several steps, and I want you to know exactly what to expect before we begin."
        )
        server.scenario = Scenario(
            [Turn(Say(long_text)), Turn(Say("Sure, go ahead."))],
            user_transcripts=["Sorry, can I ask something?"],
        )
        h.session.generate_reply()
        await server.wait_for("response.output_audio.delta", direction="server", timeout=20)
        await asyncio.sleep(1.5)  # about a second and a half of the reply is "heard"
        await h.mic.feed(speech_frames("Sorry, can I ask something?"))
        hits = await server.wait_for("conversation.item.truncate", timeout=20)
        truncate = hits[0].event
        done = await server.wait_for("response.done", direction="server", timeout=20)
    finally:
        await _close(h)

    first = done[0].event["response"]
    assert first["status"] == "cancelled"
    assistant_id = first["output"][0]["id"]
    assert truncate["item_id"] == assistant_id
    deltas = server.log.server_events("response.output_audio.delta")
    full_ms = 100 * sum(1 for d in deltas if d["item_id"] == assistant_id)
    assert 500 < truncate["audio_end_ms"] < full_ms
    assert h.speaker.interruptions, "the speaker was never cleared"
    truncated = server.log.server_events("conversation.item.truncated")
    assert truncated and truncated[0]["item_id"] == assistant_id


async def test_dropped_socket_reconnects_and_resends_session_and_history(
    harness: Harness,
) -> None:
    server = harness.server
    server.scenario = Scenario([Turn(Say("First answer.")), Turn(Say("Second answer."))])
    handle = harness.session.generate_reply(user_input="First question.")
    await asyncio.wait_for(handle.wait_for_playout(), 20)
    assert {e.conn for e in server.log.entries("client")} == {1}

    await server.drop_all()
    await server.wait_for(lambda e: e.conn == 2 and e.type == "session.update", timeout=20)
    handle = harness.session.generate_reply(user_input="Second question.")
    await asyncio.wait_for(handle.wait_for_playout(), 20)

    again = server.log.client_events(conn=2)
    updates = [e for e in again if e["type"] == "session.update"]
    assert any(
        e["session"].get("instructions") == "You are a strict but fair interviewer."
        for e in updates
    )
    assert any(
        t["name"] == "fetch_next_question" for e in updates for t in e["session"].get("tools") or []
    )
    resent = [json.dumps(e["item"]) for e in again if e["type"] == "conversation.item.create"]
    assert any("First question." in r for r in resent), "the user's message was not resent"
    assert any("First answer." in r for r in resent), "the reply was not resent"
    assert "Second answer." in _assistant_texts(harness.session)
