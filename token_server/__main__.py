"""`python -m token_server`: serve the app with uvicorn on the configured host and port."""

import uvicorn

from token_server.app import create_app
from token_server.settings import Settings

settings = Settings()
uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
