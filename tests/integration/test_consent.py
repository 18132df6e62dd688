"""The candidate's consent on the real token server, store (Postgres + PostgREST) and LiveKit:
a join without an agreement is refused and dispatches no agent, an agreement is stored with its
text version and then the join works, and a decline refuses the join and shows in the list."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
from livekit import api

from devstack import LiveKitServer, SupabaseStack
from tests.fixtures.token_server import CONSENT_PATH, TokenServer, agree_and_join, consent_body
from token_server.consent import CONSENT_VERSION
from token_server.routes.join import DECLINED_SUMMARY

pytestmark = pytest.mark.integration

PLAN: dict[str, Any] = {
    "candidate_name": "Conrad Consent",
    "role": "Data engineer",
    "level": "mid",
    "type": "technical",
    "mode": "screening",
    "duration_minutes": 10,
    "question_count": 1,
    "focus_areas": [],
    "language": "en",
}
CANDIDATE = {"Authorization": ""}  # the candidate has the secret only

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], what: str, timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture
async def http(token_server: TokenServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=token_server.url, headers=token_server.auth_headers, timeout=20
    ) as client:
        yield client


@pytest.fixture
async def lkapi(livekit_server: LiveKitServer) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(livekit_server.url, livekit_server.api_key, livekit_server.api_secret)
    yield client
    await client.aclose()


async def create(http: httpx.AsyncClient, rooms: list[str]) -> dict[str, Any]:
    resp = await http.post("/api/interviews", json=PLAN)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    rooms.append(body["room"])
    return body


@pytest.fixture
async def rooms(lkapi: api.LiveKitAPI) -> AsyncIterator[list[str]]:
    """Rooms the test made: deleted after it, so no arrival or agent outlives it."""
    made: list[str] = []
    yield made
    for room in made:
        with contextlib.suppress(api.ServerError):
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=room))


async def stored(supabase: SupabaseStack, table: str, **filters: str) -> list[dict[str, Any]]:
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


async def audits(supabase: SupabaseStack, iid: str) -> list[str]:
    found = await stored(
        supabase, "audit_events", interview_id=f"eq.{iid}", select="kind", order="occurred_at"
    )
    return [a["kind"] for a in found]


async def test_no_join_and_no_agent_without_an_agreement_then_the_agreement_lets_it_join(
    token_server: TokenServer,
    http: httpx.AsyncClient,
    lkapi: api.LiveKitAPI,
    supabase_stack: SupabaseStack,
    rooms: list[str],
) -> None:
    created = await create(http, rooms)
    iid, room, secret = created["interview"]["id"], created["room"], created["invite"]["secret"]

    async def ours() -> list[api.AgentDispatch]:
        dispatches = await lkapi.agent_dispatch.list_dispatch(room)
        return [d for d in dispatches if d.agent_name == token_server.settings.agent_name]

    refused = await http.post("/api/join", json={"secret": secret}, headers=CANDIDATE)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "consent_required"
    polled = await http.post("/api/join/interviewer", json={"secret": secret}, headers=CANDIDATE)
    assert polled.status_code == 403 and polled.json()["error"]["code"] == "consent_required"
    assert await ours() == []
    assert await stored(supabase_stack, "consents", interview_id=f"eq.{iid}") == []
    assert "candidate_token" not in await audits(supabase_stack, iid)

    # The page's read before joining sends the text it shows, and dispatches nothing either.
    session = await http.post("/api/join/session", json={"secret": secret}, headers=CANDIDATE)
    assert session.status_code == 200, session.text
    assert session.json()["consent"]["version"] == CONSENT_VERSION
    assert session.json()["agreed"] is False
    assert await ours() == []

    joined = await agree_and_join(http, secret, headers=CANDIDATE)
    assert joined.status_code == 200, joined.text
    assert joined.json()["token"]
    [consent] = await stored(supabase_stack, "consents", interview_id=f"eq.{iid}")
    assert consent["decision"] == "agreed"
    assert consent["text_version"] == CONSENT_VERSION
    assert set(consent) == {"interview_id", "decision", "text_version", "decided_at"}
    assert await eventually(ours, "the interviewer's dispatch once the candidate agreed")

    async def given() -> bool:
        return "consent_given" in await audits(supabase_stack, iid)

    await eventually(given, "the consent_given audit event")
    # Agreeing again (a reload) changes nothing: one row, one audit event.
    again = await http.post(CONSENT_PATH, json=consent_body(secret), headers=CANDIDATE)
    assert again.status_code == 200 and again.json()["decided_at"]
    assert len(await stored(supabase_stack, "consents", interview_id=f"eq.{iid}")) == 1
    assert (await audits(supabase_stack, iid)).count("consent_given") == 1


async def test_a_decline_refuses_the_join_and_the_list_shows_it(
    token_server: TokenServer,
    http: httpx.AsyncClient,
    lkapi: api.LiveKitAPI,
    supabase_stack: SupabaseStack,
    rooms: list[str],
) -> None:
    created = await create(http, rooms)
    iid, room, secret = created["interview"]["id"], created["room"], created["invite"]["secret"]

    declined = await http.post(
        CONSENT_PATH, json=consent_body(secret, "decline"), headers=CANDIDATE
    )
    assert declined.status_code == 200, declined.text
    [consent] = await stored(supabase_stack, "consents", interview_id=f"eq.{iid}")
    assert consent["decision"] == "declined" and consent["text_version"] == CONSENT_VERSION

    joined = await http.post("/api/join", json={"secret": secret}, headers=CANDIDATE)
    assert joined.status_code == 410, joined.text
    assert joined.json()["error"]["code"] == "consent_declined"
    dispatches = await lkapi.agent_dispatch.list_dispatch(room)
    assert [d for d in dispatches if d.agent_name == token_server.settings.agent_name] == []

    async def listed() -> dict[str, Any] | None:
        page = (await http.get("/api/interviews", params={"status": "cancelled"})).json()
        found = [i for i in page["items"] if i["id"] == iid]
        return found[0] if found else None

    item = await eventually(listed, "the declined interview listed as cancelled")
    assert item["summary"] == DECLINED_SUMMARY
    assert (await audits(supabase_stack, iid)).count("consent_declined") == 1
