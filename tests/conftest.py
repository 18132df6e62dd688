"""Fixtures for the real services, shared by every tier.

Each service runs once per test session on free 127.0.0.1 ports and is stopped at the end.
Every test declares its tier with exactly one of the markers `unit`, `integration`, `e2e`;
collection fails otherwise, so no test slips into a tier by accident. Tests run tier by tier,
fastest first.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import LiveKitServer, Redis, SupabaseStack
from devstack.proc import free_port

# Fixtures of each part of the product live in a module of their own.
pytest_plugins = [
    "tests.fixtures.realtime",
    "tests.fixtures.store",
    "tests.fixtures.token_server",
    "tests.fixtures.agent",
    "tests.fixtures.web",
]

TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = []
    for item in items:
        tiers = [t for t in TIERS if item.get_closest_marker(t)]
        if len(tiers) != 1:
            unmarked.append(f"{item.nodeid} ({', '.join(tiers) or 'no tier'})")
    if unmarked:
        raise pytest.UsageError(
            "every test needs exactly one tier marker (unit, integration, e2e):\n  "
            + "\n  ".join(unmarked)
        )
    order = {tier: i for i, tier in enumerate(TIERS)}
    items.sort(key=lambda it: next(order[t] for t in TIERS if it.get_closest_marker(t)))


@pytest.fixture(scope="session")
def token_server_port() -> int:
    """The port the token server under test listens on; LiveKit sends its webhooks there."""
    return free_port()


@pytest.fixture(scope="session")
def livekit_server(
    tmp_path_factory: pytest.TempPathFactory, token_server_port: int
) -> Iterator[LiveKitServer]:
    server = LiveKitServer(
        tmp_path_factory.mktemp("livekit"),
        api_key="testkey",
        api_secret=secrets.token_urlsafe(32),
        webhook_urls=[f"http://127.0.0.1:{token_server_port}/webhooks/livekit"],
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def supabase_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupabaseStack]:
    # As root, Postgres runs as the `postgres` user, which cannot enter pytest's private temp
    # folders; its data directory lives in a folder of its own under /tmp.
    pg_dir = Path(tempfile.mkdtemp(prefix="iv-test-pg-"))
    pg_dir.chmod(0o755)
    stack = SupabaseStack(
        tmp_path_factory.mktemp("supabase"),
        pg_data_dir=pg_dir / "data",
        jwt_secret=secrets.token_urlsafe(32),
        durable=False,
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(pg_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    redis = Redis(tmp_path_factory.mktemp("redis"))
    redis.start()
    yield redis
    redis.stop()
