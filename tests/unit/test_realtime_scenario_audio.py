"""Scenario scripts (JSON form, cursors) and the audio helpers (speech, energy detector)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from realtime_local.audio import (
    SAMPLE_RATE,
    SIGNATURE_TONES_HZ,
    EnergyVad,
    find_signature,
    ms_to_bytes,
    resample,
    speak,
    synthetic_speech,
    with_signature,
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


def test_user_words_follow_the_signature_tone_the_turn_carries() -> None:
    scenario = Scenario.from_dict(
        {
            "user_transcripts": ["shared"],
            "user_transcripts_by_tone": {"5000": ["a1", "a2"], "5600": ["b1"]},
        }
    )

    got = [
        scenario.next_user_transcript(5600.0),
        scenario.next_user_transcript(5000.0),
        scenario.next_user_transcript(5600.0),
        scenario.next_user_transcript(5000.0),
        scenario.next_user_transcript(None),
    ]

    assert got == ["b1", "a1", None, "a2", "shared"]
    assert Scenario.from_dict(scenario.to_dict()).user_transcripts_by_tone == {
        5000.0: ["a1", "a2"],
        5600.0: ["b1"],
    }
    with pytest.raises(ScenarioError):
        Scenario.from_dict({"user_transcripts_by_tone": {"Alice": ["a1"]}})
    with pytest.raises(ScenarioError):
        Scenario.from_dict({"user_transcripts_for": {"Alice": ["a1"]}})


def _boosted(text: str) -> npt.NDArray[np.int16]:
    samples = np.frombuffer(speak(text), dtype="<i2").astype(np.float64) * 2.0
    return np.clip(samples, -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("tone", SIGNATURE_TONES_HZ)
def test_each_signature_is_found_in_speech_and_survives_resampling(tone: float) -> None:
    speech = _boosted("My name is Alice and this is my answer.")
    signed = with_signature(speech.tobytes(), tone)
    # LiveKit carries the microphone at 48 kHz; the agent resamples to the model's 24 kHz.
    up = np.frombuffer(resample(np.frombuffer(signed, dtype="<i2"), SAMPLE_RATE, 48_000), "<i2")
    back = resample(up, 48_000, SAMPLE_RATE)

    assert find_signature(signed, list(SIGNATURE_TONES_HZ)) == tone
    assert find_signature(back, list(SIGNATURE_TONES_HZ)) == tone


@pytest.mark.parametrize(
    "text", ["My name is Alice and this is my answer.", "The candidate.", "I shard by tenant."]
)
def test_plain_speech_and_silence_carry_no_signature(text: str) -> None:
    tones = list(SIGNATURE_TONES_HZ)
    assert find_signature(_boosted(text).tobytes(), tones) is None
    assert find_signature(bytes(ms_to_bytes(2000)), tones) is None
    assert find_signature(b"", tones) is None
