"""The token server's settings (environment variables, see `.env.example`)."""

from __future__ import annotations

from interview.settings import ServiceSettings


class Settings(ServiceSettings):
    host: str = "127.0.0.1"
    port: int = 8000
