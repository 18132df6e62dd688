"""The token server's FastAPI application factory.

`create_app(settings, store=..., livekit=...)` takes its dependencies as arguments: tests and
benchmarks pass their own; when one is omitted, the app builds it from the settings at start-up
and closes it at shutdown (FastAPI lifespan). What the caller passes, the caller closes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from livekit import api

from interview.evaluator import EvaluationRunner, build_client
from interview.planner import Planner
from interview.store import Store
from interview.textmodel import text_client
from token_server.auth import ApiKeyAuthenticator, Authenticator
from token_server.deps import Services
from token_server.errors import install_error_handlers
from token_server.middleware import BodyLimitMiddleware, NoStoreMiddleware
from token_server.ratelimit import RateLimiter
from token_server.routes import (
    candidate,
    feed,
    health,
    interviews,
    join,
    plan_draft,
    report,
    review,
    web,
    webhooks,
)
from token_server.settings import Settings

log = logging.getLogger("token_server.app")

StoreFactory = Callable[[Settings], Store]

DESCRIPTION = """
Creates interviews (row, LiveKit room, candidate invite), mints candidate and hidden observer
tokens, gets the interviewer into the room once the candidate comes, and receives LiveKit
webhooks. Interviewer endpoints need
`Authorization: Bearer <interviewer API key>`. Errors are `{"error": {"code", "message",
"details"}}`.
"""


def build_livekit(settings: Settings) -> api.LiveKitAPI:
    """The server API client; must be built inside a running event loop (aiohttp)."""
    return api.LiveKitAPI(
        settings.livekit_url,
        settings.livekit_api_key,
        settings.livekit_api_secret.get_secret_value(),
        timeout=aiohttp.ClientTimeout(total=settings.livekit_timeout_seconds),
    )


def build_planner(settings: Settings) -> Planner:
    """The plan drafter on the configured text model; "offline" against the local rehearsal
    server (REHEARSAL_MODEL, which `make dev` sets with the local server's base URL)."""
    return Planner(
        client=text_client(settings, timeout_s=settings.planner_timeout_s),
        model=settings.planner_model_name,
        attempts=settings.planner_attempts,
        retry_base_s=settings.planner_retry_base_s,
        retry_cap_s=max(settings.planner_retry_base_s, 8 * settings.planner_retry_base_s),
        offline=settings.rehearsal_model,
    )


def default_store_factory(settings: Settings) -> Store:
    from interview.supabase_store import open_store

    outbox_dir = settings.outbox_dir or Path(".local/outbox")
    return open_store(settings, outbox_dir / "token_server.sqlite3")


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    livekit: api.LiveKitAPI | None = None,
    authenticator: Authenticator | None = None,
    store_factory: StoreFactory = default_store_factory,
) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_store = store is None
        own_livekit = livekit is None
        the_store = store if store is not None else store_factory(settings)
        if own_store:
            await the_store.start()
        the_livekit = livekit if livekit is not None else build_livekit(settings)
        app.state.services = Services(
            settings=settings,
            store=the_store,
            livekit=the_livekit,
            authenticator=authenticator or ApiKeyAuthenticator(settings.api_keys()),
            create_limiter=RateLimiter(
                rate_per_minute=settings.create_rate_per_minute, burst=settings.create_burst
            ),
            join_limiter=RateLimiter(
                rate_per_minute=settings.join_rate_per_minute, burst=settings.join_burst
            ),
            review_limiter=RateLimiter(
                rate_per_minute=settings.review_rate_per_minute, burst=settings.review_burst
            ),
            planner=build_planner(settings),
            plan_limiter=RateLimiter(
                rate_per_minute=settings.plan_draft_rate_per_minute,
                burst=settings.plan_draft_burst,
            ),
        )
        if not settings.api_keys():
            log.warning("no INTERVIEWER_API_KEYS set: interviewer endpoints refuse everyone")
        services = app.state.services
        # The evaluation after the interview runs here unless turned off (it can run as its own
        # worker instead: python -m interview.evaluator); never in the agent's job processes.
        runner: EvaluationRunner | None = None
        if settings.evaluator_enabled:
            runner = EvaluationRunner(the_store, settings, build_client(settings))
            runner.start()
        try:
            yield
        finally:
            if runner is not None:
                await runner.aclose()
                await runner.client.close()
            app.state.services = None
            await services.planner.client.close()
            # Before the LiveKit client closes: the arrival tasks use it.
            await services.arrivals.aclose()
            if own_livekit:
                await the_livekit.aclose()
            if own_store:
                await the_store.aclose()

    app = FastAPI(
        title="Interview room token server",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.services = None
    install_error_handlers(app)
    app.include_router(health.router)
    # Before interviews: /api/interviews/plan-draft is not an interview id.
    app.include_router(plan_draft.router)
    app.include_router(interviews.router)
    app.include_router(report.router)
    app.include_router(review.router)
    app.include_router(join.router)
    app.include_router(candidate.router)
    app.include_router(feed.router)
    app.include_router(webhooks.router)
    # Last: the web client takes every path the API does not.
    app.include_router(web.router)

    app.add_middleware(NoStoreMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        per_path={plan_draft.PATH: settings.plan_draft_max_body_bytes},
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    return app
