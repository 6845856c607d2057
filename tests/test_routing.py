"""The API routers pass over a request outside their prefix at once (app/routers/routing.py): every route still
answers at its own path, nothing else does, and a path that only starts like a prefix is not taken for it."""

import pytest
from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope

from app.routers import api
from app.routers.routing import PREFIX, Route, Router, _holds


@pytest.mark.parametrize(
    ("path", "held"),
    [
        ("/ispyb/api/v1/user", True),
        ("/ispyb/api/v1/user/current", True),
        ("/root/ispyb/api/v1/user/current", True),  # behind a root path
        ("/ispyb/api/v1/users", False),
        ("/ispyb/api/v1/userportal/user", False),
        ("/ispyb/api/v1/users/x/ispyb/api/v1/user", True),  # held further on: the usual matching decides
        ("/ispyb/api/v1", False),
        ("", False),
    ],
)
def test_a_path_holds_a_stem_only_as_whole_segments(path: str, held: bool) -> None:
    assert _holds(path, f"{PREFIX}/user") is held


def test_every_api_router_is_one_and_each_route_lies_under_its_prefix() -> None:
    routers = api()
    assert [r for r in routers if not isinstance(r, Router)] == []
    for router in routers:
        for route in router.routes:
            assert isinstance(route, Route)
            path = route.path
            assert path == router.prefix or path.startswith(f"{router.prefix}/"), path


def test_a_router_passes_over_other_paths_and_tries_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[str] = []

    def usual(self: APIRouter, scope: Scope) -> tuple[Match, Scope]:
        tried.append(scope["path"])
        return Match.NONE, {}

    monkeypatch.setattr(APIRouter, "matches", usual)
    user = next(r for r in api() if isinstance(r, Router) and r.prefix == "/user")
    for path in (f"{PREFIX}/proposals", f"{PREFIX}/users", f"{PREFIX}/user/current", f"{PREFIX}/user"):
        assert user.matches({"type": "http", "method": "GET", "path": path}) == (Match.NONE, {})
    assert tried == [f"{PREFIX}/user/current", f"{PREFIX}/user"]
