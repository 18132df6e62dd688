"""The draft endpoint's own bounds over an in-memory store: auth, its body limit (larger than
the API's, still bounded), its rate limit, and refusals before any model call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.token_server import MemoryStore
from tests.unit.test_token_server_api import AUTH, VALID, make_settings
from token_server.app import create_app

pytestmark = pytest.mark.unit

PATH = "/api/interviews/plan-draft"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(
        tmp_path,
        plan_draft_burst=3,
        plan_draft_rate_per_minute=1,
        plan_draft_max_body_bytes=512 * 1024,
        evaluator_enabled=False,
    )
    with TestClient(create_app(settings, store=MemoryStore()), base_url="http://127.0.0.1") as c:
        yield c


def error_of(resp: Any) -> tuple[int, str, object]:
    error = resp.json()["error"]
    return resp.status_code, error["code"], (error["details"] or {}).get("field")


def test_a_draft_needs_the_interviewer_key(client: TestClient) -> None:
    resp = client.post(PATH, data={"settings": json.dumps(VALID)})

    assert resp.status_code == 401


def test_the_draft_takes_a_larger_body_than_the_rest_of_the_api_but_a_bounded_one(
    client: TestClient,
) -> None:
    upload = {"resume": ("cv.txt", b"Five years of Go. " * 20_000, "text/plain")}  # 360 KB

    inside = client.post(PATH, headers=AUTH, data={"settings": "{"}, files=upload)
    elsewhere = client.post("/api/interviews", headers=AUTH, content=b"x" * 360_000)
    over = client.post(
        PATH, headers=AUTH, data={"settings": "{"}, files={"resume": ("cv.txt", b"a" * 600_000)}
    )

    assert error_of(inside) == (422, "invalid_settings", "settings")  # read, then refused
    assert error_of(elsewhere)[:2] == (413, "body_too_large")
    assert error_of(over)[:2] == (413, "body_too_large")


def test_drafts_have_their_own_rate_limit(client: TestClient) -> None:
    statuses = [client.post(PATH, headers=AUTH, data={}).status_code for _ in range(4)]

    assert statuses == [422, 422, 422, 429]
    assert client.get("/api/interviews", headers=AUTH).status_code == 200


def test_missing_settings_and_a_long_job_description_name_their_fields(
    client: TestClient,
) -> None:
    missing = client.post(PATH, headers=AUTH, data={"job_description": "Go"})
    long = client.post(
        PATH, headers=AUTH, data={"settings": json.dumps(VALID), "job_description": "x" * 20_001}
    )

    assert error_of(missing) == (422, "settings_missing", "settings")
    assert error_of(long) == (422, "job_description_too_long", "job_description")
