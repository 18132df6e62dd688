"""Settings shared by the services: how to reach LiveKit and Supabase, and the agent's name.

Each service has its own settings class that composes these fields; values come from the
environment (see `.env.example`). Outside dev and test, placeholder or short secrets are refused
at start-up rather than discovered in production.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_AGENT_NAME = "interviewer"

Environment = Literal["dev", "test", "production"]

_PLACEHOLDERS = {"secret", "devsecret", "changeme", "change-me", "changethis", "placeholder"}


def is_placeholder(value: str) -> bool:
    return value.strip().lower() in _PLACEHOLDERS or len(value) < 32


class ServiceSettings(BaseSettings):
    """Fields every service needs. Subclasses add their own."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Environment = "dev"
    livekit_url: str = Field(default="ws://127.0.0.1:7880", description="LiveKit server URL")
    livekit_api_key: str = "devkey"
    livekit_api_secret: SecretStr = SecretStr("")
    supabase_url: str = Field(default="http://127.0.0.1:54321", description="Supabase API URL")
    supabase_service_role_key: SecretStr = SecretStr("")
    agent_name: str = Field(default=DEFAULT_AGENT_NAME, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> ServiceSettings:
        if self.environment != "production":
            return self
        bad = [
            name
            for name in self.secret_fields()
            if is_placeholder(getattr(self, name).get_secret_value())
        ]
        if bad:
            raise ValueError(
                "placeholder or short (<32 chars) secrets are not allowed in production: "
                + ", ".join(sorted(bad))
            )
        return self

    def secret_fields(self) -> list[str]:
        return [
            name for name, field in type(self).model_fields.items() if field.annotation is SecretStr
        ]
