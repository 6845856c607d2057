"""Liveness of each store and the detected schema flavour (no auth); answers within the health timeout whatever
the stores do."""

import asyncio
from collections.abc import Awaitable

from app.deps import StateDep
from app.routers.routing import Router

router = Router(tags=["Health"])


async def _probe(check: Awaitable[dict[str, object]], seconds: float) -> dict[str, object]:
    try:
        return await asyncio.wait_for(check, seconds)
    except TimeoutError:
        return {"state": "timeout", "error": f"no answer within {seconds} s"}


@router.get("/health")
async def health(state: StateDep) -> dict[str, object]:
    """Each store's state (``ok``, ``unavailable`` or ``timeout``); ``status`` is ``ok`` only when both answer."""
    timeout = state.settings.health_timeout
    sql, documents = await asyncio.gather(
        _probe(state.database.health(), timeout), _probe(state.documents.health(), timeout)
    )
    schema = state.database.schema
    sql |= {
        "flavour": schema.flavour if schema else None,
        "schemaVersion": schema.schema_version if schema else None,
        "degraded": schema.degraded if schema else [],
    }
    ok = sql["state"] == "ok" and documents["state"] == "ok"
    return {"status": "ok" if ok else "degraded", "stores": {"sql": sql, "documents": documents}}
