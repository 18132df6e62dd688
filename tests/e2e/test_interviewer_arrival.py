"""The pages while the interviewer arrives, in headless Chromium against the real stack.

Each test runs a token server of its own (`start_token_server`) under an agent name no worker
serves until the test starts one, so the candidate is in the room with no interviewer for as
long as the test needs, and the server's arrival bounds are short. LiveKit's webhooks still go
to the session token server, which dispatches under its own agent name: no worker of this
module serves that name.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.fixtures.agent import WorkerStarter
from tests.fixtures.token_server import TokenServerStarter
from tests.fixtures.web import (
    DESKTOP,
    SCORE,
    Recorder,
    agree_to_consent,
    chromium,
    create_interview,
    screenshot,
    sign_in,
    transcript_lines,
)

pytestmark = pytest.mark.e2e

WAIT = 90_000  # ms: bound for waits on the interviewer (a worker starts, then it speaks)
# The server stops dispatching after this long without an interviewer in the room; between
# dispatches it waits for a worker to take the last one.
ARRIVAL_TIMEOUT_S = 20.0
DISPATCH_GRACE_S = 5.0
CONNECTING = "Connecting your interviewer…"
RETRYING = re.compile(r"^Still connecting your interviewer \(attempt [2-9]\d*\)…$")
WORKER_ENV = {"RECONNECT_GRACE_S": "3", "SILENCE_CHECKIN_S": "60"}


def agent_name() -> str:
    return f"arrival-web-{secrets.token_hex(3)}"


async def join_as_candidate(page: Page, invite_url: str) -> None:
    await page.goto(invite_url)
    await expect(page.get_by_label("Microphone", exact=True)).to_be_enabled()
    await agree_to_consent(page)
    await page.get_by_role("button", name=re.compile("join")).click()


async def test_the_candidate_is_told_the_interviewer_is_connecting_and_can_retry_when_none_came(
    start_token_server: TokenServerStarter,
    start_worker: WorkerStarter,
    fake_mic_wav: Path,
    tmp_path: Path,
) -> None:
    name = agent_name()
    server = start_token_server(
        agent_name=name,
        agent_arrival_timeout_s=ARRIVAL_TIMEOUT_S,
        agent_dispatch_grace_s=DISPATCH_GRACE_S,
    )
    created = await create_interview(server, candidate_name="Early Bird", mode="practice")
    async with chromium(fake_mic_wav) as browser:
        page = await (await browser.new_context(viewport=DESKTOP)).new_page()
        recorder = await Recorder.attach(page)
        await join_as_candidate(page, created["invite"]["url"])
        status = page.get_by_test_id("agent-state")

        # ---- no worker serves the name: connecting, then dispatched again
        await expect(status).to_have_text(CONNECTING)
        await expect(status).to_have_attribute("role", "status")
        await expect(page.get_by_text("Connecting to the interview room")).to_have_count(0)
        await screenshot(page, "candidate-connecting", tmp_path)
        await expect(status).to_have_text(RETRYING, timeout=WAIT)

        # ---- past the bound: a clear message and a way to try again
        unavailable = page.get_by_test_id("interviewer-unavailable")
        await expect(unavailable).to_be_visible(timeout=WAIT)
        await expect(unavailable).to_have_attribute("role", "alert")
        await expect(unavailable.get_by_role("heading")).to_have_text(
            re.compile(r"^We couldn.t connect your interviewer$")
        )
        await expect(status).to_have_text("No interviewer yet")
        await screenshot(page, "candidate-interviewer-unavailable", tmp_path)

        # ---- a worker comes up; the candidate tries again and the interviewer arrives
        await asyncio.to_thread(start_worker, AGENT_NAME=name, **WORKER_ENV)
        await unavailable.get_by_role("button", name="Try again").click()
        await expect(unavailable).to_have_count(0)
        await expect(transcript_lines(page, "interviewer").first).to_be_visible(timeout=WAIT)
        await expect(status).to_have_attribute(
            "data-state", re.compile("listening|thinking|speaking")
        )

        await page.get_by_role("button", name="End interview").click()
        await page.get_by_role("dialog").get_by_role("button", name="End now").click()
        await expect(page.get_by_test_id("end-screen")).to_be_visible(timeout=WAIT)

        # The arrival answers went through the recorder too; none of them, nor anything else
        # the page received, carries a score.
        received = await recorder.everything()
        arrivals = recorder.api_bodies.get("/api/join/interviewer", [])
        assert any('"unavailable"' in b for b in arrivals), arrivals
        assert [m[:200] for m in received if SCORE.search(m)] == []


async def test_the_dashboard_and_the_observer_say_the_candidate_waits_with_no_interviewer(
    start_token_server: TokenServerStarter, fake_mic_wav: Path, tmp_path: Path
) -> None:
    # Nobody serves this name during the test: the candidate waits alone throughout.
    server = start_token_server(agent_name=agent_name(), agent_arrival_timeout_s=300.0)
    alone = await create_interview(server, candidate_name="Lonely Candidate")
    await create_interview(server, candidate_name="Later Candidate")
    async with chromium(fake_mic_wav) as browser:
        candidate = await (await browser.new_context(viewport=DESKTOP)).new_page()
        await join_as_candidate(candidate, alone["invite"]["url"])
        # In the room: the page has stopped saying it is connecting to it.
        await expect(candidate.locator("main[data-phase=live]")).to_be_visible()
        await expect(candidate.get_by_text("Connecting to the interview room")).to_have_count(0)

        dashboard = await (await browser.new_context(viewport=DESKTOP)).new_page()
        await sign_in(dashboard, server)
        group = dashboard.get_by_test_id("group-candidate-waiting")
        # The list refreshes itself; Refresh only makes it sooner.
        await dashboard.get_by_role("button", name="Refresh").click()
        await expect(group).to_contain_text("Lonely Candidate", timeout=30_000)
        await expect(group.get_by_role("heading")).to_contain_text(
            "Candidate waiting — no interviewer yet"
        )
        await expect(group.locator(".status")).to_have_text("no interviewer")
        await expect(group).not_to_contain_text("Later Candidate")
        waiting = dashboard.get_by_test_id("group-waiting")
        await expect(waiting).to_contain_text("Later Candidate")
        await expect(waiting).not_to_contain_text("Lonely Candidate")
        await screenshot(dashboard, "interviewer-dashboard-candidate-waiting", tmp_path)

        await group.locator(f'a[href="/observe/{alone["interview"]["id"]}"]').click()
        status = dashboard.get_by_test_id("observer-status")
        await expect(status).to_have_text("Candidate waiting, no interviewer yet")
        live_room = dashboard.get_by_role("region", name="Live room")
        await expect(live_room).to_have_attribute("data-connection", "connected")
        # Joined, the page reads presence from the room itself; it still says so.
        await expect(status).to_have_text("Candidate waiting, no interviewer yet")
        await screenshot(dashboard, "observer-candidate-waiting", tmp_path)

        await expect(candidate.get_by_test_id("agent-state")).to_have_text(
            re.compile(r"^(Still c|C)onnecting your interviewer")
        )

        # The candidate leaves: the interview is back to waiting for the candidate.
        await candidate.close()
        await expect(status).to_have_text("Waiting for the candidate", timeout=30_000)
