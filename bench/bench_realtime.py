"""Realtime server benchmark: the delay the local OpenAI Realtime server adds per event.

Runs realtime_local in a thread of its own on 127.0.0.1 and a WebSocket client in the main
thread. Figures:

- server handling time per client event (receive to handled, measured inside the server), by
  event type: 100 ms audio appends with server turn detection running, item create/delete;
- client round trip: `conversation.item.create` -> `conversation.item.added` over loopback;
- append throughput: events/s the server absorbs, confirmed by a commit at the end;
- `response.create` -> `response.created`, and to `response.done` for a short spoken reply with
  audio pacing off.

Bounded by counts and a global timeout. Prints figures; asserts nothing. Goal: p95 < 1 ms.

    uv run --frozen python bench/bench_realtime.py [--appends 3000] [--items 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import sys
import time
from pathlib import Path
from statistics import quantiles

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime_local import RealtimeServer, Say, Scenario, ServerOptions, Turn, serve_in_thread
from realtime_local.audio import SAMPLE_RATE, speak

CHUNK = SAMPLE_RATE // 10 * 2  # 100 ms of PCM16


def pct(samples: list[float]) -> str:
    if len(samples) < 2:
        return "n/a"
    q = quantiles(samples, n=100, method="inclusive")
    ms = [x * 1000 for x in (q[49], q[94], q[98])]
    return f"p50 {ms[0]:.3f} ms  p95 {ms[1]:.3f} ms  p99 {ms[2]:.3f} ms  (n={len(samples)})"


async def recv_until(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, object]:
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket ended: {msg.type!r}")
        event: dict[str, object] = json.loads(msg.data)
        if event["type"] == kind:
            return event


async def run(server: RealtimeServer, appends: int, items: int, replies: int) -> None:
    url = server.ws_url + "?model=bench"
    speech = speak("This is what a candidate sounds like when answering a question.")
    audio = speech + b"\x00" * (SAMPLE_RATE * 2)  # speech, then a second of silence
    chunks = [
        base64.b64encode(audio[i : i + CHUNK].ljust(CHUNK, b"\x00")).decode()
        for i in range(0, len(audio), CHUNK)
    ]
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, headers={"Authorization": "Bearer bench"}, max_msg_size=0) as ws,
    ):
        await recv_until(ws, "session.created")
        await ws.send_json(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {
                        "input": {
                            "transcription": None,
                            "turn_detection": {"type": "server_vad", "create_response": False},
                        }
                    },
                },
            }
        )
        await recv_until(ws, "session.updated")

        # append throughput (server VAD running on every chunk)
        drain = asyncio.create_task(_drain(ws))
        t0 = time.perf_counter()
        for i in range(appends):
            await ws.send_str(
                json.dumps({"type": "input_audio_buffer.append", "audio": chunks[i % len(chunks)]})
            )
        await ws.send_json({"type": "input_audio_buffer.clear", "event_id": "bench_end"})
        await asyncio.wait_for(drain, 60)
        elapsed = time.perf_counter() - t0
        print(f"append throughput: {appends / elapsed:,.0f} events/s ({appends} x 100 ms audio)")

        # item create -> added round trips
        rtts: list[float] = []
        for i in range(items):
            t = time.perf_counter()
            await ws.send_json(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "id": f"bench_{i}",
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "a short answer"}],
                    },
                }
            )
            await recv_until(ws, "conversation.item.added")
            rtts.append(time.perf_counter() - t)
            await recv_until(ws, "conversation.item.done")
            await ws.send_json({"type": "conversation.item.delete", "item_id": f"bench_{i}"})
            await recv_until(ws, "conversation.item.deleted")
        print(f"item.create -> item.added round trip (client view): {pct(rtts)}")

        created: list[float] = []
        done: list[float] = []
        server.scenario = Scenario([Turn(Say("Thank you.")) for _ in range(replies)])
        for _ in range(replies):
            t = time.perf_counter()
            await ws.send_json({"type": "response.create"})
            await recv_until(ws, "response.created")
            created.append(time.perf_counter() - t)
            await recv_until(ws, "response.done")
            done.append(time.perf_counter() - t)
        print(f"response.create -> response.created: {pct(created)}")
        print(f"response.create -> response.done (short reply, no pacing): {pct(done)}")


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    await recv_until(ws, "input_audio_buffer.cleared")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--appends", type=int, default=3000)
    p.add_argument("--items", type=int, default=1000)
    p.add_argument("--replies", type=int, default=100)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    options = ServerOptions(pace=0.0, max_log_events=50_000)
    with serve_in_thread(options) as server:
        asyncio.run(asyncio.wait_for(run(server, args.appends, args.items, args.replies), 120))
        by_kind: dict[str, list[float]] = {}
        for kind, seconds in list(server.stats.samples):
            by_kind.setdefault(kind, []).append(seconds)
    print("server handling time per client event (receive -> handled):")
    everything = [s for samples in by_kind.values() for s in samples]
    for kind in sorted(by_kind):
        print(f"  {kind:32s} {pct(by_kind[kind])}")
    print(f"  {'all events':32s} {pct(everything)}")


if __name__ == "__main__":
    main()
