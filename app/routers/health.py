"""Liveness of each store and the detected schema flavour (no auth)."""

import asyncio

from fastapi import APIRouter

from app.deps import StateDep

router = APIRouter(tags=["Health"])


@router.get("/health")
async def health(state: StateDep) -> dict[str, object]:
    """Each store's state; ``status`` is ``ok`` only when both answer."""
    sql, documents = await asyncio.gather(state.database.health(), state.documents.health())
    schema = state.database.schema
    sql |= {
        "flavour": schema.flavour if schema else None,
        "schemaVersion": schema.schema_version if schema else None,
        "degraded": schema.degraded if schema else [],
    }
    ok = sql["state"] == "ok" and documents["state"] == "ok"
    return {"status": "ok" if ok else "degraded", "stores": {"sql": sql, "documents": documents}}
