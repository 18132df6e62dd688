"""Scenario scripts (JSON form, cursors) and the audio helpers (speech, energy detector)."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_local.audio import (
    SAMPLE_RATE,
    EnergyVad,
    ms_to_bytes,
    resample,
    speak,
    synthetic_speech,
)
from realtime_local.scenario import (
    CallTool,
    Drop,
    Fail,
    Say,
    Scenario,
    ScenarioError,
    SendError,
    Turn,
    Wait,
)

pytestmark = pytest.mark.unit


def test_scenario_round_trips_through_json_and_advances() -> None:
    scenario = Scenario(
        [
            Turn(Say("Hi"), CallTool("fetch_next_question", {"topic": "sql"}, "call_1")),
            Turn(Wait(0.5), Drop(0.2, abrupt=True)),
            Turn(SendError("rate_limit_exceeded", "slow down", "rate_limit_error"), Fail("x", "y")),
        ],
        user_transcripts=["one", "two"],
    )
    again = Scenario.from_dict(scenario.to_dict())
    assert again.responses == scenario.responses
    assert again.user_transcripts == ["one", "two"]
    assert again.next_turn() == scenario.responses[0]
    assert again.next_user_transcript() == "one"
    assert again.next_user_transcript() == "two"
    assert again.next_user_transcript() is None
    again.next_turn()
    again.next_turn()
    assert again.exhausted and again.next_turn() is None


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"responses": "say hi"},
        {"responses": [[{"shout": "x"}]]},
        {"responses": [[{"call": "f", "arguments": [1]}]]},
        {"responses": [[{"error": "oops"}]]},
        {"turns": []},
    ],
)
def test_bad_scenarios_are_rejected_with_a_reason(raw: object) -> None:
    with pytest.raises(ScenarioError):
        Scenario.from_dict(raw)  # type: ignore[arg-type]


def test_speak_gives_24khz_speech_and_the_fallback_is_audible() -> None:
    pcm = speak("Tell me about a project you are proud of.")
    seconds = len(pcm) / 2 / SAMPLE_RATE
    assert 1.0 < seconds < 6.0
    tone = np.frombuffer(synthetic_speech("three short words"), dtype="<i2")
    assert tone.size > SAMPLE_RATE // 2
    assert np.sqrt(np.mean(tone.astype(np.float64) ** 2)) > 3000


def test_resample_keeps_duration() -> None:
    src = (np.sin(np.arange(22050) / 10) * 10000).astype(np.int16)
    out = resample(src, 22050, SAMPLE_RATE)
    assert len(out) == 2 * SAMPLE_RATE


def test_energy_vad_finds_start_and_end_of_speech() -> None:
    vad = EnergyVad(rms_threshold=0.02, silence_ms=300, prefix_ms=100)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    loud = (np.sin(2 * np.pi * 220 * t) * 8000).astype("<i2").tobytes()
    quiet = bytes(ms_to_bytes(500))
    events = vad.feed(quiet) + vad.feed(loud) + vad.feed(quiet)
    assert [(e.kind, e.at_ms) for e in events] == [("started", 400), ("stopped", 1500)]
    assert not vad.speaking
    assert vad.feed(quiet) == []


def test_user_words_per_session_follow_the_instructions_marker() -> None:
    scenario = Scenario.from_dict(
        {
            "user_transcripts": ["shared"],
            "user_transcripts_for": {"Alice": ["a1", "a2"], "Bob": ["b1"]},
        }
    )

    got = [
        scenario.next_user_transcript("You interview Bob."),
        scenario.next_user_transcript("You interview Alice."),
        scenario.next_user_transcript("You interview Bob."),
        scenario.next_user_transcript("You interview Alice."),
        scenario.next_user_transcript("You interview Carol."),
    ]

    assert got == ["b1", "a1", None, "a2", "shared"]
    assert Scenario.from_dict(scenario.to_dict()).user_transcripts_for == {
        "Alice": ["a1", "a2"],
        "Bob": ["b1"],
    }
