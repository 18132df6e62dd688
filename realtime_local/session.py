"""One WebSocket connection speaking the OpenAI Realtime protocol (GA event names).

The session is the connection: it dispatches client events, keeps the session configuration
(`session.update`) and sends every server event through one path (`send`). The conversation's
item events live in `items`, the input audio buffer and turn detection in `turns`, the
responses in `responses`.

Every client event is checked against the `openai` package's own client event models; a bad
one gets an `error` event naming the problem and the offending `event_id`, never a crash.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from openai.types import realtime as rt
from pydantic import BaseModel, ValidationError

from realtime_local.conversation import ClientError, Conversation, new_id
from realtime_local.host import SessionHost
from realtime_local.items import ItemEvents
from realtime_local.responses import AUDIO_FORMAT, Responses
from realtime_local.scenario import Drop
from realtime_local.turns import DEFAULT_TURN_DETECTION, InputAudio

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
        self._send_lock = asyncio.Lock()
        self._drop_tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.items = ItemEvents(self.conversation, self.send)
        self.responses = Responses(self)
        self.input = InputAudio(self, self.responses)
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "session.update": self._on_session_update,
            "input_audio_buffer.append": self.input.on_append,
            "input_audio_buffer.commit": self.input.on_commit,
            "input_audio_buffer.clear": self.input.on_clear,
            "conversation.item.create": self.items.on_create,
            "conversation.item.delete": self.items.on_delete,
            "conversation.item.truncate": self.items.on_truncate,
            "conversation.item.retrieve": self.items.on_retrieve,
            "response.create": self.responses.on_create,
            "response.cancel": self.responses.on_cancel,
            "output_audio_buffer.clear": self._on_output_audio_clear,
        }

    # -- the one send path ----------------------------------------------------------------

    async def send(self, event: dict[str, Any]) -> None:
        """The one path of every server event: stamped, checked, logged, then sent in order.

        An event without a string `type` and `event_id` is a bug here, not a client's fault, so
        it raises rather than reaching the client (or the log the tests read) malformed.
        """
        stamped = {"event_id": new_id("event"), **event}
        if not isinstance(stamped.get("type"), str):
            raise ValueError(f"a server event needs a string type: {sorted(stamped)}")
        if not isinstance(stamped["event_id"], str):
            raise ValueError(f"a server event needs a string event_id: {stamped['type']}")
        if self._closed or self.ws.closed:
            return
        text = json.dumps(stamped)
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
            await self.responses.stop()
            for task in list(self._drop_tasks):
                task.cancel()
            self.input.close()

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
            self.input.turn_detection_changed()
        await self.send({"type": "session.updated", "session": self.config})

    # -- output audio ---------------------------------------------------------------------

    async def _on_output_audio_clear(self, ev: dict[str, Any]) -> None:
        # WebRTC-only in the real service; over a WebSocket there is no server-side buffer
        return None

    async def drop(self, step: Drop) -> None:
        log.info("dropping connection %s on purpose", self.conn_id)
        self._closed = True
        if step.abrupt and isinstance(self.transport, asyncio.Transport):
            self.transport.abort()
            return
        await self.ws.close(code=1011, message=b"dropped by the scenario")

    def schedule_drop(self, step: Drop) -> None:
        async def _later() -> None:
            await asyncio.sleep(step.after_s)
            await self.drop(step)

        task = asyncio.create_task(_later())
        self._drop_tasks.add(task)
        task.add_done_callback(self._drop_tasks.discard)
