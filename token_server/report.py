"""The interview report: the stored record, the evaluation and the reviewers' work, in one body.

`build_report` reads nothing: it assembles what the route read (the interview's detail, its
evaluation row, the review state) into `Report`. The evaluation's checked scores
(`interview.evaluation.EvaluationReport` in `evaluations.report`) sit beside the interviewer's
live scores; before the evaluation has run, `scores` are all null and the outcome comes from the
stored question. `apply_review` is the one place reviewers' state changes the report: score
overrides (the effective value, and the overall means) and the review section.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from statistics import fmean
from uuid import UUID

from pydantic import ValidationError

from interview import review
from interview.evaluation import (
    RUBRICS,
    CheckedQuestion,
    EvaluationReport,
    Outcome,
    Rubric,
    Timeline,
)
from interview.store import (
    Evaluation,
    EvaluationState,
    InterviewDetail,
    QuestionOutcome,
    Store,
    TranscriptEntry,
)
from token_server.report_schemas import (
    Cost,
    Decision,
    EvaluationView,
    Evidence,
    HistoryEntry,
    LiveScores,
    Note,
    Overall,
    Report,
    ReportEvaluation,
    ReportInterview,
    ReportQuestion,
    Review,
    Score,
    ScoreOverride,
    Scores,
    TranscriptItem,
)

log = logging.getLogger("token_server.report")

_STORED_OUTCOME: dict[QuestionOutcome, Outcome] = {
    QuestionOutcome.answered: "answered",
    QuestionOutcome.skipped: "skipped",
    QuestionOutcome.skipped_by_interviewer: "skipped",
    QuestionOutcome.timed_out: "interrupted",
    QuestionOutcome.pending: "interrupted",
}

_STATE_VIEW: dict[EvaluationState, EvaluationView] = {
    EvaluationState.pending: "pending",
    EvaluationState.running: "running",
    EvaluationState.done: "done",
    EvaluationState.failed: "failed",
    EvaluationState.skipped: "not_applicable",
}


@dataclass(frozen=True)
class ReviewState:
    """What reviewers did to one interview: score overrides by (ordinal, rubric), notes, the
    decision and its history. Empty until the review part (overrides, notes, decisions) reads
    its tables in `load_review`."""

    overrides: dict[tuple[int, Rubric], ScoreOverride] = field(default_factory=dict)
    decision: Decision | None = None
    notes: list[Note] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)


async def load_review(store: Store, interview_id: UUID) -> ReviewState:
    """The interview's review state, from its review log (`interview.review`)."""
    log_state = review.ReviewState.from_events(await store.review_events(interview_id))
    decision = log_state.decision
    return ReviewState(
        overrides={
            (ordinal, rubric.value): ScoreOverride(
                value=o.value, reason=o.reason, reviewer=o.reviewer, at=o.at
            )
            for (ordinal, rubric), o in log_state.overrides.items()
        },
        decision=(
            Decision(
                value=decision.decision.value, reviewer=decision.reviewer, at=decision.created_at
            )
            if decision is not None and decision.decision is not None
            else None
        ),
        notes=[
            Note(text=n.text or "", reviewer=n.reviewer, at=n.created_at) for n in log_state.notes
        ],
        history=[
            HistoryEntry(
                kind=e.kind.value, detail=review.describe(e), reviewer=e.reviewer, at=e.created_at
            )
            for e in log_state.history
        ],
    )


def evaluation_report(evaluation: Evaluation | None) -> EvaluationReport | None:
    """The stored checked evaluation, or None (not done, or stored by a version we cannot
    read: logged, and the report shows the evaluation as it would before it ran)."""
    if evaluation is None or evaluation.state is not EvaluationState.done:
        return None
    try:
        return EvaluationReport.model_validate(evaluation.report)
    except ValidationError:
        log.error(
            "stored evaluation unreadable", extra={"interview_id": str(evaluation.interview_id)}
        )
        return None


def _evaluation_view(
    evaluation: Evaluation | None, checked: EvaluationReport | None
) -> ReportEvaluation:
    if evaluation is None:
        return ReportEvaluation(
            state="pending",
            model=None,
            attempts=0,
            finished_at=None,
            recommendation=None,
            strengths=[],
            concerns=[],
            cost_usd=None,
        )
    return ReportEvaluation(
        state=_STATE_VIEW[evaluation.state],
        model=evaluation.model,
        attempts=evaluation.attempts,
        finished_at=evaluation.finished_at,
        recommendation=checked.recommendation if checked else None,
        strengths=list(checked.strengths) if checked else [],
        concerns=list(checked.concerns) if checked else [],
        cost_usd=evaluation.cost_usd,
    )


def _scores(checked: CheckedQuestion | None) -> Scores:
    values: dict[str, Score | None] = {}
    for rubric in RUBRICS:
        s = checked.score(rubric) if checked else None
        values[rubric] = (
            None
            if s is None
            else Score(value=s.value, reason=s.reason, supported=s.supported, effective=s.value)
        )
    return Scores(**values)


def overall(questions: list[ReportQuestion]) -> Overall:
    means: dict[str, float | None] = {}
    for rubric in RUBRICS:
        values = [s.effective for q in questions if (s := getattr(q.scores, rubric)) is not None]
        means[rubric] = round(fmean(values), 2) if values else None
    return Overall(**means)


def build_report(
    detail: InterviewDetail, evaluation: Evaluation | None, review: ReviewState
) -> Report:
    interview = detail.interview
    plan = interview.plan
    checked = evaluation_report(evaluation)
    by_ordinal = {q.ordinal: q for q in checked.questions} if checked else {}
    answers = {a.ordinal: a for a in detail.answers}
    feedback = {f.ordinal: f.bullets for f in detail.feedback if f.ordinal is not None}

    questions: list[ReportQuestion] = []
    for q in detail.questions:
        evaluated = by_ordinal.get(q.ordinal)
        answer = answers.get(q.ordinal)
        questions.append(
            ReportQuestion(
                ordinal=q.ordinal,
                text=q.text,
                topic=q.topic,
                outcome=evaluated.outcome if evaluated else _STORED_OUTCOME[q.outcome],
                live_scores=LiveScores(**answer.scores.model_dump()) if answer else None,
                scores=_scores(evaluated),
                evidence=[
                    Evidence(message_id=e.message_id, quote=e.quote, at_s=e.at_s)
                    for e in (evaluated.evidence if evaluated else [])
                ],
                answer_text=answer.transcript if answer else None,
                feedback=list(feedback.get(q.ordinal, [])),
            )
        )

    duration = (
        round((interview.ended_at - interview.started_at).total_seconds(), 1)
        if interview.started_at and interview.ended_at
        else None
    )
    report = Report(
        interview=ReportInterview(
            id=interview.id,
            candidate_name=plan.candidate_name,
            role=plan.role,
            level=plan.level,
            type=plan.type,
            mode=plan.mode,
            status=interview.status,
            created_at=interview.created_at,
            started_at=interview.started_at,
            ended_at=interview.ended_at,
            duration_s=duration,
            questions_planned=plan.question_count,
            questions_asked=len(detail.questions),
            summary=interview.summary,
        ),
        evaluation=_evaluation_view(evaluation, checked),
        overall=overall(questions),
        questions=questions,
        review=Review(),
        cost=Cost(
            interview_usd=interview.usage.cost_usd,
            evaluation_usd=evaluation.cost_usd if evaluation else None,
        ),
    )
    return apply_review(report, review)


def apply_review(report: Report, review: ReviewState) -> Report:
    """The report with the reviewers' state: each overridden score gets its override and the
    override's value as `effective`, the overall means follow, and the review section is set.
    A score the evaluation did not give cannot be overridden (there is nothing beside it)."""
    questions: list[ReportQuestion] = []
    for q in report.questions:
        updates: dict[str, Score | None] = {}
        for rubric in RUBRICS:
            score: Score | None = getattr(q.scores, rubric)
            override = review.overrides.get((q.ordinal, rubric))
            if score is not None:
                updates[rubric] = score.model_copy(
                    update={
                        "override": override,
                        "effective": override.value if override else score.value,
                    }
                )
            else:
                updates[rubric] = None
        questions.append(q.model_copy(update={"scores": Scores(**updates)}))
    return report.model_copy(
        update={
            "questions": questions,
            "overall": overall(questions),
            "review": Review(
                decision=review.decision, notes=list(review.notes), history=list(review.history)
            ),
        }
    )


def transcript_items(
    detail: InterviewDetail, entries: list[TranscriptEntry], origin_entry: TranscriptEntry | None
) -> list[TranscriptItem]:
    """Transcript rows for the API, timed from the interview start as the evaluation times
    them (`interview.evaluation.Timeline`; `origin_entry` is the interview's first message, so
    every page has the same origin)."""
    timeline = Timeline(detail.interview, detail.questions, [origin_entry] if origin_entry else [])
    return [
        TranscriptItem(
            id=e.id,
            speaker=e.speaker,
            text=e.text,
            at_s=timeline.at_s(e.started_at),
            started_at=e.started_at,
            interrupted=e.interrupted,
        )
        for e in entries
    ]
