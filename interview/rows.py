"""Models <-> table rows, in one place.

Every mapping between the row models of `interview.store` and the columns of the migrations lives
here, and so does each write's natural key: the columns an upsert conflicts on, which is what
makes a retried or replayed write land once. Rows are JSON-ready dicts (UUIDs and times as
strings) because they travel through the SQLite outbox as JSON.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from interview.consent import Consent
from interview.contract import InterviewPlan
from interview.planning import InterviewDocuments, StoredPlan
from interview.review import NewReviewEvent, ReviewEvent
from interview.steering import Steer
from interview.store import (
    Answer,
    AskedQuestion,
    BankQuestion,
    Evaluation,
    EvaluationResult,
    Feedback,
    Interview,
    InterviewStatus,
    ListedInterview,
    NewInterview,
    Scores,
    Table,
    TranscriptEntry,
    TranscriptMessage,
    Usage,
)
from interview.writes import Op

Row = dict[str, Any]

# The unique key each queued write conflicts on (see the migrations).
NATURAL_KEYS: dict[Table, tuple[str, ...]] = {
    Table.interview_questions: ("interview_id", "ordinal"),
    Table.answers: ("interview_id", "ordinal"),
    Table.feedback: ("interview_id", "ordinal"),
    Table.transcript_messages: ("interview_id", "item_id"),
    Table.audit_events: ("event_id",),
    Table.interviews: ("id",),
}

# Which statuses each status write may replace (see `Store.record_status`): `live` only
# `waiting`; an end `waiting` or `live`; and the agent's own ends, `completed` and `failed`, also
# replace `abandoned`, which is only the token server's inference from the room closing (the
# agent deletes the room as it finishes, so LiveKit's room_finished webhook often lands first).
_NOT_ENDED = (InterviewStatus.waiting.value, InterviewStatus.live.value)
_STATUS_FROM: dict[InterviewStatus, tuple[str, ...]] = {
    InterviewStatus.waiting: (InterviewStatus.waiting.value,),
    InterviewStatus.live: (InterviewStatus.waiting.value,),
    InterviewStatus.completed: (*_NOT_ENDED, InterviewStatus.abandoned.value),
    InterviewStatus.failed: (*_NOT_ENDED, InterviewStatus.abandoned.value),
}


def replaceable_by(status: InterviewStatus) -> frozenset[InterviewStatus]:
    """The statuses a write of `status` replaces; any other current status stays."""
    return frozenset(InterviewStatus(s) for s in _STATUS_FROM.get(status, _NOT_ENDED))


# Namespace for audit event ids derived from a dedupe key.
_AUDIT_NAMESPACE = uuid.UUID("6f1c1e84-52b9-4d0e-9d55-4c1f1a2b7e31")

INTERVIEW_COLUMNS = (
    "id,org_id,owner_id,candidate_name,role,level,type,mode,status,duration_minutes,"
    "question_count,language,focus_areas,room_name,created_at,started_at,ended_at,summary,"
    "input_tokens,output_tokens,input_audio_tokens,output_audio_tokens,cost_usd,plan_id"
)
QUESTION_COLUMNS = (
    "interview_id,ordinal,bank_question_id,text,topic,difficulty,asked_at,ended_at,outcome,"
    "plan_item"
)
ANSWER_COLUMNS = "interview_id,ordinal,transcript,clarity,relevance,depth,accuracy,tags"
FEEDBACK_COLUMNS = "interview_id,ordinal,bullets"
BANK_COLUMNS = "id,role,level,type,topic,difficulty,text,strong_answer"
REVIEW_COLUMNS = (
    "id,event_id,interview_id,kind,ordinal,rubric,value,decision,text,reviewer,created_at"
)
LISTED_COLUMNS = f"{INTERVIEW_COLUMNS},decision,recommendation"
TRANSCRIPT_COLUMNS = "id,interview_id,item_id,speaker,text,started_at,ended_at,interrupted"
EVALUATION_COLUMNS = (
    "interview_id,state,attempts,claims,lease_owner,lease_until,model,input_tokens,"
    "output_tokens,cost_usd,error_code,report,created_at,started_at,finished_at"
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _str(value: UUID | None) -> str | None:
    return str(value) if value is not None else None


# ---- interviews ----------------------------------------------------------------------------


def new_interview_row(new: NewInterview) -> Row:
    plan = new.plan
    return {
        "id": str(new.id),
        "org_id": _str(new.org_id),
        "owner_id": _str(new.owner_id),
        "candidate_name": plan.candidate_name,
        "role": plan.role,
        "level": plan.level.value,
        "type": plan.type.value,
        "mode": plan.mode.value,
        "status": InterviewStatus.waiting.value,
        "duration_minutes": plan.duration_minutes,
        "question_count": plan.question_count,
        "language": plan.language,
        "focus_areas": list(plan.focus_areas),
        "room_name": new.room_name,
        "invite_hash": new.invite_hash,
    }


def interview_from_row(row: Row) -> Interview:
    plan = InterviewPlan(
        candidate_name=row["candidate_name"],
        role=row["role"],
        level=row["level"],
        type=row["type"],
        mode=row["mode"],
        duration_minutes=row["duration_minutes"],
        question_count=row["question_count"],
        focus_areas=row.get("focus_areas") or [],
        language=row["language"],
    )
    return Interview(
        id=row["id"],
        plan=plan,
        status=row["status"],
        room_name=row["room_name"],
        created_at=row["created_at"],
        started_at=row.get("started_at"),
        ended_at=row.get("ended_at"),
        summary=row.get("summary"),
        org_id=row.get("org_id"),
        owner_id=row.get("owner_id"),
        usage=Usage(
            input_tokens=row.get("input_tokens") or 0,
            output_tokens=row.get("output_tokens") or 0,
            input_audio_tokens=row.get("input_audio_tokens") or 0,
            output_audio_tokens=row.get("output_audio_tokens") or 0,
            cost_usd=float(row.get("cost_usd") or 0),
        ),
        plan_id=row.get("plan_id"),
    )


def status_op(
    interview_id: UUID, status: InterviewStatus, *, at: datetime, summary: str | None
) -> Op:
    row: Row = {"id": str(interview_id), "status": status.value}
    if status is InterviewStatus.live:
        row["started_at"] = at.isoformat()
    elif status.ended:
        row["ended_at"] = at.isoformat()
    if summary is not None:
        row["summary"] = summary
    return Op(
        table=Table.interviews.value,
        kind="update",
        row=row,
        key=NATURAL_KEYS[Table.interviews],
        only_from=_STATUS_FROM.get(status, _NOT_ENDED),
    )


def usage_op(interview_id: UUID, usage: Usage) -> Op:
    row: Row = {"id": str(interview_id), **usage.model_dump(mode="json")}
    return Op(
        table=Table.interviews.value, kind="update", row=row, key=NATURAL_KEYS[Table.interviews]
    )


# ---- questions, answers, feedback ----------------------------------------------------------


def question_op(question: AskedQuestion) -> Op:
    row: Row = {
        "interview_id": str(question.interview_id),
        "ordinal": question.ordinal,
        "bank_question_id": _str(question.bank_question_id),
        "text": question.text,
        "topic": question.topic,
        "difficulty": question.difficulty,
        "asked_at": question.asked_at.isoformat(),
        "ended_at": _iso(question.ended_at),
        "outcome": question.outcome.value,
        "plan_item": question.plan_item,
    }
    return Op(
        table=Table.interview_questions.value,
        kind="upsert",
        row=row,
        key=NATURAL_KEYS[Table.interview_questions],
    )


def question_from_row(row: Row) -> AskedQuestion:
    return AskedQuestion.model_validate(row)


def answer_op(answer: Answer) -> Op:
    scores = answer.scores
    row: Row = {
        "interview_id": str(answer.interview_id),
        "ordinal": answer.ordinal,
        "transcript": answer.transcript,
        "clarity": scores.clarity,
        "relevance": scores.relevance,
        "depth": scores.depth,
        "accuracy": scores.accuracy,
        "tags": list(answer.tags),
    }
    return Op(table=Table.answers.value, kind="upsert", row=row, key=NATURAL_KEYS[Table.answers])


def answer_from_row(row: Row) -> Answer:
    return Answer(
        interview_id=row["interview_id"],
        ordinal=row["ordinal"],
        transcript=row["transcript"],
        scores=Scores(
            clarity=row["clarity"],
            relevance=row["relevance"],
            depth=row["depth"],
            accuracy=row["accuracy"],
        ),
        tags=row.get("tags") or [],
    )


def feedback_op(feedback: Feedback) -> Op:
    row: Row = {
        "interview_id": str(feedback.interview_id),
        "ordinal": feedback.ordinal,
        "bullets": list(feedback.bullets),
    }
    return Op(table=Table.feedback.value, kind="upsert", row=row, key=NATURAL_KEYS[Table.feedback])


def feedback_from_row(row: Row) -> Feedback:
    return Feedback.model_validate(row)


# ---- transcript and audit ------------------------------------------------------------------


def transcript_op(message: TranscriptMessage) -> Op:
    row: Row = {
        "interview_id": str(message.interview_id),
        "item_id": message.item_id,
        "speaker": message.speaker.value,
        "text": message.text,
        "started_at": message.started_at.isoformat(),
        "ended_at": _iso(message.ended_at),
        "interrupted": message.interrupted,
    }
    return Op(
        table=Table.transcript_messages.value,
        kind="upsert",
        row=row,
        key=NATURAL_KEYS[Table.transcript_messages],
    )


def transcript_from_row(row: Row) -> TranscriptMessage:
    return TranscriptMessage.model_validate(row)


def transcript_entry_from_row(row: Row) -> TranscriptEntry:
    return TranscriptEntry.model_validate(row)


# ---- evaluations ---------------------------------------------------------------------------


def evaluation_from_row(row: Row) -> Evaluation:
    values = dict(row)
    if values.get("cost_usd") is not None:
        values["cost_usd"] = float(values["cost_usd"])  # numeric arrives as text or a number
    return Evaluation.model_validate(values)


def evaluation_result_row(result: EvaluationResult, *, at: datetime) -> Row:
    """The columns a finished claim writes; the lease is released."""
    return {
        **result.model_dump(mode="json"),
        "lease_owner": None,
        "lease_until": None,
        "finished_at": at.isoformat(),
        "updated_at": at.isoformat(),
    }


def audit_event_id(kind: str, key: str | None) -> UUID:
    """With a dedupe key the id is derived from it, so the same event always has the same id;
    without one, each call is an event of its own."""
    if key is None:
        return uuid.uuid4()
    return uuid.uuid5(_AUDIT_NAMESPACE, f"{kind}\x00{key}")


def audit_op(
    kind: str,
    *,
    interview_id: UUID | None,
    detail: dict[str, object],
    key: str | None,
    at: datetime,
) -> Op:
    row: Row = {
        "event_id": str(audit_event_id(kind, key)),
        "dedupe_key": key,
        "interview_id": _str(interview_id),
        "kind": kind,
        # Detail values that JSON cannot carry (UUIDs, times) are stored as their text.
        "detail": json.loads(json.dumps(detail, default=str)),
        "occurred_at": at.isoformat(),
    }
    # The first record of an event wins: a replayed webhook does not rewrite history.
    return Op(
        table=Table.audit_events.value,
        kind="upsert",
        row=row,
        key=NATURAL_KEYS[Table.audit_events],
        merge=False,
    )


# ---- review ----------------------------------------------------------------------------------


def review_event_row(event: NewReviewEvent) -> Row:
    return {
        "event_id": str(event.event_id),
        "interview_id": str(event.interview_id),
        "kind": event.kind.value,
        "ordinal": event.ordinal,
        "rubric": event.rubric.value if event.rubric else None,
        "value": event.value,
        "decision": event.decision.value if event.decision else None,
        "text": event.text,
        "reviewer": event.reviewer,
    }


def review_event_from_row(row: Row) -> ReviewEvent:
    return ReviewEvent.model_validate({**row, "seq": row["id"]})


def listed_interview_from_row(row: Row) -> ListedInterview:
    interview = interview_from_row(row)
    return ListedInterview(
        **dict(interview),
        decision=row.get("decision"),
        recommendation=row.get("recommendation"),
    )


def like_literal(text: str) -> str:
    """`text` as a LIKE pattern that matches only itself: backslash (LIKE's default escape),
    `%` and `_` escaped. PostgREST also reads `*` as `%` in like/ilike and offers no escape for
    it, so a literal `*` becomes `_` (any one character): the one place the match is wider
    than the text."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "_")


def quoted_value(value: str) -> str:
    """A value for a PostgREST logic tree (`or=(...)`), double-quoted so that its commas, dots,
    colons and parentheses are data; backslash and double quote escaped inside the quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def contains_any(columns: tuple[str, ...], text: str) -> str:
    """The `or=` filter: any of `columns` contains `text`, case-insensitively and literally."""
    pattern = quoted_value(f"%{like_literal(text)}%")
    return ",".join(f"{column}.ilike.{pattern}" for column in columns)


# ---- the question bank ---------------------------------------------------------------------


def bank_question_from_row(row: Row) -> BankQuestion:
    return BankQuestion.model_validate(row)


# ---- steers and question plans --------------------------------------------------------------

STEER_COLUMNS = "id,interview_id,kind,text,sent_by,sent_by_name,state,detail,created_at,updated_at"
PLAN_COLUMNS = "id,interview_id,questions,role_summary,candidate_summary,drafted_by,created_at"


def steer_row(steer: Steer) -> Row:
    return {
        "id": str(steer.id),
        "interview_id": str(steer.interview_id),
        "kind": steer.kind.value,
        "text": steer.text,
        "sent_by": steer.sent_by,
        "sent_by_name": steer.sent_by_name,
        "state": steer.state.value,
        "detail": steer.detail,
    }


def steer_from_row(row: Row) -> Steer:
    return Steer.model_validate(row)


def plan_row(plan: StoredPlan) -> Row:
    return {
        "id": str(plan.id),
        "interview_id": str(plan.interview_id),
        "questions": [q.model_dump(mode="json") for q in plan.questions],
        "role_summary": plan.role_summary,
        "candidate_summary": plan.candidate_summary,
        "drafted_by": plan.drafted_by,
    }


def plan_from_row(row: Row) -> StoredPlan:
    return StoredPlan.model_validate(row)


def documents_row(interview_id: UUID, documents: InterviewDocuments) -> Row:
    return {"interview_id": str(interview_id), **documents.model_dump(mode="json")}


# ---- the candidate's consent ---------------------------------------------------------------

CONSENT_COLUMNS = "interview_id,decision,text_version,decided_at"


def consent_row(consent: Consent) -> Row:
    return {
        "interview_id": str(consent.interview_id),
        "decision": consent.decision.value,
        "text_version": consent.text_version,
        "decided_at": consent.decided_at.isoformat(),
    }


def consent_from_row(row: Row) -> Consent:
    return Consent.model_validate(row)
