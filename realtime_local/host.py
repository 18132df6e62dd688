"""What a Realtime session needs from the server that hosts it, as a small explicit interface.

`RealtimeServer` satisfies `SessionHost`; the session module imports only this, so the server
and the session no longer import each other, and a session can be hosted by anything that
offers these few things.
"""

from __future__ import annotations

from typing import Protocol

from realtime_local.audio import Synthesizer
from realtime_local.brain import ResponseContext
from realtime_local.faults import Faults
from realtime_local.scenario import Step


class SessionOptions(Protocol):
    @property
    def pace(self) -> float: ...  # audio speed relative to real time; 0: all at once

    @property
    def audio_lead_s(self) -> float: ...  # audio sent ahead of real time at a reply's start

    @property
    def vad_rms_threshold(self) -> float: ...  # speech level at turn detection threshold 0.5


class EventRecorder(Protocol):
    def record(self, conn: int, direction: str, text: str) -> None: ...


class HandlingStats(Protocol):
    def add(self, kind: str, seconds: float) -> None: ...


class SessionHost(Protocol):
    @property
    def options(self) -> SessionOptions: ...

    @property
    def faults(self) -> Faults: ...  # read at use: the server replaces it on reset

    @property
    def log(self) -> EventRecorder: ...

    @property
    def stats(self) -> HandlingStats: ...

    @property
    def synth(self) -> Synthesizer: ...

    def plan(self, ctx: ResponseContext) -> list[Step]:
        """The steps of the next response: the scenario's next turn, or the brain's."""
        ...

    def next_user_transcript(self, pcm: bytes) -> str:
        """What the user said in a committed turn."""
        ...
