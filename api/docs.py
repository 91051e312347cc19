"""The API's interactive documentation at /docs, served entirely by this app.

FastAPI's default /docs page loads Swagger UI from a CDN and starts it with an inline script;
a network's server may have no route to that CDN, and the pages' Content-Security-Policy
allows no inline script. Here the Swagger UI files come from the `fastapi-offline` package
(MIT; its bundled copy of swagger-ui-dist) and the page starts it from a static file of ours."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

router = APIRouter(include_in_schema=False)

SWAGGER_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
OWN_STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {
    "swagger-ui-bundle.js": (SWAGGER_DIR, "text/javascript; charset=utf-8"),
    "swagger-ui.css": (SWAGGER_DIR, "text/css; charset=utf-8"),
    "favicon.png": (SWAGGER_DIR, "image/png"),
    "docs-init.js": (OWN_STATIC, "text/javascript; charset=utf-8"),
}

PAGE = """<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lifecycle · API (OpenAPI)</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon.png" type="image/png">
</head>
<body>
<noscript><p>La documentación interactiva necesita JavaScript. El esquema está en
<a href="/openapi.json">/openapi.json</a>.</p></noscript>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs-init.js"></script>
</body>
</html>
"""


@router.get("/docs")
def docs_page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache"})


@router.get("/docs/assets/{name}")
def docs_asset(name: str) -> Response:
    found = ASSETS.get(name)
    if found is None:
        return Response(status_code=404)
    folder, media_type = found
    return FileResponse(folder / name, media_type=media_type,
                        headers={"Cache-Control": "public, max-age=86400"})
