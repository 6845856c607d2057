"""The API routers' class and their routes'. FastAPI matches a request by trying each route of each included router
in turn, so a request for a router included late was tried against a hundred routes first (an eighth of
``/user/current``)."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from app.deps import OPENED, close_opened

#: where the API routers are included
PREFIX = "/ispyb/api/v1"


class Route(APIRoute):
    """A route that closes the read sessions its request's dependencies opened (``app.deps.read_session``) once its
    handler has returned, whether it answered or raised, before the answer is sent."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handled(request: Request) -> Response:
            opened = request.scope[OPENED] = []
            try:
                return await handle(request)
            finally:
                if opened:
                    await close_opened(opened)

        return handled


class Router(APIRouter):
    """An API router included under ``PREFIX``, all of whose routes lie under its own prefix: a request whose path
    does not hold ``PREFIX`` + that prefix as whole segments is passed over without trying its routes. Its routes
    are ``Route``s."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(route_class=Route, **kwargs)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self.prefix and not _holds(scope.get("path", ""), f"{PREFIX}{self.prefix}"):
            return Match.NONE, {}
        return super().matches(scope)


def _holds(path: str, stem: str) -> bool:
    """Whether ``path`` holds ``stem`` followed by its end or a ``/`` (anywhere: a root path may come first; a
    false yes only costs the usual matching)."""
    at = path.find(stem)
    while at >= 0:
        end = at + len(stem)
        if end == len(path) or path[end] == "/":
            return True
        at = path.find(stem, at + 1)
    return False
