"""Every server event of `realtime_local` leaves through `RealtimeSession.send`: one path that
stamps, checks, logs and sends it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp import web

import realtime_local
from realtime_local import RealtimeServer, ServerOptions
from realtime_local.session import RealtimeSession

pytestmark = pytest.mark.unit

PACKAGE = Path(realtime_local.__file__).parent


def test_only_the_session_send_writes_to_a_websocket() -> None:
    writes = [
        (path.name, line.strip())
        for path in sorted(PACKAGE.glob("*.py"))
        for line in path.read_text().splitlines()
        if re.search(r"\.send_(str|json|bytes)\(", line)
    ]
    assert writes == [("session.py", "await self.ws.send_str(text)")]


def _session() -> tuple[RealtimeServer, RealtimeSession]:
    server = RealtimeServer(ServerOptions(use_espeak=False))
    # never prepared: its send_str fails, which the send path takes as a closed connection
    return server, RealtimeSession(server, web.WebSocketResponse(), 7, "gpt-realtime")


async def test_an_event_without_a_type_is_refused_before_it_is_logged() -> None:
    server, sess = _session()
    with pytest.raises(ValueError, match="type"):
        await sess.send({"item_id": "item_1"})
    with pytest.raises(ValueError, match="event_id"):
        await sess.send({"type": "input_audio_buffer.cleared", "event_id": None})
    assert server.log.entries() == []


async def test_a_sent_event_is_logged_with_a_fresh_event_id() -> None:
    server, sess = _session()
    await sess.send({"type": "input_audio_buffer.cleared"})
    [logged] = server.log.server_events()
    assert logged["type"] == "input_audio_buffer.cleared"
    assert logged["event_id"].startswith("event_")
