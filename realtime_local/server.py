"""The local OpenAI Realtime server: WebSocket endpoint, event log, faults, control API.

In-process use (the pytest fixture `realtime_server` in tests/fixtures/realtime.py does this)::

    server = RealtimeServer(ServerOptions(pace=4.0))
    await server.start()                  # 127.0.0.1, a free port
    model = RealtimeModel(base_url=server.base_url, api_key="local")
    server.scenario = Scenario([Turn(Say("Hello"))], user_transcripts=["hi"])
    ...
    server.log.client_events("conversation.item.create")   # what the agent sent
    await server.stop()

From a thread (sync tests): `with serve_in_thread(options) as server: ...`.
As a subprocess: `python -m realtime_local --port N [--rehearsal]` (see __main__).

Endpoints: `GET /v1/realtime?model=...` (also `/realtime`) upgrades to the protocol;
`GET /health`; and for tests driving a subprocess, `GET /_control/events?direction=client`,
`PUT /_control/scenario` (a scenario as JSON, see realtime_local.scenario),
`PUT /_control/faults` (fields of `Faults`, e.g. `{"transcript_delay_ms": 800}` to deliver user
transcripts late from the next commit on, `{"text_failures": 2, "text_failure_kind": "refusal"}`
for the text API), `GET /_control/text_calls` (`{"calls": N}`, chat completion requests since
the start or the last reset), `POST /_control/reset`.

`POST /v1/chat/completions` (also `/chat/completions`) is the Chat Completions API part the
report's evaluator uses, answered by a deterministic evaluator (see realtime_local.textapi).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from realtime_local import audio
from realtime_local.brain import Brain, EchoBrain, RehearsalBrain, ResponseContext
from realtime_local.faults import Faults
from realtime_local.scenario import Scenario, ScenarioError, Step
from realtime_local.session import RealtimeSession
from realtime_local.textapi import TextApi, bearer_ok

__all__ = [
    "EventLog",
    "Faults",
    "LoggedEvent",
    "RealtimeServer",
    "ServerOptions",
    "serve_in_thread",
]

log = logging.getLogger("realtime_local.server")


@dataclass
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    pace: float = 1.0  # audio speed relative to real time; 0 sends it all at once
    audio_lead_s: float = 0.2  # audio sent ahead of real time at the start of a reply
    vad_rms_threshold: float = 0.02  # speech level (RMS, full scale 1.0) at threshold 0.5
    use_espeak: bool = True
    rehearsal: bool = False  # the default brain: rehearsal interviewer instead of echo
    rehearsal_questions: int = 3
    api_key: str | None = None  # when set, the bearer token must match it
    max_log_events: int = 200_000
    transcript_delay_ms: float = 0.0  # the starting value of `Faults.transcript_delay_ms`


@dataclass
class LoggedEvent:
    conn: int  # connection number, from 1
    direction: str  # "client" (received) or "server" (sent)
    at: float  # time.monotonic()
    text: str
    _parsed: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def event(self) -> dict[str, Any]:
        if self._parsed is None:
            self._parsed = json.loads(self.text)
        return self._parsed

    @property
    def type(self) -> str:
        return str(self.event.get("type"))


class EventLog:
    """Every event received from and sent to clients, in order (bounded)."""

    def __init__(self, maxlen: int) -> None:
        self._events: deque[LoggedEvent] = deque(maxlen=maxlen)

    def record(self, conn: int, direction: str, text: str) -> None:
        self._events.append(LoggedEvent(conn, direction, time.monotonic(), text))

    def clear(self) -> None:
        self._events.clear()

    def entries(self, direction: str | None = None, conn: int | None = None) -> list[LoggedEvent]:
        return [
            e
            for e in list(self._events)
            if (direction is None or e.direction == direction) and (conn is None or e.conn == conn)
        ]

    def _select(
        self, direction: str, types: tuple[str, ...], conn: int | None
    ) -> list[dict[str, Any]]:
        out = []
        for e in self.entries(direction, conn):
            if not types or e.type in types:
                out.append(e.event)
        return out

    def client_events(self, *types: str, conn: int | None = None) -> list[dict[str, Any]]:
        return self._select("client", types, conn)

    def server_events(self, *types: str, conn: int | None = None) -> list[dict[str, Any]]:
        return self._select("server", types, conn)


class Stats:
    """Server-side handling time of each client event: (event type, seconds), bounded."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self.samples: deque[tuple[str, float]] = deque(maxlen=maxlen)

    def add(self, kind: str, seconds: float) -> None:
        self.samples.append((kind, seconds))


class RealtimeServer:
    def __init__(
        self,
        options: ServerOptions | None = None,
        *,
        scenario: Scenario | None = None,
        brain: Brain | None = None,
        transcript_delay_ms: float | None = None,
    ) -> None:
        self.options = options or ServerOptions()
        if transcript_delay_ms is not None:
            self.options.transcript_delay_ms = transcript_delay_ms
        self.scenario = scenario or Scenario()
        self.brain: Brain = brain or (
            RehearsalBrain(self.options.rehearsal_questions)
            if self.options.rehearsal
            else EchoBrain()
        )
        self.faults = self._initial_faults()
        self.log = EventLog(self.options.max_log_events)
        self.stats = Stats()
        self.sessions: dict[int, RealtimeSession] = {}
        self.connections_refused = 0
        self.text = TextApi(lambda: self.faults, self.options.api_key)
        self._conn_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if self.options.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the local realtime server binds to loopback only")
        app = web.Application()
        app.router.add_get("/v1/realtime", self._handle_ws)
        app.router.add_get("/realtime", self._handle_ws)
        app.router.add_post("/v1/chat/completions", self.text.handle)
        app.router.add_post("/chat/completions", self.text.handle)
        app.router.add_get("/health", self._handle_health)
        app.router.add_get("/_control/text_calls", self._handle_text_calls)
        app.router.add_get("/_control/events", self._handle_events)
        app.router.add_put("/_control/scenario", self._handle_scenario)
        app.router.add_put("/_control/faults", self._handle_faults)
        app.router.add_post("/_control/reset", self._handle_reset)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.options.port))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, shutdown_timeout=1.0).start()
        log.info("listening on %s", self.base_url)

    async def stop(self) -> None:
        for sess in list(self.sessions.values()):
            with contextlib.suppress(Exception):
                await sess.ws.close(code=1001, message=b"server stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """What to give `RealtimeModel(base_url=...)` or `OPENAI_BASE_URL`."""
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/v1/realtime"

    # -- what the sessions ask of the server ---------------------------------------------

    def plan(self, ctx: ResponseContext) -> list[Step]:
        turn = self.scenario.next_turn()
        if turn is not None:
            return list(turn.steps)
        return self.brain.plan(ctx)

    def next_user_transcript(self, pcm: bytes) -> str:
        """What the user said in a committed turn, as far as its audio tells (see scenario)."""
        scenario = self.scenario
        tones = scenario.signature_tones
        tone = audio.find_signature(pcm, tones) if tones else None
        words = scenario.next_user_transcript(tone)
        duration_ms = audio.bytes_to_ms(len(pcm))
        return words if words is not None else f"[speech {duration_ms / 1000:.1f} s]"

    def _initial_faults(self) -> Faults:
        return Faults(transcript_delay_ms=self.options.transcript_delay_ms)

    def reset(self) -> None:
        """Forget the script, the log and the faults (back to the options' starting values)."""
        self.scenario = Scenario()
        self.faults = self._initial_faults()
        self.log.clear()
        self.stats.samples.clear()
        self.text.calls = 0

    async def drop_all(self, code: int = 1011) -> None:
        """Close every live connection now (a server-side outage)."""
        for sess in list(self.sessions.values()):
            await sess.ws.close(code=code, message=b"dropped")

    async def wait_for(
        self,
        predicate: Callable[[LoggedEvent], bool] | str,
        *,
        direction: str = "client",
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[LoggedEvent]:
        """Wait until `count` logged events match (an event type or a predicate)."""
        check: Callable[[LoggedEvent], bool]
        if isinstance(predicate, str):
            wanted = predicate
            check = lambda e: e.type == wanted  # noqa: E731
        else:
            check = predicate
        deadline = time.monotonic() + timeout
        while True:
            hits = [e for e in self.log.entries(direction) if check(e)]
            if len(hits) >= count:
                return hits
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(hits)}/{count} {direction} events matched within {timeout}s"
                )
            await asyncio.sleep(0.01)

    # -- HTTP -----------------------------------------------------------------------------

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        if self.faults.take_refusal():
            self.connections_refused += 1
            log.info("refusing a connection on purpose")
            return web.json_response(
                {"error": {"type": "server_error", "message": "refused by fault injection"}},
                status=503,
            )
        if not bearer_ok(request, self.options.api_key):
            return web.json_response(
                {"error": {"type": "invalid_request_error", "code": "invalid_api_key"}},
                status=401,
            )
        ws = web.WebSocketResponse(max_msg_size=32 * 1024 * 1024, autoping=True)
        await ws.prepare(request)
        conn_id = next(self._conn_ids)
        model = request.query.get("model", "gpt-realtime")
        sess = RealtimeSession(self, ws, conn_id, model, transport=request.transport)
        self.sessions[conn_id] = sess
        log.info("connection %s opened", conn_id)
        try:
            await sess.run()
        finally:
            self.sessions.pop(conn_id, None)
            log.info("connection %s closed", conn_id)
        return ws

    async def _handle_health(self, request: web.Request) -> web.Response:
        mode = "rehearsal" if isinstance(self.brain, RehearsalBrain) else "echo"
        return web.json_response({"ok": True, "mode": mode, "connections": len(self.sessions)})

    async def _handle_events(self, request: web.Request) -> web.Response:
        direction = request.query.get("direction")
        entries = self.log.entries(direction)
        body = [{"conn": e.conn, "direction": e.direction, "event": e.event} for e in entries]
        return web.json_response(body)

    async def _handle_scenario(self, request: web.Request) -> web.Response:
        try:
            self.scenario = Scenario.from_dict(await request.json())
        except (ValueError, ScenarioError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def _handle_faults(self, request: web.Request) -> web.Response:
        try:
            self.faults.update(await request.json())
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def _handle_text_calls(self, request: web.Request) -> web.Response:
        return web.json_response({"calls": self.text.calls})

    async def _handle_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})


@contextlib.contextmanager
def serve_in_thread(
    options: ServerOptions | None = None, *, scenario: Scenario | None = None
) -> Iterator[RealtimeServer]:
    """Run a server on an event loop of its own in a daemon thread (for sync code)."""
    loop = asyncio.new_event_loop()
    server = RealtimeServer(options, scenario=scenario)
    ready = threading.Event()
    errors: list[BaseException] = []

    def _run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:
            errors.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=_run, name="realtime-local", daemon=True)
    thread.start()
    ready.wait(10)
    if errors:
        raise errors[0]
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
