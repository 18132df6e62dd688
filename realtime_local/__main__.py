"""`python -m realtime_local --port N [--rehearsal]`: the local Realtime server as a process.

Without `--rehearsal` the server answers by script (`--scenario file.json`, or
`PUT /_control/scenario`) and then echoes; with it, the rehearsal interviewer runs an interview
through the agent's tools. Point the agent at it with `OPENAI_BASE_URL=http://127.0.0.1:N/v1`
and any non-empty `OPENAI_API_KEY`. Ready when `GET /health` answers; stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
from pathlib import Path

from realtime_local.scenario import Scenario
from realtime_local.server import RealtimeServer, ServerOptions

log = logging.getLogger("realtime_local.server")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m realtime_local", description=__doc__)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    p.add_argument("--rehearsal", action="store_true", help="run the rehearsal interviewer")
    p.add_argument("--questions", type=int, default=3, help="questions in a rehearsal")
    p.add_argument("--pace", type=float, default=1.0, help="audio speed vs real time (0: burst)")
    p.add_argument("--scenario", type=Path, help="a scenario JSON file to start with")
    p.add_argument("--response-delay", type=float, default=0.0, help="seconds before replies")
    p.add_argument("--refuse-for", type=float, default=0.0, help="refuse connections this long")
    p.add_argument("--drop-mid-response", type=int, default=0, help="drop this many replies")
    p.add_argument(
        "--transcript-delay-ms",
        type=float,
        default=0.0,
        help="send each user transcript this long after its commit (after the reply starts)",
    )
    p.add_argument("--no-espeak", action="store_true", help="synthetic tones instead of speech")
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    options = ServerOptions(
        port=args.port,
        pace=args.pace,
        rehearsal=args.rehearsal,
        rehearsal_questions=args.questions,
        use_espeak=not args.no_espeak,
        max_log_events=20_000,
        transcript_delay_ms=args.transcript_delay_ms,
    )
    server = RealtimeServer(options)
    if args.scenario is not None:
        server.scenario = Scenario.from_dict(json.loads(args.scenario.read_text()))
    server.faults.response_delay_s = args.response_delay
    server.faults.drop_mid_response = args.drop_mid_response
    if args.refuse_for > 0:
        server.faults.refuse_for(args.refuse_for)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    mode = "rehearsal" if args.rehearsal else "scripted"
    log.info("ready (%s mode) at %s", mode, server.base_url)
    try:
        await stop.wait()
    finally:
        await server.stop()
        log.info("stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args()))


if __name__ == "__main__":
    main()
