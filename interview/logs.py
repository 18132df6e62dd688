"""Logging defaults both services apply at start-up."""

from __future__ import annotations

import logging


def quiet_http_clients() -> None:
    """httpx and httpcore log every request URL at INFO; URLs carry ids and filter values, and
    the volume drowns the services' own lines. Keep their warnings and errors only."""
    for name in ("httpx", "httpcore", "hpack"):
        logging.getLogger(name).setLevel(logging.WARNING)
