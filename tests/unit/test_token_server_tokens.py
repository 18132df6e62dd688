"""Pure parts of the token server: token grants, invite hashing, room names, rate limiter, keys."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from uuid import uuid4

import jwt
import pytest
from livekit import api

from token_server import tokens
from token_server.auth import ApiKeyAuthenticator, key_id
from token_server.ratelimit import RateLimiter, retry_after_header

pytestmark = pytest.mark.unit

KEY, SECRET = "testkey", "s" * 40


def test_candidate_token_is_scoped_to_one_room_and_the_microphone() -> None:
    iid = uuid4()
    token = tokens.candidate_token(
        api_key=KEY,
        api_secret=SECRET,
        room=tokens.room_name(iid),
        identity=tokens.candidate_identity(iid),
        name="Ada",
        ttl=timedelta(minutes=10),
    )
    claims = api.TokenVerifier(KEY, SECRET).verify(token)
    assert claims.identity == f"candidate-{iid}"
    assert claims.video is not None
    assert claims.video.room == f"iv-{iid}"
    assert claims.video.room_join is True
    assert claims.video.can_publish_sources == ["microphone"]
    assert claims.video.can_publish_data is True
    assert claims.video.can_subscribe is True
    assert not claims.video.room_admin and not claims.video.room_create
    assert not claims.video.hidden


def test_observer_token_is_hidden_and_subscribe_only() -> None:
    token = tokens.observer_token(
        api_key=KEY, api_secret=SECRET, room="iv-x", identity="observer-1", ttl=timedelta(minutes=5)
    )
    claims = api.TokenVerifier(KEY, SECRET).verify(token)
    assert claims.video is not None
    assert claims.video.hidden is True
    assert claims.video.can_publish is False
    assert claims.video.can_publish_data is False
    assert claims.video.can_subscribe is True
    assert claims.video.room == "iv-x"


@pytest.mark.parametrize("minutes", [1, 10, 60])
def test_token_lifetime_is_the_ttl(minutes: int) -> None:
    token = tokens.observer_token(
        api_key=KEY, api_secret=SECRET, room="r", identity="o", ttl=timedelta(minutes=minutes)
    )
    raw = jwt.decode(token, SECRET, algorithms=["HS256"], issuer=KEY)
    assert raw["exp"] - raw["nbf"] == minutes * 60


def test_a_token_signed_with_another_secret_does_not_verify() -> None:
    token = tokens.observer_token(
        api_key=KEY, api_secret="x" * 40, room="r", identity="o", ttl=timedelta(minutes=1)
    )
    with pytest.raises(jwt.InvalidSignatureError):
        api.TokenVerifier(KEY, SECRET).verify(token)


def test_invite_secret_is_random_and_only_its_hash_is_derived() -> None:
    a, b = tokens.new_invite_secret(), tokens.new_invite_secret()
    assert a != b
    assert len(a) >= 43
    assert tokens.invite_hash(a) == hashlib.sha256(a.encode()).hexdigest()
    assert a not in tokens.invite_hash(a)


def test_room_names_round_trip_and_foreign_rooms_are_not_interviews() -> None:
    iid = uuid4()
    assert tokens.interview_id_from_room(tokens.room_name(iid)) == iid
    assert tokens.interview_id_from_room("iv-not-a-uuid") is None
    assert tokens.interview_id_from_room(f"other-{iid}") is None


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = _Clock()
    limiter = RateLimiter(rate_per_minute=60, burst=3, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("a")
    assert wait == pytest.approx(1.0)
    assert retry_after_header(wait) == "1"
    assert limiter.acquire("b") == 0.0  # clients have their own buckets
    clock.now += 1.0
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0


def test_rate_limiter_bounds_the_clients_it_tracks() -> None:
    limiter = RateLimiter(rate_per_minute=1, burst=1, max_clients=2, clock=_Clock())
    for key in ("a", "b", "c"):
        assert limiter.acquire(key) == 0.0
    # "a" was evicted, so it starts with a fresh bucket
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("c") > 0


async def test_api_keys_match_exactly_and_name_the_key_without_revealing_it() -> None:
    keys = ["k" * 32, "z" * 32]
    auth = ApiKeyAuthenticator(keys)
    who = await auth.authenticate("z" * 32)
    assert who is not None
    assert who.id == key_id("z" * 32)
    assert "z" * 8 not in who.id
    assert await auth.authenticate("z" * 31) is None
    assert await auth.authenticate("z" * 33) is None
    assert await auth.authenticate("") is None
    assert await ApiKeyAuthenticator([]).authenticate("") is None
