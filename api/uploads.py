"""Bodies that are JSON, or multipart with the JSON in one field and ``photos`` files."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from grids.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


async def json_and_photos(request: Request, field: str) -> tuple[Any, list[tuple[str, bytes]]]:
    """The JSON body (or the multipart ``field`` holding it) and the photos sent with it."""
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("multipart/form-data"):
            form = await request.form(max_files=100)
            raw = form.get(field)
            if not isinstance(raw, str):
                raise InvalidInput(f"multipart bodies need a {field!r} field holding the JSON")
            files = [f for f in form.getlist("photos") if isinstance(f, UploadFile)]
            return json.loads(raw), [(f.filename or "photo", await f.read()) for f in files]
        if content_type.startswith("application/json") or not content_type:
            return json.loads(await request.body()), []
        raise InvalidInput("send application/json or multipart/form-data")
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


def validated(model: type[M], body: Any, what: str) -> M:
    """The body as ``model``, or one 422 line naming each field that is wrong."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"invalid {what}: {problems}") from exc
