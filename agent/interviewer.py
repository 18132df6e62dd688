"""The interviewer agent and the tools the model calls to run the interview.

The tools never wait on the network: questions come from a pool read before the greeting, and
every write goes through the store's queue. Arguments are validated here and a bad call is
answered with a `ToolError` that tells the model what to do instead. Scores and feedback are
only ever written to the store; nothing a tool returns is meant to be spoken except question
text.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from livekit.agents import Agent, RunContext, ToolError, function_tool

from agent.questions import fallback_id, fallback_questions, is_fallback
from interview.contract import InterviewMetadata
from interview.planning import FollowUp, PlannedQuestion, StoredPlan
from interview.question_choice import choose_question
from interview.store import (
    Answer,
    AskedQuestion,
    BankQuestion,
    Feedback,
    InterviewDetail,
    InterviewStatus,
    QuestionOutcome,
    Scores,
    Store,
    Usage,
)

log = logging.getLogger("agent.interviewer")

MAX_TRANSCRIPT_CHARS = 4000
MAX_BULLET_CHARS = 300
MAX_TAGS = 5


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class InterviewState:
    """Everything one interview's tools and session handlers share (the session userdata).

    What can be derived is: a question's outcome lives in `asked[n].outcome` (`finished` and
    `current` read it), the interview has ended once `end_status` is set.
    """

    meta: InterviewMetadata
    store: Store
    pool: list[BankQuestion]
    now: Callable[[], datetime] = utcnow
    asked: dict[int, AskedQuestion] = field(default_factory=dict)
    # The answers as stored, so words transcribed after an answer was stored can complete it.
    answers: dict[int, Answer] = field(default_factory=dict)
    # What the candidate said, keyed by the moment they said it.
    candidate_lines: list[tuple[datetime, str]] = field(default_factory=list)
    # When the candidate started speaking (local VAD), to date a transcript that arrives late.
    speech_starts: list[datetime] = field(default_factory=list)
    end_status: InterviewStatus | None = None
    summary: str | None = None
    # Usage recorded by earlier jobs of this interview: this job's totals add to it.
    usage_base: Usage = field(default_factory=Usage)
    on_progress: Callable[[InterviewState], None] | None = None
    on_end: Callable[[InterviewState], None] | None = None
    # Ties between equally good questions are broken the same way for the same interview.
    rng: random.Random = field(default_factory=random.Random)
    # After a resume, the question that was open when the previous agent left; the next
    # fetch_next_question hands it out again instead of a new one.
    resumed_open: int | None = None
    # The interview's confirmed question plan (None: questions are drawn from the bank). With
    # one, fetch_next_question hands out its questions in order and nothing else.
    plan: StoredPlan | None = None
    # Told each time a question is handed out (a new one, or the open one again after a
    # resume): the conductor's question clock keeps its time limit and follow-up policy.
    on_asked: Callable[[InterviewState, AskedQuestion], None] | None = None

    def __post_init__(self) -> None:
        self.rng.seed(self.meta.interview_id.int)

    @property
    def ended(self) -> bool:
        return self.end_status is not None

    @property
    def finished(self) -> dict[int, QuestionOutcome]:
        """The closed questions and how each closed."""
        return {
            n: q.outcome for n, q in self.asked.items() if q.outcome is not QuestionOutcome.pending
        }

    @property
    def current(self) -> int | None:
        """The question asked last, if it is still open."""
        open_ = [n for n, q in self.asked.items() if q.outcome is QuestionOutcome.pending]
        return max(open_) if open_ else None

    @property
    def bank_ids(self) -> set[UUID]:
        """Questions not to ask again: bank ids, and the stable ids of general questions
        (stored without a bank id, so recognised by their text)."""
        return {q.bank_question_id or fallback_id(q.text) for q in self.asked.values()}

    @property
    def interview_id(self) -> UUID:
        return self.meta.interview_id

    # ---- the question plan ----------------------------------------------------------------

    @property
    def question_count(self) -> int:
        """How many questions the interview has: the plan's, else the dispatch's count."""
        return len(self.plan.questions) if self.plan is not None else self.meta.question_count

    def planned(self, ordinal: int) -> PlannedQuestion | None:
        """The plan's entry for an asked question (None: not from the plan)."""
        asked = self.asked.get(ordinal)
        if self.plan is None or asked is None or asked.plan_item is None:
            return None
        if not 1 <= asked.plan_item <= len(self.plan.questions):
            return None
        return self.plan.questions[asked.plan_item - 1]

    def next_plan_item(self) -> int | None:
        """The 1-based position of the plan's next question (None: the plan is done). A resumed
        interview continues after the last item a previous agent asked."""
        assert self.plan is not None
        done = max((q.plan_item or 0 for q in self.asked.values()), default=0)
        return done + 1 if done < len(self.plan.questions) else None

    def restore(self, detail: InterviewDetail) -> None:
        """Pick up an interview a previous agent started: what was asked and how it ended,
        the answers as stored, and the usage so far."""
        for q in sorted(detail.questions, key=lambda q: q.ordinal):
            self.asked[q.ordinal] = q
        for a in detail.answers:
            self.answers[a.ordinal] = a
        if detail.interview is not None:
            self.usage_base = detail.interview.usage
        self.resumed_open = self.current

    def note_speech_started(self, at: datetime) -> None:
        self.speech_starts.append(at)
        del self.speech_starts[:-100]

    def speech_start_before(self, at: datetime) -> datetime:
        """When the candidate last started speaking before `at`: the moment a transcript that
        arrived at `at` was said (transcripts arrive in the order of the turns, before the
        candidate's next turn has been transcribed). `at` itself if no start was seen."""
        return max((s for s in self.speech_starts if s <= at), default=at)

    def note_candidate_words(self, text: str, at: datetime) -> None:
        """A line of the candidate's, `at` the moment they said it. A transcript may arrive
        after the answer it belongs to was stored (the model replies before the transcription
        of the turn completes): the stored answer is then rewritten with it."""
        self.candidate_lines.append((at, text))
        for ordinal, answer in list(self.answers.items()):
            if not self._in_answer_window(ordinal, at):
                continue
            heard = self.answer_words(ordinal)
            if heard and heard != answer.transcript:
                self.record_answer(answer.model_copy(update={"transcript": heard}))

    def _in_answer_window(self, ordinal: int, at: datetime) -> bool:
        """From the question being asked to the next one being asked."""
        asked = self.asked.get(ordinal)
        if asked is None or at < asked.asked_at:
            return False
        nxt = self.asked.get(ordinal + 1)
        return nxt is None or at < nxt.asked_at

    def answer_words(self, ordinal: int) -> str:
        """The candidate's words for one question, as heard so far."""
        words = " ".join(
            text for at, text in self.candidate_lines if self._in_answer_window(ordinal, at)
        )
        return words.strip()[:MAX_TRANSCRIPT_CHARS]

    def record_answer(self, answer: Answer) -> None:
        self.answers[answer.ordinal] = answer
        self.store.record_answer(answer)

    def finish_question(self, ordinal: int, outcome: QuestionOutcome) -> None:
        closed = self.asked[ordinal].model_copy(update={"outcome": outcome, "ended_at": self.now()})
        self.asked[ordinal] = closed
        self.store.record_question(closed)

    def end(
        self,
        status: InterviewStatus,
        summary: str | None,
        *,
        open_outcome: QuestionOutcome = QuestionOutcome.skipped,
    ) -> None:
        """Mark the interview over: open questions close, the status is written once."""
        if self.ended:
            return
        self.end_status = status
        self.summary = summary
        for ordinal, q in list(self.asked.items()):
            if q.outcome is QuestionOutcome.pending:
                self.finish_question(ordinal, open_outcome)
        self.store.record_status(self.interview_id, status, at=self.now(), summary=summary)
        if self.on_end:
            self.on_end(self)


def _check_question(state: InterviewState, question_id: int) -> AskedQuestion:
    if question_id not in state.asked:
        known = ", ".join(str(n) for n in sorted(state.asked)) or "none yet"
        raise ToolError(
            f"There is no question {question_id}. Question ids asked so far: {known}. "
            "Use the question_id returned by fetch_next_question."
        )
    return state.asked[question_id]


def _record_asked(state: InterviewState, asked: AskedQuestion) -> None:
    state.asked[asked.ordinal] = asked
    state.store.record_question(asked)
    if state.on_progress:
        state.on_progress(state)
    if state.on_asked:
        state.on_asked(state, asked)
    log.info(
        "question asked",
        extra={
            "interview_id": str(state.interview_id),
            "ordinal": asked.ordinal,
            "of": state.question_count,
            "plan_item": asked.plan_item,
        },
    )


_FOLLOW_UP_RULES = {
    FollowUp.none: (
        "No follow-up for this question: once the candidate has answered, call store_answer "
        "and fetch the next question."
    ),
    FollowUp.one: "At most one follow-up question, then call store_answer.",
    FollowUp.open: "Follow up as you judge, as for any question.",
}


def _plan_guidance(planned: PlannedQuestion | None) -> dict[str, Any]:
    """How a planned question is to be asked. Never its ideal answer: the model only gets the
    private strong-answer notes, as for a bank question."""
    if planned is None:
        return {}
    guidance: dict[str, Any] = {
        "how_to_ask": (
            "verbatim: read the text exactly as written, word for word, with nothing changed "
            "or added inside it"
            if planned.verbatim
            else "in your own words"
        ),
        "follow_up": _FOLLOW_UP_RULES[planned.follow_up],
    }
    if planned.time_limit_s is not None:
        guidance["time_limit"] = (
            f"about {planned.time_limit_s} seconds for the answer; the interview moves on "
            "when it runs out"
        )
    return guidance


def _ask_from_plan(state: InterviewState, plan: StoredPlan) -> dict[str, Any]:
    """Hand out the plan's next question, in the plan's order, or say the plan is done."""
    item = state.next_plan_item()
    if item is None:
        raise ToolError(
            f"All {len(plan.questions)} questions of the plan have been asked. Wrap up now and "
            "call end_interview."
        )
    planned = plan.questions[item - 1]
    ordinal = len(state.asked) + 1
    asked = AskedQuestion(
        interview_id=state.interview_id,
        ordinal=ordinal,
        bank_question_id=planned.bank_question_id,
        text=planned.text,
        topic=planned.topic,
        difficulty=planned.difficulty,
        asked_at=state.now(),
        plan_item=item,
    )
    _record_asked(state, asked)
    return {
        "question_id": ordinal,
        "text": planned.text,
        "topic": planned.topic,
        "difficulty": planned.difficulty,
        "progress": f"question {item} of {len(plan.questions)}",
        # The team's ideal answer stands in for the notes of a custom question: private, like
        # every strong-answer note (the tool's description says they are never spoken).
        "strong_answer_covers": planned.strong_answer or planned.ideal_answer,
        **_plan_guidance(planned),
    }


def _check_score(name: str, value: int) -> int:
    if not isinstance(value, int) or not 1 <= value <= 5:
        raise ToolError(f"{name} must be a whole number from 1 to 5, got {value!r}.")
    return value


class Interviewer(Agent):
    def __init__(self, state: InterviewState, instructions: str) -> None:
        super().__init__(instructions=instructions)
        self.state = state
        if not state.pool:
            state.pool = fallback_questions(state.meta.role, state.meta.level)

    @function_tool
    async def fetch_next_question(
        self,
        context: RunContext[InterviewState],
        topic: str | None = None,
        difficulty: int | None = None,
    ) -> dict[str, Any]:
        """Get the next interview question. Call this before each new question, then ask the
        returned text in your own words (exactly as written when `how_to_ask` says so) and wait
        for the candidate's answer. Keep to its `follow_up` rule. `strong_answer_covers` is a
        private note for scoring: never speak it or hint at it.

        Args:
            topic: Optional topic wanted next, for example one of the focus areas. Leave empty
                to follow the plan.
            difficulty: Optional difficulty from 1 (easiest) to 5 (hardest). Leave empty to
                match the candidate's level.
        """
        state = context.userdata
        if state.ended:
            raise ToolError("The interview has ended. Do not ask more questions.")
        if state.resumed_open is not None:
            reopened = state.asked[state.resumed_open]
            state.resumed_open = None
            if state.on_asked:
                state.on_asked(state, reopened)
            return {
                "question_id": reopened.ordinal,
                "text": reopened.text,
                "topic": reopened.topic,
                "difficulty": reopened.difficulty,
                "progress": f"question {reopened.ordinal} of {state.question_count}",
                "note": "This question was open when the connection dropped: ask it again.",
                **_plan_guidance(state.planned(reopened.ordinal)),
            }
        if state.current is not None:
            raise ToolError(
                f"Question {state.current} is still open. Call store_answer or skip_question "
                "for it before fetching the next one."
            )
        if state.plan is not None:
            return _ask_from_plan(state, state.plan)
        count = state.meta.question_count
        if len(state.asked) >= count:
            raise ToolError(
                f"All {count} planned questions have been asked. Wrap up now and call "
                "end_interview."
            )
        ordinal = len(state.asked) + 1
        question = choose_question(
            state.pool,
            role=None,
            level=state.meta.level,
            type=state.meta.type,
            exclude=state.bank_ids,
            topic=topic,
            difficulty=difficulty,
            rng=state.rng,
        ) or choose_question(
            fallback_questions(state.meta.role, state.meta.level),
            role=None,
            level=state.meta.level,
            type=state.meta.type,
            exclude=state.bank_ids,
            rng=state.rng,
        )
        if question is None:
            raise ToolError("No questions are left. Wrap up now and call end_interview.")
        asked = AskedQuestion(
            interview_id=state.interview_id,
            ordinal=ordinal,
            # General questions are in no bank row: a made-up id would fail the foreign key.
            bank_question_id=None if is_fallback(question) else question.id,
            text=question.text,
            topic=question.topic,
            difficulty=question.difficulty,
            asked_at=state.now(),
        )
        _record_asked(state, asked)
        return {
            "question_id": ordinal,
            "text": question.text,
            "topic": question.topic,
            "difficulty": question.difficulty,
            "progress": f"question {ordinal} of {count}",
            "strong_answer_covers": question.strong_answer,
        }

    @function_tool
    async def store_answer(
        self,
        context: RunContext[InterviewState],
        question_id: int,
        transcript: str,
        clarity: int,
        relevance: int,
        depth: int,
        accuracy: int,
        tags: list[str] | None = None,
    ) -> str:
        """Record the candidate's answer with rubric scores, once they have finished answering
        (after any follow-up). Scores are private: never say them aloud.

        Args:
            question_id: The question_id from fetch_next_question.
            transcript: The candidate's answer in their own words, faithfully and completely.
            clarity: 1 to 5: clear, structured, concise.
            relevance: 1 to 5: answers the question asked.
            depth: 1 to 5: reasoning, trade-offs, concrete examples.
            accuracy: 1 to 5: correct facts and sound judgement.
            tags: Up to 5 short labels, for example "concrete-example" or "missed-edge-cases".
        """
        state = context.userdata
        _check_question(state, question_id)
        if state.finished.get(question_id) is QuestionOutcome.skipped:
            raise ToolError(f"Question {question_id} was skipped; it cannot be scored.")
        scores = Scores(
            clarity=_check_score("clarity", clarity),
            relevance=_check_score("relevance", relevance),
            depth=_check_score("depth", depth),
            accuracy=_check_score("accuracy", accuracy),
        )
        # The words heard win; the model's own account stands in until they arrive (a final
        # transcript may come after this call), see InterviewState.note_candidate_words.
        text = state.answer_words(question_id) or transcript.strip()[:MAX_TRANSCRIPT_CHARS]
        if not text:
            raise ToolError(
                "The transcript is empty. If the candidate did not answer, call skip_question."
            )
        clean_tags = [t.strip()[:40] for t in (tags or []) if t and t.strip()][:MAX_TAGS]
        state.record_answer(
            Answer(
                interview_id=state.interview_id,
                ordinal=question_id,
                transcript=text,
                scores=scores,
                tags=clean_tags,
            )
        )
        if question_id not in state.finished:
            state.finish_question(question_id, QuestionOutcome.answered)
        if state.on_progress:
            state.on_progress(state)
        remaining = state.question_count - len(state.asked)
        nxt = (
            "Fetch the next question."
            if remaining > 0
            else "That was the last planned question: wrap up and call end_interview."
        )
        return f"Answer to question {question_id} stored. {nxt}"

    @function_tool
    async def skip_question(
        self,
        context: RunContext[InterviewState],
        question_id: int,
        reason: Literal["declined", "could_not_answer", "out_of_time"] = "declined",
    ) -> str:
        """Close a question the candidate declined or could not answer, without scores.

        Args:
            question_id: The question_id from fetch_next_question.
            reason: Why the question is closed without an answer.
        """
        state = context.userdata
        _check_question(state, question_id)
        if question_id in state.finished:
            raise ToolError(f"Question {question_id} is already closed.")
        outcome = QuestionOutcome.timed_out if reason == "out_of_time" else QuestionOutcome.skipped
        state.finish_question(question_id, outcome)
        if state.on_progress:
            state.on_progress(state)
        return f"Question {question_id} closed. Move on."

    @function_tool
    async def store_feedback(
        self,
        context: RunContext[InterviewState],
        bullets: list[str],
        question_id: int | None = None,
    ) -> str:
        """Save feedback: per question (with question_id) or for the whole interview (without).

        Args:
            bullets: One to five short, specific, actionable points.
            question_id: The question the feedback is about; leave empty for final feedback.
        """
        state = context.userdata
        if question_id is not None and question_id != 0:
            _check_question(state, question_id)
        clean = [b.strip()[:MAX_BULLET_CHARS] for b in bullets if b and b.strip()]
        if not clean:
            raise ToolError("Give at least one non-empty feedback bullet.")
        if len(clean) > 5:
            raise ToolError("Give at most five bullets; keep the most useful ones.")
        state.store.record_feedback(
            Feedback(
                interview_id=state.interview_id,
                ordinal=question_id or None,
                bullets=clean,
            )
        )
        return "Feedback saved."

    @function_tool
    async def end_interview(self, context: RunContext[InterviewState], summary: str) -> str:
        """End the interview after your closing words: saves a private summary for the hiring
        team. Call it once, at the very end.

        Args:
            summary: Two to five sentences for the hiring team: strengths, concerns, overall.
        """
        state = context.userdata
        if state.ended:
            return "The interview has already ended."
        clean = summary.strip()[:2000]
        if not clean:
            raise ToolError("Write a short summary for the hiring team.")
        state.end(InterviewStatus.completed, clean)
        return "Interview ended. If you have not said goodbye yet, say a short goodbye now."
