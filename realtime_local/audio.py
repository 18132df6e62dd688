"""PCM16 24 kHz helpers: speech synthesis for replies and an energy detector for turns.

Replies are spoken with `espeak-ng` when it is installed, so a person listening to a rehearsal
hears words; otherwise a short two-tone signal stands in (clearly audible, never silence, so
anything downstream that measures audio still sees energy). Synthesis results are cached per
text and voice (one LRU for the whole process): the server speaks the same sentences again
and again in tests.

The server synthesises with `Synthesizer`: espeak-ng runs as an asyncio subprocess and the WAV
is decoded in a worker thread, so a long reply never stalls the event loop that serves every
other connection; a bounded number run at once, and concurrent requests for the same text share
one run. `speak` is the blocking form for tests and tools that prepare audio up front.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from cachetools import LRUCache

log = logging.getLogger("realtime_local.audio")

SAMPLE_RATE = 24_000
BYTES_PER_SAMPLE = 2
_ESPEAK_TIMEOUT_S = 10.0
_ESPEAK_SPEED_WPM = "175"
CACHE_SIZE = 256  # sentences; a rehearsal or a test suite says far fewer distinct ones
MAX_PARALLEL_SYNTHESES = 2  # espeak runs at once per server (a 2-core machine serves tests)


def ms_to_bytes(ms: float) -> int:
    return int(SAMPLE_RATE * ms / 1000) * BYTES_PER_SAMPLE


def bytes_to_ms(n: int) -> float:
    return n / BYTES_PER_SAMPLE / SAMPLE_RATE * 1000


def resample(samples: npt.NDArray[np.int16], src_rate: int, dst_rate: int) -> bytes:
    """Linear-interpolation resampling; good enough for speech a person only needs to follow."""
    if src_rate == dst_rate or samples.size == 0:
        return samples.astype("<i2").tobytes()
    n_out = round(samples.size * dst_rate / src_rate)
    src_t = np.arange(samples.size, dtype=np.float64) / src_rate
    dst_t = np.arange(n_out, dtype=np.float64) / dst_rate
    out = np.interp(dst_t, src_t, samples.astype(np.float64))
    return np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes()


def _parse_wav(data: bytes) -> tuple[int, npt.NDArray[np.int16]]:
    """PCM16 mono samples of a WAV stream whose size fields may be bogus (espeak --stdout)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV stream")
    pos = 12
    rate = 0
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = pos + 8
        if chunk_id == b"fmt ":
            channels = int.from_bytes(data[body + 2 : body + 4], "little")
            rate = int.from_bytes(data[body + 4 : body + 8], "little")
            bits = int.from_bytes(data[body + 14 : body + 16], "little")
            if channels != 1 or bits != 16:
                raise ValueError("expected 16-bit mono audio")
        elif chunk_id == b"data":
            pcm = data[body:]
            pcm = pcm[: len(pcm) - len(pcm) % 2]
            return rate, np.frombuffer(pcm, dtype="<i2")
        pos = body + size + (size & 1)
    raise ValueError("no data chunk")


def synthetic_speech(text: str) -> bytes:
    """An audible stand-in for speech: alternating tones, about as long as saying the text."""
    words = max(1, len(text.split()))
    seconds = min(12.0, 0.3 + 0.28 * words)
    t = np.arange(int(SAMPLE_RATE * seconds), dtype=np.float64) / SAMPLE_RATE
    freq = np.where((t * 4).astype(int) % 2 == 0, 330.0, 440.0)
    envelope = np.minimum(1.0, np.minimum(t, seconds - t) * 20)
    wave = 0.3 * 32767 * np.sin(2 * np.pi * freq * t) * envelope
    pcm: bytes = wave.astype("<i2").tobytes()
    return pcm


SynthesisKey = tuple[str, str, bool]  # text, voice, espeak wanted

_cache: LRUCache[SynthesisKey, bytes] = LRUCache(maxsize=CACHE_SIZE)
_cache_lock = threading.Lock()  # servers in threads and sync callers share the cache


def _cached(key: SynthesisKey) -> bytes | None:
    with _cache_lock:
        return _cache.get(key)


def _store(key: SynthesisKey, pcm: bytes) -> None:
    with _cache_lock:
        _cache[key] = pcm


def _espeak_argv(exe: str, text: str, voice: str) -> list[str]:
    return [exe, "--stdout", "-v", voice, "-s", _ESPEAK_SPEED_WPM, text]


def _decode(text: str, wav: bytes) -> bytes:
    try:
        rate, samples = _parse_wav(wav)
    except ValueError:
        log.warning("espeak-ng gave no usable WAV, using a synthetic signal")
        return synthetic_speech(text)
    return resample(samples, rate, SAMPLE_RATE) or synthetic_speech(text)


def speak(text: str, voice: str = "en-us", use_espeak: bool = True) -> bytes:
    """PCM16 24 kHz mono audio of `text` (blocking; the server uses `Synthesizer`)."""
    key = (text, voice, use_espeak)
    pcm = _cached(key)
    if pcm is not None:
        return pcm
    exe = shutil.which("espeak-ng") if use_espeak else None
    if exe is None:
        pcm = synthetic_speech(text)
    else:
        try:
            proc = subprocess.run(
                _espeak_argv(exe, text, voice),
                capture_output=True,
                timeout=_ESPEAK_TIMEOUT_S,
                check=True,
            )
            pcm = _decode(text, proc.stdout)
        except (subprocess.SubprocessError, OSError) as exc:
            log.warning("espeak-ng failed, using a synthetic signal: %s", type(exc).__name__)
            pcm = synthetic_speech(text)
    _store(key, pcm)
    return pcm


class Synthesizer:
    """Asynchronous, cached, shared speech synthesis for one server's event loop."""

    def __init__(self, use_espeak: bool = True, max_parallel: int = MAX_PARALLEL_SYNTHESES) -> None:
        self.use_espeak = use_espeak
        self._pending: dict[SynthesisKey, asyncio.Task[bytes]] = {}
        self._slots = asyncio.Semaphore(max_parallel)
        self.runs: Counter[SynthesisKey] = Counter()  # syntheses actually run, per key

    def runs_for(self, text: str, voice: str = "en-us") -> int:
        return self.runs[(text, voice, self.use_espeak)]

    async def speak(self, text: str, voice: str = "en-us") -> bytes:
        """PCM16 24 kHz mono audio of `text`, from the cache or one shared synthesis."""
        key = (text, voice, self.use_espeak)
        pcm = _cached(key)
        if pcm is not None:
            return pcm
        task = self._pending.get(key)
        if task is None:
            task = asyncio.create_task(self._synthesize(key))
            self._pending[key] = task
            task.add_done_callback(lambda _: self._pending.pop(key, None))
        # shielded: a caller cancelled by a barge-in must not cancel the others' synthesis
        return await asyncio.shield(task)

    async def _synthesize(self, key: SynthesisKey) -> bytes:
        text, voice, use_espeak = key
        self.runs[key] += 1
        exe = shutil.which("espeak-ng") if use_espeak else None
        async with self._slots:
            if exe is None:
                pcm = await asyncio.to_thread(synthetic_speech, text)
            else:
                pcm = await self._espeak(exe, text, voice)
        _store(key, pcm)
        return pcm

    async def _espeak(self, exe: str, text: str, voice: str) -> bytes:
        try:
            proc = await asyncio.create_subprocess_exec(
                *_espeak_argv(exe, text, voice),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError as exc:
            log.warning("espeak-ng failed to start, using a synthetic signal: %s", exc.errno)
            return synthetic_speech(text)
        try:
            wav, _ = await asyncio.wait_for(proc.communicate(), _ESPEAK_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            log.warning("espeak-ng timed out, using a synthetic signal")
            return synthetic_speech(text)
        except asyncio.CancelledError:  # the server is stopping
            proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            log.warning("espeak-ng exited with %s, using a synthetic signal", proc.returncode)
            return synthetic_speech(text)
        return await asyncio.to_thread(_decode, text, wav)


def rms(pcm: bytes) -> float:
    """Root mean square level of PCM16 audio, 0.0 (silence) to 1.0 (full scale)."""
    if len(pcm) < 2:
        return 0.0
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float32)
    return float(np.sqrt(np.mean(samples * samples)) / 32768.0)


@dataclass
class VadEvent:
    kind: str  # "started" or "stopped"
    at_ms: int  # position in the input audio stream of the connection


class EnergyVad:
    """Energy-based turn detection over 20 ms frames.

    Speech starts after `min_speech_ms` above `rms_threshold`; it stops after
    `silence_ms` below it. The start is reported `prefix_ms` early, as the real server does.
    """

    FRAME_MS = 20

    def __init__(
        self, *, rms_threshold: float, silence_ms: int, prefix_ms: int, min_speech_ms: int = 60
    ) -> None:
        self.rms_threshold = rms_threshold
        self.silence_ms = silence_ms
        self.prefix_ms = prefix_ms
        self.min_speech_ms = min_speech_ms
        self._frame_bytes = ms_to_bytes(self.FRAME_MS)
        self._pending = b""
        self._pos_ms = 0
        self._speaking = False
        self._loud_ms = 0
        self._quiet_ms = 0

    @property
    def speaking(self) -> bool:
        return self._speaking

    def reset(self) -> None:
        self._pending = b""
        self._speaking = False
        self._loud_ms = 0
        self._quiet_ms = 0

    def skip(self, ms: float) -> None:
        """Audio that was appended while detection was off still advances the clock."""
        self._pos_ms += int(ms)

    def feed(self, pcm: bytes) -> list[VadEvent]:
        events: list[VadEvent] = []
        data = self._pending + pcm
        n_frames = len(data) // self._frame_bytes
        for i in range(n_frames):
            frame = data[i * self._frame_bytes : (i + 1) * self._frame_bytes]
            loud = rms(frame) >= self.rms_threshold
            self._pos_ms += self.FRAME_MS
            if not self._speaking:
                self._loud_ms = self._loud_ms + self.FRAME_MS if loud else 0
                if self._loud_ms >= self.min_speech_ms:
                    self._speaking = True
                    self._quiet_ms = 0
                    start = self._pos_ms - self._loud_ms - self.prefix_ms
                    events.append(VadEvent("started", max(0, start)))
            else:
                self._quiet_ms = 0 if loud else self._quiet_ms + self.FRAME_MS
                if self._quiet_ms >= self.silence_ms:
                    self._speaking = False
                    self._loud_ms = 0
                    events.append(VadEvent("stopped", self._pos_ms - self._quiet_ms))
        self._pending = data[n_frames * self._frame_bytes :]
        return events


# -- who is speaking: a tone signature mixed into a test candidate's speech -------------------
#
# There is no speech recogniser here, so what the server "hears" in a committed user turn is
# read from the audio itself: each test speaker mixes a steady tone at a frequency of its own
# into its speech (`with_signature`), and the server finds which registered frequency the turn
# carries (`find_signature`). Audio from another room then yields that room's words, so a test
# comparing stored answers with each candidate's own words catches crossed audio. The tones sit
# above most of espeak's speech energy and below what Opus wideband keeps (8 kHz).
SIGNATURE_TONES_HZ = (4400.0, 5000.0, 5600.0, 6200.0, 6800.0)  # one per test speaker
SIGNATURE_LEVEL = 0.08  # tone amplitude, full scale 1.0
# tone power over the band's median power: plain espeak speech stays under 10, a signature
# mixed in at SIGNATURE_LEVEL scores in the thousands
SIGNATURE_MIN_SNR = 50.0


def with_signature(pcm: bytes, tone_hz: float, level: float = SIGNATURE_LEVEL) -> bytes:
    """`pcm` (PCM16 24 kHz) with a steady `tone_hz` sine mixed in where it is not silent."""
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
    t = np.arange(samples.size, dtype=np.float64) / SAMPLE_RATE
    tone = level * 32767 * np.sin(2 * np.pi * tone_hz * t)
    mixed = np.clip(samples + tone, -32768, 32767)
    return mixed.astype("<i2").tobytes()


def signature_strengths(pcm: bytes, tones_hz: list[float]) -> dict[float, float]:
    """Each tone's power in `pcm` over the median power of the 600 Hz band around it."""
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
    n = 4096  # ~5.9 Hz bins at 24 kHz; frames averaged (Welch) so speech bursts even out
    if samples.size < n or not tones_hz:
        return {tone: 0.0 for tone in tones_hz}
    window = np.hanning(n)
    frames = [samples[i : i + n] * window for i in range(0, samples.size - n + 1, n // 2)]
    power = np.mean([np.abs(np.fft.rfft(f)) ** 2 for f in frames], axis=0)
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    out: dict[float, float] = {}
    for tone in tones_hz:
        peak = power[np.abs(freqs - tone) <= 12].max(initial=0.0)
        band = power[(np.abs(freqs - tone) <= 300) & (np.abs(freqs - tone) > 40)]
        floor = float(np.median(band)) if band.size else 0.0
        out[tone] = float(peak / floor) if floor > 0 else (float("inf") if peak > 0 else 0.0)
    return out


def find_signature(pcm: bytes, tones_hz: list[float]) -> float | None:
    """The registered tone `pcm` carries most strongly, if any carries one clearly."""
    strengths = signature_strengths(pcm, tones_hz)
    if not strengths:
        return None
    best = max(strengths, key=lambda tone: strengths[tone])
    return best if strengths[best] >= SIGNATURE_MIN_SNR else None
