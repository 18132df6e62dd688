"""The realtime model and the session's turn handling, from settings.

Turn taking: by default the model's server-side VAD ends the user's turn and starts barge-in
(livekit-agents leaves interruptions to the server's `speech_started` in this mode); the local
Silero VAD drives the user's state (speaking, listening, away). With `turn_detection="vad"`,
Silero ends the turn and interrupts locally: the model gets `turn_detection: null` and the
session commits the audio itself. Both are explicit so the session never falls back to a
cloud turn detector.
"""

from __future__ import annotations

from typing import Any

from livekit.agents import AgentSession, vad
from livekit.agents.voice.turn import TurnHandlingOptions
from livekit.plugins import openai
from openai.types.realtime import AudioTranscription
from openai.types.realtime.realtime_audio_input_turn_detection import ServerVad

from agent.interviewer import InterviewState
from agent.settings import AgentSettings


def build_model(settings: AgentSettings) -> openai.realtime.RealtimeModel:
    kwargs: dict[str, Any] = {}
    if settings.openai_base_url:
        kwargs["base_url"] = settings.openai_base_url
    turn_detection = (
        ServerVad(
            type="server_vad",
            threshold=settings.server_vad_threshold,
            silence_duration_ms=settings.server_vad_silence_ms,
            prefix_padding_ms=300,
            create_response=True,
            interrupt_response=True,
        )
        if settings.turn_detection == "server"
        else None
    )
    return openai.realtime.RealtimeModel(
        model=settings.openai_model,
        voice=settings.openai_voice,
        api_key=settings.openai_api_key.get_secret_value() or None,
        turn_detection=turn_detection,
        input_audio_transcription=AudioTranscription(model=settings.openai_transcription_model),
        **kwargs,
    )


def turn_handling(settings: AgentSettings) -> TurnHandlingOptions:
    return {
        "turn_detection": "realtime_llm" if settings.turn_detection == "server" else "vad",
        # Local barge-in from Silero; "adaptive" would need a hosted model.
        "interruption": {"enabled": True, "mode": "vad", "min_duration": 0.4},
        "endpointing": {"min_delay": 0.5, "max_delay": 3.0},
        "preemptive_generation": {"enabled": False},
    }


def build_session(
    settings: AgentSettings, state: InterviewState, silero: vad.VAD
) -> AgentSession[InterviewState]:
    return AgentSession[InterviewState](
        llm=build_model(settings),
        vad=silero,
        turn_handling=turn_handling(settings),
        userdata=state,
        user_away_timeout=settings.silence_checkin_s,
        aec_warmup_duration=settings.aec_warmup_s,
        max_tool_steps=5,
    )
