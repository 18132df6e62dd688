"""Responses: at most one at a time, run from a plan of steps and streamed as Realtime events.

A response is planned by the host (the scenario's next turn or the brain), announced with
`response.created`, then run in a task that says text (as audio or text deltas), calls tools,
waits, fails or drops the connection as its steps say, and ends with `response.done`. A cancel
(the client's, or turn detection's barge-in) ends the current output item as `incomplete`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from realtime_local import audio
from realtime_local.brain import ResponseContext, fill_arguments
from realtime_local.conversation import ClientError, Conversation, Item, new_id
from realtime_local.host import SessionHost
from realtime_local.scenario import CallTool, Drop, Fail, Say, SendError, Step, Wait

AUDIO_FORMAT = {"type": "audio/pcm", "rate": audio.SAMPLE_RATE}
CHUNK_MS = 100


class ResponseSession(Protocol):
    """What a response needs of its connection."""

    @property
    def id(self) -> str: ...

    @property
    def config(self) -> dict[str, Any]: ...

    @property
    def server(self) -> SessionHost: ...

    @property
    def conversation(self) -> Conversation: ...

    async def send(self, event: dict[str, Any]) -> None: ...

    async def send_error(
        self,
        message: str,
        code: str,
        *,
        event_id: str | None = None,
        param: str | None = None,
        type_: str = "invalid_request_error",
    ) -> None: ...

    async def drop(self, step: Drop) -> None: ...

    def schedule_drop(self, step: Drop) -> None: ...


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


class Responses:
    """The responses of one session; `current` is the one in progress, if any."""

    def __init__(self, session: ResponseSession) -> None:
        self.session = session
        self.current: Response | None = None

    async def on_create(self, ev: dict[str, Any]) -> None:
        if self.current is not None:
            raise ClientError(
                f"Conversation already has an active response in progress: {self.current.id}. "
                "Wait until the response is finished before creating a new one.",
                "conversation_already_has_active_response",
            )
        await self.start(ev.get("response") or {}, ev.get("event_id"))

    async def on_cancel(self, ev: dict[str, Any]) -> None:
        resp = self.current
        wanted = ev.get("response_id")
        if resp is None or (wanted and wanted != resp.id):
            raise ClientError(
                "Cancellation failed: no active response found", "response_cancel_not_active"
            )
        await self.cancel(resp, "client_cancelled")

    def _context(self) -> ResponseContext:
        transcripts = {
            it.data["id"]: it.transcript for it in self.session.conversation.items if it.transcript
        }
        return ResponseContext(
            items=[it.data for it in self.session.conversation.items],
            tools=[t for t in self.session.config.get("tools") or [] if isinstance(t, dict)],
            instructions=self.session.config.get("instructions"),
            tool_choice=self.session.config.get("tool_choice", "auto"),
            transcripts=transcripts,
        )

    async def start(self, params: dict[str, Any], event_id: str | None) -> None:
        modalities = params.get("output_modalities") or self.session.config.get("output_modalities")
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
        steps = self.session.server.plan(ctx)
        self.current = resp
        await self.session.send({"type": "response.created", "response": self._response_obj(resp)})
        resp.task = asyncio.create_task(self._run(resp, steps))

    def _response_obj(self, resp: Response) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "object": "realtime.response",
            "id": resp.id,
            "status": resp.status,
            "status_details": resp.status_details,
            "output": resp.output,
            "conversation_id": f"conv_{self.session.id[5:]}",
            "output_modalities": resp.modalities,
            "max_output_tokens": self.session.config.get("max_output_tokens", "inf"),
            "audio": {
                "output": {
                    "format": dict(AUDIO_FORMAT),
                    "voice": self.session.config["audio"]["output"].get("voice", "marin"),
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
            for it in self.session.conversation.items
        )
        text_in += len(self.session.config.get("instructions") or "") // 4
        audio_in = int(
            sum(it.audio_ms for it in self.session.conversation.items if it.transcript) / 100
        )
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

    async def cancel(self, resp: Response, reason: str) -> None:
        if resp.task is None or resp.task.done():
            return
        resp.cancel_reason = reason
        resp.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await resp.task

    async def stop(self) -> None:
        resp = self.current
        if resp is not None and resp.task is not None and not resp.task.done():
            resp.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await resp.task

    async def _run(self, resp: Response, steps: list[Step]) -> None:
        try:
            delay = self.session.server.faults.response_delay_s
            if delay > 0:
                await asyncio.sleep(delay)
            if self.session.server.faults.take_drop_mid_response():
                self.session.schedule_drop(Drop(after_s=0.15))
            for step in steps:
                if isinstance(step, Wait):
                    await asyncio.sleep(step.seconds)
                elif isinstance(step, Drop) and step.after_s <= 0:
                    await self.session.drop(step)
                    return
                elif isinstance(step, Drop):
                    self.session.schedule_drop(step)
                elif isinstance(step, SendError):
                    await self.session.send_error(step.message, step.code, type_=step.type)
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
        if self.current is resp:
            self.current = None
        done = self._response_obj(resp)
        await self.session.send({"type": "response.done", "response": done})

    async def _open_item(self, resp: Response, data: dict[str, Any]) -> tuple[Item, int]:
        item = Item(data=data)
        prev = self.session.conversation.insert(item, None)
        resp.output.append(data)
        resp.current = data
        index = len(resp.output) - 1
        await self.session.send(
            {
                "type": "response.output_item.added",
                "response_id": resp.id,
                "output_index": index,
                "item": data,
            }
        )
        await self.session.send(
            {"type": "conversation.item.added", "previous_item_id": prev, "item": data}
        )
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
            await self.session.send(
                {
                    "type": "response.content_part.added",
                    **ids,
                    "content_index": 0,
                    "part": {"type": "audio", "transcript": ""},
                }
            )
            data["content"] = [{"type": "output_audio", "transcript": ""}]
            pcm = await self.session.server.synth.speak(text)
            chunk = audio.ms_to_bytes(CHUNK_MS)
            n_chunks = max(1, -(-len(pcm) // chunk))
            pace = self.session.server.options.pace
            lead_s = self.session.server.options.audio_lead_s
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
                    await self.session.send(
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
                await self.session.send(
                    {
                        "type": "response.output_audio.delta",
                        **ids,
                        "content_index": 0,
                        "delta": base64.b64encode(piece).decode("ascii"),
                    }
                )
        else:
            await self.session.send(
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
                await self.session.send(
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
                await self.session.send(
                    {"type": "response.output_audio.done", **ids, "content_index": 0}
                )
                await self.session.send(
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
                await self.session.send(
                    {"type": "response.output_text.done", **ids, "content_index": 0, "text": text}
                )
                done_part = {"type": "text", "text": text}
            await self.session.send(
                {"type": "response.content_part.done", **ids, "content_index": 0, "part": done_part}
            )
        data["status"] = status
        await self.session.send(
            {
                "type": "response.output_item.done",
                "response_id": resp.id,
                "output_index": index,
                "item": data,
            }
        )
        pos = next(
            (i for i, it in enumerate(self.session.conversation.items) if it.data is data), None
        )
        if pos is not None:  # not deleted by the client meanwhile
            prev = self.session.conversation.items[pos - 1].data["id"] if pos > 0 else None
            await self.session.send(
                {"type": "conversation.item.done", "previous_item_id": prev, "item": data}
            )

    async def _call_tool(self, resp: Response, step: CallTool) -> None:
        arguments = step.arguments
        if arguments is None:
            tools: list[dict[str, Any]] = self.session.config.get("tools") or []
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
        await self.session.send(
            {
                "type": "response.function_call_arguments.delta",
                **ids,
                "call_id": call_id,
                "delta": args_json,
            }
        )
        data["arguments"] = args_json
        await self.session.send(
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
