"""What the local server says when no script decides: an echo, or the rehearsal interviewer.

A brain is a pure function of the conversation (the items the server holds, in order) and the
tools the client declared, so it is deterministic and survives a reconnection: the client
resends its history and the brain picks up where it was.

The rehearsal interviewer runs an interview with the agent's own tools: it calls the tool that
fetches a question, speaks the question it gets back, stores the candidate's answer and some
feedback, and after a few questions ends the interview. It finds the tools by name
(`fetch_next_question`, `store_answer`, `store_feedback`, `end_interview`) and fills their
arguments from the JSON schema the client declared, so renamed or added arguments (a score per
rubric, say) still get sensible values. Rubric scores (`clarity`, `relevance`, `depth`,
`accuracy`) come from the evaluator's scorer (realtime_local.evaluator) applied to what the
candidate said since the question, against the question and its strong-answer notes, so a
better answer gets better scores. A response that forces a tool (`tool_choice` naming a
function, as the agent's question clock sends when a question's time runs out) calls that tool.
Without those tools it asks built-in questions.
"""

from __future__ import annotations

import ast
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from realtime_local.evaluator import RUBRICS, live_scores
from realtime_local.scenario import CallTool, Say, Step

log = logging.getLogger("realtime_local.brain")

FETCH = "fetch_next_question"
STORE_ANSWER = "store_answer"
STORE_FEEDBACK = "store_feedback"
END = "end_interview"

OFFLINE_GREETING = "Welcome to this offline rehearsal interview."
BUILTIN_QUESTIONS = (
    "Tell me about a project you are proud of, and what your part in it was.",
    "How do you approach a bug you have never seen before?",
    "What would you like to get better at over the next year?",
)
_RUBRIC_DEFAULT = 3
_QUESTION_KEYS = ("text", "question", "prompt", "body", "question_text")
_NOTES_KEYS = ("strong_answer_covers", "strong_answer", "notes")
_ID_KEYS = ("question_id", "id", "qid")


@dataclass
class ResponseContext:
    """What a brain sees: the conversation and the session's declared tools."""

    items: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    instructions: str | None = None
    tool_choice: Any = "auto"
    transcripts: dict[str, str] = field(default_factory=dict)

    def tool(self, name: str) -> dict[str, Any] | None:
        if self.tool_choice == "none":
            return None
        return next((t for t in self.tools if t.get("name") == name), None)

    @property
    def forced_tool(self) -> str | None:
        """The function the response must call (`{"type": "function", "name": ...}`), if any."""
        choice = self.tool_choice
        if not isinstance(choice, Mapping) or choice.get("type") != "function":
            return None
        name = choice.get("name")
        return str(name) if name and self.tool(str(name)) is not None else None

    def text_of(self, item: Mapping[str, Any]) -> str:
        """The words of a message item, with user audio replaced by its transcript."""
        if item.get("id") in self.transcripts:
            return self.transcripts[str(item["id"])]
        parts = []
        for c in item.get("content") or []:
            value = c.get("text") or c.get("transcript")
            if value:
                parts.append(str(value))
        return " ".join(parts)


class Brain(Protocol):
    def plan(self, ctx: ResponseContext) -> list[Step]: ...


class EchoBrain:
    """Answers in a fixed, predictable way; the default for tests without a script."""

    def plan(self, ctx: ResponseContext) -> list[Step]:
        last = ctx.items[-1] if ctx.items else None
        if last is None:
            return [Say("Hello from the local realtime server.")]
        if last.get("type") == "function_call_output":
            return [Say("Done.")]
        if last.get("type") == "message" and last.get("role") == "user":
            return [Say(f"You said: {ctx.text_of(last)}".strip())]
        return [Say("Go on.")]


def parse_tool_output(output: str) -> Any:
    """A tool's output as data when it is JSON (or a Python literal), else the string."""
    text = output.strip()
    for loader in (json.loads, ast.literal_eval):
        try:
            return loader(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return text


def _looks_like_error(output: str) -> bool:
    lowered = output.strip().lower()
    return lowered.startswith(("error", "an error occurred")) or lowered in ("", "none", "null")


def question_from_output(output: str, fallback_id: str) -> tuple[str, str] | None:
    """(question id, question text) from `fetch_next_question`'s output, or None."""
    if _looks_like_error(output):
        return None
    data = parse_tool_output(output)
    if isinstance(data, Mapping):
        inner = data.get("question")
        if isinstance(inner, Mapping):
            data = {**data, **inner}
        text = next((str(data[k]) for k in _QUESTION_KEYS if isinstance(data.get(k), str)), None)
        if not text:
            return None
        qid = next((str(data[k]) for k in _ID_KEYS if data.get(k) not in (None, "")), fallback_id)
        return qid, text
    # a bare string is a question only if it asks one: tool errors come back as bare strings
    if isinstance(data, str) and "?" in data:
        return fallback_id, data
    return None


def notes_from_output(output: str) -> str | None:
    """The strong-answer notes in `fetch_next_question`'s output, if it carries them."""
    data = parse_tool_output(output)
    if not isinstance(data, Mapping):
        return None
    inner = data.get("question")
    if isinstance(inner, Mapping):
        data = {**data, **inner}
    notes = next((data[k] for k in _NOTES_KEYS if data.get(k)), None)
    if isinstance(notes, list):
        return "; ".join(str(n) for n in notes)
    return str(notes) if notes else None


# -- arguments from a JSON schema ---------------------------------------------------------


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        return node if isinstance(node, Mapping) else {}
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list):
            for opt in options:
                if isinstance(opt, Mapping) and opt.get("type") != "null":
                    return _resolve(opt, root)
    return schema


def _schema_type(schema: Mapping[str, Any]) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    return t if isinstance(t, str) else None


def _nullable(schema: Mapping[str, Any]) -> bool:
    t = schema.get("type")
    if t == "null" or (isinstance(t, list) and "null" in t):
        return True
    options = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(options, list) and any(
        isinstance(o, Mapping) and o.get("type") == "null" for o in options
    ):
        return True
    return "default" in schema and schema["default"] is None


def _number(schema: Mapping[str, Any], want: float, integer: bool) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value = float(want)
    if isinstance(low, int | float):
        value = max(value, float(low))
    if isinstance(high, int | float):
        value = min(value, float(high))
    return int(value) if integer else value


def fill_value(
    name: str, schema: Mapping[str, Any], hints: Mapping[str, Any], root: Mapping[str, Any]
) -> Any:
    """A deterministic value for one argument, preferring what the interview knows (hints).

    An optional argument (nullable) the interview knows nothing about is left null, so the
    tool applies its own default (e.g. `topic: None` means "follow the plan").
    """
    lname = name.lower()
    known = lname in hints or (
        lname.endswith("_id") and any(k.endswith("_id") and k in lname for k in hints)
    )
    if not known and _nullable(schema):
        return None
    schema = _resolve(schema, root)
    kind = _schema_type(schema)
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        hinted = hints.get(lname)
        if hinted in enum:
            return hinted
        return enum[len(enum) // 2] if "difficulty" in lname or "level" in lname else enum[0]
    hint_key = next((k for k in hints if k == lname), None)
    if hint_key is None and lname.endswith("_id"):
        hint_key = next((k for k in hints if k.endswith("_id") and k in lname), None)
    if hint_key is not None:
        value = hints[hint_key]
        if kind in ("integer", "number") and isinstance(value, int | float):
            return _number(schema, value, integer=kind == "integer")
        if kind == "integer":
            try:
                return int(value)
            except (TypeError, ValueError):
                return _number(schema, 1, integer=True)
        if kind == "array" and isinstance(value, str):
            return [value]
        if kind == "string" and isinstance(value, list):
            return "; ".join(str(v) for v in value)
        return value
    if lname == "topic" and kind == "string":
        return "general"
    if kind in ("integer", "number"):
        return _number(schema, _RUBRIC_DEFAULT, integer=kind == "integer")
    if kind == "boolean":
        return False
    if kind == "array":
        items = schema.get("items")
        item_schema = items if isinstance(items, Mapping) else {}
        return [fill_value(name.rstrip("s"), item_schema, hints, root)]
    if kind == "object":
        return fill_arguments(schema, hints, root)
    return "rehearsal"


def fill_arguments(
    schema: Mapping[str, Any] | None,
    hints: Mapping[str, Any],
    root: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Arguments for every declared property of a JSON-schema object."""
    if not isinstance(schema, Mapping):
        return {}
    root = schema if root is None else root
    props = _resolve(schema, root).get("properties")
    if not isinstance(props, Mapping):
        return {}
    return {
        str(k): fill_value(str(k), v if isinstance(v, Mapping) else {}, hints, root)
        for k, v in props.items()
    }


# -- the rehearsal interviewer --------------------------------------------------------------


@dataclass
class _State:
    questions: list[tuple[str, str]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # question id -> strong-answer notes
    answer: list[str] = field(default_factory=list)  # what the user said since the question
    answered: set[str] = field(default_factory=set)
    ended: bool = False
    fetch_exhausted: bool = False
    last_user_text: str = ""


class RehearsalBrain:
    """An interviewer that drives the agent's tools; see the module docstring."""

    def __init__(self, max_questions: int = 3) -> None:
        self.max_questions = max_questions

    def _state(self, ctx: ResponseContext) -> _State:
        state = _State()
        calls: dict[str, str] = {}
        builtin_asked = 0
        for item in ctx.items:
            kind = item.get("type")
            if kind == "function_call":
                calls[str(item.get("call_id"))] = str(item.get("name"))
                if item.get("name") == END:
                    state.ended = True
            elif kind == "function_call_output":
                name = calls.get(str(item.get("call_id")), "")
                output = str(item.get("output", ""))
                if name == FETCH:
                    fallback = f"q{len(state.questions) + 1}"
                    q = question_from_output(output, fallback)
                    if q is None:
                        state.fetch_exhausted = True
                    else:
                        state.questions.append(q)
                        state.answer = []
                        notes = notes_from_output(output)
                        if notes:
                            state.notes[q[0]] = notes
                elif name == STORE_ANSWER and state.questions:
                    state.answered.add(state.questions[-1][0])
            elif kind == "message" and item.get("role") == "assistant":
                text = ctx.text_of(item)
                if ctx.tool(FETCH) is None and "Question " in text:
                    builtin_asked += 1
                    qid = f"builtin-{builtin_asked}"
                    idx = (builtin_asked - 1) % len(BUILTIN_QUESTIONS)
                    state.questions.append((qid, BUILTIN_QUESTIONS[idx]))
                    state.answer = []
            elif kind == "message" and item.get("role") == "user":
                state.last_user_text = ctx.text_of(item)
                state.answer.append(state.last_user_text)
        return state

    def _hints(self, ctx: ResponseContext, state: _State) -> dict[str, Any]:
        qid, question = state.questions[-1] if state.questions else ("q1", "")
        n = len(state.questions)
        scores = live_scores(" ".join(state.answer), question, state.notes.get(qid))
        return {
            **{rubric: scores[rubric] for rubric in RUBRICS},
            "question_id": qid,
            "transcript": state.last_user_text or "(no answer)",
            "answer": state.last_user_text or "(no answer)",
            "tags": ["rehearsal"],
            "bullets": ["Rehearsal feedback: structure the answer as situation, action, result."],
            "feedback": "Rehearsal feedback: structure the answer as situation, action, result.",
            "summary": f"Offline rehearsal finished after {n} question{'s' if n != 1 else ''}.",
        }

    def _call(self, ctx: ResponseContext, state: _State, name: str) -> Step:
        tool = ctx.tool(name) or {}
        params = tool.get("parameters")
        schema = params if isinstance(params, Mapping) else None
        return CallTool(name, fill_arguments(schema, self._hints(ctx, state)))

    def _next_question(self, ctx: ResponseContext, state: _State) -> list[Step]:
        done = len(state.questions) >= self.max_questions or state.fetch_exhausted
        if done:
            if ctx.tool(END) is not None:
                return [self._call(ctx, state, END)]
            return [Say("That is the end of this rehearsal. Thank you for practising.")]
        if ctx.tool(FETCH) is not None:
            return [self._call(ctx, state, FETCH)]
        n = len(state.questions) + 1
        intro = f"{OFFLINE_GREETING} " if n == 1 else ""
        question = BUILTIN_QUESTIONS[(n - 1) % len(BUILTIN_QUESTIONS)]
        return [Say(f"{intro}Question {n}: {question}")]

    def plan(self, ctx: ResponseContext) -> list[Step]:
        state = self._state(ctx)
        last = ctx.items[-1] if ctx.items else None
        last_call = None
        if last is not None and last.get("type") == "function_call_output":
            last_call = next(
                (
                    str(i.get("name"))
                    for i in ctx.items
                    if i.get("type") == "function_call" and i.get("call_id") == last.get("call_id")
                ),
                None,
            )
        if last_call == END or (state.ended and last_call is None):
            return [Say("That is the end of this rehearsal. Thank you for practising.")]
        if ctx.forced_tool is not None:
            return [self._call(ctx, state, ctx.forced_tool)]
        if last_call == FETCH:
            if state.fetch_exhausted:
                return self._next_question(ctx, state)
            n = len(state.questions)
            intro = f"{OFFLINE_GREETING} " if n == 1 else ""
            return [Say(f"{intro}Question {n}: {state.questions[-1][1]}")]
        if last_call == STORE_ANSWER:
            if ctx.tool(STORE_FEEDBACK) is not None:
                return [self._call(ctx, state, STORE_FEEDBACK)]
            return self._next_question(ctx, state)
        if last_call == STORE_FEEDBACK or last_call is not None:
            return self._next_question(ctx, state)
        is_answer = last is not None and last.get("type") == "message" and last["role"] == "user"
        if not state.questions:
            return self._next_question(ctx, state)
        current = state.questions[-1][0]
        if is_answer and current not in state.answered:
            if ctx.tool(STORE_ANSWER) is not None:
                return [self._call(ctx, state, STORE_ANSWER)]
            state.answered.add(current)
            return self._next_question(ctx, state)
        if is_answer:
            return self._next_question(ctx, state)
        return [Say(f"Take your time. {state.questions[-1][1]}")]
