"""The steer endpoints over the in-memory store: auth, validation, 404/410/429/503, what is
written (one steer row, one audit without the note's text) and what is not (anything, on a
refusal), and the Idempotency-Key.

LiveKit is not running in the unit tier; the app's LiveKit client points at a closed port, which
is the "LiveKit does not answer" case: a valid steer is stored, stays `pending`, and the answer
is 503. Delivery to a real room is tests/integration/test_steer_delivery.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from interview.steering import SteerState
from interview.store import InterviewStatus, StoreUnavailable
from tests.fixtures.token_server import MemoryStore
from tests.unit.test_token_server_api import (
    API_KEY,
    AUTH,
    add_interview,
    assert_error,
    make_settings,
)
from token_server.app import create_app
from token_server.auth import key_id

pytestmark = pytest.mark.unit

NOTE = "Ask about the migration they mentioned"


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def client(tmp_path: Path, store: MemoryStore) -> Iterator[TestClient]:
    settings = make_settings(tmp_path)  # the default steer limit: burst 5, 20 a minute
    with TestClient(create_app(settings, store=store), base_url="http://127.0.0.1") as c:
        yield c


def steers_url(interview_id: UUID) -> str:
    return f"/api/interviews/{interview_id}/steers"


def steer_audits(store: MemoryStore) -> list[Any]:
    return [a for a in store.audits if a.kind == "steer_sent"]


def assert_nothing_written(store: MemoryStore) -> None:
    assert store.steers == {}
    assert steer_audits(store) == []


# ---- bad input: 422 with a reason, nothing written ----------------------------------------

BAD_BODIES: list[tuple[object, str]] = [
    ({"kind": "shout"}, "kind"),
    ({"kind": "note"}, "a note needs text"),
    ({"kind": "note", "text": "   "}, "text"),
    ({"kind": "next", "text": "and quickly"}, "takes no text"),
    ({"kind": "note", "text": "x" * 501}, "text"),
    ({"kind": "pause", "admin": True}, "admin"),
    ({"kind": "note", "text": NOTE, "observer_name": "n" * 61}, "observer_name"),
    ({}, "kind"),
    (["next"], "body"),
]


@pytest.mark.parametrize(("body", "reason"), BAD_BODIES)
async def test_bad_input_is_refused_with_a_reason_and_writes_nothing(
    client: TestClient, store: MemoryStore, body: object, reason: str
) -> None:
    new, _ = await add_interview(store)
    resp = client.post(steers_url(new.id), json=body, headers=AUTH)

    error = assert_error(resp, 422, "validation_error")
    assert reason in resp.text, error
    assert_nothing_written(store)


async def test_bad_json_is_refused_and_writes_nothing(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store)
    resp = client.post(
        steers_url(new.id),
        content=b'{"kind": "note", "text": ',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    error = assert_error(resp, 422, "validation_error")
    assert error["error"]["details"][0]["type"] == "json_invalid"
    assert_nothing_written(store)


async def test_a_note_of_500_characters_is_accepted(client: TestClient, store: MemoryStore) -> None:
    new, _ = await add_interview(store)
    client.post(steers_url(new.id), json={"kind": "note", "text": "x" * 500}, headers=AUTH)
    assert [s.text for s in store.steers.values()] == ["x" * 500]


# ---- who may steer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-key-we-issued-" + "z" * 20}, {"Authorization": "Basic x"}],
)
async def test_a_steer_without_a_valid_key_is_refused_and_writes_nothing(
    client: TestClient, store: MemoryStore, headers: dict[str, str]
) -> None:
    new, _ = await add_interview(store)
    # Even a bad body: authentication is answered first.
    for body in ({"kind": "note", "text": NOTE}, {"kind": "shout"}):
        resp = client.post(steers_url(new.id), json=body, headers=headers)
        assert_error(resp, 401, "unauthenticated")
    assert_error(client.get(steers_url(new.id), headers=headers), 401, "unauthenticated")
    assert_nothing_written(store)


async def test_a_removed_key_is_refused(tmp_path: Path, store: MemoryStore) -> None:
    new, _ = await add_interview(store)
    # The same app settings, with API_KEY no longer among the configured keys.
    settings = make_settings(tmp_path, interviewer_api_keys="other-key-" + "y" * 30)
    with TestClient(create_app(settings, store=store), base_url="http://127.0.0.1") as c:
        resp = c.post(steers_url(new.id), json={"kind": "end"}, headers=AUTH)
    assert_error(resp, 401, "unauthenticated")
    assert_nothing_written(store)


# ---- the interview -------------------------------------------------------------------------


def test_an_unknown_interview_is_404(client: TestClient, store: MemoryStore) -> None:
    assert_error(
        client.post(steers_url(uuid4()), json={"kind": "next"}, headers=AUTH),
        404,
        "interview_not_found",
    )
    assert_error(client.get(steers_url(uuid4()), headers=AUTH), 404, "interview_not_found")
    assert_nothing_written(store)


@pytest.mark.parametrize(
    "status", [InterviewStatus.completed, InterviewStatus.failed, InterviewStatus.abandoned]
)
async def test_an_ended_interview_is_410(
    client: TestClient, store: MemoryStore, status: InterviewStatus
) -> None:
    new, _ = await add_interview(store, status)
    resp = client.post(steers_url(new.id), json={"kind": "extend"}, headers=AUTH)
    error = assert_error(resp, 410, "interview_ended")
    assert error["error"]["details"] == {"status": status.value}
    assert_nothing_written(store)


# ---- what a valid steer writes ----------------------------------------------------------------


async def test_a_steer_is_stored_and_audited_once_without_its_text(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store, InterviewStatus.live)
    resp = client.post(
        steers_url(new.id),
        json={"kind": "note", "text": f"  {NOTE}  ", "observer_name": " Dana "},
        headers=AUTH,
    )

    # LiveKit does not answer here: stored, pending, and the caller is told.
    error = assert_error(resp, 503, "livekit_unavailable")
    assert resp.headers["retry-after"] == "2"
    [steer] = store.steers.values()
    assert error["error"]["details"] == {"steer_id": str(steer.id), "state": "pending"}
    assert steer.interview_id == new.id
    assert (steer.kind, steer.text, steer.state) == ("note", NOTE, SteerState.pending)
    assert (steer.sent_by, steer.sent_by_name) == (key_id(API_KEY), "Dana")
    [audit] = steer_audits(store)
    assert audit.interview_id == new.id
    assert audit.key == f"steer_sent:{steer.id}"
    assert audit.detail == {"principal": key_id(API_KEY), "kind": "note", "steer_id": str(steer.id)}
    assert "migration" not in repr(store.audits)

    listed = client.get(steers_url(new.id), headers=AUTH)
    assert listed.status_code == 200, listed.text
    assert [s["id"] for s in listed.json()] == [str(steer.id)]
    assert listed.json()[0]["state"] == "pending"


async def test_steers_are_listed_oldest_first(client: TestClient, store: MemoryStore) -> None:
    new, _ = await add_interview(store, InterviewStatus.live)
    for kind in ("pause", "resume", "end"):
        client.post(steers_url(new.id), json={"kind": kind}, headers=AUTH)
    listed = client.get(steers_url(new.id), headers=AUTH).json()
    assert [s["kind"] for s in listed] == ["pause", "resume", "end"]


async def test_each_request_is_a_steer_of_its_own_audited_once(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store, InterviewStatus.live)
    for _ in range(2):
        client.post(steers_url(new.id), json={"kind": "deeper"}, headers=AUTH)
    assert len(store.steers) == 2
    assert sorted(a.key for a in steer_audits(store)) == sorted(
        f"steer_sent:{i}" for i in store.steers
    )


async def test_a_retry_with_the_same_idempotency_key_is_the_same_steer(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store, InterviewStatus.live)
    other, _ = await add_interview(store, InterviewStatus.live)
    body = {"kind": "note", "text": NOTE}
    key = {**AUTH, "Idempotency-Key": "send-1"}
    answers = [client.post(steers_url(new.id), json=body, headers=key) for _ in range(3)]

    ids = {r.json()["error"]["details"]["steer_id"] for r in answers}
    assert len(ids) == 1
    assert list(store.steers) == [UUID(ids.pop())]
    assert len(steer_audits(store)) == 1

    # The key names a steer of one interview: the same key elsewhere is another steer.
    client.post(steers_url(other.id), json=body, headers=key)
    assert len(store.steers) == 2
    assert len(steer_audits(store)) == 2


async def test_an_idempotency_key_reused_for_another_steer_is_409(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store, InterviewStatus.live)
    key = {**AUTH, "Idempotency-Key": "send-2"}
    client.post(steers_url(new.id), json={"kind": "pause"}, headers=key)
    resp = client.post(steers_url(new.id), json={"kind": "end"}, headers=key)
    assert_error(resp, 409, "idempotency_key_reused")
    assert [s.kind for s in store.steers.values()] == ["pause"]
    assert len(steer_audits(store)) == 1


@pytest.mark.parametrize("bad", ["", "x" * 129, "has space", "naïve"])
async def test_a_malformed_idempotency_key_is_422(
    client: TestClient, store: MemoryStore, bad: str
) -> None:
    new, _ = await add_interview(store, InterviewStatus.live)
    resp = client.post(
        steers_url(new.id),
        json={"kind": "pause"},
        headers=[*AUTH.items(), ("Idempotency-Key", bad.encode())],
    )
    assert_error(resp, 422, "validation_error")
    assert_nothing_written(store)


# ---- limits and outages ----------------------------------------------------------------------


async def test_steers_are_rate_limited_per_key_after_the_burst(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store, InterviewStatus.live)
    statuses = [
        client.post(steers_url(new.id), json={"kind": "deeper"}, headers=AUTH).status_code
        for _ in range(5)
    ]
    assert statuses == [503] * 5  # the burst is let through (LiveKit is down here)
    limited = client.post(steers_url(new.id), json={"kind": "deeper"}, headers=AUTH)
    error = assert_error(limited, 429, "rate_limited")
    # 20 a minute: the next token comes in about 3 s.
    assert 1 <= int(limited.headers["retry-after"]) <= 3
    assert 0 < error["error"]["details"]["retry_after_seconds"] <= 3
    assert len(store.steers) == 5  # a refused request writes nothing
    assert len(steer_audits(store)) == 5


class DownStore(MemoryStore):
    async def get_interview(self, interview_id: UUID) -> None:
        raise StoreUnavailable("scripted outage")


def test_the_store_not_answering_is_503(tmp_path: Path) -> None:
    store = DownStore()
    with TestClient(create_app(make_settings(tmp_path), store=store)) as c:
        resp = c.post(steers_url(uuid4()), json={"kind": "next"}, headers=AUTH)
    assert_error(resp, 503, "store_unavailable")
    assert_nothing_written(store)


async def test_logs_name_the_steer_never_its_text_or_the_key(
    client: TestClient, store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    new, _ = await add_interview(store, InterviewStatus.live)
    with caplog.at_level("DEBUG"):
        client.post(steers_url(new.id), json={"kind": "note", "text": NOTE}, headers=AUTH)
    [steer] = store.steers.values()
    ours = [r for r in caplog.records if r.name.startswith("token_server.steer")]
    assert ours, "the steer was not logged"
    assert any(
        (getattr(r, "steer_id", None), getattr(r, "kind", None), getattr(r, "state", None))
        == (str(steer.id), "note", "pending")
        for r in ours
    )
    for record in caplog.records:
        logged = repr(record.__dict__)
        assert "migration" not in logged
        assert API_KEY not in logged
