"""Shapes shared by every resource."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from fastapi import Response
from pydantic import BaseModel, ConfigDict, TypeAdapter

T = TypeVar("T")


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


class FastJson(Generic[T]):
    """Serialise a hot endpoint's reply in one pass, in Rust, from what the service returned.

    FastAPI would validate a returned value against the response model, dump it, and encode it again; on the
    annotators' loop that costs as much as the database work. The route keeps ``response_model`` (the
    OpenAPI schema); this adapter's type must produce exactly that shape, which the API tests check.
    """

    def __init__(self, shape: Any) -> None:
        self._adapter: TypeAdapter[T] = TypeAdapter(shape)

    def response(self, value: T, status_code: int = 200) -> Response:
        return Response(self._adapter.dump_json(value), status_code=status_code, media_type="application/json")
