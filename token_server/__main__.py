"""`python -m token_server`: serve the app with uvicorn on the configured host and port.

The app builds the real store and the LiveKit API client from the settings at start-up and
closes them at shutdown.
"""

import logging

import uvicorn

from interview.logs import quiet_http_clients
from token_server.app import create_app
from token_server.settings import Settings

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
quiet_http_clients()
settings = Settings()
uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
