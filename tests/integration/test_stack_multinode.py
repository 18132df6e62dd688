"""Two LiveKit nodes sharing a Redis act as one cluster: a participant connected to either node
reaches the same room."""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from livekit import api, rtc

from devstack import LiveKitServer, Redis

pytestmark = pytest.mark.integration

RATE = 48_000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[LiveKitServer]]:
    redis = Redis(tmp_path_factory.mktemp("cluster-redis"))
    redis.start()
    secret = secrets.token_urlsafe(32)
    nodes = [
        LiveKitServer(
            Path(tmp_path_factory.mktemp(f"node{i}")),
            api_key="clusterkey",
            api_secret=secret,
            redis_address=redis.address,
        )
        for i in range(2)
    ]
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            node.stop()
        redis.stop()


def _token(node: LiveKitServer, identity: str, room: str) -> str:
    return (
        api.AccessToken(node.api_key, node.api_secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .to_jwt()
    )


async def test_participants_on_different_nodes_share_a_room(cluster: list[LiveKitServer]) -> None:
    first, second = cluster
    speaker, listener = rtc.Room(), rtc.Room()
    got: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    @listener.on("track_subscribed")
    def _on_track(track: rtc.Track, *_: object) -> None:
        if not got.done():
            got.set_result(track)

    stop = asyncio.Event()

    async def tone(source: rtc.AudioSource) -> None:
        n = 0
        while not stop.is_set():
            frame = rtc.AudioFrame.create(RATE, 1, RATE // 100)
            samples = np.arange(n, n + RATE // 100)
            np.frombuffer(frame.data, dtype=np.int16)[:] = (
                6000 * np.sin(2 * math.pi * 330 * samples / RATE)
            ).astype(np.int16)
            n += RATE // 100
            await source.capture_frame(frame)

    try:
        await speaker.connect(first.url, _token(first, "speaker", "shared"))
        await listener.connect(second.url, _token(second, "listener", "shared"))
        source = rtc.AudioSource(RATE, 1)
        await speaker.local_participant.publish_track(
            rtc.LocalAudioTrack.create_audio_track("tone", source),
            rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE),
        )
        sending = asyncio.create_task(tone(source))
        track = await asyncio.wait_for(got, timeout=20)
        stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)
        loudest = 0.0
        async for ev in stream:
            pcm = np.frombuffer(ev.frame.data, dtype=np.int16).astype(np.float64)
            loudest = max(loudest, float(np.sqrt(np.mean(pcm**2))))
            if loudest > 1000:
                break
        await stream.aclose()
        stop.set()
        await sending
        async with api.LiveKitAPI(second.http_url, second.api_key, second.api_secret) as lk:
            seen = await lk.room.list_participants(api.ListParticipantsRequest(room="shared"))
    finally:
        stop.set()
        await speaker.disconnect()
        await listener.disconnect()

    assert loudest > 1000
    assert sorted(p.identity for p in seen.participants) == ["listener", "speaker"]
