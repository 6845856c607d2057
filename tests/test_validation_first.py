"""A request's own parameters are validated before any object is looked up: FastAPI solves a route's dependencies
before its query parameters, and goes on to the next dependency after one failed, so a validating dependency
(``routers/valid.py``) on a route with query parameters of its own would answer 404 (after a database round trip)
where the request is malformed (422), as it was before the dependencies. Such a route looks its object up itself
(``<object>_of``)."""

from fastapi.routing import APIRoute, iter_route_contexts

from app.main import create_app
from app.routers import valid
from app.settings import Settings
from tests.conftest import Flavour

API = "/ispyb/api/v1"


def test_no_validating_dependency_beside_query_parameters() -> None:
    settings = Settings(_env_file=None, mode="dev", sql_url="sqlite+aiosqlite:///x.sqlite", auth_plugins=["dummy"])
    routes = [c.original_route for c in iter_route_contexts(create_app(settings).routes)]
    endpoints = [r for r in routes if isinstance(r, APIRoute)]
    validated = [r for r in endpoints if any(d.call.__module__ == valid.__name__ for d in r.dependant.dependencies)]
    assert len(validated) > 10  # the check sees the validating dependencies
    offenders = [r.path for r in validated if r.dependant.query_params]
    assert offenders == []


def test_a_malformed_query_is_422_before_the_look_up(flavour: Flavour) -> None:
    other = flavour.data.shippings["a"]  # out of sci_b's reach
    r = flavour.client.get(f"{API}/shippings/{other}", params={"include": "bogus"}, headers=flavour.token("sci_b"))
    assert r.status_code == 422, r.text
    r = flavour.client.get(f"{API}/shippings/{other}", params={"include": "contents"}, headers=flavour.token("sci_b"))
    assert r.status_code == 404, r.text
