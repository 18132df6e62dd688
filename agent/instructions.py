"""The interviewer's instructions: Markdown prompt files filled from the dispatch metadata.

Prompts live in `agent/prompts/*.md` and are loaded by name, so they can be read and reviewed
as text. Everything the candidate typed into the plan (name, role, focus areas) is inserted as
data inside a fixed template; it cannot add instructions of its own beyond a bounded string.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from interview.contract import InterviewMetadata, InterviewType, Mode
from interview.planning import MAX_SUMMARY_CHARS, FollowUp, QuestionPlan

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"

_LANGUAGES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "pt": "Portuguese",
    "it": "Italian",
    "nl": "Dutch",
    "ja": "Japanese",
}

_TYPES = {
    InterviewType.technical: "technical",
    InterviewType.behavioral: "behavioral",
    InterviewType.mixed: "mixed technical and behavioral",
}


@cache
def load_prompt(name: str) -> str:
    """The text of `agent/prompts/<name>.md`."""
    path = PROMPTS_DIR / f"{name}.md"
    if not path.is_file() or path.parent != PROMPTS_DIR:
        raise KeyError(f"no prompt named {name!r}")
    return path.read_text(encoding="utf-8").strip()


def language_name(code: str) -> str:
    return _LANGUAGES.get(code.split("-")[0].lower(), code)


def _one_line(text: str) -> str:
    """A summary as one bounded line of data (a newline could start lines of its own)."""
    return " ".join(text.split())[:MAX_SUMMARY_CHARS]


def background_lines(plan: QuestionPlan | None) -> str:
    """The plan's short summaries of the role and of the candidate's background: what the
    interviewer may know. Never the job description or the résumé themselves."""
    if plan is None:
        return ""
    lines = []
    if role := _one_line(plan.role_summary):
        lines.append(f'- About the role (from the job description): "{role}"')
    if candidate := _one_line(plan.candidate_summary):
        lines.append(f'- About the candidate (from their résumé): "{candidate}"')
    if lines:
        lines.append(
            "- Use these only to put questions in context; do not quote them to the candidate."
        )
    return "".join(f"{line}\n" for line in lines)


def build_instructions(meta: InterviewMetadata, plan: QuestionPlan | None = None) -> str:
    focus = (
        "Cover these focus areas where the plan allows (pass one as fetch_next_question's "
        "topic): " + "; ".join(meta.focus_areas) + "."
        if meta.focus_areas
        else "Follow the question plan; no particular focus areas were given."
    )
    practice = meta.mode is Mode.practice
    return load_prompt("interviewer").format(
        role=meta.role,
        level=meta.level.value,
        candidate_name=meta.candidate_name,
        type=_TYPES[meta.type],
        duration_minutes=meta.duration_minutes,
        question_count=len(plan.questions) if plan is not None else meta.question_count,
        language_name=language_name(meta.language),
        focus_line=focus,
        background=background_lines(plan),
        mode_rules=load_prompt("practice" if practice else "screening"),
        closing=(
            "give your brief spoken feedback"
            if practice
            else "tell them the hiring team will be in touch"
        ),
    )


def greeting_instructions(meta: InterviewMetadata) -> str:
    return (
        f"The candidate has joined. Greet {meta.candidate_name} by name, introduce yourself as "
        f"the interviewer for the {meta.role} role, say the interview takes about "
        f"{meta.duration_minutes} minutes, and ask if they are ready. Do not ask a question yet."
    )


def resume_instructions(meta: InterviewMetadata, covered: int) -> str:
    return (
        "The interviewer's connection was interrupted and is back. Apologise to "
        f"{meta.candidate_name} in one short sentence and carry on: {covered} of "
        f"{meta.question_count} questions are done. Call fetch_next_question to continue."
    )


def wrap_up_instructions(meta: InterviewMetadata) -> str:
    return (
        "Time is nearly up. Do not start a new question. If an answer is still open, store it. "
        + (
            "Give your brief spoken feedback, "
            if meta.mode is Mode.practice
            else "Thank the candidate, "
        )
        + "say goodbye, and call end_interview with your summary."
    )


def silence_checkin_instructions() -> str:
    return (
        "The candidate has been silent for a while. Check in briefly and kindly: ask whether "
        "they can hear you and whether they would like the question repeated."
    )


def silence_goodbye_instructions() -> str:
    return (
        "The candidate has stayed silent after several check-ins. Say politely that you will "
        "end the interview now because you cannot hear them, and that they can contact the "
        "hiring team. Then stop."
    )


def question_time_up_instructions(more: bool) -> str:
    """The conductor closed the open question at its time limit (see agent.question_clock)."""
    return "The time for this question is up; it is closed. " + (
        "Thank the candidate in one short sentence and ask the next question (fetch it now)."
        if more
        else "That was the last planned question: thank the candidate, wrap up and call "
        "end_interview."
    )


def follow_up_limit_instructions(question_id: int, policy: FollowUp) -> str:
    """The candidate has answered as far as the question's follow-up policy allows."""
    allowed = "no follow-up" if policy is FollowUp.none else "only one follow-up"
    return (
        f"Question {question_id} allows {allowed} and the candidate has answered: do not ask "
        f"anything more about it. Call store_answer for question {question_id} now, then "
        "fetch the next question."
    )
