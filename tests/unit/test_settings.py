"""Service settings refuse placeholder secrets in production and accept them in dev."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from token_server.settings import Settings

pytestmark = pytest.mark.unit


def test_production_refuses_placeholder_secrets() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(
            environment="production",
            livekit_api_secret=SecretStr("secret"),
            supabase_service_role_key=SecretStr("k" * 40),
            _env_file=None,
        )

    assert "livekit_api_secret" in str(refused.value)
    assert "supabase_service_role_key" not in str(refused.value)


def test_dev_accepts_local_defaults() -> None:
    settings = Settings(
        environment="dev", livekit_api_secret=SecretStr("devsecret"), _env_file=None
    )

    assert settings.livekit_api_secret.get_secret_value() == "devsecret"
    assert "devsecret" not in repr(settings)


def test_a_production_worker_refuses_to_start_without_a_model() -> None:
    from agent.settings import AgentSettings

    strong = {
        "livekit_api_secret": SecretStr("s" * 40),
        "supabase_service_role_key": SecretStr("k" * 40),
    }
    # Every job would fail once the candidate arrived: the worker does not start at all.
    with pytest.raises(ValidationError, match="openai_api_key"):
        AgentSettings(environment="production", _env_file=None, **strong)  # type: ignore[arg-type]

    ok = AgentSettings(
        environment="production",
        openai_api_key=SecretStr("o" * 40),
        _env_file=None,
        **strong,  # type: ignore[arg-type]
    )
    assert ok.openai_api_key.get_secret_value() == "o" * 40
