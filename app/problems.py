"""Errors rendered as RFC 9457 ``application/problem+json``: the domain hierarchy (``schemas.errors``), request
validation, HTTP errors and the unexpected; and ``responses()``, which declares a route's errors in the OpenAPI."""

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from documents.store import StoreTimeout, StoreUnavailable
from relational.refusals import DatabaseBusy, DatabaseUnavailable
from schemas.errors import DomainError, Unauthorized
from schemas.problems import Problem

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
#: what any route of an authenticated caller may answer: the caller is read from SQL
AUTHENTICATED = (Unauthorized, DatabaseUnavailable, DatabaseBusy)
#: what a route reading or writing the document store may answer besides
DOCUMENT_STORE = (StoreUnavailable, StoreTimeout)


def problem(
    status: int,
    title: str,
    detail: Any,
    headers: Mapping[str, str] | None = None,
    type: str = "about:blank",
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem response (``extra``: extension members)."""
    body = jsonable_encoder({"type": type, "title": title, "status": status, "detail": detail, **extra})
    try:
        return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)
    except UnicodeEncodeError:  # a lone surrogate echoed from the request: shown as U+FFFD, never a failure
        text = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return JSONResponse(json.loads(text), status_code=status, headers=headers, media_type=PROBLEM_JSON)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem(exc.status, exc.title, exc.detail, exc.headers, exc.type, **exc.extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    # `detail` stays FastAPI's list of {loc, msg, type}: py-ispyb clients parse it.
    assert isinstance(exc, RequestValidationError)
    errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
    return problem(422, "Request validation failed", errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
    return problem(exc.status_code, title, exc.detail, getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal server error", "An unexpected error occurred; it has been logged.")


def responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """A route's (or router's) ``responses=``: each error's status with a ``Problem`` body, described by the titles
    of the errors answering it. The empty ``application/problem+json`` entry marks it for ``install()``."""
    titles: dict[int, list[str]] = {}
    for error in errors:
        titles.setdefault(error.status, []).append(error.title)
    return {
        status: {"model": Problem, "description": "; ".join(dict.fromkeys(names)), "content": {PROBLEM_JSON: {}}}
        for status, names in titles.items()
    }


def _problem_media_type(app: FastAPI) -> None:
    """Serve the bodies ``responses()`` declares as ``application/problem+json`` in the OpenAPI: FastAPI files a
    response's model under the route's own media type, beside the empty entry ``responses()`` left."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        spec = generate()
        for operations in spec["paths"].values():
            for operation in operations.values():
                for answer in operation.get("responses", {}).values():
                    content = answer.get("content", {})
                    if content.get(PROBLEM_JSON) == {}:
                        (route_media_type,) = (m for m in content if m != PROBLEM_JSON)
                        content[PROBLEM_JSON] = content.pop(route_media_type)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    """Register the problem+json renderers on ``app`` and describe them in its OpenAPI."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    _problem_media_type(app)
