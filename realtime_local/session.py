"""One WebSocket connection speaking the OpenAI Realtime protocol (GA event names).

The session keeps what the real server keeps: the session configuration (`session.update`),
the conversation (items created, deleted and truncated, each acknowledged), the input audio
buffer (append, commit, clear) and at most one response at a time. Turn taking follows the
configuration: with `turn_detection` set, an energy detector emits `speech_started` /
`speech_stopped`, commits the turn and starts a response (and cancels one in progress when the
user barges in); with `turn_detection: null` the client commits and asks for responses itself.

Every client event is checked against the `openai` package's own client event models; a bad
one gets an `error` event naming the problem and the offending `event_id`, never a crash.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from openai.types import realtime as rt
from pydantic import BaseModel, ValidationError

from realtime_local import audio
from realtime_local.brain import ResponseContext, fill_arguments
from realtime_local.conversation import ClientError, Conversation, Item, new_id
from realtime_local.host import SessionHost
from realtime_local.scenario import CallTool, Drop, Fail, Say, SendError, Step, Wait

log = logging.getLogger("realtime_local.server")

CLIENT_EVENT_MODELS: dict[str, type[BaseModel]] = {
    "session.update": rt.SessionUpdateEvent,
    "input_audio_buffer.append": rt.InputAudioBufferAppendEvent,
    "input_audio_buffer.commit": rt.InputAudioBufferCommitEvent,
    "input_audio_buffer.clear": rt.InputAudioBufferClearEvent,
    "conversation.item.create": rt.ConversationItemCreateEvent,
    "conversation.item.delete": rt.ConversationItemDeleteEvent,
    "conversation.item.truncate": rt.ConversationItemTruncateEvent,
    "conversation.item.retrieve": rt.ConversationItemRetrieveEvent,
    "response.create": rt.ResponseCreateEvent,
    "response.cancel": rt.ResponseCancelEvent,
    "output_audio_buffer.clear": rt.OutputAudioBufferClearEvent,
}

AUDIO_FORMAT = {"type": "audio/pcm", "rate": audio.SAMPLE_RATE}
MIN_COMMIT_MS = 100
CHUNK_MS = 100
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


@dataclass
class Response:
    id: str
    metadata: dict[str, Any] | None
    modalities: list[str]
    output: list[dict[str, Any]] = field(default_factory=list)
    status: str = "in_progress"
    status_details: dict[str, Any] | None = None
    cancel_reason: str | None = None
    task: asyncio.Task[None] | None = None
    current: dict[str, Any] | None = None  # the output item being produced
    current_text: str = ""
    output_tokens: int = 0
    audio_ms: float = 0.0


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    return loc, str(err.get("msg", "invalid value"))


class RealtimeSession:
    """The server side of one connection."""

    def __init__(
        self,
        server: SessionHost,
        ws: web.WebSocketResponse,
        conn_id: int,
        model: str,
        transport: asyncio.BaseTransport | None = None,
    ) -> None:
        self.server = server
        self.ws = ws
        self.transport = transport
        self.conn_id = conn_id
        self.id = new_id("sess")
        self.config: dict[str, Any] = {
            "type": "realtime",
            "model": model,
            "output_modalities": ["audio"],
            "instructions": "",
            "tools": [],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
            "audio": {
                "input": {
                    "format": dict(AUDIO_FORMAT),
                    "transcription": None,
                    "noise_reduction": None,
                    "turn_detection": dict(DEFAULT_TURN_DETECTION),
                },
                "output": {"format": dict(AUDIO_FORMAT), "voice": "marin", "speed": 1.0},
            },
        }
        self.conversation = Conversation()
        self.buffer = bytearray()
        self.buffer_start_ms = 0.0  # input stream position of the buffer's first byte
        self.input_ms = 0.0  # total input audio received on this connection
        self.vad: audio.EnergyVad | None = None
        self.speech_item_id: str | None = None
        self.response: Response | None = None
        self._send_lock = asyncio.Lock()
        self._drop_tasks: set[asyncio.Task[None]] = set()
        self._late_tasks: set[asyncio.Task[None]] = set()  # transcripts delivered late
        self._closed = False
        self._configure_vad()
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "session.update": self._on_session_update,
            "input_audio_buffer.append": self._on_append,
            "input_audio_buffer.commit": self._on_commit,
            "input_audio_buffer.clear": self._on_clear,
            "conversation.item.create": self._on_item_create,
            "conversation.item.delete": self._on_item_delete,
            "conversation.item.truncate": self._on_item_truncate,
            "conversation.item.retrieve": self._on_item_retrieve,
            "response.create": self._on_response_create,
            "response.cancel": self._on_response_cancel,
            "output_audio_buffer.clear": self._on_output_audio_clear,
        }

    # -- plumbing -------------------------------------------------------------------------

    async def send(self, event: dict[str, Any]) -> None:
        if self._closed or self.ws.closed:
            return
        text = json.dumps({"event_id": new_id("event"), **event})
        self.server.log.record(self.conn_id, "server", text)
        try:
            async with self._send_lock:
                await self.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            self._closed = True

    async def send_error(
        self,
        message: str,
        code: str,
        *,
        event_id: str | None = None,
        param: str | None = None,
        type_: str = "invalid_request_error",
    ) -> None:
        await self.send(
            {
                "type": "error",
                "error": {
                    "type": type_,
                    "code": code,
                    "message": message,
                    "param": param,
                    "event_id": event_id,
                },
            }
        )

    async def run(self) -> None:
        await self.send({"type": "session.created", "session": self.config})
        try:
            async for msg in self.ws:
                if msg.type != web.WSMsgType.TEXT:
                    if msg.type == web.WSMsgType.BINARY:
                        await self.send_error(
                            "binary frames are not supported; send JSON text", "invalid_event"
                        )
                    continue
                started = time.perf_counter()
                kind = await self.handle_text(msg.data)
                self.server.stats.add(kind, time.perf_counter() - started)
        finally:
            self._closed = True
            await self._stop_response()
            for task in [*self._drop_tasks, *self._late_tasks]:
                task.cancel()

    async def handle_text(self, text: str) -> str:
        """Handle one client event; returns its type (for the stats)."""
        try:
            raw = json.loads(text)
        except ValueError:
            await self.send_error("the event is not valid JSON", "invalid_json")
            return "invalid"
        if not isinstance(raw, dict):
            await self.send_error("an event must be a JSON object", "invalid_event")
            return "invalid"
        event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
        self.server.log.record(self.conn_id, "client", text)
        kind = raw.get("type")
        model = CLIENT_EVENT_MODELS.get(kind) if isinstance(kind, str) else None
        if model is None or not isinstance(kind, str):
            await self.send_error(
                f"Invalid value: {kind!r}. Supported event types are: "
                + ", ".join(sorted(CLIENT_EVENT_MODELS)),
                "invalid_value",
                event_id=event_id,
                param="type",
            )
            return "invalid"
        try:
            model.model_validate(raw)
        except ValidationError as exc:
            loc, msg = _first_error(exc)
            await self.send_error(
                f"Invalid '{kind}' event: {loc}: {msg}",
                "invalid_value",
                event_id=event_id,
                param=loc,
            )
            return kind
        try:
            await self._handlers[kind](raw)
        except ClientError as exc:
            await self.send_error(exc.message, exc.code, event_id=event_id, param=exc.param)
        return kind

    # -- session --------------------------------------------------------------------------

    def _configure_vad(self) -> None:
        td = self.config["audio"]["input"].get("turn_detection")
        if not td:
            self.vad = None
            return
        threshold = float(td.get("threshold") or 0.5)
        if td.get("type") == "semantic_vad":
            silence = _SEMANTIC_SILENCE_MS.get(str(td.get("eagerness") or "auto"), 500)
        else:
            silence = int(td.get("silence_duration_ms") or 500)
        self.vad = audio.EnergyVad(
            rms_threshold=self.server.options.vad_rms_threshold * threshold / 0.5,
            silence_ms=silence,
            prefix_ms=int(td.get("prefix_padding_ms") or 300),
        )
        self.vad.skip(self.input_ms)

    async def _on_session_update(self, ev: dict[str, Any]) -> None:
        update = ev["session"]
        if update.get("type") not in (None, "realtime"):
            raise ClientError("only realtime sessions are supported", "invalid_value", "type")
        before = json.dumps(self.config["audio"]["input"].get("turn_detection"), sort_keys=True)
        _deep_merge(self.config, update)
        if self.config.get("tools") is None:
            self.config["tools"] = []
        after = json.dumps(self.config["audio"]["input"].get("turn_detection"), sort_keys=True)
        if before != after:
            self.speech_item_id = None
            self._configure_vad()
        await self.send({"type": "session.updated", "session": self.config})

    # -- input audio ----------------------------------------------------------------------

    def _turn_detection(self) -> dict[str, Any] | None:
        td = self.config["audio"]["input"].get("turn_detection")
        return td if isinstance(td, dict) else None

    async def _on_append(self, ev: dict[str, Any]) -> None:
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
        await self.send(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": at_ms,
                "item_id": self.speech_item_id,
            }
        )
        resp = self.response
        if resp is not None and td.get("interrupt_response", True) is not False:
            await self._cancel_response(resp, "turn_detected")

    async def _speech_stopped(self, at_ms: int) -> None:
        td = self._turn_detection() or {}
        item_id = self.speech_item_id or new_id("item")
        self.speech_item_id = None
        await self.send(
            {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": at_ms, "item_id": item_id}
        )
        if not self.buffer:
            return
        await self._commit(item_id, event_id=None)
        if td.get("create_response", True) is not False and self.response is None:
            await self._start_response({}, None)

    async def _commit(self, item_id: str, event_id: str | None) -> None:
        duration_ms = audio.bytes_to_ms(len(self.buffer))
        transcript = self.server.next_user_transcript(bytes(self.buffer))
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
        prev = self.conversation.insert(item, None)
        await self.send(
            {"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": prev}
        )
        await self.send(
            {"type": "conversation.item.added", "previous_item_id": prev, "item": item.data}
        )
        await self.send(
            {"type": "conversation.item.done", "previous_item_id": prev, "item": item.data}
        )
        if self.config["audio"]["input"].get("transcription") is None:
            item.data["content"][0]["transcript"] = transcript
            return
        delay_ms = self.server.faults.transcript_delay_ms
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
        await self.send(
            {
                "type": "conversation.item.input_audio_transcription.delta",
                "item_id": item_id,
                "content_index": 0,
                "delta": transcript,
            }
        )
        await self.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": transcript,
                "usage": {"type": "duration", "seconds": round(duration_ms / 1000, 3)},
            }
        )
        item.data["content"][0]["transcript"] = transcript

    async def _on_commit(self, ev: dict[str, Any]) -> None:
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

    async def _on_clear(self, ev: dict[str, Any]) -> None:
        self.buffer.clear()
        self.buffer_start_ms = self.input_ms
        self.speech_item_id = None
        if self.vad is not None:
            self.vad.reset()
        await self.send({"type": "input_audio_buffer.cleared"})

    # -- conversation ---------------------------------------------------------------------

    async def _on_item_create(self, ev: dict[str, Any]) -> None:
        data = copy.deepcopy(ev["item"])
        item_id = data.get("id") or new_id("item")
        if self.conversation.get(item_id) is not None:
            raise ClientError(
                f"Item with id '{item_id}' already exists", "item_create_duplicate_item_id", "id"
            )
        data["id"] = item_id
        data.setdefault("object", "realtime.item")
        data["status"] = "completed"
        if data.get("type") == "message" and data.get("role") == "assistant":
            for part in data.get("content") or []:
                if part.get("type") == "text":
                    part["type"] = "output_text"
        prev = self.conversation.insert(Item(data=data), ev.get("previous_item_id"))
        await self.send({"type": "conversation.item.added", "previous_item_id": prev, "item": data})
        await self.send({"type": "conversation.item.done", "previous_item_id": prev, "item": data})

    async def _on_item_delete(self, ev: dict[str, Any]) -> None:
        item_id = ev["item_id"]
        if self.conversation.get(item_id) is None:
            raise ClientError(
                f"Error deleting item: the item with id '{item_id}' does not exist.",
                "item_delete_invalid_item_id",
                "item_id",
            )
        self.conversation.delete(item_id)
        await self.send({"type": "conversation.item.deleted", "item_id": item_id})

    async def _on_item_truncate(self, ev: dict[str, Any]) -> None:
        item_id, end_ms, index = ev["item_id"], int(ev["audio_end_ms"]), int(ev["content_index"])
        item = self.conversation.get(item_id)
        if item is None:
            raise ClientError(
                f"Error truncating item: the item with id '{item_id}' does not exist.",
                "item_truncate_invalid_item_id",
                "item_id",
            )
        content = item.data.get("content") or []
        if item.data.get("role") != "assistant" or index >= len(content):
            raise ClientError(
                "Only the audio content of an assistant message can be truncated",
                "invalid_value",
                "content_index",
            )
        if end_ms < 0 or end_ms > item.audio_ms + 1:
            raise ClientError(
                f"audio_end_ms ({end_ms}) is outside the item's audio ({item.audio_ms:.0f}ms)",
                "invalid_value",
                "audio_end_ms",
            )
        part = content[index]
        words = str(part.get("transcript") or "").split()
        if item.audio_ms > 0 and words:
            keep = int(len(words) * min(1.0, end_ms / item.audio_ms))
            part["transcript"] = " ".join(words[:keep])
        item.audio_ms = float(end_ms)
        await self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": item_id,
                "content_index": index,
                "audio_end_ms": end_ms,
            }
        )

    async def _on_item_retrieve(self, ev: dict[str, Any]) -> None:
        item = self.conversation.get(ev["item_id"])
        if item is None:
            raise ClientError(
                f"Error retrieving item: the item with id '{ev['item_id']}' does not exist.",
                "item_retrieve_invalid_item_id",
                "item_id",
            )
        await self.send({"type": "conversation.item.retrieved", "item": item.data})

    # -- responses ------------------------------------------------------------------------

    async def _on_response_create(self, ev: dict[str, Any]) -> None:
        if self.response is not None:
            raise ClientError(
                f"Conversation already has an active response in progress: {self.response.id}. "
                "Wait until the response is finished before creating a new one.",
                "conversation_already_has_active_response",
            )
        await self._start_response(ev.get("response") or {}, ev.get("event_id"))

    async def _on_response_cancel(self, ev: dict[str, Any]) -> None:
        resp = self.response
        wanted = ev.get("response_id")
        if resp is None or (wanted and wanted != resp.id):
            raise ClientError(
                "Cancellation failed: no active response found", "response_cancel_not_active"
            )
        await self._cancel_response(resp, "client_cancelled")

    async def _on_output_audio_clear(self, ev: dict[str, Any]) -> None:
        # WebRTC-only in the real service; over a WebSocket there is no server-side buffer
        return None

    def _context(self) -> ResponseContext:
        transcripts = {
            it.data["id"]: it.transcript for it in self.conversation.items if it.transcript
        }
        return ResponseContext(
            items=[it.data for it in self.conversation.items],
            tools=[t for t in self.config.get("tools") or [] if isinstance(t, dict)],
            instructions=self.config.get("instructions"),
            tool_choice=self.config.get("tool_choice", "auto"),
            transcripts=transcripts,
        )

    async def _start_response(self, params: dict[str, Any], event_id: str | None) -> None:
        modalities = params.get("output_modalities") or self.config.get("output_modalities")
        resp = Response(
            id=new_id("resp"),
            metadata=params.get("metadata"),
            modalities=list(modalities or ["audio"]),
        )
        ctx = self._context()
        if params.get("tools") is not None:
            ctx.tools = [t for t in params["tools"] if isinstance(t, dict)]
        if params.get("tool_choice") is not None:
            ctx.tool_choice = params["tool_choice"]
        steps = self.server.plan(ctx)
        self.response = resp
        await self.send({"type": "response.created", "response": self._response_obj(resp)})
        resp.task = asyncio.create_task(self._run_response(resp, steps))

    def _response_obj(self, resp: Response) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "object": "realtime.response",
            "id": resp.id,
            "status": resp.status,
            "status_details": resp.status_details,
            "output": resp.output,
            "conversation_id": f"conv_{self.id[5:]}",
            "output_modalities": resp.modalities,
            "max_output_tokens": self.config.get("max_output_tokens", "inf"),
            "audio": {
                "output": {
                    "format": dict(AUDIO_FORMAT),
                    "voice": self.config["audio"]["output"].get("voice", "marin"),
                }
            },
            "metadata": resp.metadata,
            "usage": None,
        }
        if resp.status != "in_progress":
            obj["usage"] = self._usage(resp)
        return obj

    def _usage(self, resp: Response) -> dict[str, Any]:
        text_in = sum(
            len(json.dumps(it.data.get("content") or it.data.get("output") or "")) // 4
            for it in self.conversation.items
        )
        text_in += len(self.config.get("instructions") or "") // 4
        audio_in = int(sum(it.audio_ms for it in self.conversation.items if it.transcript) / 100)
        out_text = resp.output_tokens
        out_audio = int(resp.audio_ms / 50)
        return {
            "total_tokens": text_in + audio_in + out_text + out_audio,
            "input_tokens": text_in + audio_in,
            "output_tokens": out_text + out_audio,
            "input_token_details": {
                "text_tokens": text_in,
                "audio_tokens": audio_in,
                "image_tokens": 0,
                "cached_tokens": 0,
                "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
            },
            "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
        }

    async def _cancel_response(self, resp: Response, reason: str) -> None:
        if resp.task is None or resp.task.done():
            return
        resp.cancel_reason = reason
        resp.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await resp.task

    async def _stop_response(self) -> None:
        resp = self.response
        if resp is not None and resp.task is not None and not resp.task.done():
            resp.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await resp.task

    async def _run_response(self, resp: Response, steps: list[Step]) -> None:
        try:
            delay = self.server.faults.response_delay_s
            if delay > 0:
                await asyncio.sleep(delay)
            if self.server.faults.take_drop_mid_response():
                self._schedule_drop(Drop(after_s=0.15))
            for step in steps:
                if isinstance(step, Wait):
                    await asyncio.sleep(step.seconds)
                elif isinstance(step, Drop) and step.after_s <= 0:
                    await self._drop(step)
                    return
                elif isinstance(step, Drop):
                    self._schedule_drop(step)
                elif isinstance(step, SendError):
                    await self.send_error(step.message, step.code, type_=step.type)
                elif isinstance(step, Fail):
                    resp.status = "failed"
                    resp.status_details = {
                        "type": "failed",
                        "error": {"type": step.type, "code": step.code, "message": step.message},
                    }
                    break
                elif isinstance(step, Say):
                    await self._say(resp, step.text)
                elif isinstance(step, CallTool):
                    await self._call_tool(resp, step)
            if resp.status == "in_progress":
                resp.status = "completed"
                resp.status_details = None
        except asyncio.CancelledError:
            if resp.cancel_reason is None:  # the connection is going away
                raise
            await self._finish_current(resp, "incomplete")
            resp.status = "cancelled"
            resp.status_details = {"type": "cancelled", "reason": resp.cancel_reason}
        if self.response is resp:
            self.response = None
        done = self._response_obj(resp)
        await self.send({"type": "response.done", "response": done})

    async def _drop(self, step: Drop) -> None:
        log.info("dropping connection %s on purpose", self.conn_id)
        self._closed = True
        if step.abrupt and isinstance(self.transport, asyncio.Transport):
            self.transport.abort()
            return
        await self.ws.close(code=1011, message=b"dropped by the scenario")

    def _schedule_drop(self, step: Drop) -> None:
        async def _later() -> None:
            await asyncio.sleep(step.after_s)
            await self._drop(step)

        task = asyncio.create_task(_later())
        self._drop_tasks.add(task)
        task.add_done_callback(self._drop_tasks.discard)

    async def _open_item(self, resp: Response, data: dict[str, Any]) -> tuple[Item, int]:
        item = Item(data=data)
        prev = self.conversation.insert(item, None)
        resp.output.append(data)
        resp.current = data
        index = len(resp.output) - 1
        await self.send(
            {
                "type": "response.output_item.added",
                "response_id": resp.id,
                "output_index": index,
                "item": data,
            }
        )
        await self.send({"type": "conversation.item.added", "previous_item_id": prev, "item": data})
        return item, index

    async def _say(self, resp: Response, text: str) -> None:
        is_audio = "audio" in resp.modalities
        data: dict[str, Any] = {
            "id": new_id("item"),
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        item, index = await self._open_item(resp, data)
        ids = {"response_id": resp.id, "item_id": data["id"], "output_index": index}
        resp.current_text = ""
        words = text.split()
        if is_audio:
            await self.send(
                {
                    "type": "response.content_part.added",
                    **ids,
                    "content_index": 0,
                    "part": {"type": "audio", "transcript": ""},
                }
            )
            data["content"] = [{"type": "output_audio", "transcript": ""}]
            pcm = await self.server.synth.speak(text)
            chunk = audio.ms_to_bytes(CHUNK_MS)
            n_chunks = max(1, -(-len(pcm) // chunk))
            pace = self.server.options.pace
            lead_s = self.server.options.audio_lead_s
            t0 = time.monotonic()
            next_word = 0
            for k in range(n_chunks):
                due = t0 + max(0.0, k * CHUNK_MS / 1000 - lead_s) / pace if pace > 0 else 0.0
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                upto = len(words) if k == n_chunks - 1 else (k + 1) * len(words) // n_chunks
                if upto > next_word:
                    delta = " ".join(words[next_word:upto])
                    delta = delta if next_word == 0 else " " + delta
                    next_word = upto
                    resp.current_text += delta
                    data["content"][0]["transcript"] = resp.current_text
                    await self.send(
                        {
                            "type": "response.output_audio_transcript.delta",
                            **ids,
                            "content_index": 0,
                            "delta": delta,
                        }
                    )
                piece = pcm[k * chunk : (k + 1) * chunk]
                item.audio_ms += audio.bytes_to_ms(len(piece))
                resp.audio_ms += audio.bytes_to_ms(len(piece))
                await self.send(
                    {
                        "type": "response.output_audio.delta",
                        **ids,
                        "content_index": 0,
                        "delta": base64.b64encode(piece).decode("ascii"),
                    }
                )
        else:
            await self.send(
                {
                    "type": "response.content_part.added",
                    **ids,
                    "content_index": 0,
                    "part": {"type": "text", "text": ""},
                }
            )
            data["content"] = [{"type": "output_text", "text": ""}]
            for i, word in enumerate(words):
                delta = word if i == 0 else " " + word
                resp.current_text += delta
                data["content"][0]["text"] = resp.current_text
                await self.send(
                    {
                        "type": "response.output_text.delta",
                        **ids,
                        "content_index": 0,
                        "delta": delta,
                    }
                )
        resp.output_tokens += len(words)
        await self._finish_current(resp, "completed")

    async def _finish_current(self, resp: Response, status: str) -> None:
        data = resp.current
        if data is None:
            return
        resp.current = None
        index = resp.output.index(data)
        ids = {"response_id": resp.id, "item_id": data["id"], "output_index": index}
        if data["type"] == "message":
            part = data["content"][0] if data["content"] else {"type": "output_audio"}
            if part["type"] == "output_audio":
                transcript = part.get("transcript") or ""
                await self.send({"type": "response.output_audio.done", **ids, "content_index": 0})
                await self.send(
                    {
                        "type": "response.output_audio_transcript.done",
                        **ids,
                        "content_index": 0,
                        "transcript": transcript,
                    }
                )
                done_part = {"type": "audio", "transcript": transcript}
            else:
                text = part.get("text") or ""
                await self.send(
                    {"type": "response.output_text.done", **ids, "content_index": 0, "text": text}
                )
                done_part = {"type": "text", "text": text}
            await self.send(
                {"type": "response.content_part.done", **ids, "content_index": 0, "part": done_part}
            )
        data["status"] = status
        await self.send(
            {
                "type": "response.output_item.done",
                "response_id": resp.id,
                "output_index": index,
                "item": data,
            }
        )
        pos = next((i for i, it in enumerate(self.conversation.items) if it.data is data), None)
        if pos is not None:  # not deleted by the client meanwhile
            prev = self.conversation.items[pos - 1].data["id"] if pos > 0 else None
            await self.send(
                {"type": "conversation.item.done", "previous_item_id": prev, "item": data}
            )

    async def _call_tool(self, resp: Response, step: CallTool) -> None:
        arguments = step.arguments
        if arguments is None:
            tools: list[dict[str, Any]] = self.config.get("tools") or []
            tool: dict[str, Any] = next((t for t in tools if t.get("name") == step.name), {})
            arguments = fill_arguments(tool.get("parameters"), {})
        args_json = json.dumps(arguments)
        call_id = step.call_id or new_id("call")
        data: dict[str, Any] = {
            "id": new_id("item"),
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": step.name,
            "call_id": call_id,
            "arguments": "",
        }
        _, index = await self._open_item(resp, data)
        ids = {"response_id": resp.id, "item_id": data["id"], "output_index": index}
        await self.send(
            {
                "type": "response.function_call_arguments.delta",
                **ids,
                "call_id": call_id,
                "delta": args_json,
            }
        )
        data["arguments"] = args_json
        await self.send(
            {
                "type": "response.function_call_arguments.done",
                **ids,
                "call_id": call_id,
                "name": step.name,
                "arguments": args_json,
            }
        )
        resp.output_tokens += max(1, len(args_json) // 4)
        await self._finish_current(resp, "completed")
