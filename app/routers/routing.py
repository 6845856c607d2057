"""The API routers' class. FastAPI matches a request by trying each route of each included router in turn, so a
request for a router included late was tried against a hundred routes first (an eighth of ``/user/current``)."""

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope

#: where the API routers are included
PREFIX = "/ispyb/api/v1"


class Router(APIRouter):
    """An API router included under ``PREFIX``, all of whose routes lie under its own prefix: a request whose path
    does not hold ``PREFIX`` + that prefix as whole segments is passed over without trying its routes."""

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
