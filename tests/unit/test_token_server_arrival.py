"""The interviewer's arrival over the in-memory store: the decision on what LiveKit lists, the
candidate-facing state, the webhook path, the bounds, and presence when LiveKit is away.

LiveKit does not run in the unit tier (the app's client points at a closed port); what needs a
real LiveKit is in tests/integration/test_arrival.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from livekit import api

from interview.store import InterviewStatus
from tests.fixtures.token_server import MemoryStore, agree_and_join
from tests.unit.test_token_server_api import (
    AUTH,
    add_interview,
    assert_error,
    event,
    make_settings,
    signed,
)
from token_server import tokens
from token_server.app import create_app
from token_server.arrival import JOINING_JOB_S, decide, grace_for
from token_server.deps import Services

pytestmark = pytest.mark.unit

NAME = "interviewer"
NOW = time.time_ns()
S = 1_000_000_000


def agent() -> api.ParticipantInfo:
    return api.ParticipantInfo(identity="agent-AJ_1", kind=api.ParticipantInfo.Kind.AGENT)


def candidate() -> api.ParticipantInfo:
    return api.ParticipantInfo(identity="candidate-x", kind=api.ParticipantInfo.Kind.STANDARD)


def dispatch(
    dispatch_id: str,
    *,
    age_s: float,
    job: api.JobStatus.ValueType | None = None,
    job_age_s: float = 0.0,
    name: str = NAME,
) -> api.AgentDispatch:
    jobs = []
    if job is not None:
        jobs.append(
            api.Job(
                id=f"AJ_{dispatch_id}",
                state=api.JobState(status=job, started_at=NOW - int(job_age_s * S)),
            )
        )
    return api.AgentDispatch(
        id=dispatch_id,
        agent_name=name,
        state=api.AgentDispatchState(created_at=NOW - int(age_s * S), jobs=jobs),
    )


def choose(parts: list[api.ParticipantInfo], dispatches: list[api.AgentDispatch]) -> Any:
    d = decide(parts, dispatches, agent_name=NAME, now_ns=NOW, grace_s=4.0)
    return (d.action, d.drop)


# ---- the decision ----------------------------------------------------------------------------


def test_an_agent_in_the_room_is_present_whatever_the_dispatches() -> None:
    assert choose([candidate(), agent()], [dispatch("D1", age_s=100)]) == ("present", ())


def test_nothing_on_its_way_is_dispatched() -> None:
    assert choose([candidate()], []) == ("dispatch", ())


def test_an_untaken_dispatch_within_the_grace_is_waited_for() -> None:
    assert choose([candidate()], [dispatch("D1", age_s=1)]) == ("wait", ())


def test_an_untaken_dispatch_past_the_grace_is_deleted_and_sent_again() -> None:
    assert choose([candidate()], [dispatch("D1", age_s=5)]) == ("dispatch", ("D1",))


def test_a_taken_dispatch_whose_agent_is_joining_is_waited_for() -> None:
    taken = dispatch("D1", age_s=30, job=api.JobStatus.JS_RUNNING, job_age_s=2)
    assert choose([candidate()], [taken]) == ("wait", ())


def test_a_dispatch_with_a_job_is_never_deleted() -> None:
    # Its job started long ago and its agent is gone (worker died), or the job ended: a new
    # dispatch is sent, and the old one is left alone (deleting it would remove its agent).
    stale = dispatch("D1", age_s=60, job=api.JobStatus.JS_RUNNING, job_age_s=JOINING_JOB_S + 1)
    ended = dispatch("D2", age_s=60, job=api.JobStatus.JS_SUCCESS, job_age_s=50)
    assert choose([candidate()], [stale, ended]) == ("dispatch", ())


def test_only_untaken_dispatches_are_dropped() -> None:
    ended = dispatch("D1", age_s=60, job=api.JobStatus.JS_FAILED, job_age_s=50)
    dropped = dispatch("D2", age_s=10)
    assert choose([candidate()], [ended, dropped]) == ("dispatch", ("D2",))


def test_other_agents_dispatches_do_not_count() -> None:
    others = [dispatch("X1", age_s=1, name=""), dispatch("X2", age_s=1, name="someone-else")]
    assert choose([candidate()], others) == ("dispatch", ())


def test_the_grace_grows_exponentially_with_jitter_up_to_a_cap() -> None:
    graces = {n: [grace_for(n, 4.0) for _ in range(200)] for n in (1, 2, 3, 4, 10)}
    assert min(graces[1]) >= 3.2 and max(graces[1]) <= 4.8
    assert min(graces[2]) >= 6.4 and max(graces[2]) <= 9.6
    assert min(graces[3]) >= 12.8 and max(graces[3]) <= 19.2
    assert max(graces[10]) <= 19.2  # capped at four graces
    assert len(set(graces[1])) > 1  # jittered: replicas do not dispatch in step


# ---- the candidate-facing state over the API -------------------------------------------------


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def app_client(tmp_path: Path, store: MemoryStore, **overrides: Any) -> TestClient:
    return TestClient(
        create_app(make_settings(tmp_path, **overrides), store=store),
        base_url="http://127.0.0.1",
    )


@pytest.fixture
def client(tmp_path: Path, store: MemoryStore) -> Iterator[TestClient]:
    # A short bound: LiveKit is unreachable here, so no interviewer ever arrives.
    with app_client(tmp_path, store, agent_arrival_timeout_s=0.6) as c:
        yield c


def services(client: TestClient) -> Services:
    found: Services = client.app.state.services  # type: ignore[attr-defined]
    return found


def poll_state(client: TestClient, secret: str, state: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    body: Any = None
    while time.monotonic() < deadline:
        resp = client.post("/api/join/interviewer", json={"secret": secret})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        if body["state"] == state:
            return body
        time.sleep(0.05)
    raise AssertionError(f"the arrival state did not become {state!r}; last: {body!r}")


async def test_the_join_says_the_interviewer_is_connecting(
    client: TestClient, store: MemoryStore
) -> None:
    new, secret = await add_interview(store)
    body = agree_and_join(client, secret).json()
    assert body["interviewer"] == {"state": "connecting", "attempts": 0}
    arrival = services(client).arrivals.get(new.id)
    assert arrival is not None and arrival.reason == "candidate_join"


async def test_past_the_bound_it_is_unavailable_and_only_a_retry_starts_again(
    client: TestClient, store: MemoryStore
) -> None:
    new, secret = await add_interview(store)
    agree_and_join(client, secret)

    assert poll_state(client, secret, "unavailable") == {"state": "unavailable", "attempts": 0}
    assert [a.kind for a in store.audits if a.kind == "agent_not_arrived"] == ["agent_not_arrived"]
    # Polling does not start it again ...
    again = client.post("/api/join/interviewer", json={"secret": secret, "retry": False})
    assert again.json()["state"] == "unavailable"
    arrival = services(client).arrivals.get(new.id)
    assert arrival is not None and not arrival.running
    # ... the retry button does.
    retried = client.post("/api/join/interviewer", json={"secret": secret, "retry": True})
    assert retried.status_code == 200
    assert retried.json() == {"state": "connecting", "attempts": 0}
    restarted = services(client).arrivals.get(new.id)
    assert restarted is not None and restarted is not arrival
    assert restarted.reason == "candidate_retry"


async def test_the_arrival_endpoint_refuses_bad_invites_ended_interviews_and_floods(
    tmp_path: Path, store: MemoryStore
) -> None:
    _, ended = await add_interview(store, InterviewStatus.completed)
    with app_client(tmp_path, store, join_burst=2, join_rate_per_minute=1) as c:
        unknown = c.post("/api/join/interviewer", json={"secret": tokens.new_invite_secret()})
        gone = c.post("/api/join/interviewer", json={"secret": ended})
        # Refused by validation, before the limiter counts them.
        bad = c.post("/api/join/interviewer", json={"secret": ended, "retry": "maybe"})
        extra = c.post("/api/join/interviewer", json={"secret": ended, "other": 1})
        limited = c.post("/api/join/interviewer", json={"secret": ended})
    assert_error(unknown, 404, "invite_not_found")
    assert_error(gone, 410, "interview_ended")
    assert_error(bad, 422, "validation_error")
    assert_error(extra, 422, "validation_error")
    assert_error(limited, 429, "rate_limited")


async def test_the_candidates_participant_joined_webhook_alone_ensures_the_interviewer(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store)
    body = event(
        "participant_joined",
        new.room_name,
        participant={"identity": tokens.candidate_identity(new.id), "kind": "STANDARD"},
    )
    assert client.post("/webhooks/livekit", content=body, headers=signed(body)).status_code == 200
    arrival = services(client).arrivals.get(new.id)
    assert arrival is not None and arrival.reason == "candidate_joined"


async def test_someone_elses_participant_joined_does_not_dispatch(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store)
    body = event(
        "participant_joined",
        new.room_name,
        participant={"identity": "observer-1234", "kind": "STANDARD"},
    )
    assert client.post("/webhooks/livekit", content=body, headers=signed(body)).status_code == 200
    assert services(client).arrivals.get(new.id) is None


async def test_an_agent_leaving_a_live_interview_is_replaced_a_bounded_number_of_times(
    tmp_path: Path, store: MemoryStore
) -> None:
    new, _ = await add_interview(store, InterviewStatus.live)
    with app_client(tmp_path, store, agent_redispatch_limit=1, agent_arrival_timeout_s=0.2) as c:
        arrivals = []
        for n in range(2):
            body = event(
                "participant_left",
                new.room_name,
                event_id=f"EV_left_{n}",
                participant={"identity": f"agent-AJ_{n}", "kind": "AGENT"},
            )
            assert c.post("/webhooks/livekit", content=body, headers=signed(body)).status_code
            found = services(c).arrivals.get(new.id)
            assert found is not None
            arrivals.append(found)
            assert found.task is not None
            deadline = time.monotonic() + 5
            while found.running and time.monotonic() < deadline:
                time.sleep(0.02)
    assert arrivals[0].reason == "agent_left"
    assert arrivals[1] is arrivals[0]  # the second departure was refused: no new task
    kinds = [a.kind for a in store.audits]
    assert kinds.count("agent_left_live") == 2
    assert kinds.count("agent_redispatch_refused") == 1


async def test_the_app_cancels_its_arrival_tasks_at_shutdown(
    tmp_path: Path, store: MemoryStore
) -> None:
    new, secret = await add_interview(store)
    with app_client(tmp_path, store, agent_arrival_timeout_s=600) as c:
        agree_and_join(c, secret)
        arrival = services(c).arrivals.get(new.id)
        assert arrival is not None and arrival.running
    assert arrival.task is not None and arrival.task.cancelled()


# ---- presence ---------------------------------------------------------------------------------


async def test_presence_is_null_when_livekit_does_not_answer_or_the_interview_ended(
    client: TestClient, store: MemoryStore
) -> None:
    waiting, _ = await add_interview(store)
    ended, _ = await add_interview(store, InterviewStatus.completed)

    page = client.get("/api/interviews", headers=AUTH).json()
    detail = client.get(f"/api/interviews/{waiting.id}", headers=AUTH).json()
    done = client.get(f"/api/interviews/{ended.id}", headers=AUTH).json()

    assert {i["id"]: i["presence"] for i in page["items"]} == {
        str(waiting.id): None,
        str(ended.id): None,
    }
    assert set(detail) == {
        "interview",
        "questions",
        "answers",
        "feedback",
        "presence",
        "watchers",
        "steers",
    }
    assert detail["presence"] is None and done["presence"] is None
    assert detail["watchers"] is None and done["watchers"] is None


def test_creation_answers_without_a_dispatch_id(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert "dispatch_id" not in schema["CreatedInterview"]["properties"]
    assert set(schema["InterviewerArrival"]["properties"]) == {"state", "attempts"}
    assert schema["CandidateJoin"]["properties"]["interviewer"] == {
        "$ref": "#/components/schemas/InterviewerArrival"
    }
