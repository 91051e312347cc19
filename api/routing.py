"""One flat table of routes for the app.

FastAPI 0.16x keeps an included router as a branch of the route tree and matches a request by
walking it at every request: each level matches its branch once to find it and again to
dispatch, and recomputes a version of the whole sub-tree each time. With the API's fifteen
routers inside `api_router`, a GET /api/v1/works/{id} ran about 40 path matches and a dozen
version walks before its endpoint, more than a third of the request (bench/load.py).

`flatten_routes` replaces each included branch by the routes FastAPI itself derived for it
(its "effective" routes: prefix, tags, dependencies, responses and the rest combined exactly
as FastAPI combines them), built as plain APIRoutes in the same order — what `include_router`
did before FastAPI 0.16x. Matching is then one pass over a list, the first full match wins
as before, and the OpenAPI document is the same (tests/api/test_routing.py compares them).
A branch holding anything but API routes is left as it is; on a FastAPI without branches
there is nothing to do.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

# The APIRoute arguments an effective route carries, copied as they are.
_COPIED = ("response_model", "status_code", "tags", "dependencies", "summary", "description",
           "response_description", "responses", "deprecated", "methods", "operation_id",
           "response_model_include", "response_model_exclude", "response_model_by_alias",
           "response_model_exclude_unset", "response_model_exclude_defaults",
           "response_model_exclude_none", "include_in_schema", "response_class", "name",
           "dependency_overrides_provider", "callbacks", "openapi_extra",
           "generate_unique_id_function", "strict_content_type")


def _effective_routes(branch) -> list | None:
    """The branch's routes as flat APIRoutes, or None when it cannot be flattened."""
    contexts = getattr(branch, "effective_route_contexts", None)
    if contexts is None:
        return None
    routes = []
    for context in contexts():
        if not isinstance(getattr(context, "original_route", None), APIRoute):
            return None
        routes.append(APIRoute(context.path, context.endpoint,
                               **{name: getattr(context, name) for name in _COPIED}))
    return routes


def flatten_routes(app: FastAPI) -> FastAPI:
    """Replace every included router of the app by its routes, in place and in order."""
    flat = []
    for route in app.router.routes:
        expanded = _effective_routes(route) if not isinstance(route, APIRoute) else None
        if expanded is None:
            flat.append(route)
        else:
            flat.extend(expanded)
    app.router.routes[:] = flat
    mark_changed = getattr(app.router, "_mark_routes_changed", None)
    if mark_changed is not None:
        mark_changed()
    return app
