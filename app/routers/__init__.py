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

PREFIX = "/ispyb/api/v1"


def api() -> APIRouter:
    """Every API route under ``PREFIX`` (the dashboard page is outside it: ``app.routers.dashboard``)."""
    from app.graphql import router as graphql  # here: app.graphql's modules import app.routers.params

    router = APIRouter(prefix=PREFIX)
    for module in (health, auth, user, options, admin, persons, proposals, sessions, events):
        router.include_router(module.router)
    # the fixed /datacollections/images/... paths before the /{dataCollectionId} route would swallow them
    for module in (datacollection_images, datacollections, processings, stats, data):
        router.include_router(module.router)
    for sub in (shipping.router, dewars.router, dewars.registry, containers.router):
        router.include_router(sub)
    for sub in (results.router, results.metric_router, results.kind_router, metric_stats.router, query.router):
        router.include_router(sub)
    for sub in (samples.router, samples.proteins, samples.contacts):
        router.include_router(sub)
    for module in (beamline_setups, detectors, images, api_keys, userportalsync, logbook, graphql):
        router.include_router(module.router)
    return router
