"""The create flow with a plan, in headless Chromium against the real stack: the token server
(serving the built client) drafts the plan with its text model pointed at the local server
(realtime_local's deterministic offline planner, the question bank in the real database), then
stores the confirmed plan with the interview.

The team writes a job description, uploads a résumé (a PDF made here with fpdf2) and one
question of its own; the drafted plan starts with that question; the team edits a question's
text, moves one, removes one and adds one, confirms, and gets the invite link; the stored plan
(`GET /api/interviews/{id}/plan`) holds exactly the edited questions in the edited order.

A refused résumé (a PDF with no text layer, as a scan is) shows the server's message next to
the résumé field, and nothing is created. No interview is run: the agent's side of plans has
tests of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fpdf import FPDF
from playwright.async_api import Locator, Page, Request, expect
from pydantic import SecretStr

from devstack.proc import free_port
from tests.fixtures.realtime import RealtimeProcess
from tests.fixtures.token_server import TokenServer, TokenServerStarter, agree_and_join
from tests.fixtures.web import DESKTOP, chromium, screenshot, sign_in

pytestmark = pytest.mark.e2e

PLANNED = 20_000  # ms: bound for the draft (the offline planner answers in well under a second)

JOB_DESCRIPTION = (
    "Platform engineer. You will run our Kubernetes clusters and the Postgres databases behind "
    "the payments API: upgrades without downtime, backups that are tested, capacity planning, "
    "and the on-call rota that keeps it all up."
)
RESUME_LINES = [
    "Pia Planner - backend engineer",
    "2020-2025: five years of Go at a logistics company: gRPC services, worker pools.",
    "Ran the team's Kubernetes deployments (Helm, rolling updates).",
    "Tuned Postgres queries and indexes for the shipments database.",
]
OWN_QUESTION = (
    "Walk us through the last production incident you led, from the first alert to the follow-up."
)
OWN_IDEAL = "Timeline, who was paged, how impact was measured, the blameless review, the fix."
EDITED = "How would you upgrade a Postgres major version on Kubernetes without downtime?"
ADDED = "What would you want to change first in our on-call rota, and why?"


def text_pdf(lines: list[str]) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for line in lines:
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def scanned_pdf() -> bytes:
    """A page of drawn shapes and no text layer, as a scanner's PDF is to a text extractor."""
    pdf = FPDF()
    pdf.add_page()
    for row in range(12):
        pdf.rect(20, 20 + row * 12, 120 + (row % 3) * 20, 4, style="F")
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def planning(
    start_token_server: TokenServerStarter, realtime_process: RealtimeProcess
) -> TokenServer:
    """A token server whose planner's text model is the local server."""
    realtime_process.reset()
    return start_token_server(
        openai_base_url=realtime_process.base_url,
        openai_api_key=SecretStr("local-test-key"),
        rehearsal_model=True,
    )


@pytest.fixture(scope="module")
def planner_down(start_token_server: TokenServerStarter) -> TokenServer:
    """A token server whose text model does not answer: a port on 127.0.0.1 nothing listens
    on, so every call is refused at once (one attempt: the 503 comes without waiting)."""
    return start_token_server(
        openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
        openai_api_key=SecretStr("local-test-key"),
        planner_attempts=1,
    )


async def fill_settings(page: Page, name: str) -> None:
    await page.get_by_label("Candidate name").fill(name)
    await page.get_by_label("Role", exact=True).fill("Platform engineer")
    await page.get_by_label("Level").select_option("senior")
    await page.get_by_label("Mode").select_option("screening")
    await page.get_by_label("Duration (minutes)").fill("25")
    await page.get_by_label("Questions", exact=True).fill("4")


async def plan_texts(page: Page) -> list[str]:
    return [t.strip() for t in await page.get_by_test_id("plan-text").all_text_contents()]


def item(page: Page, n: int) -> Locator:
    return page.get_by_test_id("plan-item").nth(n - 1)


async def test_create_with_a_job_description_a_resume_and_a_question_then_edit_the_plan(
    planning: TokenServer, tmp_path: Path
) -> None:
    async with chromium(None, fake_media=False) as browser:
        page = await (await browser.new_context(viewport=DESKTOP)).new_page()
        await sign_in(page, planning)
        await fill_settings(page, "Pia Planner")
        await page.get_by_label("Job description (optional)").fill(JOB_DESCRIPTION)
        await expect(page.get_by_test_id("jd-counter")).to_contain_text(
            f"{len(JOB_DESCRIPTION)} / 20,000"
        )
        resume = text_pdf(RESUME_LINES)
        await page.get_by_label("Résumé (optional)").set_input_files(
            files=[{"name": "pia-planner.pdf", "mimeType": "application/pdf", "buffer": resume}]
        )
        await expect(page.get_by_test_id("resume-chosen")).to_contain_text("pia-planner.pdf")
        # Without a job description, résumé or question the button creates at once; with one
        # it drafts a plan first.
        await page.get_by_role("button", name="Add a question of your own").click()
        own = page.get_by_role("group", name="Your question 1")
        await expect(own.get_by_label("Question", exact=True)).to_be_focused()
        await own.get_by_label("Question", exact=True).fill(OWN_QUESTION)
        await own.get_by_label("Read verbatim").check()
        await own.get_by_label("Ideal answer").fill(OWN_IDEAL)
        await own.get_by_label("min", exact=True).fill("2")
        await own.get_by_label("Follow-up").select_option("one")
        await screenshot(page, "create-plan-form", tmp_path)

        # ---- the draft: the team's question first, then questions for the role and candidate
        await page.get_by_role("button", name="Build the plan").click()
        editor = page.get_by_test_id("plan-editor")
        await expect(editor).to_be_visible(timeout=PLANNED)
        await expect(page.get_by_test_id("plan-item")).to_have_count(4)
        drafted = await plan_texts(page)
        assert drafted[0] == OWN_QUESTION, drafted
        first = item(page, 1)
        await expect(first).to_have_attribute("data-source", "custom")
        await expect(first).to_contain_text("Read verbatim")
        await expect(first).to_contain_text("2 min")
        await expect(first).to_contain_text("One follow-up at most")
        for n in (2, 3, 4):
            await expect(item(page, n)).to_have_attribute(
                "data-source", re.compile("bank|generated")
            )
        # The offline planner matched the skills the documents name.
        assert re.search(r"kubernetes|postgres|\bgo\b", " ".join(drafted[1:]), re.I), drafted
        await expect(page.get_by_test_id("plan-drafted-by")).to_have_attribute(
            "data-drafted-by", "offline"
        )
        await expect(page.get_by_label("The role, in short")).not_to_have_value("")
        await screenshot(page, "create-plan-editor", tmp_path)

        # ---- edit question 2's text, move question 3 up, remove question 4, add one
        await page.get_by_role("button", name="Edit question 2").click()
        await item(page, 2).get_by_label("Question", exact=True).fill(EDITED)
        await page.get_by_role("button", name="Save question 2").click()
        await expect(item(page, 2).get_by_test_id("plan-text")).to_have_text(EDITED)

        await page.get_by_role("button", name="Move question 3 up").click()
        # The focus follows the moved question, so the keyboard can keep moving it.
        await expect(page.get_by_role("button", name="Move question 2 up")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("button", name="Move question 1 up")).to_be_disabled()
        await page.get_by_role("button", name="Move question 1 down").click()
        await page.get_by_role("button", name="Remove question 4").click()

        await page.get_by_role("button", name="Add a question", exact=True).click()
        new = page.get_by_test_id("plan-add")
        await new.get_by_label("Question", exact=True).fill(ADDED)
        await new.get_by_label("Follow-up").select_option("none")
        await page.get_by_role("button", name="Add to the plan").click()

        expected = [OWN_QUESTION, drafted[2], EDITED, ADDED]
        assert await plan_texts(page) == expected
        await expect(page.get_by_test_id("plan-count")).to_contain_text("4 questions in 25")

        # ---- confirm: the invite link, and the plan as edited is the stored one
        await page.get_by_role("button", name="Confirm and create invite").click()
        link = page.get_by_label("Candidate link")
        await expect(link).to_have_value(re.compile(r"/join#[A-Za-z0-9_-]{20,}$"))
        await expect(editor).to_be_hidden()
        # The documents are personal data: the form holds none of them once the invite is out.
        await expect(page.get_by_label("Job description (optional)")).to_have_value("")
        watch = await page.get_by_role("link", name="Watch this interview").get_attribute("href")
        assert watch
        interview_id = watch.rsplit("/", 1)[1]
        invite = await link.input_value()

    async with httpx.AsyncClient(base_url=planning.url, headers=planning.auth_headers) as c:
        stored = (await c.get(f"/api/interviews/{interview_id}/plan")).raise_for_status().json()
        secret = invite.split("#", 1)[1]
        joined = (await agree_and_join(c, secret)).raise_for_status().json()
    assert [q["text"] for q in stored["questions"]] == expected
    own_q, moved, edited, added = stored["questions"]
    assert own_q["source"] == "custom"
    assert own_q["verbatim"] is True
    assert own_q["ideal_answer"] == OWN_IDEAL
    assert own_q["time_limit_s"] == 120
    assert own_q["follow_up"] == "one"
    assert moved["source"] in ("bank", "generated")
    assert edited["source"] in ("bank", "generated")
    assert added["source"] == "custom"
    assert added["follow_up"] == "none"
    assert stored["drafted_by"] == "offline"
    assert stored["role_summary"]
    # The count is the confirmed plan's; the duration is the one the team chose.
    assert joined["interview"]["question_count"] == 4
    assert joined["interview"]["duration_minutes"] == 25


async def test_a_refused_resume_then_the_planner_down_and_a_plan_the_team_writes(
    planner_down: TokenServer, tmp_path: Path
) -> None:
    name = "Sam Scanned"
    async with chromium(None, fake_media=False) as browser:
        page = await (await browser.new_context(viewport=DESKTOP)).new_page()
        posts: list[str] = []

        def on_request(r: Request) -> None:
            if r.method == "POST" and "/api/interviews" in r.url:
                posts.append(r.url.split("/api/", 1)[1])

        page.on("request", on_request)
        await sign_in(page, planner_down)
        await fill_settings(page, name)
        resume_field = page.get_by_label("Résumé (optional)")
        # A file the server does not read is refused before it is sent.
        await resume_field.set_input_files(
            files=[{"name": "photo.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n"}]
        )
        await expect(page.get_by_test_id("error-resume")).to_contain_text("PDF")
        await page.get_by_role("button", name="Build the plan").click()
        await expect(resume_field).to_be_focused()
        assert posts == []

        # A scan's PDF reaches the server, which finds no text in it (before any model call).
        await resume_field.set_input_files(
            files=[{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": scanned_pdf()}]
        )
        await expect(page.get_by_test_id("error-resume")).to_be_hidden()
        await page.get_by_role("button", name="Build the plan").click()
        error = page.get_by_test_id("error-resume")
        await expect(error).to_contain_text("no text layer", timeout=PLANNED)
        await expect(resume_field).to_have_attribute("aria-invalid", "true")
        await expect(resume_field).to_be_focused()
        await expect(page.get_by_test_id("plan-editor")).to_have_count(0)
        await expect(page.get_by_label("Candidate link")).to_have_count(0)
        await screenshot(page, "create-plan-resume-error", tmp_path)
        assert posts == ["interviews/plan-draft"]
        async with httpx.AsyncClient(
            base_url=planner_down.url, headers=planner_down.auth_headers
        ) as c:
            found = (await c.get("/api/interviews", params={"q": name})).raise_for_status()
        assert found.json()["items"] == []

        # ---- without the résumé, with a question of its own: the planner does not answer
        await page.get_by_role("button", name="Remove the résumé").click()
        await page.get_by_role("button", name="Add a question of your own").click()
        own = page.get_by_role("group", name="Your question 1")
        await own.get_by_label("Question", exact=True).fill(OWN_QUESTION)
        await page.get_by_role("button", name="Build the plan").click()
        down = page.get_by_test_id("planner-unavailable")
        await expect(down).to_be_visible(timeout=PLANNED)
        await page.get_by_role("button", name="Continue with my questions").click()
        await expect(page.get_by_test_id("plan-drafted-by")).to_have_attribute(
            "data-drafted-by", "manual"
        )
        assert await plan_texts(page) == [OWN_QUESTION]
        await page.get_by_role("button", name="Add a question", exact=True).click()
        await page.get_by_test_id("plan-add").get_by_label("Question", exact=True).fill(ADDED)
        await page.get_by_role("button", name="Add to the plan").click()
        await page.get_by_role("button", name="Confirm and create invite").click()
        await expect(page.get_by_label("Candidate link")).to_have_value(re.compile(r"/join#"))
        watch = await page.get_by_role("link", name="Watch this interview").get_attribute("href")
        assert watch

    async with httpx.AsyncClient(base_url=planner_down.url, headers=planner_down.auth_headers) as c:
        stored = await c.get(f"/api/interviews/{watch.rsplit('/', 1)[1]}/plan")
    assert [q["text"] for q in stored.raise_for_status().json()["questions"]] == [
        OWN_QUESTION,
        ADDED,
    ]
    assert stored.json()["drafted_by"] == "manual"
