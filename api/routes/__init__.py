"""JSON API routers, one per resource, mounted under /api/v1."""

from fastapi import APIRouter

api_router = APIRouter()
