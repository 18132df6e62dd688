"""Drafting an interview's question plan from the job description, the résumé and the team's
own questions: `POST /api/interviews/plan-draft` (multipart/form-data).

Nothing is stored: the team edits the draft and posts it with the interview. The request is
bounded before it is read (`PLAN_DRAFT_MAX_BODY_BYTES`, by the body-limit middleware), then
field by field: settings, job description, custom questions, then the résumé (the costly part,
in a thread). Every refusal names its field in `error.details.field`. A draft is audited once
(`plan_drafted`, counts only); a model that failed every attempt is audited
(`plan_draft_failed`, its codes) and answered 503 `planner_unavailable`, after which the page
offers to go on with the custom and bank questions only.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import TypeAdapter, ValidationError

from interview.contract import InterviewPlan
from interview.documents import DocumentError, ResumeText, extract_resume, safe_filename
from interview.planner import MAX_BANK_CANDIDATES, PlanInputError, PlannerUnavailable, check_request
from interview.planning import (
    MAX_CUSTOM_QUESTIONS,
    MAX_JOB_DESCRIPTION_CHARS,
    MAX_RESUME_BYTES,
    CustomQuestion,
    InterviewDocuments,
    PlanDraft,
    QuestionSource,
)
from token_server.deps import Interviewer, ServicesDep, enforce
from token_server.errors import ApiError
from token_server.schemas import error_responses

log = logging.getLogger("token_server.plan_draft")

router = APIRouter(prefix="/api/interviews", tags=["interviews"])

PATH = "/api/interviews/plan-draft"
EXTRACT_TIMEOUT_S = 20.0
_CUSTOM_ADAPTER: TypeAdapter[list[CustomQuestion]] = TypeAdapter(list[CustomQuestion])


def _refuse(status: int, code: str, message: str, field: str) -> ApiError:
    return ApiError(status, code, message, details={"field": field})


def _where(prefix: str, loc: tuple[Any, ...]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _first_error(exc: ValidationError, prefix: str) -> tuple[str, str]:
    err = exc.errors()[0]
    return _where(prefix, tuple(err.get("loc", ()))), str(err.get("msg", "invalid"))


def parse_settings(raw: str | None) -> InterviewPlan:
    if raw is None or not raw.strip():
        raise _refuse(422, "settings_missing", "the interview's settings are required", "settings")
    try:
        value = json.loads(raw)
    except ValueError:
        raise _refuse(422, "invalid_settings", "settings is not valid JSON", "settings") from None
    if not isinstance(value, dict):
        raise _refuse(422, "invalid_settings", "settings must be a JSON object", "settings")
    try:
        return InterviewPlan.model_validate(value)
    except ValidationError as exc:
        field, msg = _first_error(exc, "settings")
        raise _refuse(422, "invalid_settings", f"{field}: {msg}", field) from None


def parse_custom(raw: str | None) -> list[CustomQuestion]:
    if raw is None or not raw.strip():
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        raise _refuse(
            422,
            "invalid_custom_questions",
            "custom_questions is not valid JSON",
            "custom_questions",
        ) from None
    if not isinstance(value, list):
        raise _refuse(
            422,
            "invalid_custom_questions",
            "custom_questions must be a JSON array",
            "custom_questions",
        )
    if len(value) > MAX_CUSTOM_QUESTIONS:  # before validating each: the count is the problem
        raise _refuse(
            422,
            "too_many_custom_questions",
            f"{len(value)} custom questions; at most {MAX_CUSTOM_QUESTIONS}",
            "custom_questions",
        )
    try:
        return _CUSTOM_ADAPTER.validate_python(value)
    except ValidationError as exc:
        field, msg = _first_error(exc, "custom_questions")
        raise _refuse(422, "invalid_custom_question", f"{field}: {msg}", field) from None


async def read_resume(upload: UploadFile | None) -> tuple[ResumeText | None, str | None]:
    if upload is None:
        return None, None
    # One byte more than allowed tells "too large" without holding an unbounded upload.
    data = await upload.read(MAX_RESUME_BYTES + 1)
    if not data and not upload.filename:
        return None, None  # the form's empty file input
    try:
        # In a thread (parsing is CPU work), bounded: a crafted PDF may take very long.
        text = await asyncio.wait_for(asyncio.to_thread(extract_resume, data), EXTRACT_TIMEOUT_S)
    except DocumentError as exc:
        raise _refuse(exc.status, exc.code, exc.message, exc.field) from None
    except TimeoutError:
        raise _refuse(
            422, "resume_unreadable", "the résumé took too long to read", "resume"
        ) from None
    return text, safe_filename(upload.filename)


@router.post(
    "/plan-draft",
    response_model=PlanDraft,
    responses=error_responses(
        401,
        413,
        422,
        429,
        503,
        s413="The request or the résumé is too large (error.details.field)",
        s422="A field is invalid; error.details.field names it",
        s503="The text model failed after its retries (planner_unavailable)",
    ),
)
async def draft_plan(
    services: ServicesDep,
    who: Interviewer,
    settings: Annotated[
        str | None, Form(description="JSON of the interview's settings (InterviewPlan)")
    ] = None,
    job_description: Annotated[
        str | None, Form(description=f"Plain text, at most {MAX_JOB_DESCRIPTION_CHARS} chars")
    ] = None,
    custom_questions: Annotated[
        str | None,
        Form(description=f"JSON array of CustomQuestion, at most {MAX_CUSTOM_QUESTIONS}"),
    ] = None,
    resume: Annotated[
        UploadFile | None,
        File(description=f"PDF, DOCX or plain text, at most {MAX_RESUME_BYTES} bytes"),
    ] = None,
) -> PlanDraft:
    """Draft a question plan from the job description, the résumé and the team's questions:
    custom questions first, then questions tailored to both. Nothing is stored."""
    enforce(services.plan_limiter, who.id, "plan draft")
    plan = parse_settings(settings)
    jd = (job_description or "").strip()
    if len(jd) > MAX_JOB_DESCRIPTION_CHARS:
        raise _refuse(
            422,
            "job_description_too_long",
            f"the job description is over {MAX_JOB_DESCRIPTION_CHARS} characters",
            "job_description",
        )
    custom = parse_custom(custom_questions)
    try:
        warnings = check_request(plan, custom)
    except PlanInputError as exc:
        raise _refuse(422, exc.code, exc.message, exc.field) from None
    resume_text, filename = await read_resume(resume)
    if resume_text is not None:
        warnings.extend(resume_text.warnings)

    bank = await services.store.bank_candidates(
        role=plan.role, level=plan.level, type=plan.type, limit=MAX_BANK_CANDIDATES
    )
    planner = services.planner
    extra: dict[str, object] = {"principal": who.id, "drafted_by": planner.drafted_by}
    try:
        drafted = await planner.draft(
            plan,
            job_description=jd,
            resume_text=resume_text.text if resume_text else "",
            custom=custom,
            bank=bank,
        )
    except PlannerUnavailable as exc:
        services.store.audit(
            "plan_draft_failed",
            interview_id=None,
            detail={"principal": who.id, "attempts": len(exc.failures), "codes": exc.failures},
        )
        log.warning("plan draft failed", extra={**extra, "codes": exc.failures})
        raise ApiError(
            503,
            "planner_unavailable",
            "the text model did not give a usable plan; try again, or go on with the custom "
            "and bank questions",
            details={"attempts": len(exc.failures), "codes": exc.failures},
            headers={"Retry-After": "5"},
        ) from None

    questions = drafted.plan.questions
    counts = {source.value: sum(q.source is source for q in questions) for source in QuestionSource}
    services.store.audit(
        "plan_drafted",
        interview_id=None,
        detail={
            "principal": who.id,
            "drafted_by": planner.drafted_by,
            "questions": len(questions),
            **counts,
            "attempts": drafted.attempts,
            "job_description_chars": len(jd),
            "resume_kind": resume_text.kind if resume_text else None,
            "resume_pages": resume_text.pages if resume_text else None,
            "resume_chars": len(resume_text.text) if resume_text else 0,
            "warnings": len(warnings),
        },
    )
    log.info("plan drafted", extra={**extra, "questions": len(questions), **counts})
    return PlanDraft(
        plan=drafted.plan,
        documents=InterviewDocuments(
            job_description=jd,
            resume_text=resume_text.text if resume_text else "",
            resume_filename=filename if resume_text else None,
            resume_pages=resume_text.pages if resume_text else None,
        ),
        drafted_by=planner.drafted_by,
        warnings=warnings,
    )
