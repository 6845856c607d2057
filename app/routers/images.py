"""Image rows of a data collection, written by beamline software."""

from fastapi import APIRouter

router = APIRouter(prefix="/images", tags=["Acquisition"])
