"""The worker's composition root: the `AgentServer`, its per-process setup and the job entry.

Run with `python -m agent start` (production) or `python -m agent dev`. The agent name makes
dispatch explicit: the token server dispatches each interview to this worker by name.

The worker's main process does three things of its own besides livekit-agents' dispatching:
it reports its load as running interviews against `AGENT_CAPACITY` (agent/load.py), it declines
a dispatch whose metadata is of a newer schema version before any job process runs it (a worker
that knows the version takes it, during a rolling deploy), and it sweeps the outboxes jobs left
behind (agent/outboxes.py), at start and periodically.

On SIGTERM in `start` mode livekit-agents drains: the worker reports itself full to LiveKit,
answers every new request "unavailable", waits up to `AGENT_DRAIN_TIMEOUT` for its running jobs
(job processes ignore the signal), then exits. `dev` mode does not drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from livekit.agents import AgentServer, JobExecutorType, JobProcess, JobRequest, cli

from agent import load
from agent.job import entrypoint
from agent.outboxes import sweep_forever
from agent.settings import AgentSettings
from interview.contract import MetadataError, NewerSchemaVersion, decode_metadata
from interview.logs import quiet_http_clients
from interview.supabase_store import SupabaseStore, open_store

log = logging.getLogger("agent.worker")


def prewarm(proc: JobProcess) -> None:
    """Give the job process the Silero VAD, before any interview is assigned to it.

    Under the forkserver (Linux) `agent.warmup` already ran there and every job process
    shares its VAD and imports; elsewhere (spawn) importing it here does the same work once
    per process."""
    quiet_http_clients()
    from agent import warmup

    proc.userdata["vad"] = warmup.shared_vad()


async def on_request(req: JobRequest) -> None:
    """Accept a dispatch unless its metadata is of a newer schema version. Invalid metadata is
    accepted: the job says why and marks the interview failed."""
    try:
        decode_metadata(req.job.metadata)
    except NewerSchemaVersion as exc:
        log.warning(
            "declined a dispatch of a newer schema version",
            extra={"room": req.room.name, "job_id": req.id, "schema_version": exc.version},
        )
        # terminate=False: LiveKit offers the job to another worker.
        await req.reject(terminate=False)
        return
    except MetadataError:
        pass
    await req.accept()


class InterviewServer(AgentServer):
    """An `AgentServer` whose main process also sweeps stranded outboxes while it runs."""

    def __init__(self, settings: AgentSettings) -> None:
        if settings.agent_job_executor == "thread":
            # Jobs run in threads of this process, and livekit plugins register only on the main
            # thread: load them (and the VAD) here, before any job thread imports them.
            from agent import warmup

            warmup.shared_vad()
        super().__init__(
            setup_fnc=prewarm,
            # Run once in the forkserver and shared by every job process (agent/warmup.py).
            preload_modules=["agent.warmup"],
            port=settings.agent_health_port,
            load_fnc=load.InterviewLoad(settings.agent_capacity, settings.agent_cpu_guard),
            load_threshold=load.threshold(settings.agent_capacity),
            drain_timeout=settings.agent_drain_timeout,
            job_executor_type=JobExecutorType(settings.agent_job_executor),
            num_idle_processes=load.idle_processes(
                settings.agent_idle_processes, settings.agent_capacity
            ),
            ws_url=settings.livekit_url,
            api_key=settings.livekit_api_key,
            api_secret=settings.livekit_api_secret.get_secret_value(),
        )
        self.settings = settings
        self.rtc_session(entrypoint, agent_name=settings.agent_name, on_request=on_request)

    async def _open_outbox_store(self, path: Path) -> SupabaseStore:
        store = open_store(self.settings, path)
        await store.start()
        return store

    async def run(self, *, devmode: bool = False, unregistered: bool = False) -> None:
        sweeping = asyncio.create_task(
            sweep_forever(
                self.settings.outbox_dir,
                self._open_outbox_store,
                timeout=self.settings.store_flush_timeout_s,
                interval=self.settings.outbox_sweep_interval_s,
            ),
            name="outbox_sweep",
        )
        try:
            await super().run(devmode=devmode, unregistered=unregistered)
        finally:
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping


def build_server(settings: AgentSettings) -> AgentServer:
    return InterviewServer(settings)


def main() -> None:
    cli.run_app(build_server(AgentSettings()))
