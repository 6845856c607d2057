"""A beamline's setup as its control software reports it (MXCuBE's beamline config → BeamLineSetup)."""

from fastapi import APIRouter

router = APIRouter(prefix="/beamline-setups", tags=["Acquisition"])
