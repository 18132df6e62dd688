"""Steers on the real LiveKit server and the real store: the server-API data packet reaches the
agent's identity and nobody else in the room (the candidate and a hidden observer record every
data packet they receive), and the stored state says what happened (`delivered`, or
`undelivered` when no agent is in the room).

The "agent" here is a participant connected with kind AGENT, as the worker's job is: what the
token server sees and addresses is the same. No worker runs in this module: with no agent in the
room, the candidate's arrival dispatches one that no worker takes, which is the case under test.

To know that a participant has received everything it will ever get from a steer, the test
then sends a marker packet through the same server API to everyone: the server's reliable
packets reach each participant in order, so once the marker is in, anything the steer sent
would be in too.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from livekit import api, rtc
from pydantic import SecretStr

from devstack import LiveKitServer, SupabaseStack
from devstack.proc import free_port
from interview.steering import STEER_TOPIC, decode_packet
from tests.fixtures.token_server import TokenServer, TokenServerStarter, agree_and_join
from tests.integration.test_token_server_livekit import PLAN, audit_kinds, eventually, rows
from token_server.auth import key_id

pytestmark = pytest.mark.integration

MARKER_TOPIC = "test.marker"
NOTE = "Ask about the migration they mentioned"


@dataclass
class Recorder:
    """A participant that keeps every data packet it receives."""

    room: rtc.Room = field(default_factory=rtc.Room)
    packets: list[rtc.DataPacket] = field(default_factory=list)
    got: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.room.on("data_received", self._on_data)

    def _on_data(self, packet: rtc.DataPacket) -> None:
        self.packets.append(packet)
        self.got.set()

    @property
    def identity(self) -> str:
        return self.room.local_participant.identity

    async def connect(self, url: str, token: str) -> Recorder:
        await self.room.connect(url, token, rtc.RoomOptions(auto_subscribe=False))
        return self

    async def wait_for(self, topic: str, count: int = 1, timeout: float = 10.0) -> None:
        async def enough() -> bool:
            return sum(p.topic == topic for p in self.packets) >= count

        await eventually(enough, f"{count} packet(s) on {topic} for {self.identity}", timeout)


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


@pytest.fixture
async def room_of(http: httpx.AsyncClient, lkapi: api.LiveKitAPI) -> AsyncIterator[list[Recorder]]:
    """Participants a test connects; disconnected, and the rooms deleted, afterwards."""
    connected: list[Recorder] = []
    yield connected
    for who in connected:
        await who.room.disconnect()
    for name in {who.room.name for who in connected}:
        with contextlib.suppress(api.ServerError):
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=name))


async def new_interview(http: httpx.AsyncClient) -> dict[str, Any]:
    resp = await http.post("/api/interviews", json=PLAN)
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()
    return created


async def candidate(http: httpx.AsyncClient, created: dict[str, Any]) -> Recorder:
    resp = await agree_and_join(http, created["invite"]["secret"], headers={"Authorization": ""})
    assert resp.status_code == 200, resp.text
    grant = resp.json()
    return await Recorder().connect(grant["livekit_url"], grant["token"])


async def observer(http: httpx.AsyncClient, created: dict[str, Any]) -> Recorder:
    resp = await http.post(f"/api/interviews/{created['interview']['id']}/observer-token")
    assert resp.status_code == 200, resp.text
    grant = resp.json()
    return await Recorder().connect(grant["livekit_url"], grant["token"])


async def fake_agent(server: TokenServer, room: str) -> Recorder:
    settings = server.settings
    token = (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret.get_secret_value())
        .with_identity(f"agent-{secrets.token_hex(4)}")
        .with_kind("agent")
        .with_grants(api.VideoGrants(room_join=True, room=room, can_subscribe=True))
        .with_ttl(timedelta(minutes=5))
        .to_jwt()
    )
    return await Recorder().connect(settings.livekit_url, token)


async def send_marker(lkapi: api.LiveKitAPI, room: str, to: list[Recorder]) -> None:
    await lkapi.room.send_data(
        api.SendDataRequest(
            room=room,
            data=b"marker",
            kind=api.DataPacket.Kind.RELIABLE,
            topic=MARKER_TOPIC,
            destination_identities=[r.identity for r in to],
        )
    )
    for r in to:
        await r.wait_for(MARKER_TOPIC)


def topics(recorder: Recorder) -> list[str | None]:
    return [p.topic for p in recorder.packets]


async def stored_steers(supabase: SupabaseStack, interview_id: str) -> list[dict[str, Any]]:
    return await rows(
        supabase,
        "steers",
        interview_id=f"eq.{interview_id}",
        select="id,kind,text,state,sent_by,sent_by_name",
        order="created_at",
    )


async def test_a_steer_reaches_the_agent_alone(
    token_server: TokenServer,
    http: httpx.AsyncClient,
    lkapi: api.LiveKitAPI,
    supabase_stack: SupabaseStack,
    room_of: list[Recorder],
) -> None:
    created = await new_interview(http)
    iid, room = created["interview"]["id"], created["room"]
    agent = await fake_agent(token_server, room)
    room_of.append(agent)
    room_of.append(await candidate(http, created))
    room_of.append(await observer(http, created))
    _, cand, obs = room_of

    resp = await http.post(
        f"/api/interviews/{iid}/steers",
        json={"kind": "note", "text": NOTE, "observer_name": "Dana"},
    )
    assert resp.status_code == 202, resp.text
    steer = resp.json()
    assert steer["state"] == "delivered"
    # A retry with an Idempotency-Key is the same steer, and is not sent twice.
    once = [
        await http.post(
            f"/api/interviews/{iid}/steers", json={"kind": "pause"}, headers={"Idempotency-Key": k}
        )
        for k in ("pause-1", "pause-1")
    ]
    assert [r.status_code for r in once] == [202, 202], once[0].text
    assert once[0].json()["id"] == once[1].json()["id"]

    await agent.wait_for(STEER_TOPIC, count=2)
    await send_marker(lkapi, room, [agent, cand, obs])

    # The agent: exactly the two steers, from the server (no participant), on the steer topic.
    assert topics(agent) == [STEER_TOPIC, STEER_TOPIC, MARKER_TOPIC]
    first, second = (decode_packet(p.data) for p in agent.packets[:2])
    assert all(p.participant is None for p in agent.packets)
    assert agent.packets[0].kind == rtc.DataPacketKind.KIND_RELIABLE
    assert (str(first.id), str(first.interview_id)) == (steer["id"], iid)
    assert (first.kind, first.text) == ("note", NOTE)
    assert (str(second.id), second.kind, second.text) == (once[0].json()["id"], "pause", None)
    # The candidate and the observer: nothing but the marker.
    assert topics(cand) == [MARKER_TOPIC]
    assert topics(obs) == [MARKER_TOPIC]

    stored = await stored_steers(supabase_stack, iid)
    assert [(s["id"], s["kind"], s["state"]) for s in stored] == [
        (steer["id"], "note", "delivered"),
        (once[0].json()["id"], "pause", "delivered"),
    ]
    assert stored[0]["text"] == NOTE
    assert (stored[0]["sent_by"], stored[0]["sent_by_name"]) == (
        key_id(token_server.api_key),
        "Dana",
    )
    listed = (await http.get(f"/api/interviews/{iid}/steers")).json()
    assert [(s["id"], s["state"]) for s in listed] == [(s["id"], s["state"]) for s in stored]

    async def audited() -> list[dict[str, Any]]:
        found = [a for a in await audit_kinds(supabase_stack, iid) if a["kind"] == "steer_sent"]
        return found if len(found) >= 2 else []

    sent = await eventually(audited, "the steers' audit events", timeout=10)
    assert sorted(a["dedupe_key"] for a in sent) == sorted(f"steer_sent:{s['id']}" for s in stored)
    assert all(set(a["detail"]) == {"principal", "kind", "steer_id"} for a in sent)
    assert NOTE not in repr(sent)


async def test_with_no_agent_in_the_room_a_steer_is_undelivered_and_sent_to_nobody(
    http: httpx.AsyncClient,
    lkapi: api.LiveKitAPI,
    supabase_stack: SupabaseStack,
    room_of: list[Recorder],
) -> None:
    created = await new_interview(http)
    iid, room = created["interview"]["id"], created["room"]
    room_of.append(await candidate(http, created))
    room_of.append(await observer(http, created))
    cand, obs = room_of

    # Refusals first: nothing of them is stored.
    for bad in (
        {"kind": "note"},
        {"kind": "next", "text": "x"},
        {"kind": "note", "text": "x" * 501},
    ):
        refused = await http.post(f"/api/interviews/{iid}/steers", json=bad)
        assert refused.status_code == 422, refused.text
    unknown = await http.post(
        f"/api/interviews/{iid}/steers",
        json={"kind": "end"},
        headers={"Authorization": "Bearer " + "k" * 40},
    )
    assert unknown.status_code == 401, unknown.text

    resp = await http.post(f"/api/interviews/{iid}/steers", json={"kind": "end"})
    assert resp.status_code == 202, resp.text
    assert resp.json()["state"] == "undelivered"
    # LiveKit reads an empty destination list as "everyone": the candidate must get nothing.
    await send_marker(lkapi, room, [cand, obs])
    assert topics(cand) == [MARKER_TOPIC]
    assert topics(obs) == [MARKER_TOPIC]

    stored = await stored_steers(supabase_stack, iid)
    assert [(s["id"], s["kind"], s["state"]) for s in stored] == [
        (resp.json()["id"], "end", "undelivered")
    ]

    async def audited() -> list[dict[str, Any]]:
        return [a for a in await audit_kinds(supabase_stack, iid) if a["kind"] == "steer_sent"]

    [sent] = await eventually(audited, "the steer's audit event", timeout=10)
    assert sent["dedupe_key"] == f"steer_sent:{resp.json()['id']}"


async def test_a_steer_stored_while_livekit_did_not_answer_is_sent_by_its_retry(
    token_server: TokenServer,
    start_token_server: TokenServerStarter,
    http: httpx.AsyncClient,
    lkapi: api.LiveKitAPI,
    supabase_stack: SupabaseStack,
    room_of: list[Recorder],
) -> None:
    """A replica whose LiveKit does not answer stores the steer (pending) and says 503; the
    client's retry with the same Idempotency-Key (here to a healthy replica) sends that steer,
    not a second one."""
    cut_off = start_token_server(
        interviewer_api_keys=SecretStr(token_server.api_key),
        livekit_url=f"ws://127.0.0.1:{free_port()}",  # nothing listens there
        livekit_timeout_seconds=1.0,
    )
    created = await new_interview(http)
    iid, room = created["interview"]["id"], created["room"]
    agent = await fake_agent(token_server, room)
    room_of.append(agent)
    body = {"kind": "note", "text": NOTE}
    key = {"Idempotency-Key": secrets.token_hex(8)}

    async with httpx.AsyncClient(
        base_url=cut_off.url, headers=token_server.auth_headers, timeout=20
    ) as other:
        first = await other.post(f"/api/interviews/{iid}/steers", json=body, headers=key)
    assert first.status_code == 503, first.text
    assert first.json()["error"]["code"] == "livekit_unavailable"
    steer_id = first.json()["error"]["details"]["steer_id"]
    assert [s["state"] for s in await stored_steers(supabase_stack, iid)] == ["pending"]

    retry = await http.post(f"/api/interviews/{iid}/steers", json=body, headers=key)
    assert retry.status_code == 202, retry.text
    assert (retry.json()["id"], retry.json()["state"]) == (steer_id, "delivered")
    await agent.wait_for(STEER_TOPIC)
    await send_marker(lkapi, room, [agent])
    assert topics(agent) == [STEER_TOPIC, MARKER_TOPIC]
    assert str(decode_packet(agent.packets[0].data).id) == steer_id
    assert [(s["id"], s["state"]) for s in await stored_steers(supabase_stack, iid)] == [
        (steer_id, "delivered")
    ]

    async def audited() -> list[dict[str, Any]]:
        return [a for a in await audit_kinds(supabase_stack, iid) if a["kind"] == "steer_sent"]

    # Both replicas audited it under one key, which the database keeps once.
    assert [a["dedupe_key"] for a in await eventually(audited, "the audit", 10)] == [
        f"steer_sent:{steer_id}"
    ]
