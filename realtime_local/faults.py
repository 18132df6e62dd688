"""Faults the local server injects on demand (tests set them; the subprocess takes them over HTTP).

Its own module so every part of the server (the Realtime sessions, the text API) can read the
faults without importing the server itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

# The plan_* kinds answer a plan draft with a plan its checks must refuse (realtime_local.planner).
TEXT_FAILURE_KINDS = (
    "error",
    "refusal",
    "plan_unknown_bank_id",
    "plan_wrong_count",
    "plan_custom_changed",
)


@dataclass
class Faults:
    """Faults on demand; tests set them directly, the subprocess via `PUT /_control/faults`."""

    refuse_connections: int = 0  # refuse this many upcoming connections (HTTP 503)
    refuse_until: float = 0.0  # and every connection until this time.monotonic()
    response_delay_s: float = 0.0  # think this long before each response's output
    drop_mid_response: int = 0  # drop the socket 150 ms into this many upcoming responses
    # send a committed user turn's input_audio_transcription delta/completed this long after
    # the commit, so they arrive after the reply to that turn has started (as OpenAI's may)
    transcript_delay_ms: float = 0.0
    # the next this many chat completions fail: HTTP 500 ("error"), a refusal ("refusal") or a
    # plan draft its caller must refuse ("plan_unknown_bank_id", ...)
    text_failures: int = 0
    text_failure_kind: str = "error"

    def refuse_for(self, seconds: float) -> None:
        self.refuse_until = time.monotonic() + seconds

    def take_refusal(self) -> bool:
        if self.refuse_connections > 0:
            self.refuse_connections -= 1
            return True
        return time.monotonic() < self.refuse_until

    def take_drop_mid_response(self) -> bool:
        if self.drop_mid_response > 0:
            self.drop_mid_response -= 1
            return True
        return False

    def take_text_failure(self) -> str | None:
        """The kind of failure the next chat completion gets, if any (`TEXT_FAILURE_KINDS`)."""
        if self.text_failures > 0:
            self.text_failures -= 1
            return self.text_failure_kind
        return None

    def update(self, body: Any) -> None:
        """Apply a `PUT /_control/faults` body; ValueError names what is wrong with it."""
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        known = {f.name for f in fields(Faults)} | {"refuse_for_s"}
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)!r}")
        kind = body.get("text_failure_kind", self.text_failure_kind)
        if kind not in TEXT_FAILURE_KINDS:
            raise ValueError(f"text_failure_kind must be one of {list(TEXT_FAILURE_KINDS)!r}")
        for key, value in body.items():
            if key == "refuse_for_s":
                self.refuse_for(float(value))
            else:
                setattr(self, key, type(getattr(self, key))(value))
