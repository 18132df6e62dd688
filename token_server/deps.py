"""What the routes depend on, reached through the request (no module globals).

`Services` is built once per app (by the factory's lifespan) and holds the settings, the store,
the LiveKit API client, the authenticator, the rate limiters and the interviewer arrival tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from livekit import api

from interview.planner import Planner
from interview.store import Store
from token_server.arrival import Arrivals
from token_server.auth import Authenticator, Principal
from token_server.errors import ApiError
from token_server.ratelimit import RateLimiter, retry_after_header
from token_server.settings import Settings


@dataclass
class Services:
    settings: Settings
    store: Store
    livekit: api.LiveKitAPI
    authenticator: Authenticator
    create_limiter: RateLimiter
    join_limiter: RateLimiter
    review_limiter: RateLimiter
    # Drafting plans with the text model (POST /api/interviews/plan-draft) and its own limit.
    planner: Planner
    plan_limiter: RateLimiter
    # Webhook events that re-dispatched an agent into a live interview, per interview (this
    # process's count; the audit log keeps the durable record).
    redispatches: dict[UUID, set[str]] = field(default_factory=dict)
    # The tasks getting an interviewer into rooms (token_server.arrival).
    arrivals: Arrivals = field(default_factory=Arrivals)


def get_services(request: Request) -> Services:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise ApiError(503, "starting", "the server is starting; try again")
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

_bearer = HTTPBearer(auto_error=False, description="An interviewer API key")


async def require_interviewer(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401, "unauthenticated", "an interviewer API key is required", headers=challenge
        )
    principal = await services.authenticator.authenticate(credentials.credentials)
    if principal is None:
        raise ApiError(401, "unauthenticated", "the API key is not valid", headers=challenge)
    return principal


Interviewer = Annotated[Principal, Depends(require_interviewer)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def enforce(limiter: RateLimiter, key: str, what: str) -> None:
    wait = limiter.acquire(key)
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            f"too many {what} requests; retry later",
            details={"retry_after_seconds": round(wait, 2)},
            headers={"Retry-After": retry_after_header(wait)},
        )
