"""What the OpenAPI document promises beyond the routes' own signatures: the error responses
every operation may answer (one shared dict), the media types of the responses that are
not JSON, and request bodies whose models the routes parse themselves."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from grids.limits import MAX_ID


class Problem(BaseModel):
    """What went wrong, in words a person can act on (``detail`` is always one string)."""

    detail: str


class Open311Problem(BaseModel):
    """One error of GeoReport v2."""

    code: int
    description: str


def _problem(description: str, *, page: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"model": Problem, "description": description}
    if page:  # a browser opening a page gets the sign-in page instead
        response["content"] = {"text/html": {"schema": {"type": "string"}}}
    return response


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _problem("The body could not be read (not JSON, not UTF-8)"),
    401: _problem("No token or an unknown one: send Authorization: Bearer TOKEN", page=True),
    403: _problem("Your role or scope may not do this", page=True),
    404: _problem("No such record (or none you may see)"),
    409: _problem("The case changed meanwhile, or is in the wrong state: says who and when"),
    413: _problem("The body (GRIDWATCH_MAX_JSON_MB) or a photo is too large"),
    415: _problem("A photo that is not JPEG, PNG or WebP"),
    422: _problem("A value breaks a rule or a limit: the detail names the field"),
    503: _problem("The store is not ready or not reachable: retry later"),
}
"""Every operation of the API may answer these (FastAPI's own 422 is replaced: the
service sends ``detail`` as a string, not a list)."""

OPEN311_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": list[Open311Problem], "description": description}
    for status, description in (
        (400, "A missing or invalid field"),
        (403, "A missing or unknown api_key"),
        (404, "No such service, request or format"),
    )
}
"""GeoReport v2's errors: a list of ``{code, description}`` (in XML: ``<errors>``)."""


def _content(media_type: str) -> dict[str, Any]:
    if media_type.startswith("image/"):
        return {"schema": {"type": "string", "format": "binary"}}
    if media_type.endswith("json"):  # application/json, application/geo+json
        return {"schema": {"type": "object"}}
    if media_type == "text/event-stream":
        return {"schema": {}}
    return {"schema": {"type": "string"}}  # HTML, CSV, XML, GPX


def media(*types: str, status: int = 200, description: str = "OK") -> dict[int | str, Any]:
    """A response documented with its real media types (images, HTML, CSV, GPX...)."""
    return {status: {"description": description, "content": {t: _content(t) for t in types}}}


_COMPONENTS: dict[str, Any] = {}


def request_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of a body a route parses itself, its nested models registered as
    components (so every ``$ref`` of the document resolves)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    _COMPONENTS.update(schema.pop("$defs", {}))
    return schema


def install(app: FastAPI) -> None:
    """Complete the document FastAPI builds with the components of :func:`request_schema`."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()  # FastAPI's, cached in app.openapi_schema; completing it is idempotent
        document.setdefault("components", {}).setdefault("schemas", {}).update(_COMPONENTS)
        document["info"]["description"] = (
            f"Ids are 1 to {MAX_ID}; times are ISO 8601 from 1970 to 2099 (without an "
            "offset: the city's local time); errors are {detail: string}."
        )
        return document

    app.openapi = openapi  # type: ignore[method-assign]
