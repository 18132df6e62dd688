"""The local stack's pure parts: LiveKit config rendering, Supabase keys, tool errors."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
import yaml

from devstack import LiveKitServer, MissingToolError, tools
from devstack.services import make_supabase_key

pytestmark = pytest.mark.unit


def test_livekit_config_binds_loopback_with_this_runs_ports_and_keys(tmp_path: Path) -> None:
    server = LiveKitServer(
        tmp_path, api_key="k", api_secret="s" * 32, webhook_urls=["http://127.0.0.1:9/hook"]
    )

    config = server.render_config()

    assert config["port"] == server.port
    assert config["bind_addresses"] == ["127.0.0.1"]
    assert config["rtc"]["tcp_port"] == server.tcp_port
    assert config["rtc"]["udp_port"] == str(server.udp_port)
    assert config["rtc"]["use_external_ip"] is False
    assert config["keys"] == {"k": "s" * 32}
    assert config["webhook"] == {"api_key": "k", "urls": ["http://127.0.0.1:9/hook"]}
    # The committed file keeps its room policy and carries no keys.
    committed = yaml.safe_load((tools.REPO_ROOT / "livekit.yaml").read_text())
    assert "keys" not in committed
    assert config["room"] == committed["room"]


def test_livekit_refuses_a_short_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32 characters"):
        LiveKitServer(tmp_path, api_secret="short")


def test_supabase_keys_carry_the_role_postgrest_switches_to() -> None:
    secret = "j" * 40

    claims = jwt.decode(make_supabase_key(secret, "service_role"), secret, algorithms=["HS256"])

    assert claims["role"] == "service_role"
    assert claims["exp"] > claims["iat"]


def test_missing_livekit_binary_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LIVEKIT_SERVER_BIN", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    with pytest.raises(MissingToolError) as missing:
        tools.livekit_server()

    assert "go install github.com/livekit/livekit-server/cmd/server@v1.13.5" in str(missing.value)
    assert "scripts/setup.sh" in str(missing.value)
