"""HTTP routes, one module per REST stem, and their wiring: ``api()`` is every API route under the prefix."""

from fastapi import APIRouter

from app.routers import (
    admin,
    api_keys,
    auth,
    beamline_setups,
    containers,
    data,
    datacollection_images,
    datacollections,
    detectors,
    dewars,
    events,
    health,
    images,
    logbook,
    metric_stats,
    options,
    persons,
    processings,
    proposals,
    query,
    results,
    samples,
    sessions,
    shipping,
    stats,
    user,
    userportalsync,
)


def api() -> list[APIRouter]:
    """Every API router, each to be included under ``routing.PREFIX`` (the dashboard page is outside it:
    ``app.routers.dashboard``). Included one by one on the application rather than nested in one router: a request
    is matched against each route in turn, and a level of nesting costs FastAPI a pass over every route of it;
    the routes read most come first."""
    from app.graphql import router as graphql  # here: app.graphql's modules import app.routers.params

    # the fixed /datacollections/images/... paths before the /{dataCollectionId} route would swallow them
    hot = [datacollection_images.router, datacollections.router, events.router, processings.router]
    hot += [sessions.router, proposals.router, health.router, auth.router, user.router]
    rest = [options, admin, persons, stats, data, beamline_setups, detectors, images, api_keys, userportalsync]
    return [
        *hot,
        *(module.router for module in rest),
        shipping.router,
        dewars.router,
        dewars.registry,
        containers.router,
        results.router,
        results.metric_router,
        results.kind_router,
        metric_stats.router,
        query.router,
        samples.router,
        samples.proteins,
        samples.contacts,
        logbook.router,
        graphql.router,
    ]
