"""The ASGI application: ``app.main:app`` (built from the environment's settings on first access)."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import openapi_forms, problems
from app.auth.plugins import enabled_plugins
from app.json_guard import JsonGuard
from app.routers import api, dashboard
from app.routers.routing import PREFIX
from app.services.unfolded_metrics import fold_left_out
from app.settings import Settings, get_settings
from app.state import AppState, open_database
from documents.store import DocumentStore
from relational.refusals import DatabaseUnavailable
from relational.sessions import FinishedSessionCounts

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured service; the lifespan opens both stores once and closes them on shutdown."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = open_database(settings)
        try:
            schema = await database.start()
        except DatabaseUnavailable as exc:  # bounded by the timeouts: the service refuses to start, clearly
            logger.error("%s: the service cannot start without it", exc.detail)
            await database.dispose()
            raise
        logger.info("relational store: %s flavour, schema %s", schema.flavour, schema.schema_version)
        documents = DocumentStore(settings.mongo_url, settings.mongo_db, settings.mongo_timeout_ms)
        await documents.ensure_indexes()
        counts = FinishedSessionCounts(settings.finished_session_cache_seconds)
        app.state.ispyb = AppState(settings, database, documents, enabled_plugins(settings), counts)
        looking = settings.unfolded_metrics_seconds
        folding = asyncio.create_task(fold_left_out(documents, looking)) if looking else None
        _freeze_startup_heap()
        try:
            yield
        finally:
            if folding:
                folding.cancel()
                await asyncio.gather(folding, return_exceptions=True)
            app.state.ispyb.files.close()
            await documents.close()
            await database.dispose()
            gc.unfreeze()  # what startup built is garbage now (an app started again in this process, the tests)

    app = FastAPI(
        title="ISPyB hybrid back end",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url="/docs",
        generate_unique_id_function=lambda route: f"{route.tags[0]}-{route.name}" if route.tags else route.name,
    )
    problems.install(app)
    openapi_forms.install(app)
    app.add_middleware(JsonGuard, max_depth=settings.json_max_depth)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials=True,
        )
    for router in api():
        app.include_router(router, prefix=PREFIX)
    app.include_router(dashboard.router)
    return app


def _freeze_startup_heap() -> None:
    """Leave what startup built (modules, routes, schemas, the stores' clients) out of every later full
    collection: a full pass scans the whole heap and stops every thread meanwhile (~150 ms for this heap here), and
    a large import triggers several of them."""
    gc.collect()
    gc.freeze()


@cache
def _default_app() -> FastAPI:
    return create_app()


def __getattr__(name: str) -> FastAPI:
    if name == "app":
        return _default_app()
    raise AttributeError(name)
