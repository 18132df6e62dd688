"""Speech synthesis in the local server never stalls the other connections.

One connection asks for a long spoken reply (espeak-ng takes a noticeable time to render it);
meanwhile another connection does a round trip. The server's own event log must show the
other connection answered before the long reply's first audio, i.e. while espeak was running.
"""

from __future__ import annotations

import asyncio

import pytest

from realtime_local import RealtimeServer, Say, Scenario, Turn
from realtime_local.audio import Synthesizer
from tests.fixtures.realtime import raw_client

pytestmark = pytest.mark.integration

# about 800 words, never said anywhere else, so nothing has it cached
LONG_REPLY = " ".join(
    f"Point {n}: the interviewer explains in detail why this long reply takes a while to render."
    for n in range(60)
)


async def test_a_long_synthesis_does_not_stall_another_connection(
    realtime_server: RealtimeServer,
) -> None:
    realtime_server.scenario = Scenario([Turn(Say(LONG_REPLY))])
    async with (
        raw_client(realtime_server.base_url) as speaker,
        raw_client(realtime_server.base_url) as other,
    ):
        await speaker.until("session.created")
        await other.until("session.created")
        await speaker.send({"type": "response.create"})
        # the server sends this just before it renders the reply's audio
        await speaker.until("response.content_part.added")
        await other.send(
            {"type": "session.update", "session": {"type": "realtime", "instructions": "hi"}}
        )
        await other.until("session.updated", timeout=20)
        await speaker.until("response.output_audio.delta", timeout=20)
        await speaker.send({"type": "response.cancel"})
        await speaker.until("response.done", timeout=20)

    log = realtime_server.log
    (speaker_conn,) = {e.conn for e in log.entries("server") if e.type == "response.created"}
    (other_conn,) = {e.conn for e in log.entries("server") if e.type == "session.updated"}
    order = [
        (e.conn, e.type)
        for e in log.entries("server")
        if (e.conn, e.type)
        in ((other_conn, "session.updated"), (speaker_conn, "response.output_audio.delta"))
    ]
    assert order[0] == (other_conn, "session.updated"), (
        f"the other connection was answered only after the long synthesis ended: {order[:3]}"
    )
    assert realtime_server.synth.runs_for(LONG_REPLY) == 1


async def test_concurrent_requests_for_one_text_share_one_synthesis(
    realtime_server: RealtimeServer,
) -> None:
    text = "This sentence is rendered once for both connections at the same time."
    synth = realtime_server.synth
    first, second = await asyncio.gather(synth.speak(text), synth.speak(text))
    assert first == second and len(first) > 0
    assert synth.runs_for(text) == 1
    assert await synth.speak(text) == first  # from the cache
    assert synth.runs_for(text) == 1


async def test_a_cancelled_caller_does_not_cancel_the_shared_synthesis() -> None:
    synth = Synthesizer()
    text = "A reply whose first listener barges in before it is rendered."
    first = asyncio.create_task(synth.speak(text))
    second = asyncio.create_task(synth.speak(text))
    await asyncio.sleep(0)  # both are waiting on the one synthesis
    first.cancel()
    pcm = await second
    assert first.cancelled() and len(pcm) > 0
    assert synth.runs_for(text) == 1
