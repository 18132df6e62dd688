"""The real LiveKit server carries audio between two real rtc participants."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest
from livekit import api, rtc

from devstack import LiveKitServer

pytestmark = pytest.mark.integration

SAMPLE_RATE = 48_000
FRAME_MS = 10


def _token(server: LiveKitServer, identity: str, room: str) -> str:
    return (
        api.AccessToken(server.api_key, server.api_secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .to_jwt()
    )


async def _publish_tone(source: rtc.AudioSource, stop: asyncio.Event) -> None:
    samples = SAMPLE_RATE * FRAME_MS // 1000
    t = 0
    while not stop.is_set():
        frame = rtc.AudioFrame.create(SAMPLE_RATE, 1, samples)
        data = np.frombuffer(frame.data, dtype=np.int16)
        n = np.arange(t, t + samples)
        data[:] = (8000 * np.sin(2 * math.pi * 440 * n / SAMPLE_RATE)).astype(np.int16)
        t += samples
        await source.capture_frame(frame)


async def test_audio_published_by_one_participant_reaches_the_other(
    livekit_server: LiveKitServer,
) -> None:
    room_name = "foundation-audio"
    speaker, listener = rtc.Room(), rtc.Room()
    subscribed: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    @listener.on("track_subscribed")
    def _on_track(track: rtc.Track, *_: object) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO and not subscribed.done():
            subscribed.set_result(track)

    stop = asyncio.Event()
    try:
        await listener.connect(livekit_server.url, _token(livekit_server, "listener", room_name))
        await speaker.connect(livekit_server.url, _token(livekit_server, "speaker", room_name))
        source = rtc.AudioSource(SAMPLE_RATE, 1)
        track = rtc.LocalAudioTrack.create_audio_track("tone", source)
        await speaker.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        tone = asyncio.create_task(_publish_tone(source, stop))

        remote = await asyncio.wait_for(subscribed, timeout=15)
        stream = rtc.AudioStream(remote, sample_rate=SAMPLE_RATE, num_channels=1)
        loudest = 0.0
        frames = 0

        async def _read() -> None:
            nonlocal loudest, frames
            async for event in stream:
                samples = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float64)
                frames += 1
                loudest = max(loudest, float(np.sqrt(np.mean(samples**2))))
                if frames >= 100 and loudest > 1000:
                    return

        await asyncio.wait_for(_read(), timeout=15)
        await stream.aclose()
        stop.set()
        await tone
    finally:
        stop.set()
        await speaker.disconnect()
        await listener.disconnect()

    assert frames >= 100
    # The tone is sent at an RMS of about 5650; Opus keeps it well above silence.
    assert loudest > 1000
