"""The agent worker's settings (environment variables, see `.env.example`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from interview.settings import ServiceSettings


class AgentSettings(ServiceSettings):
    # ---- worker process pool ------------------------------------------------------------
    # Health/status HTTP port of the worker (0 picks a free one).
    agent_health_port: int = 8081
    # Interviews one worker runs at once (its load is running / capacity; see agent/load.py).
    # The model runs at OpenAI; a job's local work (WebRTC audio, Silero VAD) is a small share
    # of a core (about 0.12 measured on a 2-core host) and about 70 MB PSS per interview (see
    # the README's sizing guide).
    agent_capacity: int = Field(default=4, ge=1, le=64)
    # Above this share of the host's CPU (0-1, averaged over 2.5 s) used by the worker's own
    # processes (not the candidates' or anything else on the host) the worker reports itself
    # full, whatever it runs; 1 turns the guard off.
    agent_cpu_guard: float = Field(default=0.95, gt=0, le=1)
    # Seconds a draining worker (SIGTERM) waits for running interviews before it exits: the
    # longest interview (90 min) plus the wait for its candidate and the end, so a deploy never
    # cuts one short. A process manager's kill timeout must be at least this long.
    agent_drain_timeout: int = Field(default=7200, ge=0)
    # Job processes kept warm (VAD loaded) for new interviews (at most the capacity). A warm
    # process forks from the forkserver with everything loaded (agent/warmup.py): about 40 MB
    # PSS idle and 0.01-0.1 s to start, so as many as the capacity let a burst of candidates
    # joining at once be greeted without waiting for processes to start.
    agent_idle_processes: int = Field(default=4, ge=0)
    # How interviews run: each in its own process (isolated: a crash or a stuck interview
    # touches no other) or each in a thread of one process (shares the WebRTC runtime, its audio
    # device thread and the imports; one Python interpreter, so one GIL for all of them).
    agent_job_executor: Literal["process", "thread"] = "process"
    # A job whose interview's stored state cannot be read tries this many times, then ends
    # without writing, so a later dispatch resumes it instead of it starting again.
    agent_state_read_attempts: int = Field(default=3, ge=1, le=10)

    # ---- model ----------------------------------------------------------------------------
    openai_api_key: SecretStr = SecretStr("")
    openai_base_url: str = ""
    openai_model: str = "gpt-realtime"
    openai_voice: str = "marin"
    openai_transcription_model: str = "gpt-4o-mini-transcribe"
    # "server": the model's server-side VAD ends turns; "vad": local Silero ends turns and the
    # session commits audio itself. Silero drives barge-in in both.
    turn_detection: Literal["server", "vad"] = "server"
    server_vad_threshold: float = Field(default=0.5, ge=0, le=1)
    server_vad_silence_ms: int = Field(default=700, ge=100, le=5000)
    # Seconds after the agent starts speaking during which the candidate's audio is ignored
    # while echo cancellation settles. Browsers cancel echo before audio is sent, so the default
    # is off: a deaf window would stop the candidate from interrupting ("sorry, can you repeat").
    aec_warmup_s: float | None = None
    # USD per million tokens, for the cost estimate stored with each interview. Input served
    # from the model's prompt cache is billed at the cached rates.
    price_text_in: float = Field(default=4.0, ge=0)
    price_text_in_cached: float = Field(default=0.4, ge=0)
    price_text_out: float = Field(default=16.0, ge=0)
    price_audio_in: float = Field(default=32.0, ge=0)
    price_audio_in_cached: float = Field(default=0.4, ge=0)
    price_audio_out: float = Field(default=64.0, ge=0)
    # The model is the local offline rehearsal server (realtime_local; `make dev` without an
    # OpenAI key sets this): usage is still counted, the cost is 0.
    rehearsal_model: bool = False
    # Seconds between writes of the running usage totals (also written at the end).
    usage_write_interval_s: float = Field(default=30, gt=0)

    # ---- interview timing (seconds) --------------------------------------------------------
    candidate_join_timeout_s: float = Field(default=600, gt=0)
    # How long the interviewer waits, once the candidate is in, for someone to subscribe to its
    # voice before it starts listening and greets anyway.
    audio_subscription_timeout_s: float = Field(default=10, gt=0)
    wrap_up_lead_s: float = Field(default=60, ge=0)
    silence_checkin_s: float = Field(default=20, gt=0)
    silence_max_checkins: int = Field(default=2, ge=0)
    reconnect_grace_s: float = Field(default=60, ge=0)
    goodbye_timeout_s: float = Field(default=15, gt=0)
    # Overrides the planned duration (tests use seconds-long interviews).
    duration_override_s: float | None = None
    # Replaces the time limit of every planned question that has one (tests use seconds).
    question_time_limit_override_s: float | None = Field(default=None, gt=0)

    # ---- store -----------------------------------------------------------------------------
    outbox_dir: Path = Path(".local/outbox")
    store_flush_timeout_s: float = 5.0
    # Seconds between the worker's sweeps of outboxes left behind by jobs that ended with
    # writes undelivered (one sweep also runs at start).
    outbox_sweep_interval_s: float = Field(default=60, gt=0)
