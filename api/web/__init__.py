"""Server-rendered pages (Jinja2), mounted at /.

Everything the pages need is served by this router — templates, the stylesheet, the session
cookie — so the app needs nothing else than `app.include_router(web_router)`."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from api.web import admin, audit, execution, feeds, forms, inbox, keys, pages

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
                ".js": "text/javascript; charset=utf-8"}  # keys.js: member signatures

web_router = APIRouter(include_in_schema=False)


@web_router.get("/static/{name}")
def static_file(name: str):
    """The stylesheet and icon; only plain file names of this folder, nothing from elsewhere."""
    path = STATIC_DIR / name
    if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES \
            or not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix],
                        headers={"Cache-Control": "public, max-age=3600"})


# forms first: its /works/new must win over the pages' /works/{work_id}.
web_router.include_router(keys.router)  # /keys, before the pages' /works/{work_id}
web_router.include_router(forms.router)
web_router.include_router(execution.router)  # the valuation form (wave 2)
web_router.include_router(audit.router)
web_router.include_router(inbox.router)
web_router.include_router(admin.router)
web_router.include_router(feeds.router)  # before the pages' /works/{work_id}
web_router.include_router(pages.router)
