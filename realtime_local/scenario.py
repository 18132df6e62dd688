"""Declarative scripts: what the local server does for each response and each user turn.

A `Scenario` is a list of `Turn`s, one per response the client asks for (by `response.create`
or by server-side turn detection), plus the words the user said in each committed audio turn
(there is no offline speech recogniser, so the test, which knows what it spoke, supplies them).
Words are found by what the audio carries: a turn whose audio carries a registered signature
tone (see `realtime_local.audio.with_signature`) takes the next words registered for that tone
(`user_transcripts_by_tone`), so audio that crossed into another room is heard as the words of
the room it came from; a turn without one takes the next of `user_transcripts`.
Once the script is used up, the server's default brain answers (an echo, or the rehearsal
interviewer). The script position is shared by every connection of the server, so a script can
span a dropped socket and the reconnection that follows.

Steps of a turn, run in order:

- `Say(text)`: an assistant message, audio plus transcript (or text in text mode).
- `CallTool(name, arguments)`: a function call; `arguments=None` fills them from the tool's
  declared JSON schema, as the rehearsal interviewer does.
- `Wait(seconds)`: think before the next step (a slow model).
- `Drop(after_s, abrupt)`: close the socket `after_s` seconds from now, while the following
  steps run (`Drop(0.3)` before a `Say` drops mid-sentence); `abrupt` resets the TCP
  connection instead of sending a close frame.
- `SendError(code, message, type)`: an `error` event (e.g. `rate_limit_exceeded`).
- `Fail(code, message, type)`: end the response with `status: failed` and that error.

The same script can be written as JSON (for the subprocess mode's control endpoint)::

    {"responses": [[{"say": "Hi"}], [{"call": "fetch_next_question", "arguments": {}}],
                   [{"drop": {"after_s": 0.2}}, {"say": "cut off"}],
                   [{"error": {"code": "rate_limit_exceeded", "message": "slow down"}}]],
     "user_transcripts": ["I led the migration."],
     "user_transcripts_by_tone": {"5000": ["Alice's answer."], "5600": ["Bruno's answer."]}}
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class CallTool:
    name: str
    arguments: Mapping[str, Any] | None = None
    call_id: str | None = None


@dataclass(frozen=True)
class Wait:
    seconds: float


@dataclass(frozen=True)
class Drop:
    after_s: float = 0.0
    abrupt: bool = False


@dataclass(frozen=True)
class SendError:
    code: str
    message: str
    type: str = "invalid_request_error"


@dataclass(frozen=True)
class Fail:
    code: str
    message: str
    type: str = "invalid_request_error"


Step = Say | CallTool | Wait | Drop | SendError | Fail


@dataclass(frozen=True)
class Turn:
    steps: tuple[Step, ...]

    def __init__(self, *steps: Step) -> None:
        object.__setattr__(self, "steps", tuple(steps))


class ScenarioError(ValueError):
    pass


def _step_from_dict(raw: Mapping[str, Any]) -> Step:
    if not isinstance(raw, Mapping) or len(raw) == 0:
        raise ScenarioError(f"a step must be a non-empty object, got {raw!r}")
    if "say" in raw:
        return Say(str(raw["say"]))
    if "call" in raw:
        args = raw.get("arguments")
        if args is not None and not isinstance(args, Mapping):
            raise ScenarioError("'arguments' of a call must be an object")
        call_id = raw.get("call_id")
        return CallTool(str(raw["call"]), args, None if call_id is None else str(call_id))
    if "wait" in raw:
        return Wait(float(raw["wait"]))
    if "drop" in raw:
        opts = raw["drop"] if isinstance(raw["drop"], Mapping) else {}
        return Drop(float(opts.get("after_s", 0.0)), bool(opts.get("abrupt", False)))
    for key, cls in (("error", SendError), ("fail", Fail)):
        if key in raw:
            opts = raw[key]
            if not isinstance(opts, Mapping) or "code" not in opts:
                raise ScenarioError(f"'{key}' needs an object with 'code' and 'message'")
            return cls(
                str(opts["code"]),
                str(opts.get("message", opts["code"])),
                str(opts.get("type", "invalid_request_error")),
            )
    raise ScenarioError(f"unknown step {sorted(raw)!r}")


def _step_to_dict(step: Step) -> dict[str, Any]:
    if isinstance(step, Say):
        return {"say": step.text}
    if isinstance(step, CallTool):
        out: dict[str, Any] = {"call": step.name, "arguments": step.arguments}
        if step.call_id:
            out["call_id"] = step.call_id
        return out
    if isinstance(step, Wait):
        return {"wait": step.seconds}
    if isinstance(step, Drop):
        return {"drop": {"after_s": step.after_s, "abrupt": step.abrupt}}
    key = "error" if isinstance(step, SendError) else "fail"
    return {key: {"code": step.code, "message": step.message, "type": step.type}}


@dataclass
class Scenario:
    """A script; its cursors advance as the server uses it (thread-safe)."""

    responses: list[Turn] = field(default_factory=list)
    user_transcripts: list[str] = field(default_factory=list)
    # Words per speaker: a turn whose audio carries this signature tone (Hz) takes its words
    # from that list, wherever the audio arrived.
    user_transcripts_by_tone: dict[float, list[str]] = field(default_factory=dict)
    _next_response: int = 0
    _next_transcript: int = 0
    _next_by_tone: dict[float, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def next_turn(self) -> Turn | None:
        with self._lock:
            if self._next_response >= len(self.responses):
                return None
            turn = self.responses[self._next_response]
            self._next_response += 1
            return turn

    @property
    def signature_tones(self) -> list[float]:
        return list(self.user_transcripts_by_tone)

    def next_user_transcript(self, tone_hz: float | None = None) -> str | None:
        """The words of the next turn: by the signature tone the audio carried, else in order."""
        with self._lock:
            if tone_hz is not None and tone_hz in self.user_transcripts_by_tone:
                words_for = self.user_transcripts_by_tone[tone_hz]
                i = self._next_by_tone.get(tone_hz, 0)
                if i >= len(words_for):
                    return None
                self._next_by_tone[tone_hz] = i + 1
                return words_for[i]
            if self._next_transcript >= len(self.user_transcripts):
                return None
            words = self.user_transcripts[self._next_transcript]
            self._next_transcript += 1
            return words

    @property
    def responses_used(self) -> int:
        return self._next_response

    @property
    def exhausted(self) -> bool:
        return self._next_response >= len(self.responses)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Scenario:
        if not isinstance(raw, Mapping):
            raise ScenarioError("a scenario must be a JSON object")
        unknown = set(raw) - {"responses", "user_transcripts", "user_transcripts_by_tone"}
        if unknown:
            raise ScenarioError(f"unknown scenario keys {sorted(unknown)!r}")
        turns_raw = raw.get("responses", [])
        if not isinstance(turns_raw, Sequence) or isinstance(turns_raw, str):
            raise ScenarioError("'responses' must be a list of turns (lists of steps)")
        turns: list[Turn] = []
        for t in turns_raw:
            if not isinstance(t, Sequence) or isinstance(t, str):
                raise ScenarioError("each turn must be a list of steps")
            turns.append(Turn(*(_step_from_dict(s) for s in t)))
        words = raw.get("user_transcripts", [])
        if not isinstance(words, Sequence) or isinstance(words, str):
            raise ScenarioError("'user_transcripts' must be a list of strings")
        by_tone_raw = raw.get("user_transcripts_by_tone", {})
        if not isinstance(by_tone_raw, Mapping) or not all(
            isinstance(v, Sequence) and not isinstance(v, str) for v in by_tone_raw.values()
        ):
            raise ScenarioError("'user_transcripts_by_tone' must map tones to lists of strings")
        try:
            by_tone = {float(k): [str(w) for w in v] for k, v in by_tone_raw.items()}
        except ValueError as exc:
            raise ScenarioError("'user_transcripts_by_tone' keys must be frequencies") from exc
        return cls(
            responses=turns,
            user_transcripts=[str(w) for w in words],
            user_transcripts_by_tone=by_tone,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "responses": [[_step_to_dict(s) for s in t.steps] for t in self.responses],
            "user_transcripts": list(self.user_transcripts),
            "user_transcripts_by_tone": {
                str(k): list(v) for k, v in self.user_transcripts_by_tone.items()
            },
        }
