"""The web client in headless Chromium against the real stack: token server (serving the
built client), LiveKit server, Supabase stack, the interviewer worker with the rehearsal model.

The candidate speaks through Chromium's fake microphone (a looping espeak-ng WAV); the words
the model "hears" for each committed turn come from the rehearsal scenario, keyed by the
candidate's name so the interviews of this module stay apart.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from playwright.async_api import expect

from interview.store import InterviewStatus
from interview.supabase_store import SupabaseStore
from tests.fixtures.agent import Worker, WorkerStarter
from tests.fixtures.token_server import TokenServer, agree_and_join
from tests.fixtures.web import (
    DESKTOP,
    SCORE,
    Recorder,
    agree_to_consent,
    chromium,
    create_interview,
    screenshot,
    sign_in,
)
from tests.fixtures.web import transcript_lines as lines
from token_server.consent import CONSENT_VERSION
from token_server.routes.join import DECLINED_SUMMARY

pytestmark = pytest.mark.e2e

VOICE_NAME = "Ada Browser"
TEXT_NAME = "Tex Typist"
ANSWERS = [
    "I would start with the logs and reproduce the failure first.",
    "I would add a failing test, then fix the cause.",
    "I would watch the error rate after the release.",
    "I would write down what we learned.",
    "I would ask the team what slowed them down.",
    "I would measure before and after the change.",
]
# More questions than the test lets the interviewer ask: the candidate ends it early.
QUESTIONS = len(ANSWERS)
WAIT = 90_000  # ms: bound for waits on the interviewer (it speaks in real time)


@pytest.fixture(scope="module")
def worker(start_worker: WorkerStarter, token_server: TokenServer) -> Worker:
    w = start_worker(
        questions=QUESTIONS,
        AGENT_NAME=token_server.settings.agent_name,
        # A candidate who leaves without the end call is marked abandoned quickly.
        RECONNECT_GRACE_S="3",
        SILENCE_CHECKIN_S="60",
        # Room for the interviews a test keeps waiting while another runs.
        AGENT_IDLE_PROCESSES="2",
    )
    w.realtime.set_scenario({"user_transcripts": ANSWERS})  # a browser's voice has no signature
    return w


async def test_a_spoken_interview_with_an_observer_and_no_scores_for_the_candidate(
    token_server: TokenServer, worker: Worker, fake_mic_wav: Path, tmp_path: Path
) -> None:
    # Created once: the interviewer is dispatched when the candidate joins, and again until one
    # is in the room.
    voice = await create_interview(
        token_server, candidate_name=VOICE_NAME, mode="practice", question_count=QUESTIONS
    )
    interview_id = voice["interview"]["id"]
    invite_url = voice["invite"]["url"]
    async with chromium(fake_mic_wav) as browser:
        # ---- the interviewer signs in, sees validation per field, creates an interview
        interviewer = await (await browser.new_context(viewport=DESKTOP)).new_page()
        await sign_in(interviewer, token_server, tmp_path)
        await interviewer.get_by_label("Duration (minutes)").fill("200")
        await interviewer.get_by_label("Language").fill("english")
        await interviewer.get_by_role("button", name="Create interview").click()
        for name in ("candidate_name", "role", "duration_minutes", "language"):
            await expect(interviewer.get_by_test_id(f"error-{name}")).to_be_visible()
        await expect(interviewer.get_by_label("Candidate name")).to_be_focused()
        await screenshot(interviewer, "interviewer-create-errors", tmp_path)

        await interviewer.get_by_label("Candidate name").fill("Grace Form")
        await interviewer.get_by_label("Role").fill("Data engineer")
        await interviewer.get_by_label("Level").select_option("senior")
        await interviewer.get_by_label("Type").select_option("mixed")
        await interviewer.get_by_label("Mode").select_option("screening")
        await interviewer.get_by_label("Duration (minutes)").fill("30")
        await interviewer.get_by_label("Questions").fill("4")
        await interviewer.get_by_label("Language").fill("en")
        await interviewer.get_by_label("Focus areas").fill("pipelines, SQL")
        await interviewer.get_by_role("button", name="Create interview").click()
        link = interviewer.get_by_label("Candidate link")
        await expect(link).to_have_value(re.compile(r"/join#[A-Za-z0-9_-]{20,}$"))
        async with httpx.AsyncClient(base_url=token_server.url) as c:
            joined = await agree_and_join(c, (await link.input_value()).split("#", 1)[1])
        assert joined.json()["interview"]["candidate_name"] == "Grace Form"
        assert joined.json()["interview"]["question_count"] == 4
        waiting = interviewer.get_by_test_id("group-waiting")
        await expect(waiting).to_contain_text("Grace Form")
        await expect(waiting).to_contain_text(VOICE_NAME)
        await screenshot(interviewer, "interviewer-dashboard", tmp_path)

        # ---- the observer page joins hidden before the candidate arrives
        await waiting.locator(f'a[href="/observe/{interview_id}"]').click()
        await interviewer.wait_for_url(f"**/observe/{interview_id}")
        await expect(interviewer.get_by_test_id("observer-status")).to_have_text(
            "Waiting for the candidate"
        )

        # ---- the candidate checks the microphone and joins
        candidate = await (await browser.new_context(viewport=DESKTOP)).new_page()
        recorder = await Recorder.attach(candidate)
        await candidate.goto(invite_url)
        await expect(candidate.get_by_test_id("candidate-name")).to_have_text(VOICE_NAME)
        await expect(candidate.get_by_label("Microphone", exact=True)).to_be_enabled()
        # The level meter follows the (looping) fake microphone once it speaks.
        await candidate.wait_for_function(
            "Number(document.querySelector('[data-testid=mic-level]')"
            ".getAttribute('aria-valuenow')) > 0",
            timeout=30_000,
        )
        await screenshot(candidate, "candidate-check", tmp_path)
        await agree_to_consent(candidate)
        await candidate.get_by_role("button", name=re.compile("join")).click()

        # ---- the interviewer speaks; both sides reach the transcript
        await expect(lines(candidate, "interviewer").first).to_be_visible(timeout=WAIT)
        await expect(lines(candidate, "candidate").first).to_contain_text(ANSWERS[0], timeout=WAIT)
        await expect(candidate.get_by_test_id("progress")).to_contain_text(f"of {QUESTIONS}")
        await expect(candidate.get_by_test_id("agent-state")).to_have_attribute(
            "data-state", re.compile("listening|thinking|speaking")
        )

        # ---- the observer sees the transcript, the question and the stored score
        await expect(interviewer.get_by_test_id("scores-1")).to_be_visible(timeout=WAIT)
        # The rehearsal scores from the answer (no longer a constant 3): a mean of four 1-5s.
        await expect(interviewer.get_by_test_id("scores-1").locator("strong")).to_have_text(
            re.compile(r"^[1-5]\.\d\d$")
        )
        await expect(lines(interviewer, "interviewer").first).to_be_visible()
        await expect(lines(interviewer, "candidate").first).to_contain_text(ANSWERS[0])
        await expect(interviewer.get_by_test_id("current-question")).to_contain_text(
            re.compile(r"[1-9]\. \w")
        )
        await expect(interviewer.get_by_test_id("observer-status")).to_have_text("Live")
        await screenshot(interviewer, "observer", tmp_path)
        await screenshot(candidate, "candidate-interview", tmp_path)

        # ---- the candidate ends the interview; practice feedback, words only
        await candidate.get_by_role("button", name="End interview").click()
        dialog = candidate.get_by_role("dialog", name="End the interview?")
        await expect(dialog).to_be_visible()
        await dialog.get_by_role("button", name="End now").click()
        await expect(candidate.get_by_test_id("end-screen")).to_be_visible(timeout=WAIT)
        feedback = candidate.get_by_test_id("feedback")
        await expect(feedback).to_contain_text("Rehearsal feedback", timeout=WAIT)
        await screenshot(candidate, "candidate-end", tmp_path)
        await expect(interviewer.get_by_test_id("observer-status")).to_have_text(
            re.compile("Completed|Abandoned"), timeout=WAIT
        )

        # ---- nothing the candidate's page received carries a score
        received = await recorder.everything()
        data_channel = await recorder.data_channel_messages()
        # The recorder saw the API answers, the signalling and the room's text streams...
        assert recorder.api_bodies.get("/api/join") and recorder.api_bodies.get(
            "/api/join/feedback"
        )
        assert recorder.ws_frames
        assert any(ANSWERS[0] in m for m in data_channel), "no transcript in the data channel"
        # ...and none of it mentions a score. The agent's session events (tool calls with
        # their arguments) would travel compressed on their own topic: none may arrive at all.
        leaks = [m[:200] for m in received if SCORE.search(m)]
        assert leaks == []
        assert not [m[:80] for m in data_channel if "lk.agent.session" in m]
        # The same check finds the scores in what the interviewer reads (the check can fail).
        async with httpx.AsyncClient(
            base_url=token_server.url, headers=token_server.auth_headers
        ) as c:
            detail = await c.get(f"/api/interviews/{interview_id}")
        assert SCORE.search(detail.text)


async def test_invite_problems_show_their_messages(
    token_server: TokenServer, worker: Worker, store: SupabaseStore, tmp_path: Path
) -> None:
    ended = await create_interview(token_server, candidate_name="Ended Candidate")
    store.record_status(
        UUID(ended["interview"]["id"]), InterviewStatus.cancelled, at=datetime.now(UTC)
    )
    assert await store.flush(5) == 0
    async with chromium(None, fake_media=False) as browser:
        page = await (await browser.new_context(viewport=DESKTOP)).new_page()
        problem = page.get_by_test_id("invite-problem")

        await page.goto(f"{token_server.url}/join#{'u' * 43}")
        await expect(problem).to_have_attribute("data-code", "invite_not_found")
        await expect(problem).to_contain_text("not valid")
        await screenshot(page, "candidate-invalid-invite", tmp_path)

        await page.goto(ended["invite"]["url"])
        await page.reload()  # a new fragment alone does not reload the page
        await expect(problem).to_have_attribute("data-code", "interview_ended")
        await expect(problem).to_contain_text("already ended")

        await page.goto(f"{token_server.url}/join")
        await expect(problem).to_have_attribute("data-code", "missing_secret")

        await page.route("**/api/join/session", lambda route: route.abort("connectionrefused"))
        await page.goto(ended["invite"]["url"])
        await page.reload()
        await expect(problem).to_have_attribute("data-code", "unreachable")
        await expect(problem).to_contain_text("be reached")
        await page.unroute("**/api/join/session")
        await page.get_by_role("button", name="Try again").click()
        await expect(problem).to_have_attribute("data-code", "interview_ended")


async def test_microphone_denied_then_a_text_interview(
    token_server: TokenServer, worker: Worker, tmp_path: Path
) -> None:
    created = await create_interview(token_server, candidate_name=TEXT_NAME)
    async with chromium(None, fake_media=False) as browser:
        context = await browser.new_context(viewport=DESKTOP)
        page = await context.new_page()
        await page.goto(created["invite"]["url"])
        problem = page.get_by_test_id("mic-problem")
        await expect(problem).to_contain_text("Microphone access is blocked")
        join = page.get_by_role("button", name=re.compile("join"))
        await expect(join).to_be_disabled()
        await screenshot(page, "candidate-mic-denied", tmp_path)

        await page.get_by_role("button", name="Continue with text chat").click()
        await agree_to_consent(page)
        await join.click()
        await expect(lines(page, "interviewer").first).to_be_visible(timeout=WAIT)
        await expect(page.get_by_test_id("mute")).to_have_count(0)
        await page.get_by_label("Your answer").fill("I would page the on-call engineer.")
        await page.get_by_role("button", name="Send").click()
        await expect(lines(page, "candidate").first).to_contain_text("on-call engineer")

        await page.get_by_role("button", name="End interview").click()
        await page.get_by_role("dialog").get_by_role("button", name="End now").click()
        end = page.get_by_test_id("end-screen")
        await expect(end).to_contain_text("hiring team will review", timeout=WAIT)
        await expect(end).not_to_contain_text("feedback")
        await screenshot(page, "candidate-end-screening", tmp_path)


async def test_the_candidate_reads_the_consent_and_declining_ends_it(
    token_server: TokenServer, fake_mic_wav: Path, tmp_path: Path
) -> None:
    created = await create_interview(token_server, candidate_name="Dee Clines")
    async with chromium(fake_mic_wav) as browser:
        context = await browser.new_context(viewport=DESKTOP)
        page = await context.new_page()
        recorder = await Recorder.attach(page)
        await page.goto(created["invite"]["url"])

        consent = page.get_by_test_id("consent")
        await expect(consent).to_have_attribute("data-version", CONSENT_VERSION)
        for words in ("AI interviewer", "transcript", "scored", "hiring team", "180 days"):
            await expect(consent).to_contain_text(words)
        # No PRIVACY_NOTICE_URL in the test server: no link, ask the hiring team instead.
        await expect(consent).to_contain_text("Ask the hiring team")
        await expect(page.get_by_test_id("privacy-notice")).to_have_count(0)

        await expect(page.get_by_label("Microphone", exact=True)).to_be_enabled()
        join = page.get_by_role("button", name=re.compile("join"))
        agree = page.get_by_role("checkbox", name=re.compile(r"^I agree"))
        await expect(agree).not_to_be_checked()
        await expect(join).to_be_disabled()
        await screenshot(page, "candidate-consent", tmp_path)
        # A real checkbox: the keyboard ticks and unticks it, and the join button follows.
        await agree.focus()
        await page.keyboard.press("Space")
        await expect(agree).to_be_checked()
        await expect(join).to_be_enabled()
        await page.keyboard.press("Space")
        await expect(join).to_be_disabled()
        # Opening the page and reading the text joined nothing and sent for no interviewer.
        await recorder.everything()
        assert "/api/join/session" in recorder.api_bodies
        assert "/api/join" not in recorder.api_bodies
        assert "/api/join/interviewer" not in recorder.api_bodies

        await page.get_by_role("button", name="I do not agree").click()
        declined = page.get_by_test_id("declined")
        await expect(declined).to_contain_text("will not take place")
        await expect(declined).to_contain_text("hiring team has been told")
        await screenshot(page, "candidate-declined", tmp_path)
        await page.reload()  # the invite stays declined
        await expect(declined).to_be_visible()
        await recorder.everything()
        assert "/api/join" not in recorder.api_bodies

        staff = await (await browser.new_context(viewport=DESKTOP)).new_page()
        await sign_in(staff, token_server)
        card = staff.get_by_test_id(f"card-{created['interview']['id']}")
        await expect(card).to_contain_text("cancelled")
        await expect(card.get_by_test_id("card-summary")).to_have_text(DECLINED_SUMMARY)
