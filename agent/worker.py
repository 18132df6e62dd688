"""The worker's composition root: the `AgentServer`, its per-process setup and the job entry.

Run with `python -m agent start` (production) or `python -m agent dev`. The agent name makes
dispatch explicit: the token server dispatches each interview to this worker by name.
"""

from __future__ import annotations

from livekit.agents import AgentServer, JobProcess, cli
from livekit.plugins import silero

from agent.job import entrypoint
from agent.settings import AgentSettings
from interview.logs import quiet_http_clients


def prewarm(proc: JobProcess) -> None:
    """Load Silero VAD once per job process, before any interview is assigned to it."""
    quiet_http_clients()
    proc.userdata["vad"] = silero.VAD.load()


def build_server(settings: AgentSettings) -> AgentServer:
    server = AgentServer(
        setup_fnc=prewarm,
        port=settings.agent_health_port,
        load_threshold=settings.agent_load_threshold,
        drain_timeout=settings.agent_drain_timeout,
        num_idle_processes=settings.agent_idle_processes,
        ws_url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret.get_secret_value(),
    )
    server.rtc_session(entrypoint, agent_name=settings.agent_name)
    return server


def main() -> None:
    cli.run_app(build_server(AgentSettings()))
