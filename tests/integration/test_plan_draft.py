"""Drafting a plan on the real stack: the token server (uvicorn), the real store (Postgres +
PostgREST, the seeded bank) and the local server's text API answering the planner's real
`chat.completions.parse` calls. A résumé PDF made in the test, the team's custom questions first,
bad uploads refused naming the field with nothing written, and bad plans from the model
refused, retried, then 503.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from devstack import SupabaseStack
from interview.planning import MAX_RESUME_BYTES, PlanDraft
from realtime_local import RealtimeServer
from tests.fixtures.agent import rows
from tests.fixtures.documents import (
    corrupt_pdf,
    scanned_pdf,
    text_pdf,
    zip_named_docx,
)
from tests.fixtures.realtime import ServerFactory
from tests.fixtures.token_server import TokenServer, TokenServerStarter

pytestmark = pytest.mark.integration

JOB = (
    "Senior backend engineer. You will run our services on Kubernetes and own their Postgres "
    "databases; our services are written in Go."
)
CUSTOM = [
    {
        "text": "Why do you want to join our payments team?",
        "verbatim": True,
        "ideal_answer": "Knows what the team does; motivation tied to the work.",
        "time_limit_s": 120,
        "follow_up": "none",
    },
    {"text": "Tell us about a time you disagreed with a design review.", "follow_up": "one"},
]
SETTINGS = {
    "candidate_name": "Alex Example",
    "role": "Backend engineer",
    "level": "senior",
    "type": "technical",
    "mode": "screening",
    "duration_minutes": 30,
    "question_count": 6,
}


def planner_server(start: TokenServerStarter, local: RealtimeServer) -> TokenServer:
    return start(
        openai_base_url=local.base_url,
        openai_api_key=SecretStr("local-test-key"),
        rehearsal_model=True,
        planner_attempts=3,
        planner_retry_base_s=0.05,
        plan_draft_rate_per_minute=100_000,
        plan_draft_burst=10_000,
    )


async def post_draft(
    server: TokenServer,
    *,
    settings: object = SETTINGS,
    job_description: str | None = JOB,
    custom: object = CUSTOM,
    resume: tuple[str, bytes, str] | None = None,
) -> httpx.Response:
    data: dict[str, str] = {
        "settings": settings if isinstance(settings, str) else json.dumps(settings)
    }
    if job_description is not None:
        data["job_description"] = job_description
    if custom is not None:
        data["custom_questions"] = json.dumps(custom)
    files = {"resume": resume} if resume is not None else None
    async with httpx.AsyncClient(base_url=server.url, headers=server.auth_headers) as client:
        return await client.post("/api/interviews/plan-draft", data=data, files=files, timeout=30)


def plan_audits(stack: SupabaseStack) -> dict[str, int]:
    found = rows(
        stack,
        "select kind, count(*) from audit_events where kind like 'plan_draft%' group by kind",
    )
    return {kind: int(n) for kind, n in found}


async def audits_reach(stack: SupabaseStack, kind: str, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while plan_audits(stack).get(kind, 0) < count:
        assert time.monotonic() < deadline, f"{kind} audits never reached {count}"
        await asyncio.sleep(0.1)


def mentions(question: dict[str, Any], skill: str) -> bool:
    return bool(re.search(skill, f"{question['topic']} {question['text']}", re.IGNORECASE))


async def test_a_draft_puts_the_custom_questions_first_then_the_skills_of_the_job_and_resume(
    make_realtime_server: ServerFactory,
    start_token_server: TokenServerStarter,
    supabase_stack: SupabaseStack,
) -> None:
    local = await make_realtime_server(None)
    server = planner_server(start_token_server, local)
    before = plan_audits(supabase_stack).get("plan_drafted", 0)

    resp = await post_draft(server, resume=("resume.pdf", text_pdf(), "application/pdf"))

    assert resp.status_code == 200, resp.text
    body = resp.json()
    draft = PlanDraft.model_validate(body)
    questions = body["plan"]["questions"]
    assert len(questions) == SETTINGS["question_count"]
    assert [q["text"] for q in questions[:2]] == [c["text"] for c in CUSTOM]
    first = questions[0]
    assert (first["source"], first["verbatim"], first["time_limit_s"], first["follow_up"]) == (
        "custom",
        True,
        120,
        "none",
    )
    assert first["ideal_answer"] == CUSTOM[0]["ideal_answer"]
    assert questions[1]["follow_up"] == "one"
    rest = questions[2:]
    assert all(q["source"] in ("bank", "generated") for q in rest)
    for skill in (r"kubernetes", r"postgres", r"\bgo\b"):
        assert any(mentions(q, skill) for q in rest), f"no question on {skill}: {rest}"
    go = [q for q in rest if mentions(q, r"\bgo\b")]
    # The résumé says five years of Go: not asked how much Go they have.
    assert not any(re.search(r"how (much|many years|long)", q["text"], re.I) for q in go), go
    postgres = next(q for q in rest if mentions(q, "postgres"))
    assert postgres["source"] == "bank" and postgres["bank_question_id"]
    assert all(q["strong_answer"] for q in rest if q["source"] == "generated")
    assert draft.drafted_by == "offline"
    assert "Five years of Go" in draft.documents.resume_text
    assert draft.documents.resume_pages == 1
    assert draft.documents.job_description == JOB
    summary = body["plan"]["candidate_summary"] + body["plan"]["role_summary"]
    assert "Alex" not in summary and "@" not in summary
    await audits_reach(supabase_stack, "plan_drafted", before + 1)


BAD_INPUTS: list[tuple[str, dict[str, Any], int, str, str]] = [
    (
        "oversized upload",
        {"resume": ("big.txt", b"a" * (MAX_RESUME_BYTES + 10), "text/plain")},
        413,
        "resume_too_large",
        "resume",
    ),
    (
        "corrupt pdf",
        {"resume": ("cv.pdf", corrupt_pdf(), "application/pdf")},
        422,
        "resume_unreadable",
        "resume",
    ),
    (
        "scanned pdf",
        {"resume": ("scan.pdf", scanned_pdf(), "application/pdf")},
        422,
        "resume_no_text",
        "resume",
    ),
    (
        "too many pages",
        {"resume": ("long.pdf", text_pdf(pages=11), "application/pdf")},
        422,
        "resume_too_many_pages",
        "resume",
    ),
    (
        "a docx that is a zip of something else",
        {
            "resume": (
                "cv.docx",
                zip_named_docx(),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            )
        },
        422,
        "resume_unsupported_type",
        "resume",
    ),
    (
        "50 custom questions",
        {"custom": [{"text": f"Custom question number {n}?"} for n in range(50)]},
        422,
        "too_many_custom_questions",
        "custom_questions",
    ),
    (
        "more custom questions than the question count",
        {"custom": [{"text": f"Custom question number {n}?"} for n in range(7)]},
        422,
        "too_many_custom_questions",
        "custom_questions",
    ),
    (
        "a custom question too short",
        {"custom": [CUSTOM[0], {"text": "Why"}]},
        422,
        "invalid_custom_question",
        "custom_questions[1].text",
    ),
    ("bad settings JSON", {"settings": "{not json"}, 422, "invalid_settings", "settings"),
    (
        "a setting out of range",
        {"settings": {**SETTINGS, "question_count": 99}},
        422,
        "invalid_settings",
        "settings.question_count",
    ),
]


async def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    make_realtime_server: ServerFactory,
    start_token_server: TokenServerStarter,
    supabase_stack: SupabaseStack,
) -> None:
    local = await make_realtime_server(None)
    server = planner_server(start_token_server, local)
    before = plan_audits(supabase_stack)

    for name, kwargs, status, code, field in BAD_INPUTS:
        resp = await post_draft(server, **kwargs)
        assert resp.status_code == status, f"{name}: {resp.status_code} {resp.text[:300]}"
        error = resp.json()["error"]
        assert (error["code"], error["details"]["field"]) == (code, field), name
    assert local.text.calls == 0  # no bad input reached the model

    # A good draft after them: its audit is the only one written (the writes are in order).
    ok = await post_draft(server, custom=None)
    assert ok.status_code == 200, ok.text
    await audits_reach(supabase_stack, "plan_drafted", before.get("plan_drafted", 0) + 1)
    after = plan_audits(supabase_stack)
    assert after.get("plan_drafted", 0) == before.get("plan_drafted", 0) + 1
    assert after.get("plan_draft_failed", 0) == before.get("plan_draft_failed", 0)


async def test_a_bad_plan_from_the_model_is_refused_and_retried_then_503(
    make_realtime_server: ServerFactory,
    start_token_server: TokenServerStarter,
) -> None:
    local = await make_realtime_server(None)
    server = planner_server(start_token_server, local)

    # One answer a question short is refused; the retry's answer is used.
    local.faults.update({"text_failures": 1, "text_failure_kind": "plan_wrong_count"})
    calls = local.text.calls
    resp = await post_draft(server)
    assert resp.status_code == 200, resp.text
    assert local.text.calls - calls == 2
    assert [q["text"] for q in resp.json()["plan"]["questions"][:2]] == [c["text"] for c in CUSTOM]

    for kind, code in [
        ("plan_unknown_bank_id", "unknown_bank_id"),
        ("plan_custom_changed", "custom_changed"),
        ("plan_wrong_count", "wrong_count"),
    ]:
        local.faults.update({"text_failures": 3, "text_failure_kind": kind})
        calls = local.text.calls
        resp = await post_draft(server)
        assert resp.status_code == 503, f"{kind}: {resp.text}"
        error = resp.json()["error"]
        assert error["code"] == "planner_unavailable"
        assert error["details"] == {"attempts": 3, "codes": [code] * 3}
        assert local.text.calls - calls == 3
