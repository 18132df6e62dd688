"""The token server against the real LiveKit server, the real store (PostgREST) and the real
agent worker: the candidate's arrival dispatches the agent, tokens are enforced by the server,
webhooks close interviews and are verified."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient
from livekit import api, rtc
from livekit.rtc.participant import PublishTrackError
from pydantic import SecretStr

from devstack import LiveKitServer, SupabaseStack
from devstack.proc import free_port
from interview.contract import InterviewMetadata, decode_metadata
from tests.fixtures.agent import Worker, WorkerStarter
from tests.fixtures.token_server import (
    TokenServer,
    agree,
    agree_and_join,
    token_server_settings,
)
from token_server import tokens
from token_server.app import create_app

pytestmark = pytest.mark.integration

PLAN: dict[str, Any] = {
    "candidate_name": "Grace Hopper",
    "role": "Platform engineer",
    "level": "lead",
    "type": "mixed",
    "mode": "practice",
    "duration_minutes": 25,
    "question_count": 4,
    "focus_areas": ["compilers", "incident response"],
    "language": "en-US",
}

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = 30.0
) -> T:
    """Poll until `probe` returns something truthy; bounded in time."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s (last: {last!r})")


@pytest.fixture(scope="module")
def agent_worker(start_worker: WorkerStarter, token_server: TokenServer) -> Worker:
    """The real worker (`python -m agent start`, with the local rehearsal model), registered
    under the name the token server dispatches to."""
    return start_worker(AGENT_NAME=token_server.settings.agent_name)


@pytest.fixture
async def lkapi(livekit_server: LiveKitServer) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(livekit_server.url, livekit_server.api_key, livekit_server.api_secret)
    yield client
    await client.aclose()


@pytest.fixture
async def http(token_server: TokenServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=token_server.url, headers=token_server.auth_headers, timeout=20
    ) as client:
        yield client


# Rooms of the interviews a test created: closed after it (see `close_rooms`).
CREATED_ROOMS: list[str] = []


@pytest.fixture(autouse=True)
async def close_rooms(livekit_server: LiveKitServer) -> AsyncIterator[None]:
    """End what a test left open. An interview the agent made live stays live when the
    module's worker stops; the token server would then send a new agent into it, and a later
    module's worker would take that job."""
    yield
    async with api.LiveKitAPI(
        livekit_server.url, livekit_server.api_key, livekit_server.api_secret
    ) as client:
        while CREATED_ROOMS:
            with contextlib.suppress(api.ServerError):
                await client.room.delete_room(api.DeleteRoomRequest(room=CREATED_ROOMS.pop()))


async def create(http: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    resp = await http.post("/api/interviews", json={**PLAN, **overrides})
    assert resp.status_code == 201, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body: dict[str, Any] = resp.json()
    CREATED_ROOMS.append(body["room"])
    return body


async def join(http: httpx.AsyncClient, secret: str) -> httpx.Response:
    # No interviewer key: the candidate only has the secret.
    return await agree_and_join(http, secret, headers={"Authorization": ""})  # type: ignore[no-any-return]


async def rows(supabase: SupabaseStack, table: str, **filters: str) -> list[dict[str, Any]]:
    """Read the database through PostgREST with the service key (what is really stored)."""
    key = supabase.service_role_key
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.get(
            f"{supabase.url}/rest/v1/{table}",
            params=filters,
            headers={"apikey": key, "Authorization": f"Bearer {key}"},
        )
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()
    return found


async def audit_kinds(supabase: SupabaseStack, interview_id: str) -> list[dict[str, Any]]:
    return await rows(
        supabase,
        "audit_events",
        interview_id=f"eq.{interview_id}",
        select="kind,dedupe_key,detail",
    )


def publish_options(source: rtc.TrackSource.ValueType) -> rtc.TrackPublishOptions:
    return rtc.TrackPublishOptions(source=source)


# ---- creation, then the candidate brings the agent -------------------------------------------


async def test_creation_makes_the_room_and_the_candidate_arriving_brings_the_agent(
    token_server: TokenServer,
    agent_worker: Worker,
    http: httpx.AsyncClient,
    lkapi: api.LiveKitAPI,
    supabase_stack: SupabaseStack,
) -> None:
    """Creation writes the row and the room and dispatches nothing (an invite for next week
    holds no job); the candidate's participant_joined webhook alone (no join call) ensures the
    interviewer, which arrives with the metadata."""
    created = await create(http)
    iid = created["interview"]["id"]
    room = created["room"]

    assert room == f"iv-{iid}"
    assert "dispatch_id" not in created
    assert created["invite"]["url"].endswith(f"/join#{created['invite']['secret']}")
    [row] = await rows(supabase_stack, "interviews", id=f"eq.{iid}", select="status,invite_hash")
    assert row["status"] == "waiting"
    assert row["invite_hash"] == hashlib.sha256(created["invite"]["secret"].encode()).hexdigest()

    [lk_room] = (await lkapi.room.list_rooms(api.ListRoomsRequest(names=[room]))).rooms
    assert lk_room.empty_timeout == token_server.settings.room_empty_timeout
    assert lk_room.max_participants == token_server.settings.room_max_participants
    assert lk_room.metadata == ""  # the plan is for the agent only, never broadcast

    async def ours() -> list[api.AgentDispatch]:
        # The server also lists its automatic dispatch (no agent name) for rooms created by
        # the API; ours are those for the interviewer agent.
        dispatches = await lkapi.agent_dispatch.list_dispatch(room)
        return [d for d in dispatches if d.agent_name == token_server.settings.agent_name]

    assert await ours() == []
    # The candidate agreed on the page (the join call is not made: the webhook brings the agent).
    await agree(http, created["invite"]["secret"], headers={"Authorization": ""})

    settings = token_server.settings
    candidate_token = tokens.candidate_token(
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret.get_secret_value(),
        room=room,
        identity=created["candidate_identity"],
        name=PLAN["candidate_name"],
        ttl=timedelta(minutes=5),
    )
    candidate = rtc.Room()
    await candidate.connect(settings.livekit_url, candidate_token)
    try:

        async def agent_in_room() -> list[api.ParticipantInfo]:
            listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
            return [p for p in listed.participants if p.kind == api.ParticipantInfo.Kind.AGENT]

        [agent] = await eventually(agent_in_room, "the agent joining the room", timeout=60)
        assert agent.identity

        async def taken() -> list[api.AgentDispatch]:
            # LiveKit lists the job a moment after the worker took it.
            return [d for d in await ours() if d.state.jobs]

        [dispatch] = await eventually(taken, "the dispatch's job being listed", timeout=15)
        metadata = decode_metadata(dispatch.metadata)
        assert metadata == InterviewMetadata(
            **PLAN, interview_id=UUID(iid), candidate_identity=created["candidate_identity"]
        )

        async def joined_audited() -> list[dict[str, Any]]:
            audits = await audit_kinds(supabase_stack, iid)
            return [
                a
                for a in audits
                if a["kind"] == "participant_joined" and a["detail"].get("kind") == "agent"
            ]

        [audit] = await eventually(joined_audited, "the agent's participant_joined audit row")
        assert audit["detail"]["identity"] == agent.identity
        kinds = {a["kind"] for a in await audit_kinds(supabase_stack, iid)}
        assert "agent_dispatched" in kinds
    finally:
        await candidate.disconnect()
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=room))


async def test_creation_fails_cleanly_when_livekit_refuses(
    livekit_server: LiveKitServer, supabase_stack: SupabaseStack, tmp_path: Path
) -> None:
    settings = token_server_settings(
        livekit_server,
        supabase_stack,
        port=free_port(),
        api_key="k" * 32,
        outbox_dir=tmp_path,
        livekit_api_secret=SecretStr("wrong-secret-" + "w" * 32),
    )
    with TestClient(create_app(settings)) as client:
        resp = client.post(
            "/api/interviews", json=PLAN, headers={"Authorization": f"Bearer {'k' * 32}"}
        )
    assert resp.status_code == 502, resp.text
    assert resp.json()["error"]["code"] == "livekit_unavailable"
    iid = resp.json()["error"]["details"]["interview_id"]
    [row] = await rows(supabase_stack, "interviews", id=f"eq.{iid}", select="status")
    assert row["status"] == "failed"


# ---- tokens enforced by the LiveKit server -----------------------------------------------


async def test_candidate_token_joins_only_its_room_and_publishes_only_the_microphone(
    http: httpx.AsyncClient, lkapi: api.LiveKitAPI, token_server: TokenServer
) -> None:
    created = await create(http)
    other = await create(http)
    resp = await join(http, created["invite"]["secret"])
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    grant = resp.json()
    assert grant["livekit_url"] == token_server.livekit.url

    candidate = rtc.Room()
    try:
        await candidate.connect(grant["livekit_url"], grant["token"])
        # The room comes from the token: this token lands in its own room, never another.
        assert candidate.name == created["room"] != other["room"]
        assert candidate.local_participant.identity == created["candidate_identity"]

        mic = rtc.LocalAudioTrack.create_audio_track("mic", rtc.AudioSource(48_000, 1))
        published = await candidate.local_participant.publish_track(
            mic, publish_options(rtc.TrackSource.SOURCE_MICROPHONE)
        )
        assert published.sid

        camera = rtc.LocalVideoTrack.create_video_track("cam", rtc.VideoSource(64, 64))
        screen = rtc.LocalVideoTrack.create_video_track("screen", rtc.VideoSource(64, 64))
        refused = await asyncio.gather(
            candidate.local_participant.publish_track(
                camera, publish_options(rtc.TrackSource.SOURCE_CAMERA)
            ),
            candidate.local_participant.publish_track(
                screen, publish_options(rtc.TrackSource.SOURCE_SCREENSHARE)
            ),
            return_exceptions=True,
        )
        assert all(isinstance(r, PublishTrackError) for r in refused), refused

        listed = await lkapi.room.list_participants(
            api.ListParticipantsRequest(room=created["room"])
        )
        [me] = [p for p in listed.participants if p.identity == created["candidate_identity"]]
        assert list(me.permission.can_publish_sources) == [api.TrackSource.MICROPHONE]
        assert all(t.type != api.TrackType.VIDEO for t in me.tracks)
        in_other = await lkapi.room.list_participants(
            api.ListParticipantsRequest(room=other["room"])
        )
        assert created["candidate_identity"] not in {p.identity for p in in_other.participants}
    finally:
        await candidate.disconnect()


async def test_observer_joins_hidden_and_cannot_publish(
    http: httpx.AsyncClient, lkapi: api.LiveKitAPI, supabase_stack: SupabaseStack
) -> None:
    created = await create(http)
    iid = created["interview"]["id"]
    candidate_grant = (await join(http, created["invite"]["secret"])).json()
    resp = await http.post(f"/api/interviews/{iid}/observer-token")
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    observer_grant = resp.json()

    candidate, observer, marker = rtc.Room(), rtc.Room(), rtc.Room()
    seen_by_candidate: list[str] = []
    marker_seen = asyncio.Event()

    @candidate.on("participant_connected")
    def _on_join(p: rtc.RemoteParticipant) -> None:
        seen_by_candidate.append(p.identity)
        if p.identity == "marker":
            marker_seen.set()

    marker_token = (
        api.AccessToken(lkapi.room.api_key, lkapi.room.api_secret)
        .with_identity("marker")
        .with_grants(api.VideoGrants(room_join=True, room=created["room"]))
        .to_jwt()
    )
    try:
        await candidate.connect(candidate_grant["livekit_url"], candidate_grant["token"])
        await observer.connect(observer_grant["livekit_url"], observer_grant["token"])
        # The observer sees the candidate ...
        assert candidate_grant["identity"] in {
            p.identity for p in observer.remote_participants.values()
        }
        # ... and a participant joining after the observer reaches the candidate, so had the
        # observer been visible, the candidate would have heard of it first.
        await marker.connect(candidate_grant["livekit_url"], marker_token)
        await asyncio.wait_for(marker_seen.wait(), 15)
        assert observer_grant["identity"] not in seen_by_candidate
        assert observer_grant["identity"] not in {
            p.identity for p in candidate.remote_participants.values()
        }

        mic = rtc.LocalAudioTrack.create_audio_track("mic", rtc.AudioSource(48_000, 1))
        with pytest.raises(PublishTrackError):
            await observer.local_participant.publish_track(
                mic, publish_options(rtc.TrackSource.SOURCE_MICROPHONE)
            )

        listed = await lkapi.room.list_participants(
            api.ListParticipantsRequest(room=created["room"])
        )
        [obs] = [p for p in listed.participants if p.identity == observer_grant["identity"]]
        assert obs.permission.hidden is True
        assert obs.permission.can_publish is False
        assert obs.permission.can_publish_data is False
        assert not obs.tracks
    finally:
        for room in (marker, observer, candidate):
            await room.disconnect()

    audits = await audit_kinds(supabase_stack, iid)
    observer_joins = [a for a in audits if a["kind"] == "observer_join"]
    assert [a["detail"]["identity"] for a in observer_joins] == [observer_grant["identity"]]


async def test_an_expired_token_is_refused(
    http: httpx.AsyncClient, token_server: TokenServer
) -> None:
    created = await create(http)
    settings = token_server.settings
    expired = tokens.candidate_token(
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret.get_secret_value(),
        room=created["room"],
        identity=created["candidate_identity"],
        name="x",
        ttl=timedelta(minutes=-10),
    )
    room = rtc.Room()
    with pytest.raises(rtc.ConnectError, match="expired"):
        await asyncio.wait_for(room.connect(settings.livekit_url, expired), 20)


# ---- webhooks ----------------------------------------------------------------------------


async def test_an_invite_stops_working_when_the_room_finishes(
    http: httpx.AsyncClient, lkapi: api.LiveKitAPI, supabase_stack: SupabaseStack
) -> None:
    created = await create(http)
    iid = created["interview"]["id"]
    assert (await join(http, created["invite"]["secret"])).status_code == 200
    # The interview is under way (as when the agent has greeted the candidate); a room that
    # finishes while it is only waiting leaves the invite usable for later.
    supabase_stack.postgres.psql(
        f"update interviews set status = 'live', started_at = now() where id = '{iid}'"
    )

    # LiveKit ends the room, and tells the token server with a signed room_finished webhook.
    await lkapi.room.delete_room(api.DeleteRoomRequest(room=created["room"]))

    async def refused() -> httpx.Response | None:
        resp = await join(http, created["invite"]["secret"])
        return resp if resp.status_code != 200 else None

    resp = await eventually(refused, "the invite being refused")
    assert resp.status_code == 410
    assert resp.json()["error"]["code"] == "interview_ended"
    detail = (await http.get(f"/api/interviews/{iid}")).json()
    assert detail["interview"]["status"] == "abandoned"
    audits = await audit_kinds(supabase_stack, iid)
    assert "room_finished" in {a["kind"] for a in audits}
    observer = await http.post(f"/api/interviews/{iid}/observer-token")
    assert observer.status_code == 410


def _signed(body: str, key: str, secret: str) -> dict[str, str]:
    sha = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = api.AccessToken(key, secret).with_sha256(sha).to_jwt()
    return {"Authorization": token, "Content-Type": "application/webhook+json"}


async def test_forged_and_replayed_webhooks_are_refused_or_recorded_once(
    http: httpx.AsyncClient, token_server: TokenServer, supabase_stack: SupabaseStack
) -> None:
    created = await create(http)
    iid = created["interview"]["id"]
    key = token_server.settings.livekit_api_key
    secret = token_server.settings.livekit_api_secret.get_secret_value()

    def body(created_at: float, event_id: str) -> str:
        return json.dumps(
            {
                "event": "participant_joined",
                "id": event_id,
                "createdAt": str(int(created_at)),
                "room": {"name": created["room"]},
                "participant": {"identity": "replayed-participant", "kind": "STANDARD"},
            }
        )

    fresh = body(time.time(), f"EV_replay_{iid}")
    forged = await http.post(
        "/webhooks/livekit", content=fresh, headers=_signed(fresh, key, "f" * 40)
    )
    tampered = await http.post(
        "/webhooks/livekit",
        content=fresh.replace("replayed-participant", "someone-else"),
        headers=_signed(fresh, key, secret),
    )
    stale_body = body(time.time() - 3600, f"EV_stale_{iid}")
    stale = await http.post(
        "/webhooks/livekit", content=stale_body, headers=_signed(stale_body, key, secret)
    )
    first = await http.post("/webhooks/livekit", content=fresh, headers=_signed(fresh, key, secret))
    replay = await http.post(
        "/webhooks/livekit", content=fresh, headers=_signed(fresh, key, secret)
    )

    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "webhook_invalid")
    assert (tampered.status_code, tampered.json()["error"]["code"]) == (401, "webhook_invalid")
    assert (stale.status_code, stale.json()["error"]["code"]) == (400, "webhook_stale")
    assert first.status_code == replay.status_code == 200

    async def recorded() -> list[dict[str, Any]]:
        audits = await audit_kinds(supabase_stack, iid)
        return [a for a in audits if a["detail"].get("identity") == "replayed-participant"]

    found = await eventually(recorded, "the participant_joined audit row")
    assert [a["dedupe_key"] for a in found] == [f"EV_replay_{iid}"]

    # A barrier: an event sent after the replay; once it is stored, so would a second row be.
    sentinel = json.dumps(
        {
            "event": "participant_left",
            "id": f"EV_sentinel_{iid}",
            "createdAt": str(int(time.time())),
            "room": {"name": created["room"]},
            "participant": {"identity": "sentinel", "kind": "STANDARD"},
        }
    )
    ok = await http.post(
        "/webhooks/livekit", content=sentinel, headers=_signed(sentinel, key, secret)
    )
    assert ok.status_code == 200

    async def sentinel_stored() -> list[dict[str, Any]]:
        audits = await audit_kinds(supabase_stack, iid)
        return [a for a in audits if a["dedupe_key"] == f"EV_sentinel_{iid}"]

    await eventually(sentinel_stored, "the sentinel audit row")
    audits = await audit_kinds(supabase_stack, iid)
    keys = [a["dedupe_key"] for a in audits]
    assert keys.count(f"EV_replay_{iid}") == 1
    assert f"EV_stale_{iid}" not in keys


async def test_the_agent_leaving_a_live_interview_is_recorded(
    token_server: TokenServer,
    http: httpx.AsyncClient,
    lkapi: api.LiveKitAPI,
    supabase_stack: SupabaseStack,
) -> None:
    """An agent-kind participant (the real worker's job is not needed to leave a room) leaves
    while the interview is live; LiveKit's participant_left webhook gets it recorded."""
    created = await create(http)
    iid, room_name = created["interview"]["id"], created["room"]
    agent_token = (
        api.AccessToken(lkapi.room.api_key, lkapi.room.api_secret)
        .with_identity("agent-under-test")
        .with_kind("agent")
        .with_grants(api.VideoGrants(room_join=True, room=room_name, agent=True))
        .to_jwt()
    )
    agent = rtc.Room()
    await agent.connect(token_server.livekit.url, agent_token)
    try:
        # The agent marks the interview live when it greets the candidate; do it directly.
        key = supabase_stack.service_role_key
        async with httpx.AsyncClient(timeout=10) as client:
            patched = await client.patch(
                f"{supabase_stack.url}/rest/v1/interviews",
                params={"id": f"eq.{iid}"},
                json={"status": "live"},
                headers={"apikey": key, "Authorization": f"Bearer {key}"},
            )
        assert patched.status_code in (200, 204), patched.text
    finally:
        await agent.disconnect()

    async def recorded() -> list[dict[str, Any]]:
        audits = await audit_kinds(supabase_stack, iid)
        return [a for a in audits if a["kind"] == "agent_left_live"]

    try:
        [audit] = await eventually(recorded, "the agent_left_live audit row")
        assert audit["detail"]["identity"] == "agent-under-test"
        left = [
            a for a in await audit_kinds(supabase_stack, iid) if a["kind"] == "participant_left"
        ]
        assert [a["detail"]["kind"] for a in left] == ["agent"]
    finally:
        # The token server sends a new agent into a live interview whose agent left; end the
        # interview so that it stops (later modules' workers would take the dispatch).
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=room_name))


async def test_ready_checks_the_store_and_livekit(http: httpx.AsyncClient) -> None:
    resp = await http.get("/ready")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "status": "ready",
        "checks": {"store": "ok", "livekit": "ok"},
        "dead_letters": 0,
    }
