"""A deterministic interview evaluator: the local stand-in for the evaluation model.

It reads the evaluation input document the report's evaluator sends (see CONTRACT-12 §1: the
interview, its questions with their strong-answer notes, and the transcript) and scores each
question from the candidate's own messages for it:

- coverage: the share of the strong-answer notes' key terms (or, without notes, the question's
  own terms) that the candidate used, after light stemming;
- length: words said for the question;
- hesitations: fillers ("um", "uh") and admissions ("I don't know", "not sure").

Depth and accuracy follow coverage, so an answer that covers the notes scores clearly above one
that does not; clarity follows hesitations and length. Evidence quotes are sentences (or
clauses) sliced out of the candidate's messages, so they are verbatim by construction. The
recommendation comes from the mean score, and is `insufficient_evidence` whenever fewer than
half of the planned questions could be scored.

The same scorer gives the rehearsal interviewer's live scores (`live_scores`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EVALUATION_KIND = "interview_evaluation"

Outcome = Literal["answered", "partial", "skipped", "not_asked", "interrupted"]
Recommendation = Literal["strong_yes", "yes", "no", "strong_no", "insufficient_evidence"]
RUBRICS = ("clarity", "relevance", "depth", "accuracy")

# -- the input document -------------------------------------------------------------------


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EvalInterview(_Lenient):
    role: str = ""
    level: str = ""
    type: str = ""
    mode: str = ""
    planned_questions: int = Field(default=0, ge=0)


class EvalQuestion(_Lenient):
    ordinal: int
    text: str = ""
    topic: str | None = None
    strong_answer: str | None = None
    asked: bool = True


class EvalMessage(_Lenient):
    id: int
    speaker: str
    text: str
    at_s: float | None = None
    question_ordinal: int | None = None
    interrupted: bool = False  # not in version 1 of the contract; honoured when present


class EvaluationInput(_Lenient):
    kind: Literal["interview_evaluation"]
    version: int
    interview: EvalInterview
    questions: list[EvalQuestion]
    transcript: list[EvalMessage]


# -- the output, field for field as CONTRACT-12's EvaluationOut -----------------------------


class ScoreOut(BaseModel):
    value: int = Field(ge=1, le=5)
    reason: str


class QuoteOut(BaseModel):
    message_id: int
    quote: str


class QuestionEvaluationOut(BaseModel):
    ordinal: int
    outcome: Outcome
    clarity: ScoreOut | None
    relevance: ScoreOut | None
    depth: ScoreOut | None
    accuracy: ScoreOut | None
    evidence: list[QuoteOut]


class EvaluationOut(BaseModel):
    questions: list[QuestionEvaluationOut]
    strengths: list[str]
    concerns: list[str]
    recommendation: Recommendation


# -- text features ------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9][a-z0-9+#'-]*")
_FILLER = re.compile(r"\b(?:u+m+|u+h+|e+r+m*|h+m+|mm+)\b")
_DONT_KNOW = re.compile(
    r"\b(?:i\s+(?:don'?t|do\s+not)\s+(?:really\s+)?know|not\s+sure|no\s+idea|i\s+can'?t\s+remember"
    r"|i\s+have\s+no\s+clue|i\s+forget)\b"
)
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_CLAUSE = re.compile(r"[^,;:]+[,;:]?")
_STOPWORD_TEXT = """a about above after again all also an and any are as at be because been
    before being
    between both but by can could did do does doing down during each either etc every few for
    from further had has have having how however i if in into is it its itself just like many
    may me might more most much must my no nor not of off often on once one only or other our
    out over own per rather same should so some such than that the their them then there these
    they this those through to too under until up upon us use used uses using very via was we
    well were what when where whether which while who whom why will with within without would
    yes you your answer strong covers cover mention mentions explain explains good example
    examples describe describes discuss discusses"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
MAX_QUOTE_CHARS = 200
LONG_ANSWER_WORDS = 60  # an answer this long gets the whole length credit toward depth


def _normalise(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def _stem(word: str) -> str:
    word = word.strip("'-")
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    return _WORD.findall(_normalise(text))


def key_terms(text: str | None) -> list[str]:
    """The distinct content terms of `text` (stemmed), in order of first use."""
    seen: dict[str, None] = {}
    for word in words(text or ""):
        stem = _stem(word)
        if len(stem) >= 3 and word not in _STOPWORDS and stem not in _STOPWORDS:
            seen.setdefault(stem, None)
    return list(seen)


def term_words(text: str | None) -> dict[str, str]:
    """Each key term's stem -> the word it was first written as, so what people read says
    "clarifying", not the stem "clarify" the matching uses."""
    out: dict[str, str] = {}
    for word in words(text or ""):
        out.setdefault(_stem(word), word.strip("'-"))
    return out


def _hits(terms: Iterable[str], text: str) -> list[str]:
    present = {_stem(w) for w in words(text)}
    return [t for t in terms if t in present]


def _half_up(x: float) -> int:
    return int(x + 0.5)


def _clamp(value: float) -> int:
    return max(1, min(5, _half_up(value)))


@dataclass
class AnswerFeatures:
    words: int
    fillers: int
    dont_know: int
    terms: list[str]  # what the answer is judged against
    covered: list[str]
    question_covered: float  # share of the question's own terms the answer used
    from_notes: bool  # terms come from strong-answer notes (else from the question)
    written: dict[str, str] = field(default_factory=dict)  # stem -> the word as written

    def as_written(self, terms: Sequence[str]) -> list[str]:
        return [self.written.get(t, t) for t in terms]

    @property
    def coverage(self) -> float:
        return len(self.covered) / len(self.terms) if self.terms else 0.0

    @property
    def missing(self) -> list[str]:
        return [t for t in self.terms if t not in self.covered]


def features(answer: str, question: str = "", notes: str | None = None) -> AnswerFeatures:
    lowered = _normalise(answer)
    q_terms = key_terms(question)
    note_terms = key_terms(notes)
    terms = note_terms or q_terms
    q_hits = _hits(q_terms, answer)
    return AnswerFeatures(
        words=len(words(answer)),
        fillers=len(_FILLER.findall(lowered)),
        dont_know=len(_DONT_KNOW.findall(lowered)),
        terms=terms,
        covered=_hits(terms, answer),
        question_covered=len(q_hits) / len(q_terms) if q_terms else 0.0,
        from_notes=bool(note_terms),
        written=term_words(notes if note_terms else question),
    )


def _list(terms: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(terms[:limit])
    return shown + (f" and {len(terms) - limit} more" if len(terms) > limit else "")


def rubric_scores(f: AnswerFeatures) -> dict[str, ScoreOut]:
    """The four scores (1-5) of one answer, each with a one-line reason."""
    if f.words == 0:
        nothing = "Nothing was said."
        return {rubric: ScoreOut(value=1, reason=nothing) for rubric in RUBRICS}
    c = f.coverage
    n = max(1, f.words)
    against = "the strong-answer notes" if f.from_notes else "the question's terms"
    filler_rate = f.fillers * 100 / n
    clarity = 5 - min(3, _half_up(filler_rate / 4)) - (1 if f.words < 12 else 0)
    clarity -= 1 if f.words > 250 else 0
    if f.fillers:
        clarity_why = f"{f.fillers} filler word(s) in {f.words} words"
    else:
        clarity_why = f"{f.words} words without fillers"
    if f.words < 12:
        clarity_why += "; very short"
    relevance = 1.0 if f.words == 0 else 2 + 3 * min(1.0, c + f.question_covered)
    if f.dont_know and f.words < 12:
        relevance = 1
    depth = 1 + 2.5 * c + 1.5 * min(1.0, f.words / LONG_ANSWER_WORDS)
    accuracy = 1 + 4 * c - (1 if f.dont_know else 0)
    covered = f"{len(f.covered)} of {len(f.terms)} key points of {against}"
    depth_why = f"covers {covered} in {f.words} words"
    accuracy_why = f"matches {covered}"
    if f.covered:
        accuracy_why += f" ({_list(f.as_written(f.covered))})"
    if f.dont_know:
        accuracy_why += "; says they do not know"
    relevance_why = (
        f"uses {f.question_covered:.0%} of the question's terms and {c:.0%} of the key points"
    )
    return {
        "clarity": ScoreOut(value=_clamp(clarity), reason=clarity_why.capitalize() + "."),
        "relevance": ScoreOut(value=_clamp(relevance), reason=relevance_why.capitalize() + "."),
        "depth": ScoreOut(value=_clamp(depth), reason=depth_why.capitalize() + "."),
        "accuracy": ScoreOut(value=_clamp(accuracy), reason=accuracy_why.capitalize() + "."),
    }


def live_scores(answer: str, question: str = "", notes: str | None = None) -> dict[str, int]:
    """Rubric values (1-5) for the rehearsal interviewer's in-conversation scoring."""
    return {k: s.value for k, s in rubric_scores(features(answer, question, notes)).items()}


# -- quotes ---------------------------------------------------------------------------------


def _spans(text: str, pattern: re.Pattern[str], base: int = 0) -> list[tuple[int, int]]:
    out = []
    for m in pattern.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append((base + start, base + end))
    return out


def _fit(text: str, start: int, end: int, terms: Sequence[str]) -> tuple[int, int]:
    """A span of at most MAX_QUOTE_CHARS inside text[start:end]: the clause with most hits."""
    if end - start <= MAX_QUOTE_CHARS:
        return start, end
    clauses = _spans(text[start:end], _CLAUSE, start) or [(start, end)]
    best = max(clauses, key=lambda s: (len(_hits(terms, text[s[0] : s[1]])), -s[0]))
    s, e = best
    if e - s > MAX_QUOTE_CHARS:
        cut = text.rfind(" ", s, s + MAX_QUOTE_CHARS)
        e = cut if cut > s else s + MAX_QUOTE_CHARS
    return s, e


def pick_quotes(
    messages: Sequence[EvalMessage], terms: Sequence[str], limit: int = 2
) -> list[QuoteOut]:
    """Up to `limit` verbatim sentences or clauses from `messages`, most key terms first."""
    candidates: list[tuple[int, int, int, EvalMessage, int, int]] = []
    order = 0
    for msg in messages:
        for start, end in _spans(msg.text, _SENTENCE):
            if len(words(msg.text[start:end])) < 3:
                continue
            s, e = _fit(msg.text, start, end, terms)
            hits = len(_hits(terms, msg.text[s:e]))
            candidates.append((hits, e - s, order, msg, s, e))
            order += 1
    if not candidates:
        # every sentence was under three words: quote the longest message whole, if any
        longest = max(messages, key=lambda m: len(m.text.strip()), default=None)
        if longest is None or not longest.text.strip():
            return []
        s, e = _spans(longest.text, re.compile(r".+", re.S))[0]
        s, e = _fit(longest.text, s, e, terms)
        return [QuoteOut(message_id=longest.id, quote=longest.text[s:e])]
    candidates.sort(key=lambda c: (-c[0], -c[1], c[2]))
    chosen = [candidates[0]]
    for cand in candidates[1:]:
        if len(chosen) >= limit:
            break
        if cand[0] > 0:
            chosen.append(cand)
    chosen.sort(key=lambda c: c[2])  # in the order they were said
    return [QuoteOut(message_id=c[3].id, quote=c[3].text[c[4] : c[5]]) for c in chosen]


# -- the evaluation -------------------------------------------------------------------------


def _outcome(q: EvalQuestion, msgs: Sequence[EvalMessage], f: AnswerFeatures | None) -> Outcome:
    if f is None:
        return "skipped" if q.asked else "not_asked"
    if msgs and msgs[-1].interrupted:
        return "interrupted"
    short = f.words < 15 and f.coverage < 0.75
    if short or f.coverage < 0.4 or (f.dont_know and f.coverage < 0.6):
        return "partial"
    return "answered"


def _recommendation(mean: float) -> Recommendation:
    if mean >= 4.25:
        return "strong_yes"
    if mean >= 3.5:
        return "yes"
    if mean >= 2.5:
        return "no"
    return "strong_no"


def evaluate(doc: EvaluationInput) -> EvaluationOut:
    """The evaluation of one interview, from its questions and the candidate's messages."""
    by_question: dict[int, list[EvalMessage]] = {}
    for msg in doc.transcript:
        if msg.speaker == "candidate" and msg.question_ordinal is not None and msg.text.strip():
            by_question.setdefault(msg.question_ordinal, []).append(msg)
    results: list[QuestionEvaluationOut] = []
    strengths: list[str] = []
    concerns: list[str] = []
    means: list[float] = []
    scored = 0
    for q in sorted(doc.questions, key=lambda q: q.ordinal):
        msgs = by_question.get(q.ordinal, [])
        answer = " ".join(m.text.strip() for m in msgs)
        f = features(answer, f"{q.text} {q.topic or ''}", q.strong_answer) if msgs else None
        outcome = _outcome(q, msgs, f)
        label = f"Question {q.ordinal}" + (f" ({q.topic})" if q.topic else "")
        if f is None:
            results.append(
                QuestionEvaluationOut(
                    ordinal=q.ordinal,
                    outcome=outcome,
                    clarity=None,
                    relevance=None,
                    depth=None,
                    accuracy=None,
                    evidence=[],
                )
            )
            if q.asked:
                means.append(1.0)  # asked and not answered counts against the candidate
                concerns.append(f"{label}: no answer was given.")
            continue
        scores = rubric_scores(f)
        scored += 1
        means.append(sum(s.value for s in scores.values()) / len(scores))
        results.append(
            QuestionEvaluationOut(
                ordinal=q.ordinal,
                outcome=outcome,
                evidence=pick_quotes(msgs, f.terms),
                **scores,
            )
        )
        if scores["depth"].value >= 4 and scores["accuracy"].value >= 4:
            strengths.append(f"{label}: covered {len(f.covered)} of {len(f.terms)} key points.")
        elif f.missing and f.coverage < 0.5:
            concerns.append(f"{label}: did not cover {_list(f.as_written(f.missing), 3)}.")
        if scores["clarity"].value <= 2:
            concerns.append(f"{label}: hesitant or very short delivery.")
        if outcome == "interrupted":
            concerns.append(f"{label}: the answer was cut off.")
    planned = doc.interview.planned_questions or len(doc.questions)
    if scored == 0 or scored * 2 < planned:
        recommendation: Recommendation = "insufficient_evidence"
        concerns.insert(0, f"Only {scored} of {planned} planned questions could be scored.")
    else:
        recommendation = _recommendation(sum(means) / len(means))
    return EvaluationOut(
        questions=results,
        strengths=strengths[:5],
        concerns=concerns[:5],
        recommendation=recommendation,
    )


def evaluation_input(text: str) -> dict[str, Any] | None:
    """The JSON object in a message's text if it is an evaluation input document, else None."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("kind") == EVALUATION_KIND:
        return data
    return None
