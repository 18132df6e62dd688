"""`.env.example` documents exactly the settings the services read, with values that parse."""

from __future__ import annotations

import pytest

from agent.settings import AgentSettings
from devstack.tools import REPO_ROOT
from token_server.settings import Settings

pytestmark = pytest.mark.unit

ENV_EXAMPLE = REPO_ROOT / ".env.example"
# Read by livekit-agents itself, not by our settings classes.
FRAMEWORK_VARIABLES = {"LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE"}


def _documented() -> set[str]:
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip().removeprefix("# ")
        if "=" in line and line.split("=", 1)[0].isupper():
            names.add(line.split("=", 1)[0])
    return names


def test_every_documented_variable_is_a_real_setting() -> None:
    known = {f.upper() for f in AgentSettings.model_fields} | {
        f.upper() for f in Settings.model_fields
    }

    assert _documented() - known - FRAMEWORK_VARIABLES == set()


def test_every_setting_is_documented() -> None:
    test_only = {"DURATION_OVERRIDE_S"}
    known = {f.upper() for f in AgentSettings.model_fields} | {
        f.upper() for f in Settings.model_fields
    }

    assert known - _documented() - test_only == set()


def test_the_example_parses_for_both_services() -> None:
    agent = AgentSettings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    server = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]

    assert agent.agent_name == server.agent_name == "interviewer"
    assert agent.turn_detection == "server"
    assert server.port == 8000
