"""The token server's FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from token_server.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="Interview room token server", version="0.1.0")
    app.state.settings = settings

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok"}

    return app
