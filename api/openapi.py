"""The OpenAPI document: where it is served, and what Litestar cannot infer on its own.

Litestar describes errors with its own default body (``status_code``, ``detail``, ``extra``)
as ``application/json``, but every Echoes error is RFC 9457 problem details with a stable
``code``, sent as ``application/problem+json`` (``api/app.py`` maps all of them). The photo
and music uploads read their multipart form themselves (to stream and count files), so no
request body is inferred for them. :func:`describe_api` writes both into the schema, which
the web app's generated client and the schema fuzz test then rely on.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Router
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    RequestBody,
    Schema,
)

from api.config import Settings

SCHEMA_PATH = "/api/schema"
PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA = "Problem"

_STRING = Schema(type=OpenAPIType.STRING)
_INTEGER = Schema(type=OpenAPIType.INTEGER)
_BINARY = Schema(
    type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, content_media_type="application/octet-stream"
)

PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    title=PROBLEM_SCHEMA,
    description=(
        "RFC 9457 problem details. `code` is stable (switch on it); `detail` is a sentence "
        "written for people. Some problems add members: `retryAfter` (seconds, with 429), "
        "`missing` (credits, with 402), `field` (the form field at fault), `errors` (with "
        "INVALID_INPUT from request validation)."
    ),
    required=["type", "title", "status", "detail", "code"],
    properties={
        "type": _STRING,
        "title": _STRING,
        "status": _INTEGER,
        "detail": _STRING,
        "code": _STRING,
        "instance": _STRING,
        "field": _STRING,
        "retryAfter": _INTEGER,
        "missing": _INTEGER,
        "errors": Schema(
            type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT, additional_properties=True)
        ),
    },
    additional_properties=True,
)

#: The uploads that parse their own multipart form, by operation id: the name of the body's
#: schema, each form field and whether it is required. (Uploads that take a typed
#: ``MultipartBody`` are inferred.)
SELF_PARSED_UPLOADS: dict[str, tuple[str, dict[str, tuple[Schema, bool]]]] = {
    "UploadProjectPhotos": (
        "ProjectPhotosUpload",
        {"photos": (Schema(type=OpenAPIType.ARRAY, items=_BINARY, min_items=1), True)},
    ),
    "UploadMusic": ("MusicUpload", {"track": (_BINARY, True), "title": (_STRING, False)}),
}

#: Answers that never have a body; Litestar still declares a JSON ``null`` for them.
NO_BODY_STATUSES = {"204", "304"}

_PROBLEM_REF = Reference(ref=f"#/components/schemas/{PROBLEM_SCHEMA}")


def _problem_response(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description, content={PROBLEM_JSON: OpenAPIMediaType(schema=_PROBLEM_REF)}
    )


def _multipart_schema(name: str, fields: dict[str, tuple[Schema, bool]]) -> Schema:
    return Schema(
        type=OpenAPIType.OBJECT,
        title=name,
        properties={field: schema for field, (schema, _) in fields.items()},
        required=[field for field, (_, required) in fields.items() if required],
    )


def describe_api(app: Litestar) -> None:
    """Declare the problem-details body on every error response (each declared 4xx/5xx and a
    ``default`` for the rest), no body for 204/304, and the multipart bodies of the
    self-parsed uploads."""
    openapi = app.openapi_schema
    openapi.components.schemas[PROBLEM_SCHEMA] = PROBLEM
    for path_item in (openapi.paths or {}).values():
        for method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
            operation = getattr(path_item, method, None)
            if operation is None:
                continue
            responses: dict[str, Any] = operation.responses or {}
            for status, response in list(responses.items()):
                if status in NO_BODY_STATUSES and isinstance(response, OpenAPIResponse):
                    response.content = None
                elif status[:1] in {"4", "5"}:
                    description = getattr(response, "description", "") or "Problem details"
                    responses[status] = _problem_response(description)
            responses["default"] = _problem_response("Problem details (any other error)")
            operation.responses = responses
            upload = SELF_PARSED_UPLOADS.get(operation.operation_id or "")
            if upload is not None:
                name, fields = upload
                openapi.components.schemas[name] = _multipart_schema(name, fields)
                body = OpenAPIMediaType(schema=Reference(ref=f"#/components/schemas/{name}"))
                operation.request_body = RequestBody(content={"multipart/form-data": body}, required=True)


def _hidden(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    raise NotFoundException()


def openapi_config(settings: Settings) -> OpenAPIConfig:
    """The schema and Swagger UI under ``/api/schema``; in production every one of those
    paths answers 404 (the schema maps the whole attack surface; the web app is built from
    the committed copy, ``python -m api openapi``)."""
    router = None
    if settings.is_production:
        router = Router(SCHEMA_PATH, route_handlers=[], include_in_schema=False, guards=[_hidden])
    return OpenAPIConfig(
        title="Echoes API",
        version="0.1.0",
        path=SCHEMA_PATH,
        render_plugins=[SwaggerRenderPlugin()],
        use_handler_docstrings=True,
        openapi_router=router,
    )
