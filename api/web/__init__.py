"""Server-rendered pages (Jinja2), mounted at /."""

from fastapi import APIRouter

web_router = APIRouter(include_in_schema=False)
