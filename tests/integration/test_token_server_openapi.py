"""Property-based run over the OpenAPI spec: no generated request makes the server fail (5xx).

Runs against the session token server (uvicorn on 127.0.0.1, real store, real LiveKit) with and
without the interviewer key, valid and invalid requests for every operation, bounded in examples.
(The schema is loaded inside the test: schemathesis' lazy pytest loader fails on pytest 9.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from tests.fixtures.token_server import TokenServer

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 20


def fuzz(
    strategy: SearchStrategy[schemathesis.Case], auth: dict[str, str], statuses: list[int]
) -> None:
    @given(case=strategy, with_key=st.booleans())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case, with_key: bool) -> None:
        response = case.call(headers=auth if with_key else {}, timeout=20)
        statuses.append(response.status_code)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
        )
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message", "details"}

    run()


def test_no_generated_request_makes_the_server_fail(token_server: TokenServer) -> None:
    schema = schemathesis.openapi.from_url(f"{token_server.url}/openapi.json", timeout=10)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {
        "POST /api/interviews",
        "GET /api/interviews",
        "GET /api/interviews/{interview_id}",
        "POST /api/interviews/{interview_id}/observer-token",
        "POST /api/join",
        "POST /api/join/interviewer",
        "POST /api/join/session",
        "POST /api/join/consent",
        "POST /webhooks/livekit",
    } <= {op.label for op in operations}

    calls: dict[str, list[int]] = {}
    for operation in operations:
        has_inputs = any(
            len(part) for part in (operation.path_parameters, operation.query, operation.body)
        )
        for mode in schemathesis.GenerationMode:
            if mode is schemathesis.GenerationMode.NEGATIVE and not has_inputs:
                continue  # nothing to make invalid (/health, /ready)
            fuzz(
                operation.as_strategy(generation_mode=mode),
                token_server.auth_headers,
                calls.setdefault(operation.label, []),
            )

    # The run reached the handlers, not only the validators and the auth check.
    assert 201 in calls["POST /api/interviews"]
    assert 200 in calls["GET /api/interviews"]
    assert 422 in calls["POST /api/interviews"]
    assert 401 in calls["POST /webhooks/livekit"]
