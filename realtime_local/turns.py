"""Input audio and turn detection: the input buffer, the energy VAD and user turns.

Appended audio fills the buffer; with `turn_detection` set, an energy detector emits
`speech_started` / `speech_stopped`, commits the turn as a user item and starts a response (and
cancels one in progress when the user barges in); with `turn_detection: null` the client commits
and clears the buffer itself. Transcription events follow a commit when transcription is on,
possibly late (a fault), as OpenAI transcribes beside the model.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any, Protocol

from realtime_local import audio
from realtime_local.conversation import ClientError, Conversation, Item, new_id
from realtime_local.host import SessionHost
from realtime_local.responses import Responses

MIN_COMMIT_MS = 100
# energy threshold for the protocol's `threshold` 0.5; other values scale linearly
DEFAULT_TURN_DETECTION: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "create_response": True,
    "interrupt_response": True,
}
_SEMANTIC_SILENCE_MS = {"low": 900, "medium": 500, "auto": 500, "high": 300}


class InputSession(Protocol):
    """What the input audio needs of its connection."""

    @property
    def config(self) -> dict[str, Any]: ...

    @property
    def server(self) -> SessionHost: ...

    @property
    def conversation(self) -> Conversation: ...

    async def send(self, event: dict[str, Any]) -> None: ...


class InputAudio:
    """The input audio buffer of one session and the turn detection over it."""

    def __init__(self, session: InputSession, responses: Responses) -> None:
        self.session = session
        self.responses = responses
        self.buffer = bytearray()
        self.buffer_start_ms = 0.0  # input stream position of the buffer's first byte
        self.input_ms = 0.0  # total input audio received on this connection
        self.vad: audio.EnergyVad | None = None
        self.speech_item_id: str | None = None
        self._late_tasks: set[asyncio.Task[None]] = set()  # transcripts delivered late
        self.configure_vad()

    def turn_detection_changed(self) -> None:
        self.speech_item_id = None
        self.configure_vad()

    def close(self) -> None:
        for task in list(self._late_tasks):
            task.cancel()

    def configure_vad(self) -> None:
        td = self.session.config["audio"]["input"].get("turn_detection")
        if not td:
            self.vad = None
            return
        threshold = float(td.get("threshold") or 0.5)
        if td.get("type") == "semantic_vad":
            silence = _SEMANTIC_SILENCE_MS.get(str(td.get("eagerness") or "auto"), 500)
        else:
            silence = int(td.get("silence_duration_ms") or 500)
        self.vad = audio.EnergyVad(
            rms_threshold=self.session.server.options.vad_rms_threshold * threshold / 0.5,
            silence_ms=silence,
            prefix_ms=int(td.get("prefix_padding_ms") or 300),
        )
        self.vad.skip(self.input_ms)

    def _turn_detection(self) -> dict[str, Any] | None:
        td = self.session.config["audio"]["input"].get("turn_detection")
        return td if isinstance(td, dict) else None

    async def on_append(self, ev: dict[str, Any]) -> None:
        try:
            pcm = base64.b64decode(ev["audio"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ClientError("audio is not valid base64", "invalid_value", "audio") from exc
        if len(pcm) % 2:
            raise ClientError("audio must be PCM16 (an even number of bytes)", "invalid_value")
        self.buffer.extend(pcm)
        self.input_ms += audio.bytes_to_ms(len(pcm))
        if self.vad is None:
            return
        for vad_ev in self.vad.feed(pcm):
            if vad_ev.kind == "started":
                await self._speech_started(vad_ev.at_ms)
            else:
                await self._speech_stopped(vad_ev.at_ms)
        if not self.vad.speaking:
            # keep only what could become the prefix of the next turn
            keep = audio.ms_to_bytes(self.vad.prefix_ms + 200)
            if len(self.buffer) > keep:
                drop = len(self.buffer) - keep
                del self.buffer[:drop]
                self.buffer_start_ms += audio.bytes_to_ms(drop)

    async def _speech_started(self, at_ms: int) -> None:
        td = self._turn_detection() or {}
        self.speech_item_id = new_id("item")
        await self.session.send(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": at_ms,
                "item_id": self.speech_item_id,
            }
        )
        resp = self.responses.current
        if resp is not None and td.get("interrupt_response", True) is not False:
            await self.responses.cancel(resp, "turn_detected")

    async def _speech_stopped(self, at_ms: int) -> None:
        td = self._turn_detection() or {}
        item_id = self.speech_item_id or new_id("item")
        self.speech_item_id = None
        await self.session.send(
            {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": at_ms, "item_id": item_id}
        )
        if not self.buffer:
            return
        await self._commit(item_id, event_id=None)
        if td.get("create_response", True) is not False and self.responses.current is None:
            await self.responses.start({}, None)

    async def _commit(self, item_id: str, event_id: str | None) -> None:
        duration_ms = audio.bytes_to_ms(len(self.buffer))
        transcript = self.session.server.next_user_transcript(bytes(self.buffer))
        self.buffer.clear()
        self.buffer_start_ms = self.input_ms
        item = Item(
            data={
                "id": item_id,
                "object": "realtime.item",
                "type": "message",
                "role": "user",
                "status": "completed",
                "content": [{"type": "input_audio", "transcript": None}],
            },
            audio_ms=duration_ms,
            transcript=transcript,
        )
        prev = self.session.conversation.insert(item, None)
        await self.session.send(
            {"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": prev}
        )
        await self.session.send(
            {"type": "conversation.item.added", "previous_item_id": prev, "item": item.data}
        )
        await self.session.send(
            {"type": "conversation.item.done", "previous_item_id": prev, "item": item.data}
        )
        if self.session.config["audio"]["input"].get("transcription") is None:
            item.data["content"][0]["transcript"] = transcript
            return
        delay_ms = self.session.server.faults.transcript_delay_ms
        if delay_ms <= 0:
            await self._send_transcription(item, duration_ms)
            return

        # OpenAI transcribes beside the model: the transcript may land after the reply began
        async def _late() -> None:
            await asyncio.sleep(delay_ms / 1000)
            await self._send_transcription(item, duration_ms)

        task = asyncio.create_task(_late())
        self._late_tasks.add(task)
        task.add_done_callback(self._late_tasks.discard)

    async def _send_transcription(self, item: Item, duration_ms: float) -> None:
        item_id, transcript = item.data["id"], item.transcript or ""
        await self.session.send(
            {
                "type": "conversation.item.input_audio_transcription.delta",
                "item_id": item_id,
                "content_index": 0,
                "delta": transcript,
            }
        )
        await self.session.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": transcript,
                "usage": {"type": "duration", "seconds": round(duration_ms / 1000, 3)},
            }
        )
        item.data["content"][0]["transcript"] = transcript

    async def on_commit(self, ev: dict[str, Any]) -> None:
        have_ms = audio.bytes_to_ms(len(self.buffer))
        if have_ms < MIN_COMMIT_MS:
            raise ClientError(
                f"Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {have_ms:.2f}ms of audio.",
                "input_audio_buffer_commit_empty",
            )
        item_id = self.speech_item_id or new_id("item")
        self.speech_item_id = None
        if self.vad is not None:
            self.vad.reset()
        await self._commit(item_id, ev.get("event_id"))

    async def on_clear(self, ev: dict[str, Any]) -> None:
        self.buffer.clear()
        self.buffer_start_ms = self.input_ms
        self.speech_item_id = None
        if self.vad is not None:
            self.vad.reset()
        await self.session.send({"type": "input_audio_buffer.cleared"})
