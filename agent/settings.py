"""The agent worker's settings (environment variables, see `.env.example`)."""

from __future__ import annotations

from pydantic import SecretStr

from interview.settings import ServiceSettings


class AgentSettings(ServiceSettings):
    # Health/status HTTP port of the worker (0 picks a free one).
    agent_health_port: int = 8081
    # Worker stops taking jobs above this CPU load (0-1).
    agent_load_threshold: float = 0.7
    # Seconds a draining worker waits for running interviews before it exits.
    agent_drain_timeout: int = 1800
    # Job processes kept warm (VAD loaded) for new interviews.
    agent_idle_processes: int = 2
    openai_api_key: SecretStr = SecretStr("")
    openai_base_url: str = ""
