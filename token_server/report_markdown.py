"""The interview report as a Markdown document (the `report.md` download).

A pure function of the report JSON (`token_server.report_schemas.Report`) and the transcript,
so what the page shows and what the file says cannot drift apart. Everything a person typed or
said (names, answers, quotes, notes, reasons) is escaped: it reads as text in any Markdown
viewer, never as markup, links or HTML.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime

from token_server.report_schemas import Report, ReportQuestion, Score, TranscriptItem

RUBRICS = ("clarity", "relevance", "depth", "accuracy")

_RECOMMENDATIONS = {
    "strong_yes": "Strong yes",
    "yes": "Yes",
    "no": "No",
    "strong_no": "Strong no",
    "insufficient_evidence": "Insufficient evidence",
}
_OUTCOMES = {
    "answered": "answered",
    "partial": "partially answered",
    "skipped": "skipped",
    "not_asked": "not asked",
    "interrupted": "interrupted",
}

# Characters that start markup anywhere in a line (CommonMark lets any ASCII punctuation be
# backslash-escaped, so escaping these is always safe).
_INLINE = re.compile(r"([\\`*_\[\]<>|~#&!])")
# What starts a block at the beginning of a line: a list item or thematic break, a heading
# underline, a numbered item (escaped after its digits: "1\\.").
_LINE_START = re.compile(r"^(\s*|\s*\d+)([-+=]|(?<=\d)[.)])")


def escape(text: str) -> str:
    """Free text on one line (a table cell, a list item): markup escaped, line breaks folded."""
    one_line = " ".join(text.split())
    return _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", one_line))


def escape_block(text: str) -> list[str]:
    """Free text that keeps its lines (an answer, a summary), each line escaped."""
    lines = [line.strip() for line in text.strip().splitlines()]
    return [_LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", line)) for line in lines]


def safe_filename(candidate_name: str, *, prefix: str = "interview-report") -> str:
    """An ASCII file name from the candidate's name: accents dropped, anything else that is
    not a letter or digit a dash, bounded; a header-safe `Content-Disposition` value."""
    ascii_name = unicodedata.normalize("NFKD", candidate_name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-").lower()[:60].strip("-")
    return f"{prefix}-{slug}.md" if slug else f"{prefix}.md"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(max(0, round(seconds)), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at is not None else "-"


def _usd(value: float | None) -> str:
    return f"${value:.4f}" if value is not None else "-"


def _mean(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def _score_row(rubric: str, score: Score | None, live: int | None) -> str:
    live_cell = str(live) if live is not None else "-"
    if score is None:
        return f"| {rubric.title()} | - | - | - | {live_cell} | not scored |"
    override = score.override
    override_cell = (
        f"{override.value} ({escape(override.reviewer)}: {escape(override.reason)})"
        if override is not None
        else "-"
    )
    support = "" if score.supported else " (unsupported: no quote found)"
    return (
        f"| {rubric.title()} | {score.value} | {override_cell} | {score.effective} | "
        f"{live_cell} | {escape(score.reason)}{support} |"
    )


def _question(question: ReportQuestion) -> list[str]:
    out = [
        f"### Q{question.ordinal}. {escape(question.text)}",
        "",
        f"Topic: {escape(question.topic)} · Outcome: "
        f"{_OUTCOMES.get(question.outcome, question.outcome)}",
        "",
        "| Rubric | Evaluation | Override | Effective | Live | Reason |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    live = question.live_scores
    for rubric in RUBRICS:
        score: Score | None = getattr(question.scores, rubric)
        out.append(_score_row(rubric, score, getattr(live, rubric) if live else None))
    out.append("")
    if question.evidence:
        out.append("Evidence:")
        out.append("")
        for quote in question.evidence:
            out.append(
                f"> {escape(quote.quote)} ({_clock(quote.at_s)}, message {quote.message_id})"
            )
            out.append("")
    if question.answer_text:
        out += ["Answer (as heard live):", "", *escape_block(question.answer_text), ""]
    if question.feedback:
        out += ["Feedback:", "", *(f"- {escape(line)}" for line in question.feedback), ""]
    return out


def render_markdown(report: Report, transcript: Sequence[TranscriptItem]) -> str:
    """The whole report: header, recommendation and decision, scores per question (the
    model's value beside any override), strengths and concerns, summary, review notes and
    history, the transcript and the cost."""
    interview = report.interview
    evaluation = report.evaluation
    review = report.review
    recommendation = (
        _RECOMMENDATIONS.get(evaluation.recommendation, evaluation.recommendation)
        if evaluation.recommendation
        else f"none (evaluation {evaluation.state})"
    )
    decision = (
        f"{review.decision.value} (by {escape(review.decision.reviewer)}, "
        f"{_when(review.decision.at)})"
        if review.decision
        else "none yet"
    )
    out = [
        f"# Interview report: {escape(interview.candidate_name)}",
        "",
        f"- Role: {escape(interview.role)} ({interview.level}, {interview.type}, {interview.mode})",
        f"- Date: {_when(interview.started_at or interview.created_at)}",
        f"- Duration: {_duration(interview.duration_s)}",
        f"- Questions asked: {interview.questions_asked} of {interview.questions_planned}",
        f"- Status: {interview.status}",
        f"- Recommendation: {recommendation}",
        f"- Decision: {decision}",
        "",
        "Scores are the evaluation's, made after the interview from the transcript; an "
        "override is a reviewer's, and the effective score is the override when there is one. "
        "Live scores are the interviewer's, given during the conversation.",
        "",
        "## Overall",
        "",
        "| Rubric | Effective mean |",
        "| --- | --- |",
        *(f"| {r.title()} | {_mean(getattr(report.overall, r))} |" for r in RUBRICS),
        "",
        "## Questions",
        "",
    ]
    if not report.questions:
        out += ["No question was asked.", ""]
    for question in report.questions:
        out += _question(question)
    for title, lines in (("Strengths", evaluation.strengths), ("Concerns", evaluation.concerns)):
        out += [f"## {title}", ""]
        out += [f"- {escape(line)}" for line in lines] or ["None noted."]
        out.append("")
    out += ["## Interviewer summary", ""]
    out += (escape_block(interview.summary) if interview.summary else ["None."]) + [""]
    out += ["## Review notes", ""]
    out += [
        f"- {_when(note.at)}, {escape(note.reviewer)}: {escape(note.text)}" for note in review.notes
    ] or ["None."]
    out += ["", "## Review history", ""]
    out += [
        f"- {_when(entry.at)}, {escape(entry.reviewer)}: {escape(entry.detail)}"
        for entry in review.history
    ] or ["None."]
    out += ["", "## Transcript", ""]
    for item in transcript:
        speaker = "Candidate" if item.speaker == "candidate" else "Interviewer"
        cut = " (interrupted)" if item.interrupted else ""
        out += [f"**[{_clock(item.at_s)}] {speaker}:** {escape(item.text)}{cut}", ""]
    if not transcript:
        out += ["No transcript was stored.", ""]
    out += [
        "## Cost",
        "",
        f"- Interview (realtime model): {_usd(report.cost.interview_usd)}",
        f"- Evaluation (text model): {_usd(report.cost.evaluation_usd)}",
        "",
    ]
    return "\n".join(out)
