"""Faults on demand and the subprocess control API, seen by the real plugin and a raw client."""

from __future__ import annotations

import asyncio
import base64
import urllib.error

import aiohttp
import pytest
from livekit.agents import APIConnectOptions
from livekit.plugins.openai.realtime import RealtimeModel

from realtime_local import Drop, RealtimeServer, Say, Scenario, Turn
from realtime_local.audio import speak
from tests.fixtures.realtime import RealtimeProcess, raw_client

pytestmark = pytest.mark.integration


async def test_plugin_retries_through_refused_connections_and_slow_replies(
    realtime_server: RealtimeServer,
) -> None:
    realtime_server.faults.refuse_connections = 2
    realtime_server.faults.response_delay_s = 0.3
    realtime_server.scenario = Scenario([Turn(Say("Finally connected."))])
    model = RealtimeModel(
        base_url=realtime_server.base_url,
        api_key="local",
        conn_options=APIConnectOptions(max_retry=3, retry_interval=0.1, timeout=5),
    )
    session = model.session()
    try:
        generation = await asyncio.wait_for(session.generate_reply(), 15)
        text = ""
        async for message in generation.message_stream:
            async for delta in message.text_stream:
                text += delta
            async for _ in message.audio_stream:
                pass
    finally:
        await session.aclose()
        await model.aclose()
    assert text == "Finally connected."
    assert realtime_server.connections_refused == 2
    assert {e.conn for e in realtime_server.log.entries("client")} == {1}


async def test_abrupt_drop_resets_the_connection(realtime_server: RealtimeServer) -> None:
    realtime_server.scenario = Scenario([Turn(Say("Hello"), Drop(abrupt=True))])
    async with raw_client(realtime_server.base_url) as c:
        await c.recv()
        await c.send({"type": "response.create"})
        with pytest.raises((ConnectionError, aiohttp.ClientError)):
            await c.until("response.done")
    kinds = [e["type"] for e in c.received]
    assert "response.output_item.done" in kinds
    assert "response.done" not in kinds


async def test_subprocess_control_api(realtime_process: RealtimeProcess) -> None:
    realtime_process.reset()
    realtime_process.set_scenario({"responses": [[{"say": "From the subprocess."}]]})
    async with raw_client(realtime_process.base_url) as c:
        await c.recv()
        await c.send({"type": "response.create", "event_id": "ev_sub"})
        got = await c.until("response.done")
    transcript = "".join(
        e["delta"] for e in got if e["type"] == "response.output_audio_transcript.delta"
    )
    assert transcript == "From the subprocess."
    logged = realtime_process.events("client")
    assert [e["event"]["event_id"] for e in logged] == ["ev_sub"]

    realtime_process.set_faults(refuse_connections=1)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with raw_client(realtime_process.base_url):
            pass
    assert refused.value.status == 503
    with pytest.raises(urllib.error.HTTPError) as bad:
        realtime_process.set_scenario({"responses": [[{"shout": "x"}]]})
    assert bad.value.code == 400
    with pytest.raises(urllib.error.HTTPError):
        realtime_process.set_faults(explode=True)
    realtime_process.reset()
    assert realtime_process.events() == []


async def test_subprocess_delivers_user_transcripts_late_on_demand(
    realtime_process: RealtimeProcess,
) -> None:
    realtime_process.reset()
    realtime_process.set_scenario(
        {"responses": [[{"say": "Noted."}]], "user_transcripts": ["I cache reads."]}
    )
    realtime_process.set_transcript_delay(800)
    pcm = base64.b64encode(speak("I cache the reads.")).decode()
    async with raw_client(realtime_process.base_url) as c:
        await c.recv()
        await c.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {
                        "input": {"transcription": {"model": "whisper-1"}, "turn_detection": None}
                    },
                },
            }
        )
        await c.until("session.updated")
        await c.send({"type": "input_audio_buffer.append", "audio": pcm})
        await c.send({"type": "input_audio_buffer.commit"})
        await c.until("input_audio_buffer.committed")
        await c.send({"type": "response.create"})
        got = await c.until("conversation.item.input_audio_transcription.completed")
    kinds = [e["type"] for e in got]
    assert kinds.index("response.created") < kinds.index(
        "conversation.item.input_audio_transcription.completed"
    )
    assert got[-1]["transcript"] == "I cache reads."
    realtime_process.reset()
    assert realtime_process.events() == []
