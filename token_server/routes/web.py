"""The built web client (web_client/dist), served from `/`.

API routes live under `/api` and `/webhooks`; anything else is the client's. Paths that name a
file in dist are served as that file; other paths get `index.html` so client-side routes such as
`/join` work. Without a build, a placeholder page says how to make one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from token_server.errors import ApiError

router = APIRouter(include_in_schema=False)

PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Interview room</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>
<h1>Interview room</h1>
<p>The web client is not built yet. Build it with <code>npm run build</code> in
<code>web_client/</code>; the token server serves <code>web_client/dist</code>.</p>
<p>The API is documented at <a href="/docs">/docs</a>.</p>
</main></body></html>
"""

_RESERVED = ("api", "webhooks")


def _resolve(dist: Path, path: str) -> Path | None:
    root = dist.resolve()
    for candidate in (path, f"{path}.html", f"{path}/index.html"):
        if not candidate or candidate.endswith("/"):
            continue
        target = (root / candidate).resolve()
        if target.is_relative_to(root) and target.is_file():
            return target
    return None


@router.get("/{path:path}")
async def client(path: str, request: Request) -> Response:
    if path.split("/", 1)[0] in _RESERVED:
        raise ApiError(404, "not_found", "no such API route")
    dist: Path = request.app.state.settings.web_dist_dir
    index = dist / "index.html"
    if not index.is_file():
        return HTMLResponse(PLACEHOLDER)
    found = _resolve(dist, path)
    if found is not None:
        return FileResponse(found)
    return FileResponse(index)
