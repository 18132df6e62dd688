"""The interviewer arrives: the token server ensures an agent once the candidate comes, and keeps
ensuring it until one is in the room, against the real LiveKit server, the real store and real
workers (`python -m agent start` with the local rehearsal model).

Each test runs its own token server (`start_token_server`) with an agent name of its own, so a
worker registered for one test never takes another's dispatches, and short arrival bounds.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
from livekit import api, rtc

from devstack import LiveKitServer
from tests.fixtures.agent import Worker, WorkerStarter, eventually
from tests.fixtures.token_server import TokenServer, TokenServerStarter, agree_and_join

pytestmark = pytest.mark.integration

PLAN: dict[str, Any] = {
    "candidate_name": "Arrival Candidate",
    "role": "Backend engineer",
    "level": "mid",
    "type": "technical",
    "mode": "practice",
    "duration_minutes": 10,
    "question_count": 1,
}
# Short bounds: a dropped dispatch is sent again within seconds.
FAST = {"agent_dispatch_grace_s": 1.5}
# The worker ends a job soon after its candidate has gone.
WORKER_ENV = {"RECONNECT_GRACE_S": "1", "SILENCE_CHECKIN_S": "60"}
ARRIVAL_WAIT_S = 60.0

T = TypeVar("T")


def agent_name() -> str:
    return f"arrival-test-{secrets.token_hex(3)}"


@pytest.fixture
async def lkapi(livekit_server: LiveKitServer) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(livekit_server.url, livekit_server.api_key, livekit_server.api_secret)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
def shared_name() -> str:
    return agent_name()


@pytest.fixture(scope="module")
def shared_worker(start_worker: WorkerStarter, shared_name: str) -> Worker:
    return start_worker(AGENT_NAME=shared_name, **WORKER_ENV)


@pytest.fixture(scope="module")
def shared_server(start_token_server: TokenServerStarter, shared_name: str) -> TokenServer:
    return start_token_server(agent_name=shared_name, agent_arrival_timeout_s=60.0, **FAST)


def client(server: TokenServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers=server.auth_headers, timeout=20)


async def create(http: httpx.AsyncClient) -> dict[str, Any]:
    resp = await http.post("/api/interviews", json=PLAN)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def join(http: httpx.AsyncClient, secret: str) -> dict[str, Any]:
    resp = await agree_and_join(http, secret, headers={"Authorization": ""})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def arrival(http: httpx.AsyncClient, secret: str, *, retry: bool = False) -> dict[str, Any]:
    resp = await http.post(
        "/api/join/interviewer",
        json={"secret": secret, "retry": retry},
        headers={"Authorization": ""},
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def connect(grant: dict[str, Any]) -> rtc.Room:
    room = rtc.Room()
    await room.connect(grant["livekit_url"], grant["token"], rtc.RoomOptions(auto_subscribe=False))
    return room


async def agents_in(lkapi: api.LiveKitAPI, room: str) -> list[api.ParticipantInfo]:
    listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
    return [p for p in listed.participants if p.kind == api.ParticipantInfo.Kind.AGENT]


async def ours(lkapi: api.LiveKitAPI, room: str, name: str) -> list[api.AgentDispatch]:
    return [d for d in await lkapi.agent_dispatch.list_dispatch(room) if d.agent_name == name]


async def jobs_in(lkapi: api.LiveKitAPI, room: str, name: str) -> int:
    """The jobs of the room's dispatches to `name`. LiveKit lists a dispatch's job a moment
    after the worker took it (the agent may already be in the room): wait for one."""

    async def listed() -> int:
        return sum(len(d.state.jobs) for d in await ours(lkapi, room, name))

    return await eventually(listed, "the dispatch's job being listed", timeout=15)


def signed_webhook(server: TokenServer, payload: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A webhook signed as LiveKit signs it (these servers do not get LiveKit's own)."""
    body = json.dumps(payload)
    settings = server.settings
    sha = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret.get_secret_value())
        .with_sha256(sha)
        .to_jwt()
    )
    return body, {"Authorization": token, "Content-Type": "application/webhook+json"}


# ---- (a) creation does not dispatch ----------------------------------------------------------


async def test_creating_an_interview_dispatches_no_agent(
    start_token_server: TokenServerStarter, lkapi: api.LiveKitAPI
) -> None:
    name = agent_name()
    server = start_token_server(agent_name=name)
    async with client(server) as http:
        created = await create(http)
    assert "dispatch_id" not in created
    # The room exists (an outage at creation still answers 502), but nothing is dispatched.
    [room] = (await lkapi.room.list_rooms(api.ListRoomsRequest(names=[created["room"]]))).rooms
    assert room.name == created["room"]
    assert await ours(lkapi, created["room"], name) == []


# ---- (b) a worker that registers after the candidate joined still brings the interviewer -----


async def test_the_interviewer_arrives_when_a_worker_registers_after_the_candidate_joined(
    start_token_server: TokenServerStarter,
    start_worker: WorkerStarter,
    lkapi: api.LiveKitAPI,
) -> None:
    name = agent_name()
    server = start_token_server(agent_name=name, agent_arrival_timeout_s=120.0, **FAST)
    async with client(server) as http:
        created = await create(http)
        grant = await join(http, created["invite"]["secret"])
        candidate = await connect(grant)
        try:
            # No worker is registered under the name: LiveKit drops the dispatch.
            await eventually(
                lambda: ours(lkapi, created["room"], name), "a first dispatch", timeout=20
            )
            assert await agents_in(lkapi, created["room"]) == []
            worker = await asyncio.to_thread(start_worker, AGENT_NAME=name, **WORKER_ENV)
            try:
                [agent] = await eventually(
                    lambda: agents_in(lkapi, created["room"]),
                    "the interviewer arriving",
                    timeout=ARRIVAL_WAIT_S,
                )
                assert agent.identity
                assert await jobs_in(lkapi, created["room"], name) == 1
                state = await eventually(
                    lambda: _state_is(http, created["invite"]["secret"], "present"),
                    "the candidate page hearing of it",
                )
                assert state["attempts"] >= 2  # the dropped one, then the one taken
            finally:
                await lkapi.room.delete_room(api.DeleteRoomRequest(room=created["room"]))
                worker.stop()
        finally:
            await candidate.disconnect()


async def _state_is(http: httpx.AsyncClient, secret: str, state: str) -> dict[str, Any] | None:
    found = await arrival(http, secret)
    return found if found["state"] == state else None


# ---- (c) racing joins and webhooks give one interviewer ----------------------------------------


async def test_racing_joins_and_the_webhook_bring_exactly_one_interviewer(
    shared_worker: Worker, shared_server: TokenServer, lkapi: api.LiveKitAPI
) -> None:
    async with client(shared_server) as http:
        created = await create(http)
        secret, room_name = created["invite"]["secret"], created["room"]
        grants = await asyncio.gather(*(join(http, secret) for _ in range(4)))
        candidate = await connect(grants[0])
        try:
            body, headers = signed_webhook(
                shared_server,
                {
                    "event": "participant_joined",
                    "id": f"EV_{secrets.token_hex(6)}",
                    "createdAt": str(int(time.time())),
                    "room": {"name": room_name},
                    "participant": {
                        "identity": created["candidate_identity"],
                        "kind": "STANDARD",
                    },
                },
            )
            acks = await asyncio.gather(
                http.post("/webhooks/livekit", content=body, headers=headers),
                join(http, secret),
            )
            assert acks[0].status_code == 200, acks[0].text
            await eventually(
                lambda: agents_in(lkapi, room_name), "the interviewer", timeout=ARRIVAL_WAIT_S
            )
            await join(http, secret)  # the candidate reloads the page
            await eventually(
                lambda: _state_is(http, secret, "present"), "the arrival state being present"
            )
            assert len(await agents_in(lkapi, room_name)) == 1
            assert await jobs_in(lkapi, room_name, shared_server.settings.agent_name) == 1
        finally:
            await candidate.disconnect()
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=room_name))


# ---- (e) the hiring team sees who is in the room ---------------------------------------------


async def test_presence_in_the_list_and_the_detail(
    start_token_server: TokenServerStarter, lkapi: api.LiveKitAPI
) -> None:
    name = agent_name()  # no worker: the candidate waits with no interviewer
    server = start_token_server(agent_name=name, **FAST)
    async with client(server) as http:
        created = await create(http)
        iid, room_name = created["interview"]["id"], created["room"]

        async def presence() -> tuple[Any, Any]:
            detail = (await http.get(f"/api/interviews/{iid}")).json()
            page = (await http.get("/api/interviews", params={"limit": 100})).json()
            [item] = [i for i in page["items"] if i["id"] == iid]
            return detail["presence"], item["presence"]

        assert await presence() == ({"candidate": False, "interviewer": False},) * 2
        candidate = await connect(await join(http, created["invite"]["secret"]))
        agent = rtc.Room()
        try:
            waiting = {"candidate": True, "interviewer": False}
            await eventually(
                lambda: _is(presence, (waiting, waiting)), "the candidate shown waiting"
            )
            agent_token = (
                api.AccessToken(lkapi.room.api_key, lkapi.room.api_secret)
                .with_identity("agent-presence-test")
                .with_kind("agent")
                .with_grants(api.VideoGrants(room_join=True, room=room_name, agent=True))
                .to_jwt()
            )
            await agent.connect(server.livekit.url, agent_token)
            both = {"candidate": True, "interviewer": True}
            await eventually(lambda: _is(presence, (both, both)), "the interviewer shown in")
        finally:
            await agent.disconnect()
            await candidate.disconnect()
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=room_name))


async def _is(probe: Callable[[], Awaitable[T]], expected: T) -> T | None:
    found = await probe()
    return found if found == expected else None


# ---- (f) the candidate page's arrival state, the bound and the retry -------------------------


async def test_the_arrival_state_goes_unavailable_and_a_retry_brings_the_interviewer(
    start_token_server: TokenServerStarter,
    start_worker: WorkerStarter,
    lkapi: api.LiveKitAPI,
) -> None:
    name = agent_name()
    server = start_token_server(
        agent_name=name, agent_arrival_timeout_s=4.0, agent_dispatch_grace_s=1.0
    )
    async with client(server) as http:
        created = await create(http)
        secret, room_name = created["invite"]["secret"], created["room"]
        grant = await join(http, secret)
        assert grant["interviewer"]["state"] in ("connecting", "retrying")
        candidate = await connect(grant)
        worker: Worker | None = None
        try:
            gone = await eventually(
                lambda: _state_is(http, secret, "unavailable"), "the bound being reached"
            )
            assert gone["attempts"] >= 2
            # Polling does not restart the loop by itself.
            assert (await arrival(http, secret))["state"] == "unavailable"
            worker = await asyncio.to_thread(start_worker, AGENT_NAME=name, **WORKER_ENV)
            again = await arrival(http, secret, retry=True)
            assert again["state"] in ("connecting", "present"), again
            await eventually(lambda: _state_is(http, secret, "present"), "the interviewer")
            assert len(await agents_in(lkapi, room_name)) == 1
        finally:
            await candidate.disconnect()
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=room_name))
            if worker is not None:
                worker.stop()


# ---- twenty interviews one after another on one worker ---------------------------------------


async def test_twenty_interviews_one_after_another_each_get_one_interviewer(
    shared_worker: Worker, shared_server: TokenServer, lkapi: api.LiveKitAPI
) -> None:
    name = shared_server.settings.agent_name
    counts: list[tuple[int, int]] = []
    async with client(shared_server) as http:
        for _ in range(20):
            created = await create(http)
            room_name, secret = created["room"], created["invite"]["secret"]
            candidate = await connect(await join(http, secret))
            try:
                await eventually(
                    lambda s=secret: _state_is(http, s, "present"),  # type: ignore[misc]
                    f"an interviewer for interview {len(counts) + 1}",
                    timeout=ARRIVAL_WAIT_S,
                )
                counts.append(
                    (len(await agents_in(lkapi, room_name)), await jobs_in(lkapi, room_name, name))
                )
            finally:
                await candidate.disconnect()
                await lkapi.room.delete_room(api.DeleteRoomRequest(room=room_name))
    assert counts == [(1, 1)] * 20
