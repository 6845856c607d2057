"""API keys: named service identities for pipelines and beamline software."""

from fastapi import APIRouter

router = APIRouter(prefix="/api-keys", tags=["Authentication"])
