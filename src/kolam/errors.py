"""Domain errors: one family, each with a stable code, a message for people and the field at fault.

Services raise these; the API turns them into ``{"error": {"code", "message", "field"}}`` in one handler
and the CLI prints them as one line.
"""

from __future__ import annotations


class KolamError(Exception):
    """Base of every error Kolam reports to a user."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class Invalid(KolamError):
    """The input is wrong: bad shape, unknown class, malformed file row."""

    code = "invalid"
    status = 422


class NotFound(KolamError):
    """No such object — or it belongs to another organization, which must look the same."""

    code = "not_found"
    status = 404


class Conflict(KolamError):
    """The request is fine but the state forbids it now: lease expired, duplicate, already done."""

    code = "conflict"
    status = 409


class Unauthenticated(KolamError):
    """No valid credentials."""

    code = "unauthenticated"
    status = 401


class Forbidden(KolamError):
    """Authenticated, inside the organization, but the role does not allow it."""

    code = "forbidden"
    status = 403


class TooLarge(KolamError):
    """An upload over the configured limit."""

    code = "too_large"
    status = 413
