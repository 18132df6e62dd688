"""The token server's settings (environment variables, see `.env.example`).

Lists (`INTERVIEWER_API_KEYS`, `CORS_ORIGINS`) are comma-separated in the environment, as a
shell or a secrets manager sets them, rather than JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from interview.planning import MAX_RESUME_BYTES
from interview.settings import EvaluatorSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
MIN_API_KEY_LENGTH = 32


class Settings(EvaluatorSettings):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    # Bearer keys interviewers authenticate with, comma-separated. Compared in constant time.
    interviewer_api_keys: SecretStr = SecretStr("")
    # Origins allowed to call the API from a browser (the web client is same-origin by default).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Base of the candidate invite link; empty: the URL the create request came in on.
    public_base_url: str = ""

    # Room settings: seconds an empty room stays open, and at most candidate + agent + observers.
    room_empty_timeout: int = Field(default=600, ge=10, le=86_400)
    room_max_participants: int = Field(default=10, ge=2, le=100)
    # Token lifetimes. A token only needs to live until the connection is made.
    candidate_token_ttl_seconds: int = Field(default=600, ge=30, le=3600)
    observer_token_ttl_seconds: int = Field(default=600, ge=30, le=3600)
    # Webhooks older than this (by their created_at) are refused as replays.
    webhook_max_age_seconds: int = Field(default=300, ge=10, le=3600)
    # Agents sent into one live interview after its agent left (a worker died) before giving up.
    agent_redispatch_limit: int = Field(default=2, ge=0, le=10)
    # A dispatch no worker has taken after this many seconds was dropped (LiveKit offers a
    # dispatch once); it is sent again, each time a little later (exponential backoff, jitter).
    agent_dispatch_grace_s: float = Field(default=4.0, gt=0, le=120)
    # How long a candidate's arrival keeps ensuring an interviewer before saying "unavailable".
    agent_arrival_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    # Bound on the LiveKit reads behind the dashboard's presence (null when exceeded).
    presence_timeout_seconds: float = Field(default=1.5, gt=0, le=30)
    # Bound on every LiveKit server API call.
    livekit_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Bound on the store reads behind /ready.
    ready_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    # Token-bucket rate limits per client (API key or IP): sustained per minute, and burst.
    create_rate_per_minute: float = Field(default=30, gt=0)
    create_burst: int = Field(default=10, ge=1)
    join_rate_per_minute: float = Field(default=60, gt=0)
    join_burst: int = Field(default=20, ge=1)
    # Reviewer changes (score overrides, notes, decisions) per interviewer key.
    review_rate_per_minute: float = Field(default=60, gt=0)
    review_burst: int = Field(default=20, ge=1)
    # Steers (notes, next, pause, ...) sent to a live interview's interviewer, per key.
    steer_rate_per_minute: float = Field(default=20, gt=0)
    steer_rate_burst: int = Field(default=5, ge=1)
    # What the candidate's consent text promises (token_server.consent). RETENTION_DAYS is one
    # value for every organisation for now, until organisations set their own retention.
    retention_days: int = Field(default=180, ge=1, le=3650)
    # The organisation's privacy notice; empty: no link, the text says to ask the hiring team.
    privacy_notice_url: str = Field(default="", max_length=2000)
    # Largest request body accepted (webhooks included).
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)

    # Drafting a plan from the job description and the résumé (POST /api/interviews/plan-draft):
    # the text model (empty: EVALUATOR_MODEL), the bound on one call, the calls before giving
    # up (503 planner_unavailable) and the first wait between them (doubling, with jitter).
    planner_model: str = Field(default="", max_length=100)
    planner_timeout_s: float = Field(default=60.0, gt=0, le=600)
    planner_attempts: int = Field(default=3, ge=1, le=10)
    planner_retry_base_s: float = Field(default=0.5, gt=0, le=60)
    # Drafts per interviewer key (each is a model call), and the largest draft request (a
    # résumé upload of up to 2 MiB with the form's other fields).
    plan_draft_rate_per_minute: float = Field(default=10, gt=0)
    plan_draft_burst: int = Field(default=5, ge=1)
    plan_draft_max_body_bytes: int = Field(
        default=MAX_RESUME_BYTES + 256 * 1024, ge=64 * 1024, le=20 * 1024 * 1024
    )

    # Where the store keeps its outbox (queued writes survive a restart); default .local/outbox.
    outbox_dir: Path | None = None

    # The built web client (Vite output); a placeholder page is served when it is absent.
    web_dist_dir: Path = REPO_ROOT / "web_client" / "dist"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("privacy_notice_url")
    @classmethod
    def _notice_is_a_web_address(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("PRIVACY_NOTICE_URL must be an http(s) address or empty")
        return value

    @model_validator(mode="after")
    def _api_keys_strong_in_production(self) -> Settings:
        if self.environment == "production":
            short = [k for k in self.api_keys() if len(k) < MIN_API_KEY_LENGTH]
            if short or not self.api_keys():
                raise ValueError(
                    f"INTERVIEWER_API_KEYS needs keys of {MIN_API_KEY_LENGTH}+ characters "
                    "in production"
                )
        return self

    @property
    def planner_model_name(self) -> str:
        return self.planner_model or self.evaluator_model

    def api_keys(self) -> list[str]:
        raw = self.interviewer_api_keys.get_secret_value()
        return [key.strip() for key in raw.split(",") if key.strip()]
