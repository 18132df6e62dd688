"""Pure helpers of the interview benchmark: percentiles, stalls inside an utterance, the table.

Kept apart from the processes and the network so tests/unit/test_bench_interview_figures.py can
check them with made-up frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

# A pause in the interviewer's voice longer than this, inside one utterance, is a stall.
STALL_S = 0.1
# A pause this long is a new utterance, not a stall: the interviewer may speak twice in a turn
# (the goodbye after the closing words); a stall that long shows in the latency columns.
UTTERANCE_GAP_S = 2.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q` quantile (0-1) of `values`, interpolated linearly between order statistics
    (numpy's default); None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def fmt_seconds(values: Sequence[float], qs: Sequence[float], offset: float = 0.0) -> str:
    """`p50 / p95 ...` of `values` minus `offset`, in seconds ("-" when there are none)."""
    found = [percentile(values, q) for q in qs]
    return " / ".join("-" if v is None else f"{v - offset:.2f}" for v in found)


@dataclass
class StallMeter:
    """Finds stalls in the interviewer's audio as a listener receives it, one frame at a time.

    An utterance runs from its first loud frame to its last one; what lies between two loud
    frames is inside it. Two kinds of stall are counted there:

    - `audio_stalls`: runs of quiet frames longer than `threshold`, in audio time. The local
      Realtime server speaks a steady tone (no pauses of its own), so a quiet run inside it is
      audio that did not come: the sender's source ran dry and sent silence, or the receiver's
      jitter buffer concealed missing packets.
    - `arrival_gaps`: wall-clock gaps between consecutive received frames longer than
      `threshold`. These include the listener's own lateness (a busy event loop), so they are
      an upper bound on delivery stalls.

    `restart()` begins a new turn (the candidate spoke): quiet frames between two turns are no
    stall; nor is a pause of `utterance_gap` or more (two utterances in one turn).
    """

    threshold: float = STALL_S
    utterance_gap: float = UTTERANCE_GAP_S
    audio_stalls: list[float] = field(default_factory=list)
    arrival_gaps: list[float] = field(default_factory=list)
    loud_frames: int = 0
    _in_utterance: bool = False
    _quiet_s: float = 0.0
    _gap_s: float = 0.0
    _last_at: float | None = None

    def frame(self, at: float, duration: float, loud: bool) -> None:
        gap = 0.0 if self._last_at is None else at - self._last_at
        self._last_at = at
        if self._in_utterance:
            self._gap_s = max(self._gap_s, gap)
        if not loud:
            if self._in_utterance:
                self._quiet_s += duration
            return
        self.loud_frames += 1
        if self._in_utterance and max(self._quiet_s, self._gap_s) < self.utterance_gap:
            if self._quiet_s > self.threshold:
                self.audio_stalls.append(self._quiet_s)
            if self._gap_s > self.threshold:
                self.arrival_gaps.append(self._gap_s)
        self._in_utterance = True
        self._quiet_s = 0.0
        self._gap_s = 0.0

    def restart(self) -> None:
        self._in_utterance = False
        self._quiet_s = 0.0
        self._gap_s = 0.0


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
