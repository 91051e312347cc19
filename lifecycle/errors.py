"""Errors that the service raises and the API maps to RFC 9457 problem details."""

from __future__ import annotations


class LifecycleError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class Unauthorized(LifecycleError):
    status = 401
    title = "Unauthorized"


class Forbidden(LifecycleError):
    status = 403
    title = "Forbidden"


class NotFound(LifecycleError):
    status = 404
    title = "Not found"


class Conflict(LifecycleError):
    """A concurrent change, or a state that does not allow the command (409)."""

    status = 409
    title = "Conflict"


class Refused(Conflict):
    """A stage change refused by its guards; `errors` lists every failing guard."""

    title = "Refused by guards"


class PreconditionFailed(LifecycleError):
    status = 412
    title = "Precondition failed"


class Invalid(LifecycleError):
    """Malformed input; `errors` names each field."""

    status = 422
    title = "Invalid input"

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}", [{"field": field, "message": message}])
        self.field = field
