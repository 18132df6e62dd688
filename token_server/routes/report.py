"""The interview report and the full transcript, for the hiring team (interviewer key only).

Neither is ever reachable with a candidate's invite, nor sent into the room.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from token_server.deps import Interviewer, ServicesDep
from token_server.errors import ApiError
from token_server.report import build_report, load_review, transcript_items
from token_server.report_schemas import Report, TranscriptPage
from token_server.schemas import error_responses

router = APIRouter(prefix="/api/interviews", tags=["reports"])


@router.get(
    "/{interview_id}/report",
    response_model=Report,
    responses=error_responses(401, 404, 422, 503),
)
async def get_report(interview_id: UUID, services: ServicesDep, who: Interviewer) -> Report:
    """The interview's report: its record, the evaluation after it (scores with reasons and
    verbatim quotes, checked), the interviewer's live scores beside them, the review and cost."""
    store = services.store
    detail = await store.interview_detail(interview_id)
    if detail is None:
        raise ApiError(404, "interview_not_found", "no interview with this id")
    evaluation = await store.get_evaluation(interview_id)
    review = await load_review(store, interview_id)
    return build_report(detail, evaluation, review)


@router.get(
    "/{interview_id}/transcript",
    response_model=TranscriptPage,
    responses=error_responses(401, 404, 422, 503),
)
async def get_transcript(
    interview_id: UUID,
    services: ServicesDep,
    who: Interviewer,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TranscriptPage:
    """Both sides of the conversation, oldest first, one page at a time; `at_s` is seconds from
    the interview start, as the report's quotes are timed."""
    store = services.store
    detail = await store.interview_detail(interview_id)
    if detail is None:
        raise ApiError(404, "interview_not_found", "no interview with this id")
    # One row more tells whether there is a next page.
    entries = await store.transcript_page(interview_id, limit=limit + 1, offset=offset)
    more = len(entries) > limit
    entries = entries[:limit]
    first = entries[0] if offset == 0 and entries else None
    if first is None and entries:
        found = await store.transcript_page(interview_id, limit=1, offset=0)
        first = found[0] if found else None
    return TranscriptPage(
        items=transcript_items(detail, entries, first),
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )
