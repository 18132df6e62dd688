"""The interview benchmark's pure figures: percentiles and stalls inside an utterance."""

from __future__ import annotations

import pytest

from bench.interview_figures import StallMeter, fmt_seconds, percentile

pytestmark = pytest.mark.unit

FRAME = 0.02


def feed(meter: StallMeter, pattern: str, start: float = 0.0, step: float = FRAME) -> float:
    """Frames at a steady pace: `#` loud, `.` quiet; returns the next frame's time."""
    at = start
    for ch in pattern:
        meter.frame(at, FRAME, ch == "#")
        at += step
    return at


def test_percentiles_interpolate_between_order_statistics() -> None:
    values = [4.0, 1.0, 3.0, 2.0, 5.0]
    assert percentile(values, 0.5) == 3.0
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 5.0
    assert percentile(values, 0.95) == pytest.approx(4.8)
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


def test_figures_print_a_dash_without_samples_and_subtract_an_offset() -> None:
    assert fmt_seconds([], (0.5, 0.95)) == "- / -"
    assert fmt_seconds([1.0, 2.0], (0.5,), offset=0.7) == "0.80"


def test_a_quiet_run_inside_an_utterance_is_a_stall_and_one_at_its_edges_is_not() -> None:
    meter = StallMeter()
    # silence before, a 200 ms hole inside, a 60 ms one (no stall), silence after
    feed(meter, "....." + "#####" + "." * 10 + "#####" + "..." + "###" + "." * 30)
    assert meter.audio_stalls == [pytest.approx(0.2)]
    assert meter.arrival_gaps == []


def test_quiet_between_turns_is_no_stall() -> None:
    meter = StallMeter()
    at = feed(meter, "#####" + "." * 50)
    meter.restart()  # the candidate answered
    feed(meter, "." * 40 + "#####", start=at)
    assert meter.audio_stalls == []


def test_frames_arriving_late_inside_an_utterance_are_an_arrival_gap() -> None:
    meter = StallMeter()
    at = feed(meter, "#####")
    # the next frames come 300 ms late, then at the usual pace again
    at = feed(meter, "#####", start=at + 0.3)
    assert meter.arrival_gaps == [pytest.approx(0.32)]
    assert meter.audio_stalls == []
    # a late frame after the utterance's last loud one is outside it
    meter.restart()
    feed(meter, ".", start=at + 1.0)
    assert len(meter.arrival_gaps) == 1


def test_a_long_pause_separates_two_utterances_of_one_turn() -> None:
    meter = StallMeter()
    feed(meter, "#####" + "." * 150 + "#####")  # 3 s apart: closing words, then goodbye
    assert meter.audio_stalls == []
