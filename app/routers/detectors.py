"""Detectors, found by what beamline software knows of them."""

from fastapi import APIRouter

router = APIRouter(prefix="/detectors", tags=["Acquisition"])
