"""The API over an in-memory store: bounds, auth, errors, headers, joins, webhooks, limits.

LiveKit is not running in the unit tier; the app's LiveKit client points at a closed port, which
is exactly the "LiveKit unreachable" case the create endpoint must handle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from livekit import api
from pydantic import SecretStr, ValidationError

from devstack.proc import free_port
from interview.contract import InterviewPlan
from interview.store import InterviewStatus, NewInterview
from tests.fixtures.token_server import MemoryStore, agree_and_join
from token_server import tokens
from token_server.app import create_app
from token_server.settings import Settings

pytestmark = pytest.mark.unit

API_KEY = "interviewer-key-" + "x" * 24
LK_KEY, LK_SECRET = "testkey", "t" * 40
AUTH = {"Authorization": f"Bearer {API_KEY}"}

VALID: dict[str, Any] = {
    "candidate_name": "Ada Lovelace",
    "role": "Backend engineer",
    "level": "senior",
    "type": "technical",
    "mode": "screening",
    "duration_minutes": 30,
    "question_count": 5,
    "focus_areas": ["databases", "concurrency"],
    "language": "en",
}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "livekit_url": f"ws://127.0.0.1:{free_port()}",  # nothing listens there
        "livekit_api_key": LK_KEY,
        "livekit_api_secret": SecretStr(LK_SECRET),
        "interviewer_api_keys": SecretStr(f"other-key-{'y' * 30},{API_KEY}"),
        "livekit_timeout_seconds": 1.0,
        "web_dist_dir": tmp_path / "no-dist",
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def client(settings: Settings, store: MemoryStore) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store=store), base_url="http://127.0.0.1") as c:
        yield c


async def add_interview(
    store: MemoryStore, status: InterviewStatus = InterviewStatus.waiting
) -> tuple[NewInterview, str]:
    iid = uuid4()
    secret = tokens.new_invite_secret()
    new = NewInterview(
        id=iid,
        plan=InterviewPlan.model_validate(VALID),
        room_name=tokens.room_name(iid),
        invite_hash=tokens.invite_hash(secret),
    )
    await store.create_interview(new)
    if status != InterviewStatus.waiting:
        store.record_status(iid, status, at=datetime.now(UTC))
    return new, secret


def assert_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body


# ---- field bounds ------------------------------------------------------------------------

OUT_OF_BOUNDS = [
    ("candidate_name", ""),
    ("candidate_name", "   "),
    ("candidate_name", "n" * 81),
    ("candidate_name", None),
    ("role", ""),
    ("role", "r" * 81),
    ("level", "principal"),
    ("level", ""),
    ("type", "trivia"),
    ("mode", "exam"),
    ("duration_minutes", 4),
    ("duration_minutes", 91),
    ("duration_minutes", "long"),
    ("question_count", 0),
    ("question_count", 21),
    ("focus_areas", ["a"] * 9),
    ("focus_areas", [""]),
    ("focus_areas", ["f" * 61]),
    ("focus_areas", "databases"),
    ("language", "english"),
    ("language", "E"),
    ("language", "en-"),
    ("language", "en-toolongsubtag"),
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_BOUNDS)
def test_every_field_refuses_values_out_of_bounds(
    client: TestClient, store: MemoryStore, field: str, value: object
) -> None:
    body = {**VALID, field: value}
    resp = client.post("/api/interviews", json=body, headers=AUTH)

    error = assert_error(resp, 422, "validation_error")
    assert any(d["loc"][:2] == ["body", field] for d in error["error"]["details"])
    # the reason never echoes the input
    if isinstance(value, str) and len(value) > 3:
        assert value not in resp.text
    assert store.interviews == {}


@pytest.mark.parametrize("field", ["candidate_name", "role", "level", "type", "mode"])
def test_required_fields_are_required(client: TestClient, field: str) -> None:
    body = {k: v for k, v in VALID.items() if k != field}
    error = assert_error(
        client.post("/api/interviews", json=body, headers=AUTH), 422, "validation_error"
    )
    assert error["error"]["details"][0]["loc"] == ["body", field]


def test_unknown_fields_are_refused(client: TestClient) -> None:
    resp = client.post("/api/interviews", json={**VALID, "admin": True}, headers=AUTH)
    assert_error(resp, 422, "validation_error")


EDGES = [
    ("candidate_name", "n"),
    ("candidate_name", "n" * 80),
    ("role", "r" * 80),
    ("duration_minutes", 5),
    ("duration_minutes", 90),
    ("question_count", 1),
    ("question_count", 20),
    ("focus_areas", []),
    ("focus_areas", ["f" * 60] * 8),
    ("language", "pt-BR"),
    ("language", "fil"),
]


@pytest.mark.parametrize(("field", "value"), EDGES)
def test_values_on_the_bounds_are_accepted(field: str, value: object) -> None:
    plan = InterviewPlan.model_validate({**VALID, field: value})
    assert getattr(plan, field) == value


@pytest.mark.parametrize(("field", "value"), OUT_OF_BOUNDS)
def test_the_create_body_is_the_shared_plan_model(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        InterviewPlan.model_validate({**VALID, field: value})


def test_a_plan_too_large_to_dispatch_is_refused_before_anything_is_written(
    client: TestClient, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every field is bounded, so real metadata stays near 1 KB; the 4 KB cap is a last line of
    # defence. Lower it to check the refusal path.
    monkeypatch.setattr("interview.contract.MAX_METADATA_BYTES", 200)
    resp = client.post("/api/interviews", json=VALID, headers=AUTH)
    assert_error(resp, 413, "metadata_too_large")
    assert store.interviews == {}


def test_oversized_bodies_are_refused(client: TestClient) -> None:
    resp = client.post(
        "/api/join",
        content=b'{"secret": "' + b"a" * 70_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert_error(resp, 413, "body_too_large")


# ---- authentication ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer wrong"},
        {"Authorization": API_KEY},
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/interviews"),
        ("GET", "/api/interviews"),
        ("GET", f"/api/interviews/{uuid4()}"),
        ("POST", f"/api/interviews/{uuid4()}/observer-token"),
    ],
)
def test_interviewer_endpoints_need_a_valid_key(
    client: TestClient, store: MemoryStore, headers: dict[str, str], method: str, path: str
) -> None:
    resp = client.request(method, path, json=VALID, headers=headers)
    assert_error(resp, 401, "unauthenticated")
    assert resp.headers["www-authenticate"] == "Bearer"
    assert store.interviews == {}


# ---- create when LiveKit is unreachable ------------------------------------------------------


def test_create_marks_the_interview_failed_when_livekit_is_unreachable(
    client: TestClient, store: MemoryStore
) -> None:
    resp = client.post("/api/interviews", json=VALID, headers=AUTH)

    error = assert_error(resp, 502, "livekit_unavailable")
    iid = error["error"]["details"]["interview_id"]
    row = next(iter(store.interviews.values()))
    assert str(row.id) == iid
    assert row.status == InterviewStatus.failed
    assert [a.kind for a in store.audits] == ["interview_setup_failed"]
    assert "secret" not in resp.text


# ---- candidate join ----------------------------------------------------------------------


async def test_the_invite_secret_buys_a_short_candidate_token(
    client: TestClient, store: MemoryStore, settings: Settings
) -> None:
    new, secret = await add_interview(store)

    resp = agree_and_join(client, secret)

    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["room"] == new.room_name
    assert body["identity"] == tokens.candidate_identity(new.id)
    assert body["livekit_url"] == settings.livekit_url
    assert body["expires_in"] == settings.candidate_token_ttl_seconds
    assert body["interview"] == {
        "interview_id": str(new.id),
        "candidate_name": "Ada Lovelace",
        "role": "Backend engineer",
        "mode": "screening",
        "duration_minutes": 30,
        "question_count": 5,
        "language": "en",
    }
    claims = api.TokenVerifier(LK_KEY, LK_SECRET).verify(body["token"])
    assert claims.video is not None
    assert claims.video.room == new.room_name
    assert claims.video.can_publish_sources == ["microphone"]


@pytest.mark.parametrize(
    "status",
    [
        InterviewStatus.completed,
        InterviewStatus.abandoned,
        InterviewStatus.failed,
        InterviewStatus.cancelled,
    ],
)
async def test_an_invite_stops_working_when_the_interview_ends(
    client: TestClient, store: MemoryStore, status: InterviewStatus
) -> None:
    _, secret = await add_interview(store, status)
    error = assert_error(client.post("/api/join", json={"secret": secret}), 410, "interview_ended")
    assert error["error"]["details"] == {"status": status.value}


def test_an_unknown_invite_is_refused(client: TestClient) -> None:
    resp = client.post("/api/join", json={"secret": tokens.new_invite_secret()})
    assert_error(resp, 404, "invite_not_found")


@pytest.mark.parametrize("secret", ["", "short", "a" * 129, "has spaces in it and more", "é" * 30])
def test_malformed_secrets_are_refused(client: TestClient, secret: str) -> None:
    assert_error(client.post("/api/join", json={"secret": secret}), 422, "validation_error")


def test_joins_are_rate_limited_per_client(tmp_path: Path, store: MemoryStore) -> None:
    settings = make_settings(tmp_path, join_burst=2, join_rate_per_minute=1)
    with TestClient(create_app(settings, store=store)) as c:
        codes = [c.post("/api/join", json={"secret": "x" * 43}).status_code for _ in range(3)]
        limited = c.post("/api/join", json={"secret": "x" * 43})
    assert codes == [404, 404, 429]
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1


def test_creation_is_rate_limited_per_key(tmp_path: Path, store: MemoryStore) -> None:
    settings = make_settings(tmp_path, create_burst=1, create_rate_per_minute=1)
    with TestClient(create_app(settings, store=store)) as c:
        first = c.post("/api/interviews", json=VALID, headers=AUTH)
        second = c.post("/api/interviews", json=VALID, headers=AUTH)
    assert first.status_code == 502  # LiveKit is not running here; the limit is what counts
    assert_error(second, 429, "rate_limited")
    assert "retry-after" in second.headers
    assert len(store.interviews) == 1


# ---- observer ----------------------------------------------------------------------------


async def test_observer_tokens_are_hidden_subscribe_only_and_audited(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store)

    resp = client.post(f"/api/interviews/{new.id}/observer-token", headers=AUTH)

    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    claims = api.TokenVerifier(LK_KEY, LK_SECRET).verify(body["token"])
    assert claims.video is not None
    assert (claims.video.hidden, claims.video.can_publish, claims.video.can_publish_data) == (
        True,
        False,
        False,
    )
    assert claims.video.room == new.room_name
    # The page tells the candidate's transcript lines from the interviewer's by this identity.
    assert body["candidate_identity"] == f"candidate-{new.id}"
    [audit] = store.audits
    assert audit.kind == "observer_join"
    assert audit.interview_id == new.id
    assert audit.detail["identity"] == body["identity"] == claims.identity
    assert API_KEY not in json.dumps(audit.detail)


async def test_observer_token_for_unknown_or_ended_interviews_is_refused(
    client: TestClient, store: MemoryStore
) -> None:
    assert_error(
        client.post(f"/api/interviews/{uuid4()}/observer-token", headers=AUTH),
        404,
        "interview_not_found",
    )
    ended, _ = await add_interview(store, InterviewStatus.completed)
    assert_error(
        client.post(f"/api/interviews/{ended.id}/observer-token", headers=AUTH),
        410,
        "interview_ended",
    )
    assert store.audits == []


# ---- reads -------------------------------------------------------------------------------


async def test_list_filters_by_status_and_pages(client: TestClient, store: MemoryStore) -> None:
    for _ in range(3):
        await add_interview(store)
    done, _ = await add_interview(store, InterviewStatus.completed)

    page1 = client.get("/api/interviews", params={"status": "waiting", "limit": 2}, headers=AUTH)
    page2 = client.get(
        "/api/interviews", params={"status": "waiting", "limit": 2, "offset": 2}, headers=AUTH
    )
    completed = client.get("/api/interviews", params={"status": "completed"}, headers=AUTH)

    assert page1.status_code == 200
    assert len(page1.json()["items"]) == 2
    assert page1.json()["next_offset"] == 2
    assert len(page2.json()["items"]) == 1
    assert page2.json()["next_offset"] is None
    ids = {i["id"] for i in page1.json()["items"] + page2.json()["items"]}
    assert len(ids) == 3 and str(done.id) not in ids
    assert [i["id"] for i in completed.json()["items"]] == [str(done.id)]


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"status": "unknown"}]
)
def test_list_refuses_bad_paging(client: TestClient, params: dict[str, object]) -> None:
    assert_error(
        client.get("/api/interviews", params=params, headers=AUTH), 422, "validation_error"
    )


async def test_read_one_interview(client: TestClient, store: MemoryStore) -> None:
    new, _ = await add_interview(store)
    resp = client.get(f"/api/interviews/{new.id}", headers=AUTH)
    assert resp.status_code == 200
    body = resp.json()
    assert body["interview"]["id"] == str(new.id)
    assert body["interview"]["status"] == "waiting"
    assert body["questions"] == body["answers"] == body["feedback"] == []
    assert "invite_hash" not in resp.text
    assert_error(client.get(f"/api/interviews/{uuid4()}", headers=AUTH), 404, "interview_not_found")
    assert_error(client.get("/api/interviews/not-a-uuid", headers=AUTH), 422, "validation_error")


# ---- webhooks ----------------------------------------------------------------------------


def signed(body: str, *, secret: str = LK_SECRET, digest: str | None = None) -> dict[str, str]:
    sha = digest or base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = api.AccessToken(LK_KEY, secret).with_sha256(sha).to_jwt()
    return {"Authorization": token, "Content-Type": "application/webhook+json"}


def event(
    kind: str, room: str, *, age: float = 0, event_id: str | None = None, **extra: Any
) -> str:
    return json.dumps(
        {
            "event": kind,
            "id": event_id or f"EV_{uuid4().hex[:12]}",
            "createdAt": str(int(time.time() - age)),
            "room": {"name": room},
            **extra,
        }
    )


async def test_room_finished_closes_a_live_interview_as_abandoned(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store, InterviewStatus.live)
    body = event("room_finished", new.room_name)
    resp = client.post("/webhooks/livekit", content=body, headers=signed(body))
    assert resp.status_code == 200, resp.text
    assert store.interviews[new.id].status == InterviewStatus.abandoned


async def test_room_finished_leaves_a_waiting_interview_waiting(
    client: TestClient, store: MemoryStore
) -> None:
    # Nobody came before the empty room closed: the invite must still work later.
    new, _ = await add_interview(store)
    body = event("room_finished", new.room_name)
    assert client.post("/webhooks/livekit", content=body, headers=signed(body)).status_code == 200
    assert store.interviews[new.id].status == InterviewStatus.waiting


async def test_room_finished_keeps_a_completed_interview_completed(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store, InterviewStatus.completed)
    body = event("room_finished", new.room_name)
    assert client.post("/webhooks/livekit", content=body, headers=signed(body)).status_code == 200
    assert store.interviews[new.id].status == InterviewStatus.completed


async def test_participant_events_are_audited_once_even_when_replayed(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store)
    body = event(
        "participant_joined",
        new.room_name,
        participant={"identity": "candidate-x", "name": "Ada Lovelace", "kind": "STANDARD"},
    )
    for _ in range(2):
        assert (
            client.post("/webhooks/livekit", content=body, headers=signed(body)).status_code == 200
        )
    [audit] = store.audits
    assert audit.kind == "participant_joined"
    assert audit.key == json.loads(body)["id"]
    assert audit.detail == {"identity": "candidate-x", "kind": "standard", "hidden": False}


@pytest.mark.parametrize(
    ("status", "expected"),
    [(InterviewStatus.live, True), (InterviewStatus.waiting, False)],
)
async def test_the_agent_leaving_a_live_interview_is_recorded(
    client: TestClient, store: MemoryStore, status: InterviewStatus, expected: bool
) -> None:
    new, _ = await add_interview(store, status)
    body = event(
        "participant_left",
        new.room_name,
        participant={"identity": "agent-AJ_1", "kind": "AGENT"},
    )
    assert client.post("/webhooks/livekit", content=body, headers=signed(body)).status_code == 200
    kinds = [a.kind for a in store.audits]
    assert ("agent_left_live" in kinds) is expected
    assert "participant_left" in kinds


async def test_forged_tampered_stale_and_unsigned_webhooks_are_refused(
    client: TestClient, store: MemoryStore
) -> None:
    new, _ = await add_interview(store)
    body = event("room_finished", new.room_name)
    tampered = body.replace("room_finished", "room_started")
    stale = event("room_finished", new.room_name, age=600)

    forged = client.post("/webhooks/livekit", content=body, headers=signed(body, secret="f" * 40))
    swapped = client.post("/webhooks/livekit", content=tampered, headers=signed(body))
    no_hash = client.post(
        "/webhooks/livekit",
        content=body,
        headers={"Authorization": api.AccessToken(LK_KEY, LK_SECRET).to_jwt()},
    )
    unsigned = client.post("/webhooks/livekit", content=body)
    old = client.post("/webhooks/livekit", content=stale, headers=signed(stale))

    assert_error(forged, 401, "webhook_invalid")
    assert_error(swapped, 401, "webhook_invalid")
    assert_error(no_hash, 401, "webhook_invalid")
    assert_error(unsigned, 401, "webhook_unsigned")
    assert_error(old, 400, "webhook_stale")
    assert store.interviews[new.id].status == InterviewStatus.waiting
    assert store.audits == []


def test_webhooks_for_other_rooms_are_acknowledged_and_ignored(
    client: TestClient, store: MemoryStore
) -> None:
    body = event("room_finished", "someone-elses-room")
    resp = client.post("/webhooks/livekit", content=body, headers=signed(body))
    assert resp.status_code == 200
    assert store.audits == []


# ---- transport concerns ------------------------------------------------------------------


def test_cors_allows_only_configured_origins(tmp_path: Path, store: MemoryStore) -> None:
    settings = make_settings(tmp_path, cors_origins="https://app.example, https://b.example")
    assert settings.cors_origins == ["https://app.example", "https://b.example"]
    with TestClient(create_app(settings, store=store)) as c:
        ok = c.options(
            "/api/join",
            headers={"Origin": "https://b.example", "Access-Control-Request-Method": "POST"},
        )
        bad = c.options(
            "/api/join",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert ok.headers["access-control-allow-origin"] == "https://b.example"
    assert "access-control-allow-origin" not in bad.headers


def test_health_and_the_web_placeholder(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "checks": {}}
    page = client.get("/join")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "not built" in page.text
    assert_error(client.get("/api/nothing-here"), 404, "not_found")
    assert_error(client.get("/webhooks/other"), 404, "not_found")
    assert client.get("/openapi.json").json()["paths"]["/api/interviews"]


def test_ready_reports_livekit_unreachable(client: TestClient) -> None:
    resp = client.get("/ready")
    assert resp.status_code == 503
    assert resp.json()["checks"]["store"] == "ok"
    assert resp.json()["checks"]["livekit"].startswith("unavailable")


def test_the_built_client_is_served_with_a_fallback_to_index(
    tmp_path: Path, store: MemoryStore
) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>client index</html>")
    (dist / "observer.html").write_text("<html>observer page</html>")
    (dist / "assets" / "app.js").write_text("console.log('x')")
    (tmp_path / "secret.txt").write_text("outside dist")
    with TestClient(create_app(make_settings(tmp_path, web_dist_dir=dist), store=store)) as c:
        assert "client index" in c.get("/").text
        assert "client index" in c.get("/join").text
        assert "observer page" in c.get("/observer").text
        assert c.get("/assets/app.js").text == "console.log('x')"
        assert "outside dist" not in c.get("/..%2Fsecret.txt").text
        assert c.get("/api/interviews").status_code == 401


def test_the_app_closes_what_it_built_and_leaves_what_it_was_given(
    tmp_path: Path, store: MemoryStore
) -> None:
    with TestClient(create_app(make_settings(tmp_path), store=store)):
        pass
    assert store.closed is False

    built = MemoryStore()
    app = create_app(make_settings(tmp_path), store_factory=lambda _: built)
    with TestClient(app):
        assert app.state.services.store is built
    assert built.closed is True
