"""The beamline logbook: notes, faults, robot and beam events, processing notices, alarms, kept as versions."""

from fastapi import APIRouter

router = APIRouter(prefix="/logbook", tags=["Logbook"])
