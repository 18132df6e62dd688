"""Every candidate of one benchmark run, in one asyncio process (bench_interviews.py starts it).

For each interview: create it through the token server (`POST /api/interviews`), then at its
join time agree to the consent text and trade the invite secret for a room token
(`POST /api/join/consent`, then `POST /api/join`, the path that dispatches the interviewer, as
the page does: the greeting latency includes both), join the LiveKit room with a microphone
track, and hold a spoken interview: wait for the greeting, answer each question with a
recorded answer once the interviewer has finished speaking, and stay until the interviewer ends
the interview and deletes the room.

Kept cheap so that many fit beside the worker: the answers are synthesised once (espeak-ng) and
cached under `.local/bench/answers/`, and cut into ready-made 50 ms frames shared by every
candidate; the microphone sends silence between answers, paced by the clock; the interviewer's
audio is received in 20 ms frames at 16 kHz and only its peak is looked at. The process may be
pinned to one CPU (`cpu` in the spec).

    python bench/interview_candidates.py SPEC.json OUT.json   (BENCH_API_KEY in the environment)

Writes one record per interview to OUT.json: greeting latency, the latency of each reply
(the end of the answer's audio at the microphone -> the first loud interviewer frame
received), stalls inside the interviewer's utterances, and how the interview ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from livekit import rtc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.interview_figures import StallMeter
from devstack.tools import REPO_ROOT
from tests.fixtures.token_server import agree_and_join

log = logging.getLogger("bench.candidates")

SAMPLE_RATE = 24_000  # realtime_local.audio's rate (imported only to synthesise: it is heavy)
MIC_FRAME_S = 0.05
MIC_SAMPLES = int(SAMPLE_RATE * MIC_FRAME_S)
LISTEN_RATE = 16_000
LISTEN_FRAME_MS = 20
# Peak level (PCM16) above which a received frame carries the interviewer's voice; its tone
# is at about 10,000, silence and concealment far below.
LOUD_PEAK = 2000
# Level (RMS, full scale 1.0) below which the end of an answer is trimmed: the local server's
# turn detector counts quiet from there.
TRIM_RMS = 0.01
CACHE_DIR = REPO_ROOT / ".local" / "bench" / "answers"
PAUSE_BEFORE_ANSWER_S = 0.4

PLAN = {
    "candidate_name": "Bench Candidate",
    "role": "Backend engineer",
    "level": "mid",
    "type": "technical",
    "mode": "screening",
    "duration_minutes": 30,
    "focus_areas": ["apis"],
    "language": "en",
}


def answer_pcm(text: str) -> bytes:
    """`text` spoken by espeak-ng, louder (as a close microphone), trimmed at both ends;
    synthesised once and cached on disk."""
    key = hashlib.sha256(f"v1|{SAMPLE_RATE}|{text}".encode()).hexdigest()[:20]
    path = CACHE_DIR / f"{key}.pcm"
    if path.exists():
        return path.read_bytes()
    from realtime_local.audio import SAMPLE_RATE as rate
    from realtime_local.audio import speak

    assert rate == SAMPLE_RATE
    samples = np.frombuffer(speak(text), dtype="<i2").astype(np.float32) * 2.0
    loud = np.clip(samples, -32768, 32767).astype("<i2")
    frame = SAMPLE_RATE // 50
    n = loud.size // frame
    levels = np.sqrt(np.mean((loud[: n * frame].reshape(n, frame) / 32768.0) ** 2, axis=1))
    voiced = np.nonzero(levels >= TRIM_RMS)[0]
    if voiced.size:
        loud = loud[voiced[0] * frame : (voiced[-1] + 1) * frame]
    data = loud.tobytes()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def mic_frames(pcm: bytes) -> list[rtc.AudioFrame]:
    step = MIC_SAMPLES * 2
    pcm += b"\x00" * (-len(pcm) % step)
    return [
        rtc.AudioFrame(pcm[i : i + step], SAMPLE_RATE, 1, MIC_SAMPLES)
        for i in range(0, len(pcm), step)
    ]


@dataclass
class Record:
    index: int
    interview_id: str = ""
    join_at: float = 0.0  # time.monotonic() of the join call
    interviewer_at: float | None = None  # the interviewer joined the room
    greeting_s: float | None = None
    replies_s: list[float] = field(default_factory=list)
    answers_given: int = 0
    audio_stalls_s: list[float] = field(default_factory=list)
    arrival_gaps_s: list[float] = field(default_factory=list)
    ended_at: float | None = None
    status: str | None = None  # the interview's stored status at the end
    outcome: str = "pending"  # completed, failed, hung, no_interviewer
    error: str | None = None


class BenchCandidate:
    def __init__(self, record: Record, answers: list[list[rtc.AudioFrame]]) -> None:
        self.record = record
        self.answers = answers
        self.room = rtc.Room()
        self.meter = StallMeter()
        self.source = rtc.AudioSource(SAMPLE_RATE, 1)
        self._silence = rtc.AudioFrame(bytes(MIC_SAMPLES * 2), SAMPLE_RATE, 1, MIC_SAMPLES)
        self._speech: list[rtc.AudioFrame] = []
        self._spoken = asyncio.Event()
        self._answer_end = 0.0
        self._loud = asyncio.Event()
        # The first loud frame received after `_mark` (see `arm`).
        self._mark = float("inf")
        self._first_loud: float | None = None
        self._states: list[str] = []
        self._state_changed = asyncio.Event()
        self._gone = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # ---- the room ---------------------------------------------------------------------------

    async def join(self, url: str, token: str) -> None:
        room = self.room

        @room.on("track_subscribed")
        def _track(track: rtc.Track, _pub: object, participant: rtc.RemoteParticipant) -> None:
            if track.kind == rtc.TrackKind.KIND_AUDIO and _is_agent(participant):
                self._tasks.append(asyncio.ensure_future(self._listen(track)))

        @room.on("participant_connected")
        def _joined(participant: rtc.RemoteParticipant) -> None:
            if _is_agent(participant) and self.record.interviewer_at is None:
                self.record.interviewer_at = time.monotonic()

        @room.on("participant_attributes_changed")
        def _attrs(changed: dict[str, str], participant: rtc.Participant) -> None:
            state = changed.get("lk.agent.state")
            if state and _is_agent(participant):
                self._states.append(state)
                self._state_changed.set()

        @room.on("disconnected")
        def _disconnected(_reason: object) -> None:
            self._gone.set()

        await room.connect(url, token, rtc.RoomOptions(auto_subscribe=True))
        for p in room.remote_participants.values():
            if _is_agent(p) and self.record.interviewer_at is None:
                self.record.interviewer_at = time.monotonic()
        track = rtc.LocalAudioTrack.create_audio_track("microphone", self.source)
        await room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        self._tasks.append(asyncio.ensure_future(self._microphone()))

    async def leave(self) -> None:
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.room.disconnect()
        with contextlib.suppress(Exception):
            await self.source.aclose()

    async def _microphone(self) -> None:
        """Silence, or the answer being spoken, one frame per 50 ms of the clock."""
        due = time.monotonic()
        while True:
            if self._speech:
                frame = self._speech.pop(0)
                await self.source.capture_frame(frame)
                if not self._speech:
                    # What is still queued in the source plays out after this moment.
                    self._answer_end = time.monotonic() + self.source.queued_duration
                    self._spoken.set()
            else:
                await self.source.capture_frame(self._silence)
            due += MIC_FRAME_S
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.5:  # far behind (a stalled loop): start the clock again
                due = time.monotonic()

    async def _listen(self, track: rtc.Track) -> None:
        stream = rtc.AudioStream(
            track, sample_rate=LISTEN_RATE, num_channels=1, frame_size_ms=LISTEN_FRAME_MS
        )
        meter = self.meter
        async for ev in stream:
            frame = ev.frame
            now = time.monotonic()
            samples = np.frombuffer(frame.data, dtype=np.int16)
            loud = bool(samples.size) and (
                int(samples.max()) > LOUD_PEAK or int(samples.min()) < -LOUD_PEAK
            )
            meter.frame(now, frame.samples_per_channel / frame.sample_rate, loud)
            if loud and self._first_loud is None and now > self._mark:
                self._first_loud = now
                self._loud.set()

    # ---- the conversation -------------------------------------------------------------------

    def arm(self, mark: float) -> None:
        """Look for the first loud interviewer frame received after `mark`."""
        self._first_loud = None
        self._loud.clear()
        self._mark = mark

    async def first_loud(self, timeout: float) -> float:
        """When the first loud frame after the `arm` mark arrived."""
        deadline = time.monotonic() + timeout
        while self._first_loud is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no interviewer audio")
            if self._gone.is_set():
                raise ConnectionError("the room closed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._loud.wait(), min(left, 1.0))
        return self._first_loud

    async def until_done_speaking(self, timeout: float) -> None:
        """Until the interviewer, having spoken, is listening again."""
        deadline = time.monotonic() + timeout
        while True:
            if "speaking" in self._states and self._states[-1] == "listening":
                self._states.clear()
                return
            self._state_changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the interviewer did not finish speaking")
            if self._gone.is_set():
                raise ConnectionError("the room closed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._state_changed.wait(), min(left, 1.0))

    async def say(self, frames: list[rtc.AudioFrame]) -> float:
        """Speak `frames`; the monotonic time their audio ends at the microphone."""
        self._spoken.clear()
        self.meter.restart()
        self._speech = list(frames)
        await asyncio.wait_for(self._spoken.wait(), len(frames) * MIC_FRAME_S + 10)
        return self._answer_end

    async def run(self, questions: int, step_timeout: float, greeting_timeout: float) -> None:
        rec = self.record
        try:
            greeted = await self.first_loud(greeting_timeout)
        except TimeoutError:
            rec.outcome = "no_interviewer" if rec.interviewer_at is None else "hung"
            rec.error = "no greeting"
            return
        rec.greeting_s = greeted - rec.join_at
        for k in range(questions):
            await self.until_done_speaking(step_timeout)
            await asyncio.sleep(PAUSE_BEFORE_ANSWER_S)
            end = await self.say(self.answers[(rec.index + k) % len(self.answers)])
            rec.answers_given += 1
            self.arm(end)
            heard = await self.first_loud(step_timeout)
            rec.replies_s.append(heard - end)
        # The interviewer says goodbye, then deletes the room.
        await asyncio.wait_for(self._gone.wait(), step_timeout + 15)
        rec.ended_at = time.monotonic()

    def collect(self) -> None:
        self.record.audio_stalls_s = list(self.meter.audio_stalls)
        self.record.arrival_gaps_s = list(self.meter.arrival_gaps)


def _is_agent(p: rtc.Participant) -> bool:
    return p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT


async def _status(http: httpx.AsyncClient, interview_id: str, timeout: float = 10.0) -> str | None:
    """The interview's stored status once it has ended (or the last one seen)."""
    deadline = time.monotonic() + timeout
    status: str | None = None
    while time.monotonic() < deadline:
        resp = await http.get(f"/api/interviews/{interview_id}")
        if resp.status_code == 200:
            status = str(resp.json()["interview"]["status"])
            if status not in ("waiting", "live"):
                return status
        await asyncio.sleep(0.3)
    return status


async def one_interview(
    spec: dict[str, Any],
    http: httpx.AsyncClient,
    record: Record,
    secret: str,
    answers: list[list[rtc.AudioFrame]],
) -> None:
    await asyncio.sleep(max(0.0, spec["join_at"][record.index] - time.monotonic()))
    candidate = BenchCandidate(record, answers)
    try:
        record.join_at = time.monotonic()
        candidate.arm(record.join_at)
        resp = await agree_and_join(http, secret)
        resp.raise_for_status()
        grant = resp.json()
        await candidate.join(grant["livekit_url"], grant["token"])
        await candidate.run(spec["questions"], spec["step_timeout_s"], spec["greeting_timeout_s"])
        record.status = await _status(http, record.interview_id)
        if record.outcome == "pending":
            record.outcome = "completed" if record.status == "completed" else "failed"
    except asyncio.CancelledError:
        if record.outcome == "pending":
            record.outcome = "hung" if record.interviewer_at is not None else "no_interviewer"
            record.error = "run deadline"
        raise
    except (TimeoutError, ConnectionError) as exc:
        record.outcome = "hung" if record.interviewer_at is not None else "no_interviewer"
        record.error = f"{type(exc).__name__}: {exc}"
        # How the interview stands in the store (it may have ended without the candidate
        # hearing the end, e.g. a goodbye lost under load).
        with contextlib.suppress(Exception):
            record.status = await _status(http, record.interview_id, timeout=5.0)
    except Exception as exc:  # an HTTP or LiveKit failure: the interview failed
        record.outcome = "failed"
        record.error = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        candidate.collect()
        await candidate.leave()


async def run(spec: dict[str, Any], out: Path) -> None:
    n = int(spec["n"])
    answers = [mic_frames(answer_pcm(text)) for text in spec["answers"]]
    records = [Record(index=i) for i in range(n)]
    headers = {"Authorization": f"Bearer {os.environ['BENCH_API_KEY']}"}
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=spec["base_url"], headers=headers, timeout=30, limits=limits
    ) as http:
        secrets: list[str] = []
        for rec in records:
            resp = await http.post(
                "/api/interviews", json={**PLAN, "question_count": spec["questions"]}
            )
            resp.raise_for_status()
            body = resp.json()
            rec.interview_id = body["interview"]["id"]
            secrets.append(body["invite"]["secret"])
        # Join times are relative to the moment the interviews exist.
        base = time.monotonic() + 0.5
        cpu_before = _cpu_s()
        spec = {**spec, "join_at": [base + offset for offset in spec["join_offsets_s"]]}
        tasks = [
            asyncio.ensure_future(one_interview(spec, http, rec, secret, answers))
            for rec, secret in zip(records, secrets, strict=True)
        ]
        left = spec["deadline"] - time.monotonic()
        _done, pending = await asyncio.wait(tasks, timeout=max(1.0, left))
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    result = {
        "started": started,
        "finished": time.monotonic(),
        "cpu_s": _cpu_s(),
        # From the first join on: what the candidates cost while they talk.
        "run_cpu_s": _cpu_s() - cpu_before,
        "run_from": base,
        "records": [asdict(r) for r in records],
    }
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(out)


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    spec = json.loads(Path(sys.argv[1]).read_text())
    cpu = spec.get("cpu")
    if cpu is not None:
        os.sched_setaffinity(0, {int(cpu)})
    asyncio.run(run(spec, Path(sys.argv[2])))


if __name__ == "__main__":
    main()
