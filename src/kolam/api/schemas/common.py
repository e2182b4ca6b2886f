"""Shapes shared by every resource."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in {
        401: "Not logged in",
        403: "Role does not allow it",
        404: "Not found (or another organization's)",
        409: "Conflict with the current state",
        422: "Invalid input; `field` names what was wrong",
    }.items()
}
