"""Settings shared by the services: how to reach LiveKit and Supabase, and the agent's name.

Each service has its own settings class that composes these fields; values come from the
environment (see `.env.example`). Outside dev and test, placeholder or short secrets are refused
at start-up rather than discovered in production.
"""

from __future__ import annotations

from datetime import datetime
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


class EvaluatorSettings(ServiceSettings):
    """The evaluation after the interview (interview.evaluator): where its text model is, what
    it costs, and how the job runs. The token server runs it in its lifespan (unless
    `evaluator_enabled` is off); `python -m interview.evaluator` runs it as a worker of its own."""

    # Run the evaluation job in this process (the token server's background task).
    evaluator_enabled: bool = True
    # A cheap text model: the evaluation reads a transcript, it needs no audio or realtime.
    evaluator_model: str = Field(default="gpt-4.1-mini", min_length=1, max_length=100)
    # The same variables as the agent's: OpenAI, or the local server (`make dev` without a key).
    openai_api_key: SecretStr = SecretStr("")
    openai_base_url: str = ""
    # Seconds between looks for ended interviews when there was nothing to do.
    evaluator_interval_s: float = Field(default=5.0, gt=0, le=3600)
    # Seconds an interview must have been over before it is evaluated, so the agent's last
    # queued writes (the closing transcript lines) have landed.
    evaluator_settle_s: float = Field(default=15.0, ge=0, le=3600)
    # Only interviews that ended after this moment (ISO 8601); empty: all. Deploying onto a
    # database full of old interviews then evaluates (and pays for) the new ones only.
    evaluator_ended_after: datetime | None = None
    # Seconds a claim is held per model call; a runner that dies loses it after this long and
    # another one takes the interview over (at most `evaluator_max_claims` times in all).
    evaluator_lease_s: float = Field(default=180.0, gt=0, le=86_400)
    evaluator_max_claims: int = Field(default=3, ge=1, le=20)
    # Model calls per claim, and the backoff between them (exponential with jitter).
    evaluator_attempts: int = Field(default=4, ge=1, le=10)
    evaluator_retry_base_s: float = Field(default=2.0, gt=0, le=600)
    evaluator_retry_cap_s: float = Field(default=60.0, gt=0, le=3600)
    # Bound on one model call.
    evaluator_timeout_s: float = Field(default=90.0, gt=0, le=600)
    # USD per million tokens of the evaluator model (gpt-4.1-mini's list prices).
    evaluator_price_in: float = Field(default=0.40, ge=0)
    evaluator_price_in_cached: float = Field(default=0.10, ge=0)
    evaluator_price_out: float = Field(default=1.60, ge=0)
    # The model is the local offline server (`make dev` without an OpenAI key): cost 0.
    rehearsal_model: bool = False

    @model_validator(mode="after")
    def _lease_outlasts_a_call(self) -> EvaluatorSettings:
        # The lease is extended at each call; it must outlast the call and the wait before it.
        if self.evaluator_lease_s <= self.evaluator_timeout_s + self.evaluator_retry_cap_s:
            raise ValueError(
                "EVALUATOR_LEASE_S must exceed EVALUATOR_TIMEOUT_S + EVALUATOR_RETRY_CAP_S"
            )
        return self

    def secret_fields(self) -> list[str]:
        fields = super().secret_fields()
        if not self.evaluator_enabled or self.rehearsal_model:
            fields = [f for f in fields if f != "openai_api_key"]
        return fields
