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
