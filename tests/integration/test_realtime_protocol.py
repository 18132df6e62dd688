"""The local Realtime server over a real WebSocket: every event it sends is a valid OpenAI event.

A raw client walks a full session; each server event is validated strictly against the `openai`
package's `RealtimeServerEvent` union. Bad input gets a protocol `error`, never a crash.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import aiohttp
import pytest

from realtime_local import (
    CallTool,
    Drop,
    Fail,
    RealtimeServer,
    Say,
    Scenario,
    SendError,
    ServerOptions,
    Turn,
    Wait,
)
from realtime_local.audio import SIGNATURE_TONES_HZ, speak, with_signature
from tests.fixtures.realtime import ServerFactory, raw_client, silence, validate_server_event

pytestmark = pytest.mark.integration

TOOLS = [
    {
        "type": "function",
        "name": "fetch_next_question",
        "description": "Fetch the next question",
        "parameters": {
            "type": "object",
            "properties": {"topic": {"type": "string"}, "difficulty": {"type": "string"}},
            "required": ["topic", "difficulty"],
        },
    }
]


def _append(pcm: bytes) -> dict[str, Any]:
    return {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()}


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def test_full_session_every_server_event_validates(realtime_server: RealtimeServer) -> None:
    realtime_server.scenario = Scenario(
        [
            Turn(Say("Hello, welcome to the interview.")),
            Turn(CallTool("fetch_next_question", {"topic": "sql", "difficulty": "easy"})),
            Turn(Wait(0.05), Say("This reply is long enough that it gets cancelled midway.")),
            Turn(SendError("rate_limit_exceeded", "Rate limit reached", "rate_limit_error")),
            Turn(Fail("inference_rate_limit_exceeded", "Too many requests")),
        ],
        user_transcripts=["I use indexes."],
    )
    async with raw_client(realtime_server.base_url) as c:
        first = await c.recv()
        assert first["type"] == "session.created"
        await c.send(
            {
                "type": "session.update",
                "event_id": "ev_cfg",
                "session": {
                    "type": "realtime",
                    "instructions": "Interview the candidate.",
                    "tools": TOOLS,
                    "output_modalities": ["audio"],
                    "audio": {
                        "input": {
                            "turn_detection": None,
                            "transcription": {"model": "gpt-4o-mini-transcribe"},
                        },
                        "output": {"voice": "cedar"},
                    },
                },
            }
        )
        updated = (await c.until("session.updated"))[-1]
        assert updated["session"]["instructions"] == "Interview the candidate."
        assert updated["session"]["audio"]["input"]["turn_detection"] is None
        assert updated["session"]["audio"]["output"]["voice"] == "cedar"
        assert [t["name"] for t in updated["session"]["tools"]] == ["fetch_next_question"]

        # items: create (after root and at the end), delete, unknown delete
        await c.send(
            {
                "type": "conversation.item.create",
                "event_id": "ev_c1",
                "item": {
                    "id": "item_user1",
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "Hi"}],
                },
            }
        )
        added = (await c.until("conversation.item.added"))[-1]
        assert added["item"]["id"] == "item_user1"
        assert added["previous_item_id"] is None
        await c.send(
            {
                "type": "conversation.item.create",
                "previous_item_id": "root",
                "item": {
                    "id": "item_sys",
                    "type": "message",
                    "role": "system",
                    "content": [{"type": "input_text", "text": "Be brief."}],
                },
            }
        )
        assert (await c.until("conversation.item.added"))[-1]["previous_item_id"] is None
        await c.send({"type": "conversation.item.delete", "item_id": "item_sys"})
        assert (await c.until("conversation.item.deleted"))[-1]["item_id"] == "item_sys"
        await c.send({"type": "conversation.item.delete", "event_id": "ev_d", "item_id": "nope"})
        err = (await c.until("error"))[-1]["error"]
        assert err["event_id"] == "ev_d"
        assert "does not exist" in err["message"]

        # audio: append then commit (turn detection is off) gives a transcribed user item
        await c.send(_append(speak("I use indexes.")[:48000]))
        await c.send({"type": "input_audio_buffer.commit"})
        got = await c.until("conversation.item.input_audio_transcription.completed")
        assert "input_audio_buffer.committed" in _types(got)
        assert got[-1]["transcript"] == "I use indexes."
        await c.send(_append(silence(40)))
        await c.send({"type": "input_audio_buffer.commit", "event_id": "ev_small"})
        err = (await c.until("error"))[-1]["error"]
        assert err["code"] == "input_audio_buffer_commit_empty"
        await c.send({"type": "input_audio_buffer.clear"})
        await c.until("input_audio_buffer.cleared")

        # a response with audio, echoing the client's metadata
        await c.send(
            {
                "type": "response.create",
                "event_id": "ev_r1",
                "response": {"metadata": {"client_event_id": "ev_r1"}},
            }
        )
        reply = await c.until("response.done")
        created = next(e for e in reply if e["type"] == "response.created")
        assert created["response"]["metadata"] == {"client_event_id": "ev_r1"}
        assert "response.output_audio.delta" in _types(reply)
        transcript = "".join(
            e["delta"] for e in reply if e["type"] == "response.output_audio_transcript.delta"
        )
        assert transcript == "Hello, welcome to the interview."
        done = reply[-1]["response"]
        assert done["status"] == "completed"
        assert done["usage"]["output_tokens"] > 0
        assistant_id = done["output"][0]["id"]

        # truncate what was "played"
        await c.send(
            {
                "type": "conversation.item.truncate",
                "item_id": assistant_id,
                "content_index": 0,
                "audio_end_ms": 500,
            }
        )
        truncated = (await c.until("conversation.item.truncated"))[-1]
        assert truncated["audio_end_ms"] == 500
        await c.send(
            {
                "type": "conversation.item.truncate",
                "item_id": assistant_id,
                "content_index": 0,
                "audio_end_ms": 600_000,
            }
        )
        assert (await c.until("error"))[-1]["error"]["param"] == "audio_end_ms"

        # a function call, then its output
        await c.send({"type": "response.create"})
        call = await c.until("response.done")
        item = next(e for e in call if e["type"] == "response.output_item.done")["item"]
        assert item["type"] == "function_call"
        assert json.loads(item["arguments"]) == {"topic": "sql", "difficulty": "easy"}
        await c.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": item["call_id"],
                    "output": '{"id": "q1", "text": "What is an index?"}',
                },
            }
        )
        await c.until("conversation.item.added")

        # cancel mid-reply
        await c.send({"type": "response.create"})
        await c.until("response.output_audio.delta")
        await c.send({"type": "response.cancel"})
        cancelled = (await c.until("response.done"))[-1]["response"]
        assert cancelled["status"] == "cancelled"
        assert cancelled["status_details"]["reason"] == "client_cancelled"
        await c.send({"type": "response.cancel"})
        assert (await c.until("error"))[-1]["error"]["message"].startswith("Cancellation failed")

        # scripted errors: an error event, then a failed response
        await c.send({"type": "response.create"})
        got = await c.until("response.done")
        assert next(e for e in got if e["type"] == "error")["error"]["code"] == (
            "rate_limit_exceeded"
        )
        await c.send({"type": "response.create"})
        failed = (await c.until("response.done"))[-1]["response"]
        assert failed["status"] == "failed"
        assert failed["status_details"]["error"]["code"] == "inference_rate_limit_exceeded"

        # bad input: not JSON, unknown type, wrong field
        await c.send_raw("{not json")
        assert (await c.until("error"))[-1]["error"]["code"] == "invalid_json"
        await c.send({"type": "response.explode", "event_id": "ev_x"})
        err = (await c.until("error"))[-1]["error"]
        assert (err["param"], err["event_id"]) == ("type", "ev_x")
        await c.send({"type": "conversation.item.truncate", "item_id": 5})
        assert (
            "Invalid 'conversation.item.truncate'"
            in (await c.until("error"))[-1]["error"]["message"]
        )
        await c.send({"type": "input_audio_buffer.append", "audio": "***"})
        assert (await c.until("error"))[-1]["error"]["param"] == "audio"

    sent = realtime_server.log.server_events()
    assert len(sent) == len(c.received)
    kinds = set()
    for event in c.received:
        validate_server_event(event)
        kinds.add(event["type"])
    for needed in (
        "session.created",
        "session.updated",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.deleted",
        "conversation.item.truncated",
        "input_audio_buffer.committed",
        "input_audio_buffer.cleared",
        "conversation.item.input_audio_transcription.completed",
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_audio.delta",
        "response.output_audio_transcript.delta",
        "response.output_audio.done",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.done",
        "error",
    ):
        assert needed in kinds, f"the walk never saw {needed}"


async def test_server_turn_detection_starts_and_interrupts_responses(
    realtime_server: RealtimeServer,
) -> None:
    realtime_server.scenario = Scenario(
        [Turn(Say("One two three four five six seven eight nine ten eleven twelve."))],
        user_transcripts=["first answer", "second answer"],
    )
    speech = speak("I have worked with databases for years.")
    async with raw_client(realtime_server.base_url) as c:
        await c.recv()
        await c.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {
                        "input": {
                            "transcription": {"model": "whisper-1"},
                            "turn_detection": {
                                "type": "server_vad",
                                "silence_duration_ms": 300,
                                "threshold": 0.5,
                            },
                        }
                    },
                },
            }
        )
        await c.until("session.updated")
        for i in range(0, len(speech + silence(600)), 4800):
            await c.send(_append((speech + silence(600))[i : i + 4800]))
        got = await c.until("response.output_audio.delta")
        kinds = _types(got)
        assert kinds.index("input_audio_buffer.speech_started") < kinds.index(
            "input_audio_buffer.speech_stopped"
        )
        stopped = next(e for e in got if e["type"] == "input_audio_buffer.speech_stopped")
        completed = next(
            e for e in got if e["type"] == "conversation.item.input_audio_transcription.completed"
        )
        assert completed["item_id"] == stopped["item_id"]
        assert completed["transcript"] == "first answer"
        # the candidate barges in: the server cancels its reply as turn_detected
        for i in range(0, len(speech), 4800):
            await c.send(_append(speech[i : i + 4800]))
        got = await c.until("response.done")
        assert "input_audio_buffer.speech_started" in _types(got)
        assert got[-1]["response"]["status"] == "cancelled"
        assert got[-1]["response"]["status_details"]["reason"] == "turn_detected"
    for event in c.received:
        validate_server_event(event)


async def test_faults_refuse_then_drop_mid_response(make_realtime_server: ServerFactory) -> None:
    server = await make_realtime_server(ServerOptions(pace=1.0))
    server.faults.refuse_connections = 1
    url = server.base_url.replace("http", "ws", 1) + "/realtime"
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url, headers={"Authorization": "Bearer x"})
        assert refused.value.status == 503
        with pytest.raises(aiohttp.WSServerHandshakeError) as unauthorised:
            await http.ws_connect(url)
        assert unauthorised.value.status == 401
    assert server.connections_refused == 1

    server.scenario = Scenario([Turn(Drop(after_s=0.3), Say("A sentence that never ends."))])
    async with raw_client(server.base_url) as c:
        await c.recv()
        await c.send({"type": "response.create"})
        with pytest.raises(ConnectionError):
            await c.until("response.done", timeout=10)
    kinds = _types(c.received)
    assert "response.output_audio.delta" in kinds
    assert "response.done" not in kinds


async def test_late_user_transcript_arrives_after_the_reply_started(
    realtime_server: RealtimeServer,
) -> None:
    realtime_server.faults.transcript_delay_ms = 600
    realtime_server.scenario = Scenario(
        [Turn(Say("Thank you for that answer."))], user_transcripts=["I shard by tenant."]
    )
    speech = speak("I would shard the table by tenant.")
    async with raw_client(realtime_server.base_url) as c:
        await c.recv()
        await c.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {
                        "input": {
                            "transcription": {"model": "whisper-1"},
                            "turn_detection": {"type": "server_vad", "silence_duration_ms": 300},
                        }
                    },
                },
            }
        )
        await c.until("session.updated")
        pcm = speech + silence(600)
        for i in range(0, len(pcm), 4800):
            await c.send(_append(pcm[i : i + 4800]))
        got = await c.until("conversation.item.input_audio_transcription.completed")
        kinds = _types(got)
        committed = next(e for e in got if e["type"] == "input_audio_buffer.committed")
        assert kinds.index("input_audio_buffer.committed") < kinds.index("response.created")
        assert kinds.index("response.created") < kinds.index(
            "conversation.item.input_audio_transcription.delta"
        )
        assert "response.output_audio.delta" in kinds  # the reply was already being spoken
        assert got[-1]["item_id"] == committed["item_id"]
        assert got[-1]["transcript"] == "I shard by tenant."
    for event in c.received:
        validate_server_event(event)


async def test_transcript_delay_is_an_option_and_reset_restores_it(
    make_realtime_server: ServerFactory,
) -> None:
    server = await make_realtime_server(ServerOptions(pace=4.0, transcript_delay_ms=250))
    assert server.faults.transcript_delay_ms == 250
    server.faults.transcript_delay_ms = 0
    server.reset()
    assert server.faults.transcript_delay_ms == 250
    assert RealtimeServer(transcript_delay_ms=40).faults.transcript_delay_ms == 40


async def test_what_a_session_hears_follows_the_signature_in_its_audio(
    realtime_server: RealtimeServer,
) -> None:
    alice, bruno = SIGNATURE_TONES_HZ[:2]
    realtime_server.scenario = Scenario(
        user_transcripts=["no signature"],
        user_transcripts_by_tone={alice: ["Alice's words."], bruno: ["Bruno's words."]},
    )
    speech = speak("My name is Alice and this is my answer.")

    async def one_turn(pcm: bytes) -> str:
        async with raw_client(realtime_server.base_url) as c:
            await c.recv()
            await c.send(
                {
                    "type": "session.update",
                    "session": {
                        "type": "realtime",
                        "instructions": "You interview Alice Archer.",
                        "audio": {
                            "input": {
                                "transcription": {"model": "whisper-1"},
                                "turn_detection": None,
                            }
                        },
                    },
                }
            )
            await c.until("session.updated")
            await c.send(_append(pcm))
            await c.send({"type": "input_audio_buffer.commit"})
            got = await c.until("conversation.item.input_audio_transcription.completed")
            return str(got[-1]["transcript"])

    # The session is Alice's either way; only the audio says who spoke.
    assert await one_turn(with_signature(speech, alice)) == "Alice's words."
    assert await one_turn(with_signature(speech, bruno)) == "Bruno's words."
    assert await one_turn(speech) == "no signature"
